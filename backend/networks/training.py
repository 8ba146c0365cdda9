"""The instrumented training loop of a network run. Pure computation: results go out
through `emit(kind, records)`; nothing here knows about HTTP, JSON encoding or storage.

`train` prepares the run (`backend.networks.prepared`: seeded data and model), ends
epoch 0 (the initialisation), then alternates an epoch of optimizer steps
(`backend.networks.steps`) with the end of that epoch (`backend.networks.epochs`:
evaluation, checkpoint, schedule, decision boundary, early stopping) until the epochs
are used up or the run stops. Records go out in frames (`backend.networks.frames`).

Learning-rate schedules step once per epoch (their `total_steps` is the number of
epochs, so `step_size`, `T_max`, … count epochs), except OneCycleLR and CyclicLR,
which step after every batch (their `total_steps` is epochs × batches per epoch)
and ReduceLROnPlateau, which steps once per epoch with the validation loss (the
training loss when there is no validation split).

A non-finite batch or training loss ends the run as `diverged` — a result, not an
exception; a stop rule ends it as `converged` after its epoch is evaluated as usual.
Then, unless the run diverged or was cancelled: the test split is evaluated exactly
once, through the module-level `evaluate` (tests count its calls), the final boundary
drawn, the landscape surveyed (`backend.networks.landscape`) and the sharpness
measured (`backend.networks.sharpness`; a diverged run gets its initial sharpness).
"""

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from backend.networks import landscape as L
from backend.networks.boundary import Boundary
from backend.networks.datasets import Split
from backend.networks.epochs import EpochEnd
from backend.networks.frames import Emit, Frames
from backend.networks.prepared import SEED_STREAMS, Prepared, eval_subset, generator, prepare, sub_seed
from backend.networks.progress import Ending, Progress
from backend.networks.sharpness import sharpness
from backend.networks.spec import NetworkRun
from backend.networks.steps import Steps
from backend.optim.optimizers import get_optimizer
from backend.optim.schedules import get_schedule

__all__ = ["SEED_STREAMS", "Ending", "Prepared", "TrainingResult", "eval_subset", "evaluate", "generator",
           "prepare", "sub_seed", "train"]

EVAL_BLOCK = 8192  # samples per forward when evaluating a split


@dataclass
class TrainingResult:
    """What a finished (or stopped) network run leaves behind."""

    status: Ending
    summary: dict[str, Any]
    landscape: dict[str, Any] | None = None
    export: bytes | None = None  # torch.save of the landscape (weights, directions, grid)
    checkpoints: Tensor | None = None  # (n_checkpoints, n_params) on the CPU, row 0 the init
    final_weights: Tensor | None = None  # (n_params,) the weights the run ended with (CPU)


