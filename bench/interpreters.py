"""The same 300-step trajectory under several Python interpreters, measured in turns.

    python -m bench.interpreters PYTHON [PYTHON ...]            # e.g. two venvs' bin/python
    python -m bench.interpreters --quick PYTHON [PYTHON ...]    # fewer rounds

Each PYTHON needs this project installed (a venv made from that interpreter, e.g.
`make clean install PYTHON=/usr/bin/python3`). Every round starts one process per interpreter,
one after another, so a machine whose speed drifts weighs on all of them alike. Each process
times, in its own turns, the engine on the 300-step Adam run of bench/data.py (`engine.run`,
what `POST /api/trajectories` computes) and the plain torch loop of the same steps
(`bench.data.plain_loop`), and prints its medians. The table gives the median over rounds and
each interpreter's ratio to the first one, the baseline.

The engine's step loop is Python calling small torch ops, so the interpreter's own speed
shows: a CPython built with profile-guided optimisation and linked statically (Debian's
/usr/bin/python3) against a plain source build with a shared libpython (pyenv's default).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import torch

ROUNDS, QUICK_ROUNDS = 6, 2
WARM, REPEATS = 5, 15


class Measured(NamedTuple):
    """One process's medians, and what it ran on."""

    engine_ms: float
    plain_ms: float
    version: str
    executable: str  # its real path
    libpython: str  # "shared object" when the interpreter loads libpython, else "static"


def measure() -> Measured:
    """This interpreter: the engine's and the plain loop's median ms, in turns."""
    from backend.runs.surface import build_problem
    from backend.surfaces import engine
    from backend.surfaces.spec import SurfaceRun
    from bench.data import TRAJECTORY, medians_ms, plain_loop

    torch.set_num_threads(1)  # the server's default per worker (DESCENT_TORCH_THREADS)
    problem = build_problem(SurfaceRun.model_validate(TRAJECTORY), torch.device("cpu"))
    ms = medians_ms({"engine": lambda: engine.run(problem), "plain": lambda: plain_loop(300)}, WARM, REPEATS)
    shared = "libpython" in Path("/proc/self/maps").read_text()
    return Measured(ms["engine"], ms["plain"], sys.version.split()[0], os.path.realpath(sys.executable),
                    "shared object" if shared else "static")


def one_round(python: str) -> Measured:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([python, "-m", "bench.interpreters", "--child"], cwd=root, check=True,
                          capture_output=True, text=True)
    return Measured(**json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pythons", nargs="*", help="interpreters to compare; the first is the baseline")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure()._asdict()))
        return
    pythons = args.pythons or [sys.executable]
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {rounds} rounds of {REPEATS} runs each, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    results: dict[str, list[Measured]] = {python: [] for python in pythons}
    for _ in range(rounds):
        for python in pythons:
            results[python].append(one_round(python))
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    medians = {python: (statistics.median(r.engine_ms for r in runs),
                        statistics.median(r.plain_ms for r in runs)) for python, runs in results.items()}
    base_engine, base_plain = medians[pythons[0]]
    print("| interpreter | libpython | engine, 300-step Adam | plain torch loop |")
    print("|---|---|---|---|")
    for python, runs in results.items():
        engine_ms, plain_ms = medians[python]
        print(f"| {python} → {runs[0].executable} (CPython {runs[0].version}) | {runs[0].libpython} | "
              f"{engine_ms:.1f} ms ({engine_ms / base_engine:.2f}×) | "
              f"{plain_ms:.1f} ms ({plain_ms / base_plain:.2f}×) |")


if __name__ == "__main__":
    main()
