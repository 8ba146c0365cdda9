"""A data directory written by the first version of the service (plain `sqlite3`, no `artifacts`
table, rows as it stored them) is served by today's: its runs are listed, read, exported and
replayed as stored, a run it left queued is computed on start, and the file gains today's
tables without losing anything."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.sync.client import connect

from backend.runs.store import RunStore
from tests.conftest import MODERATOR, Server, get_run, strict_json, wait_for_status, wait_steps
from tests.conftest import _server as serving_dir

# The schema of the first version's run store (backend/runs/store.py at b8fcf67), verbatim.
FIRST_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    summary TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
CREATE TABLE IF NOT EXISTS frames (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""
# A request as that version serialised it: every field it had, none added since.
CONFIG = {
    "kind": "surface", "surface": "quadratic",
    "optimizer": {"name": "adam", "lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0,
                  "amsgrad": False},
    "schedule": {"name": "constant"}, "start": [-3.0, 2.0], "starts": None, "steps": 3,
    "stop": {"grad_norm": 1e-08, "step_norm": 0.0}, "gradient_noise": 0.0, "clip_grad_norm": None,
    "batch_size": None, "shuffle": True, "seed": 0, "record": "all",
}
STEPS = [
    {"step": k, "params": [-3.0 + 0.1 * k, 2.0 - 0.1 * k], "loss": 13.0 - k, "grad": [-6.0, 4.0],
     "lr": 0.1, "state": {"exp_avg": [None, None] if k == 0 else [0.1, 0.2]}, "effective_lr": None}
    for k in range(4)
]
SUMMARY = {"steps": 3, "stop_reason": "budget", "stop_step": 3, "message": "step budget of 3 used up",
           "final_params": [-2.7, 1.7], "final_loss": 10.0, "counts": {"finished": 1}, "elapsed_ms": 1.5,
           "device": "cpu", "starts": None}
FINISHED = ("0123456789abcdef", "finished", "2026-11-24T15:50:00.000001+00:00")
QUEUED = ("fedcba9876543210", "queued", "2026-11-24T15:51:00.000001+00:00")


def write_first_version_store(path: Path) -> None:
    """The file as the first version left it: a finished run with its frames, a queued run."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(FIRST_SCHEMA)
    run_id, status, created = FINISHED
    db.execute("INSERT INTO runs (id, kind, status, config, created_at, started_at, ended_at, summary, "
               "error) VALUES (?, 'surface', ?, ?, ?, ?, ?, ?, NULL)",
               (run_id, status, orjson.dumps(CONFIG).decode(), created, created, created,
                orjson.dumps(SUMMARY).decode()))
    for seq, chunk in enumerate((STEPS[:2], STEPS[2:])):
        db.execute("INSERT INTO frames (run_id, seq, type, payload) VALUES (?, ?, 'steps', ?)",
                   (run_id, seq, orjson.dumps(chunk)))
    run_id, status, created = QUEUED
    db.execute("INSERT INTO runs (id, kind, status, config, created_at) VALUES (?, 'surface', ?, ?, ?)",
               (run_id, status, orjson.dumps(CONFIG | {"steps": 40}).decode(), created))
    db.close()


def test_the_store_reads_a_first_version_file_and_adds_todays_tables(tmp_path: Path) -> None:
    path = tmp_path / "descent.sqlite3"
    write_first_version_store(path)
    store = RunStore(path)
    run = store.get(FINISHED[0])
    assert run is not None and run.status == "finished" and run.summary is not None
    assert run.summary.model_dump(mode="json") == SUMMARY
    assert orjson.loads(run.config.model_dump_json())["optimizer"]["lr"] == 0.1
    assert store.frames(FINISHED[0]) == [("steps", STEPS[:2]), ("steps", STEPS[2:])]
    assert [r.id for r in store.recent(10)] == [QUEUED[0], FINISHED[0]]
    assert [r.id for r in store.unfinished()] == [QUEUED[0]]
    store.put_artifact(FINISHED[0], "notes", b"\x00added later")  # a table the file did not have
    assert store.artifact(FINISHED[0], "notes") == b"\x00added later"
    store.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "frames", "artifacts"} <= tables


@pytest.fixture
def first_version_server(tmp_path: Path) -> Iterator[Server]:
    write_first_version_store(tmp_path / "descent.sqlite3")
    yield from serving_dir(tmp_path)


def test_a_server_on_a_first_version_data_dir_serves_its_runs(first_version_server: Server) -> None:
    server = first_version_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert strict_json(http.get("/api/runs").text)["runs"] == []  # made before owners: nobody's
        listed = strict_json(http.get("/api/runs", headers=MODERATOR).text)["runs"]
        assert [r["id"] for r in listed] == [QUEUED[0], FINISHED[0]]
        run = get_run(http, FINISHED[0])
        assert (run["status"], run["summary"], run["created_at"]) == (
            "finished", SUMMARY, "2026-11-24T15:50:00.000001Z")
        assert run["config"]["optimizer"]["lr"] == 0.1 and run["config"]["steps"] == 3
        assert wait_steps(http, FINISHED[0]) == STEPS
        rows = http.get(f"/api/runs/{FINISHED[0]}/steps", params={"format": "csv"}).text.splitlines()
        assert len(rows) == 1 + len(STEPS) and rows[1].startswith("0,-3.0,2.0,13.0")
        messages: list[dict[str, Any]] = []
        with connect(f"{server.ws_url}/api/runs/{FINISHED[0]}/stream", max_size=None) as ws:
            messages.extend(strict_json(text) for text in ws)
        assert [s for m in messages[:-1] for s in m["steps"]] == STEPS
        assert messages[-1] == {"type": "end", "status": "finished", "summary": SUMMARY, "error": None}

        # the run it left queued is computed when the server starts, as any unfinished run
        resumed = wait_for_status(http, QUEUED[0], {"finished", "converged", "diverged", "failed"})
        assert resumed["status"] == "finished", resumed
        steps = wait_steps(http, QUEUED[0])
        clean = strict_json(http.post("/api/trajectories", json=resumed["config"]).text)["steps"]
        assert [s["params"] for s in steps] == [s["params"] for s in clean] and len(steps) == 41
