// Ready lessons, the same way on both pages: a lesson has an id, a title per language and a
// partial scene. Opening one sets its scene (over the page's defaults) with the lesson's id
// in it, so the link carries the lesson; closing one keeps the scene. The page says what
// else a lesson sets, when its scene has drifted from the lesson's, and draws its card;
// a drifted card says so and offers to set the lesson's scene again. A lesson chosen from
// the menu over free play remembers the settings it replaced (a teacher's pasted data, a
// typed surface), and its card offers to go back to them until the lesson is closed.

import { h, options } from "./dom.js";
import { t } from "./i18n.js";

/** The card's notice that the scene is no longer the lesson's (`what`: the changed parts, in words). */
export function driftNotice(lang, what, reset) {
  return h("div", { class: "drift", role: "status" },
    h("span", {}, t(lang, "lesson_drift", { what })),
    h("button", { type: "button", class: "btn small", onclick: reset }, t(lang, "lesson_reset")));
}

/** Whether the card offers the settings the lesson replaced: it remembers them, and the page
 * is its own (a student following a room cannot change the scene). */
export function offersSetup(runtime) {
  const following = runtime.room && runtime.room.role === "student" && runtime.room.following;
  return Boolean(runtime.setupBefore) && !following;
}

/** The card's way back to the settings the lesson replaced (`back`). */
export function setupNotice(lang, back) {
  return h("div", { class: "setup-before" },
    h("button", { type: "button", class: "btn small", title: t(lang, "lesson_setup_hint"), onclick: back },
      h("span", { "aria-hidden": "true" }, "↩ "), t(lang, "lesson_setup_back")));
}

/**
 * A page's lessons over its store. `open(lesson, scene)` gives what opening `lesson` from
 * `scene` sets: `{scene, runtime}` patches.
 */
export function createLessons(lessons, { state, setScene, setRuntime }, open) {
  const findLesson = (id) => lessons.find((l) => l.id === id) || null;

  /**
   * Open lesson `id`; null (or an unknown id) leaves the lesson and keeps the scene. Opened from
   * the menu over free play, the lesson remembers the values it changes (`runtime.setupBefore`;
   * not the language or display, which it keeps); another lesson opened after it adds those of
   * any further keys it changes, still as they were before the first.
   */
  function applyLesson(id, { fromMenu = false } = {}) {
    const lesson = id ? findLesson(id) : null;
    if (!lesson) {
      setScene({ lesson: null });
      setRuntime({ setupBefore: null });
      return;
    }
    const patch = open(lesson, state.scene);
    const earlier = state.scene.lesson ? state.runtime.setupBefore : null;
    const replaced = Object.fromEntries(Object.keys(patch.scene)
      .filter((k) => patch.scene[k] !== state.scene[k]).map((k) => [k, state.scene[k]]));
    const setupBefore = earlier ? { ...replaced, ...earlier } : fromMenu && !state.scene.lesson ? replaced : null;
    setScene({ ...patch.scene, lesson: id });
    const taken = state.scene.lesson === id; // not while the page follows a classroom room's scene
    setRuntime({ ...patch.runtime, setupBefore: taken ? setupBefore : state.runtime.setupBefore });
  }

  /** Leave the lesson for the settings it replaced. */
  function restoreSetup() {
    const before = state.runtime.setupBefore;
    if (!before) return;
    setScene({ ...before, lesson: null });
    setRuntime({ setupBefore: null });
  }

  /** The top bar's lesson menu: choosing one opens it, "free play" leaves it. */
  function createMenu(select) {
    select.addEventListener("change", () => applyLesson(select.value || null, { fromMenu: true }));
    return function render(scene) {
      const items = lessons.map((l) => ({ value: l.id, label: l.title[scene.lang] || l.title.en }));
      options(select, [{ value: "", label: t(scene.lang, "no_lesson") }, ...items], scene.lesson || "");
    };
  }

  return { findLesson, applyLesson, restoreSetup, createMenu };
}
