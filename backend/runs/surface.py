"""A surface-run request turned into an engine problem, and its recording into step columns."""

import functools
import math
from typing import Any

import numpy as np
import torch

from backend.optim import optimizers, schedules
from backend.optim.stopping import StopRules
from backend.runs.columns import Node, Path, StepColumns
from backend.runs.model import StartOutcomes, Status, SurfaceSummary
from backend.surfaces.catalogue import SURFACES, Point
from backend.surfaces.engine import Minibatches, Outcome, Problem
from backend.surfaces.expressions import parse_expression
from backend.surfaces.recording import Recording
from backend.surfaces.spec import CustomSurface, SurfaceRun, divergence_box, surface_domain

DTYPE = torch.float64
OUTCOME_STATUS = {
    Outcome.RUNNING: Status.RUNNING,
    Outcome.FINISHED: Status.FINISHED,
    Outcome.CONVERGED_GRAD: Status.CONVERGED,
    Outcome.CONVERGED_STEP: Status.CONVERGED,
    Outcome.DIVERGED: Status.DIVERGED,
    Outcome.CANCELLED: Status.CANCELLED,
}
MINIMUM_TOLERANCE = 1e-2  # a start "reached" a minimum within this distance


def surface_loss(surface: "str | CustomSurface") -> Any:
    if isinstance(surface, str):
        return SURFACES[surface].fn
    return formula_loss(surface.expression)


@functools.lru_cache(maxsize=64)
def formula_loss(text: str) -> Any:
    """A validated formula's function, one per text: a slider dragged over a typed surface
    asks for the same function each time, so the engine's kept tape of its gradient serves."""
    return parse_expression(text).fn


def choose_device(request: SurfaceRun, device: str) -> torch.device:
    """The worker's device for big batches; tiny runs are faster on the CPU than a launch."""
    if device.startswith("cuda") and len(request.start_points()) >= 1024:
        return torch.device(device)
    return torch.device("cpu")


def build_problem(request: SurfaceRun, device: torch.device) -> Problem:
    """The engine's input for a validated request."""
    minibatches = None
    if request.batch_size is not None:
        assert isinstance(request.surface, str)
        samples = SURFACES[request.surface].samples
        assert samples is not None
        minibatches = Minibatches(
            loss=samples.loss,
            n_samples=len(samples.targets),
            batch_size=request.batch_size,
            shuffle=request.shuffle,
        )
    box = divergence_box(surface_domain(request.surface))
    return Problem(
        loss=surface_loss(request.surface),
        starts=torch.tensor(request.start_points(), dtype=DTYPE, device=device),
        optimizer=optimizers.get_optimizer(request.optimizer.name),
        optimizer_kwargs=request.hyperparameters(),
        schedule=schedules.get_schedule(request.schedule.name),
        schedule_kwargs=request.schedule_kwargs(),
        steps=request.steps,
        bounds=(box[0], box[1]),
        stop=StopRules(request.stop.grad_norm, request.stop.step_norm),
        gradient_noise=request.gradient_noise,
        clip_grad_norm=request.clip_grad_norm,
        seed=request.seed,
        record_all=request.record == "all",
        minibatches=minibatches,
    )


