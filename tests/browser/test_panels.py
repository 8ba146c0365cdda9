"""Lessons, basins, regime map, curvature, fair race, languages and projector mode."""

from __future__ import annotations

import math
from typing import Any

from tests.browser.conftest import Lab


def test_a_lesson_loads_and_its_text_follows_the_sliders(lab: Lab) -> None:
    lab.open("?surface=quadratic&t=0")
    lab.page.select_option("#lesson-select", "momentum_ravine")
    lab.wait_computed()
    scene = lab.scene()
    assert scene["lesson"] == "momentum_ravine" and scene["surface"] == "ravine"
    assert [r["opt"] for r in scene["racers"]] == ["sgd", "sgd", "sgd"]
    assert scene["racers"][2]["hp"]["nesterov"] is True
    card = lab.page.locator("#lesson-card")
    assert card.is_visible()
    assert "Momentum through a ravine" in card.inner_text()
    lab.page.wait_for_function("() => !document.querySelector('#lesson-card').textContent.includes('…')")
    text = card.inner_text()
    assert "μ = 0.9" in text and "step budget of 150 used up" in text
    # Lessons play by themselves once their paths are in.
    lab.page.wait_for_function("() => window.descent.state.scene.t > 0")
    lab.shot("03-lesson-momentum.png")
    # Move the focused racer's momentum: the lesson text says the new value, never the old.
    num = '[data-card="1"] input[data-name="momentum"][data-role="num"]'
    lab.page.fill(num, "0.74")
    lab.page.dispatch_event(num, "change")
    lab.wait_computed()
    text = card.inner_text()
    assert "μ = 0.74" in text and "μ = 0.9 " not in text
    # Another lesson from the menu replaces the scene, panel included.
    lab.page.select_option("#lesson-select", "basins")
    lab.wait_computed()
    assert lab.scene()["surface"] == "himmelblau" and lab.scene()["panel"] == "basins"
    assert "basins of attraction" in lab.page.locator("#lesson-card h2").inner_text()


def test_basins_of_attraction_render(lab: Lab) -> None:
    lab.open("?surface=himmelblau&steps=200&r=sgd,lr=0.01&panel=basins&basins=n:30&t=0")
    lab.wait_heatmap("basins")
    z = lab.page.evaluate("Array.from(document.getElementById('basins').data[0].z.flat())")
    assert len(z) == 30 * 30
    codes = set(z)
    assert {2, 3, 4, 5} <= codes, codes  # all four of Himmelblau's minima have a basin
    legend = lab.page.inner_text("#basins-note")
    assert "no minimum reached" in legend and "30×30" in legend
    lab.shot("04-basins-himmelblau.png")
    # Clicking a basin pixel starts a race there.
    px = lab.to_screen("basins", 3.5, -3.5)
    lab.page.mouse.click(px[0], px[1])
    lab.wait_computed()
    assert math.dist(lab.scene()["start"], (3.5, -3.5)) < 0.2


def test_regime_map_is_one_sweep_and_a_click_plays_its_cell(lab: Lab) -> None:
    query = "?surface=ravine&steps=150&r=sgd,lr=0.02,momentum=0.9&panel=regime&regime=nx:10,ny:6&t=0"
    lab.open(query)
    lab.wait_heatmap("regime")
    sweeps = [status for url, status in lab.responses if url.endswith("/api/sweeps")]
    assert sweeps == [200]  # the whole map is one batched request
    heat = lab.trace("regime", 0)
    xs, ys = heat["x"], heat["y"]
    assert len(xs) == 10 and len(ys) == 6
    lab.shot("05-regime-map.png")
    ix, iy = 6, 3
    px = lab.to_screen("regime", xs[ix], ys[iy])
    lab.page.mouse.click(px[0], px[1])
    lab.wait_computed()
    hp = lab.scene()["racers"][0]["hp"]
    assert hp["lr"] == xs[ix] and hp["momentum"] == ys[iy]
    lab.page.wait_for_function("() => window.descent.state.scene.t > 0")  # and it plays


def test_curvature_readout_shows_the_stability_bound(lab: Lab) -> None:
    lab.open(
        "?lesson=stability_bound&surface=ravine&steps=150&r=sgd,lr=0.039&r=sgd,lr=0.041&focus=1&ov=ghost,grad,eig&t=5"
    )
    lab.page.wait_for_function(
        "() => document.getElementById('readout').textContent.includes('2/λmax')", timeout=15_000
    )
    text = lab.page.inner_text("#readout")
    assert "λmax · v" in text and "50 · (0, 1)" in text
    assert "0.041 > 2/λmax = 0.04" in text
    # The Hessian's axes are drawn at the point (green: curving up): the ravine curves up along
    # both (λ = 1 and 50), so both axes are in the green trace, as two segments, and none in the red.
    lab.page.wait_for_function("() => document.getElementById('contour-paths').data.at(-2).x.length > 0")
    up, down = lab.page.evaluate("""() => document.getElementById('contour-paths').data.slice(-2)
        .map((t) => {
          const c = t.line.color;  // #rrggbb or rgb(r, g, b)
          const rgb = c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16))
                                        : c.match(/[0-9.]+/g).slice(0, 3).map(Number);
          return {rgb, points: Array.from(t.x).length};
        })""")
    red, green, blue = up["rgb"]
    assert green > max(red, blue), up
    assert up["points"] == 5 and down["points"] == 0  # two segments with a gap between them
    red, green, blue = down["rgb"]
    assert red > max(green, blue), down  # where one curves down, it is drawn red
    lab.shot("06-curvature.png")


