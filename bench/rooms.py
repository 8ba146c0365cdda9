"""Live room fan-out benchmark: `python -m bench.rooms` (needs `redis-server`).

One teacher drives one room followed by `--students` students (200), every websocket client in
this one asyncio process. The teacher sends `--scenes` scenes at `--rate` a second (the page
throttles to about 10) of a page's size (~1 KB: surface, racers, sliders, playhead). Measured:

- delivery: every student must receive every scene, in the teacher's order;
- latency: from the teacher's send to each student's receive (one clock: this process);
- CPU per scene: what the servers (API processes, redis-server) and this process (every
  client) spent, per scene sent; on a loaded machine it says how much of the latency is waiting.

Two setups, both started at once and measured in turns (`--rounds` rounds each, alternating, a
fresh room each round), so that a machine whose load changes meanwhile weighs on both alike: the
baseline, one API process with the embedded hub (everyone on it); and two API replicas with the
Redis hub, the teacher on the first and the students split over both (half of them hear the
teacher through Redis). A short warm-up room on each setup comes first, not counted (a fresh
replica's first room loads its Lua scripts into Redis). Prints a markdown table. Every phase
has a deadline, so the benchmark ends.
"""

import argparse
import asyncio
import os
import shutil
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
from websockets.asyncio.client import ClientConnection, connect

from bench.load import START_SECONDS, free_port, stop_all, wait_until

ROOT = Path(__file__).resolve().parent.parent


def scene(i: int) -> dict[str, Any]:
    """A teacher page's scene: what a share link holds, plus playback (≈ 1 KB as JSON)."""
    return {
        "i": i, "surface": "rosenbrock", "domain": [[-2.0, 2.0], [-1.0, 3.0]], "view": "contour",
        "racers": [{"optimizer": name, "lr": 0.001 * (k + 1), "momentum": 0.9, "betas": [0.9, 0.999],
                    "start": [-1.5, 2.0], "schedule": {"name": "constant"}, "colour": k}
                   for k, name in enumerate(["sgd", "adam", "rmsprop", "adagrad", "nadam"])],
        "steps": 500, "playhead": i % 500, "playing": True, "speed": 1.0, "lang": "en", "palette": "default",
    }


@dataclass
class Student:
    received: list[tuple[int, float]] = field(default_factory=list)  # (scene number, when)
    error: str | None = None


@dataclass
class Round:
    expected: int
    delivered: int
    out_of_order: int
    latencies: list[float]  # seconds, every student and scene
    other_replica: list[float]  # those of students on a replica the teacher is not on
    server_cpu_s: float  # CPU the API processes (and redis-server) used while the scenes went out
    client_cpu_s: float  # CPU this process (the teacher and every student) used meanwhile


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return 1000 * ordered[int(0.95 * (len(ordered) - 1))]


