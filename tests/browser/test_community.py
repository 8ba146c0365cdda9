"""The community's optimizers on both pages: the menu grouped into torch.optim and community,
the update rule and paper under it (from the API's catalogue), a three-component keyword
(Adan's betas) through the form and a link, the lesson on Lion, Adam and Schedule-Free AdamW,
and a network trained with Schedule-Free AdamW."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Lab, api_get

GROUPS = {"en": ["torch.optim", "community (pytorch_optimizer)"],
          "ru": ["torch.optim", "сообщество (pytorch_optimizer)"]}


def menu(lab: Lab, selector: str) -> list[dict[str, Any]]:
    """The optgroups of the first `selector` menu: label and option values."""
    return lab.page.evaluate(
        """(sel) => [...document.querySelector(sel).querySelectorAll('optgroup')].map((g) => ({
            label: g.label, values: [...g.querySelectorAll('option')].map((o) => o.value) }))""",
        selector,
    )


def note(lab: Lab) -> dict[str, Any]:
    """The first optimizer note: its rule, title (the description) and paper link."""
    return lab.page.evaluate(
        """() => { const n = document.querySelector('[data-role="opt-note"]');
            const a = n.querySelector('a');
            return { rule: n.querySelector('code').textContent, title: n.title, href: a && a.href,
                     link: a && a.textContent }; }"""
    )


def test_the_explorer_groups_its_menu_and_shows_the_rule_and_paper(lab: Lab) -> None:
    for lang in ("en", "ru"):
        catalogue = {o["id"]: o for o in api_get(lab.server, f"/api/optimizers?lang={lang}")}
        lab.open(f"?surface=rosenbrock&steps=60&r=lion,lr=0.01&t=0&lang={lang}")
        groups = menu(lab, 'select[data-role="opt"]')
        assert [g["label"] for g in groups] == GROUPS[lang]
        torch_ids = [i for i, o in catalogue.items() if o["family"] == "torch.optim"]
        community_ids = [i for i, o in catalogue.items() if o["family"] == "community"]
        assert groups[0]["values"] == torch_ids and groups[1]["values"] == community_ids
        shown = note(lab)
        lion = catalogue["lion"]
        assert shown["rule"] == lion["update_rule"]
        assert shown["href"] == lion["paper"]["url"] and lion["paper"]["cite"] in shown["link"]
        assert shown["title"] == lion["description"]  # in the page's language


def test_a_three_beta_optimizer_runs_from_a_link_and_its_form(lab: Lab) -> None:
    lab.open("?surface=rosenbrock&steps=60&r=adan,lr=0.02,betas=0.9:0.92:0.99&t=60")
    racer = lab.scene()["racers"][0]
    assert racer["opt"] == "adan" and racer["hp"]["betas"] == [0.9, 0.92, 0.99]
    # one slider and one number box per component
    boxes = lab.page.locator('[data-name="betas"][data-role="num"]')
    assert boxes.count() == 3
    assert [boxes.nth(c).input_value() for c in range(3)] == ["0.9", "0.92", "0.99"]
    boxes.nth(2).fill("0.995")
    boxes.nth(2).dispatch_event("change")
    lab.page.wait_for_function("() => window.descent.state.scene.racers[0].hp.betas[2] === 0.995")
    lab.wait_computed()
    lab.page.evaluate("window.descent.flushUrl()")  # the URL lags the scene by design (150 ms)
    assert "betas=0.9:0.92:0.995" in lab.page.url


def test_the_lesson_races_lion_adam_and_schedule_free(lab: Lab) -> None:
    lab.open("?surface=quadratic&t=0")
    lab.page.select_option("#lesson-select", "new_optimizers")
    lab.wait_computed()
    scene = lab.scene()
    assert [r["opt"] for r in scene["racers"]] == ["adam", "lion", "schedulefree_adamw"]
    assert scene["surface"] == "rosenbrock" and scene["lesson"] == "new_optimizers"
    card = lab.page.locator("#lesson-card")
    lab.page.wait_for_function("() => !document.querySelector('#lesson-card').textContent.includes('…')")
    text = card.inner_text()
    assert "Schedule-Free AdamW" in text and "η = 0.01" in text and "{r" not in text


def open_networks(lab: Lab, query: str) -> None:
    lab.page.goto(f"{lab.server}/networks.html{query}")
    lab.page.wait_for_function("window.networks && window.networks.ready === true", timeout=20_000)
    lab.page.evaluate("() => window.networks.nextFrame().then(() => window.networks.nextFrame())")


def test_the_networks_page_trains_with_schedule_free(lab: Lab) -> None:
    open_networks(lab, "?n=200&hidden=16&epochs=8&res=9&opt=schedulefree_adamw&o.lr=0.02")
    groups = menu(lab, 'select[data-role="opt"]')
    assert [g["label"] for g in groups] == GROUPS["en"] and "schedulefree_adamw" in groups[1]["values"]
    assert "x ← (1 − cₜ)x + cₜz" in note(lab)["rule"]
    lab.page.click("#train-btn")
    lab.page.wait_for_function(
        "() => { const r = window.networks.state.runtime.run; return r && r.id && r.summary; }",
        timeout=120_000,
    )
    run = api_get(lab.server, f"/api/runs/{lab.page.evaluate('window.networks.state.runtime.run.id')}")
    assert run["status"] == "finished" and run["config"]["optimizer"]["name"] == "schedulefree_adamw", run
