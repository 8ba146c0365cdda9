// Start-up: load the catalogues (Retry when they fail), create the views, and connect
// everything to the store.
// Views render in one batch per animation frame, whatever changed.

import { getOptimizers, getSchedules } from "../shared/api.js";
import { invalidate, nextFrame } from "../shared/frame.js";
import { pageFailure } from "../shared/failure.js";
import { createToast } from "../shared/display.js";
import { useStrings } from "../shared/i18n.js";
import { waitForPlotly } from "../shared/plots.js";
import { createRoomBar } from "../shared/roombar.js";
import { initAnalysis, tuneRace } from "./analysis.js";
import { getSurfaces } from "./api.js";
import { fitCatalogue } from "./codec.js";
import { initCompute } from "./compute.js";
import { clampPlayhead, maxStep, play } from "./playback.js";
import { classroom, pollDefaults } from "./room.js";
import { flushUrl, setRuntime, setScene, state, subscribe } from "./state.js";
import { STRINGS } from "./strings.js";
import { createPlotTexts } from "./views/alt.js";
import { applyLesson, createLessonView } from "./views/lesson.js";
import { createPanels } from "./views/panels.js";
import { addRacer, createRacersView } from "./views/racers.js";
import { createReadout } from "./views/readout.js";
import { createSettingsView } from "./views/settings.js";
import { createStage } from "./views/stage.js";
import { createTopbar } from "./views/topbar.js";
import { createTransport } from "./views/transport.js";

const FIRST_LESSON = "momentum_ravine";

/** WebGL support, and whether it is software-rendered (then the 3D view updates rarely). */
function probeWebGL() {
  try {
    const gl = document.createElement("canvas").getContext("webgl");
    if (!gl) return { webgl: false, slowGL: true };
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return { webgl: true, slowGL: /swiftshader|llvmpipe|software/i.test(renderer) };
  } catch {
    return { webgl: false, slowGL: true };
  }
}

let catalogueLang = null; // the language of the catalogues asked for last

/**
 * The catalogues, their texts in the page's language, into the store (again when the
 * language changes); when they cannot be loaded, a panel says so, with Retry.
 */
async function loadCatalogues() {
  const lang = state.scene.lang;
  catalogueLang = lang;
  try {
    const [surfaces, optimizers, schedules] = await Promise.all([getSurfaces(lang), getOptimizers(lang), getSchedules(lang)]);
    if (catalogueLang !== lang) return; // the language changed meanwhile: its own load follows
    const catalogue = { surfaces, optimizers, schedules };
    setScene(fitCatalogue(state.scene, catalogue)); // a link's ids and keywords the API does not know go
    setRuntime({ catalogue });
  } catch (err) {
    await new Promise((retry) => pageFailure(state.scene.lang, "catalogue_failed", err.message, retry));
    await loadCatalogues();
  }
}

async function main() {
  useStrings(STRINGS);
  const firstVisit = !location.search;
  try {
    await waitForPlotly();
  } catch (err) {
    pageFailure(state.scene.lang, "plotly_failed", err.message, () => location.reload());
    return;
  }
  const $ = (id) => document.getElementById(id);
  const stage = createStage();
  const toast = createToast(setRuntime); // one per page: a second timer would clear the first's message early
  const topbar = createTopbar({ contourPng: stage.contourPng, toast });
  const racers = createRacersView($("racers"));
  const settings = createSettingsView($("run-settings"));
  const transport = createTransport($("transport"));
  const readout = createReadout($("readout"));
  const panels = createPanels(document.querySelector(".side-panel"));
  const lesson = createLessonView($("lesson-card"));
  const plotTexts = createPlotTexts();
  const roomBar = createRoomBar({ classroom, state, pollDefaults, toast });

  $("add-racer").addEventListener("click", addRacer);
  $("fair-btn").addEventListener("click", tuneRace);

  // UI (DOM) views: one render per frame, whatever changed.
  const renderAll = () => {
    topbar.render();
    racers.render();
    settings.render();
    transport.render();
    readout.render();
    panels.render();
    lesson.render();
    plotTexts.render();
    roomBar.render();
  };
  // While playing, only the playhead moves: render just what shows it.
  const renderPlayhead = () => {
    transport.render();
    readout.render();
    plotTexts.render();
    lesson.render(); // its curvature numbers follow the playhead
  };
  const PLAYHEAD_KEYS = new Set(["t", "curvature", "playing"]);
  let fullPending = false;
  subscribe((keys) => {
    if ([...keys].every((k) => PLAYHEAD_KEYS.has(k)) && !fullPending) invalidate("ui", renderPlayhead);
    else {
      fullPending = true;
      invalidate("ui", () => {
        fullPending = false;
        renderAll();
      });
    }
    stage.update(keys);
    if (keys.has("lang") && state.runtime.catalogue) loadCatalogues();
    if (keys.has("traj") || keys.has("pending")) clampPlayhead();
    if (state.runtime.autoplay && state.runtime.traj.length === state.scene.racers.length && state.runtime.traj.every((t) => t && t.cols.n) && !state.runtime.pending.some(Boolean)) {
      setRuntime({ autoplay: false });
      play();
    }
  });

  setRuntime(probeWebGL());
  // A first visit opens the race that answers "why momentum?", with its explanation.
  if (firstVisit) applyLesson(FIRST_LESSON);
  initCompute();
  initAnalysis();
  invalidate("ui", renderAll);
  await loadCatalogues();
  classroom.start(); // `?room=CODE` follows a teacher; a tab that presents goes on presenting

  // A small, documented hook for tests and the console: read-only use, please.
  window.descent = { state, setScene, maxStep, nextFrame, flushUrl, ready: true };
  document.body.dataset.ready = "1";
}

main();
