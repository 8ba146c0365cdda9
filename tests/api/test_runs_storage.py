"""Stored steps through the API: downloads in every format with slices and a file name, runs
listed with their size, pinning, deleting an ended run, eviction by budget and age, the
per-client quota, logs bounded in memory, and columnar runs served again after a restart."""

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas
import polars
import pyarrow.parquet as pq
import pytest
from websockets.sync.client import connect

from tests.conftest import KEYS, Server, create_run, free_port, strict_json, wait_for_status, wait_steps

BATCHED = {"surface": "himmelblau", "optimizer": {"name": "adam", "lr": 0.05}, "steps": 40,
           "starts": [[-1.0, 1.0], [2.0, 2.0], [0.0, -3.0]]}
SINGLE = {"surface": "rosenbrock", "optimizer": {"name": "rmsprop", "lr": 0.01}, "steps": 30}


def _serve(data: Path, env: dict[str, str]) -> Iterator[Server]:
    server = Server(data, free_port(), env)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def tight_server(tmp_path: Path) -> Iterator[Server]:
    """No step log kept in memory once a run ends (every read goes to the store), a small quota."""
    yield from _serve(tmp_path, {"DESCENT_LOG_MEMORY_BYTES": "0", "DESCENT_CLIENT_QUOTA_BYTES": "30000"})


def http_of(server: Server, client_id: str = "alice") -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60, headers={"X-Client-Id": client_id})


