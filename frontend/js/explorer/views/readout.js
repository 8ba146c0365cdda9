// The numbers at the playhead for the focused racer: point, loss, gradient, lr used, the
// optimizer's state buffers, per-axis effective step; and the curvature there (Hessian
// eigenvalues / eigenvectors) with GD's stability bound 2/λmax next to the lr.

import { h } from "../../shared/dom.js";
import { failureNote } from "../../shared/failure.js";
import { fmt } from "../../shared/format.js";
import { findInfo } from "../../shared/hyper.js";
import { t } from "../../shared/i18n.js";
import { palette, racerColor } from "../../shared/palette.js";
import { queuedWords } from "../../shared/queue.js";
import { retryCurvature } from "../analysis.js";
import { frameIndex } from "../numerics.js";
import { state } from "../state.js";

/**
 * Where the lr's limit is known in closed form (on the local quadratic model): plain SGD
 * needs lr < 2/λmax, heavy-ball momentum μ lr < 2(1 + μ)/λmax. Other methods rescale their
 * steps, so no single bound on lr applies (null).
 */
function stabilityBound(racer, opt, cv) {
  if (!opt || opt.class !== "torch.optim.SGD" || cv.max_stable_lr === null) return null;
  const hp = (name) => {
    const h0 = opt.hyperparameters.find((x) => x.name === name);
    return name in racer.hp ? racer.hp[name] : h0 ? h0.default : 0;
  };
  const mu = hp("momentum") || 0;
  if (mu === 0) return { value: cv.max_stable_lr, label: "2/λmax" };
  if (hp("nesterov") || hp("dampening")) return null;
  return { value: (1 + mu) * cv.max_stable_lr, label: "2(1+μ)/λmax" };
}

const pair = (v) => (v ? `(${fmt(v[0])}, ${fmt(v[1])})` : "—");

export function createReadout(root) {
  function render() {
    const { scene, runtime } = state;
    const lang = scene.lang;
    const i = Math.min(scene.focus, scene.racers.length - 1);
    const tr = runtime.traj[i];
    const cat = runtime.catalogue;
    if (!cat || !tr || !tr.cols.n) {
      const started = tr && tr.live; // a stored run was asked for: queued until its first steps
      const words = scene.live && !started ? t(lang, "live_hint")
        : started && tr.status === "queued" ? queuedWords(lang, tr.ahead) : t(lang, "computing");
      root.replaceChildren(h("p", { class: "hint" }, words));
      return;
    }
    const c = tr.cols;
    const k = frameIndex(scene.t, c.n);
    const rec = c.records[k];
    const opt = findInfo(cat.optimizers, scene.racers[i].opt);
    const color = racerColor(i, scene.cb);
    const cv = runtime.curvature;
    const point = rec.params;
    const cvHere = cv && point && cv.point[0] === point[0] && cv.point[1] === point[1] && !cv.error ? cv : null;
    // The stability bound next to the lr, so a step size that blows up shows why in numbers.
    const bound = cvHere ? stabilityBound(scene.racers[i], opt, cvHere) : null;
    let lrCell = fmt(rec.lr, 4);
    if (bound && rec.lr !== null) {
      const bad = rec.lr > bound.value;
      lrCell = h("span", {}, fmt(rec.lr, 4), h("span", { class: bad ? "bound bad" : "bound ok" }, ` ${bad ? ">" : "<"} ${bound.label} = ${fmt(bound.value, 3)}`));
    }
    const rows = [
      ["w = (x, y)", pair(rec.params)],
      ["f(w)", fmt(rec.loss, 5)],
      ["∇L", `${pair(rec.grad)}  ‖·‖ ${fmt(c.gnorm[k])}`],
      ["lr", lrCell],
    ];
    if (rec.batch_loss !== undefined) rows.push([t(lang, "batch_loss_short"), fmt(rec.batch_loss)], [t(lang, "epoch"), String(rec.epoch)]);
    for (const [name, v] of Object.entries(rec.state || {})) rows.push([name, Array.isArray(v) ? pair(v) : fmt(v)]);
    if (c.ex[k] !== null) rows.push(["η_eff (x, y)", pair([c.ex[k], c.ey[k]])]);
    const children = [
      h("h3", {}, h("span", { class: "swatch", style: { background: color } }), `${opt ? opt.name : ""} · ${t(lang, "readout", { k: c.step[k] })}`),
      h("table", {}, h("tbody", {}, rows.map(([a, b]) => h("tr", {}, h("td", {}, a), h("td", {}, b))))),
    ];
    if (cv && point && cv.point[0] === point[0] && cv.point[1] === point[1]) {
      children.push(h("h3", {}, t(lang, "curvature")));
      if (cv.error) children.push(failureNote(lang, cv.error, retryCurvature));
      else {
        const [l0, l1] = cv.eigenvalues;
        const [v0, v1] = cv.eigenvectors;
        children.push(h("table", {}, h("tbody", {},
          h("tr", {}, h("td", {}, "λmin · v"), h("td", {}, `${fmt(l0)} · ${pair(v0)}`)),
          h("tr", {}, h("td", {}, "λmax · v"), h("td", {}, `${fmt(l1)} · ${pair(v1)}`)),
          h("tr", {}, h("td", {}, "κ, 2/λmax"), h("td", {}, `${l0 > 0 ? fmt(l1 / l0) : "—"}, ${cv.max_stable_lr === null ? "—" : fmt(cv.max_stable_lr, 4)}`)),
          h("tr", {}, h("td", {}, "H"), h("td", {}, `[[${fmt(cv.hessian[0][0])}, ${fmt(cv.hessian[0][1])}], [${fmt(cv.hessian[1][0])}, ${fmt(cv.hessian[1][1])}]]`)),
        )));
        const lr = rec.lr;
        if (cv.max_stable_lr === null) children.push(h("p", { class: "verdict ok" }, t(lang, "no_bound")));
        else if (bound && lr !== null) {
          const bad = lr > bound.value;
          children.push(h("p", { class: `verdict ${bad ? "bad" : "ok"}` }, t(lang, bad ? "lr_vs_bound_bad" : "lr_vs_bound_ok", { lr: fmt(lr, 4), bound: bound.label })));
        } else children.push(h("p", { class: "hint" }, t(lang, "bound_adaptive", { opt: opt ? opt.name : "" })));
      }
    }
    if (scene.ov.grad || scene.ov.mom || scene.ov.eff) {
      const keys = [];
      const c = palette(scene.cb, scene.proj);
      if (scene.ov.grad) keys.push(h("span", {}, h("span", { class: "key", style: { background: c.ink } }), "−∇L  "));
      if (scene.ov.mom) keys.push(h("span", {}, h("span", { class: "key", style: { background: c.momentum } }), `${t(lang, "ov_mom")}  `));
      if (scene.ov.eff) keys.push(h("span", {}, h("span", { class: "key", style: { background: c.effective } }), t(lang, "ov_eff")));
      children.push(h("p", { class: "hint" }, keys, h("br"), t(lang, "arrows_note")));
    }
    root.replaceChildren(...children);
  }
  return { render };
}
