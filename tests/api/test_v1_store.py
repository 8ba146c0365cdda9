"""A data directory written by the row/JSON step store (tests/data/v1_store, made at d0ddabb by a
real server) is served by today's columnar one: every run's JSON, NDJSON and CSV steps and its
websocket replay are byte for byte what that server answered, the new Parquet export and
slices work on them, and they are listed with their size."""

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from websockets.sync.client import connect

from tests.conftest import MODERATOR, Server
from tests.conftest import _server as serving_dir

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "v1_store"
RUNS: dict[str, dict[str, Any]] = json.loads((FIXTURE / "runs.json").read_text())


@pytest.fixture(scope="module")
def v1_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("v1-data")
    shutil.copy(FIXTURE / "descent.sqlite3", data / "descent.sqlite3")
    yield from serving_dir(data)


@pytest.mark.parametrize("name", sorted(RUNS))
@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_exports_are_what_the_row_store_answered(v1_server: Server, name: str, fmt: str) -> None:
    """JSON and NDJSON byte for byte; CSV with the same header and cells, each number reading back
    the same float64 (written as orjson writes it now: `1e-7` where Python wrote `1e-07`)."""
    run_id = RUNS[name]["id"]
    with httpx.Client(base_url=v1_server.url, timeout=60) as http:
        response = http.get(f"/api/runs/{run_id}/steps", params={"format": fmt})
    assert response.status_code == 200, response.text
    expected = (FIXTURE / "expected" / f"{name}.{fmt}").read_bytes()
    if fmt != "csv":
        assert response.content == expected
        return
    got, want = csv_cells(response.text), csv_cells(expected.decode())
    assert got[0] == want[0] and len(got) == len(want)
    for got_row, want_row in zip(got[1:], want[1:], strict=True):
        assert [float(c) if c else None for c in got_row] == [float(c) if c else None for c in want_row]


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("name", sorted(RUNS))
def test_replay_is_what_the_row_store_streamed(v1_server: Server, name: str) -> None:
    messages = []
    with connect(f"{v1_server.ws_url}/api/runs/{RUNS[name]['id']}/stream", max_size=None) as ws:
        while True:
            messages.append(json.loads(ws.recv()))
            if messages[-1]["type"] == "end":
                break
    assert messages == json.loads((FIXTURE / "expected" / f"{name}.stream.json").read_text())


def test_old_runs_export_parquet_and_slices_and_have_a_size(v1_server: Server) -> None:
    with httpx.Client(base_url=v1_server.url, timeout=60) as http:
        run_id = RUNS["batched_sgd_diverging"]["id"]
        csv_text = http.get(f"/api/runs/{run_id}/steps", params={"format": "csv"}).text
        response = http.get(f"/api/runs/{run_id}/steps", params={"format": "parquet"})
        assert response.status_code == 200
        table = pq.read_table(io.BytesIO(response.content))
        assert table.column_names == csv_text.splitlines()[0].split(",")
        assert table.num_rows == len(csv_text.splitlines()) - 1
        sliced = http.get(f"/api/runs/{run_id}/steps",
                          params={"start": 1, "from_step": 2, "to_step": 6, "every": 2}).json()["steps"]
        full = json.loads((FIXTURE / "expected" / "batched_sgd_diverging.json").read_text())["steps"]
        assert sliced == [{**s, "params": s["params"][1], "loss": s["loss"][1], "grad": s["grad"][1],
                           "state": {k: v[1] for k, v in s["state"].items()}}
                          for s in full if s["step"] in (2, 4, 6)]
        listed = http.get("/api/runs", headers=MODERATOR).json()["runs"]
    assert {r["id"] for r in listed} == {r["id"] for r in RUNS.values()}
    assert all(r["size"] > 0 and r["pinned"] is False for r in listed)
