"""The fault suite: real processes killed, restarted and starved in the middle of a run.

Each test breaks one thing while a run is in flight — the API (kill -9, with the local and the
Redis executor), a worker (kill -9), Redis (kill -9 and restarted on its append-only file),
PostgreSQL (an immediate stop, then started again), a websocket client that never reads, a
client that vanishes mid-stream — and then asserts that nothing was lost: the run ends
`finished`, and what the watchers received and what the store kept is the trajectory of a clean
run of the same request (`reference`: computed here by the workers' own `compute`, itself
checked against a plain torch.optim loop).

Where a process must be caught mid-run, it is frozen (SIGSTOP) as soon as the run's first frame
exists, hundreds of steps before the run could end, so no test depends on how fast this machine is.
"""

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
import redis

from backend.runs.redis.protocol import run_key, steps_key
from backend.settings import reading_stored
from tests.api.test_stream import _raw_websocket, open_streams, wait_open_streams
from tests.conftest import Server, create_run, free_port, get_run, wait_steps
from tests.integration.conftest import (
    RUN,
    Cluster,
    Watcher,
    _postgres_bin,
    assert_same_trajectory,
    fresh,
    missing,
    postgres_cluster,
    reference,
    until,
    wait_for,
    without_workers,
)

LONG = {**RUN, "steps": 40_000}  # 13 MB of steps as JSON (40 messages): far more than a socket holds
HANG_GUARD = 120.0  # seconds; not a speed requirement
LOCAL = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKERS": "1", "DESCENT_MAX_STEPS": "100000"}


def long_reference() -> list[dict[str, Any]]:
    """The clean run of LONG (validated as a stored run is: this process's step limit is 10,000)."""
    with reading_stored():
        return reference(LONG)


def freeze_after_first_frame(cluster: Cluster, run_id: str) -> str:
    """SIGSTOP the worker computing the run as soon as its first frame is in Redis; its name."""
    wait_for(lambda: cluster.redis.xlen(steps_key(run_id)) > 0, HANG_GUARD, "the first frame", interval=0.002)
    name: str = cluster.redis.hget(run_key(run_id), "worker").decode()
    cluster.workers[name].send_signal(signal.SIGSTOP)
    return name


def watch(cluster: Cluster, run_id: str) -> Watcher:
    return asyncio.run(asyncio.wait_for(Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"),
                                        HANG_GUARD))


def assert_clean(cluster: Cluster, run_id: str, watcher: Watcher) -> None:
    """The run finished; its watcher's trajectory and the stored one are a clean run's."""
    assert watcher.end is not None and watcher.end["status"] == "finished", watcher.end
    assert_same_trajectory(watcher.steps, reference(RUN))
    assert cluster.run(run_id)["status"] == "finished"
    assert_same_trajectory(cluster.stored_steps(run_id), reference(RUN))


# --- the local executor: the API computes -------------------------------------------------------


def test_local_api_killed_mid_run_resumes_the_run_after_restart(tmp_path: Path) -> None:
    server = Server(tmp_path, free_port(), env=LOCAL)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            run_id = create_run(http, RUN)["id"]
            deadline = time.monotonic() + HANG_GUARD
            while not (seen := http.get(f"/api/runs/{run_id}/steps").json()["steps"]):
                assert time.monotonic() < deadline, "no step was computed"
                time.sleep(0.002)
            process_of(server).send_signal(signal.SIGSTOP)  # mid-run: it computes no further step
            killed_at = datetime.now(UTC)
            server.kill()  # kill -9: no shutdown code runs
            assert 0 < len(seen) < RUN["steps"] + 1
            server.start()  # resume_unfinished: the run is computed again from step 0
            steps = wait_steps(http, run_id)
            run = get_run(http, run_id)
            late = asyncio.run(asyncio.wait_for(
                Watcher().watch(f"{server.ws_url}/api/runs/{run_id}/stream"), HANG_GUARD))
    finally:
        server.stop(signal.SIGKILL)
    assert run["status"] == "finished"
    assert datetime.fromisoformat(run["started_at"]) > killed_at  # computed by the new process
    assert_same_trajectory(steps, reference(RUN))
    assert_same_trajectory(late.steps, reference(RUN))


def process_of(server: Server) -> subprocess.Popen[bytes]:
    assert server.process is not None
    return server.process


