// Analyses on demand, each a request whose answer lands in the runtime: curvature at the
// focused racer's current point, the basin map, the regime map, and the fair-race lr tuning.
// A new request of an analysis aborts the one before it; a failed one can be asked again.

import { round } from "../shared/format.js";
import { findInfo } from "../shared/hyper.js";
import { computeTrajectory, getCurvature, getSweep } from "./api.js";
import { bestCell, frameIndex, linspace, logspace } from "./numerics.js";
import { runBody, startOf, surfaceSpec } from "./spec.js";
import { scenePart, setRuntime, setScene, state, subscribe, surfaceInfo } from "./state.js";
import { sweepValue, withSweepValue } from "./sweep.js";

const requests = {}; // analysis name -> the AbortController of its request in flight

/** A signal for a new request of analysis `name`; the one before it is aborted. */
function supersede(name) {
  if (requests[name]) requests[name].abort();
  requests[name] = new AbortController();
  return requests[name].signal;
}

// ---- curvature ---------------------------------------------------------------------

let curvatureTimer = null;
let curvatureKey = null;
let curvatureInFlight = null; // the surface of the curvature request in flight

/** The focused racer's point at the playhead (null while there is none). */
export function focusPoint() {
  const { scene, runtime } = state;
  const t = runtime.traj[scene.focus];
  if (!t || !t.cols.n) return null;
  let k = frameIndex(scene.t, t.cols.n);
  while (k > 0 && (t.cols.x[k] === null || t.cols.y[k] === null)) k--;
  return [t.cols.x[k], t.cols.y[k]];
}

function scheduleCurvature() {
  if (curvatureTimer !== null) return;
  // While playing, a few readouts a second are plenty; paused, answer quickly.
  curvatureTimer = setTimeout(fetchCurvature, state.runtime.playing ? 250 : 40);
}

/**
 * The curvature at the playhead. A new surface aborts the request in flight; a new point on
 * the same surface waits for it to land and is asked next: aborting it would leave the readout
 * empty all through playback on a server slower than a frame.
 */
async function fetchCurvature() {
  curvatureTimer = null;
  const point = focusPoint();
  if (!point) return;
  const surface = surfaceSpec(state.scene);
  const surfaceKey = JSON.stringify(surface);
  const key = JSON.stringify([surface, point]);
  if (key === curvatureKey || curvatureInFlight === surfaceKey) return;
  curvatureKey = key;
  curvatureInFlight = surfaceKey;
  const signal = supersede("curvature");
  try {
    const c = await getCurvature({ surface, point }, signal);
    if (curvatureKey === key) setRuntime({ curvature: { ...c, point, key, error: null } });
  } catch (err) {
    if (curvatureKey === key && err.name !== "AbortError") setRuntime({ curvature: { point, key, error: err.message } });
  } finally {
    if (requests.curvature.signal === signal) { // not superseded by another surface
      curvatureInFlight = null;
      scheduleCurvature();
    }
  }
}

/** Retry in the readout: ask for the curvature at the playhead again. */
export function retryCurvature() {
  curvatureKey = null;
  scheduleCurvature();
}

// ---- basins ------------------------------------------------------------------------------

const BASIN_STEPS_MAX = 500;

export function basinsKey(scene) {
  const r = scene.racers[Math.min(scene.basins.racer, scene.racers.length - 1)];
  return JSON.stringify([surfaceSpec(scene), r, scene.basins.n, Math.min(scene.steps, BASIN_STEPS_MAX), scene.stop, scene.seed]);
}

