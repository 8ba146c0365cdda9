"""Both pages' links, as the browser reads them: every hyperparameter of the API's catalogues,
with any value it accepts, survives a round trip through a link (a property test over the
catalogues), names with underscores included; what a link gets wrong is replaced by the
default, and what the catalogues do not know is dropped."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.browser.conftest import Lab, api_get

EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
Catalogue = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def catalogue(server: str) -> Catalogue:
    return {name: api_get(server, f"/api/{name}") for name in ("surfaces", "optimizers", "schedules", "datasets", "models")}


def bounded(h: dict[str, Any]) -> st.SearchStrategy[float]:
    lo = h["min"] if h["min"] is not None else -1e6
    hi = h["max"] if h["max"] is not None else 1e6
    return st.floats(
        lo, hi, exclude_min=bool(h["exclusive_min"]) and h["min"] is not None,
        exclude_max=bool(h["exclusive_max"]) and h["max"] is not None, allow_nan=False, allow_infinity=False,
    )


def value(h: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Any value keyword `h` accepts (the API's own description of it)."""
    kind = h["type"]
    if kind == "float":
        s: st.SearchStrategy[Any] = bounded(h)
    elif kind == "int":
        s = st.integers(math.ceil(h["min"] if h["min"] is not None else -1000),
                        int(h["max"] if h["max"] is not None else 10_000))
    elif kind == "bool":
        s = st.booleans()
    elif kind == "choice":
        return st.sampled_from(h["choices"])
    elif kind in ("pair", "triple"):
        part = st.none() | bounded(h) if h["nullable"] else bounded(h)
        size = 2 if kind == "pair" else 3
        return st.lists(part, min_size=size, max_size=size)
    elif kind == "int_list":
        s = st.lists(st.integers(int(h["min"] or 0), 100_000), max_size=4)
    else:
        raise AssertionError(f"a keyword type the links do not know: {kind} ({h['name']})")
    return st.none() | s if h["nullable"] else s


