// The store of one page: `scene` is what a link reproduces (kept in the URL's query);
// `runtime` is what the page derives, fetches or streams. Views render from the store and
// write through `setScene` / `setRuntime`; `subscribe(fn)` calls `fn(changedKeys)` after
// every change. Values are replaced, never mutated in place, so a change is a new identity.
// While a classroom room drives the scene (`lockScene`), the page's own writes change only
// the keys it keeps (language, display); the room's scene comes in with `{remote: true}`.

/**
 * `encode(scene)` gives the query string; `urlDelay(changedKeys)` how long (ms) the URL
 * may lag behind a scene change (history.replaceState is throttled).
 */
export function createStore(scene, runtime, encode, urlDelay = () => 150) {
  const state = { scene, runtime };
  const listeners = new Set();
  let urlTimer = null;
  let lock = null; // {keep: Set of keys the page still changes itself, query(scene)} or null

  function subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  }

  function notify(keys) {
    if (keys.size === 0) return;
    for (const fn of [...listeners]) fn(keys);
  }

  function changedKeys(current, patch) {
    const keys = new Set();
    for (const [k, v] of Object.entries(patch)) if (current[k] !== v) keys.add(k);
    return keys;
  }

  /** Merge `patch` (or `patch(scene)`) into the scene and notify; while the scene is locked,
   * only the kept keys of it unless `remote` (the room's scene). */
  function setScene(patch, { remote = false } = {}) {
    let p = typeof patch === "function" ? patch(state.scene) : patch;
    if (lock && !remote) p = Object.fromEntries(Object.entries(p).filter(([k]) => lock.keep.has(k)));
    const keys = changedKeys(state.scene, p);
    if (!keys.size) return;
    state.scene = { ...state.scene, ...p };
    if (urlTimer === null) urlTimer = setTimeout(writeUrl, urlDelay(keys));
    notify(keys);
  }

  /** Merge `patch` into the runtime part and notify. */
  function setRuntime(patch) {
    const keys = changedKeys(state.runtime, patch);
    if (!keys.size) return;
    state.runtime = { ...state.runtime, ...patch };
    notify(keys);
  }

  function writeUrl() {
    urlTimer = null;
    const query = lock ? lock.query(state.scene) : encode(state.scene);
    const url = query ? `${location.pathname}?${query}` : location.pathname;
    if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
  }

  /** Write the URL now (tests and the share button want it current). */
  function flushUrl() {
    if (urlTimer !== null) clearTimeout(urlTimer);
    writeUrl();
  }

  /** The shareable link of the scene as it is now. */
  function shareUrl() {
    flushUrl();
    return location.href;
  }

  /**
   * `{keep, query}`: from now on the page's own writes change only the keys in `keep`, and the
   * URL is `query(scene)` (a student's `?room=CODE`); `null` gives the scene back to the page.
   */
  function lockScene(next) {
    lock = next && { keep: new Set(next.keep), query: next.query };
    flushUrl();
  }

  return { state, subscribe, notify, setScene, setRuntime, flushUrl, shareUrl, lockScene };
}
