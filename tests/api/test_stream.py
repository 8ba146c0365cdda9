"""`WS /api/runs/{id}/stream` through a real server: replay from step 0, batched `steps`
frames, `end` last, a normal close; late joiners, several watchers, rude clients, 4404."""

import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from backend.api.routes.stream import MAX_MESSAGE_STEPS
from tests.conftest import Server, cancel_run, create_run, get_run, strict_json, wait_steps

RECV_SECONDS = 60.0
ROSENBROCK = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001},
              "start": [-1.5, 2.0], "stop": {"grad_norm": 0}}


@dataclass
class Watch:
    """Everything one watcher received, and how the socket was closed."""

    messages: list[dict[str, Any]]
    texts: list[str]
    close_code: int | None
    close_reason: str | None

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [s for m in self.messages if m["type"] == "steps" for s in m["steps"]]

    @property
    def step_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "steps"]

    @property
    def end(self) -> dict[str, Any]:
        return self.messages[-1]


def stream_url(server: Server, run_id: str) -> str:
    return f"{server.ws_url}/api/runs/{run_id}/stream"


def read_all(ws: Any) -> Watch:
    """Receive until the server closes the socket."""
    texts: list[str] = []
    deadline = time.monotonic() + RECV_SECONDS
    try:
        while True:
            texts.append(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
    except ConnectionClosed:
        pass
    return Watch([strict_json(t) for t in texts], texts, ws.close_code, ws.close_reason)


def watch(server: Server, run_id: str) -> Watch:
    with connect(stream_url(server, run_id), max_size=None, open_timeout=10) as ws:
        return read_all(ws)


def assert_well_formed(w: Watch, run: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    """steps frames, then `end` last with the run's status and summary, then close 1000."""
    assert w.close_code == 1000, (w.close_code, w.close_reason)
    assert w.messages, "nothing received"
    assert all(m["type"] == "steps" for m in w.messages[:-1]), [m["type"] for m in w.messages]
    assert all(m["steps"] for m in w.step_messages), "an empty steps frame"
    assert w.end["type"] == "end"
    assert w.end["status"] == run["status"]
    assert w.end["summary"] == run["summary"]
    assert w.steps == steps
    assert [s["step"] for s in w.steps] == [s["step"] for s in steps]
    for text in w.texts:
        assert "NaN" not in text and "Infinity" not in text


def test_a_watcher_gets_every_step_in_frames_then_end_then_a_normal_close(
    server: Server, client: httpx.Client
) -> None:
    run_id = create_run(client, ROSENBROCK | {"steps": 300})["id"]
    w = watch(server, run_id)
    steps = wait_steps(client, run_id)
    assert len(steps) == 301 and steps[0]["step"] == 0
    assert_well_formed(w, get_run(client, run_id), steps)
    assert w.end["status"] == "finished"


# Each step() runs 100 L-BFGS iterations: 10,000 steps take minutes, so this run ends only
# when the test cancels it.
ENDLESS = {"surface": "rastrigin",
           "optimizer": {"name": "lbfgs", "lr": 0.001, "max_iter": 100, "tolerance_grad": 0,
                         "tolerance_change": 0},
           "steps": 10_000, "stop": {"grad_norm": 0}}


def test_steps_arrive_while_the_run_is_still_running(server: Server, client: httpx.Client) -> None:
    """Steps reach the watcher before the run ends: the run below can only end by being
    cancelled, and the test cancels it only after steps have arrived."""
    run_id = create_run(client, ENDLESS)["id"]
    with connect(stream_url(server, run_id), max_size=None, open_timeout=10) as ws:
        first_text = ws.recv(timeout=RECV_SECONDS)
        first = strict_json(first_text)
        assert first["type"] == "steps" and first["steps"][0]["step"] == 0
        live = get_run(client, run_id)
        assert live["status"] == "running", live["status"]  # so those steps were sent live
        response = cancel_run(client, run_id)
        assert response.status_code == 200
        rest = read_all(ws)
    w = Watch([first, *rest.messages], [first_text, *rest.texts], rest.close_code, rest.close_reason)
    steps = wait_steps(client, run_id)
    run = get_run(client, run_id)
    assert run["status"] == "cancelled" and w.end["status"] == "cancelled"
    assert_well_formed(w, run, steps)
    assert len(first["steps"]) <= len(steps) - 1 < ENDLESS["steps"]


def test_a_long_run_streams_in_batched_frames(server: Server, client: httpx.Client) -> None:
    """Frames coalesce: no message holds more than MAX_MESSAGE_STEPS steps, and a run replayed
    after it ended goes out in the fewest messages that allows."""
    run_id = create_run(client, ROSENBROCK | {"steps": 3000})["id"]
    w = watch(server, run_id)
    steps = wait_steps(client, run_id)
    assert len(steps) == 3001
    assert_well_formed(w, get_run(client, run_id), steps)
    assert all(len(m["steps"]) <= MAX_MESSAGE_STEPS for m in w.step_messages)
    replay = watch(server, run_id)
    assert [len(m["steps"]) for m in replay.step_messages] == [1000, 1000, 1000, 1]


def test_a_late_joiner_gets_everything_from_step_zero(server: Server, client: httpx.Client) -> None:
    run_id = create_run(client, ROSENBROCK | {"steps": 1000})["id"]
    steps = wait_steps(client, run_id)
    run = get_run(client, run_id)
    assert run["status"] == "finished"
    for _ in range(2):  # and again: replay does not consume anything
        w = watch(server, run_id)
        assert w.steps[0]["step"] == 0 and w.steps[0]["params"] == [-1.5, 2.0]
        assert_well_formed(w, run, steps)


def test_a_watcher_joining_mid_run_gets_what_was_computed_first(server: Server,
                                                                client: httpx.Client) -> None:
    run_id = create_run(client, ROSENBROCK | {"steps": 3000})["id"]
    deadline = time.monotonic() + 30
    while len(strict_json(client.get(f"/api/runs/{run_id}/steps").text)["steps"]) < 300:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    w = watch(server, run_id)
    steps = wait_steps(client, run_id)
    assert_well_formed(w, get_run(client, run_id), steps)
    assert len(w.step_messages[0]["steps"]) >= 300  # the backlog comes coalesced


def test_two_watchers_at_once_get_identical_data(server: Server, client: httpx.Client) -> None:
    run_id = create_run(client, ROSENBROCK | {"steps": 2000})["id"]
    url = stream_url(server, run_id)
    with connect(url, max_size=None) as first, connect(url, max_size=None) as second:
        a, b = read_all(first), read_all(second)
    steps = wait_steps(client, run_id)
    run = get_run(client, run_id)
    assert_well_formed(a, run, steps)
    assert_well_formed(b, run, steps)
    assert a.steps == b.steps and a.end == b.end


def test_a_batched_run_streams_lists_per_start(server: Server, client: httpx.Client) -> None:
    starts = [[-1.5, 2.0], [1.5, 2.5], [0.0, -0.5]]
    run_id = create_run(client, ROSENBROCK | {"start": None, "starts": starts, "steps": 200})["id"]
    w = watch(server, run_id)
    steps = wait_steps(client, run_id)
    run = get_run(client, run_id)
    assert_well_formed(w, run, steps)
    assert w.steps[0]["params"] == starts and len(w.steps[0]["loss"]) == 3
    assert w.end["summary"]["starts"]["status"] == ["finished"] * 3


def test_a_diverged_run_streams_nulls_and_a_diverged_end(server: Server, client: httpx.Client) -> None:
    run_id = create_run(client, {
        "surface": {"expression": "sqrt(x) + y^2", "domain": {"x": [0, 4], "y": [-2, 2]}},
        "optimizer": {"name": "sgd", "lr": 1.0}, "start": [0.01, 1.0], "steps": 10})["id"]
    w = watch(server, run_id)
    steps = wait_steps(client, run_id)
    assert_well_formed(w, get_run(client, run_id), steps)
    assert w.end["status"] == "diverged"
    assert w.steps[-1]["loss"] is None


def test_record_final_streams_the_two_recorded_steps(server: Server, client: httpx.Client) -> None:
    run_id = create_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                 "starts": [[1.0, 1.0], [2.0, -2.0]], "steps": 100,
                                 "record": "final"})["id"]
    w = watch(server, run_id)
    steps = wait_steps(client, run_id)
    assert_well_formed(w, get_run(client, run_id), steps)
    assert [s["step"] for s in w.steps] == [0, steps[-1]["step"]]


