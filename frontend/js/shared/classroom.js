// A page in a classroom room (docs/api.md, "Rooms"). The teacher's page presents: it creates
// a room, keeps the room's key for this browser tab (so the other page, or a reload, goes on
// teaching) and publishes its scene whenever it changes. A student's page (`?room=CODE`)
// follows: the teacher's scene comes in through the page's own decoder and the page's scene
// is locked (its controls are read-only) until "Explore on my own"; "Follow again" takes the
// teacher's latest scene. When the teacher is on the other page, the student's page goes
// there too. Polls: the teacher asks, students vote, the teacher reveals the tally.
// Everything the views show is the store's `runtime.room`:
//   {role: "teacher" | "student", code, link: "live" | "reconnecting" | "lost", lost (close code),
//    notice (a message the server refused), poll: {question, options} | null, tally (counts),
//    teacher: joinUrl, students, revealed, limits (the server's: {maxOptions, maxText}, once
//    known); student: following, vote}
// The teacher's "End room" ends it on the server: every student's page is told.

import { displayQuery } from "./codec.js";
import { createRoom, endRoom, follow, roomLimits, teach } from "./room.js";

const SAVED = "descent.room"; // session storage: the room this tab teaches, {code, key, join_url}
const KEEP = ["lang", "proj", "cb"]; // what a following page still sets itself: how it looks
const PAGES = { explorer: "/", networks: "/networks.html" };
const CODE = /^[A-HJ-NP-Z2-9]{6}$/; // six characters, no look-alikes (0/O, 1/I)

/** A typed code as the server writes it (upper case, no spaces or dashes), or null. */
export function roomCode(text) {
  const code = String(text || "").replace(/[\s-]/g, "").toUpperCase();
  return CODE.test(code) ? code : null;
}

/** The query of a student's page in room `code`: the code and how the page looks. */
export function roomQuery(code, scene) {
  const display = displayQuery(scene);
  return `room=${code}${display ? `&${display.slice(1)}` : ""}`;
}

function saved() {
  try {
    const room = JSON.parse(sessionStorage.getItem(SAVED) || "null");
    return room && roomCode(room.code) && typeof room.key === "string" ? room : null;
  } catch {
    return null;
  }
}

function save(room) {
  try {
    if (room) sessionStorage.setItem(SAVED, JSON.stringify(room));
    else sessionStorage.removeItem(SAVED);
  } catch {
    // storage off: this page still teaches; another page of the tab will not
  }
}

/**
 * `page`: "explorer" or "networks"; `store`: the page's store; `sceneOf()`: what the
 * teacher's page publishes ({page, query, ...}); `applyScene(scene)`: a student's page takes
 * the teacher's scene (with `setScene(patch, {remote: true})`); `keep`: scene keys the page
 * changes itself even while it follows (the explorer's playhead clock).
 */
export function createClassroom({ page, store, sceneOf, applyScene, keep = [] }) {
  const { state, setRuntime, subscribe, lockScene } = store;
  let conn = null; // the room's connection: teach() or follow()
  let key = null; // the teacher key of the room this page teaches
  let latest = null; // the teacher's newest scene (a student's page)

  const room = () => state.runtime.room;
  const update = (patch) => room() && setRuntime({ room: { ...room(), ...patch } });
  const link = (word) => update({ link: word });

  function teachRoom(made) {
    setRuntime({ room: { role: "teacher", code: made.code, joinUrl: made.join_url, link: "live", lost: null, notice: null, students: 0, poll: null, tally: null, revealed: false, limits: null } });
    key = made.key;
    roomLimits()
      .then((limits) => update({ limits: { maxOptions: limits.max_poll_options, maxText: limits.max_text } }))
      .catch(() => {}); // not known: the poll form checks against the server's defaults, the server decides
    conn = teach(made.code, made.key, {
      poll: (poll) => {
        const r = room();
        if (JSON.stringify(poll) !== JSON.stringify(r.poll)) update({ poll, tally: poll.options.map(() => 0), revealed: false });
      },
      tally: (counts, revealed) => update({ tally: counts, revealed: revealed || room().revealed }),
      students: (n) => update({ students: n }),
      error: (message) => update({ notice: message }),
      link,
      lost: (err) => {
        update({ link: "lost", lost: err.status });
        save(null); // expired or refused: a reload should not try it again
      },
    });
    conn.publish(sceneOf());
  }

  /** Present: create a room (once) and teach it. Errors are the server's (429 when full). */
  async function present() {
    if (room() && room().role === "teacher" && room().link !== "lost") return room();
    const made = await createRoom();
    save(made);
    teachRoom(made);
    return room();
  }

  subscribe(() => {
    const r = room();
    if (r && r.role === "teacher" && conn) conn.publish(sceneOf());
  });

  function take(scene) {
    if (!scene || typeof scene !== "object" || typeof scene.query !== "string") return;
    if (scene.page !== page && PAGES[scene.page]) {
      location.assign(`${PAGES[scene.page]}?${roomQuery(room().code, state.scene)}`);
      return;
    }
    applyScene(scene);
  }

  const lock = (code) => lockScene({ keep: [...KEEP, ...keep], query: (scene) => roomQuery(code, scene) });

  function join(code) {
    setRuntime({ room: { role: "student", code, link: "live", lost: null, notice: null, following: true, poll: null, tally: null, vote: null } });
    lock(code);
    conn = follow(code, {
      scene: (scene) => {
        latest = scene;
        if (room().following) take(scene);
      },
      poll: (poll) => update({ poll, tally: null, vote: null }),
      tally: (counts) => update({ tally: counts }),
      error: (message) => update({ notice: message }),
      link,
      lost: (err) => {
        update({ link: "lost", lost: err.status, following: false });
        lockScene(null); // no teacher to follow: the page is the student's
      },
    });
  }

  /** Join from the link (`?room=CODE`), or go on teaching the room this tab presents. */
  function start() {
    const query = new URLSearchParams(location.search);
    if (query.has("room")) {
      const code = roomCode(query.get("room"));
      if (code) join(code);
      else setRuntime({ room: { role: "student", code: query.get("room").slice(0, 12), link: "lost", lost: 4404, following: false, poll: null, tally: null } });
      return;
    }
    const mine = saved();
    if (mine) teachRoom(mine);
  }

  /** Leave the room: the teacher's page ends it (for everyone); a student's page is its own. */
  function leave() {
    if (conn) conn.close();
    conn = null;
    if (room() && room().role === "teacher") {
      save(null);
      // an end that fails (the network) leaves the room to expire on its own
      if (room().link !== "lost") endRoom(room().code, key).catch(() => {});
      key = null;
    }
    setRuntime({ room: null });
    lockScene(null);
  }

  return {
    start,
    present,
    leave,
    /** Ask the class; false while the connection is down. */
    ask(question, options) {
      if (!conn || !conn.poll(question, options)) return false;
      update({ poll: { question, options }, tally: options.map(() => 0), revealed: false, notice: null });
      return true;
    },
    reveal() {
      if (conn && conn.reveal()) update({ revealed: true });
    },
    vote(i) {
      if (!conn) return;
      conn.vote(i);
      update({ vote: i });
    },
    /** "Explore on my own": the scene is the student's until "Follow again". */
    detach() {
      update({ following: false });
      lockScene(null);
    },
    followAgain() {
      update({ following: true });
      lock(room().code);
      if (latest) take(latest);
    },
  };
}
