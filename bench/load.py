"""Load benchmark of the `redis` executor: `python -m bench.load`.

Starts a private redis-server, the API (uvicorn, redis executor) and 1, 2, then 4
worker processes, all on loopback. For each worker count it submits `--runs`
surface runs at once and opens `--watchers` websocket clients spread over them
(all connected at the same time), then measures:

- delivery: every watcher must receive every step of its run (steps received
  vs. expected; a `reset` would start the count over) and the `end` message;
- frame latency: for each frame, the time from the worker writing it to the run's
  step stream (the `t` the worker stores beside each frame) to a watcher
  receiving the websocket message that carries its last step. Frames that
  existed before the watcher connected (replay) are left out;
- throughput: runs and steps computed per second, first submit to last end.

Prints a markdown table. Every phase has a deadline, so the benchmark ends.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
from websockets.asyncio.client import connect

from backend.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.TransportError, redis.ConnectionError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up in {timeout:.0f} s")


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM the processes, newest first, and kill any still running after 15 s."""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Watcher:
    run_id: str
    connected_at: float = 0.0
    steps: int = 0
    resets: int = 0
    ended: bool = False
    received: list[tuple[float, int]] = field(default_factory=list)  # (time, last step in message)
    error: str | None = None

    async def watch(self, base: str) -> None:
        try:
            async with connect(f"{base}/api/runs/{self.run_id}/stream", max_size=None,
                               open_timeout=30) as websocket:
                self.connected_at = time.time()
                async for message in websocket:
                    now = time.time()
                    data = orjson.loads(message)
                    if data["type"] == "steps":
                        self.steps += len(data["steps"])
                        self.received.append((now, data["steps"][-1]["step"]))
                    elif data["type"] == "reset":
                        self.resets += 1
                        self.steps = 0
                    elif data["type"] == "end":
                        self.ended = True
        except Exception as error:  # counted as dropped, reported below
            self.error = repr(error)


@dataclass
class Row:
    workers: int
    runs: int
    watchers: int
    expected: int
    received: int
    incomplete: int
    samples: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    runs_per_s: float
    steps_per_s: float
    wall_s: float


class Servers:
    """redis-server, the API and workers, as child processes of this one."""

    def __init__(self, workdir: Path, torch_threads: int, nice: int) -> None:
        self.workdir = workdir
        self.nice = nice
        self.redis_port, self.api_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "DESCENT_EXECUTOR": "redis",
            "DESCENT_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DESCENT_DATA_DIR": str(workdir),
            "DESCENT_DEVICE": "cpu",
            "DESCENT_TORCH_THREADS": str(torch_threads),
            "DESCENT_RUNS_PER_CLIENT": "100000",
            "DESCENT_RUNS_PER_ADDRESS": "100000",
            "DESCENT_QUEUED_RUNS": "100000",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.redis = redis.Redis(port=self.redis_port)

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log).open("ab") as out:
            process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self._spawn([binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(self.workdir)], "redis.log")
        wait_until(self.redis.ping, 10, "redis-server")
        self._spawn([sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1",
                     "--port", str(self.api_port), "--log-level", "warning"], "api.log")
        wait_until(lambda: httpx.get(f"{self.http}/api/health").status_code == 200, START_SECONDS, "the API")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.api_port}"

    def scale_workers(self, count: int) -> None:
        self.stop_workers()
        for i in range(count):
            self.workers.append(self._spawn(
                [sys.executable, "-m", "backend.worker", "--name", f"bench-{count}-{i}",
                 "--nice", str(self.nice)], f"worker-{i}.log"
            ))
        wait_until(lambda: httpx.get(f"{self.http}/api/health").json()["workers"] == count,
                   START_SECONDS, f"{count} workers")

    def stop_workers(self) -> None:
        for process in self.workers:
            process.send_signal(signal.SIGTERM)
        for process in self.workers:
            process.wait(30)
        self.workers = []

    def close(self) -> None:
        stop_all(self.processes)
        self.redis.close()


def run_body(steps: int, seed: int) -> dict[str, Any]:
    return {"kind": "surface", "surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001},
            "start": [-1.5 + 0.001 * seed, 2.0], "steps": steps,
            "stop": {"grad_norm": 0.0, "step_norm": 0.0}, "seed": seed}


