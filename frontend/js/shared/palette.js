// Colours. Racers get qualitative colours; basins get light tints; the contour a quiet ramp
// so that coloured paths stand out on it.

// Vivid, distinct on a light map (Tableau 10 order, reordered for contrast).
const VIVID = ["#e4572e", "#2e86de", "#17a34a", "#a855f7", "#f59e0b", "#0891b2", "#db2777", "#57534e"];

// Okabe & Ito (2008): distinguishable with the common forms of colour blindness.
const OKABE_ITO = ["#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"];

/** The colour of racer `index` in the chosen palette. */
export function racerColor(index, colorBlind) {
  const list = colorBlind ? OKABE_ITO : VIVID;
  return list[index % list.length];
}

// Basins: one tint per minimum; divergence is dark, "stopped elsewhere" light grey.
const BASIN_VIVID = ["#fca5a5", "#93c5fd", "#86efac", "#fde68a", "#d8b4fe", "#99f6e4", "#fdba74", "#f9a8d4"];
const BASIN_OKABE = ["#f0a67a", "#7fb8de", "#7fd1b9", "#e6b8d3", "#f2cf7f", "#aad9f3", "#f7f19e", "#bdbdbd"];
export const BASIN_DIVERGED = "#334155";
export const BASIN_NONE = "#e5e7eb";

/** The tint for basin `index` (the index into the surface's minima). */
export function basinColor(index, colorBlind) {
  const list = colorBlind ? BASIN_OKABE : BASIN_VIVID;
  return list[index % list.length];
}

/** Contour colour ramp: light at the minimum, darker uphill (cividis for the safe palette). */
export function contourScale(colorBlind, projector) {
  if (colorBlind) return "Cividis";
  if (projector) {
    return [[0, "#ffffff"], [0.35, "#dbe4f0"], [0.7, "#8ea3c2"], [1, "#3b4d6b"]];
  }
  return [[0, "#f8fafc"], [0.3, "#e2e8f0"], [0.65, "#b6c3d6"], [1, "#64748b"]];
}

/** Regime maps: a sequential ramp, and light grey for cells that diverged. */
export const REGIME_SCALE = "Viridis";
export const REGIME_GAP = "#d9dde3";
