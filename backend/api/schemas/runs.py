"""HTTP models of runs: the request union, lists, step records, unstored trajectories."""

from typing import Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Field, Tag

from backend.networks.spec import NetworkRun
from backend.runs.model import Run, Status, SurfaceSummary
from backend.surfaces.spec import SurfaceRun


def _run_kind(value: Any) -> str:
    """A body without "kind" is a surface run."""
    if isinstance(value, dict):
        return str(value.get("kind", "surface"))
    return str(getattr(value, "kind", "surface"))


RunRequest = Annotated[
    Union[Annotated[SurfaceRun, Tag("surface")], Annotated[NetworkRun, Tag("network")]],  # noqa: UP007
    Discriminator(_run_kind),
]


class RunList(BaseModel):
    runs: list[Run]


class SurfaceStep(BaseModel):
    """One recorded step. With `starts`, params/grad are lists of pairs and loss a list."""

    step: int
    params: Any = Field(description="[x, y], or [[x, y], ...] per start")
    loss: Any = Field(description="f(w), or a list per start")
    grad: Any = Field(description="∇f(w) (of the mini-batch loss with batch_size)")
    lr: float = Field(description="learning rate of the step that led here (step 0: the first)")
    state: dict[str, Any] = Field(
        default_factory=dict, description="optimizer buffers: momentum_buffer, exp_avg, ..."
    )
    effective_lr: Any = Field(None, description="per-coordinate step factor of adaptive methods")
    epoch: int | None = None
    batch_loss: Any = None


class NetworkStep(BaseModel):
    """One optimizer step of a network run: its mini-batch's loss before the update."""

    step: int = Field(description="1-based over the whole run")
    epoch: int
    loss: float | None
    lr: float
    grad_norm: float | None = Field(description="‖∇L‖₂ over all parameters, before the update")


class Steps(BaseModel):
    steps: list[SurfaceStep] | list[NetworkStep]


class Trajectory(BaseModel):
    """A computed but unstored run (`POST /api/trajectories`): status, summary and steps."""

    status: Status
    summary: SurfaceSummary
    steps: list[SurfaceStep]
