// Polls in a classroom room: the teacher's form (a question, options one per line: by
// default the page's racers), the students' choices, and the tally as a bar chart (one row
// per option, its count and share written out, so a screen reader reads the chart as a list).

import { h } from "./dom.js";
import { t } from "./i18n.js";

// the server's defaults (DESCENT_ROOM_MAX_POLL_OPTIONS, DESCENT_ROOM_MAX_TEXT), until its
// GET /api/limits has answered
export const MAX_OPTIONS = 12;
export const MAX_TEXT = 200; // characters of a question or an option

/** The tally of `options` as bars; `label` names the chart. */
export function tallyChart(lang, options, counts, label) {
  const total = counts.reduce((a, b) => a + b, 0);
  const most = Math.max(1, ...counts);
  return h("figure", { class: "tally", "aria-label": label },
    h("ol", {}, options.map((option, i) => {
      const n = counts[i] || 0;
      const pct = total ? Math.round((100 * n) / total) : 0;
      return h("li", { dataset: { option: i } },
        h("span", { class: "tally-label" }, option),
        h("span", { class: "tally-track", "aria-hidden": "true" }, h("span", { class: "tally-bar", style: { width: `${(100 * n) / most}%` } })),
        h("span", { class: "tally-count" }, t(lang, "poll_count", { n, pct })));
    })),
    h("figcaption", { class: "hint" }, t(lang, "poll_votes", { n: total })));
}

/** The form a teacher asks with: `ask(question, options)` on submit (false: not sent);
 * `limits`: the server's `{maxOptions, maxText}`, or null while not known. */
export function pollForm(lang, { question, options }, { ask, cancel }, limits) {
  const most = limits?.maxOptions ?? MAX_OPTIONS;
  const longest = limits?.maxText ?? MAX_TEXT;
  const error = h("p", { class: "error-text", role: "alert", hidden: true });
  const questionInput = h("input", { type: "text", value: question, maxLength: longest, dataset: { role: "poll-question" }, "aria-label": t(lang, "poll_question") });
  const optionsInput = h("textarea", { rows: Math.min(most, Math.max(3, options.length)), dataset: { role: "poll-options" }, "aria-label": t(lang, "poll_options") });
  optionsInput.value = options.join("\n");
  const submit = (ev) => {
    ev.preventDefault();
    const q = questionInput.value.trim().slice(0, longest);
    const opts = optionsInput.value.split("\n").map((s) => s.trim().slice(0, longest)).filter(Boolean);
    const problem = !q || opts.length < 2 ? "poll_need_two" : opts.length > most ? "poll_too_many" : null;
    if (!problem && ask(q, opts)) return;
    error.hidden = false;
    error.textContent = t(lang, problem || "poll_not_sent", { max: most });
  };
  return h("form", { class: "poll-form", onsubmit: submit },
    h("label", { class: "poll-field" }, h("span", {}, t(lang, "poll_question")), questionInput),
    h("label", { class: "poll-field" }, h("span", {}, t(lang, "poll_options")), optionsInput),
    error,
    h("div", { class: "row" },
      h("button", { type: "submit", class: "btn primary", dataset: { role: "poll-send" } }, t(lang, "poll_send")),
      h("button", { type: "button", class: "btn", dataset: { role: "poll-cancel" }, onclick: cancel }, t(lang, "poll_cancel"))));
}

/** The open poll on the teacher's page: the question, the live tally, Reveal and New poll. */
export function teacherPoll(lang, room, { reveal, again }) {
  const { poll, tally } = room;
  return h("div", { class: "poll" },
    h("p", { class: "poll-question" }, poll.question),
    tallyChart(lang, poll.options, tally || [], t(lang, "poll_tally")),
    h("div", { class: "row" },
      h("button", { type: "button", class: "btn primary", dataset: { role: "poll-reveal" }, disabled: room.revealed, onclick: reveal },
        t(lang, room.revealed ? "poll_revealed" : "poll_reveal")),
      h("button", { type: "button", class: "btn", dataset: { role: "poll-new" }, onclick: again }, t(lang, "poll_new"))));
}

/** The open poll on a student's page: a button per option (the chosen one pressed), then the tally once revealed. */
export function studentPoll(lang, room, vote) {
  const { poll, tally } = room;
  const chosen = room.vote;
  if (tally) {
    return h("div", { class: "poll" },
      h("p", { class: "poll-question" }, poll.question),
      tallyChart(lang, poll.options, tally, t(lang, "poll_tally")),
      chosen !== null && chosen !== undefined ? h("p", { class: "hint", dataset: { role: "my-vote" } }, t(lang, "poll_you_voted", { option: poll.options[chosen] })) : null);
  }
  return h("div", { class: "poll", role: "group", "aria-label": poll.question },
    h("p", { class: "poll-question" }, poll.question),
    h("div", { class: "poll-options" }, poll.options.map((option, i) =>
      h("button", { type: "button", class: "btn poll-option", "aria-pressed": String(chosen === i), dataset: { vote: i }, onclick: () => vote(i) }, option))),
    h("p", { class: "hint", dataset: { role: "my-vote" } }, chosen === null || chosen === undefined ? t(lang, "poll_vote_hint") : t(lang, "poll_your_vote", { option: poll.options[chosen] })));
}
