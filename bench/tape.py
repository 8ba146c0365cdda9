"""A gradient replayed from autograd's calls against autograd itself: `python -m bench.tape`.

    python -m bench.tape            # every surface, 300-step Adam runs of 1 and 200 starts
    python -m bench.tape --quick    # fewer repeats

One process, one torch thread (the server's default per worker), the variants called in turns
so a machine whose speed drifts weighs on all of them alike:

1. per surface, and for two typed formulas (a short one and one near the longest allowed),
   one gradient (L and ∂L/∂w) at a (1, 2) point: autograd as the engine calls it
   (`loss.backward(seed)` into the leaf's `.grad`) against `backend.surfaces.tape` replaying
   the calls autograd made;
2. the engine's 300-step Adam run on Rosenbrock (bench/data.py's, what `POST /api/trajectories`
   computes) with 1 and with 200 starts, and a 300-step mini-batch SGD run on the course's
   linear regression (batches of 16), taped against autograd (no tape kept, none recorded),
   beside the plain torch loop of the Adam run (`bench.data.plain_loop`), the issue's baseline.

Each variant's result is checked against autograd's before timing: the same bits.
"""

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from backend.runs.surface import build_problem, formula_loss
from backend.surfaces import engine
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.spec import SurfaceRun
from backend.surfaces.tape import Tapes, record
from bench.data import TRAJECTORY, medians_ms, plain_loop

# typed surfaces: the API's example, and one near the longest formula a request may type (500 characters)
_LONG = " + ".join(f"sin({i}*x + y) * cos(x - {i}*y)" for i in range(1, 16))
FORMULAS = {"formula `sin(x)*cos(y) + 0.1*(x^2 + y^2)`": "sin(x)*cos(y) + 0.1*(x^2 + y^2)",
            f"formula Σᵢ₌₁¹⁵ `sin(i*x + y) * cos(x - i*y)` ({len(_LONG)} characters)": _LONG}


def repeated(fn: Callable[[], Any], calls: int) -> Callable[[], None]:
    def calls_of_fn() -> None:
        for _ in range(calls):
            fn()

    return calls_of_fn


def per_call_us(fns: dict[str, Callable[[], Any]], calls: int, rounds: int) -> dict[str, float]:
    """Median over rounds of each function's mean µs per call, the functions in turns."""
    ms = medians_ms({name: repeated(fn, calls) for name, fn in fns.items()}, 1, rounds)
    return {name: value * 1000 / calls for name, value in ms.items()}


def gradient_row(label: str, fn: Callable[[torch.Tensor], torch.Tensor], start: tuple[float, float],
                 rounds: int) -> str:
    w = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    seed = torch.ones(1, dtype=torch.float64)
    value, grad, tape = record(fn, w, seed)
    assert tape is not None

    def autograd() -> tuple[torch.Tensor, ...]:
        """The engine's way without a tape: `loss.backward(seed)` past its argument checks."""
        w.grad = None
        loss = fn(w)
        engine._backward(loss, seed)
        assert w.grad is not None
        return loss.detach(), w.grad

    for got in (tape(w.detach(), seed), autograd()):
        assert torch.equal(got[0], value) and torch.equal(got[1], grad)
    us = per_call_us({"autograd": autograd, "tape": lambda: tape(w.detach(), seed)}, 200, rounds)
    return (f"| {label} | {us['autograd']:.0f} µs | {us['tape']:.0f} µs | "
            f"{us['tape'] / us['autograd']:.2f}× |")


def engine_run(problem: engine.Problem, taped: bool) -> Callable[[], Any]:
    """The engine on `problem`, with the process's tapes, or with none kept and none recorded."""
    kept = engine.TAPES

    def run() -> Any:
        engine.TAPES, engine.TAPE_MIN_STEPS = (kept, 32) if taped else (Tapes(), 10**9)
        try:
            return engine.run(problem)
        finally:
            engine.TAPES, engine.TAPE_MIN_STEPS = kept, 32

    return run


MINIBATCH = {"kind": "surface", "surface": "linear_regression", "steps": 300, "batch_size": 16,
             "optimizer": {"name": "sgd", "lr": 0.05}, "stop": {"grad_norm": 0}}


def run_rows(rounds: int) -> list[str]:
    rows = ["| 300-step run | autograd | tape | tape / autograd | plain torch loop (Adam, Rosenbrock, "
            "one start) |", "|---|---|---|---|---|"]
    generator = torch.Generator().manual_seed(0)
    many = (torch.rand(200, 2, generator=generator, dtype=torch.float64) * 4 - 2).tolist()
    for label, request in (("Adam on Rosenbrock, 1 start", TRAJECTORY),
                           ("Adam on Rosenbrock, 200 starts", TRAJECTORY | {"starts": many}),
                           ("mini-batch SGD on the course's regression, batches of 16", MINIBATCH)):
        problem = build_problem(SurfaceRun.model_validate(request), torch.device("cpu"))
        taped, plain = engine_run(problem, True), engine_run(problem, False)
        assert torch.equal(taped().params, plain().params)
        ms = medians_ms({"autograd": plain, "tape": taped, "loop": lambda: plain_loop(300)}, 2, rounds)
        rows.append(f"| {label} | {ms['autograd']:.1f} ms | {ms['tape']:.1f} ms | "
                    f"{ms['tape'] / ms['autograd']:.2f}× | {ms['loop']:.1f} ms |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rounds = 5 if args.quick else 25
    began = time.perf_counter()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    rows = ["| surface | autograd | tape | tape / autograd |", "|---|---|---|---|"]
    rows += [gradient_row(s.id, s.fn, s.start, rounds) for s in SURFACES.values()]
    rows += [gradient_row(label, formula_loss(text), (0.5, -1.0), rounds) for label, text in FORMULAS.items()]
    print("\n".join(rows) + "\n")
    print("\n".join(run_rows(rounds)))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end, {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
