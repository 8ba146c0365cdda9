"""What goes over the wire: any request body either gets a 422 (exactly when the request model
refuses it) or a 200 whose bytes are strict JSON, with no NaN or Infinity tokens even when the
run diverged. The bodies are the unit tests' generated ones (tests/unit/test_schemas.py)."""

import json
from collections import Counter
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from pydantic import ValidationError

from backend.surfaces.spec import SurfaceRun
from tests.conftest import Server, strict_json
from tests.unit.test_schemas import bodies

# Runs that leave the finite numbers for certain: one SGD step takes √x to x < 0 (NaN), and
# exp(x²) at x = 27 is beyond float64 (+inf).
SQRT_NAN = {"surface": {"expression": "sqrt(x) + y^2", "domain": {"x": [0, 4], "y": [-2, 2]}},
            "optimizer": {"name": "sgd", "lr": 1.0}, "start": [0.01, 1.0], "steps": 10}
EXP_INF = {"surface": {"expression": "exp(x^2) + y^2", "domain": {"x": [-30, 30], "y": [-2, 2]}},
           "optimizer": {"name": "adam", "lr": 1.0}, "start": [27.0, 1.0], "steps": 10}


def accepted(body: dict[str, Any]) -> bool:
    try:
        SurfaceRun.model_validate(body)
    except ValidationError:
        return False
    return True


def test_every_answer_is_strict_json_and_divergence_is_null_on_the_wire(server: Server) -> None:
    outcomes: Counter[str] = Counter()

    with httpx.Client(base_url=server.url, timeout=60) as http:

        @settings(max_examples=120, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(bodies())
        @example(SQRT_NAN)
        @example(SQRT_NAN | {"start": None, "starts": [[0.01, 1.0], [3.0, 1.0]]})
        @example(EXP_INF)
        def check(body: dict[str, Any]) -> None:
            # NaN in a body goes out as the token NaN, as a careless client would send it
            response = http.post("/api/trajectories", content=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
            answer = strict_json(response.content)  # raises on NaN, Infinity, -Infinity
            if not accepted(body):
                assert response.status_code == 422, (body, response.text)
                assert answer["detail"], answer
                outcomes["refused"] += 1
                return
            assert response.status_code == 200, (body, response.text)
            assert answer["status"] in {"finished", "converged", "diverged"}
            assert answer["steps"] and answer["summary"]["stop_reason"]
            if answer["status"] == "diverged":
                last = answer["steps"][-1]
                losses = last["loss"] if isinstance(last["loss"], list) else [last["loss"]]
                outcomes["diverged with a null loss"] += None in losses
            outcomes[answer["status"]] += 1

        check()

    computed = outcomes["finished"] + outcomes["converged"] + outcomes["diverged"]
    assert computed >= 0.3 * (computed + outcomes["refused"]), outcomes
    assert outcomes["refused"] >= 5, outcomes
    # the explicit examples at least: non-finite numbers were computed and sent as null
    assert outcomes["diverged with a null loss"] >= 3, outcomes