class Servers:
    """redis-server (for the Redis setup) and the API processes, as children of this one."""

    def __init__(self, workdir: Path, replicas: int, hub: str) -> None:
        self.workdir = workdir
        self.redis_port = free_port()
        self.ports = [free_port() for _ in range(replicas)]
        self.hub = hub
        self.env = {**os.environ, "DESCENT_DATA_DIR": str(workdir), "DESCENT_DEVICE": "cpu",
                    "DESCENT_ROOM_STUDENTS": "100000"}
        if hub == "redis":
            self.env |= {"DESCENT_EXECUTOR": "redis", "DESCENT_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0"}
        self.processes: list[subprocess.Popen[bytes]] = []

    def _spawn(self, args: list[str], log: str) -> None:
        with (self.workdir / log).open("ab") as out:
            self.processes.append(subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out,
                                                   stderr=subprocess.STDOUT))

    def start(self) -> None:
        if self.hub == "redis":
            binary = shutil.which("redis-server")
            if binary is None:
                raise SystemExit("redis-server is not installed (apt-get install redis-server)")
            self._spawn([binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--dir", str(self.workdir)], "redis.log")
            client = redis.Redis(port=self.redis_port)
            wait_until(client.ping, 10, "redis-server")
            client.close()
        for port in self.ports:  # one after the other: they share one run store
            self._spawn([sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1",
                         "--port", str(port), "--log-level", "warning"], f"api-{port}.log")
            wait_until(lambda p=port: httpx.get(f"http://127.0.0.1:{p}/api/health").status_code == 200,
                       START_SECONDS, "the API")

    def cpu_seconds(self) -> float:
        """CPU time the servers have used so far (Linux: /proc/PID/stat's utime + stime)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def ws(self, replica: int) -> str:
        return f"ws://127.0.0.1:{self.ports[replica]}"

    def close(self) -> None:
        stop_all(self.processes)


async def follow(websocket: ClientConnection, student: Student, scenes: int) -> None:
    try:
        async for message in websocket:
            data = orjson.loads(message)
            if data["type"] == "scene":
                student.received.append((data["scene"]["i"], time.perf_counter()))
                if data["scene"]["i"] == scenes - 1:
                    return
    except Exception as error:  # counted as undelivered, reported below
        student.error = repr(error)


async def measure(servers: Servers, students: int, scenes: int, rate: float, deadline_s: float) -> Round:
    base = f"http://127.0.0.1:{servers.ports[0]}"
    room = httpx.post(f"{base}/api/rooms", timeout=30).json()
    code = room["code"]
    sockets = []
    for begin in range(0, students, 50):  # connect in batches, as a lecture hall would
        sockets += await asyncio.gather(*(
            connect(f"{servers.ws(i % len(servers.ports))}/api/rooms/{code}/live", max_size=None,
                    open_timeout=60) for i in range(begin, min(students, begin + 50))))
    for websocket in sockets:
        assert orjson.loads(await websocket.recv())["type"] == "room"
    clients = [Student() for _ in sockets]
    tasks = [asyncio.create_task(follow(ws, s, scenes)) for ws, s in zip(sockets, clients, strict=True)]
    sent: dict[int, float] = {}
    async with connect(f"{servers.ws(0)}/api/rooms/{code}/live?key={room['key']}") as teacher:
        await asyncio.sleep(1.0)  # every student is following
        cpu_before, client_before = servers.cpu_seconds(), time.process_time()
        start = time.perf_counter()
        for i in range(scenes):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            text = orjson.dumps({"type": "scene", "scene": scene(i)}).decode()
            sent[i] = time.perf_counter()
            await teacher.send(text)
        _, pending = await asyncio.wait(tasks, timeout=deadline_s)
        server_cpu, client_cpu = servers.cpu_seconds() - cpu_before, time.process_time() - client_before
    for task in pending:
        task.cancel()
    for websocket in sockets:
        await websocket.close()
    replicas = len(servers.ports)
    latencies = [when - sent[i] for s in clients for i, when in s.received]
    other = [when - sent[i] for k, s in enumerate(clients) if k % replicas for i, when in s.received]
    out_of_order = sum(1 for s in clients if [i for i, _ in s.received] != list(range(len(s.received))))
    return Round(students * scenes, len(latencies), out_of_order, latencies, other, server_cpu, client_cpu)


def table(setups: list[tuple[str, int]], rounds: list[list[Round]], students: int, scenes: int) -> str:
    lines = ["| setup | API replicas | students | scenes delivered / expected | students out of order | "
             "p50 | p95 | max | p95 per round | p95, students on the other replica | "
             "CPU per scene: servers / clients |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for (setup, replicas), mine in zip(setups, rounds, strict=True):
        every = [x for r in mine for x in r.latencies]
        other = [x for r in mine for x in r.other_replica]
        lines.append(
            f"| {setup} | {replicas} | {students} | {sum(r.delivered for r in mine):,} / "
            f"{sum(r.expected for r in mine):,} | {sum(r.out_of_order for r in mine)} | "
            f"{1000 * statistics.median(every):.1f} ms | {p95(every):.1f} ms | {1000 * max(every):.1f} ms | "
            f"{' / '.join(f'{p95(r.latencies):.0f}' for r in mine)} ms | "
            f"{f'{p95(other):.1f} ms' if other else '—'} | "
            f"{1000 * sum(r.server_cpu_s for r in mine) / scenes:.1f} / "
            f"{1000 * sum(r.client_cpu_s for r in mine) / scenes:.1f} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rooms", description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--scenes", type=int, default=100, help="scenes the teacher sends each round")
    parser.add_argument("--rate", type=float, default=10.0, help="scenes the teacher sends a second")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds to wait for the last scene")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each setup, in turns")
    args = parser.parse_args()
    setups = [("embedded (baseline)", 1, "local"), ("Redis, students on both", 2, "redis")]
    workdirs = [Path(tempfile.mkdtemp(prefix="descent-rooms-")) for _ in setups]
    servers = [Servers(workdir, replicas, hub)
               for workdir, (_, replicas, hub) in zip(workdirs, setups, strict=True)]
    rounds: list[list[Round]] = [[] for _ in setups]
    try:
        for group in servers:
            group.start()
            asyncio.run(measure(group, 10, 5, args.rate, args.deadline))  # warm-up, not counted
        for turn in range(args.rounds):
            for (setup, _, _), group, mine in zip(setups, servers, rounds, strict=True):
                mine.append(asyncio.run(measure(group, args.students, args.scenes, args.rate, args.deadline)))
                print(f"round {turn + 1}, {setup}: p95 {p95(mine[-1].latencies):.1f} ms, "
                      f"{mine[-1].delivered:,}/{mine[-1].expected:,} scenes", file=sys.stderr, flush=True)
    finally:
        for group in servers:
            group.close()
        for workdir in workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{args.students} students in one room, {args.rounds} rounds of {args.scenes} scenes of "
          f"{len(orjson.dumps({'type': 'scene', 'scene': scene(0)}))} bytes at {args.rate:g}/s, "
          f"{os.cpu_count()} CPUs\n")
    print(table([(name, replicas) for name, replicas, _ in setups], rounds, args.students,
                args.rounds * args.scenes))


if __name__ == "__main__":
    main()
