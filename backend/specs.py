"""Request pieces shared by every kind of run: optimizer and schedule specs, run status."""

from enum import StrEnum
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field

from backend import optimizers, schedules


def _union(models: list[type[BaseModel]]) -> Any:
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


# `{"name": "adam", "lr": 0.01, ...}`: one model per registry entry, tagged by name.
OptimizerSpec = _union(optimizers.spec_models())
ScheduleSpec = _union(schedules.spec_models())


class Status(StrEnum):
    """Life of a run: queued → running → one of the terminal states."""

    QUEUED = "queued"
    RUNNING = "running"
    CONVERGED = "converged"
    FINISHED = "finished"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        return self not in (Status.QUEUED, Status.RUNNING)
