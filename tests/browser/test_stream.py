"""Live runs under a flaky network: a socket dropped mid-run (Playwright's websocket routing)
is opened again and the replay is passed on once, so the page's path is the stored run's,
step for step; Play, Pause, Play starts one run per racer."""

from __future__ import annotations

import math
import re
from typing import Any

from tests.browser.conftest import Lab, api_get
from tests.browser.test_networks import open_page

STREAM = re.compile(r"/api/runs/[^/]+/stream$")


def drop_first_socket_after(lab: Lab, messages: int) -> list[int]:
    """Route the page's run streams through Playwright: the first socket is closed from the
    server's side after `messages` messages; later ones pass everything. Returns a list
    that counts the sockets opened."""
    opened: list[int] = []

    def handler(ws: Any) -> None:
        opened.append(len(opened))
        first = len(opened) == 1
        server = ws.connect_to_server()
        seen = [0]

        def forward(message: Any) -> None:
            seen[0] += 1
            if first and seen[0] > messages:
                server.close()
                ws.close(code=1011, reason="dropped by the test")
                return
            ws.send(message)

        server.on_message(forward)

    lab.page.route_web_socket(STREAM, handler)
    return opened


def test_a_dropped_explorer_stream_reconnects_and_the_path_is_complete(lab: Lab) -> None:
    opened = drop_first_socket_after(lab, 2)
    lab.open("?surface=rosenbrock&steps=3000&stop=0,0&r=adam,lr=0.05&live=1&t=0&speed=8", settle=False)
    lab.page.click("#play-btn")
    lab.page.wait_for_function(
        "() => window.descent.state.runtime.traj[0].status === 'finished'", timeout=60_000
    )
    lab.frame()
    assert len(opened) >= 2  # the page opened the stream again
    steps = lab.page.evaluate("Array.from(window.descent.state.runtime.traj[0].cols.step)")
    run_id = lab.page.evaluate("window.descent.state.runtime.traj[0].runId")
    stored = api_get(lab.server, f"/api/runs/{run_id}/steps")["steps"]
    assert steps == [s["step"] for s in stored] == list(range(3001))  # complete, no step twice
    ghost = lab.ghost(0)
    assert len(ghost) == len(stored)
    assert all(math.dist(p, s["params"]) < 1e-12 for p, s in zip(ghost, stored, strict=True))
    assert "reconnecting" not in lab.page.inner_text('[data-card="0"] [data-role="status"]')


def test_play_pause_play_before_the_first_frame_starts_one_run_per_racer(lab: Lab) -> None:
    lab.open("?surface=ravine&steps=200&r=sgd,lr=0.02&r=adam,lr=0.3&live=1&t=0", settle=False)
    posts: list[str] = []
    lab.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/api/runs") else None)
    # Three presses in one task: no answer to the first can arrive in between.
    lab.page.evaluate("() => { const b = document.getElementById('play-btn'); b.click(); b.click(); b.click(); }")
    lab.page.wait_for_function(
        "() => window.descent.state.runtime.traj.every((t) => t.status === 'finished')", timeout=60_000
    )
    lab.frame()
    assert len(posts) == 2
    for i in range(2):
        steps = lab.page.evaluate(f"Array.from(window.descent.state.runtime.traj[{i}].cols.step)")
        assert steps == list(range(201))
        assert len(lab.ghost(i)) == 201


def test_a_dropped_network_stream_reconnects_and_keeps_cancel(lab: Lab) -> None:
    opened = drop_first_socket_after(lab, 3)
    open_page(lab, "?n=200&hidden=16&epochs=30&res=15&es=0&batch=8")
    lab.page.click("#train-btn")
    # While the socket is down the bar says so, and Cancel stays: the run trains on.
    lab.page.wait_for_function(
        """() => { const r = window.networks.state.runtime.run;
            return r && r.link === 'reconnecting' && !document.getElementById('cancel-btn').hidden
                && document.getElementById('run-state').textContent.includes('reconnecting'); }""",
        polling="raf",
        timeout=30_000,
    )
    lab.page.wait_for_function(
        "() => { const r = window.networks.state.runtime.run; return r && r.summary && r.report; }",
        timeout=60_000,
    )
    assert len(opened) >= 2
    run = lab.page.evaluate(
        "() => { const r = window.networks.state.runtime.run;"
        " return {steps: r.steps.step, epochs: r.epochs.epoch, status: r.status, link: r.link}; }"
    )
    summary = api_get(lab.server, f"/api/runs/{lab.page.evaluate('window.networks.state.runtime.run.id')}")
    assert run["status"] == "finished" and run["link"] == "live"
    assert run["steps"] == list(range(1, summary["summary"]["steps"] + 1))  # each step once
    assert run["epochs"] == list(range(summary["summary"]["epochs_run"] + 1))
