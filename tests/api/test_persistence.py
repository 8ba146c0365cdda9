"""Runs outlive the process: a finished run is read back after a restart, and a run that was
queued or running when the server went down is computed again, to the same trajectory.

Each test has a server of its own (one worker, so two runs are enough to have one running
and one queued), which it stops, kills and restarts.
"""

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import (
    Server,
    create_run,
    free_port,
    get_run,
    strict_json,
    wait_for_status,
    wait_steps,
    wait_until_steps,
)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path, free_port(), env={"DESCENT_WORKERS": "1"})
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


# half a second or so of work: long enough to be caught mid-flight, short to recompute
SLOW = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001}, "start": [-1.5, 2.0],
        "steps": 1500, "stop": {"grad_norm": 0}}


def _comparable(step: dict[str, Any]) -> dict[str, Any]:
    """A step without `effective_lr` (compared on its own) and without all-null optimizer buffers.

    Step 0 carries the buffers as nulls or not at all, depending on whether its frame was
    cut before the first optimizer step (timing); either way it has no buffer values.
    """
    out = {k: v for k, v in step.items() if k != "effective_lr"}
    out["state"] = {k: v for k, v in step.get("state", {}).items() if v != [None, None]}
    return out


def assert_same_path(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """The same steps, bit for bit; `effective_lr` too (display only: a step may lack it or
    carry it as null, depending on where its frame was cut)."""
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert _comparable(a) == _comparable(b), a["step"]
        x, y = a.get("effective_lr"), b.get("effective_lr")
        assert x == y, a["step"]


def stream(server: Server, run_id: str) -> tuple[list[dict[str, Any]], dict[str, Any], int | None]:
    """(steps, end message, close code) of one watcher."""
    messages = []
    with connect(f"{server.ws_url}/api/runs/{run_id}/stream", max_size=None) as ws:
        try:
            while True:
                messages.append(strict_json(ws.recv(timeout=60)))
        except ConnectionClosed:
            pass
        code = ws.close_code
    steps = [s for m in messages if m["type"] == "steps" for s in m["steps"]]
    return steps, messages[-1], code


def test_a_finished_run_survives_a_restart(restartable: Server) -> None:
    server = restartable
    with httpx.Client(base_url=server.url, timeout=30) as http:
        runs = [  # (the run, how it ends: by its budget, every start by ‖∇L‖, or diverged)
            (create_run(http, {"surface": "himmelblau", "optimizer": {"name": "rmsprop", "lr": 0.01},
                               "steps": 300}), "finished"),
            (create_run(http, {"surface": "rastrigin", "optimizer": {"name": "sgd", "lr": 0.002},
                               "starts": [[x / 2, 1.0] for x in range(-8, 9)], "steps": 100}), "converged"),
            (create_run(http, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 1.5},
                               "steps": 100}), "diverged"),
        ]
        before = {}
        for run, status in runs:
            steps = wait_steps(http, run["id"])
            csv_text = http.get(f"/api/runs/{run['id']}/steps", params={"format": "csv"}).text
            ended = get_run(http, run["id"])
            assert ended["status"] == status, ended["summary"]
            before[run["id"]] = (ended, steps, csv_text)
        listed = strict_json(http.get("/api/runs").text)["runs"]

        server.restart()  # SIGTERM, wait, start on the same data dir and port

        assert strict_json(http.get("/api/runs").text)["runs"] == listed
        for run_id, (run, steps, csv_text) in before.items():
            assert get_run(http, run_id) == run
            assert wait_steps(http, run_id) == steps
            assert http.get(f"/api/runs/{run_id}/steps", params={"format": "csv"}).text == csv_text
            streamed, end, code = stream(server, run_id)  # replayed from the store
            assert streamed == steps
            assert end == {"type": "end", "status": run["status"], "summary": run["summary"],
                           "error": run["error"]}
            assert code == 1000


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "terminated"])
def test_runs_in_flight_are_computed_again_after_a_restart(restartable: Server,
                                                           stop: signal.Signals) -> None:
    """Running and queued runs are not lost to a crash (SIGKILL) nor to a graceful restart
    (SIGTERM): the new process requeues them and they end as a clean run would."""
    server = restartable
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert strict_json(http.get("/api/health").text)["workers"] == 1
        runs = [create_run(http, SLOW), create_run(http, SLOW | {"start": [-1.2, 1.5]})]
        wait_for_status(http, runs[0]["id"], {"running"})
        wait_until_steps(http, runs[0]["id"], lambda steps: len(steps) > 100)
        in_flight = {r["id"]: get_run(http, r["id"])["status"] for r in runs}
        assert in_flight[runs[0]["id"]] == "running"
        assert in_flight[runs[1]["id"]] == "queued"

        server.restart(stop)

        for run in runs:
            steps = wait_steps(http, run["id"])
            after = get_run(http, run["id"])
            assert after["status"] == "finished", (after["status"], after["summary"])
            assert after["created_at"] == run["created_at"] and after["config"] == run["config"]
            clean = http.post("/api/trajectories", json=run["config"])
            assert clean.status_code == 200, clean.text
            clean_result = strict_json(clean.text)
            assert len(steps) == SLOW["steps"] + 1
            assert_same_path(steps, clean_result["steps"])
            assert after["summary"]["final_params"] == clean_result["summary"]["final_params"]
            streamed, end, code = stream(server, run["id"])
            assert streamed == steps and end["status"] == "finished" and code == 1000
