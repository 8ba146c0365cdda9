"""Runs: create, list, read, read steps (JSON / NDJSON / CSV / Parquet), cancel, pin, delete;
unstored trajectories."""

import asyncio
import threading
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from backend.api.answers import AnswerCache, answer_key
from backend.api.deps import AdmissionDep, ExecutorDep, StoreDep
from backend.api.errors import CONFLICT, FORBIDDEN, NOT_FOUND, TOO_LARGE, Message, not_found, unprocessable
from backend.api.json import JSON, StrictJSONRoute
from backend.api.ownership import Moderator, RunKey, client_identity, client_of, new_key
from backend.api.routes import BUSY, RunId, answer
from backend.api.schemas import examples
from backend.api.schemas.runs import CreatedRun, RunList, RunRequest, Steps, SurfaceRunRequest, Trajectory
from backend.runs import columns, exports, segments
from backend.runs.columns import Firsts, StepColumns
from backend.runs.executor import queued_run
from backend.runs.exports import Cut, NotTabular
from backend.runs.model import Run, Status
from backend.runs.segments import Records
from backend.settings import current_settings
from backend.surfaces.spec import SurfaceRun

router = APIRouter(prefix="/api", route_class=StrictJSONRoute)
STORE_FULL: dict[int | str, dict[str, Any]] = {
    507: {"model": Message, "description": "the store's disk is full: nothing was stored"}}
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
        ("runs-pin", True, "pin it: kept whatever the store's budget and age limit"),
        ("runs-unpin", True, "unpin it"),
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
        **TOO_LARGE, **BUSY, **STORE_FULL,
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
    await _make_room(store, client_identity(http))
    run = queued_run(request)
    key, hashed = new_key()
    async with admission.run_slot(client_of(http), run.id):
        await asyncio.to_thread(store.create, run, client_identity(http), hashed)
        await executor.submit(run)
    return CreatedRun(**dict(run), key=key)


async def _make_room(store: StoreDep, client: str | None) -> None:
    """Forget runs past the store's age limit or beyond its budget; 429 when `client` already
    stores its quota (nothing is created)."""
    settings = current_settings()
    await asyncio.to_thread(store.evict, settings.store_budget_bytes, settings.store_max_age_seconds)
    if client is None:
        return
    used = await asyncio.to_thread(store.client_bytes, client)
    if used >= settings.client_quota_bytes:
        raise HTTPException(429, f"your stored runs hold {used:,} bytes, your quota is "
                            f"{settings.client_quota_bytes:,}: delete runs you no longer need "
                            "(DELETE /api/runs/{id}?forget=true with each run's X-Run-Key; GET /api/runs "
                            "lists them with their size) or unpin some so that old ones expire, then "
                            "start this run again")


async def storage_full(request: Request, error: Exception) -> Response:
    """507: the store's disk is full; the write was rolled back, nothing half-written."""
    return JSONResponse({"detail": f"the server's disk is full, so nothing was stored ({error}); "
                                   "try again once runs have been deleted or the server has more room"},
                        507)


