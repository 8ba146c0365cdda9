// Batch drawing per animation frame: any number of `invalidate(name, fn)` calls between two
// frames run `fn` once, in the next requestAnimationFrame. Renderers register named jobs;
// the last `fn` given for a name wins.

const jobs = new Map();
let scheduled = false;
const afterFrame = [];

function run() {
  scheduled = false;
  const now = [...jobs.values()];
  jobs.clear();
  for (const fn of now) {
    try {
      fn();
    } catch (err) {
      console.error(err); // eslint-disable-line no-console
    }
  }
  for (const fn of afterFrame.splice(0)) fn();
}

export function invalidate(name, fn) {
  jobs.set(name, fn);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(run);
  }
}

/** Resolve after the next frame has been drawn (tests and exports wait on it). */
export function nextFrame() {
  return new Promise((resolve) => {
    afterFrame.push(resolve);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(run);
    }
  });
}
