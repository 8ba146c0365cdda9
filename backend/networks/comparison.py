"""Network runs after they ended: several paths on one loss plane, the loss on the
straight line between two runs' final weights, and a run's landscape surveyed again
(other directions, grid or span) without training again.

A finished run keeps its weights as an artifact (`WEIGHTS`): the checkpoints (row 0
the initialisation, the last row the final weights, evenly thinned to at most
`MAX_STORED_FLOATS` numbers) and the epochs they belong to. Everything else — the
data, the split, the model's layout — is rebuilt from the run's request, which is
seeded, so it comes back identical. Pure computation: callers load and store bytes.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from backend.networks import landscape as L
from backend.networks import training
from backend.networks.spec import LandscapeSpec, NetworkRun

WEIGHTS = "weights.pt"  # artifact name
MAX_STORED_FLOATS = 4_000_000  # checkpoints × parameters kept per run (16 MB of float32)
MAX_STORED_CHECKPOINTS = 101


@dataclass
class StoredWeights:
    checkpoints: Tensor  # (m, n) CPU float32, row 0 the initialisation, row m−1 the final weights
    epochs: list[int]  # (m,) the epoch of each row (the final row: the epoch the run ended on)


def pack(checkpoints: Tensor, epochs: list[int], final: Tensor, final_epoch: int) -> bytes:
    """The weights file of a run: thinned checkpoints with the final weights as the last row."""
    rows = max(2, min(MAX_STORED_CHECKPOINTS, MAX_STORED_FLOATS // max(1, final.numel())))
    keep = torch.linspace(0, len(checkpoints) - 1, min(rows - 1, len(checkpoints))).round().long().unique()
    stacked = torch.cat([checkpoints[keep], final.unsqueeze(0)]).float().cpu()
    buffer = io.BytesIO()
    torch.save({"checkpoints": stacked, "epochs": [epochs[i] for i in keep.tolist()] + [final_epoch]},
               buffer)
    return buffer.getvalue()


def unpack(data: bytes) -> StoredWeights:
    content = torch.load(io.BytesIO(data), weights_only=True)
    return StoredWeights(content["checkpoints"], list(content["epochs"]))


def same_setup(a: NetworkRun, b: NetworkRun) -> str | None:
    """Why two runs cannot share a plane or a line (None: they can): the same data, split,
    model and seed give the same initial weights and the same evaluation subset."""
    for what, left, right in (("dataset", a.dataset, b.dataset), ("model", a.model, b.model),
                              ("split", a.split, b.split), ("seed", a.seed, b.seed)):
        if left != right:
            return f"they differ in {what}"
    return None


def _evaluator(request: NetworkRun, samples: int, device: torch.device) -> L.Evaluator:
    prep = training.prepare(request, device)
    data = training.eval_subset(prep, samples, training.generator(request.seed, "landscape"))
    return L.Evaluator(prep.model, data)


def compare(request: NetworkRun, runs: list[StoredWeights], resolution: int, span: float,
            samples: int, device: torch.device,
            cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """One PCA plane through the shared start for all runs' checkpoints, the loss grid on it
    and every run's projected path (`landscape.compare_plane`). Axis half-width: `span` ×
    1.1 × the farthest projected checkpoint along that axis."""
    plane = L.compare_plane([r.checkpoints.to(device) for r in runs])
    reach = torch.cat(plane.paths).abs().max(dim=0).values.tolist()
    half = [span * (1.1 * r or 1.0) for r in reach]
    a, b = L.axis(half[0], resolution), L.axis(half[1], resolution)
    evaluator = _evaluator(request, samples, device)
    basis = torch.stack([plane.u, plane.v])
    coeffs = L.grid_coefficients(a, b).to(device)
    loss, accuracy = evaluator.plane(plane.origin, basis, coeffs, cancelled=cancelled)
    compared = []
    for run, path, residual in zip(runs, plane.paths, plane.residuals, strict=True):
        true_loss, _ = evaluator.points(run.checkpoints.to(device), cancelled=cancelled)
        compared.append({"epochs": run.epochs, "trajectory": L.as_floats(path),
                         "residual": L.as_floats(residual), "true_loss": L.as_floats(true_loss)})
    shape = (len(b), len(a))
    return {
        "a": L.as_floats(a), "b": L.as_floats(b), "loss": L.as_floats(loss.view(shape)),
        "accuracy": None if accuracy is None else L.as_floats(accuracy.view(shape)),
        "explained_variance": L.as_floats(plane.explained_variance), "eval_samples": len(evaluator.data),
        "runs": compared,
    }


def interpolate(request: NetworkRun, w0: Tensor, w1: Tensor, points: int, samples: int,
                device: torch.device) -> dict[str, Any]:
    """L((1 − α)·w0 + α·w1) for α evenly over [−0.5, 1.5] (0 and 1 exact when 4 divides points − 1)."""
    steps = torch.arange(points, dtype=torch.float64)
    alphas = (2 * steps - (points - 1) / 2) / (points - 1)
    evaluator = _evaluator(request, samples, device)
    w0, w1 = w0.to(device), w1.to(device)
    loss, accuracy = evaluator.plane(w0, (w1 - w0).unsqueeze(0), alphas.view(-1, 1).to(device))
    return {"alpha": L.as_floats(alphas), "loss": L.as_floats(loss),
            "accuracy": None if accuracy is None else L.as_floats(accuracy)}


def resurvey(request: NetworkRun, stored: StoredWeights, spec: LandscapeSpec,
             device: torch.device) -> tuple[dict[str, Any], bytes]:
    """The landscape `spec` asks for around the run's final weights, from its stored
    checkpoints: the report and the export file, as a run with this `landscape` leaves them
    (the same evaluation subset and seeded directions; the path from the kept checkpoints)."""
    prep = training.prepare(request, device)
    g = training.generator(request.seed, "landscape")
    data = training.eval_subset(prep, spec.eval_samples, g)
    checkpoints, final = stored.checkpoints[:-1].to(device), stored.checkpoints[-1].to(device)
    survey = L.survey(prep.model, data, checkpoints, stored.epochs[:-1], final, spec.directions,
                      filter_normalize=spec.filter_normalize, shape=spec.shape, span=spec.span, generator=g)
    buffer = io.BytesIO()
    torch.save(survey.export, buffer)
    return survey.report, buffer.getvalue()
