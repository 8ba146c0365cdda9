"""Request pieces shared by every kind of run: optimizer and schedule specs, checked by torch itself."""

from typing import Annotated, Any, Union

import torch
from pydantic import BaseModel, Field

from backend.optim import optimizers, schedules


def _union(models: list[type[BaseModel]]) -> Any:
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


# `{"name": "adam", "lr": 0.01, ...}`: one model per registry entry, tagged by name.
OptimizerSpec = _union(optimizers.spec_models())
ScheduleSpec = _union(schedules.spec_models())



def check_torch_accepts(optimizer: BaseModel, schedule: BaseModel, schedule_steps: int) -> None:
    """Build the real optimizer and scheduler once on a dummy parameter, so torch's own checks
    (e.g. Nesterov needs momentum > 0 and no dampening) become validation errors (422s), not
    failed runs. `optimizer`, `schedule`: an OptimizerSpec and a ScheduleSpec."""
    probe = torch.nn.Parameter(torch.zeros(1, 2))
    info = optimizers.get_optimizer(optimizer.name)  # type: ignore[attr-defined]
    try:
        built = info.build([probe], optimizer.model_dump(exclude={"name"}))
    except (ValueError, TypeError) as error:
        raise ValueError(f"optimizer: torch.optim.{info.name} rejects this: {error}") from None
    entry = schedules.get_schedule(schedule.name)  # type: ignore[attr-defined]
    try:
        entry.build(built, schedule.model_dump(exclude={"name"}), schedule_steps)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ValueError(f"schedule: {entry.class_path} rejects this: {error}") from None
