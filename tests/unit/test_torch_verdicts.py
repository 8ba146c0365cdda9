"""torch's verdict on a request's optimizer and schedule is remembered (optim/spec.py): a room of
students sending the same request pays for the probe steps once. The verdict is the same either
way; a new value gets its own; the memory is bounded."""

from typing import Any

import pytest
from pydantic import ValidationError

from backend.optim import spec
from backend.surfaces.spec import SurfaceRun

REFUSED = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1, "nesterov": True}}
ACCEPTED = {"surface": "quadratic",
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}}


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The probes actually run (each verdict torch was asked for), with an empty memory."""
    asked: list[Any] = []
    real = spec._verdict

    def counted(*args: Any) -> str | None:
        asked.append(args)
        return real(*args)

    monkeypatch.setattr(spec, "_verdict", counted)
    monkeypatch.setattr(spec, "_verdicts", {})
    return asked


def test_a_verdict_is_asked_once_and_given_every_time(probes: list[Any]) -> None:
    messages = []
    for _ in range(3):
        with pytest.raises(ValidationError) as refused:
            SurfaceRun.model_validate(REFUSED)
        messages.append(str(refused.value))
    assert len(probes) == 1 and "Nesterov" in messages[0] and len(set(messages)) == 1
    for _ in range(3):
        SurfaceRun.model_validate(ACCEPTED)
    assert len(probes) == 2
    SurfaceRun.model_validate(ACCEPTED | {"optimizer": ACCEPTED["optimizer"] | {"lr": 0.1000000001}})
    SurfaceRun.model_validate(ACCEPTED | {"steps": 7})  # the schedule's length is part of it too
    assert len(probes) == 4


def test_the_memory_forgets_the_oldest_first(probes: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "VERDICTS_KEPT", 2)
    for lr in (0.1, 0.2, 0.3):
        SurfaceRun.model_validate(ACCEPTED | {"optimizer": ACCEPTED["optimizer"] | {"lr": lr}})
    assert len(spec._verdicts) == 2 and len(probes) == 3
    SurfaceRun.model_validate(ACCEPTED | {"optimizer": ACCEPTED["optimizer"] | {"lr": 0.3}})
    assert len(probes) == 3  # still known
    SurfaceRun.model_validate(ACCEPTED | {"optimizer": ACCEPTED["optimizer"] | {"lr": 0.1}})
    assert len(probes) == 4  # forgotten, asked again
