"""The schedule registry: the lr each step records is the lr torch's scheduler gives."""

import inspect
import math
from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler as S

from backend.optim.schedules import ENGINE_KEYWORDS, SCHEDULES, ScheduleInfo
from backend.runs.surface import build_problem
from backend.surfaces.engine import run
from backend.surfaces.spec import SurfaceRun

STEPS = 120


def defaults(info: ScheduleInfo) -> dict[str, Any]:
    return {h.name: tuple(h.default) if isinstance(h.default, list) else h.default
            for h in info.hyperparameters}


def recorded_lrs(schedule: dict[str, Any], optimizer: dict[str, Any]) -> list[float]:
    request = SurfaceRun.model_validate({
        "surface": "quadratic", "optimizer": optimizer, "schedule": schedule, "steps": STEPS,
        "stop": {"grad_norm": 0},
    })
    return run(build_problem(request, torch.device("cpu"))).lr


def plain_lrs(cls: type, kwargs: dict[str, Any], optimizer_kwargs: dict[str, Any],
              monitor: bool = False) -> list[float]:
    """What a user's loop sees: lr before each optimizer.step(), scheduler stepped after it."""
    w = torch.tensor([-3.0, 2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], **optimizer_kwargs)
    scheduler = cls(optimizer, **kwargs)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(float(loss.detach())) if monitor else scheduler.step()
    return lrs


TORCH_EQUIVALENTS: dict[str, tuple[type, dict[str, Any]]] = {
    "step": (S.StepLR, {"step_size": 30, "gamma": 0.5}),
    "multistep": (S.MultiStepLR, {"milestones": [20, 70], "gamma": 0.1}),
    "exponential": (S.ExponentialLR, {"gamma": 0.97}),
    "cosine": (S.CosineAnnealingLR, {"T_max": STEPS, "eta_min": 0.001}),
    "cosine_warm_restarts": (S.CosineAnnealingWarmRestarts, {"T_0": 40, "T_mult": 1}),
    "onecycle": (S.OneCycleLR, {"max_lr": 0.2, "total_steps": STEPS}),
    "linear": (S.LinearLR, {"start_factor": 0.1, "total_iters": 50}),
    "polynomial": (S.PolynomialLR, {"total_iters": 100, "power": 2.0}),
    "cyclic": (S.CyclicLR, {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 25,
                            "cycle_momentum": False}),
    "plateau": (S.ReduceLROnPlateau, {"patience": 5, "factor": 0.5}),
}


@pytest.mark.parametrize("schedule_id", list(TORCH_EQUIVALENTS))
def test_recorded_lr_equals_torch_scheduler(schedule_id: str) -> None:
    cls, kwargs = TORCH_EQUIVALENTS[schedule_id]
    ours = {k: v for k, v in kwargs.items() if k != "total_steps"}
    if schedule_id == "cosine":
        ours["T_max"] = None  # null → the run's length
    optimizer = {"lr": 0.1, "momentum": 0.9}
    expected = plain_lrs(cls, kwargs, optimizer, monitor=schedule_id == "plateau")
    got = recorded_lrs({"name": schedule_id, **ours}, {"name": "sgd", **optimizer})
    assert got == pytest.approx(expected, rel=1e-12)


def test_inverse_power_is_the_course_schedule() -> None:
    """η_i = 0.1 / i^0.3, i = 1, 2, ...: step i (record i) used η_i."""
    got = recorded_lrs({"name": "inverse_power", "power": 0.3}, {"name": "sgd", "lr": 0.1})
    expected = [0.1] + [0.1 / i**0.3 for i in range(1, STEPS + 1)]
    assert got == pytest.approx(expected, rel=1e-12)


def test_robbins_monro_partial_sums() -> None:
    """p = 0.75: Σ η_i keeps growing like i^{1/4}, Σ η_i² converges (bounded by ζ(1.5)·η₀²)."""
    lrs = recorded_lrs({"name": "inverse_power", "power": 0.75}, {"name": "sgd", "lr": 0.1})[1:]
    assert sum(lrs) > 0.1 * 4 * ((STEPS + 1) ** 0.25 - 1) * 0.9
    assert sum(x * x for x in lrs) < 0.01 * 2.6124


def test_constant_schedule_keeps_lr() -> None:
    assert set(recorded_lrs({"name": "constant"}, {"name": "adam", "lr": 0.03})) == {0.03}


@pytest.mark.parametrize("info", list(SCHEDULES.values()), ids=list(SCHEDULES))
def test_keywords_are_the_classes_own(info: ScheduleInfo) -> None:
    signature = inspect.signature(info.cls.__init__).parameters
    for h in info.hyperparameters:
        assert h.name in signature, (info.id, h.name)
    for name, p in signature.items():
        if name not in ENGINE_KEYWORDS and p.kind is p.POSITIONAL_OR_KEYWORD:
            assert name in {h.name for h in info.hyperparameters}, (info.id, name)


# η after 49 steps of a 50-step run from η₀ = 0.1 with each schedule's defaults, from the
# update rules (t = 49); ReduceLROnPlateau sees a constant loss: ×0.1 after every 21 steps
# (patience 20), twice by step 49.
LR_AFTER_49: dict[str, float] = {
    "constant": 0.1,
    "step": 0.1,  # step_size 100: no decay yet
    "multistep": 0.1,  # milestones (100, 200)
    "exponential": 0.1 * 0.99**49,
    "cosine": 0.05 * (1 + math.cos(math.pi * 49 / 50)),  # T_max: the run's 50 steps
    "cosine_warm_restarts": 0.05 * (1 + math.cos(math.pi * 49 / 100)),  # T_0 = 100
    "onecycle": 0.1 / 25 / 1e4,  # the end of the cycle: max_lr / (div_factor · final_div_factor)
    "linear": 0.1 * (0.1 + 0.9 * 49 / 50),  # start_factor 0.1 over total_iters 50
    "polynomial": 0.1 * (1 - 49 / 500),  # total_iters 500, power 1
    "inverse_power": 0.1 / 50**0.3,  # η_i = η₀ / i^0.3, i = t + 1
    "cyclic": 0.01 + (0.1 - 0.01) * 49 / 100,  # base η₀/10 rising to η₀ over step_size_up 100
    "plateau": 0.1 * 0.1**2,
}


@pytest.mark.parametrize("info", list(SCHEDULES.values()), ids=list(SCHEDULES))
def test_defaults_give_the_update_rules_value(info: ScheduleInfo) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
    scheduler = info.build(optimizer, defaults(info), total_steps=50)
    for _ in range(49):
        optimizer.step()
        info.step(scheduler, 1.0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(LR_AFTER_49[info.id], rel=1e-9, abs=1e-15)


def test_every_schedule_has_an_expected_value() -> None:
    assert set(LR_AFTER_49) == set(SCHEDULES)
