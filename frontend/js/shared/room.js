// A classroom room over the shared reconnecting socket (docs/api.md, "Rooms"). The teacher's
// connection (its key offered as a subprotocol) publishes its scene, throttled to about ten a
// second, and runs polls; a student's connection receives the scene, the open poll and the
// revealed tally, and votes.
// What a scene holds is the page's business (see classroom.js). The teacher ends the room
// with its key; the room's limits come from the server (GET /api/limits).

import { request } from "./api.js";
import { openSocket, socketUrl } from "./stream.js";

export const PUBLISH_MS = 100; // at most one scene per 100 ms: about ten a second
// Close codes after which reconnecting cannot help: a wrong key, no such room, a room that
// expired, a full room.
export const WRONG_KEY = 4403;
export const GONE = 4404;
export const EXPIRED = 4410;
export const FULL = 4429;

/** POST /api/rooms: `{code, key, join_url}` (the key makes a connection the teacher). */
export const createRoom = () => request("/api/rooms", { method: "POST" });

/** DELETE /api/rooms/{code}: the room ends for everyone (its sockets are told, then close with 4410). */
export const endRoom = (code, key) =>
  request(`/api/rooms/${encodeURIComponent(code)}`, { method: "DELETE", headers: { "X-Room-Key": key } });

/** The server's room limits: `{max_poll_options, max_text, ...}` (GET /api/limits, `rooms`). */
export const roomLimits = () => request("/api/limits").then((limits) => limits.rooms);

const liveUrl = (code) => socketUrl(`/api/rooms/${encodeURIComponent(code)}/live`);
// The teacher's key goes as a subprotocol the server reads, never in the URL (which a proxy logs).
const teacherProtocols = (key) => ["descent.room", `key.${key}`];

const refusal = (msg) => msg.detail ?? msg.message ?? "";

/**
 * Teach room `code` with `key`. `on.poll({question, options})` (the open poll, also after a
 * reconnection), `on.tally(counts, revealed)` as votes arrive, `on.students(n)`,
 * `on.error(message)` for a message the server refused, `on.link(state)` and `on.lost(err)`
 * as for any socket. Returns `{publish(scene), poll(question, options), reveal(), close()}`:
 * `publish` sends the latest scene at most every PUBLISH_MS (the last one always goes), and
 * after a reconnection the latest scene goes again at once.
 */
export function teach(code, key, on) {
  let latest = null; // the newest scene handed to publish
  let sent = null; // its JSON as last sent
  let lastAt = -Infinity;
  let timer = null;

  function flush() {
    timer = null;
    const text = JSON.stringify(latest);
    if (text === sent) return;
    if (socket.send({ type: "scene", scene: latest })) {
      sent = text;
      lastAt = performance.now();
    }
  }

  const socket = openSocket(liveUrl(code), {
    protocols: teacherProtocols(key),
    onOpen: () => {
      sent = null;
      if (latest !== null) flush();
    },
    onMessage: (msg) => {
      if (msg.type === "poll") on.poll({ question: msg.question, options: msg.options });
      else if (msg.type === "tally") on.tally(msg.counts, msg.revealed === true);
      else if (msg.type === "students") on.students(msg.count);
      else if (msg.type === "error") on.error(refusal(msg));
    },
    onLink: on.link,
    onLost: on.lost,
    final: [WRONG_KEY, GONE, EXPIRED],
  });

  return {
    publish(scene) {
      latest = scene;
      if (timer !== null) return;
      const wait = lastAt + PUBLISH_MS - performance.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    poll: (question, options) => socket.send({ type: "poll", question, options }),
    reveal: () => socket.send({ type: "reveal" }),
    close() {
      clearTimeout(timer);
      socket.close();
    },
  };
}

/**
 * Follow room `code` as a student: `on.scene(scene)`, `on.poll({question, options})` (a new
 * poll; the open poll sent again on a reconnection is not new), `on.tally(counts)` (the
 * teacher revealed it), `on.error`, `on.link`, `on.lost`. Returns `{vote(i), close()}`; a vote
 * given while the socket is down goes when it is back, and after a reconnection the vote is
 * given again (a vote replaces the student's last one).
 */
export function follow(code, on) {
  let vote = null; // the option chosen in the open poll
  let pollId = null; // the open poll's number (the server's), or its JSON
  const send = () => socket.send(typeof pollId === "number" ? { type: "vote", option: vote, poll: pollId } : { type: "vote", option: vote });

  const socket = openSocket(liveUrl(code), {
    onOpen: () => {
      if (vote !== null) send();
    },
    onMessage: (msg) => {
      if (msg.type === "scene") on.scene(msg.scene);
      else if (msg.type === "poll") {
        const poll = { question: msg.question, options: msg.options };
        const id = Number.isInteger(msg.poll) ? msg.poll : JSON.stringify(poll);
        if (id === pollId) return;
        pollId = id;
        vote = null;
        on.poll(poll);
      } else if (msg.type === "tally") on.tally(msg.counts);
      else if (msg.type === "error") on.error(refusal(msg));
    },
    onLink: on.link,
    onLost: on.lost,
    final: [GONE, EXPIRED, FULL],
  });

  return {
    vote(i) {
      vote = i;
      send();
    },
    close: () => socket.close(),
  };
}
