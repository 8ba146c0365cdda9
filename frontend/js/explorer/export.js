// Trajectories as files: CSV (one row per racer and step) and JSON (settings + steps).

import { encodeScene } from "./codec.js";
import { runBody } from "./spec.js";

const COLUMNS = ["racer", "optimizer", "step", "x", "y", "loss", "grad_x", "grad_y", "lr", "effective_lr_x", "effective_lr_y", "batch_loss", "epoch"];

const cell = (v) => (v === null || v === undefined ? "" : String(v));

export function trajectoriesCsv(scene, traj) {
  const lines = [COLUMNS.join(",")];
  scene.racers.forEach((r, i) => {
    const t = traj[i];
    if (!t) return;
    const c = t.cols;
    for (let k = 0; k < c.n; k++) {
      lines.push([i + 1, r.opt, c.step[k], c.x[k], c.y[k], c.loss[k], c.gx[k], c.gy[k], c.lr[k], c.ex[k], c.ey[k], c.batchLoss[k], c.epoch[k]].map(cell).join(","));
    }
  });
  return `${lines.join("\n")}\n`;
}

export function trajectoriesJson(scene, traj, surfaceInfo) {
  return JSON.stringify(
    {
      link: `?${encodeScene(scene)}`,
      racers: scene.racers.map((r, i) => ({
        request: runBody(scene, r, surfaceInfo),
        status: traj[i] ? traj[i].status : null,
        summary: traj[i] ? traj[i].summary : null,
        run_id: traj[i] ? traj[i].runId || null : null,
        steps: traj[i] ? traj[i].cols.records : [],
      })),
    },
    null,
    1,
  );
}

/** Offer a URL (data: or blob:) as a download named `filename`. */
export function saveUrl(url, filename) {
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
}

/** Offer `text` as a download named `filename`. */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  saveUrl(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
