// Run outcomes in words. English uses the server's message ("‖∇L‖ < 1e-08 at step 412");
// Russian is built from the same structured fields.

import { fmt } from "../numerics.js";

export function stopMessage(lang, summary, scene) {
  if (!summary) return "";
  if (lang !== "ru") return summary.message;
  const k = summary.stop_step ?? summary.steps;
  switch (summary.stop_reason) {
    case "grad_norm":
      return `‖∇L‖ < ${fmt(scene.stop[0])} на шаге ${k}`;
    case "step_norm":
      return `‖Δw‖ < ${fmt(scene.stop[1])} на шаге ${k}`;
    case "diverged":
      return `разошёлся на шаге ${k}`;
    case "budget":
      return `бюджет в ${summary.steps} шагов исчерпан`;
    case "cancelled":
      return "отменён";
    default:
      return summary.message;
  }
}

/** A short outcome for lesson texts: the stop message plus where it ended. */
export function outcome(lang, traj, scene) {
  if (!traj || !traj.summary) return "…";
  const s = traj.summary;
  const msg = stopMessage(lang, s, scene);
  if (s.stop_reason === "diverged" || !s.final_params) return msg;
  const [x, y] = s.final_params;
  const at = lang === "ru" ? "итог" : "ends at";
  return `${msg}, ${at} (${fmt(x)}, ${fmt(y)}), f = ${fmt(s.final_loss)}`;
}
