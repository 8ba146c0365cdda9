// What both pages' links share: one value in a query string (lists joined by ':', null as
// `null`), and the query that carries only how a page looks to the other page.

/** One value in a query string: numbers, booleans, null, words; lists joined by ":" (a list of
 * one ends in ":", the empty list is ":"). */
export function encodeValue(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return v.length <= 1 ? `${v.map(encodeValue).join("")}:` : v.map(encodeValue).join(":");
  if (typeof v === "boolean") return v ? "true" : "false";
  return String(v);
}

export function decodeValue(s) {
  if (s.includes(":")) return s.split(":").filter((p) => p !== "").map(decodeValue);
  if (s === "null") return null;
  if (s === "true") return true;
  if (s === "false") return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) return Number(s);
  return s;
}

/** The query that carries only how a page looks (language, projector, palette) to the other page. */
export function displayQuery(scene) {
  const p = new URLSearchParams();
  if (scene.lang && scene.lang !== "en") p.set("lang", scene.lang);
  if (scene.proj) p.set("proj", "1");
  if (scene.cb) p.set("cb", "1");
  const query = p.toString();
  return query ? `?${query}` : "";
}
