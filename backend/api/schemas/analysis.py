"""HTTP models of the analyses: curvature at a point, regime maps (sweeps)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.bounds import MaxItems
from backend.optim import optimizers
from backend.runs.model import Status
from backend.settings import current_settings
from backend.surfaces.spec import CustomSurface, Point2, SurfaceChoice, SurfaceRun, check_known_surface


class CurvatureRequest(BaseModel):
    """A point on a catalogue or custom surface."""

    model_config = ConfigDict(extra="forbid")
    surface: SurfaceChoice
    point: Point2

    @field_validator("surface")
    @classmethod
    def known_surface(cls, value: "str | CustomSurface") -> "str | CustomSurface":
        return check_known_surface(value)


class CurvatureOut(BaseModel):
    """∇f and the Hessian at the point; GD on the local quadratic is stable for lr < 2/λ_max."""

    gradient: tuple[float | None, float | None]
    hessian: list[list[float | None]]
    eigenvalues: list[float | None] = Field(description="ascending")
    eigenvectors: list[list[float | None]] = Field(description="eigenvectors[i] ↔ eigenvalues[i]")
    max_stable_lr: float | None = Field(description="2 / λ_max (null when λ_max ≤ 0)")




class SweepAxis(BaseModel):
    """One swept hyperparameter: a float keyword of the optimizer, or beta1 / beta2."""

    model_config = ConfigDict(extra="forbid")
    param: str = Field(examples=["lr", "momentum", "beta1"])
    values: Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], MaxItems("max_sweep_values")] = (
        Field(min_length=1)
    )


class SweepRequest(BaseModel):
    """A regime map: the same single-start run once per cell of x × y, one batched torch run."""

    model_config = ConfigDict(extra="forbid")
    run: SurfaceRun
    x: SweepAxis
    y: SweepAxis | None = None

    @model_validator(mode="after")
    def sweepable(self) -> "SweepRequest":
        if self.run.starts is not None:
            raise ValueError("run: a sweep takes a single start, not starts")
        if self.run.optimizer.name == "lbfgs":
            raise ValueError("run.optimizer: torch.optim.LBFGS has no per-parameter groups")
        info = optimizers.get_optimizer(self.run.optimizer.name)
        by_name = {h.name: h for h in info.hyperparameters}
        axes = [("x", self.x)] + ([("y", self.y)] if self.y is not None else [])
        cells = 1
        for label, axis in axes:
            cells *= len(axis.values)
            name = "betas" if axis.param in ("beta1", "beta2") else axis.param
            h = by_name.get(name)
            allowed = [n for n, e in by_name.items() if e.type == "float"]
            if "betas" in by_name:
                allowed += ["beta1", "beta2"]
            if h is None or not (h.type == "float" or name == "betas"):
                raise ValueError(
                    f"{label}.param '{axis.param}' is not a float hyperparameter of "
                    f"torch.optim.{info.name}; choose one of {', '.join(allowed)}"
                )
            for value in axis.values:
                too_low = h.min is not None and (value < h.min or (h.exclusive_min and value == h.min))
                too_high = h.max is not None and (value > h.max or (h.exclusive_max and value == h.max))
                if too_low or too_high:
                    raise ValueError(
                        f"{label}.values: {axis.param} = {value} is outside [{h.min}, {h.max}]"
                    )
        most = current_settings().max_sweep_work
        if cells * self.run.steps > most:
            raise ValueError(
                f"cells × steps = {cells * self.run.steps} exceeds {most}; "
                "use fewer values or steps"
            )
        return self


class SweepOut(BaseModel):
    """Per cell, indexed [iy][ix] (one row when there is no y axis)."""

    x: list[float]
    y: list[float] | None
    final_loss: list[list[float | None]]
    steps: list[list[int]] = Field(description="step at which each cell stopped")
    status: list[list[Status]]
