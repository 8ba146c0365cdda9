// Every colour the plots use, in two palettes: the vivid one and the colour-blind safe one
// (Okabe & Ito 2008 hues, which stay apart under the common forms of colour blindness; no
// pair that differs only as red from green). Racers get qualitative colours, basins light
// tints, surfaces a quiet ramp that is light at the minimum, so that the paths stand out
// exactly where runs converge. Views and plots take colours from here and nowhere else.

// Vivid, distinct on a light map (Tableau 10 order, reordered for contrast).
const VIVID_SERIES = ["#e4572e", "#2e86de", "#17a34a", "#a855f7", "#f59e0b", "#0891b2", "#db2777", "#57534e"];
// Okabe–Ito, their yellow last: it is the faintest on a light map.
const SAFE_SERIES = ["#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442"];

const BASIN_VIVID = ["#fca5a5", "#93c5fd", "#86efac", "#fde68a", "#d8b4fe", "#99f6e4", "#fdba74", "#f9a8d4"];
const BASIN_SAFE = ["#f0a67a", "#7fb8de", "#7fd1b9", "#e6b8d3", "#f2cf7f", "#aad9f3", "#bdbdbd", "#f7f19e"];

/** The named colours of one palette (`colorBlind`) in one display mode (`projector`). */
export function palette(colorBlind, projector = false) {
  const safe = Boolean(colorBlind);
  return {
    // the page's greys
    paper: "#ffffff",
    ink: projector ? "#000000" : "#111827",
    text: projector ? "#000000" : "#1f2937",
    muted: "#6b7280",
    grid: projector ? "#9ca3af" : "#e5e7eb",
    axis: projector ? "#111827" : "#6b7280",
    contourLine: projector ? "rgba(0,0,0,0.55)" : "rgba(30,41,59,0.30)",
    rule: "rgba(17,24,39,0.45)", // the playhead's rule on the side plots
    veil: "rgba(255,255,255,0.82)", // behind legends and labels drawn over data
    veilLine: "rgba(0,0,0,0.12)",
    clear: "rgba(0,0,0,0)",
    // marks on the surfaces
    minimum: safe ? "#f0e442" : "#facc15", // stars, outlined in ink
    surface: contourScale(safe, projector),
    // the focused racer's overlays: −∇L in ink, first moment, per-axis step, Hessian axes
    momentum: safe ? "#882255" : "#7c3aed",
    effective: safe ? "#117733" : "#0f766e",
    effectiveFill: safe ? "rgba(17,119,51,0.12)" : "rgba(15,118,110,0.12)",
    curvingUp: safe ? "#0072b2" : "#15803d",
    curvingDown: safe ? "#d55e00" : "#b91c1c", // also dashed: not told by colour alone
    // basin and regime maps
    basinDiverged: "#334155",
    basinNone: "#e5e7eb",
    regimeGap: "#d9dde3", // cells without a value (diverged)
    regimeFinished: safe ? "#e69f00" : "#93c5fd",
    regimeConverged: safe ? "#0072b2" : "#22c55e",
    regimeLoss: [[0, "#fde725"], [0.5, "#21918c"], [1, "#440154"]], // bright = low loss
    regimeSteps: "Viridis",
    current: safe ? "#000000" : "#ef4444", // the racer's own cell on the regime map
    // network runs: curves and the marks where a run ended
    batch: "rgba(100,116,139,0.45)",
    train: safe ? "#0072b2" : "#2563eb",
    val: safe ? "#d55e00" : "#e4572e",
    gradNorm: safe ? "#cc79a7" : "#9333ea",
    accuracy: safe ? "#009e73" : "#17a34a",
    slice: safe ? "#e69f00" : "#f59e0b",
    residual: "rgba(100,116,139,0.35)",
    best: safe ? "#009e73" : "#15803d",
    stopped: safe ? "#e69f00" : "#b45309",
    diverged: safe ? "#d55e00" : "#b91c1c",
    converged: safe ? "#0072b2" : "#1d4ed8",
    boundaryMiddle: "rgba(255,255,255,0.6)",
    values: "Viridis", // a regression's target values
  };
}

/** The colour of racer (or class, or compared run) `index` in the chosen palette. */
export function racerColor(index, colorBlind) {
  const list = colorBlind ? SAFE_SERIES : VIVID_SERIES;
  return list[index % list.length];
}

/** The tint for basin `index` (the index into the surface's minima). */
export function basinColor(index, colorBlind) {
  const list = colorBlind ? BASIN_SAFE : BASIN_VIVID;
  return list[index % list.length];
}

/** "#rrggbb" → "rgba(r,g,b,alpha)": a see-through tint of a palette colour. */
export function tint(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/**
 * The surfaces' colour ramp, light at the minimum and darker uphill: slate greys, or for the
 * safe palette a cream-to-slate-blue ramp (cividis's hues, turned so the low end is light).
 */
function contourScale(colorBlind, projector) {
  if (colorBlind) {
    return projector
      ? [[0, "#fffdf0"], [0.35, "#ece3bd"], [0.7, "#a3a28f"], [1, "#3f4a66"]]
      : [[0, "#fcfbf2"], [0.3, "#f0e9c8"], [0.65, "#c2bea4"], [1, "#6b7088"]];
  }
  if (projector) return [[0, "#ffffff"], [0.35, "#dbe4f0"], [0.7, "#8ea3c2"], [1, "#3b4d6b"]];
  return [[0, "#f8fafc"], [0.3, "#e2e8f0"], [0.65, "#b6c3d6"], [1, "#64748b"]];
}
