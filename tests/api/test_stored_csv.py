"""CSV datasets stored by content (`POST /api/datasets/csv`, `GET /api/datasets/csv/{id}`): the
text comes back byte for byte under its SHA-256, storing it again is the same id, a bad CSV
is a 422 and stores nothing, each client has a quota (429, nothing stored), the least recently
used go first beyond the budget and after the maximum age, and a restart keeps them."""

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, free_port

# CRLF line ends, a Cyrillic header and a trailing blank line: what a spreadsheet saves, kept as is
CSV = "длина,ширина,класс\r\n" + "".join(f"{i / 10:.1f},{(i * 7 % 10) / 10:.1f},{i % 2}\r\n"
                                         for i in range(12)) + "\r\n"


Serve = Callable[..., Server]  # serve(client_dataset_quota_bytes="400") starts a server with that setting


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def variant(i: int) -> str:
    """A valid CSV of the same size as every other variant, with its own id."""
    return CSV.replace("0.0,0.0,0", f"0.0,0.{i},0", 1)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(tmp_path, free_port(), {f"DESCENT_{k.upper()}": v for k, v in env.items()})
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


def http_of(server: Server, client_id: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, headers={"X-Client-Id": client_id})


def test_a_csv_comes_back_byte_for_byte_under_its_hash(serve: Serve) -> None:
    server = serve()
    with http_of(server, "alice") as alice, http_of(server, "bob") as bob:
        stored = alice.post("/api/datasets/csv", json={"csv": CSV})
        assert stored.status_code == 201, stored.text
        assert stored.json() == {"id": sha(CSV), "bytes": len(CSV.encode()), "rows": 12, "columns": 3}
        again = bob.post("/api/datasets/csv", json={"csv": CSV})
        assert again.status_code == 200 and again.json() == stored.json()
        got = bob.get(f"/api/datasets/csv/{sha(CSV)}")
        assert got.status_code == 200
        assert got.content == CSV.encode()
        assert got.headers["content-type"] == "text/csv; charset=utf-8"
        assert "immutable" in got.headers["cache-control"] and got.headers["etag"] == f'"{sha(CSV)}"'
        assert got.headers["x-content-type-options"] == "nosniff"  # someone's text is never a page here
        assert got.headers["content-security-policy"].startswith("sandbox")
        run = {"kind": "network", "dataset": {"name": "csv", "csv": got.text},
               "model": {"name": "logistic"}, "optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 2}
        assert alice.post("/api/runs", json=run).status_code == 201  # what a link's page then runs


def test_a_bad_csv_is_a_422_and_nothing_is_stored(serve: Serve) -> None:
    server = serve(network_max_csv_bytes="2000")
    with http_of(server, "alice") as http:
        bad = CSV.replace("0.3,", "0.3x,", 1)
        refused = http.post("/api/datasets/csv", json={"csv": bad})
        assert refused.status_code == 422
        (error,) = refused.json()["detail"]
        assert error["loc"] == ["body", "csv"] and "row 5, column 1" in error["msg"]
        assert http.get(f"/api/datasets/csv/{sha(bad)}").status_code == 404
        too_long = http.post("/api/datasets/csv", json={"csv": CSV * 20})
        assert too_long.status_code == 422 and too_long.json()["detail"][0]["type"] == "string_too_long"
        assert http.post("/api/datasets/csv", json={"csv": CSV, "name": "x"}).status_code == 422
        assert http.post("/api/datasets/csv", json={"csv": "x,y\n1,2\n"}).status_code == 422  # too few rows


def test_an_unknown_id_is_a_404_saying_what_to_do(serve: Serve) -> None:
    server = serve()
    with http_of(server, "alice") as http:
        for dataset_id in (sha("never stored"), "not-an-id", "A" * 64):
            missing = http.get(f"/api/datasets/csv/{dataset_id}")
            assert missing.status_code == 404
            assert "POST /api/datasets/csv" in missing.json()["detail"]


def test_each_client_has_a_quota_and_a_refused_csv_stores_nothing(serve: Serve) -> None:
    size = len(CSV.encode())
    server = serve(client_dataset_quota_bytes=str(2 * size))
    with http_of(server, "alice") as alice, http_of(server, "bob") as bob:
        assert alice.post("/api/datasets/csv", json={"csv": variant(1)}).status_code == 201
        assert alice.post("/api/datasets/csv", json={"csv": variant(2)}).status_code == 201
        refused = alice.post("/api/datasets/csv", json={"csv": variant(3)})
        assert refused.status_code == 429
        assert "quota" in refused.json()["detail"] and "dataset.csv" in refused.json()["detail"]
        assert alice.get(f"/api/datasets/csv/{sha(variant(3))}").status_code == 404
        assert alice.post("/api/datasets/csv", json={"csv": variant(1)}).status_code == 200  # stored: free
        assert bob.post("/api/datasets/csv", json={"csv": variant(3)}).status_code == 201  # bob's own quota
        assert alice.post("/api/datasets/csv", json={"csv": variant(3)}).status_code == 200  # bob's now


def test_beyond_the_budget_the_oldest_go_and_a_restart_keeps_the_rest(serve: Serve) -> None:
    size = len(CSV.encode())
    server = serve(dataset_budget_bytes=str(2 * size))
    with http_of(server, "alice") as http:
        for i in range(3):
            assert http.post("/api/datasets/csv", json={"csv": variant(i)}).status_code == 201
        # the third was stored after the first went: the store holds the two newest
        assert http.get(f"/api/datasets/csv/{sha(variant(0))}").status_code == 404
    server.restart()
    with http_of(server, "bob") as http:
        kept = [http.get(f"/api/datasets/csv/{sha(variant(i))}").text for i in (1, 2)]
        assert kept == [variant(1), variant(2)]


def test_a_csv_unused_past_the_maximum_age_is_forgotten(serve: Serve) -> None:
    server = serve(dataset_max_age_seconds="1")
    with http_of(server, "alice") as http:
        assert http.post("/api/datasets/csv", json={"csv": variant(1)}).status_code == 201
        time.sleep(1.5)
        assert http.post("/api/datasets/csv", json={"csv": variant(2)}).status_code == 201
        assert http.get(f"/api/datasets/csv/{sha(variant(1))}").status_code == 404
        assert http.get(f"/api/datasets/csv/{sha(variant(2))}").text == variant(2)