/** Compute the basin map of the scene (`again`: even if it is shown, as Retry does). */
export async function computeBasins(again = false) {
  const scene = state.scene;
  const grid = state.runtime.grid;
  if (!grid || !state.runtime.catalogue) return;
  const key = basinsKey(scene);
  if (!again && state.runtime.basins && state.runtime.basins.key === key) return;
  const n = scene.basins.n;
  const [x0, x1] = [grid.x[0], grid.x[grid.x.length - 1]];
  const [y0, y1] = [grid.y[0], grid.y[grid.y.length - 1]];
  const xs = linspace(x0, x1, n).map((v) => round(v));
  const ys = linspace(y0, y1, n).map((v) => round(v));
  const starts = [];
  for (const y of ys) for (const x of xs) starts.push([x, y]); // row-major: index = iy * n + ix
  const racer = scene.racers[Math.min(scene.basins.racer, scene.racers.length - 1)];
  const body = runBody(scene, racer, surfaceInfo(scene), { start: undefined, starts, record: "final", steps: Math.min(scene.steps, BASIN_STEPS_MAX) });
  delete body.start;
  setRuntime({ busy: { ...state.runtime.busy, basins: key } });
  const signal = supersede("basins");
  try {
    const res = await computeTrajectory(body, signal);
    if (basinsKey(state.scene) !== key) return;
    const st = res.summary.starts;
    setRuntime({ basins: { key, n, x: xs, y: ys, status: st.status, minimum: st.minimum, steps: body.steps, counts: res.summary.counts } });
  } catch (err) {
    if (basinsKey(state.scene) === key && err.name !== "AbortError") setRuntime({ basins: { key, error: err.message } });
  } finally {
    const busy = { ...state.runtime.busy };
    if (busy.basins === key) delete busy.basins;
    setRuntime({ busy });
  }
}

// ---- regime map --------------------------------------------------------------------------

const MAX_SWEEP_WORK = 200_000; // cells × steps the API accepts in one sweep

function axisValues(lo, hi, n, log) {
  return log && lo > 0 && hi > 0 ? logspace(lo, hi, n) : linspace(lo, hi, n).map((v) => round(v));
}

export function regimeRequest(scene) {
  const g = scene.regime;
  const racer = scene.racers[Math.min(g.racer, scene.racers.length - 1)];
  let nx = g.nx;
  let ny = g.y ? g.ny : 1;
  while (nx * ny * scene.steps > MAX_SWEEP_WORK && nx > 4) {
    nx = Math.max(4, Math.floor(nx * 0.8));
    ny = g.y ? Math.max(4, Math.floor(ny * 0.8)) : 1;
  }
  const x = { param: g.x, values: axisValues(g.x0, g.x1, nx, g.xlog) };
  const y = g.y ? { param: g.y, values: axisValues(g.y0, g.y1, ny, g.ylog) } : null;
  // The swept keywords are overridden per cell: pin them so that playing a cell (which
  // sets them on the racer) does not change the request and recompute the map.
  const info = findInfo(state.runtime.catalogue.optimizers, racer.opt);
  let pinned = info ? withSweepValue(racer, info, g.x, x.values[0]) : racer;
  if (info && y) pinned = withSweepValue(pinned, info, g.y, y.values[0]);
  return { run: runBody(scene, pinned, surfaceInfo(scene)), x, y };
}

/** Compute the regime map of the scene (`again`: even if it is shown, as Retry does). */
export async function computeRegime(again = false) {
  const scene = state.scene;
  if (!state.runtime.catalogue) return;
  const body = regimeRequest(scene);
  const key = JSON.stringify(body);
  if (!again && state.runtime.regime && state.runtime.regime.key === key) return;
  setRuntime({ busy: { ...state.runtime.busy, regime: key } });
  const signal = supersede("regime");
  try {
    const res = await getSweep(body, signal);
    if (JSON.stringify(regimeRequest(state.scene)) === key) setRuntime({ regime: { ...res, key, error: null } });
  } catch (err) {
    if (JSON.stringify(regimeRequest(state.scene)) === key && err.name !== "AbortError") setRuntime({ regime: { key, error: err.message } });
  } finally {
    const busy = { ...state.runtime.busy };
    if (busy.regime === key) delete busy.regime;
    setRuntime({ busy });
  }
}

