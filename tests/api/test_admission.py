"""A flood of requests beyond the limits gets 429s, while a normal client is still served.

Clients are told apart by address: the flood comes from 127.0.0.2, the normal
client from 127.0.0.1 (both loopback).
"""

import concurrent.futures
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, free_port, wait_steps

LONG_RUN = {"kind": "surface", "surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001},
            "steps": 10_000, "starts": [[-1.5, 2.0]] * 2000, "record": "final",
            "stop": {"grad_norm": 0}}
QUICK_RUN = {"kind": "surface", "surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
             "steps": 50}


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path, free_port(), env={
        "DESCENT_RUNS_PER_CLIENT": "3", "DESCENT_QUEUED_RUNS": "50",
        "DESCENT_COMPUTATIONS_PER_CLIENT": "2", "DESCENT_WORKERS": "1",
        "DESCENT_MAX_INSTANT_WORK": "100000000", "DESCENT_MAX_WORK": "100000000",
    })
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


def from_address(server: Server, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, timeout=60, transport=transport)


def test_flood_gets_429_with_retry_after_while_others_are_served(limited_server: Server) -> None:
    with from_address(limited_server, "127.0.0.2") as flood, \
            from_address(limited_server, "127.0.0.1") as normal:
        answers = [flood.post("/api/runs", json=LONG_RUN) for _ in range(12)]
        codes = [a.status_code for a in answers]
        assert codes[:3] == [201, 201, 201]
        assert set(codes[3:]) == {429}
        refused = answers[3]
        assert refused.headers["Retry-After"] == "1"
        assert "3 runs" in refused.json()["detail"]

        served = normal.post("/api/runs", json=QUICK_RUN)
        assert served.status_code == 201
        for run in answers[:3]:
            assert flood.delete(f"/api/runs/{run.json()['id']}").json()["status"] == "cancelled"
        assert len(wait_steps(normal, served.json()["id"])) == 51

        again = flood.post("/api/runs", json=QUICK_RUN)  # cancelled runs gave their slots back
        assert again.status_code == 201, again.text


def test_concurrent_instant_computations_are_bounded_per_client(limited_server: Server) -> None:
    heavy = QUICK_RUN | {"steps": 2000, "starts": [[1.0, 1.0]] * 2000, "record": "final",
                         "stop": {"grad_norm": 0}}
    with from_address(limited_server, "127.0.0.2") as flood, \
            concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(flood.post, "/api/trajectories", json=heavy) for _ in range(8)]
        codes = sorted(f.result().status_code for f in futures)
    assert 429 in codes and 200 in codes
    assert set(codes) <= {200, 429}
    with from_address(limited_server, "127.0.0.1") as normal:
        assert normal.post("/api/trajectories", json=QUICK_RUN).status_code == 200


def test_a_client_that_hangs_up_frees_the_worker(limited_server: Server) -> None:
    """One worker; an abandoned long computation must not hold it until it would have ended."""
    huge = QUICK_RUN | {"steps": 2000, "starts": [[1.0, 1.0]] * 40_000, "record": "final",
                        "stop": {"grad_norm": 0}}
    with httpx.Client(base_url=limited_server.url, timeout=0.5) as impatient, \
            pytest.raises(httpx.ReadTimeout):
        impatient.post("/api/trajectories", json=huge)  # about 10 s of work, abandoned
    began = time.monotonic()
    with httpx.Client(base_url=limited_server.url, timeout=30) as patient:
        assert patient.post("/api/trajectories", json=QUICK_RUN).status_code == 200
    assert time.monotonic() - began < 3.0