async def measure(servers: Servers, workers: int, runs: int, watchers: int, steps: int,
                  deadline_s: float) -> Row:
    async with httpx.AsyncClient(base_url=servers.http, timeout=30) as client:
        began = time.time()
        posted = await asyncio.gather(*(client.post("/api/runs", json=run_body(steps, i))
                                        for i in range(runs)))
        run_ids = [response.json()["id"] for response in posted]
        clients = [Watcher(run_ids[i % runs]) for i in range(watchers)]
        tasks = [asyncio.create_task(w.watch(servers.ws)) for w in clients]
        _, pending = await asyncio.wait(tasks, timeout=deadline_s)
        for task in pending:
            task.cancel()
        ends = []
        for run_id in run_ids:
            run = (await client.get(f"/api/runs/{run_id}")).json()
            if run.get("ended_at"):
                ends.append(run["ended_at"])
    wall = max((_unix(e) for e in ends), default=time.time()) - began
    # frame times as the worker wrote them: (t, last step) per entry of each run's step stream
    frames: dict[str, list[tuple[float, int]]] = {}
    for run_id in run_ids:
        entries: Any = servers.redis.xrange(f"descent:run:{run_id}:steps")
        frames[run_id] = [
            (float(fields[b"t"]), orjson.loads(fields[b"d"])[-1]["step"])
            for _, fields in entries if fields[b"k"] == b"steps"
        ]
    latencies: list[float] = []
    for watcher in clients:
        for written, last_step in frames[watcher.run_id]:
            if written < watcher.connected_at:
                continue  # replayed, not live
            arrival = next((t for t, step in watcher.received if step >= last_step), None)
            if arrival is not None:
                latencies.append(arrival - written)
    expected = watchers * (steps + 1)
    received = sum(w.steps for w in clients)
    incomplete = sum(1 for w in clients if not w.ended or w.steps != steps + 1 or w.error)
    latencies.sort()
    return Row(
        workers=workers, runs=runs, watchers=watchers, expected=expected, received=received,
        incomplete=incomplete, samples=len(latencies),
        p50_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
        p95_ms=1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        max_ms=1000 * latencies[-1] if latencies else float("nan"),
        runs_per_s=len(ends) / wall, steps_per_s=len(ends) * (steps + 1) / wall, wall_s=wall,
    )


def _unix(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def table(rows: list[Row]) -> str:
    lines = [
        "| workers | runs | watchers | steps delivered / expected | incomplete watchers | "
        "live frames timed | p50 latency | p95 latency | max latency | runs/s | steps/s | wall |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.workers} | {r.runs} | {r.watchers} | {r.received:,} / {r.expected:,} | {r.incomplete} | "
            f"{r.samples:,} | {r.p50_ms:.0f} ms | {r.p95_ms:.0f} ms | {r.max_ms:.0f} ms | "
            f"{r.runs_per_s:.2f} | {r.steps_per_s:,.0f} | {r.wall_s:.1f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--runs", type=int, default=40, help="runs submitted at once per worker count")
    parser.add_argument("--watchers", type=int, default=200, help="websocket clients, spread over the runs")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps per run")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--nice", type=int, default=get_settings().worker_nice,
                        help="workers' niceness (default: the worker's own, DESCENT_WORKER_NICE); 0 shows "
                             "a small machine's API waiting for CPU behind its workers")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds one worker count may take")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="descent-load-"))
    servers = Servers(workdir, args.torch_threads, args.nice)
    rows: list[Row] = []
    try:
        servers.start()
        for count in counts:
            servers.scale_workers(count)
            row = asyncio.run(measure(servers, count, args.runs, args.watchers, args.steps, args.deadline))
            rows.append(row)
            print(f"{count} workers: p95 {row.p95_ms:.0f} ms, {row.received:,}/{row.expected:,} steps, "
                  f"{row.runs_per_s:.2f} runs/s", file=sys.stderr, flush=True)
    finally:
        servers.stop_workers()
        servers.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{args.runs} runs × {args.steps} steps (Adam on Rosenbrock, one start), "
          f"{args.watchers} websocket watchers, {os.cpu_count()} CPUs\n")
    print(table(rows))


if __name__ == "__main__":
    main()