@router.post(
    "/trajectories", response_model=Trajectory, operation_id="trajectories-compute",
    tags=["trajectories"], summary="Compute a surface run at once, unstored",
    responses={200: answer("its status, summary and every step", examples.TRAJECTORY, headers={
                   "X-Answer-Cache": {"description": "`hit`: shared from an identical request (kept, or in "
                                      "flight); `miss`: computed for this one",
                                      "schema": {"type": "string", "enum": ["hit", "miss"]}},
                   "X-Computed-Together": {"description": "on a computed answer (`miss`): how many requests "
                                           "its computation answered, 1 alone; more when requests that "
                                           "differ only in their start and lr were computed as one batch",
                                           "schema": {"type": "integer", "minimum": 1}}}),
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
) -> Response:
    """Compute a surface run and answer with its steps at once, storing nothing.

    Meant for recomputing while a slider moves; same request body as `POST /api/runs`. Identical
    requests share one computation and its kept answer (`X-Answer-Cache: hit`), which takes no
    computation slot.
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

    together = 0  # requests its computation answered; 0: none was computed for this one

    async def compute() -> tuple[bytes, bool]:
        """The answer's body, and whether it is complete (not cancelled, not failed)."""
        nonlocal together
        watcher = asyncio.create_task(watch())
        try:
            async with admission.computing(client_of(http)):
                status, summary, steps, together = await executor.compute(request, gone.is_set)
        finally:
            watcher.cancel()
        answered = JSON({"status": status.value, "summary": summary.model_dump(mode="json"), "steps": steps})
        return bytes(answered.body), status not in (Status.CANCELLED, Status.FAILED)

    answers: AnswerCache = http.app.state.answers
    body, source = await answers.answer(answer_key(request, executor.device),
                                        current_settings().answer_cache_bytes, compute)
    headers = {"X-Answer-Cache": source.value}
    if together:
        headers["X-Computed-Together"] = str(together)
    return Response(body, media_type=JSON.media_type, headers=headers)


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
    """The run; a queued one says how many queued runs are ahead of it (`queue_position`)."""
    run = await _run_or_404(store, run_id)
    if run.status is Status.QUEUED:
        return run.model_copy(update={"queue_position": await asyncio.to_thread(store.queue_position, run)})
    return run


@router.delete(
    "/runs/{run_id}", response_model=Run, operation_id="runs-cancel", tags=["runs"],
    summary="Cancel a run, or delete an ended one",
    responses={200: answer("the run: `cancelled`, or as it was when it had ended already; the run "
                           "stays readable unless `forget=true` deleted it", examples.FINISHED_RUN),
               **NOT_FOUND, **FORBIDDEN, **CONFLICT},
)
async def cancel_run(
    run_id: RunId, store: StoreDep, executor: ExecutorDep, _key: RunKey,
    forget: Annotated[bool, Query(description="delete an ended run and everything stored for it "
                                  "(its id then answers 404); 409 while it is queued or running")] = False,
) -> Run:
    """Cancel a queued or running run; an ended run is returned unchanged, or with `forget=true`
    deleted, freeing what the store held for it. Needs the run's key (`X-Run-Key`) or the
    moderator's token: 403 otherwise."""
    run = await _run_or_404(store, run_id)
    if forget:
        if not run.status.ended:
            raise HTTPException(409, f"run '{run_id}' is {run.status.value}: cancel it first, then "
                                "delete it once it has ended")
        await asyncio.to_thread(store.delete, run_id)
        return run
    if not run.status.ended and await executor.cancel(run_id):
        run_log = executor.live_log(run_id)
        if run_log is not None:
            for _ in range(200):
                if run_log.ended:
                    break
                await asyncio.sleep(0.01)
        run = await _run_or_404(store, run_id)
    return run


async def _pin(store: StoreDep, run_id: str, pinned: bool) -> Run:
    await _run_or_404(store, run_id)
    await asyncio.to_thread(store.set_pinned, run_id, pinned)
    return await _run_or_404(store, run_id)


@router.put(
    "/runs/{run_id}/pin", response_model=Run, operation_id="runs-pin", tags=["runs"], summary="Pin a run",
    responses={200: answer("the run, pinned", examples.FINISHED_RUN), **NOT_FOUND, **FORBIDDEN},
)
async def pin_run(run_id: RunId, store: StoreDep, _key: RunKey) -> Run:
    """Keep the run whatever the store's budget and age limit (a lesson or a share link depends on
    it). Needs the run's key (`X-Run-Key`) or the moderator's token."""
    return await _pin(store, run_id, True)


@router.delete(
    "/runs/{run_id}/pin", response_model=Run, operation_id="runs-unpin", tags=["runs"],
    summary="Unpin a run",
    responses={200: answer("the run, no longer pinned", examples.FINISHED_RUN), **NOT_FOUND, **FORBIDDEN},
)
async def unpin_run(run_id: RunId, store: StoreDep, _key: RunKey) -> Run:
    """The run may be deleted again when the store is over its budget or the run is too old."""
    return await _pin(store, run_id, False)


async def _steps_source(http: Request, store: StoreDep, executor: ExecutorDep, run: Run, wait: bool,
                        ) -> tuple[Iterable[Records], list[Firsts | None]]:
    """The run's step pieces and where their keys first appear: from the live log while it is in
    memory, else from the store, read a segment at a time as the download goes. A run the store
    says has ended is whole there, while a live log may still be catching up with its last steps
    (the Redis executor mirrors a worker's stream): the store answers then."""
    run_log = executor.live_log(run.id)
    if run_log is not None and run.status.ended and not run_log.ended:
        run_log = None
    if wait and run_log is not None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while not run_log.ended and loop.time() < deadline:
            epoch, frames, _, _ = run_log.read(0, 0)
            try:
                await asyncio.wait_for(run_log.wait(epoch, len(frames)), deadline - loop.time())
            except TimeoutError:
                break
    if run_log is None:
        firsts = await asyncio.to_thread(store.step_firsts, run.id)
        if firsts is not None:
            return segments.step_pieces(store.iter_frames(run.id)), firsts
    held = run_log.frames if run_log is not None else await asyncio.to_thread(
        lambda: list(store.iter_frames(run.id)))
    pieces = list(segments.step_pieces(iter(held)))
    return pieces, [columns.firsts(p) if isinstance(p, StepColumns) else None for p in pieces]


async def _in_threads(chunks: Iterator[bytes], limiter: anyio.CapacityLimiter) -> AsyncIterator[bytes]:
    """Each chunk written in a thread (at most `export_threads` at once): the event loop only sends."""
    try:
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None, limiter=limiter)) is not None:
            yield chunk
    finally:
        if isinstance(chunks, Generator):
            await anyio.to_thread.run_sync(chunks.close)


