"""A surface run as the engine takes it: which surface (catalogue id or a typed formula), which
torch optimizer and schedule, from where, for how long, and when to stop.

Every bound a request can choose is a `Field` constraint, so it shows in the OpenAPI
document; checks that need the registries (a known surface, a start inside its box,
hyperparameters torch accepts) are validators that name the field.
"""

from typing import Annotated, Any, Literal, Union

import torch
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from backend.bounds import AtMost, Magnitude, MaxItems, MaxLength
from backend.jsontypes import Integer, integral
from backend.optim import optimizers, schedules
from backend.optim.spec import OptimizerSpec, ScheduleSpec, check_torch_accepts
from backend.settings import current_settings
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.expressions import FORMULA_PATTERN, ExpressionError, grammar, parse_expression

Coordinate = Annotated[float, Field(allow_inf_nan=False, strict=True), Magnitude("max_coordinate")]
Point2 = tuple[Coordinate, Coordinate]

# How far past its domain a path may wander before it counts as diverged: the
# domain grown by this many widths on every side.
DIVERGENCE_MARGIN = 10.0


def _check_range(value: tuple[float, float], name: str) -> tuple[float, float]:
    lo, hi = value
    if not lo < hi:
        raise ValueError(f"{name} must be [lo, hi] with lo < hi, got [{lo}, {hi}]")
    return value


