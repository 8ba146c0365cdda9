// The right-hand panel: tabs for the 3D view, the basin map and the regime map, with the
// controls of each map and a note that states what was computed.

import { h, options } from "../../shared/dom.js";
import { failureNote } from "../../shared/failure.js";
import { fmt } from "../../shared/format.js";
import { findInfo } from "../../shared/hyper.js";
import { t } from "../../shared/i18n.js";
import { createTabs } from "../../shared/tabs.js";
import { basinColor, palette } from "../../shared/palette.js";
import { computeBasins, computeRegime } from "../analysis.js";
import { BASIN_SIZES } from "../codec.js";
import { setScene, state, surfaceInfo } from "../state.js";
import { sweepableParams, sweepRange, sweepValue } from "../sweep.js";

export function createPanels(root) {
  const renderTabs = createTabs(root.querySelector('[role="tablist"]'), [...root.querySelectorAll("[data-body]")], (panel) => setScene({ panel }));
  const basinsControls = root.querySelector("#basins-controls");
  const regimeControls = root.querySelector("#regime-controls");
  const basinsNote = root.querySelector("#basins-note");
  const regimeNote = root.querySelector("#regime-note");
  let basinsSig = null;
  let regimeSig = null;

  basinsControls.addEventListener("change", (ev) => {
    const role = ev.target.dataset.role;
    const b = state.scene.basins;
    if (role === "racer") setScene({ basins: { ...b, racer: Number(ev.target.value) } });
    if (role === "n") setScene({ basins: { ...b, n: Number(ev.target.value) } });
  });
  basinsControls.addEventListener("click", (ev) => {
    if (ev.target.dataset.role === "compute") computeBasins(true);
  });

  regimeControls.addEventListener("change", (ev) => {
    const role = ev.target.dataset.role;
    const s = state.scene;
    const g = { ...s.regime };
    const v = ev.target.value;
    const info = () => findInfo(state.runtime.catalogue.optimizers, s.racers[Math.min(g.racer, s.racers.length - 1)].opt);
    const rangeFor = (axis, param) => {
      const racer = s.racers[Math.min(g.racer, s.racers.length - 1)];
      const r = sweepRange(info(), param, sweepValue(racer, info(), param));
      g[`${axis}0`] = r.lo;
      g[`${axis}1`] = r.hi;
      g[`${axis}log`] = r.log;
    };
    if (role === "racer") {
      g.racer = Number(v);
      const params = sweepableParams(info());
      if (!params.includes(g.x)) { g.x = params[0] || "lr"; rangeFor("x", g.x); }
      if (g.y && !params.includes(g.y)) { g.y = params.find((p) => p !== g.x) || null; if (g.y) rangeFor("y", g.y); }
    } else if (role === "x") { g.x = v; rangeFor("x", v); }
    else if (role === "y") { g.y = v || null; if (g.y) rangeFor("y", v); }
    else if (role === "metric") g.metric = v;
    else if (["x0", "x1", "y0", "y1"].includes(role)) { const n = Number(v); if (Number.isFinite(n)) g[role] = n; }
    else if (role === "xlog" || role === "ylog") g[role] = ev.target.checked;
    setScene({ regime: g });
  });
  regimeControls.addEventListener("click", (ev) => {
    if (ev.target.dataset.role === "compute") computeRegime(true);
  });

  function racerItems(scene, cat) {
    return scene.racers.map((r, i) => ({ value: String(i), label: `${i + 1}. ${findInfo(cat.optimizers, r.opt)?.name || r.opt}${r.hp.momentum ? ` μ=${r.hp.momentum}` : ""}${r.hp.lr !== undefined ? ` lr=${r.hp.lr}` : ""}` }));
  }

  function renderBasins(scene, runtime) {
    const lang = scene.lang;
    const cat = runtime.catalogue;
    const sig = JSON.stringify([lang]);
    if (sig !== basinsSig) {
      basinsSig = sig;
      const n = h("select", { dataset: { role: "n" } });
      options(n, BASIN_SIZES.map((v) => ({ value: String(v), label: `${v}×${v}` })));
      basinsControls.replaceChildren(
        h("label", { class: "field" }, t(lang, "basins_optimizer"), h("select", { dataset: { role: "racer" } })),
        h("label", { class: "field" }, t(lang, "basins_grid"), n),
        h("button", { type: "button", class: "btn", dataset: { role: "compute" } }, t(lang, "basins_compute")),
      );
    }
    options(basinsControls.querySelector('[data-role="racer"]'), racerItems(scene, cat), Math.min(scene.basins.racer, scene.racers.length - 1));
    options(basinsControls.querySelector('[data-role="n"]'), BASIN_SIZES.map((v) => ({ value: String(v), label: `${v}×${v}` })), scene.basins.n);
    const b = runtime.basins;
    const busy = Boolean(runtime.busy.basins);
    basinsControls.querySelector('[data-role="compute"]').classList.toggle("busy", busy);
    const surface = surfaceInfo(scene);
    const minima = (surface && surface.minima) || [];
    const legend = [
      ...minima.map((m, i) => h("span", {}, h("span", { class: "swatch", style: { background: basinColor(i, scene.cb) } }), `${i + 1}: (${fmt(m.x)}, ${fmt(m.y)})`)),
      h("span", {}, h("span", { class: "swatch", style: { background: palette(scene.cb).basinNone } }), t(lang, "basins_legend_none")),
      h("span", {}, h("span", { class: "swatch", style: { background: palette(scene.cb).basinDiverged } }), t(lang, "basins_legend_diverged")),
    ];
    const note = b && b.error ? [failureNote(lang, b.error, () => computeBasins(true))] : [b ? t(lang, "basins_note", { steps: b.steps, n: b.n }) : t(lang, "computing")];
    if (!minima.length) note.push(" ", t(lang, "basins_no_minima"));
    basinsNote.replaceChildren(h("div", { class: "legend-row" }, legend), ...note);
  }

  function renderRegime(scene, runtime) {
    const lang = scene.lang;
    const cat = runtime.catalogue;
    const g = scene.regime;
    const racer = scene.racers[Math.min(g.racer, scene.racers.length - 1)];
    const info = findInfo(cat.optimizers, racer.opt);
    const params = sweepableParams(info);
    const sig = JSON.stringify([lang, params]);
    if (sig !== regimeSig) {
      regimeSig = sig;
      const numIn = (role) => h("input", { type: "number", step: "any", dataset: { role }, "aria-label": t(lang, `regime_${role}`) });
      regimeControls.replaceChildren(
        h("label", { class: "field" }, t(lang, "basins_optimizer"), h("select", { dataset: { role: "racer" } })),
        h("label", { class: "field" }, t(lang, "regime_metric"), h("select", { dataset: { role: "metric" } })),
        h("button", { type: "button", class: "btn", dataset: { role: "compute" } }, t(lang, "regime_compute")),
        h("div", { class: "row axis-row" }, "x", h("select", { dataset: { role: "x" }, "aria-label": t(lang, "regime_x") }), numIn("x0"), "…", numIn("x1"),
          h("label", { class: "toggle" }, h("input", { type: "checkbox", dataset: { role: "xlog" } }), t(lang, "regime_log"))),
        h("div", { class: "row axis-row" }, "y", h("select", { dataset: { role: "y" }, "aria-label": t(lang, "regime_y") }), numIn("y0"), "…", numIn("y1"),
          h("label", { class: "toggle" }, h("input", { type: "checkbox", dataset: { role: "ylog" } }), t(lang, "regime_log"))),
      );
    }
    const q = (role) => regimeControls.querySelector(`[data-role="${role}"]`);
    options(q("racer"), racerItems(scene, cat), Math.min(g.racer, scene.racers.length - 1));
    options(q("x"), params.map((p) => ({ value: p, label: p })), g.x);
    options(q("y"), [{ value: "", label: t(lang, "regime_none") }, ...params.map((p) => ({ value: p, label: p }))], g.y || "");
    options(q("metric"), [["loss", "metric_loss"], ["steps", "metric_steps"], ["status", "metric_status"]].map(([v, k]) => ({ value: v, label: t(lang, k) })), g.metric);
    for (const role of ["x0", "x1", "y0", "y1"]) {
      const el = q(role);
      if (document.activeElement !== el) el.value = String(g[role]);
      el.disabled = role.startsWith("y") && !g.y;
    }
    q("xlog").checked = g.xlog;
    q("ylog").checked = g.ylog;
    q("ylog").disabled = !g.y;
    q("compute").classList.toggle("busy", Boolean(runtime.busy.regime));
    const r = runtime.regime;
    const start = surfaceInfo(scene)?.start || [0, 0];
    const s0 = scene.start || start;
    let note;
    if (racer.opt === "lbfgs") note = h("span", { class: "error-text" }, t(lang, "regime_lbfgs"));
    else if (r && r.error) note = failureNote(lang, r.error, () => computeRegime(true));
    else if (r) note = t(lang, "regime_note", { nx: r.x.length, ny: r.y ? r.y.length : 1, opt: info ? info.name : racer.opt, sx: fmt(s0[0]), sy: fmt(s0[1]), steps: scene.steps });
    else note = t(lang, "computing");
    regimeNote.replaceChildren(note);
  }

  function render() {
    const { scene, runtime } = state;
    if (!runtime.catalogue) return;
    renderTabs(scene.panel);
    if (scene.panel === "basins") renderBasins(scene, runtime);
    if (scene.panel === "regime") renderRegime(scene, runtime);
    root.querySelector("#webgl-notice").hidden = runtime.webgl;
  }

  return { render };
}