def step_columns(request: SurfaceRun, rec: Recording, first: int, last: int) -> StepColumns:
    """Recorded rows first..last (inclusive) as the columns of their step records, each row
    {step, params, loss, grad, lr, state: {buffer: ...}, effective_lr?, epoch?, batch_loss?}
    (`state` is `{}` at step 0), exactly the columns `columns.from_records` makes of them.

    A float64 recording on the CPU is shared, not copied: a recorded row is never written
    again, so the columns are views of its tensors (and keep all of it: `backend.runs.log`
    counts it so). Non-finite numbers stay NaN; the encoder writes them as null."""
    single = not request.batched
    rows = slice(first, last + 1)
    count = max(0, last + 1 - first)

    def floats(t: torch.Tensor) -> np.ndarray:  # (count, B, ...) rows; a lone start's: (count, ...)
        return (t[:, 0] if single else t).to("cpu", torch.float64).numpy()

    if request.record == "all":
        steps = np.arange(first, first + count, dtype=np.int64)
    else:
        steps = np.array([0, rec.steps_done][rows], dtype=np.int64)
    values: dict[Path, np.ndarray] = {
        ("step",): steps,
        ("params",): floats(rec.params[rows]),
        ("loss",): floats(rec.loss[rows]),
        ("grad",): floats(rec.grad[rows]),
        ("lr",): (np.array(rec.lr[rows], dtype=np.float64) if rec.start_lr is None  # one for all
                  else floats(rec.start_lr[rows])),  # each start's own
    }
    later = steps > 0  # rows that hold the optimizer's buffers
    state: dict[Path, np.ndarray] = {("state", name): floats(t[rows]) for name, t in rec.state.items()
                                     } if later.any() else {}
    values.update(state)
    effective = effective_lr(request, rec, rows)
    if effective is not None:  # a copy: it is cut from a larger block (`effective_lr`)
        values[("effective_lr",)] = floats(effective).copy()
    null: dict[Path, np.ndarray] = {}
    if rec.epoch is not None:
        if request.record == "all":
            values[("epoch",)] = np.array(rec.epoch[rows], dtype=np.int64)
        else:
            values[("epoch",)], null[("epoch",)] = np.zeros(count, np.int64), np.ones(count, bool)
        if rec.batch_loss is not None:
            values[("batch_loss",)] = floats(rec.batch_loss[rows])
        else:
            values[("batch_loss",)], null[("batch_loss",)] = np.zeros(count, np.int64), np.ones(count, bool)
    nodes = [Node(path, "int" if array.dtype == np.int64 else "float", array.shape[1:])
             for path, array in values.items()]
    nodes.insert(list(values).index(("lr",)) + 1, Node(("state",), "dict"))  # before its buffers
    present = {path: later for path in state} if not later.all() else {}
    return StepColumns(count, tuple(nodes), values, present, null)


EFFECTIVE_BLOCK = 64  # rows: effective_lr computes whole aligned blocks of this many


