// The top bar (surface and lesson menus, share, export, palette, projector, language), the
// caption under the map (with the racers' key on phones, and why the map is empty when its
// grid failed), the fair-race caveat and the toast. Every text here is generated from the live state.

import { displayQuery } from "../../shared/codec.js";
import { createDisplayControls } from "../../shared/display.js";
import { fill, h, options } from "../../shared/dom.js";
import { failureNote } from "../../shared/failure.js";
import { fmt } from "../../shared/format.js";
import { findInfo, racerLabel } from "../../shared/hyper.js";
import { t } from "../../shared/i18n.js";
import { racerColor } from "../../shared/palette.js";
import { download, saveUrl, trajectoriesCsv, trajectoriesJson } from "../export.js";
import { startOf } from "../spec.js";
import { retryGrid } from "../compute.js";
import { gridKey, setScene, shareUrl, state, surfaceInfo } from "../state.js";
import { createLessonMenu } from "./lesson.js";

const DEFAULT_EXPR = "sin(x)*cos(y) + 0.1*(x^2 + y^2)";

export function createTopbar({ contourPng, toast }) {
  const $ = (id) => document.getElementById(id);
  const surfaceSel = $("surface-select");

  surfaceSel.addEventListener("change", () => {
    const v = surfaceSel.value;
    const s = state.scene;
    if (v === "custom") setScene({ surface: "custom", expr: s.expr || DEFAULT_EXPR, domain: s.domain || [-3, 3, -3, 3], start: null, t: 0, fair: null });
    else setScene({ surface: v, expr: null, domain: null, start: null, t: 0, fair: null });
  });
  const lessonMenu = createLessonMenu($("lesson-select"));
  const display = createDisplayControls({ state, setScene, shareUrl, toast });

  const menu = $("export-menu");
  const closeMenu = () => menu.removeAttribute("open");
  $("export-png").addEventListener("click", () => {
    closeMenu();
    contourPng().then((url) => saveUrl(url, `descent-lab-${state.scene.surface}.png`));
  });
  $("export-png3d").addEventListener("click", () => {
    closeMenu();
    if (state.scene.panel !== "3d") setScene({ panel: "3d" });
    setTimeout(() => Plotly.downloadImage($("surface3d"), { format: "png", filename: `descent-lab-${state.scene.surface}-3d`, scale: 2 }), 300);
  });
  $("export-csv").addEventListener("click", () => {
    closeMenu();
    download(`descent-lab-${state.scene.surface}.csv`, trajectoriesCsv(state.scene, state.runtime.traj), "text/csv");
  });
  $("export-json").addEventListener("click", () => {
    closeMenu();
    download(`descent-lab-${state.scene.surface}.json`, trajectoriesJson(state.scene, state.runtime.traj, surfaceInfo()), "application/json");
  });
  document.addEventListener("click", (ev) => {
    if (!menu.contains(ev.target)) closeMenu();
  });

  function render() {
    const { scene, runtime } = state;
    const lang = scene.lang;
    const cat = runtime.catalogue;
    display.render(scene, runtime);
    $("networks-link").href = `/networks.html${displayQuery(scene)}`;
    if (cat) {
      options(surfaceSel, [...cat.surfaces.map((s) => ({ value: s.id, label: s.name })), { value: "custom", label: t(lang, "custom") }], scene.surface);
      const sDesc = surfaceInfo(scene);
      surfaceSel.title = sDesc ? `${sDesc.formula}\n\n${sDesc.description}` : "";
    }
    lessonMenu(scene);
    renderCaption(scene);
    renderMapKey(scene, runtime);
    renderMapFailure(scene, runtime);
    renderFair(scene);
    const fairBtn = $("fair-btn");
    fairBtn.disabled = Boolean(runtime.busy.fair);
    fairBtn.textContent = runtime.busy.fair ? t(lang, "fair_running") : t(lang, "fair_race");
    $("add-racer").disabled = scene.racers.length >= 8;
  }

  function renderCaption(scene) {
    const lang = scene.lang;
    const info = surfaceInfo(scene);
    const start = startOf(scene, info);
    const name = info ? `${info.name}: ${info.formula}` : `f(x, y) = ${scene.expr || ""}`;
    const rule = [scene.stop[0] > 0 ? `‖∇L‖ < ${fmt(scene.stop[0])}` : null, scene.stop[1] > 0 ? `‖Δw‖ < ${fmt(scene.stop[1])}` : null].filter(Boolean).join(` ${t(lang, "or")} `);
    const parts = [name, `${t(lang, "caption_start")} (${fmt(start[0])}, ${fmt(start[1])})`, `${scene.steps} ${t(lang, "caption_steps")}`];
    if (rule) parts.push(`${t(lang, "caption_stop")} ${rule}`);
    const noisy = scene.racers.some((r) => r.noise);
    const clipped = scene.racers.some((r) => r.clip !== null);
    if (noisy) parts.push(`${t(lang, "noise")}: ${scene.racers.map((r) => fmt(r.noise)).join(" / ")}`);
    if (clipped) parts.push(`${t(lang, "clip")}: ${scene.racers.map((r) => (r.clip === null ? "—" : fmt(r.clip))).join(" / ")}`);
    $("caption").textContent = parts.join(" · ");
  }

  /** The racers' colours under the map, for phones, where the map has no room for Plotly's legend. */
  function renderMapKey(scene, runtime) {
    const cat = runtime.catalogue;
    if (!cat) return;
    const items = scene.racers.map((r, i) => [racerColor(i, scene.cb), `${i + 1}. ${racerLabel(r, findInfo(cat.optimizers, r.opt), findInfo(cat.schedules, r.sched))}`]);
    const el = $("map-key");
    const sig = JSON.stringify(items);
    if (el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    fill(el, items.map(([color, label]) => h("span", {}, h("span", { class: "swatch", style: { background: color } }), label)));
  }

  /** The surface's grid could not be loaded: say so on the map, with Retry (not for a 422). */
  function renderMapFailure(scene, runtime) {
    const el = $("map-failure");
    const e = runtime.gridError;
    const sig = e && e.key === gridKey(scene) ? JSON.stringify([e.message, scene.lang]) : "";
    if (el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    el.hidden = !sig;
    fill(el, sig ? failureNote(scene.lang, e.message, e.status === 422 ? null : retryGrid) : null);
  }

  function renderFair(scene) {
    const el = $("fair-caveat");
    const f = scene.fair;
    el.hidden = !f;
    if (!f) return;
    const lang = scene.lang;
    let text = t(lang, "fair_caveat", { trials: f.trials, lo: fmt(f.lo), hi: fmt(f.hi), steps: f.steps, sx: fmt(f.sx), sy: fmt(f.sy), seed: f.seed });
    const lrs = Array.isArray(f.lrs) ? f.lrs : [];
    const notes = scene.racers.map((r, i) => {
      if (lrs[i] === null || lrs[i] === undefined) return `${i + 1}: ${t(lang, "fair_failed")}`;
      if (r.hp.lr !== lrs[i]) return `${i + 1}: ${t(lang, "fair_changed")}`;
      return `${i + 1}: lr = ${fmt(lrs[i])}`;
    });
    const st = startOf(scene, surfaceInfo(scene));
    const stale = f.steps !== scene.steps || f.seed !== scene.seed || st[0] !== f.sx || st[1] !== f.sy;
    text += ` [${notes.join("; ")}]`;
    if (stale) text += ` (${t(lang, "fair_changed")}: ${t(lang, "steps")} / ${t(lang, "start_point")} / seed)`;
    el.textContent = text;
  }

  return { render };
}
