// The HTTP client of both pages, and the endpoints both use (the optimizer and schedule
// catalogues, storing and cancelling a run). Every function returns parsed JSON (`requestText`:
// the text) or throws an ApiError whose message is what the user should read (the server's
// 422 `msg`, or the status).

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** The user-facing text of an error body: FastAPI's detail string or list of {loc, msg}. */
function detailText(body, status) {
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d) && d.length) {
    // A union field fails once per branch; the branch with a "Value error" is the real one.
    const valueErrors = d.filter((e) => /^Value error/.test(e.msg || ""));
    return (valueErrors.length ? valueErrors : d)
      .map((e) => {
        const loc = (e.loc || [])
          .filter((p, i, a) => p !== "body" && p !== a[i - 1] && !/^[A-Z]|^(str|int|float)$/.test(String(p)))
          .join(".");
        const msg = String(e.msg || "").replace(/^Value error, /, "");
        return loc ? `${loc}: ${msg}` : msg;
      })
      .join("; ");
  }
  return `HTTP ${status}`;
}

/** The response to `fetch(path, init)`; an ApiError (the server's words) when it is not 2xx. */
async function fetchOk(path, init) {
  const res = await fetch(path, init);
  if (res.ok) return res;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  throw new ApiError(detailText(data, res.status), res.status);
}

export async function request(path, { method = "GET", body, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const text = await (await fetchOk(path, init)).text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** A text body exactly as the server sent it (UTF-8; a leading byte-order mark kept). */
export async function requestText(path, { signal } = {}) {
  const res = await fetchOk(path, { signal });
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer());
}

// The catalogues' texts (names, descriptions, what each keyword means) come in `lang`.
export const getOptimizers = (lang) => request(`/api/optimizers?lang=${lang}`);
export const getSchedules = (lang) => request(`/api/schedules?lang=${lang}`);

// The keys of the runs this browser started: POST /api/runs shows a run's key once, and only
// its key changes the run (cancel, survey again). Kept in local storage, the newest MAX_KEYS.
const KEYS = "descent.runKeys";
const MAX_KEYS = 500;

function storedKeys() {
  try {
    return JSON.parse(localStorage.getItem(KEYS) || "{}") || {};
  } catch {
    return {};
  }
}

/** The key of run `id` if this browser started it; null for someone else's run (read-only here). */
export const ownKey = (id) => storedKeys()[id] ?? null;

/** The header that lets this browser change run `id` (none when it holds no key). */
export const keyHeader = (id) => (ownKey(id) ? { "X-Run-Key": ownKey(id) } : {});

/** Store and queue a run (a surface run or a network run): the run object with its id; its key
 * is kept for `cancelRun` and the like, not handed on. */
export async function createRun(body) {
  const { key, ...run } = await request("/api/runs", { method: "POST", body });
  const keys = Object.entries({ ...storedKeys(), [run.id]: key }).slice(-MAX_KEYS);
  try {
    localStorage.setItem(KEYS, JSON.stringify(Object.fromEntries(keys)));
  } catch {
    // storage full or off: this page can still cancel the run while it holds `key`
  }
  return run;
}

/** A stored run; a queued one with its `queue_position`. */
export const getRun = (id) => request(`/api/runs/${encodeURIComponent(id)}`);

/** Cancel a queued or running run (an ended one is left as it is). */
export const cancelRun = (id) =>
  request(`/api/runs/${encodeURIComponent(id)}`, { method: "DELETE", headers: keyHeader(id) });
