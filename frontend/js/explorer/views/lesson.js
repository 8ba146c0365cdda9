// The explorer's lessons: opening one (its partial scene over the defaults, from step 0 and
// played at once), and the lesson card, its numbers filled in from the live state.

import { fmt, fmtValue } from "../../shared/format.js";
import { h, template } from "../../shared/dom.js";
import { findInfo, valueOf } from "../../shared/hyper.js";
import { t } from "../../shared/i18n.js";
import { createLessons } from "../../shared/lessons.js";
import { defaultScene } from "../codec.js";
import { LESSONS } from "../lessons.js";
import { outcome } from "../outcome.js";
import { setRuntime, setScene, state, surfaceInfo } from "../state.js";

const SCENE_PARTS = ["surface", "expr", "domain", "start", "steps", "stop", "seed", "racers", "focus", "panel", "ov", "basins", "regime"];

/** A lesson opens over the default surface, racers and run settings (language and display stay), at step 0, playing. */
export const { findLesson, applyLesson, createMenu: createLessonMenu } = createLessons(LESSONS, { state, setScene, setRuntime }, (lesson) => {
  const d = defaultScene();
  const base = Object.fromEntries(SCENE_PARTS.map((k) => [k, d[k]]));
  return { scene: { ...base, ...lesson.scene, t: 0, fair: null, live: false }, runtime: { autoplay: true } };
});

/** The value of one template token ({r1.momentum}, {r0.result}, {stop_grad}, ...). */
function tokenValue(token, scene, runtime) {
  const cat = runtime.catalogue;
  const m = /^r(\d+)(?:\.(\w+))?$/.exec(token);
  if (m) {
    const i = Number(m[1]);
    const r = scene.racers[i];
    if (!r) return "—";
    const field = m[2];
    if (field === "result") return outcome(scene.lang, runtime.traj[i], scene);
    if (field === "noise") return fmt(r.noise);
    if (field === "clip") return r.clip === null ? "None" : fmt(r.clip);
    if (field === "batch") return r.batch === null ? String(surfaceInfo(scene)?.n_samples ?? "full") : String(r.batch);
    const opt = findInfo(cat.optimizers, r.opt);
    const sched = findInfo(cat.schedules, r.sched);
    const ho = opt && opt.hyperparameters.find((x) => x.name === field);
    if (ho) return fmtValue(valueOf(r.hp, ho));
    const hs = sched && sched.hyperparameters.find((x) => x.name === field);
    if (hs) return fmtValue(valueOf(r.shp, hs));
    return opt ? opt.name : r.opt;
  }
  if (token === "stop_grad") return fmt(scene.stop[0]);
  if (token === "steps") return String(scene.steps);
  if (token === "n_samples") return String(surfaceInfo(scene)?.n_samples ?? "—");
  return `{${token}}`;
}

export function createLessonView(root) {
  root.addEventListener("click", (ev) => {
    if (ev.target.closest('[data-role="close-lesson"]')) applyLesson(null);
  });

  function render() {
    const { scene, runtime } = state;
    const lesson = scene.lesson && findLesson(scene.lesson);
    root.hidden = !lesson;
    if (!lesson || !runtime.catalogue) return;
    const lang = scene.lang;
    const text = lesson.text[lang] || lesson.text.en;
    const values = {};
    for (const [, token] of text.matchAll(/\{([\w.]+)\}/g)) values[token] = h("span", { class: "value" }, tokenValue(token, scene, runtime));
    root.replaceChildren(
      h("div", { class: "card-head" }, h("h2", {}, lesson.title[lang] || lesson.title.en),
        h("button", { type: "button", class: "icon-btn", title: t(lang, "lesson_close"), "aria-label": t(lang, "lesson_close"), dataset: { role: "close-lesson" } }, h("span", { "aria-hidden": "true" }, "✕"))),
      ...text.split("\n\n").map((para) => h("p", {}, template(para, values))),
    );
  }
  return { render };
}
