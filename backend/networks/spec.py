"""The request of a network run, validated at the edge.

Every size is a `Field` bound (so the OpenAPI document shows it); what needs the
dataset (a CSV's shape, a model that fits it) or torch (hyperparameters a class
rejects) is checked by validators whose messages name the field, the value and
the allowed range. `NetworkRun.plan()` gives the derived sizes the training loop
uses (split sizes, batches per epoch, steps, parameters).
"""

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from backend.bounds import AtMost, MaxItems, MaxLength, at_most
from backend.jsontypes import Integer, integral
from backend.networks import datasets, models
from backend.optim.spec import OptimizerSpec, ScheduleSpec, check_torch_accepts

# The request limits are settings (`network_max_*`), read when a request is validated.
MAX_CHECKPOINT_FLOATS = 25_000_000  # checkpoints kept × parameters (100 MB of float32)

Resolution = Annotated[Integer, AtMost("network_max_landscape_resolution")]
EvalSamples = Annotated[Integer, AtMost("network_max_eval_samples")]
DatasetName = Literal["linear_regression", "moons", "circles", "spirals", "xor", "blobs", "digits", "csv"]


# `csv` holds the text exactly when `name` is "csv" (a rule across the two fields, said here too)
_CSV_ONLY_WITH_CSV: JsonDict = {
    "if": {"properties": {"name": {"const": "csv"}}, "required": ["name"]},
    "then": {"properties": {"csv": {"type": "string"}}, "required": ["csv"]},
    "else": {"properties": {"csv": {"type": "null"}}},
}


