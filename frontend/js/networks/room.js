// The networks page in a classroom room: the teacher's scene is the share link's query
// (without how the teacher's page looks) and the id of the run on the teacher's screen; a
// student's page reads the settings through the link decoder (a CSV by its stored id, its
// text fetched) and watches that run's stream (replayed from its start, so a late joiner sees
// the whole run). A new poll asks which of the session's runs ends with the lowest test
// loss, or, before two runs, a yes/no question.

import { createClassroom } from "../shared/classroom.js";
import { t } from "../shared/i18n.js";
import { decodeScene, encodeScene } from "./codec.js";
import { knownCsv } from "./csvlink.js";
import { watch } from "./runner.js";
import { runBody } from "./spec.js";
import { lockScene, setRuntime, setScene, state, subscribe } from "./state.js";

const RUN_ID = /^[\w-]{1,64}$/;

function sceneOf() {
  const { scene, runtime } = state;
  return { page: "networks", query: encodeScene({ ...scene, lang: "en", proj: false, cb: false }), run: runtime.run ? runtime.run.id : null };
}

let waiting = null; // the teacher's scene whose CSV text is still on its way (a fetch, a Retry)
const following = () => state.runtime.room && state.runtime.room.following;

function applyScene(scene) {
  waiting = null;
  const own = state.scene;
  const next = { ...decodeScene(`?${scene.query}`), lang: own.lang, proj: own.proj, cb: own.cb };
  // The teacher's CSV comes by its id: its text once this page has it (csvlink.js fetches it),
  // none until then; never the text of an earlier scene.
  const csv = next.csvid ? knownCsv(next.csvid) : null;
  if (next.csvid) next.csv = csv ?? "";
  const patch = Object.fromEntries(Object.entries(next).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(own[k])));
  setScene(patch, { remote: true });
  if (next.ds === "csv" && next.csvid && csv === null) {
    // The run on the teacher's screen trained on that text: watched once it is here, however
    // it comes (csvlink.js fetches it; after a failure, the data panel's Retry).
    waiting = { scene, csvid: next.csvid };
    return;
  }
  const run = state.runtime.run;
  if (typeof scene.run === "string" && RUN_ID.test(scene.run) && (!run || run.id !== scene.run) && state.runtime.catalogue) {
    watch(scene.run, runBody(state.scene, state.runtime.catalogue));
  }
}

/** A new poll: the session's runs as the options, or yes / no before there are two. */
export function pollDefaults() {
  const { scene, runtime } = state;
  const lang = scene.lang;
  if (runtime.runs.length >= 2) return { question: t(lang, "poll_lowest"), options: runtime.runs.map((r, i) => `${i + 1}. ${r.label}`) };
  return { question: t(lang, "poll_beats"), options: [t(lang, "poll_yes"), t(lang, "poll_no")] };
}

subscribe((keys) => {
  const ready = waiting;
  if (keys.has("csv") && ready && knownCsv(ready.csvid) !== null && following()) {
    queueMicrotask(() => waiting === ready && applyScene(ready.scene)); // after this change has been told to all
  }
});

export const classroom = createClassroom({ page: "networks", store: { state, setRuntime, subscribe, lockScene }, sceneOf, applyScene });
