"""Requests beyond the limits get 429 with Retry-After, and the slots come back when work ends.

A client is an identity at an address: floods come from 127.0.0.2 and up, the normal client
from 127.0.0.1 (all loopback), each one identity (its X-Client-Id); a classroom is several
identities behind one address. Every limit is reached with work that would take minutes, so it
is still there when the next request arrives: runs and computations end only when the test
cancels them or hangs up, never by the clock.
"""

import contextlib
import json
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, free_port, wait_for_status, wait_steps

# 10,000 steps of 100 L-BFGS iterations each: minutes of work, so the run is still queued or
# running when the test looks.
ENDLESS_RUN = {"kind": "surface", "surface": "rastrigin",
               "optimizer": {"name": "lbfgs", "lr": 0.001, "max_iter": 100, "tolerance_grad": 0,
                             "tolerance_change": 0},
               "steps": 10_000, "stop": {"grad_norm": 0}}
QUICK_RUN = {"kind": "surface", "surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
             "steps": 50}
# An unstored computation of 40,000 starts × 1,000,000 steps: far longer than any test, unless its
# client hangs up. Identical requests in flight share one computation and one slot: held ones differ
# by their seed.
ENDLESS_COMPUTATION = QUICK_RUN | {"steps": 1_000_000, "starts": [[1.0, 1.0]] * 40_000, "record": "final",
                                   "stop": {"grad_norm": 0}}
ANSWER_SECONDS = 60.0  # a hang guard, not a speed requirement
CLASS_RUNS = 5  # DESCENT_RUNS_PER_ADDRESS of the limited server
CLASS_COMPUTATIONS = 3  # DESCENT_COMPUTATIONS_PER_ADDRESS of the limited server


def limited(tmp_path: Path, **env: str) -> Iterator[Server]:
    server = Server(tmp_path, free_port(), env={
        "DESCENT_WORKERS": "1", "DESCENT_MAX_STEPS": "1000000",
        "DESCENT_MAX_INSTANT_WORK": "100000000000", "DESCENT_MAX_WORK": "100000000000", **env,
    })
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[Server]:
    yield from limited(tmp_path, DESCENT_RUNS_PER_CLIENT="3", DESCENT_QUEUED_RUNS="50",
                       DESCENT_COMPUTATIONS_PER_CLIENT="2", DESCENT_RUNS_PER_ADDRESS=str(CLASS_RUNS),
                       DESCENT_COMPUTATIONS_PER_ADDRESS=str(CLASS_COMPUTATIONS))


@pytest.fixture
def small_queue_server(tmp_path: Path) -> Iterator[Server]:
    yield from limited(tmp_path, DESCENT_RUNS_PER_CLIENT="3", DESCENT_QUEUED_RUNS="4")


def from_address(url: str, address: str, identity: str | None = None) -> httpx.Client:
    """A client whose requests come from `address` (a loopback address) with the identity
    `identity` (X-Client-Id; None: the address itself), so that its first requests, sent before
    any cookie came back, are the same client as the later ones."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, timeout=ANSWER_SECONDS, transport=transport,
                        headers={"X-Client-Id": identity or address})


def post_and_hold(port: int, address: str, body: dict[str, Any],
                  identity: str | None = None) -> socket.socket:
    """POST /api/trajectories from `address` as `identity` (None: the address) on a bare socket,
    and leave it open unread: the request stays in flight until the socket is closed (the client
    hanging up)."""
    payload = json.dumps(body).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"POST /api/trajectories HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Client-Id: {identity or address}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload
    )
    return sock


def first_answer(socks: list[socket.socket]) -> tuple[int, int, dict[str, str], dict[str, Any]]:
    """Wait for the first of `socks` to be answered: (its index, status code, headers, body)."""
    ready, _, _ = select.select(socks, [], [], ANSWER_SECONDS)
    assert ready, "no request was answered"
    sock = ready[0]
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return socks.index(sock), int(lines[0].split()[1]), headers, json.loads(body)


def test_flood_gets_429_with_retry_after_while_others_are_served(limited_server: Server) -> None:
    with from_address(limited_server.url, "127.0.0.2") as flood, \
            from_address(limited_server.url, "127.0.0.1") as normal:
        answers = [flood.post("/api/runs", json=ENDLESS_RUN) for _ in range(12)]
        codes = [a.status_code for a in answers]
        assert codes[:3] == [201, 201, 201]
        assert set(codes[3:]) == {429}
        refused = answers[3]
        assert refused.headers["Retry-After"] == "1"
        assert "3 runs" in refused.json()["detail"]

        served = normal.post("/api/runs", json=QUICK_RUN)
        assert served.status_code == 201
        for run in answers[:3]:
            key = {"X-Run-Key": run.json()["key"]}
            cancelled = flood.delete(f"/api/runs/{run.json()['id']}", headers=key)
            assert cancelled.status_code == 200
            wait_for_status(flood, run.json()["id"], {"cancelled"})
        assert len(wait_steps(normal, served.json()["id"])) == 51

        again = flood.post("/api/runs", json=QUICK_RUN)  # cancelled runs gave their slots back
        assert again.status_code == 201, again.text


def page(url: str, address: str) -> httpx.Client:
    """A browser page at `address`: its identity is the cookie the server gives it on its first
    request, as a student's page gets it."""
    transport = httpx.HTTPTransport(local_address=address)
    client = httpx.Client(base_url=url, timeout=ANSWER_SECONDS, transport=transport)
    client.get("/api/health").raise_for_status()
    assert client.cookies.get("descent_client")
    return client


