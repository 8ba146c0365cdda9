"""A class of 30 drags a slider at once: requests computed together against requests that cannot
share a computation (the baseline), in the same run.

    python -m bench.together

Thirty students, each its own client (`X-Client-Id`), send a 300-step Adam trajectory on
Rosenbrock at the same moment to a fresh server with the default settings (embedded executor,
the answer cache off so that every round computes). Three kinds of drag:

- the baseline: each student's request differs in its number of steps (300 + i), which
  nothing shares, so the 30 are computed one by one, two threads at a time, as before;
- the start point: each from its own start, the rest the same;
- the learning rate: each at its own lr, the rest the same.

Each kind is sent `ROUNDS` times, the kinds in turns, so that a change in the machine's speed
weighs on all of them alike. Prints a markdown table: the latency of the 30 answers (p50 and
max over all rounds), how many computations answered them (`X-Computed-Together`), and the
server's CPU time per round.
"""

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.data import TRAJECTORY
from bench.trajectories import served

STUDENTS = 30
ROUNDS = 5
START = [-1.5, 2.0]
Body = Callable[[int], dict[str, Any]]  # student i's request
DRAGS: dict[str, Body] = {
    "its own number of steps (nothing shared: the baseline)":
        lambda i: TRAJECTORY | {"start": START, "steps": 300 + i},
    "its own start point": lambda i: TRAJECTORY | {"start": [-1.5 + i / 50, 2.0 - i / 100]},
    "its own learning rate":
        lambda i: TRAJECTORY | {"start": START, "optimizer": {"name": "adam", "lr": 0.01 + i * 1e-4}},
}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def class_drags(pages: list[httpx.AsyncClient], body: Body) -> list[tuple[float, int]]:
    """Every student's drag at once: (latency in ms, requests its computation answered) each."""

    async def drag(i: int) -> tuple[float, int]:
        began = time.perf_counter()
        answer = await pages[i].post("/api/trajectories", json=body(i))
        answer.raise_for_status()
        return (time.perf_counter() - began) * 1000, int(answer.headers["x-computed-together"])

    return await asyncio.gather(*(drag(i) for i in range(STUDENTS)))


async def lesson(url: str, pid: int) -> list[str]:
    pages = [httpx.AsyncClient(base_url=url, timeout=600, headers={"X-Client-Id": f"student-{i:02d}"})
             for i in range(STUDENTS)]
    latencies: dict[str, list[float]] = {kind: [] for kind in DRAGS}
    computations: dict[str, list[int]] = {kind: [] for kind in DRAGS}
    cpu: dict[str, list[float]] = {kind: [] for kind in DRAGS}
    try:
        await class_drags(pages, DRAGS[next(iter(DRAGS))])  # warm: the first optimizers and connections
        for _ in range(ROUNDS):
            for kind, body in DRAGS.items():
                before = cpu_seconds(pid)
                answers = await class_drags(pages, body)
                cpu[kind].append(cpu_seconds(pid) - before)
                latencies[kind] += [ms for ms, _ in answers]
                computations[kind].append(round(sum(1 / together for _, together in answers)))
    finally:
        for page in pages:
            await page.aclose()
    rows = ["| 30 students drag at once, each | p50 / max of the 30 answers | computations per round | "
            "server CPU per round |", "|---|---:|---:|---:|"]
    for kind in DRAGS:
        spread = sorted(computations[kind])
        p50, most = statistics.median(latencies[kind]), max(latencies[kind])
        rows.append(f"| {kind} | {p50:,.0f} / {most:,.0f} ms | {spread[0]}–{spread[-1]} | "
                    f"{statistics.median(cpu[kind]):.2f} s |")
    return rows


def main() -> None:
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; {STUDENTS} students, "
          f"{ROUNDS} rounds of each kind in turns")
    with served() as (process, url):
        rows = asyncio.run(lesson(url, process.pid))
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
