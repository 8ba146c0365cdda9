// Ready lessons, the same way on both pages: a lesson has an id, a title per language and a
// partial scene. Opening one sets its scene (over the page's defaults) with the lesson's id
// in it, so the link carries the lesson; closing one keeps the scene. The page says what
// else a lesson sets, when its scene has drifted from the lesson's, and draws its card;
// a drifted card says so and offers to set the lesson's scene again.

import { h, options } from "./dom.js";
import { t } from "./i18n.js";

/** The card's notice that the scene is no longer the lesson's (`what`: the changed parts, in words). */
export function driftNotice(lang, what, reset) {
  return h("div", { class: "drift", role: "status" },
    h("span", {}, t(lang, "lesson_drift", { what })),
    h("button", { type: "button", class: "btn small", onclick: reset }, t(lang, "lesson_reset")));
}

/**
 * A page's lessons over its store. `open(lesson, scene)` gives what opening `lesson` from
 * `scene` sets: `{scene, runtime}` patches.
 */
export function createLessons(lessons, { state, setScene, setRuntime }, open) {
  const findLesson = (id) => lessons.find((l) => l.id === id) || null;

  /** Open lesson `id`; null (or an unknown id) leaves the lesson and keeps the scene. */
  function applyLesson(id) {
    const lesson = id ? findLesson(id) : null;
    if (!lesson) {
      setScene({ lesson: null });
      return;
    }
    const patch = open(lesson, state.scene);
    setScene({ ...patch.scene, lesson: id });
    setRuntime(patch.runtime);
  }

  /** The top bar's lesson menu: choosing one opens it, "free play" leaves it. */
  function createMenu(select) {
    select.addEventListener("change", () => applyLesson(select.value || null));
    return function render(scene) {
      const items = lessons.map((l) => ({ value: l.id, label: l.title[scene.lang] || l.title.en }));
      options(select, [{ value: "", label: t(scene.lang, "no_lesson") }, ...items], scene.lesson || "");
    };
  }

  return { findLesson, applyLesson, createMenu };
}
