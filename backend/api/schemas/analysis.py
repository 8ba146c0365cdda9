"""HTTP models of the analyses: curvature at a point, regime maps (sweeps)."""

import itertools
from typing import Annotated, Any

import torch
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from backend.bounds import MaxItems
from backend.optim import optimizers, schedules
from backend.runs.model import Status
from backend.settings import current_settings
from backend.surfaces.spec import CustomSurface, Point2, SurfaceChoice, SurfaceRun, check_known_surface
from backend.surfaces.sweeps import Axis, group_settings


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

    # [∂f/∂x, ∂f/∂y], written as a list of two rather than a tuple: schemathesis cannot read a
    # response's `prefixItems` of nullable numbers
    gradient: list[float | None] = Field(min_length=2, max_length=2)
    hessian: list[list[float | None]]
    eigenvalues: list[float | None] = Field(description="ascending")
    eigenvectors: list[list[float | None]] = Field(description="eigenvectors[i] ↔ eigenvalues[i]")
    max_stable_lr: float | None = Field(description="2 / λ_max (null when λ_max ≤ 0)")




# Every name an axis may sweep over some optimizer; which ones this run's optimizer has is a rule
# across fields (the request's description)
SWEEPABLE: list[JsonValue] = [*sorted(
    {h.name for o in optimizers.OPTIMIZERS.values() for h in o.hyperparameters if h.type == "float"}
    | {"beta1", "beta2"}
)]


class SweepAxis(BaseModel):
    """One swept hyperparameter: a float keyword of the optimizer, or beta1 / beta2."""

    model_config = ConfigDict(extra="forbid")
    param: str = Field(examples=["lr", "momentum", "beta1"], json_schema_extra={"enum": SWEEPABLE})
    values: Annotated[
        list[Annotated[float, Field(allow_inf_nan=False, strict=True)]], MaxItems("max_sweep_values")
    ] = Field(min_length=1)


class SweepRequest(BaseModel):
    """A regime map: the same single-start run once per cell of x × y; each cell is exactly the
    single run with its values (`POST /api/runs` with that lr, momentum...).

    Rules across fields (422, naming them): `run` has a single start (no `starts`); each axis's
    `param` is a float hyperparameter of the run's optimizer (or `beta1` / `beta2` of its
    `betas`) and its values lie in that hyperparameter's range (GET /api/optimizers); a
    schedule with `cycle_momentum` takes no momentum / beta1 axis; cells × steps ≤ 200,000
    (`DESCENT_MAX_SWEEP_WORK`); an optimizer that runs each start on its own, or a `plateau`
    schedule, takes at most `max_unbatched_starts` cells; torch accepts every cell's keywords."""

    model_config = ConfigDict(extra="forbid")
    run: SurfaceRun
    x: SweepAxis
    y: SweepAxis | None = None

    @model_validator(mode="after")
    def sweepable(self) -> "SweepRequest":
        if self.run.starts is not None:
            raise ValueError("run: a sweep takes a single start, not starts")
        info = optimizers.get_optimizer(self.run.optimizer.name)
        schedule = schedules.get_schedule(self.run.schedule.name)
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
                    f"{info.class_path}; choose one of {', '.join(allowed)}"
                )
            for value in axis.values:
                too_low = h.min is not None and (value < h.min or (h.exclusive_min and value == h.min))
                too_high = h.max is not None and (value > h.max or (h.exclusive_max and value == h.max))
                if too_low or too_high:
                    raise ValueError(
                        f"{label}.values: {axis.param} = {value} is outside [{h.min}, {h.max}]"
                    )
            _check_cycled_momentum(label, axis.param, self.run.schedule_kwargs(), schedule.cls.__name__)
        limits = current_settings()
        if cells * self.run.steps > limits.max_sweep_work:
            raise ValueError(
                f"cells × steps = {cells * self.run.steps} exceeds {limits.max_sweep_work}; "
                "use fewer values or steps"
            )
        batches = info.batches(_cells(self.run.hyperparameters(), self.x, self.y))
        if (not batches or schedule.monitors_loss) and cells > limits.max_unbatched_starts:
            who = info.class_path if not batches else schedule.class_path
            raise ValueError(
                f"{who} needs an optimizer of its own per cell, so at most "
                f"{limits.max_unbatched_starts} cells, got {cells}"
            )
        _check_torch_accepts_cells(info, self.run.hyperparameters(), self.x, self.y)
        return self


def _check_cycled_momentum(label: str, param: str, schedule: dict[str, Any], scheduler: str) -> None:
    """OneCycleLR and CyclicLR with cycle_momentum set the momentum (β₁) every step, so an axis
    over it would change nothing: a 422 instead of a map of identical cells."""
    if param in ("momentum", "beta1") and schedule.get("cycle_momentum"):
        raise ValueError(
            f"{label}.param '{param}': {scheduler} with cycle_momentum=true sets it every step "
            "(between base_momentum and max_momentum); set cycle_momentum to false or sweep "
            "another hyperparameter"
        )


def _axes(x: SweepAxis, y: SweepAxis | None) -> list[Axis]:
    return [Axis(x.param, tuple(x.values))] + ([Axis(y.param, tuple(y.values))] if y is not None else [])


def _cells(base: dict[str, Any], x: SweepAxis, y: SweepAxis | None) -> list[dict[str, Any]]:
    """Each cell's optimizer keywords."""
    axes = _axes(x, y)
    return [group_settings(base, list(zip(axes, values, strict=True)))
            for values in itertools.product(*(axis.values for axis in axes))]


def _check_torch_accepts_cells(info: Any, base: dict[str, Any], x: SweepAxis, y: SweepAxis | None) -> None:
    """Every cell's keywords are ones torch accepts for a single run (e.g. SGD's nesterov needs
    momentum > 0), checked by building the real optimizer once per distinct cell."""
    axes = _axes(x, y)
    probe = torch.nn.Parameter(torch.zeros(1, 2))
    seen: set[str] = set()
    for values in itertools.product(*(axis.values for axis in axes)):
        keywords = group_settings(base, list(zip(axes, values, strict=True)))
        key = repr(sorted(keywords.items()))
        if key in seen:
            continue
        seen.add(key)
        try:
            info.build([probe], keywords)
        except (ValueError, TypeError) as error:
            where = ", ".join(f"{a.param} = {v}" for a, v in zip(axes, values, strict=True))
            raise ValueError(f"cell {where}: {info.class_path} rejects this: {error}") from None


class SweepOut(BaseModel):
    """Per cell, indexed [iy][ix] (one row when there is no y axis)."""

    x: list[float]
    y: list[float] | None
    final_loss: list[list[float | None]]
    steps: list[list[int]] = Field(description="step at which each cell stopped")
    status: list[list[Status]]
