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
from backend.api.errors import NOT_FOUND, TOO_LARGE, TOO_MANY, not_found, unprocessable
from backend.api.json import JSON, StrictJSONRoute
from backend.api.schemas.runs import RunList, RunRequest, Steps, Trajectory
from backend.runs.executor import queued_run
from backend.runs.model import Run
from backend.runs.store import Frame
from backend.settings import current_settings
from backend.surfaces.spec import SurfaceRun

router = APIRouter(prefix="/api", route_class=StrictJSONRoute, tags=["runs"],
                   responses=NOT_FOUND | TOO_MANY | TOO_LARGE)
WAIT_SECONDS = 60.0  # longest ?wait=true answer


@router.post("/runs", status_code=201, response_model=Run)
async def create_run(
    request: Annotated[RunRequest, Body()],
    http: Request,
    store: StoreDep,
    executor: ExecutorDep,
    admission: AdmissionDep,
) -> Run:
    """Queue a run; watch it on `WS /api/runs/{id}/stream` or read `/steps`.

    429 (with Retry-After) when this client already has too many runs queued or
    running, or the server's queue is full.
    """
    client = client_of(http)
    admission.admit_run(client, executor)
    run = queued_run(request)
    await asyncio.to_thread(store.create, run)
    admission.track_run(client, run.id)
    await executor.submit(run)
    return run


@router.post("/trajectories", response_model=Trajectory)
async def compute_trajectory(
    request: Annotated[RunRequest, Body()],
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
        with admission.computing(client_of(http)):
            status, summary, steps = await executor.compute(request, gone.is_set)
    finally:
        watcher.cancel()
    return JSON({"status": status.value, "summary": summary.model_dump(mode="json"),
                 "steps": steps})


@router.get("/runs", response_model=RunList)
async def list_runs(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> RunList:
    return RunList(runs=await asyncio.to_thread(store.recent, limit))


async def _run_or_404(store: StoreDep, run_id: str) -> Run:
    run = await asyncio.to_thread(store.get, run_id)
    if run is None:
        raise not_found(f"no run '{run_id}'")
    return run


@router.get("/runs/{run_id}", response_model=Run)
async def get_run(run_id: str, store: StoreDep) -> Run:
    return await _run_or_404(store, run_id)


@router.delete("/runs/{run_id}", response_model=Run)
async def cancel_run(run_id: str, store: StoreDep, executor: ExecutorDep) -> Run:
    """Cancel a queued or running run; an ended run is returned unchanged."""
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


@router.get(
    "/runs/{run_id}/steps",
    response_model=Steps,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def get_steps(
    run_id: str,
    store: StoreDep,
    executor: ExecutorDep,
    format: Annotated[Literal["json", "csv", "ndjson"], Query()] = "json",
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
        body = b"".join(orjson.dumps(step) + b"\n" for step in steps)
        return Response(body, media_type="application/x-ndjson")
    return JSON({"steps": steps})
