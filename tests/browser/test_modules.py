"""The page's pure modules, run as the browser runs them (no build step, no Node)."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import Lab, api_get

# Every part of a scene set away from its default, including awkward values.
SCENE: dict[str, Any] = {
    "surface": "custom",
    "expr": "sin(x)*cos(y) + 0.1*(x^2+y^2)",
    "domain": [-3, 3, -2.5, 2.5],
    "start": [1.25, -0.5],
    "steps": 400,
    "stop": [1e-6, 1e-9],
    "seed": 7,
    "focus": 2,
    "t": 123,
    "speed": 2,
    "panel": "regime",
    "lang": "ru",
    "proj": True,
    "cb": True,
    "live": True,
    "lesson": "rotated_ravine",
    "ov": {"ghost": False, "grad": True, "mom": False, "eff": True, "eig": True},
    "basins": {"racer": 1, "n": 80},
    "fair": {
        "trials": 16,
        "lo": 0.0001,
        "hi": 10,
        "steps": 400,
        "seed": 7,
        "sx": 1.25,
        "sy": -0.5,
        "lrs": [0.01, None, 2.15],
    },
}
REGIME = {"racer": 2, "x": "beta1", "y": "beta2", "x0": 0.5, "x1": 0.99, "ylog": True, "metric": "steps"}
RACERS: list[dict[str, Any]] = [
    {"opt": "adam", "hp": {"lr": 0.05, "betas": [0.8, 0.99], "amsgrad": True}, "noise": 0.25, "clip": 2},
    {
        "opt": "adafactor",
        "hp": {"eps": [None, 0.001]},
        "sched": "multistep",
        "shp": {"milestones": [100], "gamma": 0.5},
    },
    {"opt": "lbfgs", "hp": {"line_search_fn": "strong_wolfe"}, "batch": 16, "shuffle": False, "hidden": True},
]


def test_scene_links_round_trip(lab: Lab) -> None:
    lab.page.goto(f"{lab.server}/js/explorer/codec.js")  # any page of the app's origin can import its modules
    result = lab.page.evaluate(
        """async ([patch, regime, racers]) => {
            const c = await import('/js/explorer/codec.js');
            const scene = { ...c.defaultScene(), ...patch };
            scene.regime = { ...scene.regime, ...regime };
            scene.racers = racers.map((r) => ({ ...c.defaultRacer(r.opt, r.hp), ...r }));
            const query = c.encodeScene(scene);
            const back = c.decodeScene(query);
            return { query, scene, back, empty: c.decodeScene(''), dflt: c.defaultScene() };
        }""",
        [SCENE, REGIME, RACERS],
    )
    assert result["back"] == result["scene"]
    assert result["empty"] == result["dflt"]
    query = result["query"]
    # Readable: torch keyword names, no JSON, no percent-encoded separators.
    assert "r=adam,lr=0.05,betas=0.8:0.99,amsgrad=true~constant~noise=0.25,clip=2" in query
    assert "milestones=100:" in query and "%2C" not in query and "{" not in query


def test_every_lesson_names_real_surfaces_optimizers_and_keywords(lab: Lab) -> None:
    """Lessons are data over the API's catalogues: every id and keyword must exist there."""
    lab.page.goto(f"{lab.server}/js/explorer/lessons.js")
    lessons = lab.page.evaluate(
        "async () => JSON.parse(JSON.stringify((await import('/js/explorer/lessons.js')).LESSONS))"
    )
    surfaces = {s["id"] for s in api_get(lab.server, "/api/surfaces")}
    optimizers = {o["id"]: o for o in api_get(lab.server, "/api/optimizers")}
    schedules = {s["id"]: s for s in api_get(lab.server, "/api/schedules")}
    assert len(lessons) >= 10
    for lesson in lessons:
        scene = lesson["scene"]
        assert scene["surface"] in surfaces, lesson["id"]
        assert (
            lesson["title"]["en"] and lesson["title"]["ru"] and lesson["text"]["en"] and lesson["text"]["ru"]
        )
        for racer in scene["racers"]:
            keywords = {h["name"] for h in optimizers[racer["opt"]]["hyperparameters"]}
            assert set(racer["hp"]) <= keywords, (lesson["id"], racer)
            sched_keywords = {h["name"] for h in schedules[racer["sched"]]["hyperparameters"]}
            assert set(racer["shp"]) <= sched_keywords, (lesson["id"], racer)
        # Placeholders name racers that exist.
        for text in lesson["text"].values():
            for token in re.findall(r"\{r(\d+)", text):
                assert int(token) < len(scene["racers"]), (lesson["id"], token)
