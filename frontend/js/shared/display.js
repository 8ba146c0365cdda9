// What both pages' top bars share: the share-link button, the palette, projector and language
// toggles, the page's fixed texts in the chosen language (text, title, aria-label: the
// data-i18n, data-i18n-title and data-i18n-label attributes name their keys), and the toast.

import { t } from "./i18n.js";

/** `toast(text)`: a message in the page's store that clears itself after a few seconds. */
export function createToast(setRuntime) {
  let timer = null;
  return (text) => {
    setRuntime({ toast: text });
    clearTimeout(timer);
    timer = setTimeout(() => setRuntime({ toast: null }), 3500);
  };
}

/**
 * Wire the buttons to one page's store (`link_copied`, in the page's strings, says what its
 * link opens); `shareUrl()` returns the link, or `{url, copied}` (what to say once it is copied),
 * or a promise of either. Returns `render(scene, runtime)` for the shared parts of the bar.
 */
export function createDisplayControls({ state, setScene, shareUrl, toast }) {
  const $ = (id) => document.getElementById(id);

  $("share-btn").addEventListener("click", async () => {
    const shared = await shareUrl(); // a page may first finish what its link names (a CSV's id)
    const { url, copied } = typeof shared === "string" ? { url: shared, copied: t(state.scene.lang, "link_copied") } : shared;
    try {
      await navigator.clipboard.writeText(url);
      toast(copied);
    } catch {
      toast(`${t(state.scene.lang, "link_shown")} ${url}`);
    }
  });
  $("cb-toggle").addEventListener("click", () => setScene({ cb: !state.scene.cb }));
  $("proj-toggle").addEventListener("click", () => setScene({ proj: !state.scene.proj }));
  $("lang-btn").addEventListener("click", () => setScene({ lang: state.scene.lang === "ru" ? "en" : "ru" }));

  function render(scene, runtime) {
    const lang = scene.lang;
    document.documentElement.lang = lang;
    document.body.classList.toggle("projector", scene.proj);
    document.body.classList.toggle("cb", scene.cb);
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(lang, el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-title]")) {
      el.title = t(lang, el.dataset.i18nTitle);
      el.setAttribute("aria-label", el.title);
    }
    for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(lang, el.dataset.i18nLabel));
    $("cb-toggle").setAttribute("aria-pressed", String(scene.cb));
    $("proj-toggle").setAttribute("aria-pressed", String(scene.proj));
    const el = $("toast");
    el.hidden = !runtime.toast;
    el.textContent = runtime.toast || "";
  }

  return { render };
}
