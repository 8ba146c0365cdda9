// The classroom on a page: the top bar's Present and Join buttons, and the room bar under the
// top bar. The teacher's bar: the room's code, how many students, Show code, Poll (the form,
// then the live tally with Reveal), End room. A student's bar: whom it follows, Explore
// on my own / Follow again, the poll to vote in and, once revealed, its tally. While a student
// follows, every control marked `data-room-lock` is inert (the scene is the teacher's) and the
// body has the class `following`.

import { fill, h, keepFocus } from "./dom.js";
import { t } from "./i18n.js";
import { pollForm, studentPoll, teacherPoll } from "./poll.js";
import { createJoinDialog, createPresentDialog } from "./present.js";

/**
 * `classroom`: createClassroom's handle; `state`: the page's store state; `pollDefaults()`:
 * `{question, options}` for a new poll in the page's language; `toast(text)`.
 * Returns `render()` (call it with the page's other views).
 */
export function createRoomBar({ classroom, state, pollDefaults, toast }) {
  const $ = (id) => document.getElementById(id);
  const bar = $("room-bar");
  const presentBtn = $("present-btn");
  let composing = false; // the teacher is writing a poll
  let form = null; // that poll's form, kept across renders (what was typed stays)
  let heard = null; // the student's poll and reveal last announced
  let sig = null;

  const copyLink = async (url) => {
    try {
      await navigator.clipboard.writeText(url);
      toast(t(state.scene.lang, "room_link_copied"));
    } catch {
      toast(`${t(state.scene.lang, "link_shown")} ${url}`);
    }
  };
  const present = createPresentDialog(copyLink);
  const join = createJoinDialog();

  presentBtn.addEventListener("click", async () => {
    try {
      await classroom.present();
      present.render(state.runtime.room, state.scene.lang);
      present.show(presentBtn);
    } catch (err) {
      toast(t(state.scene.lang, "present_failed", { message: err.message }));
    }
  });
  $("join-btn").addEventListener("click", (ev) => join.open(ev.currentTarget, state.scene.lang, state.scene));

  const button = (role, label, onclick, primary = false) =>
    h("button", { type: "button", class: primary ? "btn primary" : "btn", dataset: { role }, onclick }, label);

  function linkNote(lang, room) {
    if (room.notice) return h("span", { class: "error-text", role: "alert" }, t(lang, "room_refused", { message: room.notice }));
    if (room.link === "reconnecting") return h("span", { class: "hint" }, t(lang, "reconnecting"));
    if (room.link !== "lost") return null;
    const why = { 4403: "room_wrong_key", 4404: "room_gone", 4410: "room_ended", 4429: "room_full" }[room.lost] || "stream_lost";
    return h("span", { class: "error-text", role: "alert" }, t(lang, why, { code: room.code }));
  }

  function teacherBar(lang, room) {
    const again = () => {
      composing = true;
      sig = null;
      render();
      bar.querySelector('[data-role="poll-question"]').focus();
    };
    const stop = () => {
      composing = false;
      form = null;
      sig = null;
      render();
    };
    let poll = null;
    if (composing) {
      if (!form || form.dataset.lang !== lang) {
        form = pollForm(lang, pollDefaults(), {
          ask: (question, options) => {
            if (!classroom.ask(question, options)) return false;
            stop();
            bar.querySelector('[data-role="poll-reveal"]').focus();
            return true;
          },
          cancel: () => {
            stop();
            bar.querySelector('[data-role="room-poll"]').focus();
          },
        }, room.limits);
        form.dataset.lang = lang;
      }
      poll = form;
    } else if (room.poll) {
      poll = teacherPoll(lang, room, { reveal: () => classroom.reveal(), again });
    }
    return [
      h("div", { class: "room-head" },
        h("strong", {}, t(lang, "room_presenting", { code: room.code })),
        h("span", { class: "hint", dataset: { role: "students" } }, t(lang, "room_students", { n: room.students ?? 0 })),
        linkNote(lang, room),
        h("span", { class: "spacer" }),
        button("room-show", t(lang, "room_show_code"), (ev) => present.show(ev.currentTarget)),
        composing || room.poll ? null : button("room-poll", t(lang, "poll_ask"), again),
        button("room-end", t(lang, "room_end"), () => classroom.leave())),
      poll,
    ];
  }

  function studentBar(lang, room) {
    const following = room.following;
    const lost = room.link === "lost";
    return [
      h("div", { class: "room-head" },
        h("strong", {}, t(lang, following ? "room_following" : "room_detached", { code: room.code })),
        following ? h("span", { class: "hint" }, t(lang, "room_read_only")) : null,
        linkNote(lang, room),
        h("span", { class: "spacer" }),
        lost ? null : following
          ? button("room-detach", t(lang, "room_explore"), () => classroom.detach())
          : button("room-follow", t(lang, "room_follow"), () => classroom.followAgain(), true),
        button("room-leave", t(lang, "room_leave"), () => classroom.leave())),
      room.poll && !lost ? studentPoll(lang, room, (i) => classroom.vote(i)) : null,
    ];
  }

  /** A student hears of a new poll and of the tally revealed (the toast is a status region). */
  function announce(lang, room) {
    const now = room && room.role === "student" && room.poll ? JSON.stringify([room.poll, Boolean(room.tally)]) : null;
    if (now === heard) return;
    const was = heard;
    heard = now;
    if (!now || (was === null && room.tally)) return; // joined late: the bar says it all
    toast(t(lang, room.tally ? "poll_shown" : "poll_opened", { question: room.poll.question }));
  }

  function render() {
    const room = state.runtime.room;
    const lang = state.scene.lang;
    announce(lang, room);
    const following = Boolean(room && room.role === "student" && room.following);
    document.body.classList.toggle("following", following);
    for (const el of document.querySelectorAll("[data-room-lock]")) el.inert = following;
    present.render(room, lang);
    const key = JSON.stringify([room, lang, composing]);
    if (key === sig) return;
    sig = key;
    bar.hidden = !room;
    if (!room) {
      composing = false;
      form = null;
    }
    keepFocus(bar, () => fill(bar, room ? (room.role === "teacher" ? teacherBar(lang, room) : studentBar(lang, room)) : null));
  }

  return { render };
}
