// The one store. `scene` is what a link reproduces (synced to the URL); `runtime` is what
// the page derives or fetches (catalogues, grids, trajectories, playback). Nothing else in
// the page holds mutable application state: views render from here and write through
// `setScene` / `setRuntime`.

import { decodeScene, encodeScene } from "./codec.js";

export const state = {
  scene: decodeScene(location.search),
  runtime: {
    catalogue: null, // {surfaces, optimizers, schedules} from the API
    grid: null, // {key, x, y, z} of the current surface
    traj: [], // per racer: {key, cols, summary, status, live, error} (see numerics.columns)
    pending: [], // per racer: true while a recompute is in flight
    playing: false,
    curvature: null, // {key, point, ...} at the focus racer's current point
    basins: null, // {key, n, x, y, minimum, status, summary} or {error}
    regime: null, // {key, x, y, final_loss, steps, status} or {error}
    busy: {}, // named long operations in flight (basins, regime, fair)
    toast: null,
    webgl: true,
  },
};

const listeners = new Set();

/** Call `fn(changedKeys)` after every change; returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify(keys) {
  if (keys.size === 0) return;
  for (const fn of [...listeners]) fn(keys);
}

/**
 * Merge `patch` into the scene (values replace, never mutate in place) and notify.
 * `patch` may be a function of the current scene returning the patch.
 */
export function setScene(patch) {
  const p = typeof patch === "function" ? patch(state.scene) : patch;
  const keys = new Set();
  for (const [k, v] of Object.entries(p)) {
    if (state.scene[k] !== v) keys.add(k);
  }
  if (!keys.size) return;
  state.scene = { ...state.scene, ...p };
  scheduleUrl(keys.has("t") && keys.size === 1);
  notify(keys);
}

/** Merge `patch` into the runtime part and notify. */
export function setRuntime(patch) {
  const keys = new Set();
  for (const [k, v] of Object.entries(patch)) {
    if (state.runtime[k] !== v) keys.add(k);
  }
  if (!keys.size) return;
  state.runtime = { ...state.runtime, ...patch };
  notify(keys);
}

/** Replace racer `i` by `fn(racer)`. */
export function updateRacer(i, fn) {
  setScene((s) => ({ racers: s.racers.map((r, j) => (j === i ? fn(r) : r)) }));
}

// ---- URL sync: replaceState, throttled; the playhead alone is written lazily. ----

let urlTimer = null;

function scheduleUrl(onlyPlayhead) {
  if (urlTimer !== null) return;
  urlTimer = setTimeout(writeUrl, onlyPlayhead ? 400 : 120);
}

function writeUrl() {
  urlTimer = null;
  const query = encodeScene(state.scene);
  const url = `${location.pathname}?${query}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
}

/** The shareable link of the scene as it is now. */
export function shareUrl() {
  return `${location.origin}${location.pathname}?${encodeScene(state.scene)}`;
}

/** Write the URL now (tests and the share button want it current). */
export function flushUrl() {
  if (urlTimer !== null) clearTimeout(urlTimer);
  writeUrl();
}
