"""Real servers for the integration tests, all on loopback, all thrown away afterwards.

- `redis_server`: a `redis-server` on a free port, no persistence, in a temp dir.
- `postgres_url`: a throwaway PostgreSQL cluster (`initdb` + `pg_ctl` from
  /usr/lib/postgresql/*/bin; as root, run as the `postgres` user via `runuser`);
  `postgres_cluster` starts one anywhere else (on a host in a network namespace).
- `Cluster`: the API (`uvicorn backend.main:app`) and workers (`python -m backend.worker`)
  as separate processes with the `redis` executor, short visibility timeouts,
  and their logs printed when a test fails.

A missing server binary skips the test, unless `REQUIRE_SYSTEM_DEPS=1` (CI),
which makes it fail instead.
"""

import asyncio
import contextlib
import glob
import itertools
import math
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("REQUIRE_SYSTEM_DEPS") == "1"
START_SECONDS = 120.0  # a hang guard: processes importing torch at once on a busy 2-core machine

# Short timings so a lost worker is noticed in about a second and a half.
FAST = {
    "DESCENT_VISIBILITY_TIMEOUT": "1.5",
    "DESCENT_HEARTBEAT_SECONDS": "0.3",
    "DESCENT_DEVICE": "cpu",
    "DESCENT_TORCH_THREADS": "1",
    "DESCENT_RUNS_PER_CLIENT": "100",
    "DESCENT_RUNS_PER_ADDRESS": "100",
    "DESCENT_MAX_STEPS": "100000",
}
# A single-start run takes about 0.3 ms a step on one core: RUN (5,000 steps) lasts 1.5 s;
# LONG_RUN (100,000 steps, allowed by DESCENT_MAX_STEPS below) half a minute: tests cancel it.
RUN: dict[str, Any] = {
    "kind": "surface", "surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001},
    "start": [-1.5, 2.0], "steps": 5_000, "stop": {"grad_norm": 0.0, "step_norm": 0.0},
}
LONG_RUN: dict[str, Any] = {**RUN, "steps": 100_000}

CLIENT = {"X-Client-Id": "integration-test"}  # whose runs GET /api/runs lists


def missing(what: str) -> None:
    message = f"{what} is not installed"
    if REQUIRE:
        pytest.fail(f"{message} (REQUIRE_SYSTEM_DEPS=1)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `check()` until it is truthy; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError, redis.ConnectionError):
            value = check()
            if value:
                return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


# --- redis ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """`redis://127.0.0.1:PORT` of a private redis-server (databases 0-15 free for tests)."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server")
                                              .exists() else None)
    if binary is None:
        missing("redis-server")
    assert binary is not None
    workdir = tempfile.mkdtemp(prefix="descent-redis-")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--databases", "64"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        wait_for(client.ping, 10, "redis-server")
        yield f"redis://127.0.0.1:{port}"
    finally:
        client.close()
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


_databases = itertools.count(1)


@pytest.fixture(scope="module")
def redis_url(redis_server: str) -> str:
    """A Redis database no other test module uses."""
    return f"{redis_server}/{next(_databases)}"


