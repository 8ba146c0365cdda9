"""Shared fixtures: a real uvicorn server on loopback, and an HTTP client for it.

`server` is one process for the whole session (tests that only read, or that
create their own runs, do not interfere); `restartable_server` is a fresh one per
test, for the persistence tests that stop, kill and restart it. Each server has
its own data directory, given through `DESCENT_DATA_DIR`, and inherits no other
`DESCENT_*` variable from the environment, so the settings are the defaults
unless a fixture says otherwise.

The helpers below (`create_run`, `wait_steps`, `strict_json`, ...) are imported
by the API tests: `from tests.conftest import ...`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60.0
STOP_SECONDS = 20.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m uvicorn backend.main:app` in a subprocess, on one data dir and one port."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"uvicorn-{self.starts}.log"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def start(self) -> None:
        """Start the process and return once `GET /api/health` answers."""
        assert self.process is None, "already running"
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESCENT_")}
        env |= {"DESCENT_DATA_DIR": str(self.data_dir), "PYTHONUNBUFFERED": "1",
                "DESCENT_ADMIN_TOKEN": MODERATOR_TOKEN}
        env |= self.extra_env
        command = [
            sys.executable, "-m", "uvicorn", "backend.main:app",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(base_url=self.url, timeout=2) as probe:
            while True:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    self.process = None
                    raise RuntimeError(f"server exited with {code} on start:\n{self.log_tail()}")
                try:
                    if probe.get("/api/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop(signal.SIGKILL)
                    raise RuntimeError(f"server did not answer /api/health:\n{self.log_tail()}")
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` and wait for the process to exit (SIGKILL if it will not); its exit code."""
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"server ignored signal {sig}:\n{self.log_tail()}") from None

    def kill(self) -> None:
        """Die at once, as in a crash: no shutdown code runs."""
        self.stop(signal.SIGKILL)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        """Stop (SIGTERM by default, and wait), then start again on the same data dir and port."""
        self.stop(sig)
        self.start()


def _server(tmp: Path) -> Iterator[Server]:
    server = Server(tmp, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session, on its own empty data dir."""
    yield from _server(tmp_path_factory.mktemp("descent-data"))


@pytest.fixture
def restartable_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, free to be stopped, killed and restarted."""
    yield from _server(tmp_path)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


# --- helpers --------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def strict_json(text: str | bytes) -> Any:
    """Parse JSON as the standard says: NaN, Infinity and -Infinity are not JSON."""
    return json.loads(text, parse_constant=_no_constant)


KEYS: dict[str, str] = {}  # run id → its key, as POST /api/runs answered it
MODERATOR_TOKEN = "moderator-token-of-the-tests"
MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKEN}"}  # may list and change every run


def create_run(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """POST /api/runs, expecting 201; the run object (its key is kept for `cancel_run`)."""
    response = http.post("/api/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, Any] = strict_json(response.text)
    KEYS[run["id"]] = run.pop("key")
    return run


def cancel_run(http: httpx.Client, run_id: str) -> httpx.Response:
    """DELETE /api/runs/{id} with the run's key, as its owner would."""
    return http.delete(f"/api/runs/{run_id}", headers={"X-Run-Key": KEYS[run_id]})


def wait_steps(http: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    """Every step of a run, once it has ended (`?wait=true`)."""
    response = http.get(f"/api/runs/{run_id}/steps", params={"wait": "true"}, timeout=90)
    assert response.status_code == 200, response.text
    steps: list[dict[str, Any]] = strict_json(response.text)["steps"]
    return steps


def get_run(http: httpx.Client, run_id: str) -> dict[str, Any]:
    response = http.get(f"/api/runs/{run_id}")
    assert response.status_code == 200, response.text
    run: dict[str, Any] = strict_json(response.text)
    return run


def finished_run(http: httpx.Client, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Create a run, wait for it to end; (the ended run object, its steps)."""
    run_id = create_run(http, body)["id"]
    steps = wait_steps(http, run_id)
    return get_run(http, run_id), steps


def wait_for_status(
    http: httpx.Client, run_id: str, statuses: set[str], timeout: float = 30.0
) -> dict[str, Any]:
    """Poll GET /api/runs/{id} until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(http, run_id)
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} stuck in {run['status']}"
        time.sleep(0.02)


def wait_until_steps(
    http: httpx.Client, run_id: str, predicate: Any, timeout: float = 30.0
) -> None:
    """Poll GET /api/runs/{id}/steps until `predicate(steps)` holds (a run in progress)."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/api/runs/{run_id}/steps")
        assert response.status_code == 200, response.text
        if predicate(strict_json(response.text)["steps"]):
            return
        assert time.monotonic() < deadline, f"run {run_id}: condition not met in {timeout} s"
        time.sleep(0.02)
