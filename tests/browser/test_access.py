"""Keyboard and screen-reader access: axe-core (from the npm registry, injected from the
local file) finds no serious or critical violation on either page in either language, in
the states a student reaches; a race is set up and played with the keyboard alone; the
page's shortcuts leave the focused control its own keys; tabs follow the ARIA pattern."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Lab, axe_violations
from tests.browser.test_networks import open_page, train


def audit(lab: Lab, state: str) -> list[str]:
    """The serious and critical violations now, as readable lines naming the state."""
    return [f"{state}: {v['id']} ({v['impact']}) {v['help']} at {v['nodes']}" for v in axe_violations(lab.page)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_explorer_has_no_serious_axe_violation(lab: Lab, lang: str) -> None:
    found = []
    lab.open(f"?lang={lang}")  # a first visit: the lesson card is open and the race plays
    found += audit(lab, "first visit")
    for panel in ("basins", "regime"):
        lab.open(f"?lang={lang}&surface=himmelblau&r=sgd,lr=0.01&r=adam,lr=0.1&steps=50&panel={panel}"
                 "&basins=n:30&regime=nx:6,ny:4&focus=1&ov=ghost,grad,mom,eff,eig&t=20")
        lab.wait_heatmap(panel)
        found += audit(lab, panel)
    lab.open(f"?lang={lang}&surface=custom&expr=x%5E2%2By%5E2&r=sgd,lr=0.1&steps=20&live=1&cb=1&proj=1", settle=False)
    lab.page.wait_for_selector("#racers [data-card='0']")
    found += audit(lab, "custom formula, live, projector, colour-blind")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_networks_page_has_no_serious_axe_violation(lab: Lab, lang: str) -> None:
    found = []
    open_page(lab, f"?lang={lang}&n=200&hidden=16&epochs=5&res=9&lesson=gd_stopping")
    found += audit(lab, "settings and a lesson")
    train(lab)
    for tab in ("landscape", "faith", "interp", "compare"):
        lab.page.click(f'[data-tab="{tab}"]')
        lab.page.wait_for_function("(tab) => !document.querySelector(`[data-body='${tab}']`).hidden", arg=tab)
        found += audit(lab, f"after training, {tab} tab")
    lab.page.select_option('[data-role="ds"]', "csv")  # the CSV box and the page's own file button
    lab.page.wait_for_selector('label.file-pick')
    found += audit(lab, "a CSV dataset")
    tab_to(lab, 'input[data-role="csv-file"]')  # the file input, out of sight, is reached by Tab
    assert not found, "\n".join(found)


def tab_to(lab: Lab, selector: str, limit: int = 150) -> None:
    """Press Tab until the focused element matches `selector` (as a keyboard user would)."""
    for _ in range(limit):
        if lab.page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        lab.page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def choose(lab: Lab, selector: str, value: str) -> None:
    """Tab to a menu and pick `value` with the keys (Home, then ↓)."""
    tab_to(lab, selector)
    lab.page.keyboard.press("Home")
    for _ in range(40):
        if lab.page.evaluate("(s) => document.activeElement.value", selector) == value:
            return
        lab.page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} is not in {selector}")


def test_a_race_of_three_is_set_up_and_played_with_the_keyboard_alone(lab: Lab) -> None:
    lab.open("?surface=quadratic&steps=100&r=sgd,lr=0.05&t=0")
    page = lab.page
    choose(lab, "#surface-select", "ravine")
    lab.wait_computed()
    for _ in range(2):
        tab_to(lab, "#add-racer")
        page.keyboard.press("Enter")
        lab.wait_computed()
    # The third card: its optimizer by arrow keys, its momentum typed (focusing a card opens it).
    choose(lab, '[data-card="1"] select[data-role="opt"]', "sgd")
    tab_to(lab, '[data-card="1"] input[data-name="momentum"][data-role="num"]')
    page.keyboard.press("Control+A")
    page.keyboard.type("0.9")
    page.keyboard.press("Tab")
    choose(lab, '[data-card="2"] select[data-role="opt"]', "adam")
    lab.wait_computed()
    scene = lab.scene()
    assert scene["surface"] == "ravine" and [r["opt"] for r in scene["racers"]] == ["sgd", "sgd", "adam"]
    assert scene["racers"][1]["hp"]["momentum"] == 0.9 and scene["focus"] == 2
    # Play from the play button, pause with Space anywhere else, step with the arrows.
    tab_to(lab, "#play-btn")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.descent.state.scene.t > 5")
    page.keyboard.press("Space")  # the focused play button pauses
    page.wait_for_function("() => !window.descent.state.runtime.playing")
    t = lab.scene()["t"]
    page.keyboard.press("ArrowRight")  # a button has no use for arrows: the playhead steps
    lab.frame()
    assert lab.scene()["t"] == t + 1
    page.keyboard.press("End")
    lab.frame()
    assert lab.scene()["t"] == page.evaluate("window.descent.maxStep()")
    assert all(lab.head(i) is not None for i in range(3))


def test_shortcuts_leave_focused_controls_their_own_keys(lab: Lab) -> None:
    lab.open("?surface=quadratic&steps=60&r=sgd,lr=0.05&r=adam,lr=0.1&t=10")
    page = lab.page
    # Space on a focused button presses that button only.
    page.focus("#add-racer")
    page.keyboard.press("Space")
    lab.wait_computed()
    assert len(lab.scene()["racers"]) == 3 and not page.evaluate("window.descent.state.runtime.playing")
    # Arrows on a tab move between the tabs, not the playhead.
    page.focus('[role="tab"][data-tab="3d"]')
    page.keyboard.press("ArrowRight")
    lab.frame()
    scene = lab.scene()
    assert scene["panel"] == "basins" and scene["t"] == 10
    assert page.evaluate("document.activeElement.dataset.tab") == "basins"
    page.keyboard.press("End")
    lab.frame()
    assert lab.scene()["panel"] == "regime" and lab.scene()["t"] == 10
    # The tab controls its panel, which it labels; only the selected tab is in the Tab order.
    tabs = page.evaluate(
        """() => [...document.querySelectorAll('.side-panel [role="tab"]')].map((t) => {
            const panel = document.getElementById(t.getAttribute('aria-controls'));
            return [t.tabIndex, panel.getAttribute('role'), panel.getAttribute('aria-labelledby') === t.id, panel.hidden];
        })"""
    )
    assert tabs == [[-1, "tabpanel", True, True], [-1, "tabpanel", True, True], [0, "tabpanel", True, False]]
    # Arrows in a number box stay in the box.
    page.focus('[data-role="steps"]')
    page.keyboard.press("ArrowLeft")
    assert lab.scene()["t"] == 10


def test_what_a_screen_reader_is_given(lab: Lab) -> None:
    lab.open("?surface=ravine&steps=50&r=sgd,lr=0.02&r=sgd,lr=0.02,momentum=0.9&focus=1&t=20")
    page = lab.page
    # The step counter is not a live region (it would be read out every frame); the
    # scrubber says where the playhead is.
    assert page.evaluate("document.getElementById('step-out').tagName") == "SPAN"
    assert page.get_attribute("#scrub", "aria-valuetext") == "step 20 of 50"
    # Every glyph-only button has a name, and every control a label.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, select, input')].filter((el) => el.offsetParent
             && !el.getAttribute('aria-label') && !el.labels?.length && !el.textContent.trim().match(/\\w/))
             .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert not unnamed, unnamed
    # Each plot is a figure named with what it shows, the racers' numbers at the playhead included.
    label = page.get_attribute("#contour", "aria-label") or ""
    assert page.get_attribute("#contour", "role") == "figure"
    assert "Ravine" in label and "step 20" in label and "2. SGD(lr=0.02, momentum=0.9)" in label
    # A collapsed card opens from the keyboard: its label is a button that says it is folded.
    toggle = '[data-card="0"] [data-role="label"]'
    assert page.get_attribute(toggle, "aria-expanded") == "false"
    page.focus(toggle)
    page.keyboard.press("Enter")
    lab.frame()
    assert lab.scene()["focus"] == 0 and page.get_attribute(toggle, "aria-expanded") == "true"


def test_the_networks_tabs_follow_the_arrow_keys(lab: Lab) -> None:
    open_page(lab, "")
    page = lab.page
    page.focus('[role="tab"][data-tab="landscape"]')
    page.keyboard.press("ArrowLeft")  # wraps round to the last tab
    page.wait_for_function("() => window.networks.state.runtime.tab === 'compare'")
    assert page.evaluate("document.activeElement.dataset.tab") == "compare"  # focus moved at once
    # selected at the next render (a frame later), and then the only tab in the Tab order
    page.wait_for_function("() => document.activeElement.getAttribute('aria-selected') === 'true'")
    in_tab_order = page.eval_on_selector_all(
        '.nets-bottom [role="tab"]', "tabs => tabs.filter(t => t.tabIndex === 0).map(t => t.dataset.tab)")
    assert in_tab_order == ["compare"]
