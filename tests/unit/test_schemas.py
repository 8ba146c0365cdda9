"""Request validation: every bad body is a ValidationError naming the field, never a crash.

Property tests generate hyperparameters from the registry's own bounds (and
just outside them) and random junk; valid requests must also compute to a
status and JSON that has no NaN/Infinity tokens.
"""

import contextlib
import math
from typing import Any

import orjson
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


def hyperparameter_values(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Values inside and just outside each hyperparameter's declared range."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for h in OPTIMIZERS[name].hyperparameters:
        if h.type == "float":
            lo = -1.0 if h.min is None else h.min - 0.5
            hi = 2.0 if h.max is None else min(h.max, 10.0) + 0.5
            fields[h.name] = st.floats(lo, hi) | st.just(math.nan)
        elif h.type == "pair":
            fields[h.name] = st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5))
        elif h.type == "bool":
            fields[h.name] = st.booleans()
        elif h.type == "int":
            fields[h.name] = st.integers(-2, 30)
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    hyper = draw(hyperparameter_values(name))
    surface = draw(st.sampled_from(sorted(SURFACES)))
    return {
        "surface": surface,
        "optimizer": {"name": name, **hyper},
        "steps": draw(st.integers(-1, 40)),
        "start": draw(st.none() | st.tuples(st.floats(-100, 100), st.floats(-100, 100))),
        "gradient_noise": draw(st.floats(-0.1, 2.0)),
        "seed": draw(st.integers(0, 5)),
        "stop": {"grad_norm": draw(st.sampled_from([0.0, 1e-8, 1e-2])),
                 "step_norm": draw(st.sampled_from([0.0, 1e-6]))},
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_any_body_is_rejected_cleanly_or_computes(body: dict[str, Any]) -> None:
    try:
        request = SurfaceRun.model_validate(body)
    except ValidationError:
        return
    result = compute_surface(request, "cpu")
    assert result.status in {Status.CONVERGED, Status.FINISHED, Status.DIVERGED}
    text = orjson.dumps([records for _, records in result.frames]).decode()
    assert "NaN" not in text and "Infinity" not in text
    summary = result.summary
    assert summary is not None
    assert summary.model_dump_json()  # no NaN leaks into the summary either


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                  max_size=4),
    max_leaves=20,
))
def test_junk_never_crashes_validation(junk: Any) -> None:
    for body in (junk, {"surface": junk, "optimizer": {"name": "sgd", "lr": 0.1}},
                 BASE | {"optimizer": junk}, BASE | {"start": junk}):
        with contextlib.suppress(ValidationError):
            SurfaceRun.model_validate(body)
