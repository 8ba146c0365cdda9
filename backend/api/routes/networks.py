"""The networks lab: its catalogues, a dataset preview, a run's landscape (and its export),
and runs compared after they ended (several paths on one plane, a line between two runs)."""

import asyncio
import re
from typing import Annotated, Any

import orjson
import torch
from fastapi import APIRouter, Body, HTTPException, Request, Response
from fastapi import Path as PathParam

from backend.api.deps import AdmissionDep, ExecutorDep, SettingsDep, StoreDep
from backend.api.errors import CONFLICT, FORBIDDEN, NOT_FOUND, TOO_LARGE, Message, not_found, unprocessable
from backend.api.i18n import (
    DATASET_DESCRIPTIONS,
    DATASET_NAMES,
    MODEL_DESCRIPTIONS,
    MODEL_NAMES,
    LangDep,
    text,
)
from backend.api.json import JSON, StrictJSONRoute
from backend.api.ownership import RunKey, client_identity, client_of
from backend.api.routes import BUSY, RunId, answer
from backend.api.schemas import examples
from backend.api.schemas.networks import (
    CSV_ID_PATTERN,
    CompareRequest,
    Comparison,
    CsvUpload,
    DatasetInfoOut,
    DatasetPreview,
    Interpolation,
    InterpolationRequest,
    Landscape,
    ModelInfoOut,
    PreviewRequest,
    StoredCsv,
)
from backend.networks import comparison, datasets, models, training
from backend.networks.landscape import DifferentStarts
from backend.networks.spec import LandscapeSpec, NetworkRun
from backend.networks.summary import NetworkSummary
from backend.runs.compute import LANDSCAPE, LANDSCAPE_EXPORT
from backend.runs.model import Run, Status
from backend.runs.store import csv_id
from backend.settings import Settings, current_settings

router = APIRouter(prefix="/api", route_class=StrictJSONRoute)
PREVIEW_IMAGES = 40  # digits shown in a preview
BINARY = {"type": "string", "format": "binary"}
ID = re.compile("[0-9a-f]{64}")
COMPARABLE = (Status.FINISHED, Status.EARLY_STOPPED, Status.CONVERGED)


@router.get("/datasets", response_model=list[DatasetInfoOut], operation_id="networks-datasets",
            tags=["networks"], summary="The datasets of network runs",
            responses={200: answer("every dataset (the example shows moons)", examples.DATASETS)})
async def list_datasets(settings: SettingsDep, lang: LangDep) -> list[DatasetInfoOut]:
    most = settings.network_max_samples
    return [DatasetInfoOut(**{**d.__dict__, "name": text(lang, DATASET_NAMES, d.id, d.name),
                              "description": text(lang, DATASET_DESCRIPTIONS, d.id, d.description).format(
                                  max_samples=most)},
                           max_samples=most if d.id != "digits" else datasets.DIGITS_SAMPLES)
            for d in datasets.DATASETS.values()]


def _layers(settings: Settings) -> dict[str, tuple[int, int]]:
    """Per model: (hidden layers, width or channels) at most."""
    return {"linear": (0, 0), "logistic": (0, 0),
            "mlp": (settings.network_max_layers, settings.network_max_width),
            "cnn": (models.MAX_CNN_LAYERS, settings.network_max_channels)}


@router.get("/models", response_model=list[ModelInfoOut], operation_id="networks-models",
            tags=["networks"], summary="The models of network runs",
            responses={200: answer("every model (the example shows mlp)", examples.MODELS)})
async def list_models(settings: SettingsDep, lang: LangDep) -> list[ModelInfoOut]:
    """Linear and logistic regression take no hidden layers (and so no activation)."""
    layers = _layers(settings)
    return [
        ModelInfoOut(id=m.id, name=text(lang, MODEL_NAMES, m.id, m.name),
                     description=text(lang, MODEL_DESCRIPTIONS, m.id, m.description), task=m.task,
                     default_hidden=list(m.default_hidden),
                     datasets=None if m.datasets is None else list(m.datasets),
                     activations=list(models.ACTIVATIONS) if layers[m.id][0] else [],
                     max_layers=layers[m.id][0], max_width=layers[m.id][1])
        for m in models.MODELS.values()
    ]


