"""Runs: create, list, read, read steps (JSON / CSV / NDJSON), cancel; unstored trajectories."""

import asyncio
import csv
import io
import math
import threading
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, Response

from backend.api.admission import client_of
from backend.api.deps import AdmissionDep, ExecutorDep, StoreDep
from backend.api.errors import FORBIDDEN, NOT_FOUND, TOO_LARGE, not_found, unprocessable
from backend.api.json import JSON, StrictJSONRoute
from backend.api.ownership import Moderator, RunKey, client_identity, new_key
from backend.api.routes import BUSY, RunId, answer
from backend.api.schemas import examples
from backend.api.schemas.runs import CreatedRun, RunList, RunRequest, Steps, SurfaceRunRequest, Trajectory
from backend.runs.executor import queued_run
from backend.runs.model import Run
from backend.runs.store import Frame
from backend.settings import current_settings
from backend.surfaces.spec import SurfaceRun

router = APIRouter(prefix="/api", route_class=StrictJSONRoute)
WAIT_SECONDS = 60.0  # longest ?wait=true answer

# Every operation that takes a run's id, reachable from the run `POST /api/runs` answers with
# (OpenAPI links: what clients and stateful fuzzers follow); those that change the run get its key.
RUN_LINKS = {
    operation: {"operationId": operation, "description": description, "parameters": {
        "run_id": "$response.body#/id", **({"header.x-run-key": "$response.body#/key"} if changes else {})}}
    for operation, changes, description in [
        ("runs-get", False, "the run: its status, and once it ended its summary"),
        ("runs-steps", False, "its recorded steps (JSON, CSV or NDJSON)"),
        ("runs-cancel", True, "cancel it"),
        ("landscapes-get", False, "a network run's loss landscape, once it ended"),
        ("landscapes-survey", True, "survey a network run's landscape again, once it ended"),
        ("landscapes-export", False, "a network run's landscape as a torch.save file"),
    ]
}
RUN_REQUEST_EXAMPLES = {
    "surface": {"summary": "Adam on Rosenbrock, 2 steps", "value": examples.SURFACE_RUN},
    "network": {"summary": "an MLP on two moons, 3 epochs, with a landscape", "value": examples.NETWORK_RUN},
}


@router.post(
    "/runs", status_code=201, response_model=CreatedRun, operation_id="runs-create", tags=["runs"],
    summary="Queue a run",
    responses={
        201: answer("the run, queued", examples.CREATED_RUN, links=RUN_LINKS),
        **TOO_LARGE, **BUSY,
    },
)
async def create_run(
    request: Annotated[RunRequest, Body(openapi_examples=RUN_REQUEST_EXAMPLES)],
    http: Request,
    store: StoreDep,
    executor: ExecutorDep,
    admission: AdmissionDep,
) -> CreatedRun:
    """Queue a run; watch it on `WS /api/runs/{id}/stream` or read `/steps`. The answer holds
    the run's `key`, shown only here: cancelling the run or changing it later needs it
    (`X-Run-Key`). The run is listed for this client (`X-Client-Id`, or the page's cookie).

    429 (with Retry-After) when this client already has too many runs queued or
    running, or the server's queue is full.
    """
    run = queued_run(request)
    key, hashed = new_key()
    async with admission.run_slot(client_of(http), run.id):
        await asyncio.to_thread(store.create, run, client_identity(http), hashed)
        await executor.submit(run)
    return CreatedRun(**dict(run), key=key)


@router.post(
    "/trajectories", response_model=Trajectory, operation_id="trajectories-compute",
    tags=["trajectories"], summary="Compute a surface run at once, unstored",
    responses={200: answer("its status, summary and every step", examples.TRAJECTORY),
               **TOO_LARGE, **BUSY},
)
async def compute_trajectory(
    request: Annotated[SurfaceRunRequest, Body(openapi_examples={
        "ravine": {"summary": "SGD with momentum on the ravine, 2 steps",
                   "value": {"surface": "ravine", "optimizer": {"name": "sgd", "lr": 0.03, "momentum": 0.9},
                             "steps": 2}},
    })],
    http: Request,
    executor: ExecutorDep,
    admission: AdmissionDep,
) -> JSON:
    """Compute a surface run and answer with its steps at once, storing nothing.

    Meant for recomputing while a slider moves; same request body as `POST /api/runs`.
    """
    if not isinstance(request, SurfaceRun):
        raise unprocessable(["body", "kind"], f"an instant answer is only for surface runs; queue a "
                            f"{request.kind} run with POST /api/runs and watch its stream")
    work = len(request.start_points()) * request.steps
    most = current_settings().max_instant_work
    if work > most:
        raise unprocessable(
            ["body", "starts"],
            f"starts × steps = {work} exceeds {most} for an instant answer; "
            "use POST /api/runs, which computes in the background",
        )
    gone = threading.Event()  # the client hung up: stop computing for nobody

    async def watch() -> None:
        while not await http.is_disconnected():
            await asyncio.sleep(0.1)
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        async with admission.computing(client_of(http)):
            status, summary, steps = await executor.compute(request, gone.is_set)
    finally:
        watcher.cancel()
    return JSON({"status": status.value, "summary": summary.model_dump(mode="json"),
                 "steps": steps})


@router.get(
    "/runs", response_model=RunList, operation_id="runs-list", tags=["runs"], summary="Recent runs",
    responses={200: answer("the most recent runs, newest first", examples.RUN_LIST)},
)
async def list_runs(
    http: Request, store: StoreDep, moderator: Moderator,
    limit: Annotated[int, Query(ge=1, le=500, description="runs to list")] = 50,
) -> RunList:
    """The caller's runs (made with its `X-Client-Id`, or the page's cookie), newest first;
    the moderator's token lists everyone's."""
    if moderator:
        return RunList(runs=await asyncio.to_thread(store.recent, limit))
    client = client_identity(http)
    if client is None:
        return RunList(runs=[])
    return RunList(runs=await asyncio.to_thread(store.recent, limit, client))


