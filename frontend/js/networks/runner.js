// Starting, cancelling, following again and finishing a run: POST /api/runs, follow its
// stream (Retry after the stream was lost), then fetch the landscape report and add the run
// to the session's list (ticked for comparison when it shares data, model and seed with the
// runs already ticked).

import { cancelRun, createRun } from "../shared/api.js";
import { watchQueue } from "../shared/queue.js";
import { getLandscape } from "./api.js";
import { previewBody, runBody, runKey, runLabel } from "./spec.js";
import { emptyRun, setRuntime, state, updateRun } from "./state.js";
import { streamRun } from "./stream.js";

const MAX_COMPARED = 6;
const COMPARABLE = new Set(["finished", "early_stopped", "converged"]);
let closeStream = null;
let reportRequest = null; // the AbortController of the landscape report in flight
let stopQueueWatch = () => {};

/** While run `id` is on screen and queued, how many queued runs are ahead of it. */
function watchRunQueue(id) {
  stopQueueWatch();
  const queued = () => state.runtime.run && state.runtime.run.id === id && state.runtime.run.status === "queued";
  stopQueueWatch = watchQueue(id, queued, (ahead) => updateRun(id, (run) => {
    run.ahead = ahead;
  }));
}

/**
 * The server names a field by its path through tagged unions ("network.optimizer.sgd.lr",
 * "network: …"); the form knows it as "optimizer.lr".
 */
function plainLoc(message, body) {
  const tags = [body.optimizer.name, body.schedule.name].filter((s) => /^\w+$/.test(s)).join("|");
  const out = message.replace(/(^|; )network(\.|: )/g, "$1");
  return tags ? out.replace(new RegExp(`\\b(optimizer|schedule)\\.(${tags})\\.`, "g"), "$1.") : out;
}

export async function train() {
  const { scene, runtime } = state;
  if (!runtime.catalogue || runtime.busy.train) return;
  const body = runBody(scene, runtime.catalogue);
  setRuntime({ formError: null, busy: { ...runtime.busy, train: true } });
  let created;
  try {
    created = await createRun(body);
  } catch (err) {
    setRuntime({ formError: plainLoc(err.message, body), busy: { ...state.runtime.busy, train: false } });
    return;
  }
  if (closeStream) closeStream();
  if (reportRequest) reportRequest.abort(); // the run before is no longer on screen
  const run = emptyRun(created.id, body);
  run.status = created.status === "running" ? "running" : "queued";
  // Training-split size for the step axis: the preview of these very settings, if shown.
  const p = state.runtime.preview;
  run.nTrain = p && p.data && p.key === JSON.stringify(previewBody(scene)) ? p.data.n_train : null;
  setRuntime({ run, frame: null, busy: { ...state.runtime.busy, train: false } });
  closeStream = streamRun(created.id, { onEnd: finish });
  watchRunQueue(created.id);
}

/**
 * Watch run `id`, which someone else started from `body` (a classroom's teacher): its stream
 * replaces the run on screen, and it joins the session's runs when it ends, like one's own.
 */
export function watch(id, body) {
  if (closeStream) closeStream();
  if (reportRequest) reportRequest.abort();
  const run = emptyRun(id, body);
  const p = state.runtime.preview;
  run.nTrain = p && p.data && p.key === JSON.stringify(previewBody(state.scene)) ? p.data.n_train : null;
  setRuntime({ run, frame: null });
  closeStream = streamRun(id, { onEnd: finish });
  watchRunQueue(id);
}

/** Follow the run on screen again after its stream was lost (the server replays it whole). */
export function reconnect() {
  const run = state.runtime.run;
  if (!run || run.link !== "lost") return;
  if (closeStream) closeStream();
  const fresh = Object.assign(emptyRun(run.id, run.body), { nTrain: run.nTrain, status: run.status });
  setRuntime({ run: fresh });
  closeStream = streamRun(run.id, { onEnd: finish });
  watchRunQueue(run.id);
}

export async function cancel() {
  const run = state.runtime.run;
  if (!run || run.summary || run.status === "cancelled") return;
  try {
    await cancelRun(run.id);
  } catch (err) {
    setRuntime({ formError: err.message });
  }
}

async function finish(id) {
  const run = state.runtime.run;
  if (!run || run.id !== id) return;
  if (run.body.landscape && COMPARABLE.has(run.status)) {
    reportRequest = new AbortController();
    try {
      const report = await getLandscape(id, reportRequest.signal);
      updateRun(id, (r) => {
        r.report = report;
      });
    } catch (err) {
      if (err.name === "AbortError") return;
      updateRun(id, (r) => {
        r.error = r.error || err.message;
      });
    }
  }
  if (!COMPARABLE.has(run.status)) return;
  const { runs, selected, catalogue } = state.runtime;
  const entry = {
    id,
    label: runLabel(run.body, catalogue),
    key: runKey(run.body),
    body: run.body,
    summary: run.summary,
    status: run.status,
  };
  const same = selected.filter((s) => (runs.find((r) => r.id === s) || {}).key === entry.key);
  setRuntime({ runs: [...runs, entry], selected: [...same, id].slice(-MAX_COMPARED) });
}
