// The Train / Cancel bar: one run at a time on screen; the server's message when a request
// is refused (422, 429) stays under the buttons until the next try; while the stream is
// down it says so, and Retry follows the run again once the client gave up.

import { fmt } from "../shared/format.js";
import { statusWord, t } from "../shared/i18n.js";
import { queuedWords } from "../shared/queue.js";
import { cancel, reconnect, train } from "./runner.js";
import { state } from "./state.js";

const LIVE = new Set(["queued", "running"]);

export function createTrainBar() {
  const $ = (id) => document.getElementById(id);
  $("train-btn").addEventListener("click", train);
  $("cancel-btn").addEventListener("click", cancel);
  $("reconnect-btn").addEventListener("click", reconnect);

  function render() {
    const { scene, runtime } = state;
    const lang = scene.lang;
    const run = runtime.run;
    const live = Boolean(run && LIVE.has(run.status));
    $("train-btn").disabled = !runtime.catalogue || Boolean(runtime.busy.train) || live;
    $("cancel-btn").hidden = !live;
    $("reconnect-btn").hidden = !(run && run.link === "lost");
    let text = "";
    if (run && run.link !== "live") text = t(lang, run.link === "lost" ? "stream_lost" : "reconnecting");
    else if (run && live) {
      const e = run.epochs;
      const n = e.epoch.length;
      text = run.landscape
        ? t(lang, "surveying", { pct: Math.round(100 * run.landscape.progress) })
        : run.status === "queued" ? queuedWords(lang, run.ahead)
          : `${t(lang, "training", { epoch: n ? e.epoch[n - 1] : 0, epochs: run.body.epochs })}${n ? ` · val ${fmt(e.valLoss[n - 1], 3)}` : ""}`;
    } else if (run) text = statusWord(lang, run.status);
    $("run-state").textContent = text;
    const err = $("form-error");
    err.hidden = !runtime.formError;
    err.textContent = runtime.formError ? `${t(lang, "error")}: ${runtime.formError}` : "";
  }

  return { render };
}