# --- postgres ---------------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def postgres_cluster(listen: str, port: int, wrap: Sequence[str] = ()) -> Iterator[str]:
    """`postgresql+psycopg://...` of a throwaway cluster on `listen:port` (trust auth, no fsync).

    `wrap` goes before each server command: `["ip", "netns", "exec", HOST]` runs it on another host.
    The database is created through the cluster's Unix socket, which needs no route to `listen`.
    """
    bindir = _postgres_bin()
    if bindir is None:
        missing("PostgreSQL (initdb, pg_ctl)")
    assert bindir is not None
    workdir = Path(tempfile.mkdtemp(prefix="descent-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            user, entry = "nobody", pwd.getpwnam("nobody")
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", user, "--"]
    data = workdir / "data"

    def run(*command: str) -> None:
        subprocess.run([*wrap, *as_user, *command], check=True, capture_output=True, timeout=60)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "descent", "--auth=trust", "--no-sync",
        "-E", "UTF8")
    with (data / "pg_hba.conf").open("a") as hba:  # initdb trusts loopback only; add the host's subnet
        hba.write("host all all samenet trust\n")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "postgres.log"), "-w", "-t", "30",
        "-o", f"-p {port} -k {workdir} -c listen_addresses={listen} -c fsync=off", "start")
    try:
        import psycopg

        with psycopg.connect(host=str(workdir), port=port, user="descent", dbname="postgres",
                             autocommit=True) as db:
            db.execute("CREATE DATABASE descent")
        yield f"postgresql+psycopg://descent@{listen}:{port}/descent"
    finally:
        with contextlib.suppress(Exception):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway cluster on 127.0.0.1 for the session."""
    with postgres_cluster("127.0.0.1", free_port()) as url:
        yield url


# --- the API and workers as processes ------------------------------------------------------------


@dataclass
class Cluster:
    """An API process and worker processes sharing one Redis database and one run store."""

    redis_url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    api: subprocess.Popen[bytes] | None = None
    port: int = 0
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # run id → its key

    def __post_init__(self) -> None:
        self.env = {**os.environ, **FAST, "DESCENT_EXECUTOR": "redis", "DESCENT_REDIS_URL": self.redis_url,
                    "DESCENT_DATA_DIR": str(self.data_dir), **self.env}
        self.redis = redis.Redis.from_url(self.redis_url)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        path = self.data_dir / f"{name}.log"
        self.logs.append(path)
        with path.open("ab") as out:
            return subprocess.Popen([sys.executable, "-W", "error", *args], cwd=ROOT, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start_api(self, wait: bool = True) -> None:
        """Start the API; a restart listens where the last one did, as a real one would."""
        self.port = self.port or free_port()
        self.api = self._spawn(f"api-{self.port}", [
            "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning",
        ])
        if wait:
            self.wait_api()

    def wait_api(self) -> None:
        api = self.api
        assert api is not None

        def up() -> bool:
            if api.poll() is not None:
                raise RuntimeError(f"the API exited with {api.returncode}:\n{self.tail()}")
            return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200

        wait_for(up, START_SECONDS, "the API")

    def stop_api(self, sig: int = signal.SIGKILL) -> None:
        assert self.api is not None
        self.api.send_signal(sig)
        self.api.wait(15)
        self.api = None

    def start_worker(self, name: str, *args: str, wait: bool = True) -> subprocess.Popen[bytes]:
        process = self._spawn(f"worker-{name}", ["-m", "backend.worker", "--name", name, *args])
        self.workers[name] = process
        if wait:
            self.wait_worker(name)
        return process

    def wait_worker(self, name: str) -> None:
        process = self.workers[name]

        def beating() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {process.returncode}:\n{self.tail()}")
            return bool(self.redis.exists(f"descent:worker:{name}"))

        wait_for(beating, START_SECONDS, f"worker {name}")

    def kill_worker(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.workers.pop(name)
        process.send_signal(sig)
        process.wait(30)

    def post_run(self, body: dict[str, Any]) -> str:
        response = httpx.post(f"{self.url}/api/runs", json=body, timeout=10, headers=CLIENT)
        assert response.status_code == 201, response.text
        run_id: str = response.json()["id"]
        self.keys[run_id] = response.json()["key"]
        return run_id

    def key(self, run_id: str) -> dict[str, str]:
        """The header that lets this test, the run's owner, change it."""
        return {"X-Run-Key": self.keys[run_id]}

    def cancel(self, run_id: str) -> httpx.Response:
        return httpx.delete(f"{self.url}/api/runs/{run_id}", headers=self.key(run_id), timeout=30)

    def stored_steps(self, run_id: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/runs/{run_id}/steps", timeout=30)
        assert response.status_code == 200, response.text
        steps: list[dict[str, Any]] = response.json()["steps"]
        return steps

    def run(self, run_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/runs/{run_id}", timeout=10)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return run

    def tail(self, lines: int = 40) -> str:
        parts = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def close(self) -> None:
        for process in [*self.workers.values(), *([self.api] if self.api else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers.values(), *([self.api] if self.api else [])]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.redis.close()


_worker_names = itertools.count()


def fresh(name: str) -> str:
    """A worker name no other test uses (a consumer name in the job group is reused otherwise)."""
    return f"{name}-{next(_worker_names)}"


def without_workers(cluster: Cluster) -> Iterator[Cluster]:
    """A fixture's body: `cluster` with no worker; whatever workers the test starts are gone after it."""
    assert not cluster.workers, "a worker of another test is still running"
    yield cluster
    for name in list(cluster.workers):
        cluster.workers[name].send_signal(signal.SIGCONT)  # a frozen process dies only once thawed
        cluster.kill_worker(name, signal.SIGKILL)


CLUSTERS: list[Cluster] = []  # open ones, whose logs a failing test prints


@pytest.fixture(scope="module")
def make_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`make_cluster(redis_url, **env)` → a Cluster, closed at the end of the module."""
    clusters: list[Cluster] = []

    def make(redis_url: str, **env: str) -> Cluster:
        cluster = Cluster(redis_url, tmp_path_factory.mktemp("cluster"), env)
        clusters.append(cluster)
        CLUSTERS.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.close()
        CLUSTERS.remove(cluster)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash[REPORTS] = [*item.stash.get(REPORTS, []), report]
    return report


REPORTS = pytest.StashKey[list[pytest.TestReport]]()


@pytest.fixture(autouse=True)
def _logs_of_a_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the server logs when a test fails (pytest shows what a failing test printed)."""
    yield
    if any(report.failed for report in request.node.stash.get(REPORTS, [])):
        for cluster in CLUSTERS:
            print(cluster.tail())


# --- watching a run ------------------------------------------------------------------------------


@dataclass
class Watcher:
    """One websocket client: the trajectory it ends up with, as a page would (a reset starts over)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the type of every message, in order
    resets: int = 0
    messages: int = 0
    end: dict[str, Any] | None = None
    code: int | None = None

    async def watch(self, url: str) -> "Watcher":
        async with connect(url, max_size=None, open_timeout=10) as websocket:
            async for message in websocket:
                data = orjson.loads(message)
                self.messages += 1
                self.kinds.append(data["type"])
                if data["type"] == "steps":
                    self.steps.extend(data["steps"])
                elif data["type"] == "reset":
                    self.resets += 1
                    self.steps = []
                elif data["type"] == "end":
                    self.end = data
            self.code = websocket.close_code
        return self


_references: dict[bytes, list[dict[str, Any]]] = {}


def reference(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a clean run of `body`, computed here by the same `compute` the workers call
    (every field of a step, to compare bit for bit), and checked first against a plain
    `torch.optim` loop written below, so that `compute` is not its own oracle."""
    key = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    if key not in _references:
        from backend.runs.compute import compute
        from backend.runs.segments import as_records
        from backend.surfaces.spec import SurfaceRun

        result = compute(SurfaceRun.model_validate(body), "cpu")
        steps = orjson.loads(orjson.dumps([s for _, records in result.frames for s in as_records(records)],
                                          option=orjson.OPT_SERIALIZE_NUMPY))
        assert_follows_the_plain_loop(steps, plain_torch_loop(body))
        _references[key] = steps
    return _references[key]


def plain_torch_loop(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What a user writes for the runs these tests submit (Adam on Rosenbrock, every step, no
    stop rule): step k is the point after k `optimizer.step()` calls, its loss and gradient."""
    import torch

    assert body["surface"] == "rosenbrock" and body["optimizer"]["name"] == "adam", body
    assert body["stop"] == {"grad_norm": 0.0, "step_norm": 0.0} and "schedule" not in body, body
    w = torch.tensor(body["start"], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=body["optimizer"]["lr"])
    records = []
    for k in range(body["steps"] + 1):
        optimizer.zero_grad()
        loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
        loss.backward()
        assert w.grad is not None
        records.append({"step": k, "params": w.detach().tolist(), "loss": loss.item(),
                        "grad": w.grad.tolist(), "lr": body["optimizer"]["lr"]})
        if k < body["steps"]:
            optimizer.step()
    return records


def assert_follows_the_plain_loop(steps: list[dict[str, Any]], loop: list[dict[str, Any]]) -> None:
    assert len(steps) == len(loop)
    for got, want in zip(steps, loop, strict=True):
        assert got["step"] == want["step"] and got["lr"] == want["lr"], (got, want)
        for name in ("params", "loss", "grad"):
            assert _close(got[name], want[name], 1e-9, 1e-9), (name, got, want)


def assert_same_trajectory(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Bit-identical steps, except `effective_lr`: a display value derived per frame with vectorised
    `pow`, whose last bits depend on where the (timing-dependent) frame boundaries fall."""
    assert len(got) == len(want)
    exact = [{k: v for k, v in step.items() if k != "effective_lr"} for step in got]
    assert exact == [{k: v for k, v in step.items() if k != "effective_lr"} for step in want]
    for mine, theirs in zip(got, want, strict=True):
        assert _close(mine.get("effective_lr"), theirs.get("effective_lr")), (mine, theirs)


def _close(a: Any, b: Any, rel: float = 1e-12, abs_: float = 0.0) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rel, abs_) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
    return bool(a == b)


async def until(check: Any, timeout: float, what: str, *watching: "asyncio.Task[Any]") -> None:
    """Wait for `check()`; a failed watcher task fails the wait at once."""
    deadline = time.monotonic() + timeout
    while not check():
        for task in watching:
            if task.done() and task.exception() is not None:
                raise AssertionError(f"a watcher failed while waiting for {what}") from task.exception()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
