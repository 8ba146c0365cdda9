// Connects the plots to the store: builds each plot's input from the state and schedules
// full redraws (when surface, paths or theme change) or frame updates (when the playhead,
// overlays or focus move), batched per animation frame.

import { round } from "../../shared/format.js";
import { invalidate } from "../../shared/frame.js";
import { findInfo, racerLabel } from "../../shared/hyper.js";
import { t } from "../../shared/i18n.js";
import { racerColor } from "../../shared/palette.js";
import { observePlotBoxes, theme } from "../../shared/plots.js";
import { applyRegimeCell, regimeCurrent } from "../analysis.js";
import { createBasins, createRegime } from "../plots/maps.js";
import { createContour } from "../plots/contour.js";
import { createSeries } from "../plots/series.js";
import { createSurface3d } from "../plots/surface3d.js";
import { startOf } from "../spec.js";
import { gridKey, setScene, state, surfaceInfo } from "../state.js";

const EMPTY = { n: 0, x: [], y: [], step: [], loss: [], gnorm: [], steplen: [], lr: [], ex: [], ey: [], mx: [], my: [], gx: [], gy: [], batchLoss: [], records: [] };

export function createStage() {
  const lang = () => state.scene.lang;
  const pick = (xy) => setScene({ start: [round(xy[0], 4), round(xy[1], 4)], t: 0 });
  const contour = createContour(document.getElementById("contour"), {
    onPick: pick,
    labels: {
      get minimum() { return t(lang(), "minimum"); },
      get saddle() { return t(lang(), "saddle"); },
      get start() { return t(lang(), "caption_start"); },
      get savePng() { return t(lang(), "export_png"); },
    },
  });
  const s3d = createSurface3d(document.getElementById("surface3d"), { logz: "log₁₀(f − f_min)" }, { slow: () => state.runtime.slowGL });
  const series = createSeries(document.getElementById("series"), {
    get loss() { return t(lang(), "loss_plot"); },
    get lossLin() { return t(lang(), "loss_plot_lin"); },
    get grad() { return t(lang(), "grad_plot"); },
    get steplen() { return t(lang(), "steplen_plot"); },
    get lr() { return t(lang(), "lr_plot"); },
    get effX() { return t(lang(), "eff_x"); },
    get effY() { return t(lang(), "eff_y"); },
    get batch() { return t(lang(), "batch_loss_short"); },
    get short() { return state.scene.racers.map((r, i) => `${i + 1}. ${r.opt}`); },
  });
  const basins = createBasins(document.getElementById("basins"), {
    onPick: pick,
    labels: {
      get diverged() { return t(lang(), "basins_legend_diverged"); },
      get none() { return t(lang(), "basins_legend_none"); },
      get minimum() { return t(lang(), "minimum"); },
    },
  });
  const regime = createRegime(document.getElementById("regime"), {
    onPick: applyRegimeCell,
    labels: {
      get diverged() { return t(lang(), "status_diverged"); },
      get finished() { return t(lang(), "status_finished"); },
      get converged() { return t(lang(), "status_converged"); },
      get steps() { return t(lang(), "metric_steps"); },
      get loss() { return t(lang(), "metric_loss"); },
      get status() { return { converged: t(lang(), "status_converged"), finished: t(lang(), "status_finished"), diverged: t(lang(), "status_diverged") }; },
    },
  });

  let pathsMemo = { key: null, value: [] };
  let lastSeries = 0;
  let timer3d = null;
  let seriesTimer = null;
  const memo = {};

  const lastRun = {};
  const timers = {};

  /** Run `fn` in the next frame, but at most once per `ms`; later calls wait and coalesce. */
  function lazy(name, ms, fn) {
    const wait = (lastRun[name] || 0) + ms - performance.now();
    clearTimeout(timers[name]);
    const go = () => {
      timers[name] = null;
      lastRun[name] = performance.now();
      invalidate(name, fn);
    };
    if (wait <= 0) go();
    else timers[name] = setTimeout(go, wait);
  }

  /** Run `fn` in a frame once no call with this name came for `ms`. */
  function settle(name, ms, fn) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(() => {
      timers[name] = null;
      invalidate(name, fn);
    }, ms);
  }

  /** Whether `deps` differ (by identity) from the last call with this name. */
  function changed(name, deps) {
    const prev = memo[name];
    if (prev && prev.length === deps.length && prev.every((v, i) => v === deps[i])) return false;
    memo[name] = deps;
    return true;
  }

  /** The racers as the plots see them (rebuilt only when something they show changed). */
  function paths() {
    const { scene, runtime } = state;
    const cat = runtime.catalogue;
    const key = [runtime.traj, scene.racers, scene.cb, cat];
    if (pathsMemo.key && key.every((v, i) => v === pathsMemo.key[i])) return pathsMemo.value;
    const value = scene.racers.map((r, i) => {
      const tr = runtime.traj[i];
      return {
        color: racerColor(i, scene.cb),
        label: racerLabel(r, findInfo(cat.optimizers, r.opt), findInfo(cat.schedules, r.sched)),
        cols: tr ? tr.cols : EMPTY,
        hidden: r.hidden,
        key: tr ? tr.key : null,
      };
    });
    pathsMemo = { key, value };
    return value;
  }

  /** Only streamed points were added since `prev` (same runs, same looks). */
  function appendOnly(prev, next) {
    return prev && prev.length === next.length && next.every((p, i) => p.key === prev[i].key && p.cols === prev[i].cols && p.label === prev[i].label && p.hidden === prev[i].hidden && p.color === prev[i].color);
  }

  function fStar(surface) {
    if (!surface || !surface.minima.length) return null;
    return Math.min(...surface.minima.map((m) => m.value));
  }

  const frame = () => ({ t: state.scene.t, ov: state.scene.ov, focus: state.scene.focus, curvature: state.runtime.curvature });

  /** Redraw what changed. `keys`: the state keys that changed. */
  function update(keys) {
    const { scene, runtime } = state;
    const grid = runtime.grid;
    if (!grid || !runtime.catalogue || grid.key !== gridKey(scene)) return;
    const surface = surfaceInfo(scene);
    const th = theme(scene);
    const prevPs = memo.contour && memo.contour[1];
    const ps = paths();
    const start = startOf(scene, surface);
    const looks = [grid, scene.proj, scene.cb, scene.ov.ghost, start[0], start[1], scene.lang];
    const looksSame = memo.contour && looks.every((v, i) => v === memo.contour[2 + i]);
    if (changed("contour", [null, ps, ...looks])) {
      if (looksSame && appendOnly(prevPs, ps)) {
        invalidate("contour-extend", () => {
          contour.extendPaths(ps);
          contour.drawFrame(frame());
        });
      } else {
        invalidate("contour", () => contour.drawScene({ grid, surface, start, th, paths: ps, ghost: scene.ov.ghost, gridKey: grid.key }, frame()));
      }
    } else if (["t", "ov", "focus", "curvature"].some((k) => keys.has(k))) {
      invalidate("contour-frame", () => contour.drawFrame(frame()));
    }
    if (changed("series", [ps, grid, scene.proj, scene.cb, scene.focus, scene.lang, ...ps.map((p) => p.cols.n)])) {
      // Four subplots cost more than the map: while paths change fast (a slider being
      // dragged), they follow a few times a second.
      lazy("series", 200, () => series.drawScene({ paths: ps, th, fStar: fStar(surface), focus: state.scene.focus }, frame()));
    } else if ((keys.has("t") || keys.has("playing")) && !timers.series) {
      // Four subplots cost more than the map: a few updates a second while playing.
      const now = performance.now();
      if (!state.runtime.playing || now - lastSeries > 120) {
        lastSeries = now;
        invalidate("series-frame", () => series.drawFrame(frame()));
      } else {
        clearTimeout(seriesTimer);
        seriesTimer = setTimeout(() => invalidate("series-frame", () => series.drawFrame(frame())), 130);
      }
    }
    if (scene.panel === "3d" && runtime.webgl) {
      if (changed("s3d", [ps, grid, scene.proj, scene.cb, scene.panel, ...ps.map((p) => p.cols.n)])) {
        const draw = () => s3d.drawScene({ grid, surface, th, paths: ps, gridKey: grid.key }, frame());
        // Software WebGL needs most of a second per scene: there the 3D view waits until the
        // scene settles (the 2D views come first); with a GPU it follows a few times a second.
        if (runtime.slowGL) settle("3d", 450, draw);
        else lazy("3d", 150, draw);
      } else if ((keys.has("t") || keys.has("playing")) && !timers["3d"]) {
        const draw3d = () => {
          // Thinned while playing; the last frame is always drawn once playback stops.
          if (s3d.drawFrame(frame(), !state.runtime.playing) === false) {
            clearTimeout(timer3d);
            timer3d = setTimeout(() => invalidate("3d-frame", draw3d), 100);
          }
        };
        invalidate("3d-frame", draw3d);
      }
    } else memo.s3d = null;
    if (scene.panel === "basins" && runtime.basins && !runtime.basins.error && runtime.basins.key) {
      if (changed("basins", [runtime.basins, grid, scene.proj, scene.cb, start[0], start[1], scene.lang, scene.panel])) {
        invalidate("basins", () => basins.draw({ basins: runtime.basins, grid, surface, start, th, key: grid.key }));
      }
    } else memo.basins = null;
    if (scene.panel === "regime" && runtime.regime && !runtime.regime.error) {
      const g = scene.regime;
      const current = regimeCurrent(scene);
      if (changed("regime", [runtime.regime, g.metric, g.xlog, g.ylog, scene.proj, scene.cb, current[0], current[1], scene.lang, scene.panel])) {
        invalidate("regime", () => regime.draw({ regime: runtime.regime, th, metric: g.metric, current, xlog: g.xlog, ylog: g.ylog, xName: g.x, yName: g.y || "", fStar: fStar(surface) ?? 0, key: runtime.regime.key }));
      }
    } else memo.regime = null;
  }

  observePlotBoxes(document.querySelectorAll(".plot"));

  return { update, contourPng: () => contour.toPng() };
}