def keywords(hps: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the keywords `hps`, each with an accepted value."""
    return st.fixed_dictionaries({}, optional={h["name"]: value(h) for h in hps})


@st.composite
def racer(draw: Any, cat: Catalogue) -> dict[str, Any]:
    opt = draw(st.sampled_from(cat["optimizers"]))
    sched = draw(st.sampled_from(cat["schedules"]))
    return {
        "opt": opt["id"], "hp": draw(keywords(opt["hyperparameters"])),
        "sched": sched["id"], "shp": draw(keywords(sched["hyperparameters"])),
        "noise": draw(st.sampled_from([0, 0.1, 2.5])), "clip": draw(st.none() | st.sampled_from([0.5, 3])),
        "batch": draw(st.none() | st.integers(1, 200)), "shuffle": draw(st.booleans()), "hidden": draw(st.booleans()),
    }


def sweepable(cat: Catalogue) -> list[str]:
    names = {h["name"] for o in cat["optimizers"] for h in o["hyperparameters"] if h["type"] == "float"}
    return sorted(names | {"beta1", "beta2"})


@st.composite
def explorer_scene(draw: Any, cat: Catalogue) -> dict[str, Any]:
    racers = draw(st.lists(racer(cat), min_size=1, max_size=4))
    n = len(racers)
    number = st.floats(-1e3, 1e3, allow_nan=False)
    params = sweepable(cat)
    return {
        "surface": draw(st.sampled_from([s["id"] for s in cat["surfaces"]])),
        "steps": draw(st.integers(1, 10_000)), "seed": draw(st.integers(0, 2**31)),
        "stop": [draw(st.sampled_from([0, 1e-8, 0.5])), draw(st.sampled_from([0, 1e-6]))],
        "racers": racers, "focus": draw(st.integers(0, n - 1)), "t": draw(st.integers(0, 10_000)),
        "speed": draw(st.sampled_from([0.25, 0.5, 1, 2, 4, 8])), "panel": draw(st.sampled_from(["3d", "basins", "regime"])),
        "basins": {"racer": draw(st.integers(0, n - 1)), "n": draw(st.sampled_from([30, 40, 60, 80, 100]))},
        "regime": {
            "racer": draw(st.integers(0, n - 1)), "x": draw(st.sampled_from(params)),
            "y": draw(st.none() | st.sampled_from(params)), "x0": draw(number), "x1": draw(number),
            "y0": draw(number), "y1": draw(number), "xlog": draw(st.booleans()), "ylog": draw(st.booleans()),
            "nx": draw(st.integers(1, 60)), "ny": draw(st.integers(1, 60)),
            "metric": draw(st.sampled_from(["loss", "steps", "status"])),
        },
        "fair": draw(st.none() | st.fixed_dictionaries({
            "trials": st.just(16), "lo": st.just(0.0001), "hi": st.just(10), "steps": st.integers(1, 500),
            "seed": st.integers(0, 9), "sx": number, "sy": number,
            "lrs": st.lists(st.none() | st.floats(1e-4, 10), min_size=n, max_size=n),
        })),
    }


ROUND_TRIP = """async ([page, scene, cat]) => {
    const c = await import(`/js/${page}/codec.js`);
    const full = { ...c.defaultScene(), ...scene };
    if (page === 'explorer') full.racers = scene.racers.map((r) => ({ ...c.defaultRacer(), ...r }));
    const query = c.encodeScene(full);
    const back = c.decodeScene(query);
    return { query, full, back, fit: c.fitCatalogue(back, cat) };
}"""


@given(data=st.data())
@EXAMPLES
def test_explorer_links_round_trip_every_keyword_and_value(lab: Lab, catalogue: Catalogue, data: Any) -> None:
    if not lab.page.url.endswith("/js/explorer/codec.js"):
        lab.page.goto(f"{lab.server}/js/explorer/codec.js")
    scene = data.draw(explorer_scene(catalogue))
    out = lab.page.evaluate(ROUND_TRIP, ["explorer", scene, catalogue])
    assert out["back"] == out["full"], out["query"]
    assert out["fit"] == {}, out["query"]  # every value drawn is one the API accepts


@given(data=st.data())
@EXAMPLES
def test_networks_links_round_trip_every_keyword_and_value(lab: Lab, catalogue: Catalogue, data: Any) -> None:
    if not lab.page.url.endswith("/js/networks/codec.js"):
        lab.page.goto(f"{lab.server}/js/networks/codec.js")
    opt = data.draw(st.sampled_from(catalogue["optimizers"]))
    sched = data.draw(st.sampled_from(catalogue["schedules"]))
    scene = {
        "opt": opt["id"], "hp": data.draw(keywords(opt["hyperparameters"])),
        "sched": sched["id"], "shp": data.draw(keywords(sched["hyperparameters"])),
        "epochs": data.draw(st.integers(1, 300)), "batch": data.draw(st.integers(1, 1000)),
        "val": data.draw(st.floats(0, 0.5)), "stopg": data.draw(st.none() | st.floats(1e-9, 10)),
    }
    out = lab.page.evaluate(ROUND_TRIP, ["networks", scene, catalogue])
    back, full = out["back"], out["full"]
    if full["opt"] == "sgd" and not full["hp"]:
        full["hp"] = back["hp"]  # the default optimizer with no keywords set reads back its defaults
    assert back == full, out["query"]
    assert out["fit"] == {}, out["query"]


# A link's bad values and what the page reads instead (the default).
EXPLORER_BAD = [
    ("focus=-1", "focus", 0),
    ("focus=7", "focus", 0),
    ("panel=foo", "panel", "3d"),
    ("speed=3", "speed", 1),
    ("speed=x", "speed", 1),
    ("steps=abc", "steps", 150),
    ("steps=0", "steps", 150),
    ("t=-5", "t", 0),
    ("seed=1.5", "seed", 0),
    ("start=1", "start", None),
    ("stop=-1,0", "stop", [1e-8, 0]),
    ("basins=n:7,racer:9", "basins", {"racer": 0, "n": 60}),
    ("regime=metric:bogus,nx:-3,x:weight_decay", "regime.metric", "loss"),
    ("fair=lo:x", "fair", None),
    ("lang=de", "lang", "en"),
]


@pytest.mark.parametrize(("query", "field", "expected"), EXPLORER_BAD, ids=[q for q, _, _ in EXPLORER_BAD])
def test_explorer_link_values_that_are_invalid_take_their_defaults(lab: Lab, query: str, field: str, expected: Any) -> None:
    lab.page.goto(f"{lab.server}/js/explorer/codec.js")
    scene = lab.page.evaluate(
        "async (q) => (await import('/js/explorer/codec.js')).decodeScene(q)",
        f"?surface=ravine&r=sgd,lr=0.02&r=adam&{query}",
    )
    value = scene
    for part in field.split("."):
        value = value[part]
    assert value == expected
    if field == "regime.metric":
        assert scene["regime"]["nx"] == 24 and scene["regime"]["x"] == "weight_decay"


def test_what_the_catalogues_do_not_know_is_dropped_when_the_page_opens(lab: Lab) -> None:
    lab.open("?surface=nowhere&steps=30&r=nosuchopt,lr=0.1&r=sgd,lr=-1,momentum=0.5,bogus=2&r=adam,betas=0.9:7&t=0")
    racers = lab.scene()["racers"]
    assert lab.scene()["surface"] == "ravine"
    assert [r["opt"] for r in racers] == ["sgd", "sgd", "adam"]
    assert racers[1]["hp"] == {"momentum": 0.5} and racers[2]["hp"] == {}


def test_networks_invalid_link_values_take_their_defaults(lab: Lab) -> None:
    lab.page.goto(f"{lab.server}/networks.html?ds=nope&val=0.9&dirs=xyz&epochs=-3&o.momentum=5&o.lr=0.05&model=cnn")
    lab.page.wait_for_function("window.networks && window.networks.ready === true", timeout=20_000)
    scene = lab.page.evaluate("JSON.parse(JSON.stringify(window.networks.state.scene))")
    assert (scene["ds"], scene["val"], scene["dirs"], scene["epochs"]) == ("moons", 0.2, "pca", 40)
    assert scene["model"] == "mlp"  # the CNN does not fit two moons
    assert scene["hp"] == {"lr": 0.05}


# ---- a CSV scene names its stored text by id --------------------------------------------
CSV_ID = "0123456789abcdef" * 4  # the form of a SHA-256 in lower-case hex

# (scene over the defaults, the id its link names: only a CSV scene's, and only a set one)
CSV_LINKS = [
    ({"ds": "csv", "csvid": CSV_ID}, CSV_ID),
    ({"ds": "csv", "csvid": None}, None),
    ({"ds": "moons", "csvid": CSV_ID}, None),
    ({"ds": "csv", "csvid": CSV_ID, "csv": "x0,x1,y\n0,1,0\n"}, CSV_ID),  # the text is never written
]


@pytest.mark.parametrize(("scene", "named"), CSV_LINKS, ids=["csv", "csv-unstored", "moons", "csv-with-text"])
def test_a_csv_scene_links_its_dataset_by_id_alone(
    lab: Lab, catalogue: Catalogue, scene: dict[str, Any], named: str | None
) -> None:
    lab.page.goto(f"{lab.server}/js/networks/codec.js")
    out = lab.page.evaluate(ROUND_TRIP, ["networks", scene, catalogue])
    assert out["query"].count("csvid=") == (named is not None), out["query"]
    assert "x0" not in out["query"]
    assert out["back"]["csvid"] == named
    assert out["back"]["csv"] == ""
    if named is not None:
        assert f"csvid={CSV_ID}" in out["query"]
        assert {**out["back"], "csv": out["full"]["csv"]} == out["full"]


# Ids a link may hold that name no stored CSV's text: each reads back as none.
BAD_CSV_IDS = ["", "abc", CSV_ID.upper(), CSV_ID[:-1], CSV_ID + "0", CSV_ID[:-1] + "g", f"{CSV_ID[:-1]}%20", "null"]


@pytest.mark.parametrize("bad", BAD_CSV_IDS, ids=["empty", "short", "upper", "63", "65", "not-hex", "space", "null"])
def test_a_link_csv_id_that_is_not_64_lower_hex_is_ignored(lab: Lab, bad: str) -> None:
    lab.page.goto(f"{lab.server}/js/networks/codec.js")
    scene = lab.page.evaluate(
        "async (q) => (await import('/js/networks/codec.js')).decodeScene(q)", f"?ds=csv&csvid={bad}&epochs=7"
    )
    assert "csvid" in scene and scene["csvid"] is None
    assert (scene["ds"], scene["epochs"]) == ("csv", 7)
