"""A run as stored: its request, its life (Status), and once ended its summary."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from backend.networks.spec import NetworkRun
from backend.networks.summary import NetworkSummary
from backend.surfaces.spec import SurfaceRun


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


RunConfig = Annotated[SurfaceRun | NetworkRun, Field(discriminator="kind")]


class StartOutcomes(BaseModel):
    """Per start of a batched run, in the order of `starts`."""

    status: list[Status]
    stop_step: list[int]
    final_params: list[tuple[float | None, float | None]]
    final_loss: list[float | None]
    minimum: list[int | None] = Field(
        description="index into the surface's minima that the start ended at (null: none)"
    )


class SurfaceSummary(BaseModel):
    """How a surface run ended."""

    steps: int = Field(description="highest step index reached")
    stop_reason: str = Field(description="grad_norm | step_norm | budget | diverged | cancelled | mixed")
    stop_step: int | None = Field(description="step at which a single-start run stopped")
    message: str = Field(description="the stop reason in words")
    final_params: tuple[float | None, float | None] | None
    final_loss: float | None
    counts: dict[str, int] = Field(description="starts per status")
    elapsed_ms: float
    device: str
    starts: StartOutcomes | None = None


class Run(BaseModel):
    """A run as stored: its request, its state, and once ended its summary."""

    id: str
    kind: Literal["surface", "network"]
    status: Status
    config: RunConfig
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    summary: SurfaceSummary | NetworkSummary | None = None
    error: str | None = None
    size: int | None = Field(None, description="bytes the store holds for the run once it ended "
                             "(steps, files); null while it is queued or running")
    pinned: bool = Field(False, description="kept whatever the store's budget and age limit "
                         "(PUT /api/runs/{id}/pin)")
    queue_position: int | None = Field(
        None, description="GET /api/runs/{id} of a queued run: the queued runs ahead of it (0: it "
        "starts next, once a worker is free); null otherwise")
