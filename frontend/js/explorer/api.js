// The explorer's endpoints, on the shared client (errors are ApiErrors whose message is the
// server's own words): the surface catalogue and grids, surface runs computed at once,
// curvature and sweeps.

import { request } from "../shared/api.js";

export const getSurfaces = (lang) => request(`/api/surfaces?lang=${lang}`);

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

export const getCurvature = (body, signal) => request("/api/curvature", { method: "POST", body, signal });
export const getSweep = (body, signal) => request("/api/sweeps", { method: "POST", body, signal });