class Domain(BaseModel):
    """A rectangle x ∈ [x₀, x₁], y ∈ [y₀, y₁], each range with x₀ < x₁ (y₀ < y₁)."""

    model_config = ConfigDict(extra="forbid")
    x: Point2
    y: Point2

    @field_validator("x", "y")
    @classmethod
    def ordered(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        return _check_range(value, f"domain.{info.field_name}")


class CustomSurface(BaseModel):
    """A surface typed by the user, parsed by a whitelist (never evaluated as Python)."""

    model_config = ConfigDict(extra="forbid")
    expression: Annotated[str, MaxLength("max_expression_length")] = Field(
        description=grammar(),
        examples=["sin(x)*cos(y) + 0.1*(x^2 + y^2)"],
        json_schema_extra={"minLength": 1, "pattern": FORMULA_PATTERN},
    )
    domain: Domain

    @field_validator("expression")
    @classmethod
    def parses(cls, value: str) -> str:
        try:
            parse_expression(value)
        except ExpressionError as error:
            raise ValueError(str(error)) from None
        return value


def _surface_kind(value: Any) -> str:
    """A string is a catalogue id; anything else is a formula (errors then name only its fields)."""
    return "id" if isinstance(value, str) else "formula"


SurfaceId = Annotated[str, WithJsonSchema(
    {"type": "string", "enum": list(SURFACES), "description": "a catalogue surface (GET /api/surfaces)"}
)]
SurfaceChoice = Annotated[
    Union[Annotated[SurfaceId, Tag("id")], Annotated[CustomSurface, Tag("formula")]],  # noqa: UP007
    Discriminator(_surface_kind),
]


class StopRule(BaseModel):
    """Stop a start early; a threshold of 0 disables that rule."""

    model_config = ConfigDict(extra="forbid")
    grad_norm: float = Field(1e-8, ge=0, le=1e6, strict=True, description="converged when ‖∇L(w_k)‖ < this")
    step_norm: float = Field(0.0, ge=0, le=1e6, strict=True,
                             description="converged when ‖w_k − w_{k−1}‖ < this")


def check_known_surface(value: "str | CustomSurface") -> "str | CustomSurface":
    if isinstance(value, str) and value not in SURFACES:
        raise ValueError(f"unknown surface '{value}'; known: {', '.join(SURFACES)}")
    return value


def surface_domain(surface: "str | CustomSurface") -> tuple[tuple[float, float], ...]:
    if isinstance(surface, str):
        return SURFACES[surface].domain
    return (surface.domain.x, surface.domain.y)


def divergence_box(domain: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """The domain grown by DIVERGENCE_MARGIN widths on each side."""
    return tuple(
        (lo - DIVERGENCE_MARGIN * (hi - lo), hi + DIVERGENCE_MARGIN * (hi - lo)) for lo, hi in domain
    )


# Mini-batches only on a data-driven surface, of at most its samples (a rule across two fields,
# said in the schema too)
_DATA_DRIVEN = {s.id: len(s.samples.targets) for s in SURFACES.values() if s.samples is not None}
_BATCHES_ONLY_WHEN_DATA_DRIVEN: JsonDict = {
    "if": {"properties": {"surface": {"enum": list(_DATA_DRIVEN)}}, "required": ["surface"]},
    "then": {"properties": {"batch_size": {"anyOf": [
        {"type": "integer", "maximum": max(_DATA_DRIVEN.values())}, {"type": "null"}]}}},
    "else": {"properties": {"batch_size": {"type": "null"}}},
}


class SurfaceRun(BaseModel):
    """A run of one torch optimizer on a 2-D surface, from one or many start points.

    Rules across fields (422 at `surface`, naming the fields; the bounds are in GET /api/limits):
    start points lie in the surface's domain grown by 10 widths on every side; `start` and
    `starts` are not both given; starts × steps ≤ `max_work`, and with `record: "all"`
    starts × (steps + 1) ≤ `max_recorded`; an optimizer that runs each start on its own
    (`batched: false` in GET /api/optimizers) or a `plateau` schedule takes at most
    `max_unbatched_starts` starts; `lbfgs` takes no `gradient_noise`; `batch_size` only on a
    data-driven surface (`linear_regression`) and at most its samples; torch accepts the
    optimizer and the schedule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_BATCHES_ONLY_WHEN_DATA_DRIVEN)
    kind: Literal["surface"] = "surface"
    surface: SurfaceChoice = Field(description="catalogue id or a custom formula")
    optimizer: OptimizerSpec
    schedule: ScheduleSpec = Field(
        default_factory=lambda: {"name": "constant"}, validate_default=True
    )
    start: Point2 | None = Field(None, description="one start point (default: the surface's)")
    starts: Annotated[list[Point2], MaxItems("max_starts")] | None = Field(
        None, min_length=1, description="many start points, batched"
    )
    steps: Annotated[Integer, AtMost("max_steps")] = Field(200, ge=1, description="optimizer.step() calls")
    stop: StopRule = Field(default_factory=StopRule)
    gradient_noise: float = Field(
        0.0, ge=0, le=1e3, allow_inf_nan=False, strict=True, description="σ of Gaussian noise added to ∇L"
    )
    clip_grad_norm: float | None = Field(
        None, gt=0, le=1e6, allow_inf_nan=False, strict=True,
        description="clip each start's gradient to this norm before the step (off when null)",
    )
    batch_size: Annotated[
        int, Field(ge=1, le=100_000, strict=True), BeforeValidator(integral)
    ] | None = Field(
        None,
        description="mini-batch size on a data-driven surface (null: full batch, i.e. GD), at most its "
        "samples",
    )
    shuffle: bool = Field(True, strict=True, description="reshuffle the samples every epoch")
    seed: Integer = Field(0, ge=0, le=2**31 - 1)
    record: Literal["all", "final"] = Field(
        "all", description="'final' keeps only step 0 and each start's last step"
    )

    @field_validator("surface")
    @classmethod
    def known_surface(cls, value: "str | CustomSurface") -> "str | CustomSurface":
        return check_known_surface(value)

    @field_validator("start")
    @classmethod
    def start_inside(cls, value: Point2 | None, info: ValidationInfo) -> Point2 | None:
        if value is not None and "surface" in info.data:
            _check_inside([value], info.data["surface"], "start")
        return value

    @field_validator("starts")
    @classmethod
    def starts_inside(cls, value: list[Point2] | None, info: ValidationInfo) -> Any:
        if value is not None and "surface" in info.data:
            _check_inside(value, info.data["surface"], "starts")
        return value

    @field_validator("batch_size")
    @classmethod
    def data_driven(cls, value: int | None, info: ValidationInfo) -> int | None:
        surface = info.data.get("surface")
        if value is None or surface is None:
            return value
        samples = SURFACES[surface].samples if isinstance(surface, str) else None
        if samples is None:
            raise ValueError(
                "batch_size needs a data-driven surface (e.g. 'linear_regression'); "
                "use gradient_noise to simulate SGD elsewhere"
            )
        n = len(samples.targets)
        if value > n:
            raise ValueError(f"batch_size must be ≤ the {n} samples of the surface, got {value}")
        return value

    @model_validator(mode="after")
    def consistent(self) -> "SurfaceRun":
        if self.start is not None and self.starts is not None:
            raise ValueError("give either start or starts, not both")
        n = len(self.start_points())
        limits = current_settings()
        if n * self.steps > limits.max_work:
            raise ValueError(
                f"starts × steps = {n * self.steps} exceeds {limits.max_work}; use fewer of either"
            )
        info = optimizers.get_optimizer(self.optimizer.name)
        schedule = schedules.get_schedule(self.schedule.name)
        batches = info.batches([self.hyperparameters()])
        if (not batches or schedule.monitors_loss) and n > limits.max_unbatched_starts:
            who = (f"{info.class_path} runs each start on its own" if not batches else
                   f"{schedule.class_path} watches one loss, so each start gets its own")
            raise ValueError(
                f"starts: {who}, so at most {limits.max_unbatched_starts} starts, got {n}"
            )
        if info.cls is torch.optim.LBFGS and self.gradient_noise > 0:
            raise ValueError(
                "gradient_noise: torch.optim.LBFGS evaluates the loss several times inside one "
                "step, so noise added to one gradient is not the noise of the others; use "
                "batch_size for stochastic gradients, or another optimizer"
            )
        if self.record == "all" and n * (self.steps + 1) > limits.max_recorded:
            raise ValueError(
                f"starts × (steps + 1) = {n * (self.steps + 1)} exceeds "
                f"{limits.max_recorded} recorded points; use record='final' or fewer steps"
            )
        check_torch_accepts(self.optimizer, self.schedule, self.steps)
        return self

    def start_points(self) -> list[tuple[float, float]]:
        if self.starts is not None:
            return [tuple(s) for s in self.starts]  # type: ignore[misc]
        if self.start is not None:
            return [tuple(self.start)]  # type: ignore[list-item]
        if isinstance(self.surface, str):
            return [SURFACES[self.surface].start]
        (x0, x1), (y0, y1) = self.surface.domain.x, self.surface.domain.y
        return [(x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0))]

    @property
    def batched(self) -> bool:
        return self.starts is not None

    def hyperparameters(self) -> dict[str, Any]:
        """The optimizer's keyword arguments, exactly as torch receives them."""
        return self.optimizer.model_dump(exclude={"name"})

    def schedule_kwargs(self) -> dict[str, Any]:
        return self.schedule.model_dump(exclude={"name"})


def _check_inside(points: list[Point2], surface: Any, field: str) -> None:
    (x_lo, x_hi), (y_lo, y_hi) = divergence_box(surface_domain(surface))
    for i, (x, y) in enumerate(points):
        if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi):
            where = field if field == "start" else f"{field}[{i}]"
            raise ValueError(
                f"{where} = ({x}, {y}) is outside x ∈ [{x_lo:g}, {x_hi:g}], "
                f"y ∈ [{y_lo:g}, {y_hi:g}] (the surface's domain grown {DIVERGENCE_MARGIN:g}× "
                "on each side)"
            )
