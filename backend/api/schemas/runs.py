"""HTTP models of runs: the request union, lists, step records, unstored trajectories."""

from typing import Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Field, GetJsonSchemaHandler, Tag
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from backend.networks.spec import NetworkRun
from backend.runs.model import Run, Status, SurfaceSummary
from backend.surfaces.spec import SurfaceRun

RUN_ID_PATTERN = "^[0-9a-f]{16}$"  # the ids `POST /api/runs` hands out; any other is unknown


def _run_kind(value: Any) -> str:
    """A body without "kind" is a surface run."""
    if isinstance(value, dict):
        return str(value.get("kind", "surface"))
    return str(getattr(value, "kind", "surface"))


class _KindMapping:
    """The union's OpenAPI discriminator, which pydantic leaves out when the discriminator is a
    function (`_run_kind`: a body without `kind` is a surface run)."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        refs = [choice["$ref"] for choice in json_schema["oneOf"]]
        mapping = dict(zip(KINDS, refs, strict=True))
        json_schema["discriminator"] = {"propertyName": "kind", "mapping": mapping}
        json_schema["description"] = (
            "A surface run or a network run, told apart by `kind`; a body without `kind` is a surface run."
        )
        return json_schema


class _SurfaceOnly:
    """Document only the surface run of the union: `POST /api/trajectories` answers any other
    kind with a 422 at `kind`."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        surface: JsonSchemaValue = handler(schema)["oneOf"][KINDS.index("surface")]
        return surface


KINDS = ("surface", "network")  # in the order of the union
RunRequest = Annotated[
    Union[Annotated[SurfaceRun, Tag("surface")], Annotated[NetworkRun, Tag("network")]],  # noqa: UP007
    Discriminator(_run_kind),
    _KindMapping(),
]
SurfaceRunRequest = Annotated[RunRequest, _SurfaceOnly()]  # validated as RunRequest, documented as this


class CreatedRun(Run):
    """A run just queued, with its key: the only time the key is shown."""

    key: str = Field(description="send it as X-Run-Key to cancel or change this run; keep it secret")


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