def _preview(request: PreviewRequest) -> dict[str, Any]:
    d = request.dataset
    data = datasets.load(d.name, d.n_samples, d.noise, d.csv, training.generator(request.seed, "data"))
    splits, _ = datasets.split(data, request.split.val, request.split.test,
                               training.generator(request.seed, "split"))
    points = images = None
    if data.x.shape[1] == 2:
        points = {
            "x0": torch.cat([s.x[:, 0] for s in splits]).tolist(),
            "x1": torch.cat([s.x[:, 1] for s in splits]).tolist(),
            "label": torch.cat([s.y for s in splits]).tolist(),
            "split": [s.name for s in splits for _ in range(len(s))],
        }
    if d.name == "digits":
        images = [{"pixels": x.tolist(), "label": int(y)}
                  for x, y in zip(data.x[:PREVIEW_IMAGES], data.y[:PREVIEW_IMAGES], strict=True)]
    return {
        "task": "classification" if data.classification else "regression",
        "n_samples": len(data.x), "n_features": data.x.shape[1], "n_classes": data.n_classes,
        "class_names": list(data.class_names) if data.class_names else None,
        "feature_names": list(data.feature_names),
        "n_train": len(splits[0]), "n_val": len(splits[1]), "n_test": len(splits[2]),
        "points": points, "images": images,
    }


@router.post("/datasets/preview", response_model=DatasetPreview, operation_id="networks-preview",
             tags=["networks"], summary="The samples a network run would see",
             responses={200: answer("the dataset as split and seeded for a run", examples.PREVIEW),
                        **TOO_LARGE})
async def preview_dataset(request: Annotated[PreviewRequest, Body(openapi_examples={"moons": {
    "summary": "ten samples of two moons",
    "value": {"dataset": {"name": "moons", "n_samples": 10, "noise": 0.2}, "split": {"val": 0.2, "test": 0.2},
              "seed": 0},
}})]) -> JSON:
    """The samples a network run with this dataset, split and seed would see (2-D: all of
    them as the model sees them; digits: the first few images)."""
    return JSON(await asyncio.to_thread(_preview, request))


def _duration(seconds: int) -> str:
    """A setting's seconds in words: "30 days", "12 hours", "90 s"."""
    for unit, name in ((86400, "days"), (3600, "hours")):
        if seconds >= 2 * unit:
            return f"{seconds // unit} {name}"
    return f"{seconds} s"


CsvId = Annotated[str, PathParam(
    description="a stored CSV's id, as `POST /api/datasets/csv` answered it (64 lowercase hex characters)",
    examples=[examples.STORED_CSV["id"]], json_schema_extra={"pattern": CSV_ID_PATTERN},
)]


@router.post("/datasets/csv", response_model=StoredCsv, status_code=201, operation_id="networks-csv-store",
             tags=["networks"], summary="Store a CSV dataset, so that a link or a room can name it",
             responses={201: answer("stored now", examples.STORED_CSV),
                        200: answer("the same text was stored before: the same id", examples.STORED_CSV,
                                    model=StoredCsv),
                        429: {"model": Message, "description": "this client's stored CSVs are at its quota"},
                        **TOO_LARGE})
async def store_csv(upload: CsvUpload, http: Request, response: Response, store: StoreDep,
                    settings: SettingsDep) -> StoredCsv:
    """Store a CSV's text under its SHA-256: a link (`?ds=csv&csvid=<id>`) or a room's scene then
    names the id instead of carrying up to 200 kB of text. Storing the same text again answers
    the same id (200). A stored CSV is deleted `DESCENT_DATASET_MAX_AGE_SECONDS` after it was
    last stored or read, or sooner, least recently used first, beyond `DESCENT_DATASET_BUDGET_BYTES`."""
    table = datasets.parse_csv(upload.csv)
    size = len(upload.csv.encode())
    dataset_id = csv_id(upload.csv)
    client = client_identity(http)
    known = await asyncio.to_thread(store.has_dataset, dataset_id)
    if client is not None and not known:
        used = await asyncio.to_thread(store.client_dataset_bytes, client)
        if used + size > settings.client_dataset_quota_bytes:
            raise HTTPException(429, f"your stored CSV datasets hold {used:,} bytes and this one has "
                                f"{size:,}; the quota is {settings.client_dataset_quota_bytes:,}. A stored "
                                f"CSV is deleted {_duration(settings.dataset_max_age_seconds)} after its "
                                "last use; until then, send the text itself in a run's dataset.csv")
    await asyncio.to_thread(store.evict_datasets, settings.dataset_budget_bytes - (0 if known else size),
                            settings.dataset_max_age_seconds)  # room for this one within the budget
    _, new = await asyncio.to_thread(store.put_dataset, upload.csv, client)
    response.status_code = 201 if new else 200
    return StoredCsv(id=dataset_id, bytes=size, rows=len(table.x), columns=len(table.names))


