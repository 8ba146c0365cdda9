// The top bar (lesson menu, share link, colour-blind palette, projector mode, language),
// the page's fixed texts in the chosen language, and the toast.

import { displayQuery } from "../codec.js";
import { applyLesson, syncLessonMenu } from "./lessons.js";
import { setRuntime, setScene, shareUrl, state } from "./state.js";
import { t } from "./words.js";

let toastTimer = null;

export function toast(text) {
  setRuntime({ toast: text });
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => setRuntime({ toast: null }), 3500);
}

export function createTopbar() {
  const $ = (id) => document.getElementById(id);
  $("lesson-select").addEventListener("change", (ev) => applyLesson(ev.target.value || null));
  $("cb-toggle").addEventListener("click", () => setScene({ cb: !state.scene.cb }));
  $("proj-toggle").addEventListener("click", () => setScene({ proj: !state.scene.proj }));
  $("lang-btn").addEventListener("click", () => setScene({ lang: state.scene.lang === "ru" ? "en" : "ru" }));
  $("share-btn").addEventListener("click", async () => {
    const url = shareUrl();
    try {
      await navigator.clipboard.writeText(url);
      toast(t(state.scene.lang, "link_copied"));
    } catch {
      toast(`${t(state.scene.lang, "link_shown")} ${url}`);
    }
  });

  function render() {
    const { scene, runtime } = state;
    const lang = scene.lang;
    document.documentElement.lang = lang;
    document.getElementById("explorer-link").href = `/${displayQuery(scene)}`;
    document.body.classList.toggle("projector", scene.proj);
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(lang, el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-title]")) {
      el.title = t(lang, el.dataset.i18nTitle);
      el.setAttribute("aria-label", el.title);
    }
    syncLessonMenu($("lesson-select"), scene);
    $("cb-toggle").setAttribute("aria-pressed", String(scene.cb));
    $("proj-toggle").setAttribute("aria-pressed", String(scene.proj));
    const el = $("toast");
    el.hidden = !runtime.toast;
    el.textContent = runtime.toast || "";
  }

  return { render };
}
