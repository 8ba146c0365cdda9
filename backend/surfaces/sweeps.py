"""Hyperparameter sweeps (regime maps): one torch optimizer, one param group per cell.

Every cell of an (x, y) grid of hyperparameter values is a `(1, 2)` leaf in its
own param group, so the real optimizer applies each cell's lr / momentum / β to
that cell only, and one `step()` advances the whole map. Each cell records the
step at which it converged or diverged and its loss there.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from backend.surfaces.engine import Outcome, Problem


@dataclass(frozen=True)
class Axis:
    """A swept hyperparameter: a keyword of the optimizer, or beta1/beta2 (one of `betas`)."""

    param: str
    values: tuple[float, ...]


def group_settings(base: dict[str, Any], axes: list[tuple[Axis, float]]) -> dict[str, Any]:
    """The optimizer keywords of one cell: `base` with each axis set to its value."""
    settings = dict(base)
    for axis, value in axes:
        if axis.param in ("beta1", "beta2"):
            betas = list(settings["betas"])
            betas[0 if axis.param == "beta1" else 1] = value
            settings["betas"] = tuple(betas)
        else:
            settings[axis.param] = value
    return settings


@dataclass
class SweepResult:
    final_loss: Tensor  # (ny, nx) loss where each cell stopped
    stop_step: Tensor  # (ny, nx)
    outcome: Tensor  # (ny, nx) Outcome


def sweep(problem: Problem, x: Axis, y: Axis | None) -> SweepResult:
    """Run `problem` (one start) once per cell of x × y, as param groups of one optimizer."""
    ys: list[float | None] = list(y.values) if y is not None else [None]
    start = problem.starts[:1]
    leaves: list[Tensor] = []
    groups: list[dict[str, Any]] = []
    for y_value in ys:
        for x_value in x.values:
            cell = torch.nn.Parameter(start.clone())
            axes = [(x, x_value)] + ([(y, y_value)] if y is not None and y_value is not None
                                      else [])
            leaves.append(cell)
            groups.append({"params": [cell], **group_settings(problem.optimizer_kwargs, axes)})
    optimizer = problem.optimizer.build(groups, {})
    scheduler = problem.schedule.build(optimizer, problem.schedule_kwargs, problem.steps)
    n = len(leaves)
    outcome = torch.full((n,), Outcome.RUNNING, dtype=torch.int8)
    stop_step = torch.full((n,), problem.steps, dtype=torch.int64)
    final_loss = torch.full((n,), math.nan, dtype=start.dtype)
    lo, hi = problem.bounds_tensors(start)
    generator = torch.Generator().manual_seed(problem.seed)
    for k in range(problem.steps + 1):
        optimizer.zero_grad()
        points = torch.cat(leaves)  # (n, 2)
        loss = problem.loss(points)
        loss.sum().backward()
        with torch.no_grad():
            grads = torch.cat([leaf.grad for leaf in leaves])  # type: ignore[misc]
            running = outcome == Outcome.RUNNING
            diverged = ~(((points >= lo) & (points <= hi)).all(dim=1) & torch.isfinite(loss))
            by_grad, _ = problem.stop.rows(grads, None)
            converged = by_grad if by_grad is not None else torch.zeros_like(running)
            fired = running & (diverged | converged | (k == problem.steps))
            status = torch.where(
                diverged,
                int(Outcome.DIVERGED),
                torch.where(converged, int(Outcome.CONVERGED_GRAD), int(Outcome.FINISHED)),
            ).to(torch.int8)
            outcome[fired] = status[fired]
            stop_step[fired] = k
            final_loss[fired] = loss[fired]
            if not bool((outcome == Outcome.RUNNING).any()):
                break
            if problem.gradient_noise > 0:
                for leaf in leaves:
                    assert leaf.grad is not None
                    leaf.grad.add_(torch.randn(leaf.shape, generator=generator,
                                               dtype=leaf.dtype), alpha=problem.gradient_noise)
        optimizer.step()
        problem.schedule.step(scheduler, loss.nansum())
    shape = (len(ys), len(x.values))
    return SweepResult(
        final_loss=final_loss.reshape(shape),
        stop_step=stop_step.reshape(shape),
        outcome=outcome.reshape(shape),
    )
