// Numbers as the pages show and send them: compact, as torch writes hyperparameters, and
// rounded to 6 significant digits. Pure functions.

/** Round to 6 significant digits (values that travel in URLs and requests). */
export function round(v, digits = 6) {
  if (v === 0 || !Number.isFinite(v)) return v;
  return Number(v.toPrecision(digits));
}

/** Compact number: 0.02, 1.5e-8, 2.4e+4; '—' for null / non-finite. */
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  let s;
  if (a >= 1e5 || a < 1e-3) {
    s = v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e").replace("e+", "e");
  } else {
    s = String(Number(v.toPrecision(digits)));
  }
  return s.replace("-", "−");
}

/** A hyperparameter value as a person writes it (pairs in parentheses). */
export function fmtValue(v) {
  if (Array.isArray(v)) return `(${v.map((x) => (x === null ? "None" : fmt(x, 4))).join(", ")})`;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (v === null) return "None";
  if (typeof v === "number") return fmt(v, 4);
  return String(v);
}
