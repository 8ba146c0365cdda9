"""Lessons never contradict the screen: every number in a card comes from the live state
(the sliders, the curvature at the playhead, the grid) or from the runs the student
trained; a card whose scene has drifted says so and offers a reset; a removed racer is
never described by the one that took its place."""

from __future__ import annotations

import re

from tests.browser.conftest import Lab
from tests.browser.test_networks import open_page, set_input, train


def card(lab: Lab) -> str:
    lab.frame()
    return lab.page.inner_text("#lesson-card")


def test_the_momentum_lesson_takes_its_numbers_from_the_sliders_and_the_curvature(lab: Lab) -> None:
    lab.open("?lesson=momentum_ravine&surface=ravine&steps=150&r=sgd,lr=0.02&r=sgd,lr=0.02,momentum=0.9"
             "&r=sgd,lr=0.02,momentum=0.9,nesterov=true&focus=1&t=3")
    lab.page.wait_for_function("() => document.getElementById('lesson-card').textContent.includes('κ = 50')")
    text = card(lab)
    assert "1/(1−μ) = 10 gradients" in text and "2/λmax = 0.04" in text
    num = '[data-card="1"] input[data-name="momentum"][data-role="num"]'
    lab.page.fill(num, "0.5")
    lab.page.dispatch_event(num, "change")
    lab.wait_computed()
    assert "1/(1−μ) = 2 gradients" in card(lab)
    # The colour named is the one drawn: purple, or wine-red in the colour-blind palette.
    assert "The purple arrow" in card(lab)
    lab.page.click("#cb-toggle")
    assert "The wine-red arrow" in card(lab)


def test_a_drifted_lesson_says_so_and_a_removed_racer_is_not_described_by_another(lab: Lab) -> None:
    lab.open("?lesson=stability_bound&surface=ravine&steps=150&r=sgd,lr=0.039&r=sgd,lr=0.041&focus=1&t=5")
    lab.page.wait_for_function("() => document.getElementById('lesson-card').textContent.includes('λmax = 50')")
    assert "Changed since the lesson" not in card(lab)
    first = re.search(r"η = (\S+) is just inside", card(lab))
    assert first and first.group(1) == "0.039"
    lab.page.click('[data-card="0"] [data-role="remove"]')
    lab.wait_computed()
    text = card(lab)
    assert "Changed since the lesson (the optimizers)" in text
    assert "η = — is just inside" in text and "0.041 is just inside" not in text
    lab.page.select_option("#surface-select", "booth")
    lab.wait_computed()
    assert "(the surface, the optimizers)" in card(lab)
    lab.page.get_by_role("button", name="Reset the lesson").click()
    lab.wait_computed()
    scene = lab.scene()
    assert scene["surface"] == "ravine" and [r["hp"]["lr"] for r in scene["racers"]] == [0.039, 0.041]
    assert "Changed since the lesson" not in card(lab)


def test_the_basins_lesson_counts_the_starts_of_the_grid_shown(lab: Lab) -> None:
    lab.open("?lesson=basins&surface=himmelblau&steps=200&r=sgd,lr=0.01&r=sgd,lr=0.01,momentum=0.9&panel=basins&basins=n:30")
    assert "runs 900 starts at once" in card(lab)


def test_the_stopping_lesson_fills_its_results_from_the_runs_trained(lab: Lab) -> None:
    open_page(lab, "?lesson=gd_stopping")
    text = lab.page.inner_text("#lesson-card")
    assert "converged” at step …" in text  # nothing trained yet: no number made up
    gd = train(lab)["summary"]
    lab.page.wait_for_function(
        "(n) => document.getElementById('lesson-card').textContent.includes(`converged” at step ${n}`)",
        arg=gd["converged_at_step"],
    )
    lab.page.click('[data-role="quick"][data-batch="1"]')
    sgd = train(lab)["summary"]
    text = lab.page.inner_text("#lesson-card")
    expected = f"stops at step {sgd['converged_at_step']}, in the first epoch, with a test loss of "
    assert expected in text
    assert f"{sgd['test_loss']:.3g} against GD's {gd['test_loss']:.3g}" in text


def test_the_networks_lessons_count_the_weights_of_the_model_shown(lab: Lab) -> None:
    open_page(lab, "?lesson=early_stopping")
    text = lab.page.inner_text("#lesson-card")
    assert "150 noisy points (90 for training)" in text and "17,154 weights" in text
    set_input(lab, '[data-role="hidden"]', "8")
    lab.page.wait_for_function("() => document.getElementById('lesson-card').textContent.includes('42 weights')")


SLOW_CURVATURE = """
const plainFetch = window.fetch;
window.fetch = async (url, options) => {
  if (String(url).includes('/api/curvature')) await new Promise((r) => setTimeout(r, 700));
  return plainFetch(url, options);
};
"""


def test_the_curvature_fills_the_card_while_a_lesson_plays_on_a_slow_server(lab: Lab) -> None:
    """Each playhead move once aborted the curvature request in flight: on a server slower than
    the readout's 250 ms, a lesson that plays as it opens showed κ = … all through playback."""
    lab.page.add_init_script(SLOW_CURVATURE)
    lab.open("?speed=0.25")  # the lesson's 150 steps play for 15 s
    lab.page.select_option("#lesson-select", "momentum_ravine")
    lab.page.wait_for_function("() => window.descent.state.runtime.playing === true", timeout=20_000)
    lab.page.wait_for_function("""() => window.descent.state.runtime.playing
        && /κ = 50\\b/.test(document.getElementById('lesson-card').textContent)""", timeout=10_000)
    assert re.search(r"2/λmax = 0\.04\b", card(lab))
