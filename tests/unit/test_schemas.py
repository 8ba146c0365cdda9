"""Request validation: every bad body is a ValidationError naming the field, never a crash.

Property tests generate hyperparameters from the registry's own bounds (and
just outside them) and random junk; valid requests must compute to a status
(tests/api/test_wire.py sends the same bodies to a server and reads the bytes
that come back).
"""

import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.optim.optimizers import OPTIMIZERS
from backend.runs.compute import compute_surface
from backend.runs.model import Status
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.spec import SurfaceRun

BASE = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}, "steps": 20}

BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"surface": "nope"}, "surface"),
    ({"optimizer": {"name": "nope"}}, "optimizer"),
    ({"optimizer": {"name": "adam", "lr": 0}}, "lr"),
    ({"optimizer": {"name": "adam", "lr": -1}}, "lr"),
    ({"optimizer": {"name": "adam", "lr": math.nan}}, "lr"),
    ({"optimizer": {"name": "adam", "lr": math.inf}}, "lr"),
    ({"optimizer": {"name": "adam", "betas": [0.9, 1.0]}}, "betas"),
    ({"optimizer": {"name": "sgd", "lr": 0.1, "betas": [0.9, 0.9]}}, "betas"),
    ({"optimizer": {"name": "sgd", "lr": 0.1, "nesterov": True}}, "Nesterov"),
    ({"schedule": {"name": "nope"}}, "schedule"),
    ({"schedule": {"name": "step", "gamma": 2}}, "gamma"),
    ({"steps": 0}, "steps"),
    ({"steps": 10**9}, "steps"),
    ({"start": [1e12, 0]}, "start"),
    ({"start": [100.0, 0]}, "start"),
    ({"start": [0, 0], "starts": [[0, 0]]}, "start"),
    ({"starts": []}, "starts"),
    ({"gradient_noise": -1}, "gradient_noise"),
    ({"batch_size": 8}, "batch_size"),
    ({"record": "some"}, "record"),
    ({"surface": {"expression": "__import__('os')", "domain": {"x": [-1, 1], "y": [-1, 1]}}},
     "expression"),
    ({"surface": {"expression": "x", "domain": {"x": [1, -1], "y": [-1, 1]}}}, "domain"),
    ({"stop": {"grad_norm": -1}}, "grad_norm"),
    ({"unknown_field": 1}, "unknown_field"),
    ({"optimizer": {"name": "lbfgs"}, "starts": [[0, 0]] * 100}, "starts"),
]


