// The websocket client of both pages: follow a stored run's stream. The server replays the
// run from step 0 (a late joiner misses nothing), then sends live messages, then `end`:
// {type: "steps" | "epoch" | "boundary" | "landscape" | "reset" | "end", ...}. What each
// message means is the page's business.
//
// A socket that closes before `end` reaches `onLost`: that is where a reconnect with backoff
// would open the socket again. The server replays from step 0, so the resumed stream would
// pass on only the steps after the last one delivered (all of them again after a `reset`).

import { ApiError } from "./api.js";

function streamUrl(id) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  return `${proto}://${location.host}/api/runs/${encodeURIComponent(id)}/stream`;
}

/**
 * Follow run `id`: `onMessage(msg)` gets every message in order, `end` last; `onLost(err)`
 * is called instead when the socket closes before `end`. Returns a function that closes
 * the stream (no `onLost` then).
 */
export function followRun(id, { onMessage, onLost }) {
  const ws = new WebSocket(streamUrl(id));
  let ended = false;
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "end") ended = true;
    onMessage(msg);
  };
  ws.onclose = (event) => {
    if (!ended) onLost(new ApiError(`stream closed (${event.code})`, event.code));
  };
  return () => {
    ended = true;
    ws.close();
  };
}
