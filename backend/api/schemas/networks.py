"""HTTP models of the networks lab: catalogues, dataset previews, landscapes, comparisons
(the run request itself is `backend.networks.spec.NetworkRun`).

Non-finite numbers travel as null (`float | None`); grids are indexed `z[iy][ix]`.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.api.schemas.runs import RUN_ID_PATTERN
from backend.bounds import AtMost, MaxItems, MaxLength
from backend.jsontypes import Integer
from backend.networks import datasets
from backend.networks.spec import DatasetSpec, EvalSamples, SplitSpec
from backend.runs.model import Status

CSV_ID_PATTERN = "^[0-9a-f]{64}$"
Floats = list[float | None]
Grid = list[list[float | None]]
RunId = Annotated[str, Field(json_schema_extra={"pattern": RUN_ID_PATTERN}, examples=["ec1c20912dd24f73"])]


class Interpolation(BaseModel):
    """L((1 − α)·w₀ + α·w₁) along α; α = 0 and α = 1 are the two weight vectors."""

    alpha: Floats
    loss: Floats
    accuracy: Floats | None


class Landscape(BaseModel):
    """A 2-D slice L(w* + a·u + b·v) around the final weights w*, and the run's path in it."""

    directions: Literal["random", "pca", "hessian"]
    filter_normalize: bool
    a: Floats
    b: Floats
    loss: Grid = Field(description="loss[ib][ia] at (a[ia], b[ib]); (0, 0) is the final weights")
    accuracy: Grid | None
    trajectory: list[tuple[float | None, float | None]] = Field(
        description="each checkpoint projected onto the plane (least squares, no centring)"
    )
    checkpoint_epochs: list[int]
    residual: Floats = Field(description="per checkpoint ‖d − a·u − b·v‖ / ‖d‖: how far it is off the plane")
    true_loss: Floats = Field(description="per checkpoint, the loss of the checkpoint itself")
    slice_loss: Floats = Field(description="per checkpoint, the slice's loss at its projection")
    final_loss: float | None
    explained_variance: Floats | None = Field(description="pca: variance fraction of each direction")
    eigenvalues: Floats | None = Field(description="hessian: the two eigenvalues")
    eval_samples: int = Field(description="training samples the grid is evaluated on")
    interpolation: Interpolation = Field(description="from the initial (α = 0) to the final (α = 1) weights")
    preview_s: float
    elapsed_s: float


class DatasetInfoOut(BaseModel):
    id: str
    name: str
    description: str
    task: Literal["classification", "regression", "either"]
    n_features: int | None = Field(description="null: the CSV's")
    n_classes: int | None
    default_samples: int | None = Field(description="null: all rows (csv) or the whole set (digits)")
    default_noise: float | None
    max_samples: int


class ModelInfoOut(BaseModel):
    id: str
    name: str
    description: str
    task: Literal["classification", "regression", "either"]
    default_hidden: list[int]
    datasets: list[str] | None = Field(description="the datasets it fits (null: any)")
    activations: list[str]
    max_layers: int
    max_width: int


class PreviewRequest(BaseModel):
    """The data a network run would train on, split as it would be."""

    model_config = ConfigDict(extra="forbid")
    dataset: DatasetSpec
    split: SplitSpec = Field(default_factory=SplitSpec)
    seed: Integer = Field(0, ge=0, le=2**31 - 1)


class CsvUpload(BaseModel):
    """A CSV to store by content, so that a link or a room can name it (`dataset.csv`'s rules)."""

    model_config = ConfigDict(extra="forbid")
    csv: Annotated[str, MaxLength("network_max_csv_bytes")] = Field(
        description="the CSV text: numeric columns, the last one the target (as `dataset.csv` of a run)")

    @field_validator("csv")
    @classmethod
    def parses(cls, text: str) -> str:
        datasets.parse_csv(text)
        return text


class StoredCsv(BaseModel):
    """A stored CSV dataset: its id names it in `GET /api/datasets/csv/{id}`, links and rooms."""

    id: str = Field(pattern=CSV_ID_PATTERN, description="SHA-256 of the CSV text's UTF-8, lowercase hex")
    bytes: int = Field(description="bytes of the CSV text (UTF-8)")
    rows: int = Field(description="data rows (a header row not counted)")
    columns: int = Field(description="columns: the features, then the target")


class PreviewPoints(BaseModel):
    """The samples of a 2-D dataset as the model sees them."""

    x0: Floats
    x1: Floats
    label: list[float]
    split: list[Literal["train", "val", "test"]]


class DigitImage(BaseModel):
    pixels: list[float] = Field(description="64 values in [0, 1], row-major 8×8")
    label: int


class DatasetPreview(BaseModel):
    task: Literal["classification", "regression"]
    n_samples: int
    n_features: int
    n_classes: int | None
    class_names: list[str] | None
    feature_names: list[str]
    n_train: int
    n_val: int
    n_test: int
    points: PreviewPoints | None = Field(description="2-D datasets only")
    images: list[DigitImage] | None = Field(description="digits only: the first few samples")


class CompareRequest(BaseModel):
    """Several network runs from one start drawn on one plane (PCA of all their checkpoints).

    Every run must exist, be a network run that ended finished, early_stopped or converged, and
    share the first run's dataset, model, split and seed (the optimizer, schedule, batch size and
    epochs may differ); otherwise 422 at `runs.<i>`. (grid points + runs × 101) ×
    min(eval_samples, n_train) × parameters ≤ the landscape work bound (422 at `resolution`)."""

    model_config = ConfigDict(extra="forbid")
    runs: Annotated[list[RunId], MaxItems("network_max_compare_runs")] = Field(
        min_length=2, description="run ids, each once", json_schema_extra={"uniqueItems": True}
    )
    resolution: Annotated[Integer, AtMost("network_max_compare_resolution")] = Field(
        31, ge=3, description="grid points per axis"
    )
    span: float = Field(1.0, gt=0, le=10, allow_inf_nan=False, strict=True,
                        description="half-width as a multiple of the paths' extent")
    eval_samples: EvalSamples = Field(500, ge=10)


class ComparedRun(BaseModel):
    id: str
    status: Status
    epochs: list[int]
    trajectory: list[tuple[float | None, float | None]] = Field(description="the start is (0, 0)")
    residual: Floats
    true_loss: Floats


class Comparison(BaseModel):
    """L(w₀ + a·u + b·v) around the shared start w₀ = (0, 0), every run's path on it."""

    a: Floats
    b: Floats
    loss: Grid
    accuracy: Grid | None
    explained_variance: Floats
    eval_samples: int
    runs: list[ComparedRun]


class InterpolationRequest(BaseModel):
    """The loss on the straight line between two runs' final weights (same dataset and model).

    Both runs must exist, be network runs that ended finished, early_stopped or converged, and
    share the dataset, model, split and seed (422 at `from` or `to`). points × min(eval_samples,
    n_train) × parameters ≤ the landscape work bound (422 at `points`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: RunId = Field(alias="from", description="run id (α = 0)")
    to: RunId = Field(description="run id (α = 1)")
    points: Annotated[Integer, AtMost("network_max_interpolation_points")] = Field(41, ge=3)
    eval_samples: EvalSamples = Field(1000, ge=10)
