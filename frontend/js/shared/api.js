// The HTTP client of both pages, and the endpoints both use (the optimizer and schedule
// catalogues, storing and cancelling a run). Every function returns parsed JSON or throws an
// ApiError whose message is what the user should read (the server's 422 `msg`, or the status).

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

// The catalogues' texts (names, descriptions, what each keyword means) come in `lang`.
export const getOptimizers = (lang) => request(`/api/optimizers?lang=${lang}`);
export const getSchedules = (lang) => request(`/api/schedules?lang=${lang}`);

/** Store and queue a run (a surface run or a network run): the run object with its id. */
export const createRun = (body) => request("/api/runs", { method: "POST", body });

/** Cancel a queued or running run (an ended one is left as it is). */
export const cancelRun = (id) => request(`/api/runs/${encodeURIComponent(id)}`, { method: "DELETE" });
