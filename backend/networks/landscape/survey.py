"""The whole survey of one run (directions, projection, a grid streamed as preview →
refinements → done), and several runs compared on one plane."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from backend.networks.landscape.directions import (
    hessian_directions,
    orient,
    pca_directions,
    project,
    random_directions,
)
from backend.networks.landscape.evaluator import EvalData, Evaluator, axis, grid_coefficients
from backend.networks.landscape.weights import Layout, load_weights
from backend.networks.models import loss_function

# --- several runs on one plane -------------------------------------------------------------


class DifferentStarts(ValueError):
    """Runs compared on one plane must share their initial weights."""


@dataclass
class Plane:
    """A plane origin + a·u + b·v and each run's path in it."""

    origin: Tensor
    u: Tensor
    v: Tensor
    explained_variance: Tensor
    paths: list[Tensor]  # per run (m_r, 2)
    residuals: list[Tensor]  # per run (m_r,)


def compare_plane(runs: list[Tensor], generator: torch.Generator | None = None) -> Plane:
    """One PCA plane for several runs from a shared start (each run's checkpoints (m_r, n),
    row 0 the shared initial weights). Origin: the start; directions: PCA of all
    checkpoints minus the start; each run's path projected without centring."""
    origin = runs[0][0]
    for i, run in enumerate(runs):
        if not torch.equal(run[0], origin):
            raise DifferentStarts(f"run {i} does not start from the same weights as run 0")
    stacked = torch.cat(runs)
    u, v, explained = pca_directions(stacked, origin, generator)
    ends = torch.stack([r[-1] for r in runs]).mean(0) - origin  # orient toward where runs go
    u, v = orient(u, ends), orient(v, ends)
    projected = [project(run, origin, u, v) for run in runs]
    return Plane(origin, u, v, explained, [p[0] for p in projected], [p[1] for p in projected])


# --- the whole survey of one run -----------------------------------------------------------


@dataclass
class Survey:
    """A finished landscape: the JSON-able report and the tensors of the export file."""

    report: dict[str, Any]
    export: dict[str, Any] = field(default_factory=dict)


def as_floats(t: Tensor) -> list[Any]:
    return t.detach().double().cpu().tolist()


def _grid_message(stage: str, progress: float, a: Tensor, b: Tensor, loss: Tensor,
                  accuracy: Tensor | None) -> dict[str, Any]:
    return {"stage": stage, "progress": progress, "a": as_floats(a), "b": as_floats(b),
            "loss": as_floats(loss), "accuracy": None if accuracy is None else as_floats(accuracy)}


def survey(model: nn.Module, data: EvalData, checkpoints: Tensor, checkpoint_epochs: Iterable[int],
           final: Tensor, directions: str, *, filter_normalize: bool = True,
           shape: tuple[int, int] = (41, 41), span: float = 1.0, generator: torch.Generator,
           emit: Callable[[dict[str, Any]], None] | None = None,
           cancelled: Callable[[], bool] | None = None, frame_seconds: float = 0.25,
           preview: int = 11, hessian_iters: int = 30) -> Survey:
    """Directions, the trajectory in the plane, a coarse preview, then the full grid.

    `emit` receives grid frames: first the `preview` (≈ 11 × 11) grid, then `refine`
    frames at full resolution every `frame_seconds` (cells not computed yet are
    bilinearly interpolated from the preview), then `done`. Axis half-widths: `span`
    for random directions (filter-normalised units); for pca and hessian `span` ×
    the larger of 1.1 × the trajectory's extent along the axis and 0.1 × its
    farthest distance from w*, so span = 1 frames the whole path.
    """
    began = time.perf_counter()
    evaluator = Evaluator(model, data)
    load_weights(model, final)
    u, v, explained, eigenvalues = _directions(model, data, checkpoints, final, directions,
                                               filter_normalize, generator, hessian_iters)
    coords, residual = project(checkpoints, final, u, v)
    half = [span, span]
    if directions != "random":
        reach = float((checkpoints - final).norm(dim=1).max())
        extent = coords.abs().max(dim=0).values.tolist()
        half = [span * max(1.1 * e, 0.1 * reach) or span for e in extent]  # `or`: a path that never moved
    grid = _StreamedGrid(evaluator, final, torch.stack([u, v]), half, shape, emit, cancelled, frame_seconds)
    trajectory = as_floats(coords)
    grid.preview(preview, trajectory)
    preview_s = time.perf_counter() - began
    loss, accuracy = grid.full()

    true_loss, _ = evaluator.points(checkpoints, cancelled=cancelled)
    slice_loss, _ = evaluator.plane(final, grid.basis, coords.to(final.dtype), cancelled=cancelled)
    final_loss, _ = evaluator.points(final.unsqueeze(0))
    alphas = (torch.arange(41, dtype=torch.float64) - 10) / 20  # −0.5 … 1.5; 0 and 1 exact
    i_loss, i_acc = evaluator.plane(checkpoints[0], (final - checkpoints[0]).unsqueeze(0),
                                    alphas.view(-1, 1).to(final.device), cancelled=cancelled)
    layout = Layout.of(model)
    report = {
        "directions": directions,
        "filter_normalize": filter_normalize if directions == "random" else False,
        "a": as_floats(grid.a), "b": as_floats(grid.b), "loss": as_floats(loss),
        "accuracy": None if accuracy is None else as_floats(accuracy),
        "trajectory": trajectory, "checkpoint_epochs": list(checkpoint_epochs),
        "residual": as_floats(residual), "true_loss": as_floats(true_loss),
        "slice_loss": as_floats(slice_loss),
        "final_loss": float(final_loss[0]),
        "explained_variance": None if explained is None else as_floats(explained),
        "eigenvalues": None if eigenvalues is None else as_floats(eigenvalues),
        "eval_samples": len(data),
        "interpolation": {"alpha": as_floats(alphas), "loss": as_floats(i_loss),
                          "accuracy": None if i_acc is None else as_floats(i_acc)},
        "preview_s": preview_s, "elapsed_s": time.perf_counter() - began,
    }
    export = {
        "weights": {n: t.detach().cpu().clone() for n, t in layout.unflatten(final).items()},
        "directions": [{n: t.detach().cpu().clone() for n, t in layout.unflatten(d).items()} for d in (u, v)],
        "a": grid.a.float(), "b": grid.b.float(), "loss": loss.detach().cpu(),
        "accuracy": None if accuracy is None else accuracy.detach().cpu(),
        "eval_samples": len(data), "kind": directions,
    }
    return Survey(report, export)