def test_a_classroom_behind_one_address_is_served_student_by_student(limited_server: Server) -> None:
    """Students behind one address (a school's NAT), each a page with its own cookie: each is
    held to its own 3 runs and the class to CLASS_RUNS together, while another address is
    served; a run that ends gives its place back to the class."""
    url = limited_server.url
    with contextlib.ExitStack() as stack:
        ann, bob, cat, dan = students = [page(url, "127.0.0.5") for _ in range(4)]
        for student in students:
            stack.callback(student.close)
        other = stack.enter_context(from_address(url, "127.0.0.6"))
        taken = [(ann, ann.post("/api/runs", json=ENDLESS_RUN)) for _ in range(3)]
        over = ann.post("/api/runs", json=ENDLESS_RUN)
        assert over.status_code == 429 and "this client already has 3 runs" in over.json()["detail"]
        taken += [(student, student.post("/api/runs", json=ENDLESS_RUN)) for student in (bob, cat)]
        assert [r.status_code for _, r in taken] == [201] * CLASS_RUNS, [r.text for _, r in taken]
        full = dan.post("/api/runs", json=ENDLESS_RUN)  # under his own 3, over the class's 5
        assert full.status_code == 429 and full.headers["Retry-After"] == "1"
        assert (f"this address already has {CLASS_RUNS} runs queued or running, all its clients together"
                in full.json()["detail"])
        assert other.post("/api/runs", json=QUICK_RUN).status_code == 201  # another address is served
        for student, run in taken:
            key = {"X-Run-Key": run.json()["key"]}
            assert student.delete(f"/api/runs/{run.json()['id']}", headers=key).status_code == 200
            wait_for_status(student, run.json()["id"], {"cancelled"})
        again = dan.post("/api/runs", json=QUICK_RUN)  # the class's places came back
        assert again.status_code == 201, again.text
        assert len(wait_steps(dan, again.json()["id"])) == 51


def test_a_computation_never_waits_behind_queued_runs(limited_server: Server) -> None:
    """The one run thread (DESCENT_WORKERS=1) busy with a run of minutes, another run queued
    behind it: a slider's trajectory is still answered, from the computations' own threads."""
    with from_address(limited_server.url, "127.0.0.9") as teacher:
        runs = [teacher.post("/api/runs", json=ENDLESS_RUN).json() for _ in range(2)]
        wait_for_status(teacher, runs[0]["id"], {"running"})
        answer = teacher.post("/api/trajectories", json=QUICK_RUN)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["steps"]) == 51
        assert teacher.get(f"/api/runs/{runs[1]['id']}").json()["status"] == "queued"
        for run in runs:
            cancelled = teacher.delete(f"/api/runs/{run['id']}", headers={"X-Run-Key": run["key"]})
            assert cancelled.status_code == 200


def test_a_queued_run_says_how_many_runs_are_ahead_of_it(limited_server: Server) -> None:
    """The one run thread busy, three runs queued behind it by two students: each reads how
    many queued runs are ahead of it, in the order they were queued; cancelling one moves
    those behind it up; a running or ended run has no position."""
    url = limited_server.url
    with from_address(url, "127.0.0.10", "ann") as ann, from_address(url, "127.0.0.10", "bob") as bob:
        running = ann.post("/api/runs", json=ENDLESS_RUN).json()
        wait_for_status(ann, running["id"], {"running"})
        queued = [(s, s.post("/api/runs", json=ENDLESS_RUN).json()) for s in (bob, ann, bob)]

        def positions() -> list[int | None]:
            return [ann.get(f"/api/runs/{run['id']}").json()["queue_position"] for _, run in queued]

        assert ann.get(f"/api/runs/{running['id']}").json()["queue_position"] is None
        assert positions() == [0, 1, 2]

        def cancel(student: httpx.Client, run: dict[str, Any]) -> None:
            cancelled = student.delete(f"/api/runs/{run['id']}", headers={"X-Run-Key": run["key"]})
            assert cancelled.status_code == 200

        cancel(*queued[0])
        assert positions() == [None, 0, 1]  # the cancelled run has none
        for student, run in [(ann, running), *queued[1:]]:
            cancel(student, run)


