// Keeps the runtime's grid and trajectories in step with the scene.
//  - Recompute (default): REST /api/trajectories per racer, at most one request in flight per
//    racer; when it returns and the racer changed meanwhile, the latest settings go next.
//    So dragging a slider redraws the path several times a second without a queue piling up.
//  - Live (scene.live): Play creates stored runs (/api/runs) and follows each over its
//    websocket (reconnecting when it drops), appending steps as frames arrive; a new start
//    cancels the runs of the one before.

import { cancelRun, createRun } from "../shared/api.js";
import { followRun } from "../shared/stream.js";
import { computeTrajectory, getGrid } from "./api.js";
import { append, columns, emptyColumns } from "./numerics.js";
import { runBody, surfaceSpec } from "./spec.js";
import { gridKey, liveIsStale, racerKey, setRuntime, state, subscribe, surfaceInfo } from "./state.js";

const GRID_N = 121;
const CACHE_MAX = 120;
const cache = new Map(); // request key -> finished trajectory
const inflight = new Map(); // request key -> promise
let gridRequest = null;

function remember(key, value) {
  cache.set(key, value);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
}

// ---- the surface grid ----------------------------------------------------------

async function refreshGrid() {
  const scene = state.scene;
  const key = gridKey(scene);
  if (state.runtime.grid && state.runtime.grid.key === key) return;
  if (gridRequest && gridRequest.key === key) return;
  const request = { key };
  gridRequest = request;
  try {
    const g = await getGrid(surfaceSpec(scene), GRID_N);
    if (gridRequest === request) setRuntime({ grid: { key, ...g }, gridError: null });
  } catch (err) {
    if (gridRequest === request) setRuntime({ gridError: err.message });
  } finally {
    if (gridRequest === request) gridRequest = null;
  }
}

// ---- trajectories by REST --------------------------------------------------------

function fromResult(key, result) {
  return { key, cols: columns(result.steps), summary: result.summary, status: result.status, error: null, live: false };
}

function fetchTrajectory(key) {
  if (inflight.has(key)) return inflight.get(key);
  const promise = computeTrajectory(JSON.parse(key))
    .then((result) => fromResult(key, result))
    .catch((err) => ({
      key, cols: emptyColumns(), summary: null, status: "failed", error: err.message, live: false,
      permanent: err.status === 422, // the same request would fail again; others may not
    }))
    .then((traj) => {
      inflight.delete(key);
      if (!traj.error || traj.permanent) remember(key, traj);
      return traj;
    });
  inflight.set(key, promise);
  return promise;
}

const slotBusy = new Set(); // racer slots with a request in flight

/** Bring runtime.traj up to date with the scene, fetching what is missing. */
export function syncTrajectories() {
  if (!state.runtime.catalogue || state.scene.live) return;
  const scene = state.scene;
  const old = state.runtime.traj;
  const traj = [];
  const pending = [];
  scene.racers.forEach((_, i) => {
    const key = racerKey(scene, i);
    const hit = cache.get(key);
    if (hit) {
      traj.push(hit);
      pending.push(false);
      return;
    }
    // Keep drawing the old path until the new one arrives.
    traj.push(old.length === scene.racers.length && old[i] && !old[i].live ? old[i] : null);
    pending.push(true);
    // One request per racer slot at a time: while a slot waits, further changes only move
    // its target; the next request starts when the current one lands.
    if (slotBusy.has(i)) return;
    slotBusy.add(i);
    fetchTrajectory(key).then((result) => {
      slotBusy.delete(i);
      if (result.error && !result.permanent) {
        // A transient failure (server restarting): show it, retry on the next change.
        const next = [...state.runtime.traj];
        if (i < next.length && i < state.scene.racers.length && racerKey(state.scene, i) === key) {
          next[i] = result;
          const p = [...state.runtime.pending];
          p[i] = false;
          setRuntime({ traj: next, pending: p });
        }
        return;
      }
      syncTrajectories();
    });
  });
  setRuntime({ traj, pending });
}

// ---- live runs over the websocket --------------------------------------------------------

// Every start of live runs gets a token; a callback of an older start finds the token
// changed and does nothing, so two starts never write into the same racer.
let liveToken = 0;
const liveRuns = new Map(); // run id -> close(): the current start's runs not ended yet

/** Stop following the live runs and cancel those still computing (they are superseded). */
function stopLive() {
  liveToken += 1;
  for (const [id, close] of liveRuns) {
    close();
    cancelRun(id).catch(() => {}); // an ended run is left as it is; a lost one cannot be helped
  }
  liveRuns.clear();
}

/** Start stored runs for every racer and follow them; replaces runtime.traj. */
export function startLive() {
  stopLive();
  const token = liveToken;
  const current = () => token === liveToken;
  const scene = state.scene;
  const info = surfaceInfo(scene);
  const traj = scene.racers.map((r, i) => ({
    key: racerKey(scene, i), cols: emptyColumns(), summary: null, status: "queued", error: null, live: true, link: "live", runId: null, version: 0,
  }));
  setRuntime({ traj, pending: traj.map(() => true), liveStale: false });
  const bump = (i, patch) => {
    if (!current()) return;
    const next = [...state.runtime.traj];
    next[i] = { ...next[i], ...patch, version: next[i].version + 1 };
    setRuntime({ traj: next });
  };
  const settled = (i) => {
    if (!current()) return;
    const p = [...state.runtime.pending];
    p[i] = false;
    setRuntime({ pending: p });
  };
  scene.racers.forEach(async (racer, i) => {
    let run;
    try {
      run = await createRun(runBody(scene, racer, info));
    } catch (err) {
      bump(i, { error: err.message, status: "failed" });
      settled(i);
      return;
    }
    if (!current()) {
      cancelRun(run.id).catch(() => {});
      return;
    }
    bump(i, { runId: run.id, status: run.status });
    const close = followRun(run.id, {
      onMessage: (msg) => {
        if (!current()) return;
        if (msg.type === "steps") {
          append(state.runtime.traj[i].cols, msg.steps);
          bump(i, { status: "running" });
        } else if (msg.type === "reset") bump(i, { cols: emptyColumns() });
        else if (msg.type === "end") {
          liveRuns.delete(run.id);
          bump(i, { status: msg.status, summary: msg.summary, link: "live" });
          settled(i);
        }
      },
      onLink: (link) => bump(i, { link }),
      onLost: (err) => {
        liveRuns.delete(run.id);
        bump(i, { error: err.message, status: "failed", link: "lost" });
        settled(i);
      },
    });
    liveRuns.set(run.id, close);
  });
}

// ---- wiring ---------------------------------------------------------------------

const TRAJECTORY_KEYS = ["surface", "expr", "domain", "start", "steps", "stop", "seed", "racers", "live", "catalogue"];

export function initCompute() {
  subscribe((keys) => {
    if (keys.has("surface") || keys.has("expr") || keys.has("domain") || keys.has("catalogue")) refreshGrid();
    if (TRAJECTORY_KEYS.some((k) => keys.has(k))) {
      if (keys.has("live")) stopLive();
      if (state.scene.live) setRuntime({ liveStale: liveIsStale() });
      else syncTrajectories();
    }
  });
  refreshGrid();
  syncTrajectories();
}
