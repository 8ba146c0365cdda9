// Training curves against the epoch: the loss of every mini-batch (thin, light), the train
// and validation loss of each epoch (0 = the initialisation), their accuracy on a second
// axis; below, the lr the optimizer used at each step and the batch gradient's norm ‖∇L‖
// before it (log axis on the right). When the run ends, vertical rules
// mark the best epoch (early stopping's choice) and where it stopped or diverged.
//
// Narrow API: drawScene(run, ...) rebuilds with Plotly.react; extend(run) appends what
// arrived since with Plotly.extendTraces; markEnd(summary) draws the rules.

import { fill, h } from "../../shared/dom.js";
import { fmt } from "../../shared/format.js";
import { t } from "../../shared/i18n.js";
import { palette } from "../../shared/palette.js";
import { FRACTION_TICKS, config } from "../../shared/plots.js";
import { batchesPerEpoch } from "../spec.js";

const MAX_STEP_POINTS = 4000; // batch-loss, lr and ‖∇L‖ points drawn per run (every k-th step)

// Trace order on the loss plot.
const BATCH = 0;
const TRAIN = 1;
const VAL = 2;
const TRAIN_ACC = 3;
const VAL_ACC = 4;

const pos = (v) => (v === null || !(v > 0) ? null : v);
const LR_HEADROOM = 1.15; // the lr axis reaches this far above the largest lr: a constant lr is a line, not the frame

let ruler = null; // a canvas context that measures text

/** The width in px of `text` in the plot's font at `size` (the widest of its lines). */
function textWidth(text, font, size) {
  ruler ??= document.createElement("canvas").getContext("2d");
  ruler.font = `${size}px ${font}`;
  return Math.max(...text.split("<br>").map((line) => ruler.measureText(line).width));
}

const LABEL_GAP = 3; // px between a rule and its label
const LABEL_PAD = 4; // px the label's background adds to its text

/**
 * Where a rule's label goes so that it stays inside the plot: `at` px from the plot's left
 * edge of `width` px. On the right of the rule where it fits (else the left); where it fits
 * neither, its parts (" · ") on lines of their own, on the side with more room. Returns the
 * label, its side and its width in px.
 */
function labelPlace(text, at, width, measure) {
  const split = text.replaceAll(" · ", "<br>");
  for (const label of [text, split]) {
    const wide = measure(label) + LABEL_PAD;
    if (wide + LABEL_GAP <= width - at) return { label, right: false, wide };
    if (wide + LABEL_GAP <= at) return { label, right: true, wide };
  }
  return { label: split, right: at > width - at, wide: measure(split) + LABEL_PAD };
}

/** The largest lr in `values` (0 when none). */
const lrPeak = (values) => values.reduce((top, v) => (v > top ? v : top), 0);

/** The key to the lines, as page elements (a Plotly legend would crowd the small plot). */
export function drawLegend(root, lang, cb, classify) {
  const c = palette(cb);
  const key = (label, color, style) => h("span", {}, h("span", { class: "line-key", style: { borderTopColor: color, borderTopStyle: style } }), label);
  fill(
    root,
    key(t(lang, "batch_loss"), c.batch, "solid"),
    key(t(lang, "train_loss"), c.train, "solid"),
    key(t(lang, "val_loss"), c.val, "solid"),
    classify ? key(t(lang, "accuracy"), c.muted, "dotted") : null,
  );
}

/** Steps per epoch of a run: the summary's, else from the training split size. */
function stepsPerEpoch(run) {
  if (run.summary) return run.summary.batches_per_epoch || 1;
  return run.nTrain ? batchesPerEpoch(run.nTrain, run.body.batch_size) : null;
}