def test_the_queue_of_the_whole_server_is_bounded(small_queue_server: Server) -> None:
    """Four runs queued or running in all (three clients' worth), whoever asks: 429 for everyone
    until one ends, then the next client gets its run."""
    server = small_queue_server
    with from_address(server.url, "127.0.0.2") as first, from_address(server.url, "127.0.0.3") as second, \
            from_address(server.url, "127.0.0.4") as third:
        mine = [first.post("/api/runs", json=ENDLESS_RUN) for _ in range(3)]
        assert [r.status_code for r in mine] == [201, 201, 201]
        theirs = second.post("/api/runs", json=ENDLESS_RUN)
        assert theirs.status_code == 201
        for client in (second, third):  # under their own limit of 3, over the server's 4
            refused = client.post("/api/runs", json=QUICK_RUN)
            assert refused.status_code == 429, refused.text
            assert refused.headers["Retry-After"] == "1"
            assert "the server has 4 runs waiting" in refused.json()["detail"]
        first.delete(f"/api/runs/{mine[0].json()['id']}", headers={"X-Run-Key": mine[0].json()["key"]})
        wait_for_status(first, mine[0].json()["id"], {"cancelled"})
        admitted = third.post("/api/runs", json=QUICK_RUN)
        assert admitted.status_code == 201, admitted.text
        assert second.post("/api/runs", json=QUICK_RUN).status_code == 429  # full again
        for run in [*mine[1:], theirs]:
            first.delete(f"/api/runs/{run.json()['id']}", headers={"X-Run-Key": run.json()["key"]})
            wait_for_status(first, run.json()["id"], {"cancelled"})
        assert len(wait_steps(third, admitted.json()["id"])) == 51


def test_concurrent_instant_computations_are_bounded_per_client(limited_server: Server) -> None:
    """Two computations in flight (the limit) and a third asked: exactly one of the three is
    refused, at once; once the two clients hang up, their slots come back."""
    held = [post_and_hold(limited_server.port, "127.0.0.2", ENDLESS_COMPUTATION | {"seed": seed})
            for seed in range(3)]
    try:
        _, status, headers, answer = first_answer(held)
        assert status == 429 and headers["retry-after"] == "1"
        assert "2 computations in flight" in answer["detail"]
        with from_address(limited_server.url, "127.0.0.2") as flood:
            assert flood.post("/api/trajectories", json=QUICK_RUN).status_code == 429  # still full
            for sock in held:
                sock.close()  # the two in flight hang up
            deadline = time.monotonic() + ANSWER_SECONDS  # a hang guard
            while (again := flood.post("/api/trajectories", json=QUICK_RUN)).status_code == 429:
                assert time.monotonic() < deadline, "the slots never came back"
                time.sleep(0.05)  # the server notices a hang-up between two steps
            assert again.status_code == 200, again.text
    finally:
        for sock in held:
            sock.close()


def test_a_classroom_s_computations_are_bounded_per_address(limited_server: Server) -> None:
    """One computation in flight for each of CLASS_COMPUTATIONS students behind one address
    fills the address: the next student, under her own limit of 2, is refused with the
    address's message; once they hang up, the class computes again."""
    held = [post_and_hold(limited_server.port, "127.0.0.7", ENDLESS_COMPUTATION | {"seed": seed},
                          identity=f"student-{seed}") for seed in range(CLASS_COMPUTATIONS + 1)]
    try:
        _, status, headers, answer = first_answer(held)
        assert status == 429 and headers["retry-after"] == "1"
        assert (f"this address already has {CLASS_COMPUTATIONS} computations in flight, all its clients "
                "together") in answer["detail"]
        with from_address(limited_server.url, "127.0.0.7", "student-late") as late:
            assert late.post("/api/trajectories", json=QUICK_RUN).status_code == 429  # still full
            for sock in held:
                sock.close()
            deadline = time.monotonic() + ANSWER_SECONDS  # a hang guard
            while (again := late.post("/api/trajectories", json=QUICK_RUN)).status_code == 429:
                assert time.monotonic() < deadline, "the slots never came back"
                time.sleep(0.05)
            assert again.status_code == 200, again.text
    finally:
        for sock in held:
            sock.close()


def test_a_client_that_hangs_up_frees_the_worker(limited_server: Server) -> None:
    """One worker thread, busy with computations of minutes whose clients then hang up: the
    next client is answered, which it could not be if the abandoned work went on."""
    held = [post_and_hold(limited_server.port, "127.0.0.3", ENDLESS_COMPUTATION | {"seed": seed})
            for seed in range(3)]
    _, status, _, _ = first_answer(held)  # the third: the other two hold the worker
    assert status == 429
    for sock in held:
        sock.close()
    with from_address(limited_server.url, "127.0.0.1") as patient:
        answer = patient.post("/api/trajectories", json=QUICK_RUN)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["steps"]) == 51
