// The explorer's lessons: opening one (its partial scene over the defaults, from step 0 and
// played at once), and the lesson card, its numbers filled in from the live state; when the
// surface or the racers are no longer the lesson's, the card says so and offers a reset.

import { fmt, fmtValue } from "../../shared/format.js";
import { h, template } from "../../shared/dom.js";
import { findInfo, valueOf } from "../../shared/hyper.js";
import { locale, t } from "../../shared/i18n.js";
import { createLessons, driftNotice, offersSetup, setupNotice } from "../../shared/lessons.js";
import { defaultScene } from "../codec.js";
import { LESSONS } from "../lessons.js";
import { outcome } from "../outcome.js";
import { setRuntime, setScene, state, surfaceInfo } from "../state.js";

const SCENE_PARTS = ["surface", "expr", "domain", "start", "steps", "stop", "seed", "racers", "focus", "panel", "ov", "basins", "regime"];

/** A lesson opens over the default surface, racers and run settings (language and display stay), at step 0, playing. */
export const { findLesson, applyLesson, restoreSetup, createMenu: createLessonMenu } = createLessons(LESSONS, { state, setScene, setRuntime }, (lesson) => {
  const d = defaultScene();
  const base = Object.fromEntries(SCENE_PARTS.map((k) => [k, d[k]]));
  return { scene: { ...base, ...lesson.scene, t: 0, fair: null, live: false }, runtime: { autoplay: true } };
});

/** What in the scene is no longer the lesson's: its surface, or its racers (their number, optimizers, schedules). */
function drift(lesson, scene) {
  const shape = (racers) => JSON.stringify(racers.map((r) => [r.opt, r.sched]));
  const out = [];
  if (lesson.scene.surface !== scene.surface) out.push("surface");
  if (shape(lesson.scene.racers) !== shape(scene.racers)) out.push("racers");
  return out;
}

/** The curvature at the focused racer's point, when it is in: λmax, κ and GD's bound 2/λmax. */
function curvatureValue(name, cv) {
  if (!cv || cv.error || !cv.eigenvalues) return "…";
  const [lo, hi] = cv.eigenvalues;
  if (name === "lambda_max") return fmt(hi);
  if (name === "kappa") return lo > 0 ? fmt(hi / lo) : "—";
  return cv.max_stable_lr === null ? "—" : fmt(cv.max_stable_lr);
}

/**
 * The value of one template token: a racer's keyword or outcome ({r1.momentum},
 * {r1.momentum_gain} = 1/(1 − μ), {r0.result}), the curvature ({lambda_max}, {kappa}, {bound}),
 * a run setting ({stop_grad}, {steps}, {n_samples}, {basin_starts}) or an overlay's colour
 * ({colour.momentum}). A racer token names the lesson's racer: "—" once it is not there.
 */
function tokenValue(token, scene, runtime, racersDrifted) {
  const cat = runtime.catalogue;
  const m = /^r(\d+)(?:\.(\w+))?$/.exec(token);
  if (m) {
    const i = Number(m[1]);
    const r = scene.racers[i];
    if (!r || racersDrifted) return "—";
    const field = m[2];
    if (field === "result") return outcome(scene.lang, runtime.traj[i], scene);
    if (field === "noise") return fmt(r.noise);
    if (field === "clip") return r.clip === null ? "None" : fmt(r.clip);
    if (field === "batch") return r.batch === null ? String(surfaceInfo(scene)?.n_samples ?? "full") : String(r.batch);
    const opt = findInfo(cat.optimizers, r.opt);
    const sched = findInfo(cat.schedules, r.sched);
    if (field === "momentum_gain") {
      const mu = opt && opt.hyperparameters.find((x) => x.name === "momentum");
      return mu ? fmt(1 / (1 - valueOf(r.hp, mu))) : "—";
    }
    const ho = opt && opt.hyperparameters.find((x) => x.name === field);
    if (ho) return fmtValue(valueOf(r.hp, ho));
    const hs = sched && sched.hyperparameters.find((x) => x.name === field);
    if (hs) return fmtValue(valueOf(r.shp, hs));
    return opt ? opt.name : r.opt;
  }
  if (["lambda_max", "kappa", "bound"].includes(token)) return curvatureValue(token, runtime.curvature);
  if (token.startsWith("colour.")) return t(scene.lang, `colour_${token.slice(7)}${scene.cb ? "_cb" : ""}`);
  if (token === "stop_grad") return fmt(scene.stop[0]);
  if (token === "steps") return String(scene.steps);
  if (token === "n_samples") return String(surfaceInfo(scene)?.n_samples ?? "—");
  if (token === "basin_starts") return (scene.basins.n ** 2).toLocaleString(locale(scene.lang));
  return `{${token}}`;
}

export function createLessonView(root) {
  root.addEventListener("click", (ev) => {
    if (ev.target.closest('[data-role="close-lesson"]')) applyLesson(null);
  });
  let shown = null;

  function render() {
    const { scene, runtime } = state;
    const lesson = scene.lesson && findLesson(scene.lesson);
    root.hidden = !lesson;
    if (!lesson || !runtime.catalogue) return;
    const lang = scene.lang;
    const text = lesson.text[lang] || lesson.text.en;
    const changed = drift(lesson, scene);
    const values = {};
    for (const [, token] of text.matchAll(/\{([\w.]+)\}/g)) values[token] = tokenValue(token, scene, runtime, changed.includes("racers"));
    // Rebuilt only when a word of it changes (the playhead moves the curvature many times a second).
    const key = JSON.stringify([lesson.id, lang, values, changed, offersSetup(runtime)]);
    if (key === shown) return;
    shown = key;
    const spans = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, h("span", { class: "value" }, v)]));
    root.replaceChildren(
      h("div", { class: "card-head" }, h("h2", {}, lesson.title[lang] || lesson.title.en),
        h("button", { type: "button", class: "icon-btn", title: t(lang, "lesson_close"), "aria-label": t(lang, "lesson_close"), dataset: { role: "close-lesson" } }, h("span", { "aria-hidden": "true" }, "✕"))),
      ...(changed.length ? [driftNotice(lang, changed.map((k) => t(lang, `drift_${k}`)).join(", "), () => applyLesson(lesson.id))] : []),
      ...(offersSetup(runtime) ? [setupNotice(lang, restoreSetup)] : []),
      ...text.split("\n\n").map((para) => h("p", { class: changed.length ? "drifted" : null }, template(para, spans))),
    );
  }
  return { render };
}
