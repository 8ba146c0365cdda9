// Request bodies of surface runs from the scene: the surface (a catalogue id or a custom
// formula), the start point in effect, and one racer's run. Pure functions; the server
// validates, and its messages reach the user.

import { round } from "../shared/format.js";

/** The optimizer part of a request: only the keywords the racer set (torch fills the rest). */
function optimizerSpec(racer) {
  return { name: racer.opt, ...racer.hp };
}

function scheduleSpec(racer) {
  return { name: racer.sched, ...racer.shp };
}

/** The surface part of a request: an id, or {expression, domain} for a custom formula. */
export function surfaceSpec(scene) {
  if (scene.surface !== "custom") return scene.surface;
  const d = scene.domain || [-3, 3, -3, 3];
  return { expression: scene.expr || "", domain: { x: [d[0], d[1]], y: [d[2], d[3]] } };
}

/** The start point in effect: the scene's, else the surface's suggestion. */
export function startOf(scene, surfaceInfo) {
  if (scene.start) return scene.start;
  if (surfaceInfo) return surfaceInfo.start;
  const d = scene.domain || [-3, 3, -3, 3];
  return [round(d[0] + 0.8 * (d[1] - d[0])), round(d[2] + 0.8 * (d[3] - d[2]))];
}

/** The request body of one racer's surface run. */
export function runBody(scene, racer, surfaceInfo, extra = {}) {
  const body = {
    kind: "surface",
    surface: surfaceSpec(scene),
    optimizer: optimizerSpec(racer),
    schedule: scheduleSpec(racer),
    start: startOf(scene, surfaceInfo),
    steps: scene.steps,
    stop: { grad_norm: scene.stop[0], step_norm: scene.stop[1] },
    gradient_noise: racer.noise || 0,
    clip_grad_norm: racer.clip ?? null,
    seed: scene.seed,
  };
  if (surfaceInfo && surfaceInfo.n_samples) {
    body.batch_size = racer.batch ?? null;
    body.shuffle = racer.shuffle !== false;
  }
  return { ...body, ...extra };
}