@router.get("/datasets/csv/{dataset_id}", operation_id="networks-csv-get", tags=["networks"],
            summary="A stored CSV dataset's text", response_class=Response,
            responses={200: {"description": "the CSV text, exactly as stored", "content": {"text/csv": {
                "schema": {"type": "string"}, "example": "x1,x2,label\n-1.00,-1.00,0\n-0.63,-0.39,1\n..."}}},
                       **NOT_FOUND})
async def get_csv(dataset_id: CsvId, store: StoreDep, settings: SettingsDep) -> Response:
    """The text `POST /api/datasets/csv` stored, byte for byte. Its id is its hash, so the answer
    never changes and may be cached for good."""
    text = await asyncio.to_thread(store.dataset, dataset_id) if ID.fullmatch(dataset_id) else None
    if text is None:
        raise not_found(f"no stored CSV '{dataset_id}': it was never stored here, or it was deleted "
                        f"{_duration(settings.dataset_max_age_seconds)} after its last use; store the CSV "
                        "again (POST /api/datasets/csv)")
    return Response(text.encode(), media_type="text/csv; charset=utf-8", headers={
        "Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{dataset_id}"',
        "Content-Disposition": f'inline; filename="{dataset_id[:12]}.csv"',
        # someone's text on this origin (every answer is also `nosniff`): nothing in it runs
        "Content-Security-Policy": "sandbox; default-src 'none'"})


async def _network_run(store: StoreDep, run_id: str, loc: list[str] | None = None) -> Run:
    """A stored network run; 404 (or 422 at `loc` of a request body) when there is none."""
    run = await asyncio.to_thread(store.get, run_id)
    problem = (f"no run '{run_id}'" if run is None
               else f"run '{run_id}' is a {run.kind} run, not a network run" if run.kind != "network"
               else None)
    if problem is not None:
        raise unprocessable(loc, problem) if loc else not_found(problem)
    assert run is not None
    return run


async def _artifact(store: StoreDep, run: Run, name: str, what: str) -> bytes:
    data = await asyncio.to_thread(store.artifact, run.id, name)
    if data is None:
        if run.status.ended:
            asked = isinstance(run.config, NetworkRun) and run.config.landscape is not None
            reason = (f"it ended {run.status.value}" if asked or name == comparison.WEIGHTS
                      else "its request has no `landscape`")
            raise not_found(f"run '{run.id}' has no {what}: {reason}")
        raise not_found(f"run '{run.id}' has no {what} yet: it is {run.status.value}")
    return data


@router.get("/runs/{run_id}/landscape", response_model=Landscape, operation_id="landscapes-get",
            tags=["landscapes"], summary="A network run's loss landscape",
            responses={200: answer("the slice, the path on it and how faithful it is", examples.LANDSCAPE),
                       404: {**NOT_FOUND[404], "description": "unknown run, not a network run, or no "
                             "landscape (not asked for, not ended yet, or ended without one)"}})
async def get_landscape(run_id: RunId, store: StoreDep) -> Response:
    """The loss slice around the run's final weights, the path on it and how faithful it is."""
    run = await _network_run(store, run_id)
    data = await _artifact(store, run, LANDSCAPE, "landscape")
    return Response(data, media_type="application/json")


@router.post("/runs/{run_id}/landscape", response_model=Landscape, operation_id="landscapes-survey",
             tags=["landscapes"], summary="Survey a network run's landscape again",
             responses={200: answer("the new landscape, which replaces the run's", examples.RESURVEY),
                        404: {**NOT_FOUND[404], "description": "unknown run, or not a network run"},
                        409: {**CONFLICT[409], "description": "the run did not end finished, "
                              "early_stopped or converged"},
                        **FORBIDDEN, **BUSY, **TOO_LARGE})
