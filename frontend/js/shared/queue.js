// A queued stored run's place in the queue, on both pages: while the run is on screen and
// queued, ask the server every two seconds how many queued runs are ahead of it
// (GET /api/runs/{id} answers its `queue_position`); its stream says when it starts.

import { getRun } from "./api.js";
import { t } from "./i18n.js";

const POLL_MS = 2000;

/** "queued: 3 ahead" once the server said how many (`ahead`), else "queued…". */
export function queuedWords(lang, ahead) {
  if (ahead === null || ahead === undefined) return t(lang, "queued");
  return ahead === 0 ? t(lang, "queued_next") : t(lang, "queued_ahead", { n: ahead });
}

/**
 * Ask while `stillQueued()`; each answer goes to `onAhead(n)` (null: the server did not say).
 * A failed ask is tried again; returns a function that stops asking.
 */
export function watchQueue(id, stillQueued, onAhead) {
  let timer = null;
  let stopped = false;
  const poll = async () => {
    if (stopped || !stillQueued()) return;
    try {
      const stored = await getRun(id);
      if (!stopped && stillQueued()) onAhead(stored.queue_position ?? null);
    } catch {
      // the stream tells what became of the run; the words stay as they were
    }
    if (!stopped && stillQueued()) timer = setTimeout(poll, POLL_MS);
  };
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