def test_an_unknown_run_closes_with_4404(server: Server) -> None:
    w = watch(server, "0123456789abcdef")
    assert w.close_code == 4404
    assert w.messages == []
    assert "0123456789abcdef" in (w.close_reason or "")


# --- clients that misbehave must cost the run nothing ---------------------------------------


def _raw_websocket(server: Server, run_id: str, receive_buffer: int = 4096) -> socket.socket:
    """A websocket upgrade on a bare socket that will never read a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(
        f"GET /api/runs/{run_id}/stream HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def _never_reads(server: Server, run_id: str) -> Any:
    return _raw_websocket(server, run_id)


def _hangs_up_at_once(server: Server, run_id: str) -> Any:
    with connect(stream_url(server, run_id)):
        pass


def _drops_the_tcp_connection(server: Server, run_id: str) -> Any:
    sock = _raw_websocket(server, run_id)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # RST, no close frame


def _reads_one_frame_then_leaves(server: Server, run_id: str) -> Any:
    with connect(stream_url(server, run_id), max_size=None) as ws:
        ws.recv(timeout=RECV_SECONDS)


RUDE_CLIENTS = [_never_reads, _hangs_up_at_once, _drops_the_tcp_connection,
                _reads_one_frame_then_leaves]


@pytest.mark.parametrize("rude", RUDE_CLIENTS, ids=lambda f: f.__name__.strip("_"))
def test_a_rude_watcher_neither_stalls_nor_kills_the_run(server: Server, client: httpx.Client,
                                                         rude: Any) -> None:
    run_id = create_run(client, ROSENBROCK | {"steps": 2000})["id"]  # ~500 kB of frames
    left_open = rude(server, run_id)
    try:
        steps = wait_steps(client, run_id)  # while the rude client still holds its socket
        run = get_run(client, run_id)
        assert run["status"] == "finished" and len(steps) == 2001
        assert_well_formed(watch(server, run_id), run, steps)
        assert client.get("/api/health").status_code == 200
    finally:
        if left_open is not None:
            left_open.close()


def open_streams(http: httpx.Client) -> int:
    """`streams` of /api/health: the stream handlers running in the server."""
    count: int = strict_json(http.get("/api/health").text)["streams"]
    return count


def wait_open_streams(http: httpx.Client, count: int) -> None:
    deadline = time.monotonic() + RECV_SECONDS  # a hang guard
    while open_streams(http) != count:
        assert time.monotonic() < deadline, f"{open_streams(http)} stream handlers open, not {count}"
        time.sleep(0.02)


@pytest.mark.parametrize("leave", ["close", "drop"])
def test_the_handler_ends_when_its_client_leaves_a_queued_run(restartable_server: Server, leave: str) -> None:
    """Both workers busy (runs that end only when cancelled), so the watched run stays queued and
    its stream has nothing to send: the handler waits on the run, and must still notice that its
    client closed the socket (or dropped the connection) and end, which /api/health shows."""
    server = restartable_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        busy = [create_run(http, ENDLESS)["id"] for _ in range(2)]  # DESCENT_WORKERS is 2
        queued = create_run(http, ROSENBROCK | {"steps": 10})["id"]
        assert open_streams(http) == 0
        if leave == "close":
            with connect(stream_url(server, queued), open_timeout=10) as ws:
                wait_open_streams(http, 1)
                with pytest.raises(TimeoutError):
                    ws.recv(timeout=0.5)  # queued: nothing to send
        else:
            sock = _raw_websocket(server, queued)
            wait_open_streams(http, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()  # RST, no close frame
        assert get_run(http, queued)["status"] == "queued"
        wait_open_streams(http, 0)
        for run_id in busy:
            assert cancel_run(http, run_id).status_code == 200
        assert len(wait_steps(http, queued)) == 11  # leaving cost the run nothing
