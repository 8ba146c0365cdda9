"""Loss and accuracy of one model at many weight vectors: stacked forward passes, chunked.

For an MLP, P points at once are P stacked weight matrices W_p = W* + a_p·U + b_p·V,
built with one small matmul and applied with `bmm`; the first layer is affine in (a, b),
so its pre-activations are W*Xᵀ + a·UXᵀ + b·VXᵀ from three matrices computed once. The
lab's CNN runs as stacked and grouped convolutions (`stacked.py`). Grids are `z[iy][ix]`,
z at (a[ix], b[iy]), any nx × ny.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from backend.networks.landscape.stacked import StackedConvNet, StackedMLP
from backend.networks.landscape.weights import Layout, load_weights, weights_of
from backend.networks.models import loss_function

LossFn = Callable[[Tensor, Tensor], Tensor]
Progress = Callable[[int, Tensor, Tensor | None], None]  # points done, loss and accuracy so far
MAX_CHUNK = 16  # grid points per chunk (measured best on 2 CPU cores, bench/landscape.py)
CONV_CPU_CHUNK = 1  # for the CNN on a CPU, more points per grouped convolution were slower


class Cancelled(Exception):
    """Raised between chunks when the caller's `cancelled()` says so."""


@dataclass(frozen=True)
class EvalData:
    """The fixed evaluation subset: features (N, d), targets (N,), and the task."""

    x: Tensor
    y: Tensor  # int64 classes, or float targets
    classification: bool

    def __len__(self) -> int:
        return len(self.x)


def point_losses(outputs: Tensor, y: Tensor, classification: bool) -> tuple[Tensor, Tensor | None]:
    """Per point mean loss (P,) and accuracy (P,) | None, from outputs (P, C, N), classes on
    dim 1. Overwrites `outputs`."""
    if classification:
        # cross-entropy = logsumexp(z) − z_y, with the max m shifted out: m + log Σ exp(z − m);
        # a sample is right when z_y is that max (amax is ~5× faster than max with indices
        # here; they differ only on exact ties between logits)
        picked = outputs.gather(1, y.view(1, 1, -1).expand(outputs.shape[0], 1, -1)).squeeze(1)
        top = outputs.amax(1)
        accuracy = (picked >= top).to(outputs.dtype).mean(-1)
        lse = outputs.sub_(top.unsqueeze(1)).exp_().sum(1).log_().add_(top)
        return lse.sub_(picked).mean(-1), accuracy
    return outputs[:, 0].sub_(y).square_().mean(-1), None



