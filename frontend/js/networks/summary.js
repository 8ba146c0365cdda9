// The result card: how the run ended, the test metrics (evaluated once, at the end), the
// best epoch, sizes, parameters, the sharpness at the start and the end (with 2/λ_max, the
// largest stable lr of GD there), device and timings; while it runs, its progress. What the
// run did (converged, weights restored, an error) is always shown; what the numbers mean is
// under "Notes", open when the card has room for it (a 720-px projector has not: the card
// then scrolled), so the numbers are read without scrolling.

import { fill, h } from "../shared/dom.js";
import { fmt } from "../shared/format.js";
import { locale, statusWord, t } from "../shared/i18n.js";
import { queuedWords } from "../shared/queue.js";
import { state } from "./state.js";

const given = (v) => v !== null && v !== undefined;
const pct = (v) => (given(v) ? `${(100 * v).toFixed(1)}%` : "—");
const secs = (v) => (given(v) ? `${fmt(v, 2)} s` : "—");
/** "a → b" of two optional numbers (b "—" when missing). */
const startEnd = (a, b, f) => `${given(a) ? f(a) : "—"} → ${given(b) ? f(b) : "—"}`;
const stableLr = (lambda) => (lambda > 0 ? fmt(2 / lambda, 3) : "∞");

function rows(s, lang) {
  const line = (key, value, role) => h("tr", {}, h("td", {}, t(lang, key)), h("td", { dataset: role ? { role } : undefined }, value));
  return [
    line("test_loss", fmt(s.test_loss, 4), "test-loss"),
    s.test_accuracy !== null ? line("test_accuracy", pct(s.test_accuracy), "test-accuracy") : null,
    line("best_epoch", s.best_epoch === null ? "—" : String(s.best_epoch), "best-epoch"),
    line("epochs_run", String(s.epochs_run), "epochs-run"),
    line("steps", String(s.steps)),
    // where a narrow card wraps it: after "·", never inside "300 (GD)" or "1/epoch"
    line("batches", `${s.batch_size}${s.full_batch ? "\u00a0(GD)" : s.batch_size === 1 ? "\u00a0(SGD)" : ""}\u00a0· ${s.batches_per_epoch}\u2060/\u2060${t(lang, "epoch")}`),
    line("sizes", `${s.n_train}/${s.n_val}/${s.n_test}`),
    line("parameters", s.parameters.toLocaleString(locale(lang))),
    given(s.sharpness_initial) ? line("sharpness", startEnd(s.sharpness_initial, s.sharpness_final, (v) => fmt(v, 3)), "sharpness") : null,
    given(s.sharpness_initial) ? line("stable_lr", startEnd(s.sharpness_initial, s.sharpness_final, stableLr), "stable-lr") : null,
    line("device", s.device),
    line("time_train", secs(s.train_s)),
    given(s.landscape_s) ? line("time_landscape", secs(s.landscape_s)) : null,
    line("time_total", secs(s.elapsed_s)),
  ];
}

/** Open the notes when the card fits them, unless the reader opened or closed them. */
function fitNotes(root) {
  const notes = root.querySelector('[data-role="notes"]');
  if (!notes || notes.dataset.chosen) return;
  notes.open = true;
  if (root.scrollHeight > root.clientHeight) notes.open = false;
}

export function createSummary(root) {
  let drawn = null;
  new ResizeObserver(() => fitNotes(root)).observe(root);

  function render() {
    const { scene, runtime } = state;
    const run = runtime.run;
    const lang = scene.lang;
    const key = run ? `${run.id}|${run.version}|${lang}` : lang;
    if (key === drawn) return;
    drawn = key;
    const head = h("div", { class: "card-head" }, h("h2", {}, t(lang, "summary")));
    if (!run) return fill(root, head, h("p", { class: "hint" }, t(lang, "summary_empty")));
    const status = h("span", { class: `badge ${run.status}`, dataset: { role: "status" } }, statusWord(lang, run.status));
    head.append(status);
    const s = run.summary;
    const live = run.status === "queued" || run.status === "running";
    if (!s && !live) return fill(root, head, run.error ? h("p", { class: "error-text" }, run.error) : null);
    if (!s) {
      const epoch = run.epochs.epoch.length ? run.epochs.epoch[run.epochs.epoch.length - 1] : 0;
      const progress = run.landscape
        ? t(lang, "surveying", { pct: Math.round(100 * run.landscape.progress) })
        : run.status === "queued" ? queuedWords(lang, run.ahead) : t(lang, "training", { epoch, epochs: run.body.epochs });
      return fill(root, head, h("p", { class: "hint", dataset: { role: "progress" } }, progress), run.error ? h("p", { class: "error-text" }, run.error) : null);
    }
    const explained = [
      s.test_evaluations ? h("p", { class: "hint" }, t(lang, "test_once")) : null,
      given(s.sharpness_initial) ? h("p", { class: "hint" }, t(lang, "sharpness_note")) : null,
    ].filter(Boolean);
    const notes = explained.length
      ? h("details", { class: "summary-notes", dataset: { role: "notes" } }, h("summary", {}, t(lang, "summary_notes")), ...explained)
      : null;
    notes?.querySelector("summary").addEventListener("click", () => { notes.dataset.chosen = "1"; });
    fill(root, head,
      h("table", { class: "summary-table" }, rows(s, lang)),
      s.converged_by ? h("p", { class: "hint", dataset: { role: "converged" } }, t(lang, "converged_note", {
        step: s.converged_at_step, rule: s.converged_by === "grad_norm" ? "‖∇L‖" : "‖w − w_prev‖",
        eps: s.converged_by === "grad_norm" ? run.body.stop.grad_norm : run.body.stop.step_norm,
      })) : null,
      s.restored_best ? h("p", { class: "hint" }, t(lang, "restored", { epoch: s.best_epoch })) : null,
      run.error ? h("p", { class: "error-text" }, run.error) : null,
      notes);
    fitNotes(root);
  }

  return { render };
}
