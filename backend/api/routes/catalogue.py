"""Catalogues: surfaces (with grids), optimizers, schedules, and the service's health."""

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

import torch
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from backend.api.deps import ExecutorDep, SettingsDep
from backend.api.errors import NOT_FOUND, not_found, unprocessable
from backend.api.i18n import (
    KEYWORDS,
    OPTIMIZER_DESCRIPTIONS,
    SCHEDULE_DESCRIPTIONS,
    SURFACE_DESCRIPTIONS,
    SURFACE_NAMES,
    UPDATE_RULES,
    Lang,
    LangDep,
    text,
)
from backend.api.json import JSON, StrictJSONRoute
from backend.api.routes import answer
from backend.api.schemas import examples
from backend.api.schemas.catalogue import (
    Grid,
    Health,
    Limits,
    NetworkLimits,
    OptimizerInfoOut,
    PointValue,
    RoomLimits,
    SurfaceInfo,
)
from backend.bounds import AtMost, Magnitude, MaxLength
from backend.optim import optimizers, schedules
from backend.surfaces.catalogue import SURFACES, evaluate_grid
from backend.surfaces.expressions import FORMULA_PATTERN, ExpressionError, grammar, parse_expression

router = APIRouter(prefix="/api", route_class=StrictJSONRoute)
GridSize = Annotated[int, Query(ge=3, description="points per axis"), AtMost("max_grid")]
Coordinate = Annotated[float, Query(allow_inf_nan=False), Magnitude("max_coordinate")]
Bound = Annotated[float | None, Query(allow_inf_nan=False), Magnitude("max_coordinate")]


class WorkerInfo(BaseModel):
    """A worker process, from its heartbeat (the local executor: the API process itself)."""

    name: str
    host: str | None = None
    pid: int | None = None
    device: str = Field(description="where it computes: cpu, cuda:0, ...")
    concurrency: int = Field(description="runs it computes at once")
    running: int | None = Field(None, description="runs it is computing now (its load)")
    runs: list[str] = Field(default_factory=list, description="ids of those runs")
    seen_at: float | None = Field(None, description="its last heartbeat (Unix time)")
    store: str | None = Field(None, description="the identity of the run store it writes to (the "
                              "API's, or it refuses to work)")


class HealthOut(Health):
    worker_list: list[WorkerInfo] = Field(
        default_factory=list, description="the live workers, with device and load"
    )


@router.get("/health", operation_id="service-health", tags=["service"], summary="Is the server up",
            responses={200: answer("the server, its device and its workers", examples.HEALTH)})
async def health(executor: ExecutorDep, request: Request) -> HealthOut:
    workers = [WorkerInfo.model_validate(w) for w in await executor.worker_list()]
    return HealthOut(status="ok", device=executor.device, executor=executor.kind,
                     workers=executor.workers, streams=request.app.state.streams.count,
                     worker_list=workers)


@router.get("/surfaces", operation_id="surfaces-list", tags=["surfaces"], summary="The analytic surfaces",
            responses={200: answer("every catalogue surface (the example shows the first)",
                                   examples.SURFACES)})
async def list_surfaces(lang: LangDep) -> list[SurfaceInfo]:
    return [
        SurfaceInfo(
            id=s.id,
            name=text(lang, SURFACE_NAMES, s.id, s.name),
            formula=s.formula,
            domain={"x": s.domain[0], "y": s.domain[1]},
            minima=[PointValue(x=m.x, y=m.y, value=m.value) for m in s.minima],
            saddles=[PointValue(x=m.x, y=m.y, value=m.value) for m in s.saddles],
            start=s.start,
            tags=list(s.tags),
            description=text(lang, SURFACE_DESCRIPTIONS, s.id, s.description),
            n_samples=len(s.samples.targets) if s.samples is not None else None,
        )
        for s in SURFACES.values()
    ]


def _grid(
    fn: Callable[[torch.Tensor], torch.Tensor], n: int, x: tuple[float, float], y: tuple[float, float]
) -> JSON:
    for name, (lo, hi) in (("x", x), ("y", y)):
        if not lo < hi:
            raise unprocessable(
                ["query", f"{name}_max"], f"{name}_min must be below {name}_max, got [{lo}, {hi}]"
            )
    xs = torch.linspace(x[0], x[1], n, dtype=torch.float64)
    ys = torch.linspace(y[0], y[1], n, dtype=torch.float64)
    with torch.no_grad():
        z = evaluate_grid(fn, xs, ys)
    return JSON({"x": xs.tolist(), "y": ys.tolist(), "z": z.tolist()})


@router.get("/surfaces/custom/grid", response_model=Grid, operation_id="surfaces-custom-grid",
            tags=["surfaces"], summary="A typed formula on a grid",
            responses={200: answer("z[i][j] = f(x[j], y[i]); non-finite values are null",
                                   examples.CUSTOM_GRID)})
async def custom_grid(
    expression: Annotated[str, Query(description=grammar(), examples=["x^2 + y^2"], json_schema_extra={
        "minLength": 1, "pattern": FORMULA_PATTERN}), MaxLength("max_expression_length")],
    x_min: Coordinate,
    x_max: Annotated[Coordinate, Query(description="above x_min")],
    y_min: Coordinate,
    y_max: Annotated[Coordinate, Query(description="above y_min")],
    n: GridSize = 101,
) -> JSON:
    """The grid of a typed formula (parsed by a whitelist, never evaluated as Python). 422 when
    the formula does not parse (at `expression`) or a window's min is not below its max (at
    `x_max` or `y_max`)."""
    try:
        parsed = parse_expression(expression)
    except ExpressionError as error:
        raise unprocessable(["query", "expression"], f"expression: {error}") from None
    return await asyncio.to_thread(_grid, parsed.fn, n, (x_min, x_max), (y_min, y_max))