class Evaluator:
    """Loss and accuracy of a model at many weight vectors, batched, in eval mode, no grad.
    The model is an MLP `nn.Sequential` or the lab's CNN (`stacked.py`), else ValueError."""

    def __init__(self, model: nn.Module, data: EvalData, chunk: int | None = None) -> None:
        self.model = model
        self.data = data
        offsets = Layout.of(model).offsets
        self.mlp = StackedMLP(model, offsets) if StackedMLP.supports(model) else None  # type: ignore[arg-type]
        self.conv = None
        if self.mlp is None:
            if not StackedConvNet.supports(model):
                raise ValueError(f"no batched forward for this model: {model}")
            self.conv = StackedConvNet(model, offsets, data.x[:1])  # type: ignore[arg-type]
        on_cpu = data.x.device.type == "cpu"
        self.chunk = chunk or (CONV_CPU_CHUNK if self.conv is not None and on_cpu else MAX_CHUNK)

    def _forward(self, weights: Tensor) -> Tensor:
        """Outputs (P, C, N) at flat weight vectors (P, n)."""
        stacked = self.mlp or self.conv
        assert stacked is not None
        return stacked.points(self.data.x, weights)

    def _run(self, count: int, outputs: Callable[[slice], Tensor], progress: Progress | None,
             cancelled: Callable[[], bool] | None) -> tuple[Tensor, Tensor | None]:
        device = self.data.x.device
        loss = torch.empty(count, device=device)
        accuracy = torch.empty(count, device=device) if self.data.classification else None
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, count, self.chunk):
                    if cancelled is not None and cancelled():
                        raise Cancelled
                    part = slice(start, min(start + self.chunk, count))
                    part_loss, acc = point_losses(outputs(part), self.data.y, self.data.classification)
                    loss[part] = part_loss
                    if accuracy is not None and acc is not None:
                        accuracy[part] = acc
                    if progress is not None:
                        progress(part.stop, loss, accuracy)
        finally:
            self.model.train(was_training)
        return loss, accuracy

    def points(self, weights: Tensor, progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None) -> tuple[Tensor, Tensor | None]:
        """Loss (P,) and accuracy (P,) | None at flat weight vectors (P, n)."""
        return self._run(len(weights), lambda s: self._forward(weights[s]), progress, cancelled)

    def plane(self, origin: Tensor, basis: Tensor, coeffs: Tensor, progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> tuple[Tensor, Tensor | None]:
        """Loss and accuracy (P,) at origin + coeffs @ basis, basis (K, n), coeffs (P, K)."""
        coeffs = coeffs.to(origin.dtype)
        if self.mlp is None:
            return self._run(len(coeffs), lambda s: self._forward(origin + coeffs[s] @ basis),
                             progress, cancelled)
        mlp = self.mlp
        with torch.no_grad():
            stacks = mlp.plane_stacks(self.data.x, origin, basis, mlp.block(min(self.chunk, len(coeffs))))
        return self._run(len(coeffs), lambda s: mlp.plane(stacks, coeffs[s]), progress, cancelled)


def grid_coefficients(a_values: Tensor, b_values: Tensor) -> Tensor:
    """(ny·nx, 2) rows (a[ix], b[iy]) in row-major z[iy][ix] order."""
    bb, aa = torch.meshgrid(b_values, a_values, indexing="ij")
    return torch.stack([aa.reshape(-1), bb.reshape(-1)], dim=1)


def loss_grid(model: nn.Module, data: EvalData, origin: Tensor, u: Tensor, v: Tensor,
              a_values: Tensor, b_values: Tensor, chunk: int | None = None,
              progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> tuple[Tensor, Tensor | None]:
    """Loss and accuracy grids (ny, nx) of L(origin + a·u + b·v), z[iy][ix] at (a[ix], b[iy])."""
    coeffs = grid_coefficients(a_values, b_values).to(origin.device)
    loss, accuracy = Evaluator(model, data, chunk).plane(origin, torch.stack([u, v]), coeffs, progress,
                                                         cancelled)
    shape = (len(b_values), len(a_values))
    return loss.view(shape), None if accuracy is None else accuracy.view(shape)


def loss_grid_loop(model: nn.Module, data: EvalData, origin: Tensor, u: Tensor, v: Tensor,
                   a_values: Tensor, b_values: Tensor) -> tuple[Tensor, Tensor | None]:
    """The reference (Li et al.'s code): per grid point copy the weights into the model and
    forward the evaluation set. Restores the model's weights afterwards."""
    saved = weights_of(model)
    loss_fn = loss_function(data.classification)
    loss = torch.empty(len(b_values), len(a_values), device=origin.device)
    accuracy = torch.empty_like(loss) if data.classification else None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for iy, b in enumerate(b_values.tolist()):
                for ix, a in enumerate(a_values.tolist()):
                    load_weights(model, origin + a * u + b * v)
                    out = model(data.x)
                    loss[iy, ix] = loss_fn(out, data.y)
                    if accuracy is not None:
                        accuracy[iy, ix] = (out.argmax(-1) == data.y).float().mean()
    finally:
        load_weights(model, saved)
        model.train(was_training)
    return loss, accuracy


def interpolate(model: nn.Module, data: EvalData, w0: Tensor, w1: Tensor,
                alphas: Tensor) -> tuple[Tensor, Tensor | None]:
    """1-D slice L((1 − α)·w0 + α·w1): loss and accuracy (len(alphas),)."""
    return Evaluator(model, data).plane(w0, (w1 - w0).unsqueeze(0), alphas.view(-1, 1).to(w0.device))


def axis(half_width: float, n: int) -> Tensor:
    """n values evenly spread over [−h, h] (float64); the middle one is exactly 0 when n is odd."""
    return half_width * (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) / ((n - 1) / 2)
