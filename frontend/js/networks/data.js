// Keeps the dataset preview in step with the data settings: POST /api/datasets/preview a
// moment after they change (the previous request aborted), result or error in the store;
// an empty CSV is not sent.

import { previewDataset } from "./api.js";
import { previewBody } from "./spec.js";
import { setRuntime, state, subscribe } from "./state.js";

const DATA_KEYS = ["ds", "n", "noise", "csv", "val", "test", "seed"];
const DEBOUNCE_MS = 250;

let timer = null;
let controller = null;

async function fetchPreview(again = false) {
  const body = previewBody(state.scene);
  const key = JSON.stringify(body);
  if (!again && state.runtime.preview && state.runtime.preview.key === key) return;
  if (controller) controller.abort();
  if (body.dataset.name === "csv" && !(body.dataset.csv || "").trim()) {
    controller = null;
    setRuntime({ preview: { key, missing: "csv" } }); // nothing to ask the server yet
    return;
  }
  controller = new AbortController();
  const mine = controller;
  try {
    const data = await previewDataset(body, mine.signal);
    if (mine === controller) setRuntime({ preview: { key, data } });
  } catch (err) {
    if (mine === controller && err.name !== "AbortError") setRuntime({ preview: { key, error: err.message } });
  }
}

/** Retry in the data panel: ask for the preview again. */
export const retryPreview = () => fetchPreview(true);

export function initPreview() {
  subscribe((keys) => {
    if (![...keys].some((k) => DATA_KEYS.includes(k)) && !keys.has("catalogue")) return;
    clearTimeout(timer);
    timer = setTimeout(fetchPreview, DEBOUNCE_MS);
  });
}
