// The HTTP and websocket client. Every function returns parsed JSON or throws an ApiError
// whose message is what the user should read (the server's 422 `msg`, or the status).

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

export async function request(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(detailText(data, res.status), res.status);
  return data;
}

export const getSurfaces = () => request("/api/surfaces");
export const getOptimizers = () => request("/api/optimizers");
export const getSchedules = () => request("/api/schedules");

/** z[iy][ix] over the domain; `surface` is a catalogue id or {expression, domain}. */
export function getGrid(surface, n, signal) {
  if (typeof surface === "string") {
    return request(`/api/surfaces/${encodeURIComponent(surface)}/grid?n=${n}`, { signal });
  }
  const { expression, domain } = surface;
  const q = new URLSearchParams({
    expression,
    x_min: domain.x[0], x_max: domain.x[1], y_min: domain.y[0], y_max: domain.y[1], n,
  });
  return request(`/api/surfaces/custom/grid?${q}`, { signal });
}

/** Compute a surface run now and store nothing: {status, summary, steps}. */
export const computeTrajectory = (body, signal) => request("/api/trajectories", { method: "POST", body, signal });

/** Store and queue a run: the run object with its id. */
export const createRun = (body) => request("/api/runs", { method: "POST", body });

export const getCurvature = (body, signal) => request("/api/curvature", { method: "POST", body, signal });
export const getSweep = (body, signal) => request("/api/sweeps", { method: "POST", body, signal });

/**
 * Follow a stored run's websocket. `onSteps(steps)` gets each batch, `onReset()` asks to drop
 * what was drawn, `onEnd(status, summary)` comes last. Returns a function that closes it.
 */
export function streamRun(id, { onSteps, onReset, onEnd, onError }) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/runs/${encodeURIComponent(id)}/stream`);
  let ended = false;
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "steps") onSteps(msg.steps);
    else if (msg.type === "reset") onReset();
    else if (msg.type === "end") {
      ended = true;
      onEnd(msg.status, msg.summary);
    }
  };
  ws.onclose = (event) => {
    if (!ended && onError) onError(new ApiError(`stream closed (${event.code})`, event.code));
  };
  return () => {
    ended = true;
    ws.close();
  };
}

/** URL of a stored run's steps as a file. */
export const stepsUrl = (id, format) => `/api/runs/${encodeURIComponent(id)}/steps?format=${format}`;
