"""Request pieces shared by every kind of run: optimizer and schedule specs, checked by torch itself."""

import threading
from typing import Annotated, Any, Union

import torch
from pydantic import BaseModel, Field

from backend.optim import optimizers, schedules
from backend.settings import is_reading_stored


def _union(models: list[type[BaseModel]]) -> Any:
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


# `{"name": "adam", "lr": 0.01, ...}`: one model per registry entry, tagged by name.
OptimizerSpec = _union(optimizers.spec_models())
ScheduleSpec = _union(schedules.spec_models())


VERDICTS_KEPT = 4096  # torch's verdicts remembered, the oldest forgotten first
_verdicts: dict[str, str | None] = {}  # (optimizer, schedule, steps) → why torch refuses, or None
_verdicts_lock = threading.Lock()


def check_torch_accepts(optimizer: BaseModel, schedule: BaseModel, schedule_steps: int) -> None:
    """Build the real optimizer and scheduler once on a dummy parameter, so torch's own checks
    (e.g. Nesterov needs momentum > 0 and no dampening) become validation errors (422s), not
    failed runs. `optimizer`, `schedule`: an OptimizerSpec and a ScheduleSpec.

    The verdict depends on nothing else, so it is remembered: a class of students sending the
    same request (a room following its teacher) pays for the probe once, not each time on the
    event loop."""
    if is_reading_stored():
        return
    key = repr((optimizer.model_dump(), schedule.model_dump(), schedule_steps))  # NaN, inf, None apart
    with _verdicts_lock:
        known = key in _verdicts
        refusal = _verdicts.get(key)
    if not known:
        refusal = _verdict(optimizer, schedule, schedule_steps)
        with _verdicts_lock:
            _verdicts[key] = refusal
            while len(_verdicts) > VERDICTS_KEPT:
                del _verdicts[next(iter(_verdicts))]
    if refusal is not None:
        raise ValueError(refusal)


def _verdict(optimizer: BaseModel, schedule: BaseModel, schedule_steps: int) -> str | None:
    """Why torch refuses these keywords (the 422's message), or None when it accepts them."""
    probe = torch.nn.Parameter(torch.zeros(1, 2))
    info = optimizers.get_optimizer(optimizer.name)  # type: ignore[attr-defined]
    try:
        built = info.build([probe], optimizer.model_dump(exclude={"name"}))
    except (ValueError, TypeError) as error:
        return f"optimizer: {info.class_path} rejects this: {error}"
    entry = schedules.get_schedule(schedule.name)  # type: ignore[attr-defined]
    try:
        scheduler = entry.build(built, schedule.model_dump(exclude={"name"}), schedule_steps)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        return f"schedule: {entry.class_path} rejects this: {error}"
    return _first_steps(info, built, entry, scheduler, probe)


def _first_steps(info: Any, built: torch.optim.Optimizer, entry: Any, scheduler: Any,
                 probe: torch.Tensor) -> str | None:
    """Two steps on the probe with a schedule step between them: what only fails once the
    optimizer runs becomes a 422 too (pytorch_optimizer's AggMo keys its buffers by β, which a
    schedule that cycles β₁ changes; AdEMAMix's β₃ warmup takes log β₁)."""

    def closure() -> torch.Tensor:
        built.zero_grad()
        loss = ((probe - 1) ** 2).sum()
        loss.backward()
        return loss

    try:
        built.step(closure)  # type: ignore[arg-type]  # torch's stub says float; a Tensor is usual
        entry.step(scheduler, 1.0)
        built.step(closure)  # type: ignore[arg-type]
    except (ValueError, TypeError, KeyError, ArithmeticError, RuntimeError) as error:
        return (f"optimizer: {info.class_path} fails on its first steps with these keywords under "
                f"{entry.class_path}: {type(error).__name__}: {error}")
    return None