def _directions(model: nn.Module, data: EvalData, checkpoints: Tensor, final: Tensor, directions: str,
                filter_normalize: bool, generator: torch.Generator,
                hessian_iters: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """u, v, and the explained variance (pca) or the eigenvalues (hessian)."""
    if directions == "random":
        u, v = random_directions(model, generator, filter_normalize)
        return u, v, None, None
    if directions == "pca":
        u, v, explained = pca_directions(checkpoints, final, generator)
        return u, v, explained, None
    if directions == "hessian":
        u, v, eigenvalues = hessian_directions(model, loss_function(data.classification), data,
                                               hessian_iters, generator, checkpoints[0] - final)
        return u, v, None, eigenvalues
    raise ValueError(f"unknown landscape directions {directions!r}")


class _StreamedGrid:
    """The loss grid of origin + a·u + b·v, streamed: a coarse preview, refinements, then done."""

    def __init__(self, evaluator: Evaluator, origin: Tensor, basis: Tensor, half: list[float],
                 shape: tuple[int, int], emit: Callable[[dict[str, Any]], None] | None,
                 cancelled: Callable[[], bool] | None, frame_seconds: float) -> None:
        self.evaluator, self.origin, self.basis = evaluator, origin, basis
        self.half, self.shape = half, shape
        self.emit, self.cancelled, self.frame_seconds = emit, cancelled, frame_seconds
        ny, nx = shape
        self.a, self.b = axis(half[0], nx), axis(half[1], ny)
        self.shown_loss: Tensor | None = None
        self.shown_acc: Tensor | None = None

    def preview(self, points: int, trajectory: list[Any]) -> None:
        """The coarse grid, sent with the trajectory, and upsampled as the first picture."""
        ny, nx = self.shape
        pa, pb = axis(self.half[0], min(points, nx)), axis(self.half[1], min(points, ny))
        loss, acc = self.evaluator.plane(self.origin, self.basis,
                                         grid_coefficients(pa, pb).to(self.origin.device),
                                         cancelled=self.cancelled)
        loss = loss.view(len(pb), len(pa))
        acc = None if acc is None else acc.view(len(pb), len(pa))
        if self.emit is not None:
            self.emit(_grid_message("preview", 0.0, pa, pb, loss, acc) | {"trajectory": trajectory})
        self.shown_loss = self._upsample(loss)
        self.shown_acc = None if acc is None else self._upsample(acc)

    def _upsample(self, coarse: Tensor) -> Tensor:
        return F.interpolate(coarse[None, None], size=self.shape, mode="bilinear", align_corners=True)[0, 0]

    def full(self) -> tuple[Tensor, Tensor | None]:
        """The full grid, `refine` frames while it is computed; loss and accuracy (ny, nx)."""
        coeffs = grid_coefficients(self.a, self.b).to(self.origin.device)
        last = time.perf_counter()

        def refine(done: int, loss_so_far: Tensor, acc_so_far: Tensor | None) -> None:
            nonlocal last
            if self.emit is None or done == len(coeffs) or time.perf_counter() - last < self.frame_seconds:
                return
            assert self.shown_loss is not None
            self.shown_loss.view(-1)[:done] = loss_so_far[:done]
            if self.shown_acc is not None and acc_so_far is not None:
                self.shown_acc.view(-1)[:done] = acc_so_far[:done]
            self.emit(_grid_message("refine", done / len(coeffs), self.a, self.b, self.shown_loss,
                                    self.shown_acc))
            last = time.perf_counter()

        flat_loss, flat_acc = self.evaluator.plane(self.origin, self.basis, coeffs, refine, self.cancelled)
        loss = flat_loss.view(self.shape)
        accuracy = None if flat_acc is None else flat_acc.view(self.shape)
        if self.emit is not None:
            self.emit(_grid_message("done", 1.0, self.a, self.b, loss, accuracy))
        return loss, accuracy
