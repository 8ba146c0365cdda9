// The two classroom dialogs of the top bar. Present: the room's code, its QR code (an SVG the
// server draws: nothing leaves the room's network) and its join link, large enough to read
// from the back of a lecture hall, with the number of students in the room. Join: type a
// room's code. Both are modal <dialog>s: the focus moves in, Escape closes, and the focus
// goes back to the button that opened them.

import { roomCode, roomQuery } from "./classroom.js";
import { fill, h } from "./dom.js";
import { t } from "./i18n.js";

/** A modal dialog that gives the focus back to `opener` when it closes. */
function modal(className, labelId) {
  const dialog = h("dialog", { class: `dialog ${className}`, "aria-labelledby": labelId });
  let opener = null;
  dialog.addEventListener("close", () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  // Tab and Shift+Tab go round the dialog's controls (the browser would leave the page).
  dialog.addEventListener("keydown", (ev) => {
    if (ev.key !== "Tab") return;
    const controls = [...dialog.querySelectorAll("a[href], button:not([disabled]), input")];
    const [first, last] = [controls[0], controls[controls.length - 1]];
    if (!first) return;
    if (ev.shiftKey ? document.activeElement === first : document.activeElement === last) {
      ev.preventDefault();
      (ev.shiftKey ? last : first).focus();
    }
  });
  document.body.append(dialog);
  return {
    dialog,
    show(from) {
      opener = from;
      if (!dialog.open) dialog.showModal();
    },
  };
}

/** Present: `render(room, lang)` keeps the dialog's texts current; `show(opener)` opens it. */
export function createPresentDialog(copyLink) {
  const { dialog, show } = modal("present", "present-title");
  let sig = null;

  function render(room, lang) {
    if (!room || room.role !== "teacher") {
      if (dialog.open) dialog.close();
      return;
    }
    const key = JSON.stringify([room.code, room.joinUrl, room.students, room.link, lang]);
    if (key === sig) return;
    sig = key;
    const spaced = room.code.split("").join(" ");
    const close = h("button", { type: "button", class: "btn", dataset: { role: "present-close" }, onclick: () => dialog.close() }, t(lang, "close"));
    fill(dialog,
      h("h2", { id: "present-title" }, t(lang, "room_title")),
      h("div", { class: "present-body" },
        h("div", { class: "present-text" },
          h("p", { class: "present-lead" }, t(lang, "room_open")),
          h("p", { class: "present-url" }, h("a", { href: room.joinUrl, target: "_blank", rel: "noopener" }, room.joinUrl)),
          h("p", { class: "present-lead" }, t(lang, "room_code")),
          h("p", { class: "present-code", "aria-label": `${t(lang, "room_code")}: ${spaced}` }, room.code),
          h("p", { class: "present-students", dataset: { role: "students" } }, t(lang, "room_students", { n: room.students ?? 0 }))),
        h("img", { class: "present-qr", src: `/api/rooms/${encodeURIComponent(room.code)}/qr.svg`, alt: t(lang, "room_qr"), width: 320, height: 320 })),
      h("div", { class: "row" },
        h("button", { type: "button", class: "btn", dataset: { role: "present-copy" }, onclick: () => copyLink(room.joinUrl) }, t(lang, "room_copy")),
        close));
    if (dialog.open && !dialog.contains(document.activeElement)) close.focus();
  }

  return {
    render,
    show(opener) {
      show(opener);
      const close = dialog.querySelector('[data-role="present-close"]');
      if (close) close.focus();
    },
  };
}

/** Join: a field for the code; a valid one opens this page in the room (`?room=CODE`). */
export function createJoinDialog() {
  const { dialog, show } = modal("join", "join-title");

  function open(opener, lang, scene) {
    const input = h("input", { type: "text", id: "join-code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxLength: 8, dataset: { role: "join-code" } });
    const error = h("p", { class: "error-text", id: "join-error", role: "alert", hidden: true });
    const submit = (ev) => {
      ev.preventDefault();
      const code = roomCode(input.value);
      if (code) {
        location.assign(`${location.pathname}?${roomQuery(code, scene)}`);
        return;
      }
      error.hidden = false;
      error.textContent = t(lang, "join_bad");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "join-error");
      input.focus();
    };
    fill(dialog,
      h("h2", { id: "join-title" }, t(lang, "join_title")),
      h("form", { class: "join-form", onsubmit: submit },
        h("label", { for: "join-code" }, t(lang, "join_code")),
        input,
        error,
        h("div", { class: "row" },
          h("button", { type: "submit", class: "btn primary", dataset: { role: "join-go" } }, t(lang, "join_go")),
          h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, t(lang, "close")))));
    show(opener);
    input.focus();
  }

  return { open };
}
