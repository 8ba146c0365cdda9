// A CSV scene's text travels by its id: the server stores the text under its SHA-256
// (POST /api/datasets/csv) and a link or a classroom room names only that id (`csvid`).
// A moment after the user changes the text the page stores it, and the id joins the scene
// once the server answered for that very text (the user's edit clears it at once, so a link
// never names older text). A scene that names an id whose text the page lacks (a link, the
// teacher's scene) gets the text from the server; while it loads, or when the server no
// longer has it, the data panel says so (`runtime.csvLink`). Texts sent or fetched are kept
// for the page: a text is stored once, an id fetched once.

import { t } from "../shared/i18n.js";
import { getCsv, storeCsv } from "./api.js";
import { setRuntime, setScene, state, subscribe } from "./state.js";

const DEBOUNCE_MS = 400;

const ids = new Map(); // text → id, of texts stored or fetched by this page
const texts = new Map(); // id → text
const loads = new Map(); // id → the promise of its text, while in flight or once fetched
let timer = null;
let storing = null; // the text whose POST is in flight
let pending = Promise.resolve(null); // the last store(), until it settles (it never rejects)
let say = () => {}; // the page's toast

function remember(id, text) {
  texts.set(id, text);
  ids.set(text, id);
}

/** The text of stored CSV `id` if this page has it, else null. */
export const knownCsv = (id) => (texts.has(id) ? texts.get(id) : null);

/** The text of stored CSV `id`, fetched once (an ApiError, status 404, once the server forgot it). */
function loadCsv(id) {
  if (!loads.has(id)) {
    const load = getCsv(id).then((text) => {
      remember(id, text);
      return text;
    });
    load.catch(() => loads.delete(id)); // asked again next time (Retry, a later scene)
    loads.set(id, load);
  }
  return loads.get(id);
}

/** The text of the scene's `csvid` into the scene (a room's text too: it is the teacher's). */
async function fetchText(id) {
  setRuntime({ csvLink: { id, status: "loading" } });
  try {
    const text = await loadCsv(id);
    if (state.scene.csvid === id) setScene({ csv: text }, { remote: true });
    if (state.runtime.csvLink && state.runtime.csvLink.id === id) setRuntime({ csvLink: null });
  } catch (err) {
    if (state.scene.csvid === id) setRuntime({ csvLink: { id, status: err.status === 404 ? "gone" : "failed", message: err.message } });
  }
}

/** Retry in the data panel: ask for the scene's CSV again. */
export const retryCsv = () => state.scene.csvid && fetchText(state.scene.csvid);

/** Store the scene's text; null, or why the server did not store it. */
async function store() {
  const { ds, csv, csvid } = state.scene;
  if (ds !== "csv" || csvid !== null || !csv.trim() || storing === csv) return null;
  if (ids.has(csv)) {
    setScene({ csvid: ids.get(csv) });
    return null;
  }
  storing = csv;
  try {
    const { id } = await storeCsv(csv);
    remember(id, csv);
    if (state.scene.csv === csv && state.scene.csvid === null) setScene({ csvid: id });
    return null;
  } catch (err) {
    // A CSV the server refuses (422) is refused by the preview too, whose note says why.
    if (err.status !== 422 && state.scene.csv === csv) say(t(state.scene.lang, "csv_not_stored", { message: err.message }));
    return err.message;
  } finally {
    if (storing === csv) storing = null;
  }
}

/** Once the scene's text has its id (stored now if it waited for the pause), so that Share copies
 * a link that names it: null, or why the server did not store it. */
export async function csvStored() {
  const { ds, csv, csvid } = state.scene;
  if (ds !== "csv" || csvid !== null || !csv.trim()) return null;
  clearTimeout(timer);
  if (storing !== csv) pending = store();
  return pending;
}

/** Bring the scene's text and id into step: fetch the text an id names, store a text without one. */
function sync() {
  const { ds, csv, csvid } = state.scene;
  if (ds !== "csv") return;
  if (csvid !== null) {
    const link = state.runtime.csvLink;
    if (knownCsv(csvid) === csv || (link && link.id === csvid && link.status === "loading")) return;
    if (knownCsv(csvid) !== null) setScene({ csv: knownCsv(csvid) }, { remote: true });
    else fetchText(csvid);
    return;
  }
  clearTimeout(timer);
  if (!csv.trim()) return;
  if (ids.has(csv)) setScene({ csvid: ids.get(csv) });
  else timer = setTimeout(() => { pending = store(); }, DEBOUNCE_MS);
}

/** `toast(text)`: the page's toast, which says when a CSV could not be stored. */
export function initCsvLink({ toast }) {
  say = toast;
  subscribe((keys) => {
    if (keys.has("ds") || keys.has("csv") || keys.has("csvid")) sync();
  });
  sync(); // a link's id
}
