"""Trajectory data at scale, against a real server (#13): `python -m bench.data`.

    python -m bench.data            # the largest run a request may store (a few minutes)
    python -m bench.data --quick    # a small run and fewer repeats, for a smoke run

Starts the API (uvicorn, embedded executor) on a free loopback port with a data
directory of its own, and measures:

1. the largest run a request may store — 200 starts × 9,999 Adam steps on
   Rosenbrock with `record: "all"` (2,000,000 start-steps): the time from queueing it
   to its end (computed and stored), the server's resident
   memory (VmRSS of the uvicorn process, sampled every 50 ms) before the run, its
   peak while the run is computed and stored, and its peak while the exports are
   read; and the bytes in the data directory once the run has ended;
2. its exports, `GET /api/runs/{id}/steps` in each format: the time to read all of
   it and its size, and the slowest `GET /api/health` answer while the export ran
   (polled every 50 ms from a process of its own: how long the event loop stalls
   for everyone else); then twenty CSV downloads of it at once: resident growth and
   the slowest health answer while they run;
3. a 300-step Adam trajectory: median wall time through `POST /api/trajectories`,
   and through `POST /api/runs` + `GET /steps?wait=true`, against the baseline of a
   plain torch loop of the same optimizer from the same start in this process
   (forward, backward, `step()`, a copy of the point; one torch thread, the
   server's default per worker), the three called in turns.

The machine's load average is printed at the start and the end: on a shared machine
the absolute times move with it, the ratios to the plain loop much less.

Prints a markdown table with the issue's targets beside each measurement.
"""

import argparse
import gc
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import torch

from backend.surfaces.catalogue import SURFACES
from backend.surfaces.spec import SurfaceRun
from bench.trajectories import serve

MIB = 1024 * 1024
FORMATS = ("csv", "ndjson", "json", "parquet")
EXPORT_TARGET_S = {"csv": 10, "ndjson": 10, "json": 5, "parquet": 5}
DOWNLOADS = 20  # concurrent downloads of the largest run ("stay within the bound")
TRAJECTORY = {"kind": "surface", "surface": "rosenbrock", "steps": 300,
              "optimizer": {"name": "adam", "lr": 0.01}, "stop": {"grad_norm": 0}}


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def disk_mib(directory: str) -> float:
    """Bytes of every file under `directory`, MiB."""
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file()) / MIB


@dataclass
class Sampler:
    """Samples `measure()` every `every` seconds in a thread; `peak` is the largest value."""

    measure: Callable[[], float]
    every: float = 0.05
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def running(self) -> Iterator["Sampler"]:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.measure())
            self._stop.wait(self.every)


def _probe(url: str, ready: Any, stop: Any, slowest: Any) -> None:
    gc.freeze()  # this process imported torch too: a full collection here would take ~150 ms
    with httpx.Client(base_url=url, timeout=60) as client:
        client.get("/api/health").raise_for_status()  # not timed: the first also connects and imports
        ready.set()
        while not stop.is_set():
            began = time.perf_counter()
            client.get("/api/health").raise_for_status()
            slowest.value = max(slowest.value, time.perf_counter() - began)
            stop.wait(0.05)


@contextmanager
def slowest_health(url: str) -> Iterator[Callable[[], float]]:
    """The slowest `GET /api/health` answer (seconds) while the block runs: asked every 50 ms, on
    a connection of its own like another user's, from a process of its own (a probe in this process
    would also wait for this process's own GIL while it reads a download)."""
    spawn = multiprocessing.get_context("spawn")
    ready, stop, slowest = spawn.Event(), spawn.Event(), spawn.Value("d", 0.0)
    probe = spawn.Process(target=_probe, args=(url, ready, stop, slowest))
    probe.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the health probe did not start")
        yield lambda: float(slowest.value)
    finally:
        stop.set()
        probe.join()