@pytest.mark.parametrize(("change", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_bad_bodies_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        SurfaceRun.model_validate(BASE | change)
    text = str(error.value)
    assert field in text, text


def mostly(inside: st.SearchStrategy[Any], outside: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`inside` nine times in ten, `outside` otherwise: most bodies reach the engine, some do not."""
    return st.integers(0, 9).flatmap(lambda i: outside if i == 0 else inside)


def _floats(h: Any) -> st.SearchStrategy[float]:
    lo, hi = h.min, min(h.max, 10.0)
    return st.floats(lo, hi, exclude_min=h.exclusive_min, exclude_max=h.exclusive_max and hi == h.max)


def hyperparameter_values(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Values inside each hyperparameter's declared range, now and then just outside it."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for h in OPTIMIZERS[name].hyperparameters:
        if h.type == "float":
            outside = st.floats(h.min - 0.5, h.min, exclude_max=True) | st.just(math.nan)
            fields[h.name] = mostly(_floats(h), outside)
        elif h.type == "pair":
            fields[h.name] = mostly(st.tuples(_floats(h), _floats(h)),
                                    st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5)))
        elif h.type == "bool":
            fields[h.name] = st.booleans()
        elif h.type == "int":
            fields[h.name] = mostly(st.integers(int(h.min), min(int(h.max), 30)), st.integers(-2, 0))
        elif h.type == "choice":
            fields[h.name] = st.sampled_from(h.choices)
    return st.fixed_dictionaries({}, optional=fields)


def points_in(surface: str) -> st.SearchStrategy[tuple[float, float]]:
    (x_lo, x_hi), (y_lo, y_hi) = SURFACES[surface].domain
    return st.tuples(st.floats(x_lo, x_hi), st.floats(y_lo, y_hi))


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Request bodies most of which are valid: every optimizer and surface, hyperparameters
    from the registry's own bounds (sometimes just outside), starts in the domain (sometimes far
    outside), large learning rates that diverge as well as small ones that converge."""
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    hyper = draw(hyperparameter_values(name))
    surface = draw(st.sampled_from(sorted(SURFACES)))
    return {
        "surface": surface,
        "optimizer": {"name": name, **hyper},
        "steps": draw(mostly(st.integers(1, 40), st.integers(-1, 0))),
        "start": draw(mostly(st.none() | points_in(surface),
                             st.tuples(st.floats(-100, 100), st.floats(-100, 100)))),
        "gradient_noise": draw(mostly(st.floats(0.0, 2.0), st.just(-0.1))),
        "seed": draw(st.integers(0, 5)),
        "stop": {"grad_norm": draw(st.sampled_from([0.0, 1e-8, 1e-2])),
                 "step_norm": draw(st.sampled_from([0.0, 1e-6]))},
    }


def names_a_field(error: Any) -> bool:
    """An error points at a field: by its location, or (a check across fields) by a message
    that starts with the field's name, as in "gradient_noise: torch.optim.LBFGS ..."."""
    head = error["msg"].removeprefix("Value error, ").split(":")[0]
    return bool(error["loc"]) or head.split(".")[0] in SurfaceRun.model_fields


def test_any_body_is_rejected_naming_a_field_or_computes() -> None:
    """A body is either refused with errors that each name where they are, or computes to a
    status with a summary; and enough of the generated bodies get that far to mean something."""
    outcomes: Counter[str] = Counter()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(bodies())
    def check(body: dict[str, Any]) -> None:
        try:
            request = SurfaceRun.model_validate(body)
        except ValidationError as error:
            assert error.errors() and all(names_a_field(e) for e in error.errors()), error
            outcomes["rejected"] += 1
            return
        result = compute_surface(request, "cpu")
        assert result.status in {Status.CONVERGED, Status.FINISHED, Status.DIVERGED}
        assert result.summary is not None and result.summary.stop_reason
        outcomes[result.status.value] += 1

    check()
    computed = outcomes.total() - outcomes["rejected"]
    assert outcomes.total() >= 100, outcomes
    assert computed >= 0.3 * outcomes.total(), f"too few bodies reached the engine: {outcomes}"
    assert outcomes["rejected"] >= 0.05 * outcomes.total(), f"too few bodies were refused: {outcomes}"


JUNK = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                  max_size=4),
    max_leaves=20,
)


def refused_at(body: Any) -> list[tuple[Any, ...]] | None:
    """Where validation refused `body` (each error's location), or None if it was accepted."""
    try:
        SurfaceRun.model_validate(body)
    except ValidationError as error:
        return [tuple(e["loc"]) for e in error.errors()]
    return None


@settings(max_examples=200, deadline=None)
@given(JUNK)
def test_junk_is_refused_where_it_was_put(junk: Any) -> None:
    """Junk anywhere is a ValidationError (nothing else escapes), and the error points at the
    field that holds the junk."""
    if not isinstance(junk, dict):
        assert refused_at(junk) == [()]  # not an object at all
    for field, body in (("surface", {"surface": junk, "optimizer": {"name": "sgd", "lr": 0.1}}),
                        ("optimizer", BASE | {"optimizer": junk}),
                        ("start", BASE | {"start": junk})):
        if field == "start" and isinstance(junk, list) and any(isinstance(v, bool) for v in junk):
            continue  # whether true/false may stand for 1/0 is not this test's question
        where = refused_at(body)
        if field == "start" and (junk is None or is_point(junk)):
            assert where is None, where  # null: the surface's own start; or a point of its domain
            continue
        assert where, f"{field} = {junk!r} was accepted"
        assert all(loc and loc[0] == field for loc in where), (field, junk, where)


def is_point(value: Any) -> bool:
    """Two numbers inside Rosenbrock's domain (BASE's surface): a start the request may take."""
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int | float) for v in value):
        return False
    (x_lo, x_hi), (y_lo, y_hi) = SURFACES["rosenbrock"].domain
    return x_lo <= value[0] <= x_hi and y_lo <= value[1] <= y_hi
