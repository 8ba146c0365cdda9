"""Curvature at a point: gradient, Hessian (autograd) and its eigen-decomposition.

For gradient descent on a quadratic with Hessian H, the iteration w ← w − ηHw
is stable only when η < 2 / λ_max(H): the bound shown beside the lr.
"""

from dataclasses import dataclass

import torch

from backend.surfaces.engine import Loss


@dataclass(frozen=True)
class Curvature:
    gradient: list[float]
    hessian: list[list[float]]
    eigenvalues: list[float]  # ascending
    eigenvectors: list[list[float]]  # eigenvectors[i] belongs to eigenvalues[i]
    max_stable_lr: float | None  # 2 / λ_max, or None when λ_max ≤ 0


def curvature(loss: Loss, point: tuple[float, float]) -> Curvature:
    """Autograd gradient and Hessian of `loss` at `point`, with eigh of the Hessian."""
    w = torch.tensor(point, dtype=torch.float64)
    gradient = torch.func.grad(loss)(w)
    hessian = torch.autograd.functional.hessian(loss, w)
    hessian = 0.5 * (hessian + hessian.T)  # symmetric up to rounding
    finite = bool(torch.isfinite(hessian).all())
    values, vectors = (
        torch.linalg.eigh(hessian) if finite else (torch.full((2,), float("nan")),
                                                   torch.full((2, 2), float("nan")))
    )
    top = float(values[-1])
    return Curvature(
        gradient=gradient.tolist(),
        hessian=hessian.tolist(),
        eigenvalues=values.tolist(),
        eigenvectors=vectors.T.tolist(),
        max_stable_lr=2.0 / top if finite and top > 0 else None,
    )