def stream_steps(server: Server, run_id: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    with connect(f"{server.ws_url}/api/runs/{run_id}/stream", max_size=None) as ws:
        while (message := json.loads(ws.recv()))["type"] != "end":
            steps.extend(message.get("steps", []))
    return steps


def downloads(http: httpx.Client, run_id: str) -> dict[str, bytes]:
    out = {}
    for fmt in ("json", "ndjson", "csv", "parquet"):
        response = http.get(f"/api/runs/{run_id}/steps", params={"format": fmt})
        assert response.status_code == 200, response.text
        out[fmt] = response.content
    return out


def test_downloads_are_named_sliced_and_agree(tight_server: Server) -> None:
    with http_of(tight_server) as http:
        run_id = create_run(http, BATCHED)["id"]
        steps = wait_steps(http, run_id)
        response = http.get(f"/api/runs/{run_id}/steps", params={"format": "parquet"})
        assert response.headers["content-type"] == "application/vnd.apache.parquet"
        assert response.headers["content-disposition"] == f'attachment; filename="{run_id}.parquet"'
        assert http.get(f"/api/runs/{run_id}/steps", params={"format": "csv"}).headers[
            "content-disposition"] == f'attachment; filename="{run_id}.csv"'
        assert http.get(f"/api/runs/{run_id}/steps").headers["content-disposition"] == \
            f'inline; filename="{run_id}.json"'
        table = pq.read_table(io.BytesIO(response.content)).to_pylist()
        assert len(table) == len(steps) * 3
        by_pandas = pandas.read_parquet(io.BytesIO(response.content))  # as docs/api.md shows
        by_polars = polars.read_parquet(io.BytesIO(response.content))
        assert list(by_pandas.columns) == by_polars.columns == list(table[0])
        assert by_pandas["loss"].tolist() == by_polars["loss"].to_list() == [r["loss"] for r in table] == \
            [loss for s in steps for loss in s["loss"]]
        assert [(r["step"], r["start"]) for r in table[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]
        assert [r["params_1"] for r in table if r["start"] == 2] == [s["params"][2][1] for s in steps]
        ndjson = http.get(f"/api/runs/{run_id}/steps", params={"format": "ndjson", "from_step": 10,
                                                                "to_step": 20, "every": 5})
        assert [strict_json(line) for line in ndjson.text.splitlines()] == \
            [s for s in steps if s["step"] in (10, 15, 20)]
        one = http.get(f"/api/runs/{run_id}/steps", params={"start": 2}).json()["steps"]
        assert [s["loss"] for s in one] == [s["loss"][2] for s in steps]
        for params, problem in [({"start": 3}, "start"), ({"from_step": 5, "to_step": 4}, "to_step"),
                                ({"every": 0}, "every"), ({"from_step": -1}, "from_step"),
                                ({"format": "xlsx"}, "format"), ({"every": "two"}, "every")]:
            answer = http.get(f"/api/runs/{run_id}/steps", params=params)
            assert answer.status_code == 422, params
            assert answer.json()["detail"][0]["loc"] == ["query", problem]
        single = create_run(http, SINGLE)["id"]
        wait_steps(http, single)
        assert http.get(f"/api/runs/{single}/steps", params={"start": 0}).status_code == 422


def test_runs_are_listed_with_their_size_and_pinned_runs_say_so(tight_server: Server) -> None:
    with http_of(tight_server) as http:
        run = create_run(http, SINGLE)
        assert run["size"] is None and run["pinned"] is False
        wait_steps(http, run["id"])
        listed = http.get("/api/runs").json()["runs"]
        assert listed[0]["id"] == run["id"] and listed[0]["size"] > 0
        assert http.put(f"/api/runs/{run['id']}/pin").status_code == 403
        pinned = http.put(f"/api/runs/{run['id']}/pin", headers={"X-Run-Key": KEYS[run["id"]]})
        assert pinned.status_code == 200 and pinned.json()["pinned"] is True
        assert http.get(f"/api/runs/{run['id']}").json()["pinned"] is True
        unpinned = http.delete(f"/api/runs/{run['id']}/pin", headers={"X-Run-Key": KEYS[run["id"]]})
        assert unpinned.json()["pinned"] is False


def test_deleting_an_ended_run_frees_it_and_the_quota_is_a_429_until_then(tight_server: Server) -> None:
    with http_of(tight_server, "bob") as http:
        kept: list[str] = []
        for _ in range(20):  # the quota (30,000 bytes) fills after a few runs
            response = http.post("/api/runs", json=BATCHED)
            if response.status_code == 429:
                break
            assert response.status_code == 201, response.text
            KEYS[response.json()["id"]] = response.json()["key"]
            kept.append(response.json()["id"])
            wait_steps(http, kept[-1])
        assert response.status_code == 429
        detail = response.json()["detail"]
        assert "quota" in detail and "forget=true" in detail
        assert {r["id"] for r in http.get("/api/runs").json()["runs"]} == set(kept)  # nothing half-made
        with http_of(tight_server, "carol") as other:  # someone else's quota is their own
            assert other.post("/api/runs", json=SINGLE).status_code == 201
        first = kept[0]
        assert http.delete(f"/api/runs/{first}", params={"forget": "true"}).status_code == 403
        gone = http.delete(f"/api/runs/{first}", params={"forget": "true"},
                           headers={"X-Run-Key": KEYS[first]})
        assert gone.status_code == 200 and gone.json()["id"] == first
        assert http.get(f"/api/runs/{first}").status_code == 404
        assert http.get(f"/api/runs/{first}/steps").status_code == 404
        assert http.post("/api/runs", json=SINGLE).status_code == 201  # room again


def test_a_running_run_is_not_deleted(tight_server: Server) -> None:
    with http_of(tight_server) as http:
        run = create_run(http, {**SINGLE, "steps": 10_000})
        answer = http.delete(f"/api/runs/{run['id']}", params={"forget": "true"},
                             headers={"X-Run-Key": KEYS[run["id"]]})
        assert answer.status_code in (200, 409)
        if answer.status_code == 409:
            assert "cancel it first" in answer.json()["detail"]
            http.delete(f"/api/runs/{run['id']}", headers={"X-Run-Key": KEYS[run["id"]]})


def test_the_oldest_unpinned_runs_go_first_when_the_store_is_over_budget(tmp_path: Path) -> None:
    for server in _serve(tmp_path, {"DESCENT_STORE_BUDGET_BYTES": "25000"}):
        with http_of(server) as http:
            ids = []
            for _ in range(3):
                ids.append(create_run(http, BATCHED)["id"])
                wait_steps(http, ids[-1])
            sizes = {r["id"]: r["size"] for r in http.get("/api/runs").json()["runs"]}
            assert sum(sizes.values()) > 25000 > sizes[ids[2]] + sizes[ids[1]]
            http.put(f"/api/runs/{ids[0]}/pin", headers={"X-Run-Key": KEYS[ids[0]]})
            newest = create_run(http, SINGLE)["id"]  # a new run makes room first
            left = {r["id"] for r in http.get("/api/runs").json()["runs"]}
            assert left == {ids[0], ids[2], newest}  # the oldest was pinned: the next oldest went


def test_runs_past_the_age_limit_are_forgotten(tmp_path: Path) -> None:
    for server in _serve(tmp_path, {"DESCENT_STORE_MAX_AGE_SECONDS": "2"}):
        with http_of(server) as http:
            old, pinned = create_run(http, SINGLE)["id"], create_run(http, SINGLE)["id"]
            wait_for_status(http, old, {"finished"})
            wait_for_status(http, pinned, {"finished"})
            http.put(f"/api/runs/{pinned}/pin", headers={"X-Run-Key": KEYS[pinned]})
            time.sleep(2.5)
            fresh = create_run(http, SINGLE)["id"]
            assert {r["id"] for r in http.get("/api/runs").json()["runs"]} == {pinned, fresh}


def test_a_restart_serves_columnar_runs_as_before(tmp_path: Path) -> None:
    for server in _serve(tmp_path, {}):
        with http_of(server) as http:
            ids = [create_run(http, body)["id"] for body in (BATCHED, SINGLE)]
            before = {}
            for run_id in ids:
                wait_steps(http, run_id)
                before[run_id] = (downloads(http, run_id), stream_steps(server, run_id))
        server.restart()
        with http_of(server) as http:
            for run_id in ids:
                after = downloads(http, run_id)
                parquet = {when["parquet"] for when in (after, before[run_id][0])}  # row groups may differ
                assert len({pq.read_table(io.BytesIO(p)).to_pylist().__repr__() for p in parquet}) == 1
                assert {**after, "parquet": b""} == {**before[run_id][0], "parquet": b""}
                assert stream_steps(server, run_id) == before[run_id][1]
                assert orjson.loads(before[run_id][0]["json"])["steps"] == before[run_id][1]
