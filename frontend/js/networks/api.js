// The networks lab's endpoints, on the shared client (errors are ApiErrors whose message is
// the server's own words). A run's stream is followed by stream.js.

import { keyHeader, request, requestText } from "../shared/api.js";

const runPath = (id) => `/api/runs/${encodeURIComponent(id)}`;

export const getDatasets = (lang) => request(`/api/datasets?lang=${lang}`);
export const getModels = (lang) => request(`/api/models?lang=${lang}`);

/** Store a CSV's text by content: {id (SHA-256 of the text, 64 hex), bytes, rows, columns}. */
export const storeCsv = (csv) => request("/api/datasets/csv", { method: "POST", body: { csv } });
/** The text of stored CSV `id`, exactly as stored (404 once it is forgotten). */
export const getCsv = (id) => requestText(`/api/datasets/csv/${encodeURIComponent(id)}`);

/** The data a run would train on, split as it would be: points (2-D) or images (digits). */
export const previewDataset = (body, signal) => request("/api/datasets/preview", { method: "POST", body, signal });

/** The finished landscape with its faithfulness report and the init → final interpolation. */
export const getLandscape = (id, signal) => request(`${runPath(id)}/landscape`, { signal });
/** Survey an ended run's landscape again from its stored checkpoints (other directions, grid). */
export const surveyAgain = (id, body) =>
  request(`${runPath(id)}/landscape`, { method: "POST", body, headers: keyHeader(id) });
export const landscapeExportUrl = (id) => `${runPath(id)}/landscape/export`;

export const compareRuns = (body) => request("/api/landscapes/compare", { method: "POST", body });
export const interpolateRuns = (body) => request("/api/landscapes/interpolate", { method: "POST", body });