def effective_lr(request: SurfaceRun, rec: Recording, rows: slice) -> torch.Tensor | None:
    """Per-coordinate step factor of an adaptive optimizer for recorded rows, from its state:
    None for an optimizer without one; NaN (null on the wire) where it is not known, as at
    step 0, so whether a record has the field never depends on how steps fell into frames.

    Nor do its bits: torch's vectorised `pow` (β^t) rounds a row in a SIMD lane and in the
    scalar tail differently, so the factor is computed over whole aligned blocks of
    `EFFECTIVE_BLOCK` rows and cut to `rows`, wherever a frame begins or ends."""
    rule = optimizers.EFFECTIVE_LR.get(request.optimizer.name)
    if rule is None:
        return None
    if not rec.state:
        return torch.full_like(rec.params[rows], math.nan)
    block = slice(rows.start - rows.start % EFFECTIVE_BLOCK,
                  min(len(rec.params), -(-rows.stop // EFFECTIVE_BLOCK) * EFFECTIVE_BLOCK))
    state = {name: t[block] for name, t in rec.state.items()}
    before = None
    if request.record == "all":  # step k's buffers before it: step k − 1's, zeros before step 1
        before = {name: _previous(t, block) for name, t in rec.state.items()}
    n_rows = block.stop - block.start
    if rec.start_lr is not None:  # each start's own, NaN where it stopped
        lr = rec.start_lr[block][:, :, None]
    else:
        lrs = rec.lr[block] + [math.nan] * (n_rows - len(rec.lr[block]))  # NaN: rows not reached yet
        lr = torch.tensor(lrs, dtype=rec.params.dtype, device=rec.params.device)[:, None, None]
    if request.record == "all":
        t = torch.arange(block.start, block.stop, device=lr.device, dtype=lr.dtype)
        t = t[:, None, None].expand(n_rows, rec.params.shape[1], 1)
    else:
        ends = torch.stack([torch.zeros_like(rec.stop_step), rec.stop_step]) if len(
            rec.stop_step) else torch.zeros(2, rec.params.shape[1], dtype=torch.int64)
        t = ends[block].to(lr.dtype)[..., None]
    try:
        factor = rule(request.hyperparameters(), state, before, lr, t)
    except KeyError:  # a buffer this configuration does not keep
        return None
    if factor is None:
        return torch.full_like(rec.params[rows], math.nan)
    return factor[rows.start - block.start : rows.stop - block.start]


def _previous(buffer: torch.Tensor, rows: slice) -> torch.Tensor:
    """Rows `rows` of a buffer one step earlier: row k − 1 for k ≥ 2, zeros for steps 0 and 1
    (row 0 holds no buffers: they exist from the first step on)."""
    first = min(max(rows.start, 2), rows.stop)
    return torch.cat([torch.zeros_like(buffer[rows.start : first]), buffer[first - 1 : rows.stop - 1]])


def recorded_rows(request: SurfaceRun, rec: Recording) -> int:
    """How many rows of the recording are filled (steps_done + 1, or 2 for the ends)."""
    return rec.steps_done + 1 if request.record == "all" else min(2, rec.steps_done + 1)


def run_status(rec: Recording) -> Status:
    """One status for the run: the start's, or for many starts the common one (else finished)."""
    statuses = {OUTCOME_STATUS[Outcome(int(o))] for o in rec.outcome.tolist()}
    if len(statuses) == 1:
        return statuses.pop()
    if Status.CANCELLED in statuses:
        return Status.CANCELLED
    return Status.FINISHED


REASONS = {
    Outcome.FINISHED: "budget",
    Outcome.CONVERGED_GRAD: "grad_norm",
    Outcome.CONVERGED_STEP: "step_norm",
    Outcome.DIVERGED: "diverged",
    Outcome.CANCELLED: "cancelled",
}


def _message(request: SurfaceRun, outcome: Outcome, step: int) -> str:
    if outcome == Outcome.CONVERGED_GRAD:
        return f"‖∇L‖ < {request.stop.grad_norm:g} at step {step}"
    if outcome == Outcome.CONVERGED_STEP:
        return f"‖Δw‖ < {request.stop.step_norm:g} at step {step}"
    if outcome == Outcome.DIVERGED:
        return f"diverged at step {step}"
    if outcome == Outcome.CANCELLED:
        return f"cancelled at step {step}"
    return f"step budget of {request.steps} used up"


def nearest_minimum(surface: "str | CustomSurface", final: torch.Tensor) -> list[int | None]:
    """Index of the catalogue minimum each final point lies within MINIMUM_TOLERANCE of."""
    minima: tuple[Point, ...] = SURFACES[surface].minima if isinstance(surface, str) else ()
    if not minima:
        return [None] * len(final)
    centres = torch.tensor([[m.x, m.y] for m in minima], dtype=final.dtype, device=final.device)
    distance = torch.cdist(torch.nan_to_num(final, nan=1e300), centres)  # (B, M)
    best, index = distance.min(dim=1)
    return [int(i) if d < MINIMUM_TOLERANCE else None for d, i in zip(best.tolist(),
                                                                      index.tolist(), strict=True)]


def summarize(request: SurfaceRun, rec: Recording, device: str) -> SurfaceSummary:
    """The run's summary: why it stopped, where each start ended."""
    outcome = [Outcome(int(o)) for o in rec.outcome.tolist()]
    stop_step = rec.stop_step.tolist()
    last_row = rec.stop_step if request.record == "all" else torch.ones_like(rec.stop_step)
    index = torch.arange(len(outcome), device=rec.params.device)
    final = rec.params[last_row, index]  # (B, 2)
    final_loss = rec.loss[last_row, index]
    statuses = [OUTCOME_STATUS[o] for o in outcome]
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.value] = counts.get(s.value, 0) + 1
    final_list = final.cpu().tolist()
    loss_list = final_loss.cpu().tolist()
    if len(outcome) == 1:
        reason = REASONS.get(outcome[0], "budget")
        message = _message(request, outcome[0], stop_step[0])
    else:
        reasons = {REASONS.get(o, "budget") for o in outcome}
        reason = reasons.pop() if len(reasons) == 1 else "mixed"
        message = ", ".join(f"{n} {s}" for s, n in counts.items())
    summary = SurfaceSummary(
        steps=rec.steps_done,
        stop_reason=reason,
        stop_step=stop_step[0] if not request.batched else None,
        message=message,
        final_params=tuple(final_list[0]) if not request.batched else None,
        final_loss=loss_list[0] if not request.batched else None,
        counts=counts,
        elapsed_ms=rec.elapsed_s * 1000,
        device=device,
    )
    if request.batched:
        summary.starts = StartOutcomes(
            status=statuses,
            stop_step=stop_step,
            final_params=[tuple(p) for p in final_list],
            final_loss=loss_list,
            minimum=nearest_minimum(request.surface, final),
        )
    return summary
