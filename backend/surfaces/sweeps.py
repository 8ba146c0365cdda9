"""Hyperparameter sweeps (regime maps): the same single-start run once per cell of x × y.

A cell is the single run with that cell's hyperparameters, by construction: the sweep
is one `engine.run` whose starts are copies of the run's start and whose per-start
keywords (`group_kwargs`) are the cells'. For element-wise optimizers the cells are
`(1, 2)` rows in param groups of one optimizer, stepped together; an optimizer that
needs one per start (LBFGS, Adafactor, or ReduceLROnPlateau's schedule) gets one per
cell. Schedules, stop rules, noise, clipping and mini-batches are the engine's own.
"""

from dataclasses import dataclass, replace
from typing import Any

from torch import Tensor

from backend.surfaces import engine
from backend.surfaces.engine import Problem


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


def cells(problem: Problem, x: Axis, y: Axis | None) -> list[dict[str, Any]]:
    """Each cell's optimizer keywords, row-major over (y, x)."""
    ys: list[float | None] = list(y.values) if y is not None else [None]
    return [
        group_settings(problem.optimizer_kwargs,
                       [(x, x_value)] + ([(y, y_value)] if y is not None and y_value is not None else []))
        for y_value in ys for x_value in x.values
    ]


@dataclass
class SweepResult:
    final_loss: Tensor  # (ny, nx) loss where each cell stopped
    stop_step: Tensor  # (ny, nx)
    outcome: Tensor  # (ny, nx) Outcome


def sweep(problem: Problem, x: Axis, y: Axis | None) -> SweepResult:
    """Run `problem` (one start) once per cell of x × y."""
    keywords = cells(problem, x, y)
    grid = replace(
        problem,
        starts=problem.starts[:1].expand(len(keywords), 2).clone(),
        group_kwargs=tuple(keywords),
        record_all=False,
    )
    recording = engine.run(grid)
    shape = (len(y.values) if y is not None else 1, len(x.values))
    return SweepResult(
        final_loss=recording.loss[1].reshape(shape),  # row 1: each start's last step
        stop_step=recording.stop_step.reshape(shape),
        outcome=recording.outcome.reshape(shape),
    )