def _limiter(http: Request) -> anyio.CapacityLimiter:
    state = http.app.state
    if getattr(state, "export_limiter", None) is None:
        state.export_limiter = anyio.CapacityLimiter(current_settings().export_threads)
    limiter: anyio.CapacityLimiter = state.export_limiter
    return limiter


EXAMPLE_STEPS = columns.from_records(examples.SURFACE_STEPS["steps"])  # the JSON example's steps
assert EXAMPLE_STEPS is not None
STEPS_CSV = b"".join(
    exports.csv_chunks([EXAMPLE_STEPS], Cut(), [columns.firsts(EXAMPLE_STEPS)], None)).decode()
STEPS_NDJSON = b"".join(exports.ndjson_chunks([EXAMPLE_STEPS], Cut())).decode()
StepQuery = Annotated[int | None, Query(ge=0, le=10**12)]
BINARY = {"type": "string", "format": "binary"}


@router.get(
    "/runs/{run_id}/steps", response_model=Steps, operation_id="runs-steps", tags=["runs"],
    summary="A run's recorded steps",
    responses={
        200: {
            "description": "the recorded steps asked for, in order: JSON (`format=json`), one JSON step a "
            "line (`format=ndjson`), CSV with a header row (`format=csv`) or Parquet (`format=parquet`, "
            "the CSV's columns); the download is named `<run_id>.<format>`",
            "content": {
                "application/json": {"examples": {
                    "surface": {"summary": "a surface run", "value": examples.SURFACE_STEPS},
                    "network": {"summary": "a network run", "value": examples.NETWORK_STEPS},
                }},
                "text/csv": {"schema": {"type": "string"}, "example": STEPS_CSV},
                "application/x-ndjson": {"schema": {"type": "string"}, "example": STEPS_NDJSON},
                "application/vnd.apache.parquet": {"schema": BINARY, "examples": {"parquet": {
                    "summary": "pandas.read_parquet(io.BytesIO(body)) or polars.read_parquet(...)",
                    "description": "a Parquet file (zstd) with the CSV's columns and rows; NaN and ±inf "
                    "as they are, a missing value as null"}}},
            },
        },
        **NOT_FOUND, **CONFLICT,
    },
)
async def get_steps(
    http: Request,
    run_id: RunId,
    store: StoreDep,
    executor: ExecutorDep,
    format: Annotated[Literal["json", "csv", "ndjson", "parquet"],
                      Query(description="the answer's format")] = "json",
    wait: Annotated[bool, Query(description="answer once the run has ended (≤ 60 s)")] = False,
    start: Annotated[int | None, Query(ge=0, le=10**9, description="only this start of a batched run "
                                       "(its index into `starts`)")] = None,
    from_step: Annotated[StepQuery, Query(description="only steps ≥ this")] = None,
    to_step: Annotated[StepQuery, Query(description="only steps ≤ this")] = None,
    every: Annotated[int, Query(ge=1, le=10**9, description="every k-th of the steps in range, from "
                                "the first")] = 1,
) -> Response:
    """Recorded steps, in order, in chunks. Non-finite numbers are null (empty cells in CSV; NaN in
    Parquet)."""
    run = await _run_or_404(store, run_id)
    batched = isinstance(run.config, SurfaceRun) and run.config.batched
    n_starts = len(run.config.start_points()) if isinstance(run.config, SurfaceRun) and batched else None
    if start is not None and (n_starts is None or start >= n_starts):
        raise unprocessable(["query", "start"], f"start={start} names no start of this run: start= picks "
                            f"one of a batched run's starts, 0 … {(n_starts or 1) - 1}")
    if from_step is not None and to_step is not None and from_step > to_step:
        raise unprocessable(["query", "to_step"], f"to_step={to_step} is before from_step={from_step}")
    pieces, firsts = await _steps_source(http, store, executor, run, wait)
    try:
        chunks = exports.download(format, pieces, firsts, Cut(start, from_step, to_step, every), n_starts)
    except NotTabular as error:
        raise HTTPException(409, str(error)) from None
    disposition = "attachment" if format in ("csv", "parquet") else "inline"
    return StreamingResponse(_in_threads(chunks, _limiter(http)), media_type=exports.MEDIA[format], headers={
        "Content-Disposition": f'{disposition}; filename="{run_id}.{format}"'})