class DatasetSpec(BaseModel):
    """Which data: a generated set, the bundled digits, or a CSV text.

    Rules across fields (422 at `dataset`): `csv` is required with `name: "csv"` and refused
    with any other name; `n_samples` is at most the digits (1797) or the CSV's data rows."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_CSV_ONLY_WITH_CSV)
    name: DatasetName = Field(description="catalogue id (GET /api/datasets)")
    n_samples: Annotated[
        int, Field(ge=datasets.MIN_SAMPLES, strict=True), AtMost("network_max_samples"),
        BeforeValidator(integral),
    ] | None = Field(
        None,
        description="samples to draw (null: the dataset's default; all 1797 digits; all CSV rows); "
        "fewer than the digits or CSV rows picks a seeded subset",
    )
    noise: float | None = Field(
        None, ge=0, le=5, allow_inf_nan=False, strict=True,
        description="σ of the Gaussian noise of a generated set (null: its default)",
    )
    csv: Annotated[str, MaxLength("network_max_csv_bytes")] | None = Field(
        None,
        description="CSV text for name='csv': at most network_max_csv_bytes bytes and network_max_samples "
        f"rows (GET /api/limits), ≤ {datasets.MAX_CSV_FEATURES} numeric feature columns, the "
        f"last column the target (integers with ≤ {datasets.MAX_CLASSES} values: classes)",
    )

    @model_validator(mode="after")
    def consistent(self) -> "DatasetSpec":
        if self.name != "csv" and self.csv is not None:
            raise ValueError(f"dataset.csv is only for dataset.name = 'csv', not {self.name!r}")
        self.shape()  # parses a CSV, checks n_samples against the data
        return self

    def shape(self) -> datasets.Shape:
        return datasets.shape(self.name, self.n_samples, self.csv)


class ModelSpec(BaseModel):
    """The network: linear or logistic regression, an MLP, or a small CNN (digits).

    Rules across fields (422 at `network`): `linear` needs a regression dataset, `logistic` and
    `cnn` a classification one, `cnn` works on `digits` only; `hidden` is empty for `linear` and
    `logistic`, has at least one width for `mlp`, and 1 to 3 channel counts for `cnn` (each at
    most the cnn's `max_width` in GET /api/models)."""

    model_config = ConfigDict(extra="forbid")
    name: Literal["linear", "logistic", "mlp", "cnn"] = Field(description="catalogue id (GET /api/models)")
    hidden: Annotated[
        list[Annotated[
            int, Field(ge=1, strict=True), AtMost("network_max_width"), BeforeValidator(integral)
        ]],
        MaxItems("network_max_layers"),
    ] | None = Field(
        None,
        description="hidden widths (mlp) or conv channels (cnn, 1..3 layers); null: the model's "
        "default; empty for linear/logistic",
    )
    activation: Literal["relu", "tanh", "sigmoid", "gelu"] = "relu"


class SplitSpec(BaseModel):
    """Fractions of the samples held out for validation and test (seeded)."""

    model_config = ConfigDict(extra="forbid")
    val: float = Field(0.2, ge=0, le=0.5, allow_inf_nan=False, strict=True, description="validation fraction")
    test: float = Field(0.2, ge=0, le=0.5, allow_inf_nan=False, strict=True, description="test fraction")


class EarlyStoppingSpec(BaseModel):
    """Stop when the validation loss has not improved by min_delta for `patience` epochs."""

    model_config = ConfigDict(extra="forbid")
    patience: Integer = Field(5, ge=1, le=100, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0, le=1e6, allow_inf_nan=False, strict=True,
                             description="an improvement must lower the best loss by more than this")
    restore_best: bool = Field(True, strict=True, description="go back to the weights of the best epoch")


class StopSpec(BaseModel):
    """The course's stopping rules for gradient descent, checked after every step; 0 turns a
    rule off. Noisy mini-batch gradients seldom meet them: that is part of the lesson."""

    model_config = ConfigDict(extra="forbid")
    grad_norm: float = Field(0.0, ge=0, le=1e6, allow_inf_nan=False, strict=True,
                             description="converged when the step's batch gradient ‖∇L(w_{k−1})‖ < this")
    step_norm: float = Field(0.0, ge=0, le=1e6, allow_inf_nan=False, strict=True,
                             description="converged when the update ‖w_k − w_{k−1}‖ < this")

    @property
    def active(self) -> bool:
        return self.grad_norm > 0 or self.step_norm > 0


class LandscapeSpec(BaseModel):
    """A 2-D slice of the loss around the final weights (Li et al., 2018), after training."""

    model_config = ConfigDict(extra="forbid")
    directions: Literal["random", "pca", "hessian"] = Field(
        "pca", description="random Gaussian, top-2 PCA of the trajectory, or top-2 Hessian eigenvectors"
    )
    filter_normalize: bool = Field(True, strict=True,
                                   description="random directions: rescale per filter (Li et al.)")
    resolution: Resolution = Field(41, ge=3, description="grid points along a")
    resolution_y: Annotated[
        int, Field(ge=3, strict=True), AtMost("network_max_landscape_resolution"), BeforeValidator(integral)
    ] | None = Field(
        None, description="grid points along b (null: resolution)")
    span: float = Field(
        1.0, gt=0, le=10, allow_inf_nan=False, strict=True,
        description="half-width of the grid: in filter-normalised units (random), or as a multiple "
        "of the trajectory's extent (pca, hessian)",
    )
    eval_samples: EvalSamples = Field(1000, ge=10,
                              description="training samples the grid is evaluated on (fixed, seeded)")

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return (self.resolution_y or self.resolution, self.resolution)


@dataclass(frozen=True)
class Plan:
    """Sizes derived from a request, before anything is computed."""

    shape: datasets.Shape
    n_train: int
    n_val: int
    n_test: int
    batch_size: int  # effective: min(batch_size, n_train)
    batches_per_epoch: int
    epochs: int
    total_steps: int  # if every epoch runs
    parameters: int
    schedule_per_batch: bool  # OneCycleLR / CyclicLR step per batch, the others per epoch
    checkpoint_every: int  # epochs between kept checkpoints

    @property
    def schedule_steps(self) -> int:
        """`total_steps` handed to the scheduler: batches (OneCycleLR, CyclicLR) or epochs."""
        return self.total_steps if self.schedule_per_batch else self.epochs


PER_BATCH_SCHEDULES = ("onecycle", "cyclic")


def _kind_required(schema: JsonDict) -> None:
    """`kind` is required in the schema although it has a default: a run body without it is a
    surface run (backend/api/schemas/runs.py)."""
    required = schema.setdefault("required", [])
    assert isinstance(required, list)
    required.insert(0, "kind")


class NetworkRun(BaseModel):
    """Train a small network with one torch optimizer; curves, boundary and landscape.

    Rules across fields (422 at `network`, naming the fields; the bounds are in GET /api/limits):
    the model fits the dataset (see `model`); the split leaves at least one training sample;
    `early_stopping` needs `split.val` > 0; parameters ≤ `max_parameters`; epochs × batches per
    epoch ≤ `max_steps`; epochs × n_train × parameters (× evaluations per step for `lbfgs`) ≤
    `max_work`; with a `landscape`, grid points × min(eval_samples, n_train) × parameters ≤
    `max_landscape_work`; torch accepts the optimizer and the schedule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_kind_required)
    kind: Literal["network"] = "network"
    dataset: DatasetSpec
    model: ModelSpec
    optimizer: OptimizerSpec
    schedule: ScheduleSpec = Field(default_factory=lambda: {"name": "constant"}, validate_default=True)
    batch_size: Annotated[Integer, AtMost("network_max_samples")] = Field(32, ge=1,
                            description="samples per step; ≥ the training split means full-batch GD")
    epochs: Annotated[Integer, AtMost("network_max_epochs")] = Field(30, ge=1)
    shuffle: bool = Field(True, strict=True,
                          description="a fresh seeded order of the training split every epoch")
    split: SplitSpec = Field(default_factory=SplitSpec)
    early_stopping: EarlyStoppingSpec | None = None
    stop: StopSpec | None = Field(None, description="stop when a step's gradient or update is small")
    landscape: LandscapeSpec | None = None
    seed: Integer = Field(0, ge=0, le=2**31 - 1)
    boundary_every: Annotated[
        int, Field(ge=1, strict=True), AtMost("network_max_epochs"), BeforeValidator(integral)
    ] | None = Field(
        None,
        description="epochs between decision-boundary snapshots of a 2-D dataset (null: about 50 per run)",
    )

    def hyperparameters(self) -> dict[str, Any]:
        """The optimizer's keyword arguments, exactly as torch receives them."""
        return self.optimizer.model_dump(exclude={"name"})

    def schedule_kwargs(self) -> dict[str, Any]:
        return self.schedule.model_dump(exclude={"name"})

    def plan(self) -> Plan:
        shape = self.dataset.shape()
        n_train, n_val, n_test = datasets.split_sizes(shape.n_samples, self.split.val, self.split.test)
        batch = max(1, min(self.batch_size, n_train))
        per_epoch = math.ceil(n_train / batch) if n_train > 0 else 0
        m = self.model
        parameters = models.count_parameters(m.name, m.hidden, m.activation, shape)
        return Plan(
            shape=shape, n_train=n_train, n_val=n_val, n_test=n_test, batch_size=batch,
            batches_per_epoch=per_epoch, epochs=self.epochs, total_steps=per_epoch * self.epochs,
            parameters=parameters,
            schedule_per_batch=self.schedule.name in PER_BATCH_SCHEDULES,
            checkpoint_every=math.ceil((self.epochs + 1) * parameters / MAX_CHECKPOINT_FLOATS),
        )

    @model_validator(mode="after")
    def feasible(self) -> "NetworkRun":
        shape = self.dataset.shape()
        models.check(self.model.name, self.model.hidden, self.dataset.name, shape)
        plan = self.plan()
        if plan.n_train < 1:
            raise ValueError(f"split: val = {self.split.val} and test = {self.split.test} of "
                             f"{shape.n_samples} samples leave no training samples")
        if self.early_stopping is not None and plan.n_val < 1:
            raise ValueError("early_stopping needs a validation split: split.val must be > 0 "
                             f"(it leaves {plan.n_val} of {shape.n_samples} samples)")
        at_most("parameters of the model", plan.parameters, "network_max_parameters",
                "use smaller hidden layers")
        at_most("epochs × batches per epoch (optimizer steps)", plan.total_steps, "network_max_steps",
                "use fewer epochs or a larger batch_size")
        evaluations = _evaluations_per_step(self)
        at_most("epochs × n_train × parameters" + (" × evaluations per step" if evaluations > 1 else ""),
                self.epochs * plan.n_train * plan.parameters * evaluations, "network_max_work",
                "use fewer epochs, samples or parameters")
        if self.landscape is not None:
            ny, nx = self.landscape.shape
            samples = min(self.landscape.eval_samples, plan.n_train)
            at_most("landscape grid points × eval_samples × parameters",
                    nx * ny * samples * plan.parameters, "network_max_landscape_work",
                    "use a coarser grid, fewer eval_samples or a smaller model")
        check_torch_accepts(self.optimizer, self.schedule, max(1, plan.schedule_steps))
        return self



def _evaluations_per_step(run: NetworkRun) -> int:
    """Loss evaluations one optimizer step may make: LBFGS runs up to max_eval per step()."""
    if run.optimizer.name != "lbfgs":
        return 1
    kwargs = run.hyperparameters()
    return int(kwargs.get("max_eval") or math.ceil(kwargs["max_iter"] * 1.25))
