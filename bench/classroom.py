"""A class of 30 behind one school address: every student presses Train, then drags a slider
while the class's runs compute, with the class as one client and as 30, in the same run.

    python -m bench.classroom

Each student is its own page. "one client" sends every request with the same `X-Client-Id`,
so the whole class is held to one client's limits, as every address was before admission
counted per client and per address; "a client per page" gives each page its own identity, as
the cookie does. Each setup on a fresh server with the default settings (embedded executor).
Prints a markdown table: runs admitted, trajectories answered, their latency, and one
student's slider trajectory while the class's runs compute, against the same trajectory on the
idle server before the class pressed Train (the baseline, same run).
"""

import asyncio
import collections
import statistics
import tempfile
import time
from typing import Any

import httpx

from bench.data import TRAJECTORY
from bench.trajectories import serve

STUDENTS = 30
DRAGS = 10  # one student's slider trajectories, one after another
TRAIN: dict[str, Any] = {"kind": "surface", "surface": "rosenbrock", "steps": 9000,  # tens of seconds each
                         "starts": [[-1.5, 2.0]] * 50, "optimizer": {"name": "adam", "lr": 0.001}}


def drag(lr: float) -> dict[str, Any]:
    """A slider position: the 300-step trajectory at learning rate `lr`."""
    return TRAJECTORY | {"optimizer": {"name": "adam", "lr": lr}}


async def timed_post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[int, float]:
    began = time.perf_counter()
    answer = await client.post(path, json=body)
    return answer.status_code, (time.perf_counter() - began) * 1000


async def lesson(url: str, one_client: bool) -> str:
    """The class trains, then drags its sliders at once; the table's row."""
    pages = [httpx.AsyncClient(base_url=url, timeout=600,
                               headers={"X-Client-Id": "the-class"} if one_client else {})
             for _ in range(STUDENTS)]
    try:
        for page in pages:
            (await page.get("/api/health")).raise_for_status()  # the page's cookie
        idle = [(await timed_post(pages[0], "/api/trajectories", drag(0.02 + i * 1e-4)))[1]
                for i in range(DRAGS)]
        trained = await asyncio.gather(*(page.post("/api/runs", json=TRAIN) for page in pages))
        runs = collections.Counter(r.status_code for r in trained)
        dragged = await asyncio.gather(*(timed_post(page, "/api/trajectories", drag(0.01 + i * 1e-4))
                                         for i, page in enumerate(pages)))
        answered = sorted(ms for status, ms in dragged if status == 200)
        statuses = collections.Counter(status for status, _ in dragged)
        busy = [(await timed_post(pages[0], "/api/trajectories", drag(0.03 + i * 1e-4)))[1]
                for i in range(DRAGS)]
        setup = "one client (the whole class)" if one_client else "a client per page"
        return (f"| {setup} | {runs[201]} of {STUDENTS} | "
                f"{', '.join(f'{n} × {s}' for s, n in sorted(statuses.items()))} | "
                f"{statistics.median(answered):.0f} / {answered[-1]:.0f} ms | "
                f"{statistics.median(busy):.0f} ms | {statistics.median(idle):.0f} ms |")
    finally:
        for page in pages:
            await page.aclose()


def main() -> None:
    print("| setup | Train admitted | slider trajectories at once | p50 / max of the 200s "
          "| one student's trajectory while the runs compute (median) | the same on the idle server |")
    print("|---|---|---|---:|---:|---:|")
    for one_client in (True, False):
        with tempfile.TemporaryDirectory() as data_dir:
            process, url = serve(data_dir, {})
            try:
                print(asyncio.run(lesson(url, one_client)), flush=True)
            finally:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