async def survey_again(run_id: RunId, spec: Annotated[LandscapeSpec, Body(openapi_examples={"random": {
    "summary": "random filter-normalised directions, 3 × 3",
    "value": {"directions": "random", "resolution": 3, "eval_samples": 50},
}})], http: Request, store: StoreDep, executor: ExecutorDep, admission: AdmissionDep,
                       _key: RunKey) -> JSON:
    """Survey an ended run's landscape again (other directions, grid, span or samples) from its
    stored checkpoints, without training again; it replaces the run's landscape and export.
    Needs the run's key (`X-Run-Key`) or the moderator's token: 403 otherwise."""
    run = await _network_run(store, run_id)
    if run.status not in COMPARABLE:
        raise HTTPException(409, f"run '{run_id}' is {run.status.value}: only a run that finished "
                            "(or stopped early) has the weights to survey")
    assert isinstance(run.config, NetworkRun)
    config = run.config
    ny, nx = spec.shape
    _check_work(run, ny * nx + 2 * comparison.MAX_STORED_CHECKPOINTS, spec.eval_samples, "resolution")
    stored = await _weights(store, run)
    async with admission.computing(client_of(http)):
        report, export = await executor.run_blocking(comparison.resurvey, config, stored, spec,
                                                     _device(executor))
    body = orjson.dumps(report)
    await asyncio.to_thread(store.put_artifact, run.id, LANDSCAPE, body)
    await asyncio.to_thread(store.put_artifact, run.id, LANDSCAPE_EXPORT, export)
    return JSON(report)


@router.get(
    "/runs/{run_id}/landscape/export", operation_id="landscapes-export", tags=["landscapes"],
    summary="A network run's landscape as a torch.save file",
    responses={
        200: {"description": "a `torch.save` file (attachment `landscape-<run_id>.pt`)", "content": {
            "application/octet-stream": {"schema": BINARY, "examples": {"pt": {
                "summary": "torch.load(f, weights_only=True)",
                "description": "a dict: `weights` and `directions` ([u, v]) as {parameter name: tensor} "
                "(the names of `named_parameters()`), `a`, `b` (float32 axes), `loss` (len(b) × len(a)), "
                "`accuracy` (or None), `eval_samples` (int), `kind` (random | pca | hessian)",
            }}},
        }},
        404: {**NOT_FOUND[404], "description": "as for landscapes-get"},
    },
    response_class=Response,
)
async def export_landscape(run_id: RunId, store: StoreDep) -> Response:
    """`torch.load(f, weights_only=True)`: final weights and both directions by parameter name
    (as in `named_parameters()`), the axes and the loss grid."""
    run = await _network_run(store, run_id)
    data = await _artifact(store, run, LANDSCAPE_EXPORT, "landscape")
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="landscape-{run_id}.pt"'})


async def _comparable(store: StoreDep, ids: list[str], field: str) -> list[tuple[Run, NetworkRun]]:
    """The runs with their requests, checked to share data, split, model and seed."""
    runs: list[tuple[Run, NetworkRun]] = []
    for i, run_id in enumerate(ids):
        loc = ["body", field] + ([str(i)] if field == "runs" else [])
        run = await _network_run(store, run_id, loc)
        if run.status not in COMPARABLE:
            raise unprocessable(loc, f"run '{run_id}' is {run.status.value}: only runs that "
                                "finished (or stopped early) can be compared")
        assert isinstance(run.config, NetworkRun)
        reason = comparison.same_setup(runs[0][1], run.config) if runs else None
        if reason is not None:
            raise unprocessable(loc, f"run '{run_id}' cannot share a landscape with run "
                                f"'{ids[0]}': {reason} (they must start from the same weights "
                                "on the same data)")
        runs.append((run, run.config))
    return runs


def _check_work(run: Run, points: int, samples: int, field: str) -> None:
    """Points × evaluation samples × parameters within the landscape bound of a run."""
    assert isinstance(run.summary, NetworkSummary)
    work = points * min(samples, run.summary.n_train) * run.summary.parameters
    bound = current_settings().network_max_landscape_work
    if work > bound:
        raise unprocessable(["body", field], f"{field}: evaluations × eval_samples × parameters = "
                            f"{work:,} exceeds {bound:,}; use fewer points or eval_samples")


