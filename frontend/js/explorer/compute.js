// Keeps the runtime's grid and trajectories in step with the scene.
//  - Recompute (default): REST /api/trajectories per racer, at most one request in flight per
//    racer; when it returns and the racer changed meanwhile, the latest settings go next.
//    So dragging a slider redraws the path several times a second without a queue piling up.
//  - Live (scene.live): Play creates stored runs (/api/runs) and follows each over its
//    websocket, appending steps as frames arrive.

import { createRun } from "../shared/api.js";
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
let liveClosers = [];

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

function closeLive() {
  for (const close of liveClosers) close();
  liveClosers = [];
}

/** Start stored runs for every racer and follow them; replaces runtime.traj. */
export async function startLive() {
  closeLive();
  const scene = state.scene;
  const info = surfaceInfo(scene);
  const traj = scene.racers.map((r, i) => ({
    key: racerKey(scene, i), cols: emptyColumns(), summary: null, status: "queued", error: null, live: true, runId: null, version: 0,
  }));
  setRuntime({ traj, pending: traj.map(() => true), liveStale: false });
  const bump = (i, patch) => {
    const next = [...state.runtime.traj];
    if (!next[i] || next[i].key !== traj[i].key) return; // superseded
    next[i] = { ...next[i], ...patch, version: next[i].version + 1 };
    setRuntime({ traj: next });
  };
  const settled = (i) => {
    const p = [...state.runtime.pending];
    p[i] = false;
    setRuntime({ pending: p });
  };
  await Promise.all(
    scene.racers.map(async (racer, i) => {
      try {
        const run = await createRun(runBody(scene, racer, info));
        bump(i, { runId: run.id, status: run.status });
        const close = followRun(run.id, {
          onMessage: (msg) => {
            if (msg.type === "steps") {
              const cur = state.runtime.traj[i];
              if (!cur || cur.key !== traj[i].key) return;
              append(cur.cols, msg.steps);
              bump(i, { status: "running" });
            } else if (msg.type === "reset") bump(i, { cols: emptyColumns() });
            else if (msg.type === "end") {
              bump(i, { status: msg.status, summary: msg.summary });
              settled(i);
            }
          },
          onLost: (err) => bump(i, { error: err.message, status: "failed" }),
        });
        liveClosers.push(close);
      } catch (err) {
        bump(i, { error: err.message, status: "failed" });
        settled(i);
      }
    }),
  );
}

// ---- wiring ---------------------------------------------------------------------

const TRAJECTORY_KEYS = ["surface", "expr", "domain", "start", "steps", "stop", "seed", "racers", "live", "catalogue"];

export function initCompute() {
  subscribe((keys) => {
    if (keys.has("surface") || keys.has("expr") || keys.has("domain") || keys.has("catalogue")) refreshGrid();
    if (TRAJECTORY_KEYS.some((k) => keys.has(k))) {
      if (state.scene.live) {
        if (keys.has("live")) closeLive();
        setRuntime({ liveStale: liveIsStale() });
      } else {
        if (keys.has("live")) closeLive();
        syncTrajectories();
      }
    }
  });
  refreshGrid();
  syncTrajectories();
}