/** Click on a regime cell: give the racer those values and play from the start. */
export function applyRegimeCell(xValue, yValue) {
  const scene = state.scene;
  const g = scene.regime;
  const i = Math.min(g.racer, scene.racers.length - 1);
  const info = findInfo(state.runtime.catalogue.optimizers, scene.racers[i].opt);
  let r = withSweepValue(scene.racers[i], info, g.x, xValue);
  if (g.y && yValue !== null) r = withSweepValue(r, info, g.y, yValue);
  setScene({ racers: scene.racers.map((x, j) => (j === i ? r : x)), focus: i, t: 0, fair: null });
  setRuntime({ autoplay: true }); // plays as soon as the new paths are in
}

/** The racer's current (x, y) on the regime map. */
export function regimeCurrent(scene) {
  const g = scene.regime;
  const racer = scene.racers[Math.min(g.racer, scene.racers.length - 1)];
  const info = findInfo(state.runtime.catalogue.optimizers, racer.opt);
  return [sweepValue(racer, info, g.x), g.y ? sweepValue(racer, info, g.y) : null];
}

// ---- fair race ---------------------------------------------------------------------------

export const FAIR = { trials: 16, lo: 1e-4, hi: 10 };

let fairPart = null; // the scene part the tuning in flight is for

/**
 * Tune each racer's lr by a one-axis sweep; the choice and its terms go into the scene.
 * The picks go to the racers they were tuned for (the same racer objects: one edited,
 * added or removed meanwhile is left alone); a change of surface, start or run settings
 * aborts the tuning.
 */
export async function tuneRace() {
  const scene = state.scene;
  const info = surfaceInfo(scene);
  const values = logspace(FAIR.lo, FAIR.hi, FAIR.trials);
  const signal = supersede("fair");
  fairPart = scenePart(scene);
  setRuntime({ busy: { ...state.runtime.busy, fair: true } });
  try {
    const picks = await Promise.all(
      scene.racers.map(async (racer) => {
        if (racer.opt === "lbfgs") return null;
        try {
          const res = await getSweep({ run: runBody(scene, racer, info), x: { param: "lr", values }, y: null }, signal);
          const i = bestCell(res.final_loss[0], res.steps[0], res.status[0]);
          return i === null ? null : res.x[i];
        } catch {
          return null;
        }
      }),
    );
    if (signal.aborted) return;
    const tuned = new Map(scene.racers.map((r, i) => [r, picks[i]]));
    const lrs = state.scene.racers.map((r) => tuned.get(r) ?? null);
    const racers = state.scene.racers.map((r, i) => (lrs[i] === null ? r : { ...r, hp: { ...r.hp, lr: lrs[i] } }));
    const start = startOf(scene, info);
    setScene({
      racers, t: 0,
      fair: { trials: FAIR.trials, lo: FAIR.lo, hi: FAIR.hi, steps: scene.steps, seed: scene.seed, sx: start[0], sy: start[1], lrs },
    });
  } finally {
    fairPart = null;
    const busy = { ...state.runtime.busy };
    delete busy.fair;
    setRuntime({ busy });
  }
}

// ---- wiring ----------------------------------------------------------------------------------

export function initAnalysis() {
  subscribe((keys) => {
    if (fairPart !== null && scenePart(state.scene) !== fairPart) requests.fair.abort(); // tuned for another scene
    if (["t", "traj", "focus", "surface", "expr"].some((k) => keys.has(k))) scheduleCurvature();
    const s = state.scene;
    const basinsInputs = ["panel", "basins", "surface", "expr", "domain", "racers", "steps", "stop", "seed", "grid", "catalogue"];
    if (s.panel === "basins" && basinsInputs.some((k) => keys.has(k))) debounce("basins", computeBasins, 250);
    const regimeInputs = ["panel", "regime", "surface", "expr", "domain", "racers", "start", "steps", "stop", "seed", "catalogue"];
    if (s.panel === "regime" && regimeInputs.some((k) => keys.has(k))) debounce("regime", computeRegime, 250);
  });
}

const timers = {};
function debounce(name, fn, ms) {
  clearTimeout(timers[name]);
  timers[name] = setTimeout(fn, ms);
}
