"""The analytic 2-D surfaces as torch functions of points `p` of shape (..., 2) → (...).

Pure torch ops, so any leading batch shape, float32/float64 and autograd (gradients,
Hessians) all work. The course's linear regression is a data-driven surface: its loss
is the mean squared error over seeded samples, so mini-batches can pick samples.
"""

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SampleData:
    """Per-sample data of a data-driven surface (the course's linear regression)."""

    features: Tensor  # (n, 2), float64
    targets: Tensor  # (n,), float64

    def loss(self, w: Tensor, index: Tensor | None = None) -> Tensor:
        """Mean squared error 1/|I| Σ_{i∈I} (y_i − x_iᵀw)² for w of shape (..., 2) -> (...).

        `index` selects the samples I (all when None); the data follow w's dtype and device.
        """
        features, targets = self.features.to(w), self.targets.to(w)
        if index is not None:  # index_select: a gather sized by the index, not by its values
            features, targets = features.index_select(0, index), targets.index_select(0, index)
        residuals = targets - w @ features.T  # (..., |I|)
        return residuals.square().mean(dim=-1)


def _xy(p: Tensor) -> tuple[Tensor, Tensor]:
    """Split (..., 2) points into their x and y coordinates, each (...): one op, so one autograd
    node whose backward stacks the two gradients (two selects would each scatter theirs into
    a tensor of zeros, and the two would then be added)."""
    x, y = p.unbind(-1)
    return x, y


def quadratic(p: Tensor) -> Tensor:
    """f(x, y) = x² + y²; Hessian 2·I, condition number 1."""
    x, y = _xy(p)
    return x**2 + y**2


def saddle(p: Tensor) -> Tensor:
    """f(x, y) = x² − y²; Hessian diag(2, −2), unbounded below along y."""
    x, y = _xy(p)
    return x**2 - y**2


def monkey_saddle(p: Tensor) -> Tensor:
    """f(x, y) = x³ − 3xy² = Re (x + iy)³; gradient and Hessian both vanish at the origin."""
    x, y = _xy(p)
    return x**3 - 3 * x * y**2


RAVINE_KAPPA = 50.0  # condition number of both ravines
INV_SQRT2 = 1 / math.sqrt(2)


def ravine(p: Tensor) -> Tensor:
    """f(x, y) = ½·(x² + κ·y²), κ = 50; Hessian diag(1, κ)."""
    x, y = _xy(p)
    return 0.5 * (x**2 + RAVINE_KAPPA * y**2)


def ravine_rotated(p: Tensor) -> Tensor:
    """The ravine turned by 45°: ½·(u² + κ·v²) with u = (x + y)/√2, v = (x − y)/√2."""
    x, y = _xy(p)
    u, v = (x + y) * INV_SQRT2, (x - y) * INV_SQRT2
    return 0.5 * (u**2 + RAVINE_KAPPA * v**2)


def rosenbrock(p: Tensor) -> Tensor:
    """f(x, y) = (a − x)² + b·(y − x²)², a = 1, b = 100."""
    x, y = _xy(p)
    return (x - 1) ** 2 + 100 * (y - x**2) ** 2  # (x − 1)² = (1 − x)² to the bit, one op cheaper


def beale(p: Tensor) -> Tensor:
    """f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²."""
    x, y = _xy(p)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def booth(p: Tensor) -> Tensor:
    """f(x, y) = (x + 2y − 7)² + (2x + y − 5)²; Hessian [[10, 8], [8, 10]]."""
    x, y = _xy(p)
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def matyas(p: Tensor) -> Tensor:
    """f(x, y) = 0.26·(x² + y²) − 0.48·xy; Hessian eigenvalues 1 and 0.04."""
    x, y = _xy(p)
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def mccormick(p: Tensor) -> Tensor:
    """f(x, y) = sin(x + y) + (x − y)² − 1.5x + 2.5y + 1.

    With s = x + y, d = x − y: f = sin s + s/2 + (d − 1)², stationary where d = 1 and
    cos s = −½: minima at s = −2π/3 + 2πk, saddles at s = 2π/3 + 2πk.
    """
    x, y = _xy(p)
    return torch.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def goldstein_price(p: Tensor) -> Tensor:
    """f(x, y) = [1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]
    · [30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)].
    """
    x, y = _xy(p)
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def six_hump_camel(p: Tensor) -> Tensor:
    """f(x, y) = (4 − 2.1x² + x⁴/3)·x² + xy + (−4 + 4y²)·y²."""
    x, y = _xy(p)
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def himmelblau(p: Tensor) -> Tensor:
    """f(x, y) = (x² + y − 11)² + (x + y² − 7)²."""
    x, y = _xy(p)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def styblinski_tang(p: Tensor) -> Tensor:
    """f(x, y) = ½·Σ_{t∈{x,y}} (t⁴ − 16t² + 5t); separable, stationary where 4t³ − 32t + 5 = 0."""
    return 0.5 * (p**4 - 16 * p**2 + 5 * p).sum(dim=-1)


def rastrigin(p: Tensor) -> Tensor:
    """f(x, y) = 2A + Σ_{t∈{x,y}} (t² − A·cos 2πt), A = 10."""
    return 20 + (p**2 - 10 * torch.cos(2 * math.pi * p)).sum(dim=-1)


def _safe_sqrt(t: Tensor) -> Tensor:
    """√t for t ≥ 0 whose gradient at t = 0 is 0 instead of NaN; values are unchanged."""
    positive = t > 0
    root = torch.sqrt(torch.where(positive, t, torch.ones_like(t)))
    return torch.where(positive, root, torch.zeros_like(t))


def ackley(p: Tensor) -> Tensor:
    """f(x, y) = −20·exp(−0.2·√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20.

    .. note:: f has a cone-shaped kink at the origin, where √ is not differentiable; the
       safe square root makes autograd return the subgradient 0 there instead of NaN.
    """
    x, y = _xy(p)
    radius = _safe_sqrt(0.5 * (x**2 + y**2))
    waves = 0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y))
    return -20 * torch.exp(-0.2 * radius) - torch.exp(waves) + math.e + 20


REGRESSION_SEED = 0
REGRESSION_WEIGHTS = (2.0, -1.0)  # w*, the weights that generated the targets
REGRESSION_NOISE = 0.5  # σ of the Gaussian target noise
REGRESSION_CORRELATION = 0.8  # correlation of the two features: elongated contours


def _regression_samples(n: int = 200) -> SampleData:
    """x_i ~ N(0, [[1, ρ], [ρ, 1]]), y_i = x_iᵀw* + ε_i with ε_i ~ N(0, σ²); seeded, float64."""
    generator = torch.Generator().manual_seed(REGRESSION_SEED)
    z = torch.randn(n, 2, generator=generator, dtype=torch.float64)  # (n, 2) independent
    rho = REGRESSION_CORRELATION
    # Cholesky factor of the covariance [[1, ρ], [ρ, 1]]
    mixing = torch.tensor([[1.0, 0.0], [rho, math.sqrt(1 - rho**2)]], dtype=torch.float64)
    features = z @ mixing.T  # (n, 2) correlated
    noise = REGRESSION_NOISE * torch.randn(n, generator=generator, dtype=torch.float64)
    targets = features @ torch.tensor(REGRESSION_WEIGHTS, dtype=torch.float64) + noise
    return SampleData(features=features, targets=targets)


REGRESSION_SAMPLES = _regression_samples()


def linear_regression(p: Tensor) -> Tensor:
    """L(w) = 1/n · Σ_i (y_i − x_iᵀw)² over all n samples, w = (x, y)."""
    return REGRESSION_SAMPLES.loss(p)
