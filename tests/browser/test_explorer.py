"""The explorer in a real browser: loading, racing, live sliders, shared links, the keyboard."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.browser.conftest import ARTIFACTS, Lab, api_get, api_post, one_run_queued

SAMPLE_FRAMES = """async (n) => {
    // The head marker of racer 0 as drawn, sampled once per animation frame.
    const out = [];
    for (let i = 0; i < n && window.descent.state.runtime.playing; i++) {
        await new Promise((r) => requestAnimationFrame(r));
        const t = document.getElementById('contour-paths').data[3];
        if (t.x.length) out.push([t.x[0], t.y[0], window.descent.state.scene.t]);
    }
    return out;
}"""


def wait_stopped(lab: Lab, timeout: float = 30_000) -> None:
    lab.page.wait_for_function("() => !window.descent.state.runtime.playing", timeout=timeout)
    lab.frame()


def test_page_loads_clean_with_menus_from_the_api(lab: Lab) -> None:
    lab.open("")  # a first visit: the default race on the ravine starts by itself
    surfaces = api_get(lab.server, "/api/surfaces")
    optimizers = api_get(lab.server, "/api/optimizers")
    schedules = api_get(lab.server, "/api/schedules")
    page = lab.page
    surface_options = page.eval_on_selector_all("#surface-select option", "els => els.map(e => e.value)")
    assert surface_options == [s["id"] for s in surfaces] + ["custom"]
    opt_options = page.eval_on_selector_all(
        '[data-card="0"] select[data-role="opt"] option', "els => els.map(e => e.value)"
    )
    assert opt_options == [o["id"] for o in optimizers]
    sched_options = page.eval_on_selector_all(
        '[data-card="0"] select[data-role="sched"] option', "els => els.map(e => e.value)"
    )
    assert sched_options == [s["id"] for s in schedules]
    # Three racers on the map, the surface in 3D, four side plots.
    assert len(lab.scene()["racers"]) == 3
    assert lab.trace("contour-map", 0)["type"] == "contour"
    # The 3D view follows once the scene settles (at once with a GPU, ~0.5 s later without).
    page.wait_for_function("() => (document.getElementById('surface3d').data || [])[0]?.type === 'surface'")
    assert page.evaluate("document.getElementById('series').data.length") >= 12
    page.wait_for_function("() => window.descent.state.runtime.playing && window.descent.state.scene.t > 3")
    page.click('#transport [data-icon="end"]')
    wait_stopped(lab)
    scene = lab.scene()
    assert scene["t"] == page.evaluate("window.descent.maxStep()") == 150
    # The 3D view shows the same race: every racer's trail up to the playhead.
    page.wait_for_function(
        "() => [2, 4, 6].every((i) => document.getElementById('surface3d').data[i].x.length === 151)"
    )
    # Stop reasons in words on every card.
    statuses = page.eval_on_selector_all('[data-role="status"]', "els => els.map(e => e.textContent)")
    # the three default racers all use their budget (none meets ‖∇L‖ < 1e-8 within 150 steps)
    assert len(statuses) == 3 and all("step budget of 150 used up" in s for s in statuses), statuses
    lab.shot("01-explorer-ravine.png")


def test_a_card_says_once_how_its_racer_stopped(lab: Lab) -> None:
    """On the saddle two of the default racers diverge: their cards say "diverged at step k"
    once (not "diverged — diverged at step k"), in English and in Russian."""
    lab.open("?surface=saddle")
    page = lab.page
    ended = page.evaluate(
        "() => window.descent.state.runtime.traj.map((t) => [t.summary.stop_reason, t.summary.stop_step])"
    )
    assert [reason for reason, _ in ended].count("diverged") == 2, ended
    cards = "() => [...document.querySelectorAll('[data-role=\"status\"]')].map((e) => e.textContent)"
    said = {
        "en": {"diverged": "● diverged at step {k}", "budget": "● finished — step budget of 150 used up"},
        "ru": {"diverged": "● разошёлся на шаге {k}", "budget": "● завершён — бюджет в 150 шагов исчерпан"},
    }
    for lang in ("en", "ru"):
        if lang == "ru":
            page.click("#lang-btn")
        want = [said[lang][reason].format(k=k) for reason, k in ended]
        page.wait_for_function(f"(want) => JSON.stringify(({cards})()) === JSON.stringify(want)", arg=want)


def test_a_run_started_by_a_click_animates_to_the_rest_endpoint(lab: Lab) -> None:
    lab.open("?surface=rosenbrock&steps=240&r=adam,lr=0.05&t=0&speed=4")
    assert lab.head(0) == (-1.5, 2.0)
    lab.page.click("#play-btn")
    # Every frame until the playback stops: a frame advances at most 0.1 s × 160 steps/s, so
    # the 240 steps take at least 15 frames however slow the machine.
    frames = lab.page.evaluate(SAMPLE_FRAMES, 100_000)
    positions = {(x, y) for x, y, _ in frames}
    assert len(positions) >= 4, frames  # the marker moves between frames
    steps = [t for _, _, t in frames]
    assert steps == sorted(steps)
    wait_stopped(lab)
    rest = api_post(
        lab.server,
        "/api/trajectories",
        {
            "kind": "surface",
            "surface": "rosenbrock",
            "optimizer": {"name": "adam", "lr": 0.05},
            "schedule": {"name": "constant"},
            "start": [-1.5, 2.0],
            "steps": 240,
            "seed": 0,
        },
    )
    end = rest["steps"][-1]["params"]
    head = lab.head(0)
    assert head is not None
    assert math.dist(head, end) < 1e-9, (head, end)
    assert lab.scene()["t"] == rest["steps"][-1]["step"]


def test_live_mode_streams_a_stored_run_over_the_websocket(lab: Lab) -> None:
    lab.open("?surface=rosenbrock&steps=300&r=adam,lr=0.05&live=1&t=0&speed=4", settle=False)
    with lab.page.expect_websocket(
        lambda ws: "/api/runs/" in ws.url and ws.url.endswith("/stream")
    ) as ws_info:
        lab.page.click("#play-btn")
    frames = lab.page.evaluate(SAMPLE_FRAMES, 100_000)  # every frame until the playback stops
    assert len({(x, y) for x, y, _ in frames}) >= 4, frames
    wait_stopped(lab)
    lab.page.wait_for_function("() => window.descent.state.runtime.traj[0].status === 'finished'")
    run_id = lab.page.evaluate("window.descent.state.runtime.traj[0].runId")
    assert ws_info.value.url.endswith(f"/api/runs/{run_id}/stream")  # the socket of the racer's run
    stored = api_get(lab.server, f"/api/runs/{run_id}/steps")["steps"]
    head = lab.head(0)
    assert head is not None and math.dist(head, stored[-1]["params"]) < 1e-9
    assert len(lab.ghost(0)) == len(stored) == 301  # the path was extended as frames arrived


def test_a_queued_live_run_says_how_many_runs_are_ahead_then_runs(lab: Lab) -> None:
    """Live mode while the run threads are busy and one run waits: the racer's card says its
    run has one ahead (it once said "computing…" until the run ended), then the run goes on."""
    lab.open("?surface=rosenbrock&steps=300&r=adam,lr=0.05&live=1&t=0&speed=4", settle=False)
    status = lab.page.locator('[data-card="0"] [data-role="status"]')
    with one_run_queued(lab):
        lab.page.click("#play-btn")
        lab.page.wait_for_function(
            "() => document.querySelector('[data-card=\"0\"] [data-role=\"status\"]').textContent"
            " === 'queued: 1 ahead'", timeout=20_000)
        assert lab.page.inner_text("#readout") == "queued: 1 ahead"  # not "press ▶ to start"
    lab.page.wait_for_function("() => window.descent.state.runtime.traj[0].status === 'finished'", timeout=60_000)
    assert status.inner_text().startswith("● finished")


DRAWN_FOR_THE_SLIDER = """() => {
  // Racer 0's trajectory is the one for the momentum its slider set, and nothing is pending.
  const s = window.descent.state, rt = s.runtime, t = rt.traj[0];
  return Boolean(t && t.key) && !rt.pending.some(Boolean)
      && JSON.parse(t.key).optimizer.momentum === s.scene.racers[0].hp.momentum;
}"""


def test_dragging_a_slider_recomputes_the_path_while_dragging(lab: Lab) -> None:
    lab.open("?surface=ravine&steps=150&r=sgd,lr=0.02,momentum=0.3&t=150")
    before = lab.ghost(0)
    slider = lab.page.locator('[data-card="0"] input[data-name="momentum"][data-role="slider"]')
    box = slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    x0 = box["x"] + 0.3 * box["width"]
    lab.page.mouse.move(x0, y)
    lab.page.mouse.down()
    # While the button is held, after each move: the path for the value the slider now shows
    # is computed and drawn (if the page waited for the button's release, this would hang).
    drawn = set()
    for k in range(1, 9):
        lab.page.mouse.move(x0 + k * 0.075 * box["width"], y, steps=2)
        lab.page.wait_for_function(DRAWN_FOR_THE_SLIDER)
        lab.frame()
        drawn.add(tuple(lab.ghost(0)))
    seen = len(drawn)
    lab.page.mouse.up()
    lab.wait_computed()
    after = lab.ghost(0)
    momentum = lab.scene()["racers"][0]["hp"]["momentum"]
    assert momentum > 0.8
    assert after != before
    assert seen >= 3, "the path should redraw several times during one drag"
    # The drawn path is the server's trajectory for the value the slider shows.
    rest = api_post(
        lab.server,
        "/api/trajectories",
        {
            "kind": "surface",
            "surface": "ravine",
            "optimizer": {"name": "sgd", "lr": 0.02, "momentum": momentum},
            "start": [-9, 2],
            "steps": 150,
        },
    )
    assert [tuple(s["params"]) for s in rest["steps"]] == after
    # The card's label is generated from the same live value.
    label = lab.page.inner_text('[data-card="0"] [data-role="label"]')
    assert f"momentum={momentum:g}" in label


def test_a_shared_link_reopens_the_same_scene(lab: Lab, browser: Any) -> None:
    lab.open("?surface=ravine&t=0")
    page = lab.page
    page.select_option("#surface-select", "rosenbrock")
    lab.wait_computed()
    page.click("#add-racer")
    lab.wait_computed()
    page.fill('[data-card="3"] input[data-name="lr"][data-role="num"]', "0.004")
    page.dispatch_event('[data-card="3"] input[data-name="lr"][data-role="num"]', "change")
    page.click('#transport [data-icon="end"]')
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(7):
        page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.click("#proj-toggle")
    lab.wait_computed()
    page.evaluate("window.descent.flushUrl()")
    url = page.url
    scene = lab.scene()
    assert (
        scene["surface"] == "rosenbrock"
        and len(scene["racers"]) == 4
        and scene["racers"][3]["hp"]["lr"] == 0.004
    )
    assert scene["proj"] is True and scene["t"] == page.evaluate("window.descent.maxStep()") - 17
    drawn = [lab.ghost(i) for i in range(4)] + [[lab.head(i)] for i in range(4)]

    other_context = browser.new_context(viewport={"width": 1280, "height": 800})  # a stranger's browser
    other = Lab(other_context.new_page(), lab.server)
    try:
        other.page.goto(url)
        other.page.wait_for_function("window.descent && window.descent.ready === true")
        other.wait_computed()
        assert other.scene() == scene
        assert [other.ghost(i) for i in range(4)] + [[other.head(i)] for i in range(4)] == drawn
        assert other.page.evaluate("document.body.classList.contains('projector')")
        assert not other.errors
    finally:
        other_context.close()


def test_keyboard_plays_pauses_and_steps_both_ways(lab: Lab) -> None:
    lab.open("?surface=quadratic&steps=60&r=sgd,lr=0.05&t=0")
    page = lab.page
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    lab.frame()
    assert lab.scene()["t"] == 12
    twelve = lab.head(0)
    page.keyboard.press("ArrowLeft")
    lab.frame()
    assert lab.scene()["t"] == 11
    eleven = lab.head(0)
    assert eleven != twelve  # rewinding moves what is drawn
    # The side plots' playhead dots follow too: they are throttled to a few redraws a
    # second, so they may land a moment after the map.
    lab.page.wait_for_function(
        "() => { const d = document.getElementById('series').data;"
        " return d && JSON.stringify(Array.from(d[d.length - 1].x)) === '[11]'; }",
        timeout=5000,
    )
    page.keyboard.press("Space")
    lab.page.wait_for_function("() => window.descent.state.runtime.playing")
    page.keyboard.press("Space")
    lab.page.wait_for_function("() => !window.descent.state.runtime.playing")
    page.keyboard.press("End")
    lab.frame()
    assert lab.scene()["t"] == 60
    page.keyboard.press("Home")
    lab.frame()
    assert lab.scene()["t"] == 0 and lab.head(0) == (-3.0, 2.0)


def test_clicking_the_map_sets_the_start(lab: Lab) -> None:
    lab.open("?surface=quadratic&steps=50&r=sgd,lr=0.1&t=0")
    target = (1.5, -2.5)
    px = lab.to_screen("contour-paths", *target)
    lab.page.mouse.click(px[0], px[1])
    lab.wait_computed()
    start = lab.scene()["start"]
    assert math.dist(start, target) < 0.05
    assert lab.ghost(0)[0] == tuple(start)
    assert lab.trace("contour-map", 3)["x"] == [start[0]]


def test_exports_trajectories_and_png(lab: Lab) -> None:
    lab.open("?surface=quadratic&steps=40&r=sgd,lr=0.1&r=adam,lr=0.1&t=40")
    ARTIFACTS.mkdir(exist_ok=True)
    page = lab.page
    page.click("#export-menu summary")
    with page.expect_download() as dl:
        page.click("#export-csv")
    csv = Path(dl.value.path()).read_text().splitlines()
    assert csv[0].startswith("racer,optimizer,step,x,y,loss,grad_x,grad_y,lr")
    rows = [line.split(",") for line in csv[1:]]
    assert len(rows) == 2 * 41 and rows[0][:5] == ["1", "sgd", "0", "-3", "2"]
    page.click("#export-menu summary")
    with page.expect_download() as dl:
        page.click("#export-json")
    doc = json.loads(Path(dl.value.path()).read_text())
    assert doc["racers"][1]["request"]["optimizer"] == {"name": "adam", "lr": 0.1}
    assert doc["link"].startswith("?surface=quadratic")
    page.click("#export-menu summary")
    with page.expect_download() as dl:
        page.click("#export-png")
    dl.value.save_as(ARTIFACTS / "08-exported-contour.png")
    png = (ARTIFACTS / "08-exported-contour.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # both layers, at twice the size
