// The lesson card: the scene's explanation, its numbers filled in from the live state, and
// loading a lesson (a partial scene over the defaults).

import { defaultScene } from "../codec.js";
import { t } from "../i18n.js";
import { findInfo, valueOf } from "../hyper.js";
import { findLesson } from "../lessons.js";
import { fmt, fmtValue } from "../numerics.js";
import { setRuntime, setScene, state } from "../state.js";
import { surfaceInfo } from "../compute.js";
import { h, template } from "./dom.js";
import { outcome } from "./words.js";

const SCENE_PARTS = ["surface", "expr", "domain", "start", "steps", "stop", "seed", "racers", "focus", "panel", "ov", "basins", "regime"];

/** Load lesson `id` (null: leave the lesson, keep the scene). */
export function applyLesson(id) {
  const lesson = id ? findLesson(id) : null;
  if (!lesson) {
    setScene({ lesson: null });
    return;
  }
  const d = defaultScene();
  const base = Object.fromEntries(SCENE_PARTS.map((k) => [k, d[k]]));
  setScene({ ...base, ...lesson.scene, lesson: id, t: 0, fair: null, live: false });
  setRuntime({ autoplay: true });
}

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
    if (ev.target.dataset.role === "close-lesson") applyLesson(null);
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
        h("button", { type: "button", class: "icon-btn", title: t(lang, "lesson_close"), dataset: { role: "close-lesson" } }, "✕")),
      ...text.split("\n\n").map((para) => h("p", {}, template(para, values))),
    );
  }
  return { render };
}
