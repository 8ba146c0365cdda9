"""Batched trajectory engine: many start points under one real torch optimizer.

B start points are one `(B, 2)` parameter. The loss handed to autograd is the
sum of the B per-row losses, so row b's gradient is ∇f(w_b) alone, and for an
element-wise optimizer (every registry entry with `batched=True`) row b's path
is exactly the path a lone optimizer would take from start b. Optimizers that
mix coordinates of a tensor (LBFGS, Adafactor, Prodigy, LAMB, ...), or keywords
that couple rows (`OptimizerInfo.couplings`), get one optimizer per start.

Step k of a start is the point after k `optimizer.step()` calls. Each start
stops on its own: ‖∇L(w_k)‖ < ε_g or ‖w_k − w_{k−1}‖ < ε_w (converged), a
non-finite value or a point far outside the surface's domain (diverged), or
the step budget (finished). A stopped row is pinned where it stopped while the
others go on. Pure computation: no I/O, no JSON.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import torch
from torch import Tensor
from torch.autograd.graph import _engine_run_backward
from torch.optim import optimizer as torch_optimizer

from backend.optim.optimizers import OptimizerInfo
from backend.optim.schedules import ScheduleInfo
from backend.optim.stopping import StopRules
from backend.surfaces.recording import Recording, allocate, flush, merge, record
from backend.surfaces.tape import TAPES, Tape, as_points

Loss = Callable[[Tensor], Tensor]  # (..., 2) -> (...)
SampleLoss = Callable[[Tensor, Tensor], Tensor]  # (..., 2), sample indices -> (...)
TAPE_MIN_STEPS = 32  # a run this long recovers a recording's cost (about ten gradients)


class Outcome(IntEnum):
    """How one start point ended."""

    RUNNING = 0
    FINISHED = 1  # step budget used up
    CONVERGED_GRAD = 2  # ‖∇L‖ < ε_g
    CONVERGED_STEP = 3  # ‖Δw‖ < ε_w
    DIVERGED = 4
    CANCELLED = 5


RULE_OUTCOME = {"grad_norm": Outcome.CONVERGED_GRAD, "step_norm": Outcome.CONVERGED_STEP}


@dataclass(frozen=True)
class Minibatches:
    """Mini-batch SGD on a data-driven surface: which samples each step sees.

    Every epoch visits all n samples once in batches of `batch_size` (the last
    batch may be smaller), in a fresh seeded permutation when `shuffle`.
    """

    loss: SampleLoss
    n_samples: int
    batch_size: int
    shuffle: bool

    @property
    def batches_per_epoch(self) -> int:
        return -(-self.n_samples // self.batch_size)


@dataclass(frozen=True)
class Problem:
    """Everything one trajectory computation needs, already validated."""

    loss: Loss
    starts: Tensor  # (B, 2)
    optimizer: OptimizerInfo
    optimizer_kwargs: dict[str, Any]
    schedule: ScheduleInfo
    schedule_kwargs: dict[str, Any]
    steps: int
    bounds: tuple[tuple[float, float], tuple[float, float]]  # beyond this box: diverged
    stop: StopRules = field(default_factory=StopRules)
    gradient_noise: float = 0.0
    clip_grad_norm: float | None = None
    seed: int = 0
    record_all: bool = True
    minibatches: Minibatches | None = None
    group_kwargs: tuple[dict[str, Any], ...] | None = None  # per start, e.g. a regime map's cells

    @property
    def per_start(self) -> bool:
        """Each start needs an optimizer of its own: one that mixes coordinates (LBFGS,
        Adafactor) or is given keywords that couple rows (Adan's max_grad_norm), or a schedule
        that watches one loss (ReduceLROnPlateau)."""
        kwargs = self.group_kwargs or (self.optimizer_kwargs,)
        return not self.optimizer.batches(kwargs) or self.schedule.monitors_loss

    def bounds_tensors(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """The divergence box as (lo, hi) tensors of shape (2,)."""
        (x_lo, x_hi), (y_lo, y_hi) = self.bounds
        lo = torch.tensor([x_lo, y_lo], dtype=like.dtype, device=like.device)
        hi = torch.tensor([x_hi, y_hi], dtype=like.dtype, device=like.device)
        return lo, hi


Progress = Callable[[Recording, int], None]  # the live recording and its highest step, per frame


class _Session:
    """One optimizer over B start points, stepped by `run`.

    The points live in one `(B, 2)` tensor, `rows`. The optimizer's parameters share its
    storage: the whole `(B, 2)` tensor (batched starts); B `(1, 2)` rows, each in its own
    param group with its own keywords (a regime map's cells, `group_kwargs`); or, for one
    start of an optimizer that mixes coordinates, the plain `(2,)` vector a user's own
    code would have (Adafactor factors a `(1, 2)` matrix differently).
    """

    def __init__(self, problem: Problem, starts: Tensor, kwargs: list[dict[str, Any]]) -> None:
        self.problem = problem
        self.rows = starts.clone()  # (B, 2)
        if len(kwargs) > 1:
            self.leaves = [torch.nn.Parameter(row) for row in self.rows.split(1)]
            groups = [{"params": [leaf], **kw} for leaf, kw in zip(self.leaves, kwargs, strict=True)]
            # the run's own keywords as the defaults: some classes read a keyword from the
            # optimizer rather than from each group (pytorch_optimizer's LaProp, Ranger, ...)
            self.optimizer = problem.optimizer.build(groups, problem.optimizer_kwargs)
        else:
            shared = problem.optimizer.batches(kwargs)
            self.leaves = [torch.nn.Parameter(self.rows if shared else self.rows[0])]
            self.optimizer = problem.optimizer.build(self.leaves, kwargs[0])
        self.scheduler = problem.schedule.build(self.optimizer, problem.schedule_kwargs, problem.steps)
        # on the CPU whatever the device, so a seed gives the same draws on CPU and CUDA
        self.generator = torch.Generator().manual_seed(problem.seed)
        self.order = torch.arange(0)
        self.batch_index: Tensor | None = None
        self.batch_loss: Tensor | None = None
        # d(Σ_b L_b)/dL_b: handed to backward() instead of summing, one graph node fewer
        self.ones = torch.ones(len(starts), dtype=starts.dtype, device=starts.device)
        self.tapes: dict[tuple[torch.Size, ...], Tape | None] = {}  # by the shapes of the loss's inputs

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def own_lrs(self) -> list[float] | None:
        """Each start's lr where each has a param group of its own, else None (one lr for all)."""
        if len(self.leaves) == 1:
            return None
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    def points(self) -> Tensor:
        """The points (B, 2) as autograd sees them (the optimizer's parameters)."""
        if len(self.leaves) == 1:
            return as_points(self.leaves[0])  # a view is one more graph node
        return torch.cat(tuple(self.leaves))

    def grads(self) -> Tensor:
        """The parameters' gradients as (B, 2): for one leaf its own (or a view of it), for several a copy."""
        if len(self.leaves) == 1:
            grad = self.leaves[0].grad
            assert grad is not None
            return grad if grad.dim() == 2 else grad.view(-1, 2)
        return torch.cat([leaf.grad for leaf in self.leaves])  # type: ignore[misc]

    def samples_for(self, step: int) -> Tensor:
        """Sample indices of the mini-batch used by optimizer step `step` (0-based)."""
        mb = self.problem.minibatches
        assert mb is not None
        position = step % mb.batches_per_epoch
        if position == 0:
            self.order = (
                torch.randperm(mb.n_samples, generator=self.generator)
                if mb.shuffle
                else torch.arange(mb.n_samples)
            ).to(self.rows.device)
        return self.order[position * mb.batch_size : (position + 1) * mb.batch_size]

    def _descended(self) -> tuple[Callable[..., Tensor], tuple[Tensor, ...]]:
        """The loss the step at hand descends and its inputs beyond the points: the mini-batch's
        loss and the batch's indices, or the full loss alone."""
        mb = self.problem.minibatches
        if mb is None:
            return self.problem.loss, ()
        assert self.batch_index is not None
        return mb.loss, (self.batch_index,)

    def _loss(self, points: Tensor) -> Tensor:
        """The loss (B,) the step at hand descends: the mini-batch's, or the full loss."""
        loss, extra = self._descended()
        return loss(points, *extra)

    def gradient(self, step: int) -> tuple[Tensor, Tensor]:
        """Full loss (B,) at the current point and the gradient (B, 2) the next step uses (of
        the mini-batch's loss when batching)."""
        for leaf in self.leaves:
            leaf.grad = None
        mb = self.problem.minibatches
        if mb is not None:
            self.batch_index = self.samples_for(step)
        taped = self._replayed() if len(self.leaves) == 1 else None
        if taped is not None:
            descended, self.leaves[0].grad = taped
        else:
            descended = self._loss(self.points())
            _backward(descended, self.ones)
            descended = descended.detach()
        if mb is None:
            return descended, self.grads()
        self.batch_loss = descended
        with torch.no_grad():
            loss = self.problem.loss(self.rows)
        return loss, self.grads()

    def _replayed(self) -> tuple[Tensor, Tensor] | None:
        """The loss the step descends and its gradient, from a tape of autograd's calls, or None:
        autograd it is. The first evaluation at each shape of the loss's inputs (a mini-batch's
        indices are one) asks `TAPES` for a tape, recording one if none is kept and the run is
        long enough; later evaluations at that shape replay it: the same values, sooner."""
        loss, extra = self._descended()
        shapes = tuple(t.shape for t in extra)
        leaf = self.leaves[0]
        if shapes in self.tapes:
            tape = self.tapes[shapes]
            return None if tape is None else tape(leaf.detach(), self.ones, *extra)
        value, grad, self.tapes[shapes] = TAPES.evaluate(
            loss, leaf, self.ones, *extra, worth_recording=self.problem.steps >= TAPE_MIN_STEPS)
        return value, grad

    def perturb(self, grad: Tensor) -> None:
        """Gradient noise σ·N(0, I) and per-start norm clipping, in place, before the step.

        Every start draws the same noise, so start b of a batched run moves as it would
        alone with the same seed."""
        problem = self.problem
        if problem.gradient_noise > 0:
            noise = torch.randn((1, 2), generator=self.generator, dtype=grad.dtype)
            grad.add_(noise.to(grad.device), alpha=problem.gradient_noise)
        if problem.clip_grad_norm is not None:
            _clip(grad, problem.clip_grad_norm)
        if len(self.leaves) > 1 and (problem.gradient_noise > 0 or problem.clip_grad_norm is not None):
            for leaf, row in zip(self.leaves, grad.split(1), strict=True):
                assert leaf.grad is not None
                leaf.grad.copy_(row)

    def step(self, loss: Tensor) -> None:
        """One `optimizer.step()`, then the schedule. LBFGS gets a closure that evaluates what
        the step at hand descends (the same mini-batch, clipped like the first gradient)."""
        if isinstance(self.optimizer, torch.optim.LBFGS):

            def closure() -> Tensor:
                self.optimizer.zero_grad()
                value = self._loss(self.points()).sum()
                value.backward()
                if self.problem.clip_grad_norm is not None:
                    _clip(self.grads(), self.problem.clip_grad_norm)
                return value

            _step(self.optimizer, closure)
        else:
            _step(self.optimizer)
        # a schedule that watches the loss runs start by start (`per_start`): loss is (1,)
        self.problem.schedule.step(self.scheduler, loss)

    def state(self) -> dict[str, Tensor]:
        """The optimizer's per-coordinate buffers (B, 2) for these points (momentum, moments...)."""
        per_leaf = [self.optimizer.state.get(leaf, {}) for leaf in self.leaves]
        if len(per_leaf) == 1:  # the buffers themselves, or views: the recording copies them
            shape = self.leaves[0].shape
            flat = len(shape) != 2
            return {name: value.view(-1, 2) if flat else value for name, value in per_leaf[0].items()
                    if isinstance(value, Tensor) and value.shape == shape}
        return {
            name: torch.cat([s[name].view(-1, 2) for s in per_leaf])
            for name, value in per_leaf[0].items()
            if isinstance(value, Tensor) and value.shape == self.leaves[0].shape
        }


def _step(optimizer: torch.optim.Optimizer, *closure: Callable[[], Tensor]) -> None:
    """`optimizer.step(*closure)`: the class's own `step`, called past the wrapper torch puts
    around it (`Optimizer.profile_hook_step`) while nothing needs that wrapper: no step hook, no
    profiler, no lr scheduler watching this optimizer's steps (it wraps the instance's `step`).
    The wrapper opens a profiler span on every step whether one listens or not, about a third
    of a `(2,)` Adam step; the update is the same call either way."""
    step = type(optimizer).step
    inner = getattr(step, "__wrapped__", None)
    hooks = (getattr(optimizer, "_optimizer_step_pre_hooks", True),
             getattr(optimizer, "_optimizer_step_post_hooks", True),
             getattr(torch_optimizer, "_global_optimizer_pre_hooks", True),
             getattr(torch_optimizer, "_global_optimizer_post_hooks", True))  # unknown: assume some
    if (inner is None or not getattr(step, "hooked", False) or "step" in vars(optimizer)
            or torch.autograd._profiler_enabled() or any(hooks)):
        optimizer.step(*closure)  # type: ignore[arg-type]
    else:
        inner(optimizer, *closure)


def _backward(loss: Tensor, seed: Tensor) -> None:
    """`loss.backward(seed)`: the same call into torch's C++ autograd engine, past the argument
    checks of `torch.autograd.backward` when there is nothing for them to do: a plain tensor
    and a seed of its own shape and dtype. Those checks cost a (1, 2) point about 20 µs of a
    75 µs backward; the gradients are the same tensors either way."""
    if (type(loss) is not Tensor or loss.shape != seed.shape or loss.dtype != seed.dtype
            or torch._C._are_functorch_transforms_active()):
        loss.backward(seed)
    else:
        _engine_run_backward((loss,), (seed,), False, False, (), True, True)


def _clip(grad: Tensor, max_norm: float) -> None:
    """Scale each row of `grad` (B, 2) to norm ≤ max_norm, in place, as
    `torch.nn.utils.clip_grad_norm_` does for one start (coefficient max_norm / (‖g‖ + 1e−6))."""
    norm = grad.norm(dim=-1, keepdim=True)
    grad.mul_((max_norm / (norm + 1e-6)).clamp(max=1.0))


def _stopped_rows(
    problem: Problem,
    box: tuple[Tensor, Tensor],
    params: Tensor,
    loss: Tensor,
    grad: Tensor,
    previous: Tensor | None,
) -> Tensor | None:
    """Outcome per row (B,) if any stop rule fires at this step, else None (one sync)."""
    if len(params) == 1:
        return _stopped_single(problem, params, loss, grad, previous)
    lo, hi = box
    diverged = ~(((params >= lo) & (params <= hi)).all(dim=1) & torch.isfinite(loss))
    by_grad, by_step = problem.stop.rows(grad, None if previous is None else params - previous)
    fired = diverged
    for mask in (by_grad, by_step):
        if mask is not None:
            fired = fired | mask
    if not bool(fired.any()):
        return None
    status = torch.full_like(loss, Outcome.RUNNING, dtype=torch.int8)
    if by_grad is not None:
        status[by_grad] = Outcome.CONVERGED_GRAD
    if by_step is not None:
        status[by_step] = Outcome.CONVERGED_STEP
    status[diverged] = Outcome.DIVERGED
    return status


def _stopped_single(
    problem: Problem, params: Tensor, loss: Tensor, grad: Tensor, previous: Tensor | None
) -> Tensor | None:
    """`_stopped_rows` for one start, in Python floats (a few syncs beat a dozen tiny kernels),
    with the same roundings: a start stops at the same step alone and in a batch."""
    (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
    ((x, y),) = params.tolist()
    rules = problem.stop
    grad_square = math.inf
    if rules.grad_norm > 0:
        ((gx, gy),) = grad.tolist()
        grad_square = gx * gx + gy * gy
    update_square = None
    if rules.step_norm > 0 and previous is not None:
        ((px, py),) = previous.tolist()
        update_square = (x - px) * (x - px) + (y - py) * (y - py)
    rule = rules.met_squared(grad_square, update_square)
    outcome = RULE_OUTCOME[rule] if rule is not None else Outcome.RUNNING
    if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi and math.isfinite(loss.item())):
        outcome = Outcome.DIVERGED
    if outcome == Outcome.RUNNING:
        return None
    return torch.full((1,), outcome, dtype=torch.int8, device=params.device)


def run(
    problem: Problem,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    frame_seconds: float = 0.05,
) -> Recording:
    """Run the problem; the recording is filled in place, `progress` sees each frame."""
    starts = problem.starts
    kwargs = list(problem.group_kwargs) if problem.group_kwargs else [problem.optimizer_kwargs]
    if not problem.per_start:
        return _run_batch(problem, starts, kwargs, progress, cancelled, frame_seconds)
    parts = [
        _run_batch(problem, starts[b : b + 1], [kwargs[b if len(kwargs) > 1 else 0]],
                   progress if len(starts) == 1 else None, cancelled, frame_seconds)
        for b in range(len(starts))
    ]
    merged = merge(parts, own_lr=problem.schedule.monitors_loss)
    if progress is not None and len(starts) > 1:
        progress(merged, merged.steps_done)
    return merged


def _run_batch(
    problem: Problem,
    starts: Tensor,
    kwargs: list[dict[str, Any]],
    progress: Progress | None,
    cancelled: Callable[[], bool] | None,
    frame_seconds: float,
) -> Recording:
    """Steps 0, 1, ... of `starts` under one session until every start has stopped. One loop,
    longer than most functions here, because every step reads and writes the same per-start
    state (outcomes, stop steps, pinned points, the previous point) in a fixed order: gradient,
    stop rules, record, frame, perturb, step, pin."""
    began = time.perf_counter()
    n = len(starts)
    rows = problem.steps + 1 if problem.record_all else 2
    rec = allocate(problem.starts, n, rows, problem.minibatches is not None)
    session = _Session(problem, starts, kwargs)
    outcome = torch.full((n,), Outcome.RUNNING, dtype=torch.int8, device=starts.device)
    stop_step = torch.full((n,), problem.steps, dtype=torch.int64, device=starts.device)
    pinned = starts.clone()  # where stopped rows stay
    previous: Tensor | None = None
    last_frame = time.perf_counter()
    mb = problem.minibatches

    box = problem.bounds_tensors(starts)
    running = n  # rows not stopped yet
    k = 0
    lr_used, own_lrs = session.lr, session.own_lrs()
    while True:
        loss, grad = session.gradient(k)
        params = session.rows
        status = _stopped_rows(problem, box, params, loss, grad, previous)
        if k == problem.steps:
            status = (torch.full_like(outcome, Outcome.FINISHED) if status is None else
                      torch.where(status == Outcome.RUNNING, int(Outcome.FINISHED), status))
        if cancelled is not None and cancelled():
            status = torch.full_like(outcome, Outcome.CANCELLED)
        fired = None
        if status is not None:
            fired = (outcome == Outcome.RUNNING) & (status != Outcome.RUNNING)
            outcome[fired] = status[fired]
            stop_step[fired] = k
            pinned[fired] = params[fired]
            running = int((outcome == Outcome.RUNNING).sum())
        record(rec, problem.record_all, k, lr_used, params, loss, grad, fired,
               session.state if k > 0 else dict, session.batch_loss, own_lrs)
        if mb is not None:
            assert rec.epoch is not None
            rec.epoch.append(0 if k == 0 else (k - 1) // mb.batches_per_epoch + 1)
        rec.steps_done = k
        if progress is not None and (
            running == 0 or time.perf_counter() - last_frame >= frame_seconds
        ):
            flush(rec)
            progress(rec, k)
            last_frame = time.perf_counter()
        if running == 0:
            break
        session.perturb(grad)
        if problem.stop.step_norm > 0:
            previous = params.clone()
        lr_used, own_lrs = session.lr, session.own_lrs()
        session.step(loss)
        k += 1
        if running < n:
            with torch.no_grad():
                stopped = outcome != Outcome.RUNNING
                session.rows[stopped] = pinned[stopped]

    flush(rec)
    rec.outcome = outcome
    rec.stop_step = stop_step
    rec.elapsed_s = time.perf_counter() - began
    return rec