# --- the Redis executor: an API, workers, and Redis on its append-only file ----------------------


class AppendOnlyRedis:
    """A redis-server that writes every change to its append-only file before answering."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server")
        assert binary is not None
        self.command = [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "yes", "--appendfsync", "always",
                        "--dir", tempfile.mkdtemp(prefix="descent-aof-")]
        self.url = f"redis://127.0.0.1:{self.command[2]}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        wait_for(client.ping, 30, "redis-server")
        client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        self.process = None


@pytest.fixture(scope="module")
def aof_redis() -> Iterator[AppendOnlyRedis]:
    server = AppendOnlyRedis()
    server.start()
    yield server
    if server.process is not None:
        server.kill()
    shutil.rmtree(server.command[-1], ignore_errors=True)


@pytest.fixture(scope="module")
def api(aof_redis: AppendOnlyRedis, make_cluster: Any) -> Cluster:
    cluster: Cluster = make_cluster(aof_redis.url)
    cluster.start_api()
    return cluster


@pytest.fixture
def cluster(api: Cluster) -> Iterator[Cluster]:
    """The module's API with no worker; the workers a test starts are gone after it."""
    yield from without_workers(api)


def test_redis_api_killed_mid_run_the_worker_finishes_it_and_a_new_api_serves_it(cluster: Cluster) -> None:
    cluster.start_worker(fresh("steady"))
    run_id = cluster.post_run(RUN)
    worker = freeze_after_first_frame(cluster, run_id)
    cluster.stop_api()  # kill -9, mid-run
    cluster.workers[worker].send_signal(signal.SIGCONT)
    wait_for(lambda: cluster.redis.hget(run_key(run_id), "status") == b"finished", HANG_GUARD,
             "the worker to finish the run with no API")
    cluster.start_api()
    watcher = watch(cluster, run_id)
    assert_clean(cluster, run_id, watcher)
    assert watcher.resets == 0 and cluster.redis.hget(run_key(run_id), "attempt") == b"1"  # one attempt


def test_redis_worker_killed_mid_run_another_claims_the_run(cluster: Cluster) -> None:
    cluster.start_worker(fresh("doomed"))
    run_id = cluster.post_run(RUN)
    doomed = freeze_after_first_frame(cluster, run_id)
    cluster.kill_worker(doomed, signal.SIGKILL)
    rescuer = fresh("rescuer")
    cluster.start_worker(rescuer, wait=False)  # claims the job once it has been idle 1.5 s
    watcher = watch(cluster, run_id)
    assert_clean(cluster, run_id, watcher)
    assert watcher.resets == 1  # the first attempt's steps were replaced, not appended to
    state = cluster.redis.hgetall(run_key(run_id))
    assert (state[b"worker"], state[b"attempt"]) == (rescuer.encode(), b"2")


def test_redis_restarted_mid_run_loses_nothing(cluster: Cluster, aof_redis: AppendOnlyRedis) -> None:
    """Redis is killed (kill -9) while a worker computes; the worker's next frame fails, so it
    leaves the job pending; Redis comes back from its append-only file, the job is claimed
    again after the visibility timeout and computed from step 0; the watcher, connected
    through it all, ends with the clean trajectory."""
    worker = fresh("through")
    cluster.start_worker(worker)
    run_id = cluster.post_run(RUN)
    log = cluster.data_dir / f"worker-{worker}.log"

    async def scenario() -> Watcher:
        watcher = Watcher()
        task = asyncio.create_task(watcher.watch(f"{cluster.ws}/api/runs/{run_id}/stream"))
        freeze_after_first_frame(cluster, run_id)
        await until(lambda: bool(watcher.steps), HANG_GUARD, "the first steps", task)
        aof_redis.kill()
        cluster.workers[worker].send_signal(signal.SIGCONT)
        await until(lambda: "Redis failed" in log.read_text(errors="replace"), HANG_GUARD,
                    "the worker to meet the outage mid-run", task)
        aof_redis.start()
        return await asyncio.wait_for(task, HANG_GUARD)

    watcher = asyncio.run(scenario())
    assert_clean(cluster, run_id, watcher)
    assert int(cluster.redis.hget(run_key(run_id), "attempt")) == 2


# --- PostgreSQL as the run store ------------------------------------------------------------------


