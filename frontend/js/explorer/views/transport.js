// Play / pause / single-step / scrub / speed, the overlay switches, and the keyboard:
// Space plays or pauses, ←/→ step (Shift: 10 steps), Home/End jump — unless the focused
// control uses that key itself (a field, a menu, a tab; Space on a button presses it).

import { h } from "../../shared/dom.js";
import { t } from "../../shared/i18n.js";
import { maxStep, pause, play, seek, stepBy, toggle } from "../playback.js";
import { setScene, state } from "../state.js";

// Inline SVG: no icon font, no emoji font needed (the page runs offline).
const svg = (d) => `<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="${d}"/></svg>`;
const ICONS = {
  start: svg("M5 5h2.5v14H5zM19 5v14L8.5 12z"),
  back: svg("M17 5v14L6 12zM4 5h2v14H4z"),
  play: svg("M7 4.5v15l12.5-7.5z"),
  pause: svg("M6 5h4.5v14H6zM13.5 5H18v14h-4.5z"),
  fwd: svg("M7 5v14l11-7zM18 5h2v14h-2z"),
  end: svg("M5 5v14l10.5-7zM16.5 5H19v14h-2.5z"),
};

const OVERLAYS = [["ghost", "ov_ghost"], ["grad", "ov_grad"], ["mom", "ov_mom"], ["eff", "ov_eff"], ["eig", "ov_eig"]];

/**
 * Whether the focused element uses `key` itself, so the page's shortcut must leave it:
 * fields, menus, sliders and tabs keep every key (the scrubber lends Space to play);
 * buttons, links and menus' summaries keep Space and Enter.
 */
function ownsKey(el, key) {
  if (!(el instanceof Element)) return false;
  if (el.matches('input, select, textarea, [contenteditable="true"], [role="tab"]')) return !(el.id === "scrub" && key === " ");
  if (el.matches("button, a[href], summary")) return key === " " || key === "Enter";
  return false;
}

export function createTransport(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const playBtn = $("play-btn");
  const scrub = $("scrub");
  const out = $("step-out");
  const speed = $("speed-select");
  const toggles = $("overlay-toggles");
  let lang = null;
  for (const b of root.querySelectorAll("[data-icon]")) b.innerHTML = ICONS[b.dataset.icon];

  playBtn.addEventListener("click", toggle);
  $("step-back").addEventListener("click", () => stepBy(-1));
  $("step-fwd").addEventListener("click", () => stepBy(1));
  $("to-start").addEventListener("click", () => seek(0));
  $("to-end").addEventListener("click", () => seek(maxStep()));
  scrub.addEventListener("input", () => seek(Number(scrub.value)));
  speed.addEventListener("change", () => setScene({ speed: Number(speed.value) }));
  toggles.addEventListener("change", (ev) => {
    const key = ev.target.dataset.ov;
    if (key) setScene({ ov: { ...state.scene.ov, [key]: ev.target.checked } });
  });

  document.addEventListener("keydown", (ev) => {
    if (ownsKey(ev.target, ev.key) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (state.runtime.room && state.runtime.room.following) return; // the teacher drives the playhead
    const big = ev.shiftKey ? 10 : 1;
    if (ev.key === " ") toggle();
    else if (ev.key === "ArrowRight") stepBy(big);
    else if (ev.key === "ArrowLeft") stepBy(-big);
    else if (ev.key === "Home") seek(0);
    else if (ev.key === "End") seek(maxStep());
    else return;
    ev.preventDefault();
  });

  function render() {
    const { scene, runtime } = state;
    if (lang !== scene.lang) {
      lang = scene.lang;
      toggles.replaceChildren(
        h("span", { class: "hint" }, t(lang, "overlays")),
        ...OVERLAYS.map(([key, label]) => h("label", {}, h("input", { type: "checkbox", dataset: { ov: key } }), t(lang, label))),
      );
      root.title = t(lang, "keyboard_help");
    }
    for (const input of toggles.querySelectorAll("input")) input.checked = Boolean(scene.ov[input.dataset.ov]);
    const end = maxStep();
    scrub.max = String(end);
    if (Number(scrub.value) !== scene.t) scrub.value = String(scene.t);
    out.textContent = `${t(scene.lang, "step")} ${scene.t} / ${end}`;
    scrub.setAttribute("aria-valuetext", t(scene.lang, "step_of", { k: scene.t, n: end }));
    const icon = runtime.playing ? "pause" : "play";
    if (playBtn.dataset.icon !== icon) {
      playBtn.dataset.icon = icon;
      playBtn.innerHTML = ICONS[icon];
    }
    playBtn.title = t(scene.lang, runtime.playing ? "pause" : "play");
    playBtn.setAttribute("aria-label", playBtn.title);
    playBtn.classList.toggle("stale", Boolean(scene.live && runtime.liveStale));
    if (speed.value !== String(scene.speed)) speed.value = String(scene.speed);
  }

  return { render, pause, play };
}
