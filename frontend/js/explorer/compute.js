// Keeps the runtime's grid and trajectories in step with the scene.
//  - Recompute (default): REST /api/trajectories per racer, at most one request in flight per
//    racer; when it returns and the racer changed meanwhile, the latest settings go next.
//    So dragging a slider redraws the path several times a second without a queue piling up.
//    Requests that can no longer be drawn are aborted; passing failures wait for Retry, but a
//    429 (this client's computations all in flight) asks again by itself shortly.
//  - Live (scene.live): Play creates stored runs (/api/runs) and follows each over its
//    websocket (reconnecting when it drops), appending steps as frames arrive; a new start
//    cancels the runs of the one before.

import { cancelRun, createRun } from "../shared/api.js";
import { watchQueue } from "../shared/queue.js";
import { followRun } from "../shared/stream.js";
import { computeTrajectory, getGrid } from "./api.js";
import { append, columns, emptyColumns } from "./numerics.js";
import { runBody, surfaceSpec } from "./spec.js";
import { gridKey, liveIsStale, racerKey, scenePart, setRuntime, state, subscribe, surfaceInfo } from "./state.js";

const GRID_N = 121;
// Finished trajectories are kept by size: a step record as the page holds it (its object
// and one entry in each column) takes about RECORD_BYTES, and the cache at most CACHE_BYTES.
const RECORD_BYTES = 600;
const CACHE_BYTES = 64 * 2 ** 20;
const cache = new Map(); // request key -> {traj, bytes}, least recently used first
let cacheBytes = 0;
const BUSY_RETRY_MS = 500; // after a 429: the server's slots for this client free up as computations end
const failed = new Map(); // request key -> the trajectory with a passing error (Retry asks again)
const slots = []; // per racer: the request in flight, {key, part, n, controller}
let gridRequest = null; // {key, controller}

function remember(key, traj) {
  forget(key);
  const bytes = (traj.cols.n + 1) * RECORD_BYTES;
  cache.set(key, { traj, bytes });
  cacheBytes += bytes;
  for (const old of cache.keys()) {
    if (cacheBytes <= CACHE_BYTES || old === key) break;
    forget(old);
  }
}

function forget(key) {
  const entry = cache.get(key);
  if (!entry) return;
  cache.delete(key);
  cacheBytes -= entry.bytes;
}

/** The cached trajectory of `key` (now the most recently used), or undefined. */
function cached(key) {
  const entry = cache.get(key);
  if (!entry) return undefined;
  cache.delete(key);
  cache.set(key, entry);
  return entry.traj;
}

// ---- the surface grid ----------------------------------------------------------

/**
 * Fetch the scene's grid unless it is shown or asked for (once the catalogues are in: a
 * link's unknown surface is replaced first); a request for another grid is aborted.
 */
async function refreshGrid() {
  if (!state.runtime.catalogue) return;
  const scene = state.scene;
  const key = gridKey(scene);
  if (state.runtime.grid && state.runtime.grid.key === key) return;
  if (gridRequest && gridRequest.key === key) return;
  if (gridRequest) gridRequest.controller.abort();
  const mine = { key, controller: new AbortController() };
  gridRequest = mine;
  setRuntime({ gridError: null });
  try {
    const g = await getGrid(surfaceSpec(scene), GRID_N, mine.controller.signal);
    if (gridRequest === mine) setRuntime({ grid: { key, ...g } });
  } catch (err) {
    if (gridRequest === mine) setRuntime({ gridError: { key, message: err.message, status: err.status } });
  } finally {
    if (gridRequest === mine) gridRequest = null;
  }
}

/** Retry on the map: ask for the scene's grid again. */
export const retryGrid = refreshGrid;

// ---- trajectories by REST --------------------------------------------------------

function fromResult(key, result) {
  return { key, cols: columns(result.steps), summary: result.summary, status: result.status, error: null, live: false };
}

