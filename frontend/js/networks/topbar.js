// The top bar (lesson menu, share link, colour-blind palette, projector mode, language),
// the page's fixed texts in the chosen language, and the toast.

import { displayQuery } from "../codec.js";
import { createDisplayControls, createToast } from "../views/display.js";
import { applyLesson, syncLessonMenu } from "./lessons.js";
import { setRuntime, setScene, shareUrl, state } from "./state.js";
import { t } from "./words.js";

export const toast = createToast(setRuntime);

export function createTopbar() {
  const $ = (id) => document.getElementById(id);
  const display = createDisplayControls({ state, setScene, shareUrl, t, toast });
  $("lesson-select").addEventListener("change", (ev) => applyLesson(ev.target.value || null));

  function render() {
    const { scene, runtime } = state;
    display.render(scene, runtime);
    $("explorer-link").href = `/${displayQuery(scene)}`;
    syncLessonMenu($("lesson-select"), scene);
  }

  return { render };
}
