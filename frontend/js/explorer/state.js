// The explorer's store (see shared/store.js) and what is read from it. `scene` is what a link
// reproduces; `runtime` holds the catalogues, grids, trajectories and playback.

import { createStore } from "../shared/store.js";
import { decodeScene, encodeScene } from "./codec.js";
import { runBody, startOf, surfaceSpec } from "./spec.js";

const RUNTIME = {
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
  room: null, // the classroom room this page teaches or follows (see shared/classroom.js)
  setupBefore: null, // the settings a lesson opened from the menu replaced (shared/lessons.js)
};

// The playhead alone (dragging the scrubber, playing) writes the URL lazily.
const store = createStore(decodeScene(location.search), RUNTIME, encodeScene,
  (keys) => (keys.has("t") && keys.size === 1 ? 400 : 120));

export const { state, subscribe, setScene, setRuntime, flushUrl, shareUrl, lockScene } = store;

/** Replace racer `i` by `fn(racer)`. */
export function updateRacer(i, fn) {
  setScene((s) => ({ racers: s.racers.map((r, j) => (j === i ? fn(r) : r)) }));
}

// ---- selectors ------------------------------------------------------------------------

/** The catalogue entry of the scene's surface (null for a custom formula). */
export function surfaceInfo(scene = state.scene) {
  const cat = state.runtime.catalogue;
  return (cat && cat.surfaces.find((s) => s.id === scene.surface)) || null;
}

/** The key of the scene's surface grid (the grid's request, as JSON). */
export const gridKey = (scene) => JSON.stringify(surfaceSpec(scene));

/** What every racer's request shares (surface, start, budget, stopping rules, seed), as JSON. */
export function scenePart(scene) {
  return JSON.stringify([surfaceSpec(scene), startOf(scene, surfaceInfo(scene)), scene.steps, scene.stop, scene.seed]);
}

/** Request key of racer `i` (the request body itself, as JSON). */
export function racerKey(scene, i) {
  return JSON.stringify(runBody(scene, scene.racers[i], surfaceInfo(scene)));
}

/** Whether live trajectories no longer match the scene (a Play starts new runs then). */
export function liveIsStale() {
  const scene = state.scene;
  const traj = state.runtime.traj;
  if (traj.length !== scene.racers.length) return true;
  return scene.racers.some((_, i) => !traj[i] || !traj[i].live || traj[i].key !== racerKey(scene, i));
}

/** Whether any live run is still receiving steps. */
export const liveRunning = () => state.runtime.traj.some((t) => t && t.live && !["converged", "finished", "diverged", "failed", "cancelled"].includes(t.status));