const failure = (key, err) => ({ key, cols: emptyColumns(), summary: null, status: "failed", error: err.message, live: false });

/**
 * Racer `i` wants trajectory `key`. One request per racer at a time: while its own settings
 * move (a slider being dragged), the request in flight lands and is drawn while the latest
 * settings compute next. A request that can no longer be drawn (the racers, the surface or
 * the run settings changed) is aborted.
 */
function request(i, key, part, n) {
  const slot = slots[i];
  if (slot) {
    if (slot.key === key || (slot.part === part && slot.n === n)) return;
    slot.controller.abort();
  }
  const mine = { key, part, n, controller: new AbortController() };
  slots[i] = mine;
  computeTrajectory(JSON.parse(key), mine.controller.signal).then(
    (result) => {
      const traj = fromResult(key, result);
      remember(key, traj);
      landed(i, mine, traj);
    },
    (err) => {
      if (err.name === "AbortError") return;
      if (err.status === 429) {
        // All of this client's computation slots are taken (an aborted request computes on
        // the server until it ends): ask again shortly, with no Retry to press (a student's
        // page that follows a teacher's quick changes meets this).
        if (slots[i] === mine) slots[i] = null;
        setTimeout(syncTrajectories, BUSY_RETRY_MS);
        return;
      }
      const traj = failure(key, err);
      if (err.status === 422) remember(key, traj); // the same request would fail again
      else failed.set(key, { ...traj, passing: true }); // the server restarting, a dropped connection: Retry
      landed(i, mine, failed.get(key) || traj);
    },
  );
}

function landed(i, mine, traj) {
  if (slots[i] !== mine) return;
  slots[i] = null;
  // An answer for settings the racer has moved on from is its nearest path yet: draw it.
  if (!traj.error && !state.scene.live && state.runtime.traj.length === mine.n && racerKey(state.scene, i) !== traj.key) {
    const next = [...state.runtime.traj];
    next[i] = traj;
    setRuntime({ traj: next });
  }
  syncTrajectories();
}

function abortAll(from = 0) {
  for (let i = from; i < slots.length; i++) {
    if (slots[i]) slots[i].controller.abort();
    slots[i] = null;
  }
}

/** Bring runtime.traj up to date with the scene, fetching what is missing. */
export function syncTrajectories() {
  if (!state.runtime.catalogue || state.scene.live) return;
  const scene = state.scene;
  const part = scenePart(scene);
  const n = scene.racers.length;
  const old = state.runtime.traj;
  const wanted = new Set();
  const traj = [];
  const pending = [];
  scene.racers.forEach((_, i) => {
    const key = racerKey(scene, i);
    wanted.add(key);
    const done = cached(key) || failed.get(key);
    if (done) {
      traj.push(done);
      pending.push(false);
      return;
    }
    // Keep drawing the old path until the new one arrives.
    traj.push(old.length === n && old[i] && !old[i].live && !old[i].error ? old[i] : null);
    pending.push(true);
    request(i, key, part, n);
  });
  abortAll(n); // racers removed
  for (const key of failed.keys()) if (!wanted.has(key)) failed.delete(key);
  setRuntime({ traj, pending });
}

/** Retry on a card: ask again for the trajectories that failed for a passing reason. */
export function retryTrajectories() {
  failed.clear();
  syncTrajectories();
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
    key: racerKey(scene, i), cols: emptyColumns(), summary: null, status: "queued", ahead: null, error: null, live: true, link: "live", runId: null, version: 0,
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
    // asks until the run starts or ends, or a newer start supersedes this one (`current`)
    watchQueue(run.id, () => current() && state.runtime.traj[i].status === "queued", (ahead) => bump(i, { ahead }));
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
      if (state.scene.live) {
        abortAll();
        setRuntime({ liveStale: liveIsStale() });
      } else syncTrajectories();
    }
  });
  refreshGrid();
  syncTrajectories();
}
