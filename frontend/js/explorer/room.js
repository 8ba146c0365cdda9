// The explorer in a classroom room: the teacher's scene is the share link's query (without
// how the teacher's page looks: language, projector, palette) plus the playhead and whether
// it plays; a student's page reads it through the link decoder and plays along on its own
// clock, set back to the teacher's step by every scene. Students compute their paths with
// the REST engine (a stored live run is the teacher's business). A new poll asks which of
// the racers reaches the minimum first.

import { createClassroom } from "../shared/classroom.js";
import { findInfo, racerLabel } from "../shared/hyper.js";
import { t } from "../shared/i18n.js";
import { decodeScene, encodeScene } from "./codec.js";
import { pause, play } from "./playback.js";
import { lockScene, setRuntime, setScene, state, subscribe } from "./state.js";

function sceneOf() {
  const s = state.scene;
  return { page: "explorer", query: encodeScene({ ...s, lang: "en", proj: false, cb: false }), t: s.t, playing: state.runtime.playing };
}

function applyScene(scene) {
  const own = state.scene;
  const next = { ...decodeScene(scene.query), lang: own.lang, proj: own.proj, cb: own.cb, live: false };
  if (Number.isInteger(scene.t) && scene.t >= 0) next.t = scene.t;
  const patch = Object.fromEntries(Object.entries(next).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(own[k])));
  if (scene.playing === true && !state.runtime.playing) play();
  else if (scene.playing !== true && state.runtime.playing) pause();
  setScene(patch, { remote: true });
}

/** A new poll: which racer reaches the minimum first (the racers as the options). */
export function pollDefaults() {
  const { scene, runtime } = state;
  const cat = runtime.catalogue;
  const options = scene.racers.map((r, i) => `${i + 1}. ${cat ? racerLabel(r, findInfo(cat.optimizers, r.opt), findInfo(cat.schedules, r.sched)) : r.opt}`);
  return { question: t(scene.lang, "poll_first"), options };
}

export const classroom = createClassroom({ page: "explorer", store: { state, setRuntime, subscribe, lockScene }, sceneOf, applyScene, keep: ["t"] });