async def _weights(store: StoreDep, run: Run) -> comparison.StoredWeights:
    """A run's stored checkpoints and final weights (torch.load, in a thread)."""
    return await asyncio.to_thread(comparison.unpack, await _artifact(store, run, comparison.WEIGHTS,
                                                                      "stored weights"))


def _device(executor: ExecutorDep) -> torch.device:
    return torch.device(executor.device)


@router.post("/landscapes/compare", response_model=Comparison, operation_id="landscapes-compare",
             tags=["landscapes"], summary="Several network runs on one plane",
             responses={200: answer("the plane, its loss grid and every run's path", examples.COMPARISON),
                        404: {**NOT_FOUND[404], "description": "a run's stored weights are missing"},
                        409: {**CONFLICT[409], "description": "the runs' initial weights differ"},
                        **BUSY, **TOO_LARGE})
async def compare_runs(request: Annotated[CompareRequest, Body(openapi_examples={"two": {
    "summary": "two runs of one setup", "value": {"runs": ["ec1c20912dd24f73", "a2aed241d20c4cff"],
                                                  "resolution": 3, "eval_samples": 50},
}})], http: Request, store: StoreDep, executor: ExecutorDep, admission: AdmissionDep) -> JSON:
    """Several runs from one start on one plane: PCA of all their checkpoints, origin the
    shared initial weights, every run's path projected onto it, the loss grid around."""
    if len(set(request.runs)) != len(request.runs):
        raise unprocessable(["body", "runs"], "runs: each run may appear only once")
    runs = await _comparable(store, request.runs, "runs")
    points = request.resolution**2 + len(runs) * comparison.MAX_STORED_CHECKPOINTS  # grid, then paths
    _check_work(runs[0][0], points, request.eval_samples, "resolution")
    weights = [await _weights(store, run) for run, _ in runs]
    async with admission.computing(client_of(http)):
        try:
            result = await executor.run_blocking(
                comparison.compare, runs[0][1], weights, request.resolution, request.span,
                request.eval_samples, _device(executor),
            )
        except DifferentStarts as error:  # different initial weights despite the same request
            raise HTTPException(409, str(error)) from None
    for (run, _), entry in zip(runs, result["runs"], strict=True):
        entry |= {"id": run.id, "status": run.status.value}
    return JSON(result)


@router.post("/landscapes/interpolate", response_model=Interpolation, operation_id="landscapes-interpolate",
             tags=["landscapes"], summary="The loss on the line between two runs",
             responses={200: answer("the loss (and accuracy) along α", examples.INTERPOLATION),
                        404: {**NOT_FOUND[404], "description": "a run's stored weights are missing"},
                        **BUSY, **TOO_LARGE})
async def interpolate_runs(request: Annotated[InterpolationRequest, Body(openapi_examples={"two": {
    "summary": "two runs of one setup, 3 points",
    "value": {"from": "ec1c20912dd24f73", "to": "a2aed241d20c4cff", "points": 3, "eval_samples": 50},
}})], http: Request, store: StoreDep, executor: ExecutorDep, admission: AdmissionDep) -> JSON:
    """The loss along the straight line from one run's final weights (α = 0) to another's (α = 1),
    α from −0.5 to 1.5: a barrier between them, or one connected valley."""
    (first, config), = await _comparable(store, [request.from_], "from")
    (second, _), = await _comparable(store, [request.to], "to")
    _check_work(first, request.points, request.eval_samples, "points")
    reason = comparison.same_setup(config, second.config)  # type: ignore[arg-type]
    if reason is not None:
        raise unprocessable(["body", "to"], f"runs '{first.id}' and '{second.id}' cannot share a "
                            f"line: {reason}")
    w0, w1 = [(await _weights(store, run)).checkpoints[-1] for run in (first, second)]
    async with admission.computing(client_of(http)):
        result = await executor.run_blocking(comparison.interpolate, config, w0, w1, request.points,
                                             request.eval_samples, _device(executor))
    return JSON(result)
