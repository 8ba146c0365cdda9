"""Real-browser fixtures: the app under uvicorn on a free loopback port, and Playwright pages
on Debian's Chromium that record console errors and any request that leaves loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"/api/health did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (uvicorn subprocess, its own data dir); yields its base URL."""
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("descent-data")
    log = data_dir / "uvicorn.log"
    env = {**os.environ, "DESCENT_DATA_DIR": str(data_dir)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed"
        if os.environ.get("REQUIRE_SYSTEM_DEPS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Lab:
    """One browser page on the app, with helpers that read what is really drawn."""

    def __init__(self, page: Any, server: str) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.allowed: list[str] = []  # substrings of console errors a test expects
        self.responses: list[tuple[str, int]] = []  # (url, status) of every response
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("response", lambda r: self.responses.append((r.url, r.status)))

    # ---- navigation -------------------------------------------------------------
    def open(self, query: str = "", *, settle: bool = True) -> None:
        self.page.goto(f"{self.server}/{query}")
        self.page.wait_for_function("window.descent && window.descent.ready === true", timeout=20_000)
        if settle:
            self.wait_computed()

    def wait_computed(self, timeout: float = 20_000) -> None:
        """Every racer's trajectory fetched and drawn on the map."""
        self.page.wait_for_function(
            """() => {
                const s = window.descent.state, rt = s.runtime;
                const gd = document.getElementById('contour-paths');
                const n = s.scene.racers.length;
                return rt.traj.length === n && rt.traj.every(t => t && t.cols.n > 0)
                    && !rt.pending.some(Boolean) && gd && gd.data && gd.data.length >= 4 * n;
            }""",
            timeout=timeout,
        )
        self.frame()

    def frame(self) -> None:
        """Let the page draw what is pending (two animation frames)."""
        self.page.evaluate("() => window.descent.nextFrame().then(() => window.descent.nextFrame())")

    # ---- reading state and drawn data ------------------------------------------------
    def scene(self) -> dict[str, Any]:
        return dict(self.page.evaluate("() => JSON.parse(JSON.stringify(window.descent.state.scene))"))

    def trace(self, plot_id: str, index: int) -> dict[str, Any]:
        """x, y (and z) of trace `index` as Plotly holds it in the graph div."""
        return dict(
            self.page.evaluate(
                """([id, i]) => { const t = document.getElementById(id).data[i];
                     return {x: Array.from(t.x || []), y: Array.from(t.y || []),
                             z: t.z ? Array.from(t.z) : null, name: t.name || null, type: t.type}; }""",
                [plot_id, index],
            )
        )

    def head(self, racer: int) -> tuple[float, float] | None:
        """The drawn marker of racer `racer` on the map (trace 4r + 3 of the moving layer)."""
        t = self.trace("contour-paths", 4 * racer + 3)
        return (t["x"][0], t["y"][0]) if t["x"] else None

    def ghost(self, racer: int) -> list[tuple[float, float]]:
        t = self.trace("contour-paths", 4 * racer)
        return list(zip(t["x"], t["y"], strict=True))

    def to_screen(self, plot_id: str, x: float, y: float) -> tuple[float, float]:
        """Page pixel of the data point (x, y) on a cartesian graph (Plotly's own axis maps)."""
        px = self.page.evaluate(
            """([id, x, y]) => { const gd = document.getElementById(id), L = gd._fullLayout;
                 const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
                 return [r.left + L.xaxis.d2p(x), r.top + L.yaxis.d2p(y)]; }""",
            [plot_id, x, y],
        )
        return (px[0], px[1])

    def wait_heatmap(self, plot_id: str) -> None:
        """Until the graph `plot_id` shows a heat map."""
        self.page.wait_for_function(
            "(id) => { const d = document.getElementById(id).data; return d && d[0].type === 'heatmap'; }",
            arg=plot_id,
            timeout=30_000,
        )

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


def offline_context(browser: Any, **options: Any) -> Any:
    """A browser context (1280×800 unless `options` say otherwise) in which any request that
    would leave loopback is refused and recorded in its `outside` list: pages work offline."""
    ctx = browser.new_context(**({"viewport": VIEWPORT} | options))
    ctx.outside = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            ctx.outside.append(url)
            route.abort()

    ctx.route("**/*", guard)
    return ctx


@pytest.fixture(scope="session")
def context(browser: Any) -> Iterator[Any]:
    """One browser context for the session (its cache keeps Plotly compiled between tests),
    offline (see `offline_context`)."""
    ctx = offline_context(browser)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def lab(context: Any, server: str) -> Iterator[Lab]:
    """A fresh page (1280×800). Fails the test on console errors or non-loopback requests."""
    page = context.new_page()
    lab = Lab(page, server)
    try:
        yield lab
        unexpected = [e for e in lab.errors if not any(a in e for a in lab.allowed)]
        assert not unexpected, f"console errors: {unexpected}"
        assert not context.outside, f"requests that left loopback: {context.outside}"
    finally:
        page.close()


AXE = ROOT / ".venv" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"  # `make test` installs it


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's audit of the page as it is now (the script injected from the local file):
    the violations of the given impacts, each with its rule, help text and offending nodes."""
    if not AXE.exists():
        message = f"{AXE} is missing: `make test` installs axe-core from the npm registry"
        if os.environ.get("REQUIRE_SYSTEM_DEPS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"]) for n in v["nodes"]][:6]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def api_post(server: str, path: str, body: dict[str, Any]) -> Any:
    """POST JSON to the app (the oracle the page is checked against)."""
    req = urllib.request.Request(
        f"{server}{path}", data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def api_get(server: str, path: str) -> Any:
    with urllib.request.urlopen(f"{server}{path}", timeout=30) as r:
        return json.load(r)


# Minutes of work (10,000 L-BFGS steps of 100 iterations each): it runs until cancelled.
ENDLESS = {"kind": "surface", "surface": "rastrigin", "steps": 10_000, "stop": {"grad_norm": 0},
           "optimizer": {"name": "lbfgs", "lr": 0.001, "max_iter": 100, "tolerance_grad": 0, "tolerance_change": 0}}


def cancel_run(server: str, run: dict[str, Any]) -> None:
    req = urllib.request.Request(f"{server}/api/runs/{run['id']}", method="DELETE", headers={"X-Run-Key": run["key"]})
    with urllib.request.urlopen(req, timeout=30) as answer:
        assert answer.status == 200


@contextmanager
def one_run_queued(lab: Lab) -> Iterator[None]:
    """Both run threads busy and a third run queued (endless runs, through the API) while the
    block runs: a run the page starts then has one queued run ahead of it. Cancelled after."""
    busy = [api_post(lab.server, "/api/runs", ENDLESS) for _ in range(3)]
    try:
        lab.page.wait_for_function(
            """(ids) => Promise.all(ids.map((id) => fetch(`/api/runs/${id}`).then((r) => r.json())))
                 .then((runs) => runs.filter((r) => r.status === "running").length === 2)""",
            arg=[run["id"] for run in busy], timeout=20_000, polling=200)
        yield
    finally:
        for run in busy:
            cancel_run(lab.server, run)
