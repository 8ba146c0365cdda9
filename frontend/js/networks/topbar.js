// The top bar (lesson menu, share link, colour-blind palette, projector mode, language),
// the page's fixed texts in the chosen language, and the toast.

import { displayQuery } from "../shared/codec.js";
import { createDisplayControls } from "../shared/display.js";
import { createLessonMenu } from "./lessons.js";
import { setScene, shareUrl, state } from "./state.js";

export function createTopbar({ toast }) {
  const $ = (id) => document.getElementById(id);
  const display = createDisplayControls({ state, setScene, shareUrl, toast });
  const lessonMenu = createLessonMenu($("lesson-select"));

  function render() {
    const { scene, runtime } = state;
    display.render(scene, runtime);
    $("explorer-link").href = `/${displayQuery(scene)}`;
    lessonMenu(scene);
  }

  return { render };
}
