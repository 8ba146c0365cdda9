// The websocket client of both pages. `openSocket` is the one reconnecting socket (a run's
// stream and a classroom room both use it); `followRun` follows a stored run's stream. The
// server replays a run from step 0 (a late joiner misses nothing), then sends live messages,
// then `end`: {type: "steps" | "epoch" | "boundary" | "landscape" | "reset" | "end", ...}.
// What each message means is the page's business.
//
// A socket that closes before its owner closed it is opened again with backoff. The server
// replays a run from step 0, so `followRun` passes on only what it has not delivered yet:
// step records after the last step delivered, and of every other kind the messages past the
// count already delivered (the log is append-only, so a replay repeats them in the same
// order). A `reset` (the run started over on the server) forgets both, and the page starts
// its run afresh.

import { ApiError } from "./api.js";

const BACKOFF_MS = [250, 500, 1000, 2000, 4000]; // then 4 s per try
const MAX_TRIES = 10; // about half a minute without a connection: the socket is lost
const NO_RUN = 4404; // the server's close code for an unknown run or room: reconnecting cannot help

/** The websocket URL of an API path on this page's server. */
export function socketUrl(path) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}${path}`;
}

/**
 * A websocket to `url` that is opened again with backoff when it drops. `onMessage(msg)` gets
 * each parsed message; `onOpen()` runs on every (re)connection; `onLink(state, try)` hears
 * "reconnecting" when the socket dropped and "live" when it is open again; `onLost(err)` is
 * called once when reconnecting gave up or the server closed with a code in `final` (the
 * error's `status` is the close code); `protocols` are the subprotocols offered. Returns
 * `{send(msg), close()}`: `send` answers false while the socket is down (nothing is queued);
 * nothing is called after `close()`.
 */
export function openSocket(url, { onMessage, onOpen = () => {}, onLink = () => {}, onLost, final = [NO_RUN], protocols = [] }) {
  let ws = null;
  let timer = null;
  let tries = 0;
  let done = false;

  function open() {
    ws = new WebSocket(url, protocols);
    ws.onopen = () => {
      if (tries > 0) onLink("live");
      tries = 0;
      onOpen();
    };
    ws.onmessage = (event) => {
      if (!done) onMessage(JSON.parse(event.data));
    };
    ws.onclose = (event) => {
      if (done) return;
      if (final.includes(event.code) || tries >= MAX_TRIES) {
        done = true;
        onLost(new ApiError(event.reason || `connection closed (${event.code})`, event.code));
        return;
      }
      tries += 1;
      onLink("reconnecting", tries);
      timer = setTimeout(open, BACKOFF_MS[Math.min(tries - 1, BACKOFF_MS.length - 1)]);
    };
  }

  open();
  return {
    send(msg) {
      if (done || !ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(msg));
      return true;
    },
    close() {
      done = true;
      clearTimeout(timer);
      if (ws) ws.close();
    },
  };
}

/**
 * Follow run `id`: `onMessage(msg)` gets every message once, in order, `end` last.
 * `onLink(state)` hears "reconnecting" (with the try's number) when the socket dropped and
 * "live" when it is open again; `onLost(err)` is called when reconnecting gave up (or the
 * run is unknown). Returns a function that closes the stream (nothing is called after it).
 */
export function followRun(id, { onMessage, onLink = () => {}, onLost }) {
  let lastStep = -Infinity;
  let delivered = {}; // messages of each kind (other than steps) delivered since the last reset
  let seen = {}; // messages of each kind received on the current socket

  function fresh(msg) {
    if (msg.type === "reset") {
      lastStep = -Infinity;
      delivered = {};
      seen = {};
      return msg;
    }
    if (msg.type === "steps") {
      const steps = msg.steps.filter((s) => s.step > lastStep);
      if (!steps.length) return null;
      lastStep = steps[steps.length - 1].step;
      return steps.length === msg.steps.length ? msg : { ...msg, steps };
    }
    if (msg.type === "end") return msg;
    seen[msg.type] = (seen[msg.type] || 0) + 1;
    if (seen[msg.type] <= (delivered[msg.type] || 0)) return null;
    delivered[msg.type] = seen[msg.type];
    return msg;
  }

  const socket = openSocket(socketUrl(`/api/runs/${encodeURIComponent(id)}/stream`), {
    onOpen: () => {
      seen = {};
    },
    onMessage: (raw) => {
      const msg = fresh(raw);
      if (!msg) return;
      if (msg.type === "end") socket.close(); // the run is over: nothing more comes
      onMessage(msg);
    },
    onLink,
    onLost,
  });
  return socket.close;
}