def test_fair_race_tunes_each_lr_and_says_how(lab: Lab) -> None:
    lab.open("?surface=ravine&steps=150&r=sgd,lr=0.001&r=rmsprop,lr=0.001&t=0")
    with lab.page.expect_response(lambda r: r.url.endswith("/api/sweeps")):
        lab.page.click("#fair-btn")
    lab.page.wait_for_function("() => window.descent.state.scene.fair !== null", timeout=30_000)
    lab.wait_computed()
    scene = lab.scene()
    lrs = scene["fair"]["lrs"]
    assert [r["hp"]["lr"] for r in scene["racers"]] == lrs
    assert all(lr is not None and lr > 0.001 for lr in lrs)
    caveat = lab.page.inner_text("#fair-caveat")
    assert "16 log-spaced values" in caveat and "seed 0" in caveat and "(−9, 2)" in caveat


def axis_titles_clear_of_ticks(page: Any, plot_id: str) -> dict[str, list[str]]:
    """Per axis of graph `plot_id`, the tick labels its title overlaps (a title must be drawn)."""
    return dict(page.evaluate("""(id) => {
        const gd = document.getElementById(id);
        const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        return Object.fromEntries(['x', 'y'].map((axis) => {
            const title = gd.querySelector(`.g-${axis}title text`).getBoundingClientRect();
            const ticks = [...gd.querySelectorAll(`.${axis}tick text`)];
            return [axis, ticks.filter((t) => hit(title, t.getBoundingClientRect())).map((t) => t.textContent)];
        }));
    }""", plot_id))


def test_russian_and_projector_mode(lab: Lab) -> None:
    lab.open(
        "?surface=ravine&steps=150&r=sgd,lr=0.02&r=sgd,lr=0.02,momentum=0.9&r=adam,lr=0.3&focus=1&lang=ru&proj=1&t=80"
    )
    page = lab.page
    assert page.inner_text(".card-head h2") == "Оптимизаторы"
    assert page.evaluate("document.documentElement.lang") == "ru"
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"
    status = page.inner_text('[data-card="1"] [data-role="status"]')
    assert "бюджет в 150 шагов исчерпан" in status
    # projector's larger type: nothing cut or overlapping in the open card and on the map
    fits = page.evaluate("""() => {
        const card = document.querySelector('[data-card="1"]');
        const box = (sel) => card.querySelector(sel).getBoundingClientRect();
        const label = card.querySelector('.hp.clip .toggle span');
        const schedule = card.querySelector('[data-role="sched"]');
        const style = getComputedStyle(schedule);
        const pen = document.createElement('canvas').getContext('2d');
        pen.font = style.font;
        const named = pen.measureText(schedule.options[schedule.selectedIndex].text).width;
        const ARROW = 20;  // Chromium's drop-down arrow
        return {
            schedule_spans_the_row: Math.abs(box('[data-role="sched"]').right - box('[data-role="clip"]').right) < 2,
            schedule_named_whole: named + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) + ARROW
                <= schedule.clientWidth,
            clip_label_whole: label.scrollWidth <= label.clientWidth
                && label.getBoundingClientRect().right <= box('[data-role="clip"]').left,
        };
    }""")
    assert fits == {"schedule_spans_the_row": True, "schedule_named_whole": True, "clip_label_whole": True}
    assert axis_titles_clear_of_ticks(page, "contour-map") == {"x": [], "y": []}
    lab.shot("07-projector-ru.png")
    page.click("#lang-btn")
    page.click("#cb-toggle")
    lab.frame()
    assert page.inner_text(".card-head h2") == "Optimizers"
    colors = page.evaluate(
        "document.getElementById('contour-paths').data.filter(t => t.showlegend).map(t => t.marker.color)"
    )
    assert colors == ["#d55e00", "#0072b2", "#009e73"]  # Okabe–Ito


def test_the_map_tabs_keep_a_readable_map_on_a_720_px_projector(lab: Lab) -> None:
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    lab.open("?surface=ravine&steps=150&r=sgd,lr=0.02&proj=1&t=0")
    for tab in ("basins", "regime"):
        lab.page.click(f'[data-tab="{tab}"]')
        lab.page.wait_for_selector(f'[data-body="{tab}"]:not([hidden])')
        lab.page.wait_for_function("(id) => document.getElementById(id).getBoundingClientRect().height > 0", arg=tab)
        height = lab.page.evaluate("(id) => document.getElementById(id).getBoundingClientRect().height", tab)
        assert height >= 200, (tab, height)  # under its form it had 40–90 px; the tab scrolls instead


def test_custom_formula_and_its_error(lab: Lab) -> None:
    lab.open("?surface=ravine&steps=100&r=adam,lr=0.1&t=0")
    lab.allowed.append("422")  # Chromium logs the rejected request itself
    lab.page.select_option("#surface-select", "custom")
    lab.wait_computed()
    lab.page.fill('[data-role="expr"]', "sin(x)*foo + y^2")
    lab.page.click('[data-role="apply-expr"]')
    lab.page.wait_for_function(
        "() => document.querySelector('[data-role=\"grid-error\"]').textContent.includes('foo')"
    )
    status = lab.page.locator('[data-card="0"] [data-role="status"]')
    status.filter(has_text="unknown name 'foo'").wait_for()  # the run's 422, in words, on its card
    lab.page.fill('[data-role="expr"]', "(x - 1)^2 + 3*(y + 0.5)^2")
    lab.page.click('[data-role="apply-expr"]')
    lab.wait_computed()
    assert lab.page.inner_text('[data-role="grid-error"]') == ""
    assert lab.trace("contour-map", 0)["type"] == "contour"
    assert lab.scene()["expr"] == "(x - 1)^2 + 3*(y + 0.5)^2"