def evaluate(model: nn.Module, split: Split, loss_fn: Callable[[Tensor, Tensor], Tensor],
             classification: bool) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) over a whole split, eval mode, no grad."""
    if len(split) == 0:
        return math.nan, None
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=split.x.device)
    correct = torch.zeros((), device=split.x.device)
    with torch.no_grad():
        for start in range(0, len(split), EVAL_BLOCK):
            x, y = split.x[start:start + EVAL_BLOCK], split.y[start:start + EVAL_BLOCK]
            out = model(x)
            total += loss_fn(out, y) * len(x)
            if classification:
                correct += (out.argmax(-1) == y).sum()
    model.train(was_training)
    loss, hits = torch.stack([total, correct]).tolist()
    return loss / len(split), (hits / len(split) if classification else None)


def train(request: NetworkRun, device: torch.device, emit: Emit, cancelled: Callable[[], bool],
          frame_seconds: float = 0.05) -> TrainingResult:
    """Run the request on `device`; records go to `emit` as they come, the result at the end."""
    began = time.perf_counter()
    prep = prepare(request, device)
    optimizer = get_optimizer(request.optimizer.name).build(list(prep.model.parameters()),
                                                            request.hyperparameters())
    schedule = get_schedule(request.schedule.name)
    scheduler = schedule.build(optimizer, request.schedule_kwargs(), prep.plan.schedule_steps)
    frames, progress = Frames(emit, frame_seconds), Progress()
    boundary = Boundary.of(request, prep, device)
    steps = Steps(request, prep, optimizer, schedule, scheduler, frames, progress)
    end_epoch = EpochEnd(request, prep, schedule, scheduler, frames, boundary, emit, evaluate, progress)
    setup_s = time.perf_counter() - began
    _epochs(request.epochs, steps, end_epoch, frames, progress, cancelled)
    train_s = time.perf_counter() - began

    end_epoch.restore_best()
    final = L.weights_of(prep.model)
    summary = progress.summary(request, prep, device)
    summary |= {"setup_s": setup_s, "epoch_end_s": progress.epoch_end_s,
                "step_loop_s": train_s - setup_s - progress.epoch_end_s}
    checkpoints = torch.stack(progress.checkpoints)
    result = TrainingResult(progress.status, summary, checkpoints=checkpoints.cpu(),
                            final_weights=final.cpu())
    if progress.status in (Ending.CANCELLED, Ending.DIVERGED):
        if progress.status is Ending.DIVERGED:  # how sharp the start was says why
            summary |= sharpness(request, prep, checkpoints[0], None)
        summary["elapsed_s"] = summary["train_s"] = train_s
        return result

    summary |= _test_metrics(prep)
    if boundary is not None:
        epoch = progress.best_epoch if progress.restored else progress.epochs_run
        emit("boundary", [boundary.snapshot(prep.model, epoch, final=True)])
    if request.landscape is not None:
        _survey(request, prep, checkpoints, progress.checkpoint_epochs, final, emit, cancelled, result)
    if result.status is not Ending.CANCELLED:
        summary |= sharpness(request, prep, checkpoints[0], final)
    summary["train_s"] = train_s
    summary["elapsed_s"] = time.perf_counter() - began
    return result


def _epochs(epochs: int, steps: Steps, end_epoch: EpochEnd, frames: Frames, progress: Progress,
            cancelled: Callable[[], bool]) -> None:
    """End epoch 0, then run epochs of steps, each followed by its end, until one says stop;
    the outcome is in `progress` and every record has been emitted."""
    ended = end_epoch(0, steps.lr)
    for epoch in range(1, epochs + 1):
        if ended:
            break
        steps.epoch(epoch, cancelled)
        if progress.status in (Ending.CANCELLED, Ending.DIVERGED):
            break
        progress.diverged_at = frames.materialise()
        if progress.diverged_at is not None:
            progress.status = Ending.DIVERGED
            break
        ended = end_epoch(epoch, steps.lr)
        if frames.due():
            frames.flush()
        if progress.converged_at is not None:
            if progress.status is not Ending.DIVERGED:
                progress.status = Ending.CONVERGED
            break
    if progress.diverged_at is None:
        progress.diverged_at = frames.materialise()
    frames.flush()
    if progress.diverged_at is not None:
        progress.status = Ending.DIVERGED


def _test_metrics(prep: Prepared) -> dict[str, Any]:
    """The one evaluation of the test split (none without a test split)."""
    test_loss, test_acc = (evaluate(prep.model, prep.test, prep.loss_fn, prep.data.classification)
                           if len(prep.test) else (None, None))
    return {"test_loss": test_loss, "test_accuracy": test_acc, "test_evaluations": 1 if len(prep.test) else 0}


def _survey(request: NetworkRun, prep: Prepared, checkpoints: Tensor, epochs: list[int], final: Tensor,
            emit: Emit, cancelled: Callable[[], bool], result: TrainingResult) -> None:
    """Survey the landscape around `final` into `result` (its report and export, or the
    status `cancelled`), timed as the summary's `landscape_s`."""
    spec = request.landscape
    assert spec is not None
    began = time.perf_counter()
    g = generator(request.seed, "landscape")
    data = eval_subset(prep, spec.eval_samples, g)
    try:
        survey = L.survey(prep.model, data, checkpoints, epochs, final, spec.directions,
                          filter_normalize=spec.filter_normalize, shape=spec.shape, span=spec.span,
                          generator=g, emit=lambda message: emit("landscape", [message]), cancelled=cancelled)
    except L.Cancelled:
        result.status = Ending.CANCELLED
    else:
        result.landscape = survey.report
        buffer = io.BytesIO()
        torch.save(survey.export, buffer)
        result.export = buffer.getvalue()
    result.summary["landscape_s"] = time.perf_counter() - began
