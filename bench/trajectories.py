"""Batched trajectory engine vs one optimizer per start point, measured in the same run.

    python -m bench.trajectories            # full table (about a minute)
    python -m bench.trajectories --quick    # smaller, for a smoke run

Prints markdown tables:
1. engine: µs per optimizer step for B starts, batched `(B, 2)` under one Adam vs
   B separate Adam optimizers (the naive loop). For large B the naive loop is
   timed on 100 optimizers and scaled linearly (its cost is B × one optimizer).
2. API end to end (a real uvicorn on loopback): one 300-step trajectory through
   `POST /api/trajectories`, and a 10,000-start × 500-step Adam run through
   `POST /api/runs` + `GET /steps?wait=true`, against the naive loop's cost.
3. threads under load: the batched step with 1 vs 2 torch threads while another
   process keeps one core busy.
"""

import argparse
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import torch

from backend.optim.optimizers import OPTIMIZERS
from backend.optim.schedules import SCHEDULES
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.engine import Problem, run

ROSENBROCK = SURFACES["rosenbrock"].fn
ADAM = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
        "decoupled_weight_decay": False}


def starts(b: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(b, 2, generator=g, dtype=torch.float64) * 4 - 2


def batched_us_per_step(b: int, steps: int) -> float:
    problem = Problem(
        loss=ROSENBROCK, starts=starts(b), optimizer=OPTIMIZERS["adam"], optimizer_kwargs=ADAM,
        schedule=SCHEDULES["constant"], schedule_kwargs={}, steps=steps,
        bounds=((-1e9, 1e9), (-1e9, 1e9)), record_all=b <= 100,
    )
    run(problem)  # warm-up
    began = time.perf_counter()
    run(problem)
    return (time.perf_counter() - began) / steps * 1e6


def naive_us_per_step(b: int, steps: int) -> float:
    """B separate (2,) parameters, each with its own Adam; timed on ≤ 100 and scaled."""
    timed = min(b, 100)
    params = [torch.nn.Parameter(s.clone()) for s in starts(timed)]
    opts = [torch.optim.Adam([p], **ADAM) for p in params]  # type: ignore[arg-type]

    def one_step() -> None:
        for p, opt in zip(params, opts, strict=True):
            opt.zero_grad()
            ROSENBROCK(p).backward()
            opt.step()

    one_step()
    began = time.perf_counter()
    for _ in range(steps):
        one_step()
    return (time.perf_counter() - began) / steps * 1e6 * b / timed


def engine_table(quick: bool) -> list[str]:
    rows = ["| B starts | batched µs/step | naive µs/step | naive / batched |", "|---|---|---|---|"]
    for b in (1, 100, 10_000):
        steps = 100 if quick else 300
        batched = batched_us_per_step(b, steps)
        naive = naive_us_per_step(b, 10 if quick else 30)
        note = " (scaled from 100)" if b > 100 else ""
        rows.append(f"| {b:,} | {batched:,.0f} | {naive:,.0f}{note} | {naive / batched:,.0f}× |")
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# repeated requests are timed computing, not answered from the answer cache
COMPUTING = {"DESCENT_ANSWER_CACHE_BYTES": "0"}


def serve(data_dir: str, settings: dict[str, str] = COMPUTING) -> tuple[subprocess.Popen[bytes], str]:
    """The API on loopback, its DESCENT_ settings `settings` besides the environment's."""
    port = free_port()
    env = os.environ | {"DESCENT_DATA_DIR": data_dir, **settings}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.main:app", "--port", str(port),
         "--log-level", "warning"], env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/api/health", timeout=1).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


@contextmanager
def served(settings: dict[str, str] = COMPUTING) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`serve` on a data directory of its own; the server stops on leaving."""
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = serve(data_dir, settings)
        try:
            yield process, url
        finally:
            process.terminate()
            process.wait(10)


def timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def api_table(quick: bool) -> list[str]:
    rows = ["| through the API | result | target |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = serve(data_dir)
        try:
            with httpx.Client(base_url=url, timeout=600) as client:
                body = {"kind": "surface", "surface": "rosenbrock", "steps": 300,
                        "optimizer": {"name": "adam", "lr": 0.01}, "stop": {"grad_norm": 0}}

                def trajectory() -> None:
                    response = client.post("/api/trajectories", json=body)
                    assert len(response.json()["steps"]) == 301

                for _ in range(3):
                    trajectory()
                times = sorted(timed(trajectory) * 1000 for _ in range(10 if quick else 30))
                p95 = times[int(0.95 * (len(times) - 1))]
                rows.append(f"| one 300-step Adam trajectory, `POST /api/trajectories` | "
                            f"median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms | ≤ 100 ms |")

                b, steps = (2_000, 200) if quick else (10_000, 500)
                grid = starts(b).tolist()
                big = {"kind": "surface", "surface": "rosenbrock", "starts": grid, "steps": steps,
                       "optimizer": {"name": "adam", "lr": 0.01}, "record": "final",
                       "stop": {"grad_norm": 0}}

                def batched_run() -> None:
                    run_id = client.post("/api/runs", json=big).json()["id"]
                    steps_out = client.get(f"/api/runs/{run_id}/steps", params={"wait": True})
                    assert len(steps_out.json()["steps"]) == 2

                seconds = timed(batched_run)
                naive_seconds = naive_us_per_step(b, 10) * steps / 1e6
                rows.append(
                    f"| {b:,} starts × {steps} Adam steps, `POST /api/runs` → steps | "
                    f"{seconds:.2f} s vs naive loop {naive_seconds:,.0f} s (extrapolated): "
                    f"**{naive_seconds / seconds:,.0f}×** | ≥ 1,000× |"
                )
        finally:
            process.terminate()
            process.wait(10)
    return rows


def burn(stop_at: float) -> None:
    """Keep one core busy until `stop_at` (time.time())."""
    x = 0
    while time.time() < stop_at:
        x += 1


def threads_table(quick: bool) -> list[str]:
    rows = ["| torch threads | B = 10,000 batched µs/step, idle | with one core busy |",
            "|---|---|---|"]
    steps = 50 if quick else 200
    for threads in (1, 2):
        torch.set_num_threads(threads)
        idle = batched_us_per_step(10_000, steps)
        burner = multiprocessing.Process(target=burn, args=(time.time() + 60,))
        burner.start()
        try:
            time.sleep(0.2)
            loaded = batched_us_per_step(10_000, steps)
        finally:
            burner.terminate()
            burner.join()
        rows.append(f"| {threads} | {idle:,.0f} | {loaded:,.0f} |")
    torch.set_num_threads(1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the server's default per worker (DESCENT_TORCH_THREADS)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, Adam on Rosenbrock, float64\n")
    for table in (engine_table(args.quick), api_table(args.quick), threads_table(args.quick)):
        print("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