export function createCurves(lossGd, lrGd, legendEl) {
  let drawn = null; // {id, key, steps, epochs, stride, bpe, ended}

  /** Step columns from index `from`, thinned to every `stride`-th step, on the epoch axis. */
  function stepPoints(run, from, stride, bpe) {
    const c = run.steps;
    const out = { x: [], step: [], loss: [], lr: [], grad: [] };
    for (let i = from; i < c.step.length; i++) {
      if (c.step[i] % stride !== 0) continue;
      out.x.push(bpe ? c.step[i] / bpe : c.epoch[i]);
      out.step.push(c.step[i]);
      out.loss.push(pos(c.loss[i]));
      out.lr.push(c.lr[i]);
      out.grad.push(pos(c.gradNorm[i]));
    }
    return out;
  }

  function drawScene(run, th, lang, cb, task) {
    const bpe = run ? stepsPerEpoch(run) : null;
    const total = run ? (bpe || 1) * run.body.epochs : 0;
    const stride = Math.max(1, Math.ceil(total / MAX_STEP_POINTS));
    const sp = run ? stepPoints(run, 0, stride, bpe) : { x: [], step: [], loss: [], lr: [], grad: [] };
    const e = run ? run.epochs : { epoch: [], trainLoss: [], valLoss: [], trainAcc: [], valAcc: [] };
    // Accuracy axis: once epochs say so; before, as the data's task says.
    const classify = run && run.epochs.epoch.length ? run.epochs.trainAcc.some((v) => v !== null) : task === "classification";
    const { train, val, batch, gradNorm } = th.c;
    const w = th.lineWidth;
    const data = [
      { type: "scatter", mode: "lines", name: t(lang, "batch_loss"), x: sp.x, y: sp.loss, customdata: sp.step, line: { color: batch, width: 0.8 }, hovertemplate: `${t(lang, "step")} %{customdata}: %{y:.4g}<extra></extra>` },
      { type: "scatter", mode: "lines+markers", name: t(lang, "train_loss"), x: e.epoch.slice(), y: e.trainLoss.map(pos), line: { color: train, width: w }, marker: { size: th.proj ? 6 : 4 } },
      { type: "scatter", mode: "lines+markers", name: t(lang, "val_loss"), x: e.epoch.slice(), y: e.valLoss.map(pos), line: { color: val, width: w }, marker: { size: th.proj ? 6 : 4 } },
      { type: "scatter", mode: "lines", name: t(lang, "train_acc"), x: e.epoch.slice(), y: e.trainAcc.slice(), yaxis: "y2", visible: classify, line: { color: train, width: w * 0.7, dash: "dot" } },
      { type: "scatter", mode: "lines", name: t(lang, "val_acc"), x: e.epoch.slice(), y: e.valAcc.slice(), yaxis: "y2", visible: classify, line: { color: val, width: w * 0.7, dash: "dot" } },
    ];
    const axis = { gridcolor: th.grid, zerolinecolor: th.grid, tickfont: { size: th.small }, linecolor: th.axis, automargin: true };
    const epochs = run ? run.body.epochs : 10;
    Plotly.react(lossGd, data, {
      margin: { l: 52, r: 58, t: 8, b: 36 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
      xaxis: { ...axis, title: { text: t(lang, "epoch"), font: { size: th.small }, standoff: 4 }, range: [0, epochs] },
      // projector type on a short plot: decades only (nticks 6 gave 1, 2, 5 a decade, overlapping)
      yaxis: { ...axis, type: "log", nticks: th.proj ? 3 : 6, exponentformat: "power", showticklabels: Boolean(run), title: { text: t(lang, "loss"), font: { size: th.small }, standoff: 2 } },
      yaxis2: {
        ...axis, overlaying: "y", side: "right", range: [0, 1.02], showgrid: false, tickformat: ".0%", tickvals: FRACTION_TICKS, visible: classify,
        title: { text: t(lang, "accuracy"), font: { size: th.small }, standoff: 2 }, // the legend says dotted
      },
      showlegend: false, hovermode: "closest",
      annotations: run ? [] : [{ xref: "paper", yref: "paper", x: 0.5, y: 0.5, text: t(lang, "curves_empty"), showarrow: false, font: { size: th.small + 1, color: th.axis } }],
    }, config("descent-lab-curves"));
    const lrTop = lrPeak(sp.lr);
    Plotly.react(lrGd, [
      { type: "scatter", mode: "lines", name: "lr", x: sp.step, y: sp.lr, line: { color: th.ink, width: th.proj ? 2.4 : 1.5, shape: "hv" }, hovertemplate: `${t(lang, "step")} %{x}: lr = %{y:.4g}<extra></extra>` },
      { type: "scatter", mode: "lines", name: "‖∇L‖", x: sp.step, y: sp.grad, yaxis: "y2", line: { color: gradNorm, width: th.proj ? 1.6 : 0.9 }, opacity: 0.8, hovertemplate: `${t(lang, "step")} %{x}: ‖∇L‖ = %{y:.4g}<extra></extra>` },
    ], {
      margin: { l: 52, r: 58, t: 6, b: th.proj ? 40 : 32 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
      xaxis: { ...axis, title: { text: t(lang, "step"), font: { size: th.small }, standoff: 4 }, range: [0, Math.max(1, total)] },
      yaxis: {
        ...axis, title: { text: "lr", font: { size: th.small }, standoff: 6 }, nticks: 3, showticklabels: Boolean(run),
        ...(lrTop > 0 ? { range: [0, lrTop * LR_HEADROOM] } : { rangemode: "tozero" }),
      },
      yaxis2: {
        // "auto": an overlaying axis would otherwise put its ticks at the lr axis's heights, off the decades
        ...axis, overlaying: "y", side: "right", type: "log", tickmode: "auto", nticks: 3, exponentformat: "power", showgrid: false, showticklabels: Boolean(run),
        title: { text: "‖∇L‖", font: { size: th.small, color: gradNorm }, standoff: 6 },
      },
      showlegend: false,
    }, config("descent-lab-lr"));
    drawLegend(legendEl, lang, cb, classify);
    drawn = { id: run ? run.id : null, steps: run ? run.steps.step.length : 0, epochs: e.epoch.length, planned: epochs, stride, bpe, lrTop, ended: false, lang, th, cb, task };
    if (run && run.summary) markEnd(run.summary);
  }

  function extend(run) {
    const from = drawn.steps;
    const sp = stepPoints(run, from, drawn.stride, drawn.bpe);
    if (sp.x.length) {
      Plotly.extendTraces(lossGd, { x: [sp.x], y: [sp.loss], customdata: [sp.step] }, [BATCH]);
      Plotly.extendTraces(lrGd, { x: [sp.step, sp.step], y: [sp.lr, sp.grad] }, [0, 1]);
      const lrTop = lrPeak(sp.lr);
      if (lrTop > drawn.lrTop) { // a schedule that raises the lr (warm-up, cycles)
        drawn.lrTop = lrTop;
        Plotly.relayout(lrGd, { "yaxis.range": [0, lrTop * LR_HEADROOM] });
      }
    }
    drawn.steps = run.steps.step.length;
    const e = run.epochs;
    const k = drawn.epochs;
    if (e.epoch.length > k) {
      const xs = e.epoch.slice(k);
      Plotly.extendTraces(lossGd, {
        x: [xs, xs, xs, xs],
        y: [e.trainLoss.slice(k).map(pos), e.valLoss.slice(k).map(pos), e.trainAcc.slice(k), e.valAcc.slice(k)],
      }, [TRAIN, VAL, TRAIN_ACC, VAL_ACC]);
      drawn.epochs = e.epoch.length;
    }
  }

  /** Rules at the best epoch, where training stopped early, or where it diverged. */
  function markEnd(summary) {
    const { th, lang } = drawn;
    const shapes = [];
    const annotations = [];
    const { planned } = drawn;
    const zoom = summary.epochs_run < planned / 2 ? Math.max(1, Math.ceil(summary.epochs_run * 1.15)) : planned;
    const { w: plotWidth, h: plotHeight } = lossGd._fullLayout._size;
    const measure = (text) => textWidth(text, lossGd._fullLayout.font.family, th.small);
    const boxes = []; // the labels drawn so far, px from the plot's top left: {x0, x1, y0, y1}
    const rule = (name, x, color, text, dash) => {
      const at = (x / zoom) * plotWidth;
      const { label, right, wide } = labelPlace(text, at, plotWidth, measure);
      const height = label.split("<br>").length * th.small * 1.3 + LABEL_PAD;
      const x0 = right ? at - LABEL_GAP - wide : at + LABEL_GAP;
      // from the top, below every label drawn so far that it would cover
      let top = 0.05 * plotHeight;
      for (const b of [...boxes].sort((a, c) => a.y0 - c.y0)) {
        if (b.x0 < x0 + wide && x0 < b.x1 && b.y0 < top + height && top < b.y1) top = b.y1 + 2;
      }
      boxes.push({ x0, x1: x0 + wide, y0: top, y1: top + height });
      shapes.push({ type: "line", name, xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color, width: th.proj ? 3 : 2, dash } });
      annotations.push({ name, x, xref: "x", y: 1 - top / plotHeight, yref: "paper", yanchor: "top", text: label, showarrow: false, xanchor: right ? "right" : "left", xshift: right ? -LABEL_GAP : LABEL_GAP, font: { size: th.small, color }, bgcolor: th.c.veil });
    };
    if (summary.best_epoch !== null && summary.best_epoch !== undefined && summary.n_val > 0) {
      const text = `${t(lang, "best_mark", { epoch: summary.best_epoch })} · val ${fmt(summary.best_val_loss, 3)}`;
      rule("best", summary.best_epoch, th.c.best, text, "dash");
    }
    if (summary.stopped_early) rule("stop", summary.epochs_run, th.c.stopped, t(lang, "stop_mark", { epoch: summary.epochs_run }), "dot");
    if (summary.diverged_at_step !== null && summary.diverged_at_step !== undefined) {
      const x = drawn.bpe ? summary.diverged_at_step / drawn.bpe : summary.epochs_run;
      rule("diverged", x, th.c.diverged, t(lang, "diverged_mark", { step: summary.diverged_at_step }), "solid");
    }
    if (summary.converged_at_step !== null && summary.converged_at_step !== undefined) {
      const x = drawn.bpe ? summary.converged_at_step / drawn.bpe : summary.epochs_run;
      rule("converged", x, th.c.converged, t(lang, "converged_mark", { step: summary.converged_at_step }), "dashdot");
    }
    // A run that ended far short of its epochs (cancelled, diverged, stopped early): zoom in.
    Plotly.relayout(lossGd, { shapes, annotations, "xaxis.range": [0, zoom] });
    if (zoom !== planned && drawn.bpe) Plotly.relayout(lrGd, { "xaxis.range": [0, zoom * drawn.bpe] });
    drawn.ended = true;
  }

  /** Draw what changed in `run` since the last call (null: empty axes for data of `task`). */
  function update(run, th, lang, cb, task) {
    const restyled = !drawn || drawn.lang !== lang || drawn.th.proj !== th.proj || drawn.cb !== cb;
    if (!run) {
      if (restyled || drawn.id !== null || drawn.task !== task) drawScene(null, th, lang, cb, task);
      return;
    }
    const fresh = restyled || drawn.id !== run.id || run.steps.step.length < drawn.steps
      || run.epochs.epoch.length < drawn.epochs || (run.summary && drawn.bpe !== stepsPerEpoch(run));
    if (fresh) drawScene(run, th, lang, cb, task);
    else {
      extend(run);
      if (run.summary && !drawn.ended) markEnd(run.summary);
    }
  }

  return { update };
}
