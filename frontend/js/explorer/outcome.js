// A run's outcome in words, from its summary's structured fields, in the page's language
// (strings.js, `outcome_<stop reason>`): "‖∇L‖ < 1e-8 at step 412", "‖∇L‖ < 1e-8 на шаге 412".
// Only a reason the table does not know falls back to the server's (English) message.

import { fmt } from "../shared/format.js";
import { t } from "../shared/i18n.js";

const REASONS = ["grad_norm", "step_norm", "diverged", "budget", "cancelled"];

export function stopMessage(lang, summary, scene) {
  if (!summary) return "";
  if (!REASONS.includes(summary.stop_reason)) return summary.message;
  return t(lang, `outcome_${summary.stop_reason}`, {
    k: summary.stop_step ?? summary.steps,
    steps: summary.steps,
    grad_norm: fmt(scene.stop[0]),
    step_norm: fmt(scene.stop[1]),
  });
}

/** A short outcome for lesson texts: the stop message plus where it ended. */
export function outcome(lang, traj, scene) {
  if (!traj || !traj.summary) return "…";
  const s = traj.summary;
  const msg = stopMessage(lang, s, scene);
  if (s.stop_reason === "diverged" || !s.final_params) return msg;
  const [x, y] = s.final_params;
  return `${msg}, ${t(lang, "ends_at")} (${fmt(x)}, ${fmt(y)}), f = ${fmt(s.final_loss)}`;
}
