// Errors shown where they happen: a note in the place that could not be filled (a map, a
// card, a panel) saying what failed in the server's words, with a Retry button; and, when
// the page itself cannot start (catalogues, the plotting library), a panel over the page.

import { h } from "./dom.js";
import { t } from "./i18n.js";

/** A note for the place that failed: "Error: …" and Retry (`retry` null: no button). */
export function failureNote(lang, message, retry = null) {
  return h("div", { class: "failure", role: "alert" },
    h("span", {}, `${t(lang, "error")}: ${message}`),
    retry ? h("button", { type: "button", class: "btn small", dataset: { role: "retry" }, onclick: retry }, t(lang, "retry")) : null);
}

/**
 * The page could not start: a panel over it with the reason and Retry (which calls
 * `retry` and closes the panel); calling the returned function closes it too.
 */
export function pageFailure(lang, what, message, retry) {
  const panel = h("div", { class: "page-failure", role: "alertdialog", "aria-live": "assertive", "aria-label": t(lang, what) },
    h("h2", {}, t(lang, what)),
    h("p", {}, message),
    h("button", { type: "button", class: "btn primary", onclick: () => { close(); retry(); } }, t(lang, "retry")));
  const close = () => panel.remove();
  document.body.append(panel);
  panel.querySelector("button").focus();
  return close;
}