async def _run_or_404(store: StoreDep, run_id: str) -> Run:
    run = await asyncio.to_thread(store.get, run_id)
    if run is None:
        raise not_found(f"no run '{run_id}'")
    return run


@router.get(
    "/runs/{run_id}", response_model=Run, operation_id="runs-get", tags=["runs"], summary="A run",
    responses={200: answer("the run", examples.FINISHED_RUN), **NOT_FOUND},
)
async def get_run(run_id: RunId, store: StoreDep) -> Run:
    return await _run_or_404(store, run_id)


@router.delete(
    "/runs/{run_id}", response_model=Run, operation_id="runs-cancel", tags=["runs"],
    summary="Cancel a run",
    responses={200: answer("the run: `cancelled`, or as it was when it had ended already; the run "
                           "stays readable", examples.FINISHED_RUN), **NOT_FOUND, **FORBIDDEN},
)
async def cancel_run(run_id: RunId, store: StoreDep, executor: ExecutorDep, _key: RunKey) -> Run:
    """Cancel a queued or running run; an ended run is returned unchanged. Needs the run's key
    (`X-Run-Key`) or the moderator's token: 403 otherwise."""
    run = await _run_or_404(store, run_id)
    if not run.status.ended and await executor.cancel(run_id):
        run_log = executor.live_log(run_id)
        if run_log is not None:
            for _ in range(200):
                if run_log.ended:
                    break
                await asyncio.sleep(0.01)
        run = await _run_or_404(store, run_id)
    return run


async def _steps(store: StoreDep, executor: ExecutorDep, run: Run, wait: bool) -> list[Frame]:
    """The run's frames: from the live log while it is in memory, else from the store."""
    run_log = executor.live_log(run.id)
    if wait and run_log is not None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while not run_log.ended and loop.time() < deadline:
            epoch, frames, _, _ = run_log.read(0, 0)
            try:
                await asyncio.wait_for(run_log.wait(epoch, len(frames)), deadline - loop.time())
            except TimeoutError:
                break
    if run_log is not None:
        return run_log.frames
    return await asyncio.to_thread(store.frames, run.id)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Nested lists/dicts → columns: params → params_0, params_1; state.exp_avg → ..."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, out)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _flatten(f"{prefix}_{i}", inner, out)
    else:
        out[prefix] = value


def _csv_rows(steps: list[dict[str, Any]], batched: bool) -> Iterator[dict[str, Any]]:
    """One row per step, or per (step, start) for a batched run."""
    for step in steps:
        if not batched:
            row: dict[str, Any] = {}
            _flatten("", step, row)
            yield row
            continue
        for b in range(len(step["loss"])):
            row = {"step": step["step"], "start": b}
            for key, value in step.items():
                if key == "step":
                    continue
                if key == "state":
                    for name, per_start in value.items():
                        _flatten(f"state.{name}", per_start[b], row)
                elif isinstance(value, list):
                    _flatten(key, value[b], row)
                else:
                    _flatten(key, value, row)
            yield row


def _csv(steps: list[dict[str, Any]], batched: bool) -> str:
    rows = list(_csv_rows(steps, batched))
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: ("" if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in row.items()}
        )
    return buffer.getvalue()


def _ndjson(steps: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(step) + b"\n" for step in steps)


STEPS_CSV = _csv(examples.SURFACE_STEPS["steps"], batched=False)  # the same steps as the JSON example
STEPS_NDJSON = _ndjson(examples.SURFACE_STEPS["steps"]).decode()


@router.get(
    "/runs/{run_id}/steps", response_model=Steps, operation_id="runs-steps", tags=["runs"],
    summary="A run's recorded steps",
    responses={
        200: {
            "description": "every recorded step in order: JSON (`format=json`), CSV with a header "
            "row (`format=csv`, an attachment `<run_id>.csv`) or one JSON step a line (`format=ndjson`)",
            "content": {
                "application/json": {"examples": {
                    "surface": {"summary": "a surface run", "value": examples.SURFACE_STEPS},
                    "network": {"summary": "a network run", "value": examples.NETWORK_STEPS},
                }},
                "text/csv": {"schema": {"type": "string"}, "example": STEPS_CSV},
                "application/x-ndjson": {"schema": {"type": "string"}, "example": STEPS_NDJSON},
            },
        },
        **NOT_FOUND,
    },
)
async def get_steps(
    run_id: RunId,
    store: StoreDep,
    executor: ExecutorDep,
    format: Annotated[Literal["json", "csv", "ndjson"], Query(description="the answer's format")] = "json",
    wait: Annotated[bool, Query(description="answer once the run has ended (≤ 60 s)")] = False,
) -> Response:
    """Every recorded step, in order. Non-finite numbers are null (empty cells in CSV)."""
    run = await _run_or_404(store, run_id)
    frames = await _steps(store, executor, run, wait)
    steps = [step for kind, records in frames if kind == "steps" for step in records]
    if format == "csv":
        batched = isinstance(run.config, SurfaceRun) and run.config.batched
        text = await asyncio.to_thread(_csv, steps, batched)
        return Response(text, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{run_id}.csv"'})
    if format == "ndjson":
        return Response(_ndjson(steps), media_type="application/x-ndjson")
    return JSON({"steps": steps})

