// The playhead: play / pause / step / seek, driven by requestAnimationFrame. The playhead
// lives in the scene (`t`, an integer step); racers are synchronised by step.

import { startLive } from "./compute.js";
import { liveIsStale, liveRunning, setRuntime, setScene, state } from "./state.js";

const BASE_RATE = 40; // steps per second at 1× for short runs
const RUN_SECONDS = 6; // long runs play in about this long at 1×

let rafId = null;
let lastTime = 0;
let carry = 0; // fraction of a step accumulated between frames

/** The last step any racer has (what the scrub bar reaches). */
export function maxStep() {
  let m = 0;
  for (const t of state.runtime.traj) if (t && t.cols.n > 0) m = Math.max(m, t.cols.n - 1);
  return m;
}

function rate() {
  const budget = Math.max(maxStep(), state.scene.steps);
  return state.scene.speed * Math.max(BASE_RATE, budget / RUN_SECONDS);
}

function tick(now) {
  rafId = null;
  if (!state.runtime.playing) return;
  // A frame's time stamp can precede the performance.now() that Play read: never a step back.
  const dt = Math.max(0, Math.min(0.1, (now - lastTime) / 1000));
  lastTime = now;
  carry += dt * rate();
  const whole = Math.floor(carry);
  carry -= whole;
  const end = maxStep();
  let t = state.scene.t + whole;
  if (t >= end) {
    t = end;
    if (!liveRunning()) {
      setScene({ t });
      pause();
      return;
    }
  }
  if (t !== state.scene.t) setScene({ t });
  rafId = requestAnimationFrame(tick);
}

export function play() {
  // Live: new runs only when the scene changed since the last start or every run of it
  // failed; runs that are still starting keep going (Play, Pause, Play starts them once).
  if (state.scene.live && (liveIsStale() || state.runtime.traj.every((t) => t.status === "failed"))) {
    setScene({ t: 0 });
    startLive();
  } else if (state.scene.t >= maxStep()) {
    setScene({ t: 0 });
  }
  carry = 0;
  lastTime = performance.now();
  setRuntime({ playing: true });
  if (rafId === null) rafId = requestAnimationFrame(tick);
}

export function pause() {
  setRuntime({ playing: false });
  if (rafId !== null) cancelAnimationFrame(rafId);
  rafId = null;
}

export const toggle = () => (state.runtime.playing ? pause() : play());

/** Move the playhead to step `t` (clamped), pausing playback. */
export function seek(t) {
  pause();
  setScene({ t: Math.max(0, Math.min(maxStep(), Math.round(t))) });
}

export const stepBy = (d) => seek(state.scene.t + d);

/** After the data changed: keep the playhead inside what exists. */
export function clampPlayhead() {
  const { traj, pending, playing } = state.runtime;
  const loaded = traj.length === state.scene.racers.length && traj.every((t) => t) && !pending.some(Boolean);
  if (!loaded || playing) return;
  const end = maxStep();
  if (state.scene.t > end) setScene({ t: end });
}
