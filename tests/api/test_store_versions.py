"""Data directories written by earlier versions of the store are served by today's: every run's
JSON, NDJSON and CSV steps and its websocket replay are what that version's server answered,
the Parquet export and slices work on them, and they are listed with their size.

- `tests/data/v1_store` (made at d0ddabb): steps as orjson frames in the `frames` table;
- `tests/data/v2_store` (made at 05028ca): steps as compressed columns in the `segments`
  table, each array stored as its first differences.
"""

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from websockets.sync.client import connect

from tests.conftest import MODERATOR, Server
from tests.conftest import _server as serving_dir

DATA = Path(__file__).resolve().parent.parent / "data"
VERSIONS = ["v1_store", "v2_store"]


@dataclass
class Earlier:
    """A server on a copy of an earlier version's data directory, and what that version answered."""

    server: Server
    fixture: Path
    runs: dict[str, dict[str, Any]]

    def expected(self, name: str, suffix: str) -> bytes:
        return (self.fixture / "expected" / f"{name}.{suffix}").read_bytes()


def _runs(version: str) -> list[str]:
    return sorted(json.loads((DATA / version / "runs.json").read_text()))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Earlier]]:
    """`servers(version)`: a server on a copy of that version's directory, started when first
    asked for and kept for the module."""
    started: dict[str, Earlier] = {}
    with ExitStack() as stack:

        def earlier(version: str) -> Earlier:
            if version not in started:
                fixture = DATA / version
                data = tmp_path_factory.mktemp(version)
                shutil.copy(fixture / "descent.sqlite3", data / "descent.sqlite3")
                server = stack.enter_context(contextmanager(serving_dir)(data))
                started[version] = Earlier(server, fixture, json.loads((fixture / "runs.json").read_text()))
            return started[version]

        yield earlier


EACH_RUN = pytest.mark.parametrize(("version", "run_name"),
                                   [(version, name) for version in VERSIONS for name in _runs(version)])


@EACH_RUN
@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_exports_are_what_the_earlier_store_answered(servers: Callable[[str], Earlier], version: str,
                                                     run_name: str, fmt: str) -> None:
    """JSON and NDJSON byte for byte, and a columnar store's CSV too; the row store's CSV with the
    same header and cells, each number reading back the same float64 (written as orjson writes it
    now: `1e-7` where Python wrote `1e-07`)."""
    earlier = servers(version)
    run_id = earlier.runs[run_name]["id"]
    with httpx.Client(base_url=earlier.server.url, timeout=60) as http:
        response = http.get(f"/api/runs/{run_id}/steps", params={"format": fmt})
    assert response.status_code == 200, response.text
    expected = earlier.expected(run_name, fmt)
    if fmt != "csv" or version != "v1_store":
        assert response.content == expected
        return
    got, want = csv_cells(response.text), csv_cells(expected.decode())
    assert got[0] == want[0] and len(got) == len(want)
    for got_row, want_row in zip(got[1:], want[1:], strict=True):
        assert [float(c) if c else None for c in got_row] == [float(c) if c else None for c in want_row]


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@EACH_RUN
def test_replay_is_what_the_earlier_store_streamed(servers: Callable[[str], Earlier], version: str,
                                                   run_name: str) -> None:
    earlier = servers(version)
    messages = []
    url = f"{earlier.server.ws_url}/api/runs/{earlier.runs[run_name]['id']}/stream"
    with connect(url, max_size=None) as ws:
        while True:
            messages.append(json.loads(ws.recv()))
            if messages[-1]["type"] == "end":
                break
    assert messages == json.loads(earlier.expected(run_name, "stream.json"))


@pytest.mark.parametrize("version", VERSIONS)
def test_earlier_runs_export_parquet_and_slices_and_have_a_size(servers: Callable[[str], Earlier],
                                                                version: str) -> None:
    earlier = servers(version)
    with httpx.Client(base_url=earlier.server.url, timeout=60) as http:
        run_id = earlier.runs["batched_sgd_diverging"]["id"]
        csv_text = http.get(f"/api/runs/{run_id}/steps", params={"format": "csv"}).text
        response = http.get(f"/api/runs/{run_id}/steps", params={"format": "parquet"})
        assert response.status_code == 200
        table = pq.read_table(io.BytesIO(response.content))
        assert table.column_names == csv_text.splitlines()[0].split(",")
        assert table.num_rows == len(csv_text.splitlines()) - 1
        sliced = http.get(f"/api/runs/{run_id}/steps",
                          params={"start": 1, "from_step": 2, "to_step": 6, "every": 2}).json()["steps"]
        full = json.loads(earlier.expected("batched_sgd_diverging", "json"))["steps"]
        assert sliced == [{**s, "params": s["params"][1], "loss": s["loss"][1], "grad": s["grad"][1],
                           "state": {k: v[1] for k, v in s["state"].items()}}
                          for s in full if s["step"] in (2, 4, 6)]
        listed = http.get("/api/runs", headers=MODERATOR).json()["runs"]
    assert {r["id"] for r in listed} == {r["id"] for r in earlier.runs.values()}
    assert all(r["size"] > 0 and r["pinned"] is False for r in listed)
