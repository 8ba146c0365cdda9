"""Both pages on a student's phone (390 × 844, touch): the map (or the data) first, the
transport (or Train) fixed under the thumb, the racers' cards right after the map, no
chrome over the plots, controls big enough for a finger. Screenshots are kept in
test-artifacts/ to be looked at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Lab, axe_violations, offline_context
from tests.browser.test_networks import frame, open_page

PHONE = {"width": 390, "height": 844}
RACE = "?surface=ravine&steps=150&r=sgd,lr=0.02&r=sgd,lr=0.02,momentum=0.9&r=adam,lr=0.3&focus=1&t=0"


@pytest.fixture
def phone(browser: Any, server: str) -> Iterator[Lab]:
    """A page in a phone-sized, touch browser context (offline like the others)."""
    ctx = offline_context(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    lab = Lab(ctx.new_page(), server)
    try:
        yield lab
        assert not lab.errors and not ctx.outside, (lab.errors, ctx.outside)
    finally:
        ctx.close()


def box(lab: Lab, selector: str) -> dict[str, float]:
    b = lab.page.locator(selector).first.bounding_box()
    assert b is not None, selector
    return b


def test_the_explorer_on_a_phone_puts_the_map_first_and_the_transport_under_the_thumb(phone: Lab) -> None:
    phone.open(RACE)
    page = phone.page
    topbar, contour, racers = box(phone, ".topbar"), box(phone, ".contour-panel"), box(phone, ".racers-card")
    series, side = box(phone, ".plots-bottom > .panel"), box(phone, ".side-panel")
    assert topbar["height"] <= 60  # one row; it scrolls sideways
    assert contour["y"] < topbar["y"] + topbar["height"] + 20  # the map right under it
    assert contour["y"] < racers["y"] < series["y"] < side["y"]  # the cards before the other plots
    # No chrome over the map: no mode bar, no Plotly legend; the key under the map names the paths.
    assert page.locator(".modebar-container").first.is_hidden()
    assert page.locator("#contour-paths .legend").first.is_hidden()
    assert page.locator("#map-key > span").count() == 3
    # The transport is fixed at the bottom and big enough for a finger...
    transport = box(phone, "#transport")
    assert abs(transport["y"] + transport["height"] - PHONE["height"]) < 1
    assert all(box(phone, f"#{b}")["height"] >= 44 for b in ("to-start", "step-back", "play-btn", "step-fwd", "to-end"))
    phone.shot("phone-explorer.png")
    # ...and stays there while the student edits a racer further down.
    page.locator('[data-card="1"] input[data-name="lr"][data-role="num"]').scroll_into_view_if_needed()
    assert abs(box(phone, "#transport")["y"] + transport["height"] - PHONE["height"]) < 1
    page.tap("#play-btn")
    page.wait_for_function("() => window.descent.state.scene.t > 0")
    phone.shot("phone-explorer-cards.png")
    # Nothing lies under the transport at the end of the page.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = box(phone, "#run-settings")
    assert last["y"] + last["height"] <= PHONE["height"] - transport["height"] + 1
    found = [f"{v['id']}: {v['nodes']}" for v in axe_violations(page)]
    assert not found, found


def test_the_explorer_on_a_phone_in_russian_and_colour_blind(phone: Lab) -> None:
    phone.open(RACE + "&lang=ru&cb=1")
    topbar = box(phone, ".topbar")
    assert topbar["height"] <= 60
    cut = phone.page.evaluate("""() => [...document.querySelectorAll('#racers .hp > span')]
        .filter((label) => label.offsetParent && label.scrollWidth > label.clientWidth).map((label) => label.textContent)""")
    assert cut == []  # a long Russian label wraps ("расписание lr"), it is not cut to "расписание…"
    phone.shot("phone-explorer-ru-cb.png")


def test_the_networks_page_on_a_phone_puts_the_data_first_and_train_under_the_thumb(phone: Lab) -> None:
    open_page(phone, "?n=200&hidden=16&epochs=5&res=9")
    page = phone.page
    data, curves, settings = box(phone, "#data-panel"), box(phone, "#curves-panel"), box(phone, "#settings")
    assert data["y"] < curves["y"] < settings["y"]
    bar = box(phone, ".train-bar")
    assert abs(bar["y"] + bar["height"] - PHONE["height"]) < 1 and box(phone, "#train-btn")["height"] >= 44
    phone.shot("phone-networks.png")
    page.tap("#train-btn")
    page.wait_for_function("() => { const r = window.networks.state.runtime.run; return r && r.summary; }", timeout=60_000)
    page.wait_for_function("() => window.networks.state.runtime.run.report")
    frame(phone)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    frame(phone)
    last = box(phone, ".nets-bottom")
    assert last["y"] + last["height"] <= PHONE["height"] - bar["height"] + 1
    phone.shot("phone-networks-trained.png")