@router.get("/surfaces/{surface_id}/grid", response_model=Grid, operation_id="surfaces-grid",
            tags=["surfaces"], summary="A catalogue surface on a grid",
            responses={200: answer("z[i][j] = f(x[j], y[i]); non-finite values are null", examples.GRID),
                       **NOT_FOUND})
async def surface_grid(
    surface_id: Annotated[str, Path(description="a catalogue surface (404 for any other)", examples=[
        "rosenbrock"], json_schema_extra={"enum": list(SURFACES)})],
    n: GridSize = 101,
    x_min: Bound = None,
    x_max: Bound = None,
    y_min: Bound = None,
    y_max: Bound = None,
) -> JSON:
    """z[i][j] = f(x[j], y[i]) over the domain (or the given window); non-finite → null. Each
    bound may be given alone; 422 when a window's min is not below its max (at `x_max` or
    `y_max`), with the domain's bound standing in for one not given."""
    surface = SURFACES.get(surface_id)
    if surface is None:
        raise not_found(f"unknown surface '{surface_id}'; known: {', '.join(SURFACES)}")
    (x0, x1), (y0, y1) = surface.domain
    x = (x0 if x_min is None else x_min, x1 if x_max is None else x_max)
    y = (y0 if y_min is None else y_min, y1 if y_max is None else y_max)
    return await asyncio.to_thread(_grid, surface.fn, n, x, y)


def _catalogue_entry(info: Any, lang: Lang, descriptions: dict[str, str], **extra: Any) -> OptimizerInfoOut:
    """An optimizer or schedule registry entry as the API shows it, its texts in `lang`."""
    ru = descriptions.get(info.id) or getattr(info, "description_ru", None)
    return OptimizerInfoOut.model_validate(
        {
            "id": info.id,
            "name": info.name,
            "class": info.class_path,
            "hyperparameters": [replace(h, description=text(lang, KEYWORDS, h.description, h.description))
                                for h in info.hyperparameters],
            "update_rule": text(lang, UPDATE_RULES, info.id, info.update_rule),
            "description": ru if lang == "ru" and ru else info.description,
            **extra,
        }
    )


@router.get("/optimizers", response_model=list[OptimizerInfoOut], response_model_by_alias=True,
            operation_id="optimizers-list", tags=["optimizers"], summary="The optimizers on offer",
            responses={200: answer("every optimizer with every keyword (the example shows sgd)",
                                   examples.OPTIMIZERS)})
async def list_optimizers(lang: LangDep) -> list[OptimizerInfoOut]:
    return [
        _catalogue_entry(
            o, lang, OPTIMIZER_DESCRIPTIONS,
            batched=o.batches([{}]), effective_lr=optimizers.EFFECTIVE_LR_MEANING.get(o.id),
            family=o.family, paper=vars(o.paper) if o.paper else None,
        )
        for o in optimizers.OPTIMIZERS.values()
    ]


@router.get("/schedules", response_model=list[OptimizerInfoOut], response_model_by_alias=True,
            operation_id="schedules-list", tags=["schedules"], summary="The learning-rate schedules",
            responses={200: answer("every schedule with every keyword (the example shows step)",
                                   examples.SCHEDULES)})
async def list_schedules(lang: LangDep) -> list[OptimizerInfoOut]:
    return [_catalogue_entry(s, lang, SCHEDULE_DESCRIPTIONS) for s in schedules.SCHEDULES.values()]


@router.get("/limits", operation_id="service-limits", tags=["service"], summary="The limits of requests",
            responses={200: answer("the bounds this server enforces (the example: the defaults)",
                                   examples.LIMITS)})
async def limits(settings: SettingsDep) -> Limits:
    """The request limits this server enforces."""
    return Limits(
        max_steps=settings.max_steps,
        max_starts=settings.max_starts,
        max_recorded=settings.max_recorded,
        max_work=settings.max_work,
        max_instant_work=settings.max_instant_work,
        max_unbatched_starts=settings.max_unbatched_starts,
        max_grid=settings.max_grid,
        max_coordinate=settings.max_coordinate,
        max_expression_length=settings.max_expression_length,
        max_body_bytes=settings.max_body_bytes,
        runs_per_client=settings.runs_per_client,
        runs_per_address=settings.runs_per_address,
        computations_per_client=settings.computations_per_client,
        computations_per_address=settings.computations_per_address,
        network=NetworkLimits(
            max_epochs=settings.network_max_epochs, max_steps=settings.network_max_steps,
            max_parameters=settings.network_max_parameters, max_work=settings.network_max_work,
            max_samples=settings.network_max_samples, max_csv_bytes=settings.network_max_csv_bytes,
            csv_quota_bytes=settings.client_dataset_quota_bytes,
            max_landscape_resolution=settings.network_max_landscape_resolution,
            max_landscape_work=settings.network_max_landscape_work,
            max_eval_samples=settings.network_max_eval_samples,
        ),
        rooms=RoomLimits(
            per_client=settings.rooms_per_client, per_address=settings.rooms_per_address,
            per_server=settings.rooms_per_server,
            students=settings.room_students, idle_seconds=settings.room_idle_seconds,
            max_scene_bytes=settings.room_max_scene_bytes, max_poll_options=settings.room_max_poll_options,
            max_text=settings.room_max_text, messages_per_second=settings.room_messages_per_second,
        ),
    )
