// "Compare runs": the runs of this page session, ticked for comparison; their paths on one
// shared plane (POST /api/landscapes/compare) and the loss on the line between two runs'
// final weights (POST /api/landscapes/interpolate). The server says why runs don't fit.

import { fill, h } from "../shared/dom.js";
import { fmt } from "../shared/format.js";
import { statusWord, t } from "../shared/i18n.js";
import { racerColor } from "../shared/palette.js";
import { theme } from "../shared/plots.js";
import { compareRuns, interpolateRuns } from "./api.js";
import { valueSelect } from "./landview.js";
import { drawComparison } from "./plots/compare.js";
import { drawInterpolation } from "./plots/interpolation.js";
import { hasAccuracy } from "./plots/landscape.js";
import { setRuntime, state } from "./state.js";

const COMPARE = { resolution: 31, span: 1.0, eval_samples: 500 };
const BETWEEN = { points: 41, eval_samples: 1000 };

function setBusy(name, on) {
  setRuntime({ busy: { ...state.runtime.busy, [name]: on } });
}

async function compare() {
  const ids = state.runtime.selected;
  setBusy("compare", true);
  try {
    const data = await compareRuns({ runs: ids, ...COMPARE });
    setRuntime({ comparison: { data, ids } });
  } catch (err) {
    setRuntime({ comparison: { error: err.message } });
  } finally {
    setBusy("compare", false);
  }
}

async function between() {
  const [from, to] = state.runtime.selected;
  setBusy("between", true);
  try {
    const data = await interpolateRuns({ from, to, ...BETWEEN });
    setRuntime({ between: { data, from, to } });
  } catch (err) {
    setRuntime({ between: { error: err.message } });
  } finally {
    setBusy("between", false);
  }
}

export function createCompareView() {
  const $ = (id) => document.getElementById(id);
  const list = $("compare-list");
  let drawnList = null;
  let drawnCompare = null; // [result, theme] last drawn
  let drawnBetween = null;
  const stale = (drawn, result, themeKey) => !drawn || drawn[0] !== result || drawn[1] !== themeKey;

  list.addEventListener("change", (ev) => {
    if (ev.target.dataset.role === "ls-value") return setRuntime({ landscapeValue: ev.target.value });
    const id = ev.target.dataset.run;
    if (!id) return;
    const selected = state.runtime.selected.filter((s) => s !== id);
    setRuntime({ selected: ev.target.checked ? [...selected, id] : selected });
  });
  list.addEventListener("click", (ev) => {
    const role = ev.target.dataset.role;
    if (role === "compare") compare();
    else if (role === "between") between();
  });

  const colorOf = (id, cb) => racerColor(state.runtime.runs.findIndex((r) => r.id === id), cb);
  /** "#2 Adam(lr=0.01)": the run's place in the list and its optimizer. */
  const shortLabel = (id) => {
    const i = state.runtime.runs.findIndex((r) => r.id === id);
    return i < 0 ? id : `#${i + 1} ${state.runtime.runs[i].label.split(" · ")[0]}`;
  };

  function renderList(lang, cb) {
    const { runs, selected, busy, comparison, between: btw } = state.runtime;
    if (!runs.length) return fill(list, h("p", { class: "hint" }, t(lang, "compare_none")));
    fill(list,
      h("p", { class: "hint" }, t(lang, "compare_hint")),
      h("ul", { class: "run-list" }, runs.map((r) => h("li", {},
        h("label", { class: "toggle" },
          h("input", { type: "checkbox", checked: selected.includes(r.id), dataset: { run: r.id } }),
          h("span", { class: "swatch", style: { background: colorOf(r.id, cb) } }),
          h("span", { class: "run-label" }, `#${runs.indexOf(r) + 1} ${r.label}`)),
        h("span", { class: "hint" }, ` ${statusWord(lang, r.status)}${r.summary && r.summary.test_accuracy !== null ? ` · ${t(lang, "split_test")} ${fmt(100 * r.summary.test_accuracy, 3)}%` : ""}`)))),
      h("div", { class: "row" },
        h("button", { type: "button", class: "btn primary", dataset: { role: "compare" }, disabled: selected.length < 2 || selected.length > 6 || busy.compare }, busy.compare ? t(lang, "computing") : t(lang, "compare_paths")),
        h("button", { type: "button", class: "btn", dataset: { role: "between" }, disabled: selected.length !== 2 || busy.between, title: t(lang, "compare_pick") }, busy.between ? t(lang, "computing") : t(lang, "interpolate_two"))),
      comparison && comparison.data && hasAccuracy(comparison.data) ? valueSelect(lang, state.runtime.landscapeValue) : null,
      comparison && comparison.error ? h("p", { class: "error-text", dataset: { role: "compare-error" } }, comparison.error) : null,
      btw && btw.error ? h("p", { class: "error-text", dataset: { role: "between-error" } }, btw.error) : null);
  }

  function render() {
    const { scene, runtime } = state;
    const { lang, cb } = scene;
    const th = theme(scene);
    const value = runtime.landscapeValue;
    const key = JSON.stringify([runtime.runs.map((r) => r.id), runtime.selected, runtime.busy.compare, runtime.busy.between, runtime.comparison && runtime.comparison.error, Boolean(runtime.comparison && runtime.comparison.data), runtime.between && runtime.between.error, lang, cb, value]);
    if (key !== drawnList) {
      drawnList = key;
      renderList(lang, cb);
    }
    if (runtime.tab !== "compare") return;
    const themeKey = `${lang}|${cb}|${th.proj}`;
    const c = runtime.comparison;
    const compareKey = `${themeKey}|${value}`;
    $("compare-plot").hidden = !(c && c.data);
    if (c && c.data && stale(drawnCompare, c, compareKey)) {
      const runs = c.data.runs.map((r) => ({ label: shortLabel(r.id), color: colorOf(r.id, cb) }));
      drawComparison($("compare-plot"), c.data, runs, th, lang, value);
      drawnCompare = [c, compareKey];
    }
    const b = runtime.between;
    $("between-plot").hidden = !(b && b.data);
    if (b && b.data && stale(drawnBetween, b, themeKey)) {
      drawInterpolation($("between-plot"), b.data, th, lang, [shortLabel(b.from).split(" ")[0], shortLabel(b.to).split(" ")[0]]);
      drawnBetween = [b, themeKey];
    }
  }

  return { render };
}
