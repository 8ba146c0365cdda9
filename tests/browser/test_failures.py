"""Failures are shown where they happen, with Retry: catalogues that do not load, a grid
that fails, a trajectory that fails for a passing reason, the plotting library missing; and
requests the page no longer needs are aborted."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from tests.browser.conftest import Lab
from tests.browser.test_networks import open_page


def fail_first(lab: Lab, pattern: str | re.Pattern[str], times: int = 1) -> list[str]:
    """Answer the first `times` requests matching `pattern` with a 503; later ones pass."""
    failed: list[str] = []

    def handler(route: Any) -> None:
        if len(failed) < times:
            failed.append(route.request.url)
            route.fulfill(status=503, content_type="application/json", body='{"detail": "server restarting"}')
        else:
            route.fallback()

    lab.page.route(pattern, handler)
    return failed


def test_catalogues_that_fail_say_so_and_retry_loads_the_page(lab: Lab) -> None:
    lab.allowed.append("503")  # Chromium logs the failed request itself
    failed = fail_first(lab, re.compile(r"/api/surfaces\?"))
    lab.page.goto(f"{lab.server}/?surface=quadratic&r=sgd,lr=0.1&steps=30")
    panel = lab.page.locator(".page-failure")
    panel.wait_for()
    assert "catalogues could not be loaded" in panel.inner_text() and "server restarting" in panel.inner_text()
    lab.page.get_by_role("button", name="Retry").click()
    lab.page.wait_for_function("window.descent && window.descent.ready === true", timeout=20_000)
    lab.wait_computed()
    assert failed and lab.page.locator(".page-failure").count() == 0


def test_networks_catalogues_that_fail_retry(lab: Lab) -> None:
    lab.allowed.append("503")
    fail_first(lab, re.compile(r"/api/models\?"))
    lab.page.goto(f"{lab.server}/networks.html")
    lab.page.locator(".page-failure").wait_for()
    lab.page.get_by_role("button", name="Retry").click()
    lab.page.wait_for_function("window.networks && window.networks.ready === true", timeout=20_000)


def test_a_grid_that_fails_is_said_on_the_map_and_retried(lab: Lab) -> None:
    lab.allowed.append("503")
    fail_first(lab, "**/api/surfaces/booth/grid*")
    lab.open("?surface=quadratic&steps=30&r=sgd,lr=0.1&t=0")
    lab.page.select_option("#surface-select", "booth")
    note = lab.page.locator("#map-failure")
    note.wait_for()
    assert "server restarting" in note.inner_text()
    note.get_by_role("button", name="Retry").click()
    lab.wait_computed()
    lab.page.wait_for_function("() => window.descent.state.runtime.grid.key.includes('booth')")
    assert note.is_hidden()


def test_a_passing_trajectory_error_stays_on_its_card_until_retry(lab: Lab) -> None:
    lab.open("?surface=quadratic&steps=30&r=sgd,lr=0.1&t=0")
    lab.allowed.append("503")
    fail_first(lab, "**/api/trajectories")
    num = '[data-card="0"] input[data-name="lr"][data-role="num"]'
    lab.page.fill(num, "0.2")
    lab.page.dispatch_event(num, "change")
    status = lab.page.locator('[data-card="0"] [data-role="status"]')
    status.filter(has_text="server restarting").wait_for()
    status.get_by_role("button", name="Retry").click()
    lab.wait_computed()
    assert "step budget" in status.inner_text() or "at step" in status.inner_text()


def test_without_plotly_the_page_says_so(lab: Lab) -> None:
    lab.allowed.append("Failed to load resource")
    lab.page.route("**/vendor/plotly.min.js", lambda route: route.abort())
    lab.page.goto(f"{lab.server}/")
    panel = lab.page.locator(".page-failure")
    panel.wait_for()
    assert "plotting library" in panel.inner_text()


# Notes every request whose AbortSignal fires (the page's own account of what it aborted).
RECORD_ABORTS = """() => {
    window.__aborted = [];
    const fetch0 = window.fetch;
    window.fetch = (url, init = {}) => {
        if (init.signal) init.signal.addEventListener('abort', () => window.__aborted.push(String(url)));
        return fetch0(url, init);
    };
}"""


def test_requests_for_a_scene_left_behind_are_aborted(lab: Lab) -> None:
    lab.page.add_init_script(f"({RECORD_ABORTS})()")
    lab.open("?surface=quadratic&steps=30&r=sgd,lr=0.1&r=adam,lr=0.1&t=0")
    held: list[Any] = []

    def hold_two(route: Any) -> None:  # the two racers' requests; the route stays: no fallback races
        if len(held) < 2:
            held.append(route)
        else:
            route.continue_()

    lab.page.route("**/api/trajectories", hold_two)
    lab.page.fill("[data-role='steps']", "40")
    lab.page.dispatch_event("[data-role='steps']", "change")
    lab.page.wait_for_function("() => window.descent.state.runtime.pending.every(Boolean)")
    while len(held) < 2:
        lab.page.wait_for_timeout(50)
    lab.page.select_option("#surface-select", "booth")  # the held requests can no longer be drawn
    lab.wait_computed()
    for route in held:
        with contextlib.suppress(Exception):  # the page aborted it: nothing to continue
            route.continue_()
    aborted = lab.page.evaluate("window.__aborted.filter((u) => u.endsWith('/api/trajectories'))")
    assert len(aborted) == 2
    assert lab.scene()["surface"] == "booth"


def test_a_preview_that_fails_is_said_in_the_data_panel_with_retry(lab: Lab) -> None:
    lab.allowed.append("503")
    open_page(lab, "?n=200")
    fail_first(lab, "**/api/datasets/preview")
    lab.page.select_option('select[data-role="ds"]', "circles")
    note = lab.page.locator("#data-note")
    note.filter(has_text="server restarting").wait_for()
    note.get_by_role("button", name="Retry").click()
    lab.page.wait_for_function(
        "() => { const p = window.networks.state.runtime.preview; return p && p.data && p.key.includes('circles'); }"
    )