def medians_ms(fns: dict[str, Callable[[], Any]], warm: int, repeats: int) -> dict[str, float]:
    """Median wall time of each function, the functions called in turns (so a machine whose
    load changes weighs on all of them alike), after `warm` rounds."""
    for _ in range(warm):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            began = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def plain_loop(steps: int) -> list[list[float]]:
    """The baseline: torch.optim.Adam on the surface's (2,) point, nothing else."""
    request = SurfaceRun.model_validate(TRAJECTORY)
    point = torch.nn.Parameter(torch.tensor(request.start_points()[0], dtype=torch.float64))
    optimizer = torch.optim.Adam([point], lr=0.01)
    loss = SURFACES["rosenbrock"].fn
    path = [point.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss(point).backward()
        optimizer.step()
        path.append(point.detach().clone())
    return torch.stack(path).tolist()


def big_run(client: httpx.Client, starts: int, steps: int) -> str:
    """Queue the largest run and wait for it to end; its id."""
    g = torch.Generator().manual_seed(0)
    grid = (torch.rand(starts, 2, generator=g, dtype=torch.float64) * 4 - 2).tolist()
    body = {"kind": "surface", "surface": "rosenbrock", "starts": grid, "steps": steps,
            "optimizer": {"name": "adam", "lr": 0.001}, "record": "all", "stop": {"grad_norm": 0}}
    created = client.post("/api/runs", json=body)
    created.raise_for_status()
    run_id: str = created.json()["id"]
    while client.get(f"/api/runs/{run_id}").json()["status"] in ("queued", "running"):
        time.sleep(0.2)
    return run_id


def export(client: httpx.Client, run_id: str, fmt: str) -> tuple[float, float]:
    """Read the whole export: (seconds, MiB)."""
    began = time.perf_counter()
    size = 0
    with client.stream("GET", f"/api/runs/{run_id}/steps", params={"format": fmt}) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    return time.perf_counter() - began, size / MIB


def _read_export(url: str, run_id: str, fmt: str) -> None:
    with httpx.Client(base_url=url, timeout=600) as client:
        export(client, run_id, fmt)


def _crowd(url: str, run_id: str, fmt: str, downloads: int) -> None:
    threads = [threading.Thread(target=_read_export, args=(url, run_id, fmt)) for _ in range(downloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def concurrent_exports(url: str, run_id: str, fmt: str, downloads: int) -> float:
    """`downloads` clients reading the whole export at once, each on its own connection, from a
    process of their own (twenty readers would starve this process's memory sampler of its GIL):
    the seconds until the last one has all of it."""
    crowd = multiprocessing.get_context("spawn").Process(target=_crowd, args=(url, run_id, fmt, downloads))
    began = time.perf_counter()
    crowd.start()
    crowd.join()
    if crowd.exitcode != 0:
        raise RuntimeError(f"the concurrent downloads failed (exit code {crowd.exitcode})")
    return time.perf_counter() - began


def data_rows(url: str, pid: int, data_dir: str, quick: bool) -> list[str]:
    starts, steps = (20, 999) if quick else (200, 9_999)
    rows = []
    with httpx.Client(base_url=url, timeout=600) as client:
        client.get("/api/health").raise_for_status()
        before = rss_mib(pid)
        with Sampler(lambda: rss_mib(pid)).running() as computing:
            began = time.perf_counter()
            run_id = big_run(client, starts, steps)
            computed_s = time.perf_counter() - began
        disk = disk_mib(data_dir)
        exports = []
        with Sampler(lambda: rss_mib(pid)).running() as exporting:
            for fmt in FORMATS:
                with slowest_health(url) as health:
                    result = export(client, run_id, fmt)
                exports.append((fmt, result, health()))
        with Sampler(lambda: rss_mib(pid)).running() as crowd, slowest_health(url) as crowd_health:
            crowd_seconds = concurrent_exports(url, run_id, "csv", DOWNLOADS)
        label = f"{starts} starts × {steps:,} steps, `record: \"all\"`"
        rows.append(f"| {label}: computed and stored (queued to ended) | {computed_s:.1f} s | — |")
        for what, memory in (("computing it", computing), ("exporting it", exporting)):
            rows.append(f"| {label}: server resident growth, peak while {what} | "
                        f"{memory.peak - before:,.0f} MiB ({before:,.0f} → {memory.peak:,.0f}) | "
                        f"≤ 500 MiB (stretch 250) |")
        rows.append(f"| {label}: data directory | {disk:,.0f} MiB | ≤ 250 MiB (stretch 100) |")
        for fmt, (seconds, size), slowest in exports:
            rows.append(f"| export `format={fmt}` ({size:,.0f} MiB) | {seconds:.1f} s, slowest "
                        f"`/api/health` {slowest * 1000:,.0f} ms | ≤ {EXPORT_TARGET_S[fmt]} s, "
                        f"health ≤ 150 ms |")
        rows.append(f"| {DOWNLOADS} concurrent CSV downloads | all read in {crowd_seconds:.0f} s; resident "
                    f"growth {crowd.peak - before:,.0f} MiB, slowest `/api/health` "
                    f"{crowd_health() * 1000:,.0f} ms | memory ≤ 500 MiB, health ≤ 150 ms |")
    return rows


def trajectory_rows(url: str, quick: bool) -> list[str]:
    warm, repeats = (1, 3) if quick else (5, 30)
    engine_ms: list[float] = []  # the server's own time in the engine (summary.elapsed_ms)
    with httpx.Client(base_url=url, timeout=600) as client:

        def instant() -> None:
            answer = client.post("/api/trajectories", json=TRAJECTORY).json()
            assert len(answer["steps"]) == 301
            engine_ms.append(answer["summary"]["elapsed_ms"])

        def stored() -> None:
            created = client.post("/api/runs", json=TRAJECTORY)
            created.raise_for_status()
            steps = client.get(f"/api/runs/{created.json()['id']}/steps", params={"wait": True})
            assert len(steps.json()["steps"]) == 301

        ms = medians_ms({"instant": instant, "stored": stored, "plain": lambda: plain_loop(300)},
                        warm, repeats)
    return [
        f"| 300-step Adam trajectory, `POST /api/trajectories` | median {ms['instant']:.0f} ms "
        f"({ms['instant'] / ms['plain']:.2f}× the plain torch loop's {ms['plain']:.0f} ms; the "
        f"engine's part {statistics.median(engine_ms):.0f} ms) | ≤ 60 ms |",
        f"| 300-step Adam trajectory, `POST /api/runs` + `GET steps?wait=true` | median "
        f"{ms['stored']:.0f} ms ({ms['stored'] / ms['plain']:.2f}× the plain loop) | ≤ 100 ms |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run and fewer repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the server's default per worker (DESCENT_TORCH_THREADS)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, embedded executor, SQLite store, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    rows = ["| measurement | result | target |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = serve(data_dir)
        try:
            rows += trajectory_rows(url, args.quick)
            rows += data_rows(url, process.pid, data_dir, args.quick)
        finally:
            process.terminate()
            process.wait(10)
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
