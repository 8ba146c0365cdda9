"""Decision-boundary snapshots of a run on 2-D data: the model's output over a fixed
grid, every `boundary_every` epochs (about `BOUNDARY_SNAPSHOTS` per run by default)
and once at the end."""

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from backend.networks.datasets import Split
from backend.networks.prepared import Prepared
from backend.networks.spec import NetworkRun

BOUNDARY_RESOLUTION = 40  # points per axis of a decision-boundary grid
BOUNDARY_SNAPSHOTS = 25  # about this many per run when boundary_every is null


def snapshot_every(boundary_every: int | None, epochs: int) -> int:
    """Epochs between snapshots: as asked, or about `BOUNDARY_SNAPSHOTS` per run."""
    return boundary_every or max(1, math.ceil(epochs / BOUNDARY_SNAPSHOTS))


@dataclass
class Boundary:
    """A fixed grid over the data's bounding box (10% margin) for decision-boundary snapshots."""

    x: Tensor  # (R,)
    y: Tensor  # (R,)
    points: Tensor  # (R², 2) row-major: z[iy][ix]
    n_classes: int | None
    splits: tuple[Split, ...]  # train, val, test: the samples drawn under the boundary
    every: int  # epochs between snapshots
    sent_data: bool = False

    def __post_init__(self) -> None:
        self.axes = (self.x.tolist(), self.y.tolist())

    @classmethod
    def of(cls, request: NetworkRun, prep: Prepared, device: torch.device) -> "Boundary | None":
        """Over the samples as the model sees them (a CSV's features standardised); None
        unless the data has two features."""
        if prep.data.x.shape[1] != 2:
            return None
        splits = (prep.train, prep.val, prep.test)
        x = torch.cat([s.x for s in splits]).cpu()
        lo, hi = x.min(0).values, x.max(0).values
        margin = 0.1 * (hi - lo).clamp(min=1e-6)
        xs = torch.linspace(float(lo[0] - margin[0]), float(hi[0] + margin[0]), BOUNDARY_RESOLUTION)
        ys = torch.linspace(float(lo[1] - margin[1]), float(hi[1] + margin[1]), BOUNDARY_RESOLUTION)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).to(device)
        every = snapshot_every(request.boundary_every, request.epochs)
        return cls(xs, ys, points, prep.data.n_classes, splits, every)

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def snapshot(self, model: nn.Module, epoch: int, final: bool = False) -> dict[str, Any]:
        """z: P(class 1) for two classes, the predicted class for more, the prediction for regression."""
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = model(self.points)
        model.train(was_training)
        if self.n_classes == 2:
            z, kind = out.softmax(-1)[:, 1], "probability"
        elif self.n_classes is not None:
            z, kind = out.argmax(-1).to(out.dtype), "class"
        else:
            z, kind = out[:, 0], "value"
        grid = z.view(BOUNDARY_RESOLUTION, BOUNDARY_RESOLUTION).cpu().double()
        record: dict[str, Any] = {
            "epoch": epoch, "final": final, "z_kind": kind, "x": self.axes[0], "y": self.axes[1],
            "z": grid.mul(1e5).round().div(1e5).tolist(),  # 5 decimals: a smaller message
        }
        if not self.sent_data:  # the samples themselves, once, for the scatter under the boundary
            splits = self.splits
            record["points"] = {
                "x0": torch.cat([s.x[:, 0] for s in splits]).tolist(),
                "x1": torch.cat([s.x[:, 1] for s in splits]).tolist(),
                "label": torch.cat([s.y for s in splits]).tolist(),
                "split": [s.name for s in splits for _ in range(len(s))],
            }
            self.sent_data = True
        return record
