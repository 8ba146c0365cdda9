// Start-up of the networks page: load the catalogues (Retry when they fail), create the
// views, and render them once per animation frame whatever changed in the store.

import { getOptimizers, getSchedules } from "../shared/api.js";
import { invalidate, nextFrame } from "../shared/frame.js";
import { createToast } from "../shared/display.js";
import { pageFailure } from "../shared/failure.js";
import { useStrings } from "../shared/i18n.js";
import { observePlotBoxes, theme, waitForPlotly } from "../shared/plots.js";
import { createRoomBar } from "../shared/roombar.js";
import { createTabs } from "../shared/tabs.js";
import { getDatasets, getModels } from "./api.js";
import { fitCatalogue } from "./codec.js";
import { createPlotTexts } from "./alt.js";
import { createCompareView } from "./compareview.js";
import { initCsvLink } from "./csvlink.js";
import { initPreview } from "./data.js";
import { createDataView } from "./dataview.js";
import { createLandView } from "./landview.js";
import { createLessonCard, openLinkedLesson } from "./lessons.js";
import { createCurves } from "./plots/curves.js";
import { classroom, pollDefaults } from "./room.js";
import { createSettings } from "./settings.js";
import { setRuntime, setScene, state, subscribe } from "./state.js";
import { STRINGS } from "./strings.js";
import { createSummary } from "./summary.js";
import { createTopbar } from "./topbar.js";
import { createTrainBar } from "./trainbar.js";

/** The bottom tabs: the chosen one shown, its plots resized to their (new) boxes. */
function createBottomTabs() {
  const bodies = [...document.querySelectorAll(".nets-bottom [data-body]")];
  const render = createTabs(document.querySelector(".nets-bottom [role='tablist']"), bodies, (tab) => setRuntime({ tab }));
  let shown = null;
  return function renderTabs() {
    const tab = state.runtime.tab;
    if (tab === shown) return;
    shown = tab;
    render(tab); // a body shown: observePlotBoxes resizes its plots
  };
}

let catalogueLang = null; // the language of the catalogues asked for last

/**
 * The four catalogues, their texts in the page's language, into the store (again when the
 * language changes); when they cannot be loaded, a panel says so, with Retry.
 */
async function loadCatalogues() {
  const lang = state.scene.lang;
  catalogueLang = lang;
  try {
    const [datasets, models, optimizers, schedules] = await Promise.all([getDatasets(lang), getModels(lang), getOptimizers(lang), getSchedules(lang)]);
    if (catalogueLang !== lang) return; // the language changed meanwhile: its own load follows
    const catalogue = { datasets, models, optimizers, schedules };
    setScene(fitCatalogue(state.scene, catalogue)); // a link's ids and keywords the API does not know go
    setRuntime({ catalogue });
  } catch (err) {
    await new Promise((retry) => pageFailure(state.scene.lang, "catalogue_failed", err.message, retry));
    await loadCatalogues();
  }
}

async function main() {
  useStrings(STRINGS);
  window.networks = { state, ready: false, nextFrame };
  try {
    await waitForPlotly();
  } catch (err) {
    pageFailure(state.scene.lang, "plotly_failed", err.message, () => location.reload());
    return;
  }
  const $ = (id) => document.getElementById(id);
  const toast = createToast(setRuntime); // one per page: a second timer would clear the first's message early
  const topbar = createTopbar({ toast });
  const lessonCard = createLessonCard($("lesson-card"));
  const trainBar = createTrainBar();
  const settings = createSettings($("settings"));
  const dataView = createDataView();
  const curves = createCurves($("curves"), $("lr-plot"), $("curves-legend"));
  const summary = createSummary($("summary"));
  const landView = createLandView();
  const compareView = createCompareView();
  const tabs = createBottomTabs();
  const plotTexts = createPlotTexts();
  const roomBar = createRoomBar({ classroom, state, pollDefaults, toast });

  const renderAll = () => {
    const { scene, runtime } = state;
    topbar.render();
    lessonCard.render();
    trainBar.render();
    settings.render();
    tabs();
    dataView.render();
    const task = runtime.preview && runtime.preview.data ? runtime.preview.data.task : null;
    curves.update(runtime.run, theme(scene), scene.lang, scene.cb, task);
    summary.render();
    landView.render();
    compareView.render();
    plotTexts.render();
    roomBar.render();
  };
  subscribe((keys) => {
    invalidate("ui", renderAll);
    if (keys.has("lang") && state.runtime.catalogue) loadCatalogues();
  });
  observePlotBoxes(document.querySelectorAll(".plot, .lr-plot"));
  openLinkedLesson(location.search);
  initPreview();
  initCsvLink({ toast });
  invalidate("ui", renderAll);
  await loadCatalogues();
  classroom.start(); // `?room=CODE` follows a teacher; a tab that presents goes on presenting
  await nextFrame();
  // A small, documented hook for tests and the console: read-only use, please.
  window.networks.ready = true;
  document.body.dataset.ready = "1";
}

main();
