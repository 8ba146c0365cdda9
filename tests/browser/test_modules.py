"""The pages' modules: their layout (shared/ under explorer/ and networks/, one of each shared
piece), and the pure ones run as the browser runs them (no build step, no Node)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, Lab, api_get

JS = ROOT / "frontend" / "js"
IMPORT = re.compile(r'^import (?:\{([^}]*)\} from )?"([^"]+)";', re.M)


def _modules() -> dict[Path, str]:
    return {path.relative_to(JS): path.read_text() for path in sorted(JS.rglob("*.js"))}


def _exports(text: str, name: str) -> bool:
    """Whether a module exports `name`: declared, or destructured from a call."""
    declared = rf"^export (?:async )?(?:function|const|class) {name}\b"
    destructured = rf"^export const \{{[^}}]*\b{name}\b"
    return re.search(f"{declared}|{destructured}", text, re.M) is not None


def test_imports_resolve_and_point_one_way() -> None:
    """explorer/ and networks/ build on shared/; shared/ imports neither, and neither page
    imports the other. Every imported name is exported by the module it comes from."""
    modules = _modules()
    assert {path.parts[0] for path in modules} == {"shared", "explorer", "networks"}
    for path, text in modules.items():
        for names, spec in IMPORT.findall(text):
            target = (JS / path).parent.joinpath(spec).resolve().relative_to(JS)
            assert target in modules, (path, spec)
            assert target.parts[0] in {path.parts[0], "shared"}, (path, spec)
            for name in filter(None, (n.strip().split(" as ")[0] for n in names.split(","))):
                assert _exports(modules[target], name), (path, name, spec)


# One module for each shared piece: the second copies drifted apart once.
ONE_OF_EACH = [
    pytest.param("export function createStore(", "shared/store.js", id="store"),
    pytest.param("new WebSocket(", "shared/stream.js", id="stream client"),
    pytest.param("export function t(", "shared/i18n.js", id="t"),
    pytest.param("export function hpRows(", "shared/hyperform.js", id="hyperparameter form"),
    pytest.param("function applyLesson(", "shared/lessons.js", id="applyLesson"),
    pytest.param("export function surfaceInfo(", "explorer/state.js", id="surfaceInfo"),
    pytest.param("export const gridKey", "explorer/state.js", id="gridKey"),
]


@pytest.mark.parametrize(("needle", "home"), ONE_OF_EACH)
def test_each_shared_piece_is_written_once(needle: str, home: str) -> None:
    assert [str(path) for path, text in _modules().items() if needle in text] == [home]


def test_one_string_table_per_page_over_the_common_one(lab: Lab) -> None:
    """Each key is defined once: the strings both pages show in shared/i18n.js, a page's own
    in its strings.js; a key both pages define means two different texts."""
    lab.page.goto(f"{lab.server}/js/shared/i18n.js")
    common, explorer, networks = lab.page.evaluate(
        """async () => [
            (await import('/js/shared/i18n.js')).COMMON,
            (await import('/js/explorer/strings.js')).STRINGS,
            (await import('/js/networks/strings.js')).STRINGS,
        ]"""
    )
    for table in (common, explorer, networks):
        assert set(table) == {"en", "ru"} and set(table["en"]) == set(table["ru"])
    for page in (explorer, networks):
        assert not set(page["en"]) & set(common["en"])
    for key in set(explorer["en"]) & set(networks["en"]):
        assert any(explorer[lang][key] != networks[lang][key] for lang in ("en", "ru")), key


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


def test_a_linear_colour_bar_ticks_at_round_values(lab: Lab) -> None:
    lab.page.goto(f"{lab.server}/js/shared/levels.js")
    ticks = lab.page.evaluate(
        """async () => {
            const { roundTicks } = await import('/js/shared/levels.js');
            return [roundTicks(-4, 4), roundTicks(0.13, 0.97), roundTicks(-22.5, 22.5), roundTicks(3, 3)];
        }"""
    )
    assert ticks == [[-4, -2, 0, 2, 4], [0.2, 0.4, 0.6, 0.8], [-20, -10, 0, 10, 20], [3]]
    lab.open("?surface=saddle&t=0")  # f = x² − y² on [−2, 2]²: from −4 to 4, drawn on f itself
    labels = lab.page.eval_on_selector_all("#contour-map .cbaxis text", "els => els.map(e => e.textContent)")
    assert labels == ["−4", "−2", "0", "2", "4"]  # not the levels' −3.33, −1.67...


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
