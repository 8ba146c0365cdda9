"""HTTP models of the catalogues: surfaces, grids, optimizers, limits, health."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.optim.hyperparameters import Hyperparameter


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


class PaperOut(BaseModel):
    """Where a method was introduced."""

    cite: str = Field(description="authors, year. title")
    url: str


class OptimizerInfoOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    name: str
    class_: str = Field(alias="class", serialization_alias="class")
    hyperparameters: list[Hyperparameter]
    update_rule: str
    description: str
    batched: bool | None = Field(
        None, description="with its default keywords, B starts are the rows of one optimizer "
        "(an element-wise update); false: each start runs on its own"
    )
    effective_lr: str | None = Field(
        None, description="what the recorded effective_lr multiplies: gradient | first_moment | sign"
    )
    family: Literal["torch.optim", "community"] | None = Field(
        None, description="torch.optim's own class, or the community's (pytorch_optimizer)"
    )
    paper: PaperOut | None = None


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
    runs_per_client: int = Field(description="runs one client (identity) may have queued or running")
    runs_per_address: int = Field(description="runs queued or running from one address, its clients together")
    computations_per_client: int = Field(description="unstored computations one client runs at once")
    computations_per_address: int = Field(description="unstored computations in flight from one address")
    network: "NetworkLimits"
    rooms: "RoomLimits"


class NetworkLimits(BaseModel):
    """The bounds of a network run (fixed; see backend/networks/spec.py)."""

    max_epochs: int
    max_steps: int = Field(description="epochs × batches per epoch")
    max_parameters: int
    max_work: int = Field(description="epochs × n_train × parameters")
    max_samples: int
    max_csv_bytes: int
    csv_quota_bytes: int = Field(description="bytes of CSV datasets one client may have stored "
                                 "(POST /api/datasets/csv)")
    max_landscape_resolution: int
    max_landscape_work: int = Field(description="grid points × eval_samples × parameters")
    max_eval_samples: int


class RoomLimits(BaseModel):
    """The bounds of live classroom rooms (docs/api.md, "Rooms")."""

    per_client: int = Field(description="rooms one client (identity) may have open at once")
    per_address: int = Field(description="rooms open at once from one address, its clients together")
    per_server: int = Field(description="rooms open on the server at once")
    students: int = Field(description="students connected to one room at once")
    idle_seconds: float = Field(description="how long a room lives without its teacher connected")
    max_scene_bytes: int = Field(description="bytes of one message sent on a room's socket")
    max_poll_options: int = Field(description="options of one poll")
    max_text: int = Field(description="characters of a poll's question or of one option")
    messages_per_second: float = Field(description="messages a student's socket may send a second")


class Health(BaseModel):
    status: Literal["ok"]
    device: str
    executor: str
    workers: int
    streams: int = Field(0, description="websocket stream handlers open in this process (one per "
                         "watching client; a handler ends when its client leaves)")