def restart_postgres(url: str) -> None:
    """Stop the cluster at once (its clients' connections die as in a crash), then start it again."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
        row = db.execute("SHOW data_directory").fetchone()
    assert row is not None
    data = Path(row[0])
    as_user = ["runuser", "-u", pwd.getpwuid(data.stat().st_uid).pw_name, "--"] if os.geteuid() == 0 else []
    bindir = _postgres_bin()
    assert bindir is not None
    command = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "restart.log"),
               "-m", "immediate", "-w", "-t", "60", "restart"]
    subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def pg_api(redis_url: str, make_cluster: Any) -> Iterator[Cluster]:
    with postgres_cluster("127.0.0.1", free_port()) as url:
        cluster: Cluster = make_cluster(redis_url, DESCENT_DATABASE_URL=url)
        cluster.start_api()
        yield cluster


@pytest.fixture
def pg_cluster(pg_api: Cluster) -> Iterator[Cluster]:
    yield from without_workers(pg_api)


def test_postgres_restarted_mid_run_loses_nothing(pg_cluster: Cluster) -> None:
    """The store's connections, the worker's and the API's, all die mid-run; the worker stores the
    run's end and the API reads it through new ones."""
    cluster = pg_cluster
    cluster.start_worker(fresh("pg"))
    run_id = cluster.post_run(RUN)
    worker = freeze_after_first_frame(cluster, run_id)
    restart_postgres(cluster.env["DESCENT_DATABASE_URL"])
    cluster.workers[worker].send_signal(signal.SIGCONT)
    assert_clean(cluster, run_id, watch(cluster, run_id))


# --- websocket clients that misbehave --------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("faults-stream"), free_port(), env=LOCAL)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_clients_that_never_read_cost_bounded_memory_and_stall_nobody(stream_server: Server) -> None:
    """Ten clients open the stream of a run of 13 MB of steps and never read a byte: the server
    holds about a message for each (a send waits for its socket), not the run ten times over
    (its memory grows by less than a third of that); /api/health answers, and another watcher
    gets the whole clean trajectory."""
    server, clients = stream_server, 10
    with httpx.Client(base_url=server.url, timeout=30) as http:
        run_id = create_run(http, LONG)["id"]
        url = f"{server.ws_url}/api/runs/{run_id}/stream"
        first = asyncio.run(asyncio.wait_for(Watcher().watch(url), HANG_GUARD))
        assert_same_trajectory(first.steps, long_reference())
        wait_open_streams(http, 0)
        payload = len(orjson.dumps(first.steps))
        before = rss_bytes(process_of(server).pid)
        stuck = [_raw_websocket(server, run_id) for _ in range(clients)]
        try:
            wait_open_streams(http, clients)
            late = asyncio.run(asyncio.wait_for(Watcher().watch(url), HANG_GUARD))
            assert http.get("/api/health").status_code == 200
            assert open_streams(http) == clients  # still stuck on clients that never read
            grown = rss_bytes(process_of(server).pid) - before
        finally:
            for sock in stuck:
                sock.close()
        wait_open_streams(http, 0)  # and their handlers end once they are gone
    assert_same_trajectory(late.steps, long_reference())
    assert grown < clients * payload / 3, (grown, payload)


def test_a_client_vanishing_mid_stream_costs_the_run_nothing(stream_server: Server) -> None:
    """A watcher reads the first bytes of a running run's stream, then its connection drops (RST,
    no close frame): its handler ends, and the run goes on to the clean trajectory."""
    server = stream_server
    with httpx.Client(base_url=server.url, timeout=30) as http:
        run_id = create_run(http, LONG)["id"]
        sock = _raw_websocket(server, run_id, receive_buffer=65536)
        received = b""
        while len(received.partition(b"\r\n\r\n")[2]) < 1000:  # past the handshake: steps
            received += sock.recv(65536)
        wait_open_streams(http, 1)
        assert get_run(http, run_id)["status"] == "running"  # mid-run: 40,000 steps take a while
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        wait_open_streams(http, 0)
        steps = wait_steps(http, run_id)
        assert get_run(http, run_id)["status"] == "finished"
        late = asyncio.run(asyncio.wait_for(
            Watcher().watch(f"{server.ws_url}/api/runs/{run_id}/stream"), HANG_GUARD))
    assert_same_trajectory(steps, long_reference())
    assert_same_trajectory(late.steps, long_reference())
