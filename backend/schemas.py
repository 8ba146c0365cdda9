"""Request and response models of the HTTP API and the websocket messages.

Every bound a request can choose is a `Field` constraint here, so it shows in
the OpenAPI document; checks that need the registries (a known surface, a start
inside its box, hyperparameters torch accepts) are validators that name the field.
"""

import math
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backend import optimizers
from backend.expressions import MAX_LENGTH, ExpressionError, parse_expression
from backend.networks.schemas import NetworkSummary
from backend.networks.spec import NetworkRun
from backend.settings import get_settings
from backend.specs import OptimizerSpec, ScheduleSpec, Status, check_torch_accepts
from backend.surfaces import SURFACES

LIMITS = get_settings()
Coordinate = Annotated[
    float, Field(allow_inf_nan=False, ge=-LIMITS.max_coordinate, le=LIMITS.max_coordinate)
]
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
    """A rectangle x ∈ [x₀, x₁], y ∈ [y₀, y₁]."""

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
    expression: str = Field(
        max_length=MAX_LENGTH,
        description="formula in x and y, e.g. sin(x)*cos(y) + 0.1*(x^2 + y^2)",
        examples=["sin(x)*cos(y) + 0.1*(x^2 + y^2)"],
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


SurfaceChoice = Annotated[
    Union[Annotated[str, Tag("id")], Annotated[CustomSurface, Tag("formula")]],  # noqa: UP007
    Discriminator(_surface_kind),
]


class StopRule(BaseModel):
    """Stop a start early; a threshold of 0 disables that rule."""

    model_config = ConfigDict(extra="forbid")
    grad_norm: float = Field(1e-8, ge=0, le=1e6, description="converged when ‖∇L(w_k)‖ < this")
    step_norm: float = Field(0.0, ge=0, le=1e6, description="converged when ‖w_k − w_{k−1}‖ < this")


def _known_surface(value: "str | CustomSurface") -> "str | CustomSurface":
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


class SurfaceRun(BaseModel):
    """A run of one torch optimizer on a 2-D surface, from one or many start points."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["surface"] = "surface"
    surface: SurfaceChoice = Field(description="catalogue id or a custom formula")
    optimizer: OptimizerSpec
    schedule: ScheduleSpec = Field(
        default_factory=lambda: {"name": "constant"}, validate_default=True
    )
    start: Point2 | None = Field(None, description="one start point (default: the surface's)")
    starts: list[Point2] | None = Field(
        None, min_length=1, max_length=LIMITS.max_starts, description="many start points, batched"
    )
    steps: int = Field(200, ge=1, le=LIMITS.max_steps, description="optimizer.step() calls")
    stop: StopRule = Field(default_factory=StopRule)
    gradient_noise: float = Field(
        0.0, ge=0, le=1e3, allow_inf_nan=False, description="σ of Gaussian noise added to ∇L"
    )
    clip_grad_norm: float | None = Field(
        None, gt=0, le=1e6, allow_inf_nan=False,
        description="clip each start's gradient to this norm before the step (off when null)",
    )
    batch_size: int | None = Field(
        None, ge=1, le=100_000,
        description="mini-batch size on a data-driven surface (null: full batch, i.e. GD)",
    )
    shuffle: bool = Field(True, description="reshuffle the samples every epoch")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    record: Literal["all", "final"] = Field(
        "all", description="'final' keeps only step 0 and each start's last step"
    )

    @field_validator("surface")
    @classmethod
    def known_surface(cls, value: "str | CustomSurface") -> "str | CustomSurface":
        return _known_surface(value)

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
        if n * self.steps > LIMITS.max_work:
            raise ValueError(
                f"starts × steps = {n * self.steps} exceeds {LIMITS.max_work}; use fewer of either"
            )
        info = optimizers.get_optimizer(self.optimizer.name)
        if not info.batched and n > LIMITS.max_unbatched_starts:
            raise ValueError(
                f"starts: {info.class_path} runs each start on its own, so at most "
                f"{LIMITS.max_unbatched_starts} starts, got {n}"
            )
        if self.record == "all" and len(self.start_points()) * (self.steps + 1) > (
            LIMITS.max_recorded
        ):
            raise ValueError(
                f"starts × (steps + 1) = {len(self.start_points()) * (self.steps + 1)} exceeds "
                f"{LIMITS.max_recorded} recorded points; use record='final' or fewer steps"
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


def _run_kind(value: Any) -> str:
    """A body without "kind" is a surface run."""
    if isinstance(value, dict):
        return str(value.get("kind", "surface"))
    return str(getattr(value, "kind", "surface"))


RunRequest = Annotated[
    Union[Annotated[SurfaceRun, Tag("surface")], Annotated[NetworkRun, Tag("network")]],  # noqa: UP007
    Discriminator(_run_kind),
]
RunConfig = Annotated[SurfaceRun | NetworkRun, Field(discriminator="kind")]


# --- responses ---------------------------------------------------------------------------


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN/Infinity: a non-finite number is sent as null."""
    return value if math.isfinite(value) else None


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


class StepsFrame(BaseModel):
    type: Literal["steps"] = "steps"
    steps: list[SurfaceStep]


class EndFrame(BaseModel):
    type: Literal["end"] = "end"
    status: Status
    summary: SurfaceSummary | NetworkSummary | None
    error: str | None = None


class ResetFrame(BaseModel):
    """The run restarted from step 0 (e.g. re-run after a restart): drop what you drew."""

    type: Literal["reset"] = "reset"


class PointValue(BaseModel):
    x: float
    y: float
    value: float


class SurfaceInfo(BaseModel):
    id: str
    name: str
    formula: str
    domain: dict[str, tuple[float, float]]
    minima: list[PointValue]
    saddles: list[PointValue]
    start: tuple[float, float]
    tags: list[str]
    description: str
    n_samples: int | None = Field(None, description="samples of a data-driven surface")


class Grid(BaseModel):
    """z[i][j] = f(x[j], y[i]) (Plotly's convention); non-finite values are null."""

    x: list[float]
    y: list[float]
    z: list[list[float | None]]


class HyperparameterInfo(BaseModel):
    name: str
    type: str
    default: Any
    min: float | None
    max: float | None
    exclusive_min: bool = False
    exclusive_max: bool = False
    choices: list[Any] | None = None
    nullable: bool = False
    description: str


class OptimizerInfoOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    name: str
    class_: str = Field(alias="class", serialization_alias="class")
    hyperparameters: list[HyperparameterInfo]
    update_rule: str
    description: str
    batched: bool | None = None
    effective_lr: str | None = Field(
        None, description="what the recorded effective_lr multiplies: gradient | first_moment | sign"
    )


class Limits(BaseModel):
    """Every size a request can choose, bounded; see backend/settings.py."""

    max_steps: int
    max_starts: int
    max_recorded: int = Field(description="starts × (steps + 1) kept with record='all'")
    max_work: int = Field(description="starts × steps of a stored run")
    max_instant_work: int = Field(description="starts × steps of POST /api/trajectories")
    max_unbatched_starts: int = Field(description="starts of LBFGS / Adafactor runs")
    max_grid: int
    max_coordinate: float
    max_expression_length: int
    max_body_bytes: int
    runs_per_client: int
    computations_per_client: int
    network: "NetworkLimits"


class NetworkLimits(BaseModel):
    """The bounds of a network run (fixed; see backend/networks/spec.py)."""

    max_epochs: int
    max_steps: int = Field(description="epochs × batches per epoch")
    max_parameters: int
    max_work: int = Field(description="epochs × n_train × parameters")
    max_samples: int
    max_csv_bytes: int
    max_landscape_resolution: int
    max_landscape_work: int = Field(description="grid points × eval_samples × parameters")
    max_eval_samples: int


class Health(BaseModel):
    status: Literal["ok"]
    device: str
    executor: str
    workers: int


# --- analysis: curvature and sweeps -------------------------------------------------------


class CurvatureRequest(BaseModel):
    """A point on a catalogue or custom surface."""

    model_config = ConfigDict(extra="forbid")
    surface: SurfaceChoice
    point: Point2

    @field_validator("surface")
    @classmethod
    def known_surface(cls, value: "str | CustomSurface") -> "str | CustomSurface":
        return _known_surface(value)


class CurvatureOut(BaseModel):
    """∇f and the Hessian at the point; GD on the local quadratic is stable for lr < 2/λ_max."""

    gradient: tuple[float | None, float | None]
    hessian: list[list[float | None]]
    eigenvalues: list[float | None] = Field(description="ascending")
    eigenvectors: list[list[float | None]] = Field(description="eigenvectors[i] ↔ eigenvalues[i]")
    max_stable_lr: float | None = Field(description="2 / λ_max (null when λ_max ≤ 0)")


MAX_SWEEP_VALUES = 64
MAX_SWEEP_WORK = 200_000  # cells × steps


class SweepAxis(BaseModel):
    """One swept hyperparameter: a float keyword of the optimizer, or beta1 / beta2."""

    model_config = ConfigDict(extra="forbid")
    param: str = Field(examples=["lr", "momentum", "beta1"])
    values: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=MAX_SWEEP_VALUES
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
        if cells * self.run.steps > MAX_SWEEP_WORK:
            raise ValueError(
                f"cells × steps = {cells * self.run.steps} exceeds {MAX_SWEEP_WORK}; "
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
