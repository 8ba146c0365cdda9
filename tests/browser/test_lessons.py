"""Lessons never contradict the screen: every number in a card comes from the live state
(the sliders, the curvature at the playhead, the grid) or from the runs the student
trained; a card whose scene has drifted says so and offers a reset; a removed racer is
never described by the one that took its place. A lesson chosen from the menu never loses
the settings it replaced: its card brings them back."""

from __future__ import annotations

import re

from tests.browser.conftest import Lab
from tests.browser.test_networks import (
    drawn_points,
    open_csv_page,
    open_page,
    preview_points,
    set_input,
    train,
    two_clusters,
)


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


BACK = "Back to your settings"  # after an arrow hidden from screen readers


def test_a_lesson_chosen_over_free_play_brings_the_settings_back(lab: Lab) -> None:
    lab.open("?surface=himmelblau&steps=80&r=adam,lr=0.05&r=rmsprop,lr=0.01&lang=en&t=40")
    mine = lab.scene()
    lab.page.select_option("#lesson-select", "momentum_ravine")
    lab.wait_computed()
    assert lab.scene()["surface"] == "ravine" and BACK in card(lab)
    lab.page.select_option("#lesson-select", "stability_bound")  # a second lesson: still the first's way back
    lab.wait_computed()
    lab.page.click("#lang-btn")  # changed during the lessons: kept
    lab.page.get_by_role("button", name=re.compile("Вернуть свои настройки")).click()
    lab.wait_computed()
    back = lab.scene()
    assert back["lesson"] is None and back["lang"] == "ru"
    assert {k: back[k] for k in ("surface", "steps", "racers")} == {k: mine[k] for k in ("surface", "steps", "racers")}
    assert lab.page.is_hidden("#lesson-card")
    lab.page.evaluate("window.descent.flushUrl()")
    assert "surface=himmelblau" in lab.page.url and "lesson=" not in lab.page.url


def test_a_lesson_opened_by_a_link_or_closed_offers_no_way_back(lab: Lab) -> None:
    lab.open("?lesson=momentum_ravine&surface=ravine&steps=150&r=sgd,lr=0.02")
    assert "Momentum" in card(lab) and BACK not in card(lab)
    lab.open("?surface=himmelblau&r=adam,lr=0.05")
    lab.page.select_option("#lesson-select", "momentum_ravine")
    lab.wait_computed()
    assert BACK in card(lab)
    lab.page.select_option("#lesson-select", "")  # free play keeps the lesson's settings
    lab.frame()
    assert lab.scene()["surface"] == "ravine" and lab.page.evaluate("window.descent.state.runtime.setupBefore") is None


def test_a_pasted_csv_comes_back_after_a_lesson(lab: Lab) -> None:
    text = two_clusters()
    open_csv_page(lab, "?ds=csv")
    lab.page.fill('textarea[data-role="csv"]', text)
    lab.page.wait_for_function("() => window.networks.state.scene.csvid !== null", timeout=20_000)
    lab.page.select_option("#lesson-select", "early_stopping")
    lab.page.wait_for_function("() => !document.getElementById('lesson-card').hidden")
    assert lab.page.evaluate("window.networks.state.scene.ds") != "csv"
    lab.page.get_by_role("button", name=BACK).click()
    lab.page.wait_for_function("() => window.networks.state.scene.ds === 'csv'")
    assert lab.page.input_value('textarea[data-role="csv"]') == text
    assert lab.page.evaluate("window.networks.state.scene.lesson") is None
    assert drawn_points(lab) == preview_points(lab.server, text)


def test_the_way_back_is_the_first_lessons_replaced_values_and_never_a_followed_rooms(lab: Lab) -> None:
    """The pure part, as the browser runs it: lessons opened one after another from free play
    give back each key as it was before the first (a key only the second sets too), keep what
    changed meanwhile that no lesson set; a page that follows a room remembers nothing."""
    lab.page.goto(f"{lab.server}/js/shared/lessons.js")
    result = lab.page.evaluate(
        """async () => {
            const { createStore } = await import('/js/shared/store.js');
            const { createLessons, offersSetup } = await import('/js/shared/lessons.js');
            const lessons = [{ id: 'a', title: {} , scene: { surface: 'ravine' } },
                             { id: 'b', title: {}, scene: { surface: 'booth', steps: 50 } }];
            const store = createStore({ surface: 'mine', steps: 7, lang: 'en', lesson: null }, { setupBefore: null }, () => '');
            const { applyLesson, restoreSetup } = createLessons(lessons, store,
                (lesson, scene) => ({ scene: { ...lesson.scene, lang: scene.lang }, runtime: {} }));
            applyLesson('a', { fromMenu: true });
            const first = store.state.runtime.setupBefore;
            applyLesson('b', { fromMenu: true });
            store.setScene({ lang: 'ru' });
            restoreSetup();
            const restored = { ...store.state.scene, setupBefore: store.state.runtime.setupBefore };
            applyLesson('a');  // by a link: nothing to go back to
            const linked = store.state.runtime.setupBefore;
            applyLesson(null);
            store.lockScene({ keep: ['lang'], query: () => 'room=K7Q2XM' });
            applyLesson('b', { fromMenu: true });
            const following = { lesson: store.state.scene.lesson, setupBefore: store.state.runtime.setupBefore };
            return { first, restored, linked, following,
                     offered: offersSetup({ setupBefore: { surface: 'x' }, room: null }),
                     offeredFollowing: offersSetup({ setupBefore: { surface: 'x' },
                                                     room: { role: 'student', following: true } }) };
        }"""
    )
    assert result["first"] == {"surface": "mine"}  # the language, unchanged by the lesson, is not remembered
    assert result["restored"] == {"surface": "mine", "steps": 7, "lang": "ru", "lesson": None, "setupBefore": None}
    assert result["linked"] is None
    assert result["following"] == {"lesson": None, "setupBefore": None}  # the scene is the room's
    assert result["offered"] is True and result["offeredFollowing"] is False
