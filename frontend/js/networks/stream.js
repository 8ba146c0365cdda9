// A run's stream → the store. Messages (replayed from the start for a late joiner; the
// shared client reconnects and passes each on once): steps, epoch, boundary, landscape,
// reset, end. Columns grow in place; every message
// bumps the run's version, and the renderers draw what is new once per animation frame.

import { followRun } from "../shared/stream.js";
import { emptyRun, updateRun } from "./state.js";

function addSteps(run, steps) {
  const c = run.steps;
  for (const s of steps) {
    c.step.push(s.step);
    c.epoch.push(s.epoch);
    c.loss.push(s.loss);
    c.lr.push(s.lr);
    c.gradNorm.push(s.grad_norm);
  }
}

function addEpoch(run, e) {
  const c = run.epochs;
  c.epoch.push(e.epoch);
  c.trainLoss.push(e.train_loss);
  c.trainAcc.push(e.train_accuracy ?? null);
  c.valLoss.push(e.val_loss ?? null);
  c.valAcc.push(e.val_accuracy ?? null);
  c.lr.push(e.lr ?? null);
}

function addBoundary(run, b) {
  if (b.points) run.points = b.points;
  run.boundaries.push({ epoch: b.epoch, final: Boolean(b.final), z_kind: b.z_kind, x: b.x, y: b.y, z: b.z });
}

function addLandscape(run, g) {
  if (g.trajectory) run.trajectory = g.trajectory;
  run.landscape = { stage: g.stage, progress: g.progress, a: g.a, b: g.b, loss: g.loss, accuracy: g.accuracy ?? null };
}

/** Apply one stream message to run `id` (if it is still the run on screen). */
function apply(id, msg) {
  updateRun(id, (run) => {
    if (run.status === "queued" && msg.type !== "end") run.status = "running";
    switch (msg.type) {
      case "steps":
        addSteps(run, msg.steps);
        break;
      case "epoch":
        addEpoch(run, msg);
        break;
      case "boundary":
        addBoundary(run, msg);
        break;
      case "landscape":
        addLandscape(run, msg);
        break;
      case "reset":
        Object.assign(run, emptyRun(run.id, run.body), { version: run.version, nTrain: run.nTrain, status: "running" });
        break;
      case "end":
        run.status = msg.status;
        run.summary = msg.summary ?? null;
        run.error = msg.error ?? null;
        break;
      default:
        break;
    }
  });
}

/**
 * Follow run `id`: every message lands in the store's current run; `onEnd(id)` once the
 * run ended. While the socket is down the run's `link` says "reconnecting"; "lost" once the
 * client gave up (the run may still be training: Retry follows it again). Returns a
 * function that closes the stream.
 */
export function streamRun(id, { onEnd }) {
  return followRun(id, {
    onMessage: (msg) => {
      apply(id, msg);
      if (msg.type === "end") onEnd(id);
    },
    onLink: (link) => updateRun(id, (run) => {
      run.link = link;
    }),
    onLost: (err) => updateRun(id, (run) => {
      run.link = "lost";
      run.error = err.message;
    }),
  });
}
