"""A room of 200 students asking for the teacher's trajectories at once, without and with the
answer cache, measured in the same run.

    python -m bench.answers

Every student's page (its own client identity) recomputes the teacher's racers through
`POST /api/trajectories`, all from one address when the room sits behind one NAT: 200
identical requests at once, for each of three teacher changes (a new lr each). Three setups,
taken in turn on fresh servers: the cache off with the default limits (one address holds
DESCENT_COMPUTATIONS_PER_ADDRESS computations at once: the rest get 429), the cache off with
200 computations per address (every student computes), and the cache on.
Prints a markdown table: answers by status, shared answers, latency of the 200s, wall time and
the server's CPU time per change.
"""

import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

import httpx

from bench.trajectories import COMPUTING, serve

STUDENTS = 200
CHANGES = 3
BODY: dict[str, Any] = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}, "steps": 300,
                        "starts": [[-1.5, 2.0], [-1.4, 2.0], [-1.3, 2.0]]}
SETUPS = [
    ("cache off, 32 computations per address (the default)", COMPUTING),
    ("cache off, 200 computations per address", COMPUTING | {"DESCENT_COMPUTATIONS_PER_ADDRESS": "200"}),
    ("cache on (64 MiB), 32 computations per address", {}),
]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def room(url: str, body: dict[str, Any]) -> list[tuple[float, int, str | None]]:
    """Every student's request at once: (milliseconds, status, X-Answer-Cache) each."""
    limits = httpx.Limits(max_connections=STUDENTS)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        async def student(name: str) -> tuple[float, int, str | None]:
            began = time.perf_counter()
            answer = await client.post("/api/trajectories", json=body, headers={"X-Client-Id": name})
            elapsed = (time.perf_counter() - began) * 1000
            return elapsed, answer.status_code, answer.headers.get("x-answer-cache")

        return await asyncio.gather(*[student(f"student-{i}") for i in range(STUDENTS)])


def main() -> None:
    print("| setup | change | answers | shared (hit) | p50 of the 200s | p95 | wall | server CPU |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for label, settings in SETUPS:
        with tempfile.TemporaryDirectory() as data_dir:
            process, url = serve(data_dir, settings)
            try:
                for change in range(CHANGES):
                    body = BODY | {"optimizer": {"name": "adam", "lr": 0.01 * (change + 1)}}
                    cpu, began = cpu_seconds(process.pid), time.perf_counter()
                    answers = asyncio.run(room(url, body))
                    wall, cpu = time.perf_counter() - began, cpu_seconds(process.pid) - cpu
                    ok = sorted(ms for ms, status, _ in answers if status == 200)
                    statuses = sorted({status for _, status, _ in answers})
                    counts = ", ".join(f"{sum(s == status for _, s, _ in answers)} × {status}"
                                       for status in statuses)
                    hits = sum(source == "hit" for *_, source in answers)
                    p95 = ok[int(0.95 * (len(ok) - 1))]
                    print(f"| {label} | {change + 1} | {counts} | {hits} | {statistics.median(ok):.0f} ms "
                          f"| {p95:.0f} ms | {wall * 1000:.0f} ms | {cpu:.2f} s |", flush=True)
            finally:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
