"""What a worker does with a run: compute it, whatever its kind, into frames and a summary.

Shared by every executor (in-process threads, Redis workers), so a run gives the
same frames wherever it is computed.
"""

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import torch
from pydantic import BaseModel

from backend.networks import comparison, training
from backend.networks.spec import NetworkRun
from backend.networks.summary import NetworkSummary
from backend.optim import optimizers
from backend.runs import surface
from backend.runs.columns import StepColumns
from backend.runs.memory import Trimmer
from backend.runs.model import Status
from backend.runs.store import Frame
from backend.surfaces import engine
from backend.surfaces.recording import Recording
from backend.surfaces.spec import SurfaceRun

LANDSCAPE = "landscape.json"  # artifact names of a network run
LANDSCAPE_EXPORT = "landscape.pt"

MAX_FRAME_STEPS = 2000  # a frame never holds more steps than this
MAX_FRAME_NUMBERS = 1 << 16  # nor about more numbers: a watcher turns a whole frame into records at once
NUMBERS_PER_START = 12  # a step record's numbers per start, about (params, grad, loss, buffers, ...)
FrameSink = Callable[[Frame], None]


@dataclass
class Result:
    """A computed run: status, summary, every frame, and named files (e.g. a landscape)."""

    status: Status
    summary: BaseModel | None
    frames: list[Frame]
    artifacts: dict[str, bytes] = field(default_factory=dict)

    def end_message(self, error: str | None = None) -> dict[str, Any]:
        """The websocket's last message."""
        return {
            "type": "end",
            "status": self.status.value,
            "summary": self.summary.model_dump(mode="json") if self.summary else None,
            "error": error,
        }


def stored(frame: Frame) -> bool:
    """The stored log keeps every frame but a landscape's intermediate `refine` grids, which only
    live watchers need."""
    kind, records = frame
    return not (kind == "landscape" and isinstance(records, list) and records[0]["stage"] == "refine")


def compute(
    config: Any,
    device: str,
    on_frame: FrameSink | None = None,
    cancelled: Callable[[], bool] | None = None,
    keep: bool = True,
) -> Result:
    """Compute a run of any kind; `keep=False`: the result holds no frames (`on_frame` keeps
    them, so a long run is not held twice)."""
    if isinstance(config, SurfaceRun):
        return compute_surface(config, device, on_frame, cancelled, keep)
    if isinstance(config, NetworkRun):
        return compute_network(config, device, on_frame, cancelled, keep)
    raise TypeError(f"no computation for {type(config).__name__}")


def compute_surface(
    request: SurfaceRun,
    device: str,
    on_frame: FrameSink | None = None,
    cancelled: Callable[[], bool] | None = None,
    keep: bool = True,
) -> Result:
    """Run the engine; `on_frame(frame)` sees each frame as it is recorded."""
    problem = surface.build_problem(request, surface.choose_device(request, device))
    frames = StepFrames(request, on_frame, keep)
    recording = engine.run(problem, frames.progress, cancelled)
    return surface_result(request, recording, device, frames)


def surface_result(request: SurfaceRun, recording: Recording, device: str,
                   frames: "StepFrames | None" = None) -> Result:
    """A recorded surface run's result: its status, its summary and its frames, those that
    `frames` has not cut yet (all of them without it)."""
    frames = frames or StepFrames(request, None, True)
    frames.end(recording)
    return Result(surface.run_status(recording), surface.summarize(request, recording, device), frames.kept)


class StepFrames:
    """A surface run's step records cut into frames of columns as they are recorded, each of at
    most `MAX_FRAME_STEPS` steps and about `MAX_FRAME_NUMBERS` numbers; `keep=False` keeps none
    (`on_frame` sees each). Every `memory.TRIM_EVERY` bytes of frames, the scratch that cutting
    them freed is given back to the system (`backend.runs.memory`)."""

    def __init__(self, request: SurfaceRun, on_frame: FrameSink | None, keep: bool) -> None:
        self.request = request
        self.on_frame = on_frame
        self.keep = keep
        self.kept: list[Frame] = []
        self.sent = -1  # the last step cut into a frame
        self.trimmer = Trimmer()  # each frame frees scratch between the columns that stay
        self.per_frame = max(1, min(MAX_FRAME_STEPS,
                                    MAX_FRAME_NUMBERS // (len(request.start_points()) * NUMBERS_PER_START)))

    def progress(self, recording: Recording, k: int) -> None:
        """Cut the steps recorded since the last frame, up to step k, into frames."""
        if self.request.record == "final":
            return
        while self.sent < k:
            last = min(k, self.sent + self.per_frame)
            self._emit(surface.step_columns(self.request, recording, self.sent + 1, last))
            self.sent = last

    def end(self, recording: Recording) -> None:
        """Cut what is left once the run has ended (a run keeping only its ends: both, at once)."""
        rows = surface.recorded_rows(self.request, recording)
        if self.request.record == "final":
            self._emit(surface.step_columns(self.request, recording, 0, rows - 1))
        else:
            self.progress(recording, rows - 1)

    def _emit(self, steps: StepColumns) -> None:
        self.trimmer.kept(steps.nbytes)
        frame: Frame = ("steps", steps)
        if self.keep:
            self.kept.append(frame)
        if self.on_frame is not None:
            self.on_frame(frame)


def compute_network(
    request: NetworkRun,
    device: str,
    on_frame: FrameSink | None = None,
    cancelled: Callable[[], bool] | None = None,
    keep: bool = True,
) -> Result:
    """Train; every emitted record goes out as a frame."""
    frames: list[Frame] = []

    def emit(kind: str, records: list[dict[str, Any]]) -> None:
        frame: Frame = (kind, records)
        if keep and stored(frame):
            frames.append(frame)
        if on_frame is not None:
            on_frame(frame)

    result = training.train(request, torch.device(device), emit, cancelled or (lambda: False))
    artifacts: dict[str, bytes] = {}
    if result.checkpoints is not None and result.final_weights is not None:
        summary = result.summary
        final_epoch = summary["best_epoch"] if summary["restored_best"] else summary["epochs_run"]
        artifacts[comparison.WEIGHTS] = comparison.pack(
            result.checkpoints, result.summary["checkpoint_epochs"], result.final_weights, final_epoch
        )
    if result.landscape is not None:
        artifacts[LANDSCAPE] = orjson.dumps(result.landscape)
    if result.export is not None:
        artifacts[LANDSCAPE_EXPORT] = result.export
    return Result(Status(result.status), NetworkSummary.model_validate(result.summary), frames, artifacts)


def warm_up() -> None:
    """Build every registry optimizer once: torch's first optimizer takes a second to set up,
    which the first request would otherwise pay."""
    for name in optimizers.OPTIMIZERS:
        request = SurfaceRun.model_validate(
            {"surface": "quadratic", "optimizer": {"name": name}, "steps": 2}
        )
        compute_surface(request, "cpu")


def freeze_startup_objects() -> None:
    """Leave what this process (the API or a worker) holds for good out of every later garbage
    collection (`gc.freeze`), once per process. Modules, functions and classes (torch's, pydantic's,
    FastAPI's: some 340,000 objects) are otherwise traversed by each full collection, which holds
    the GIL, and so stops the event loop and every run, for 200–280 ms here; a download or a long
    run sets one off every second or so. Frozen, a full collection takes 10–40 ms (bench/data.py:
    twenty CSV downloads at once)."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
