// The top bar (lesson menu, share link, colour-blind palette, projector mode, language),
// the page's fixed texts in the chosen language, and the toast.

import { displayQuery } from "../shared/codec.js";
import { createDisplayControls } from "../shared/display.js";
import { t } from "../shared/i18n.js";
import { csvStored } from "./csvlink.js";
import { createLessonMenu } from "./lessons.js";
import { setScene, shareUrl, state } from "./state.js";

export function createTopbar({ toast }) {
  const $ = (id) => document.getElementById(id);
  const linkOfScene = async () => {
    const refused = await csvStored(); // Share right after a paste: the link names the CSV, not an empty box
    return refused === null ? shareUrl() : { url: shareUrl(), copied: t(state.scene.lang, "link_without_csv", { message: refused }) };
  };
  const display = createDisplayControls({ state, setScene, shareUrl: linkOfScene, toast });
  const lessonMenu = createLessonMenu($("lesson-select"));

  function render() {
    const { scene, runtime } = state;
    display.render(scene, runtime);
    $("explorer-link").href = `/${displayQuery(scene)}`;
    lessonMenu(scene);
  }

  return { render };
}
