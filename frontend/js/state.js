// The explorer's store (see store.js). `scene` is what a link reproduces; `runtime` holds
// the catalogues, grids, trajectories and playback.

import { decodeScene, encodeScene } from "./codec.js";
import { createStore } from "./store.js";

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
};

// The playhead alone (dragging the scrubber, playing) writes the URL lazily.
const store = createStore(decodeScene(location.search), RUNTIME, encodeScene,
  (keys) => (keys.has("t") && keys.size === 1 ? 400 : 120));

export const { state, subscribe, setScene, setRuntime, flushUrl, shareUrl } = store;

/** Replace racer `i` by `fn(racer)`. */
export function updateRacer(i, fn) {
  setScene((s) => ({ racers: s.racers.map((r, j) => (j === i ? fn(r) : r)) }));
}
