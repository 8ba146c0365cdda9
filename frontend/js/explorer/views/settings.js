// The run panel: start point, step budget, stopping rules, seed, streaming, and the custom
// formula editor (shown when the surface is "custom").

import { fill, h, syncValue } from "../../shared/dom.js";
import { round } from "../../shared/format.js";
import { t } from "../../shared/i18n.js";
import { startOf } from "../spec.js";
import { gridKey, setScene, state, surfaceInfo } from "../state.js";

const num = (value, role, attrs = {}) => h("input", { type: "number", step: "any", value: String(value), dataset: { role }, ...attrs });

export function createSettingsView(root) {
  let signature = null;

  root.addEventListener("change", (ev) => {
    const el = ev.target;
    const role = el.dataset.role;
    const s = state.scene;
    const v = Number(el.value);
    if (role === "sx" || role === "sy") {
      const cur = startOf(s, surfaceInfo(s));
      const next = role === "sx" ? [v, cur[1]] : [cur[0], v];
      if (Number.isFinite(v)) setScene({ start: next, t: 0 });
    } else if (role === "steps" && Number.isFinite(v) && v >= 1) setScene({ steps: Math.round(v), t: 0 });
    else if (role === "stop-grad" && v >= 0) setScene({ stop: [v, s.stop[1]] });
    else if (role === "stop-step" && v >= 0) setScene({ stop: [s.stop[0], v] });
    else if (role === "seed" && Number.isInteger(v) && v >= 0) setScene({ seed: v });
    else if (role === "live") setScene({ live: el.checked, t: 0 });
  });
  root.addEventListener("click", (ev) => {
    const el = ev.target.closest("[data-role]");
    if (!el) return;
    if (el.dataset.role === "reset-start") setScene({ start: null, t: 0 });
    if (el.dataset.role === "apply-expr") applyExpression(root);
  });
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.dataset.role === "expr") applyExpression(root);
  });

  function render() {
    const { scene, runtime } = state;
    if (!runtime.catalogue) return;
    const lang = scene.lang;
    const custom = scene.surface === "custom";
    const sig = JSON.stringify([lang, custom]);
    if (sig !== signature) {
      signature = sig;
      const d = scene.domain || [-3, 3, -3, 3];
      fill(root,
        h("div", { class: "card-head" }, h("h2", {}, t(lang, "settings"))),
        custom
          ? h("div", { class: "sub" },
              h("label", { class: "hint" }, t(lang, "expression")),
              h("input", { type: "text", value: scene.expr || "", dataset: { role: "expr" }, spellcheck: false, placeholder: "sin(x)*cos(y) + 0.1*(x^2 + y^2)", "aria-label": t(lang, "expression") }),
              h("div", { class: "row" }, h("span", { class: "hint" }, t(lang, "domain")),
                ...d.map((v, k) => num(v, `dom${k}`, { style: { width: "54px" }, "aria-label": t(lang, ["x_min", "x_max", "y_min", "y_max"][k]) })),
                h("button", { type: "button", class: "btn", dataset: { role: "apply-expr" } }, t(lang, "apply"))),
              h("div", { class: "error-text", dataset: { role: "grid-error" } }))
          : null,
        h("div", { class: "settings-grid" },
          h("span", {}, t(lang, "start_point")),
          h("div", { class: "pair-inputs" }, num(0, "sx", { "aria-label": t(lang, "start_x") }), num(0, "sy", { "aria-label": t(lang, "start_y") }),
            h("button", { type: "button", class: "icon-btn", title: t(lang, "reset_start"), "aria-label": t(lang, "reset_start"), dataset: { role: "reset-start" } }, h("span", { "aria-hidden": "true" }, "↺"))),
          h("span"), h("span", { class: "hint" }, t(lang, "start_hint")),
          h("span", {}, t(lang, "steps")), num(scene.steps, "steps", { min: 1, max: 10000, "aria-label": t(lang, "steps") }),
          h("span", {}, t(lang, "stop_grad")), num(scene.stop[0], "stop-grad", { min: 0, "aria-label": t(lang, "stop_grad") }),
          h("span", {}, t(lang, "stop_step")), num(scene.stop[1], "stop-step", { min: 0, "aria-label": t(lang, "stop_step") }),
          h("span", {}, t(lang, "seed")), num(scene.seed, "seed", { min: 0, step: 1, "aria-label": t(lang, "seed") })),
        h("label", { class: "toggle" }, h("input", { type: "checkbox", checked: scene.live, dataset: { role: "live" } }), t(lang, "live")),
      );
    }
    const start = startOf(scene, surfaceInfo(scene));
    syncValue(root.querySelector('[data-role="sx"]'), round(start[0], 4));
    syncValue(root.querySelector('[data-role="sy"]'), round(start[1], 4));
    syncValue(root.querySelector('[data-role="steps"]'), scene.steps);
    syncValue(root.querySelector('[data-role="stop-grad"]'), scene.stop[0]);
    syncValue(root.querySelector('[data-role="stop-step"]'), scene.stop[1]);
    syncValue(root.querySelector('[data-role="seed"]'), scene.seed);
    root.querySelector('[data-role="live"]').checked = scene.live;
    const err = root.querySelector('[data-role="grid-error"]');
    const gridError = runtime.gridError && runtime.gridError.key === gridKey(scene) ? runtime.gridError.message : "";
    if (err) err.textContent = gridError;
  }

  return { render };
}

function applyExpression(root) {
  const expr = root.querySelector('[data-role="expr"]').value.trim();
  const d = [0, 1, 2, 3].map((k) => Number(root.querySelector(`[data-role="dom${k}"]`).value));
  if (!d.every(Number.isFinite) || d[0] >= d[1] || d[2] >= d[3]) return;
  setScene({ expr, domain: d, start: null, t: 0 });
}
