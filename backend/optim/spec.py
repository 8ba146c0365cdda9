"""Request pieces shared by every kind of run: optimizer and schedule specs, checked by torch itself."""

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



def check_torch_accepts(optimizer: BaseModel, schedule: BaseModel, schedule_steps: int) -> None:
    """Build the real optimizer and scheduler once on a dummy parameter, so torch's own checks
    (e.g. Nesterov needs momentum > 0 and no dampening) become validation errors (422s), not
    failed runs. `optimizer`, `schedule`: an OptimizerSpec and a ScheduleSpec."""
    if is_reading_stored():
        return
    probe = torch.nn.Parameter(torch.zeros(1, 2))
    info = optimizers.get_optimizer(optimizer.name)  # type: ignore[attr-defined]
    try:
        built = info.build([probe], optimizer.model_dump(exclude={"name"}))
    except (ValueError, TypeError) as error:
        raise ValueError(f"optimizer: {info.class_path} rejects this: {error}") from None
    entry = schedules.get_schedule(schedule.name)  # type: ignore[attr-defined]
    try:
        scheduler = entry.build(built, schedule.model_dump(exclude={"name"}), schedule_steps)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ValueError(f"schedule: {entry.class_path} rejects this: {error}") from None
    _first_steps(info, built, entry, scheduler, probe)


def _first_steps(info: Any, built: torch.optim.Optimizer, entry: Any, scheduler: Any,
                 probe: torch.Tensor) -> None:
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
        raise ValueError(
            f"optimizer: {info.class_path} fails on its first steps with these keywords under "
            f"{entry.class_path}: {type(error).__name__}: {error}"
        ) from None
