"""Tests for backend.surfaces.catalogue: listed points, autograd against hand-written gradients, grids.

The oracles here are written independently of the module: published global minima and
gradients derived by hand from each formula.
"""

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor
from torch.autograd.functional import hessian

from backend.surfaces.catalogue import SURFACES, Point, Surface, evaluate_grid, get_surface
from backend.surfaces.functions import SampleData

ALL = [pytest.param(surface, id=surface.id) for surface in SURFACES.values()]
MINIMA = [
    pytest.param(surface, point, id=f"{surface.id}-min{k}")
    for surface in SURFACES.values()
    for k, point in enumerate(surface.minima)
]
WITH_MINIMA = [
    pytest.param(surface, id=surface.id) for surface in SURFACES.values() if surface.minima
]
SADDLES = [
    pytest.param(surface, point, id=f"{surface.id}-saddle{k}")
    for surface in SURFACES.values()
    for k, point in enumerate(surface.saddles)
]

# id -> (x, y, f) of a global minimum as published (Jamil & Yang 2013, "A literature survey of
# benchmark functions"; Surjanovic & Bingham, Virtual Library of Simulation Experiments), to the
# digits given there. None: no minimum (saddles) or checked against the normal equations below.
LITERATURE_MINIMUM: dict[str, tuple[float, float, float] | None] = {
    "quadratic": (0.0, 0.0, 0.0),
    "ravine": (0.0, 0.0, 0.0),
    "ravine_rotated": (0.0, 0.0, 0.0),
    "saddle": None,
    "monkey_saddle": None,
    "rosenbrock": (1.0, 1.0, 0.0),
    "beale": (3.0, 0.5, 0.0),
    "booth": (1.0, 3.0, 0.0),
    "matyas": (0.0, 0.0, 0.0),
    "mccormick": (-0.54719, -1.54719, -1.9133),
    "goldstein_price": (0.0, -1.0, 3.0),
    "six_hump_camel": (0.0898, -0.7126, -1.0316),
    "himmelblau": (3.0, 2.0, 0.0),
    "styblinski_tang": (-2.903534, -2.903534, -78.33233),
    "rastrigin": (0.0, 0.0, 0.0),
    "ackley": (0.0, 0.0, 0.0),
    "linear_regression": None,
}
LITERATURE_TOL = 1e-4  # the published values carry about five significant digits


def _beale(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    r1, r2, r3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    dx = 2 * r1 * (y - 1) + 2 * r2 * (y**2 - 1) + 2 * r3 * (y**3 - 1)
    dy = 2 * r1 * x + 4 * r2 * x * y + 6 * r3 * x * y**2
    return dx, dy


def _goldstein_price(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    # f = A·C with A = 1 + s²·B, s = x + y + 1 and C = 30 + t²·D, t = 2x − 3y
    s, t = x + y + 1, 2 * x - 3 * y
    b = 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2
    d = 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2
    a, c = 1 + s**2 * b, 30 + t**2 * d
    a_x = 2 * s * b + s**2 * (-14 + 6 * x + 6 * y)
    a_y = 2 * s * b + s**2 * (-14 + 6 * x + 6 * y)
    c_x = 4 * t * d + t**2 * (-32 + 24 * x - 36 * y)
    c_y = -6 * t * d + t**2 * (48 - 36 * x + 54 * y)
    return a_x * c + a * c_x, a_y * c + a * c_y


def _ackley(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    r = torch.sqrt(0.5 * (x**2 + y**2))  # the test points avoid r = 0
    cone = 2 * torch.exp(-0.2 * r) / r  # from −20·exp(−0.2 r), dr/dx = x / (2r)
    waves = math.pi * torch.exp(0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y)))
    dx = cone * x + waves * torch.sin(2 * math.pi * x)
    dy = cone * y + waves * torch.sin(2 * math.pi * y)
    return dx, dy


def _linear_regression(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    # ∇L(w) = −2/n · Xᵀ(t − Xw) with the surface's own data (X, t)
    data = SURFACES["linear_regression"].samples
    assert data is not None
    features, targets = data.features, data.targets
    residuals = targets - (x[..., None] * features[:, 0] + y[..., None] * features[:, 1])
    n = targets.shape[0]
    return (
        -2 / n * (residuals * features[:, 0]).sum(-1),
        -2 / n * (residuals * features[:, 1]).sum(-1),
    )


# id -> (x, y) -> (∂f/∂x, ∂f/∂y), derived by hand from each formula
GRADIENTS: dict[str, Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]] = {
    "quadratic": lambda x, y: (2 * x, 2 * y),
    "ravine": lambda x, y: (x, 50 * y),
    "ravine_rotated": lambda x, y: (0.5 * (x + y) + 25 * (x - y), 0.5 * (x + y) - 25 * (x - y)),
    "saddle": lambda x, y: (2 * x, -2 * y),
    "monkey_saddle": lambda x, y: (3 * x**2 - 3 * y**2, -6 * x * y),
    "rosenbrock": lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)),
    "beale": _beale,
    "booth": lambda x, y: (
        2 * (x + 2 * y - 7) + 4 * (2 * x + y - 5),
        4 * (x + 2 * y - 7) + 2 * (2 * x + y - 5),
    ),
    "matyas": lambda x, y: (0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x),
    "mccormick": lambda x, y: (
        torch.cos(x + y) + 2 * (x - y) - 1.5,
        torch.cos(x + y) - 2 * (x - y) + 2.5,
    ),
    "goldstein_price": _goldstein_price,
    "six_hump_camel": lambda x, y: (8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3),
    "himmelblau": lambda x, y: (
        4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
        2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7),
    ),
    "styblinski_tang": lambda x, y: (2 * x**3 - 16 * x + 2.5, 2 * y**3 - 16 * y + 2.5),
    "rastrigin": lambda x, y: (
        2 * x + 20 * math.pi * torch.sin(2 * math.pi * x),
        2 * y + 20 * math.pi * torch.sin(2 * math.pi * y),
    ),
    "ackley": _ackley,
    "linear_regression": _linear_regression,
}


def _tensor(*values: float) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _random_points(surface: Surface, shape: tuple[int, ...], seed: int = 0) -> Tensor:
    """Uniform points in the surface's domain, (*shape, 2) float64."""
    generator = torch.Generator().manual_seed(seed)
    (x_lo, x_hi), (y_lo, y_hi) = surface.domain
    u = torch.rand(*shape, 2, generator=generator, dtype=torch.float64)
    return torch.stack((x_lo + (x_hi - x_lo) * u[..., 0], y_lo + (y_hi - y_lo) * u[..., 1]), -1)


def _gradient(surface: Surface, point: Tensor) -> Tensor:
    point = point.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(surface.fn(point).sum(), point)
    return grad


def _hessian_eigenvalues(surface: Surface, point: Point) -> Tensor:
    h = hessian(surface.fn, _tensor(point.x, point.y))
    assert isinstance(h, Tensor)
    return torch.linalg.eigvalsh(h)


# ---------------------------------------------------------------- registry


def test_registry_ids_are_unique_keys() -> None:
    assert len(SURFACES) >= 14
    assert [surface.id for surface in SURFACES.values()] == list(SURFACES)
    assert set(LITERATURE_MINIMUM) == set(SURFACES) == set(GRADIENTS)


def test_get_surface() -> None:
    assert get_surface("rosenbrock") is SURFACES["rosenbrock"]
    with pytest.raises(KeyError, match="no_such_surface"):
        get_surface("no_such_surface")


@pytest.mark.parametrize("surface", ALL)
def test_metadata(surface: Surface) -> None:
    (x_lo, x_hi), (y_lo, y_hi) = surface.domain
    assert x_lo < surface.start[0] < x_hi
    assert y_lo < surface.start[1] < y_hi
    assert surface.name and surface.formula and surface.tags and surface.description
    assert ("stochastic" in surface.tags) == (surface.samples is not None)


# ---------------------------------------------------------------- listed points


@pytest.mark.parametrize(("surface", "point"), MINIMA + SADDLES)
def test_listed_point_is_stationary(surface: Surface, point: Point) -> None:
    at = _tensor(point.x, point.y)
    assert surface.fn(at).item() == pytest.approx(point.value, rel=1e-6, abs=1e-6)
    assert torch.linalg.vector_norm(_gradient(surface, at)).item() < 1e-3


@pytest.mark.parametrize(("surface", "point"), MINIMA)
def test_minimum_hessian_is_positive_semidefinite(surface: Surface, point: Point) -> None:
    eigenvalues = _hessian_eigenvalues(surface, point)
    assert eigenvalues.min().item() >= -1e-8 * max(1.0, eigenvalues.abs().max().item())


@pytest.mark.parametrize(("surface", "point"), SADDLES)
def test_saddle_hessian_is_indefinite(surface: Surface, point: Point) -> None:
    eigenvalues = _hessian_eigenvalues(surface, point)
    if surface.id == "monkey_saddle":
        # x³ − 3xy² is cubic: its Hessian vanishes at the origin, so the second-order test
        # cannot see the saddle; check it is exactly degenerate instead of indefinite.
        assert torch.count_nonzero(eigenvalues) == 0
        return
    assert eigenvalues.min().item() < -1e-6
    assert eigenvalues.max().item() > 1e-6


@pytest.mark.parametrize("surface", ALL)
def test_global_minimum_matches_literature(surface: Surface) -> None:
    literature = LITERATURE_MINIMUM[surface.id]
    if literature is None:
        assert surface.id == "linear_regression" or surface.minima == ()
        return
    x, y, value = literature
    assert min(point.value for point in surface.minima) == pytest.approx(value, abs=LITERATURE_TOL)
    assert any(
        abs(point.x - x) < LITERATURE_TOL
        and abs(point.y - y) < LITERATURE_TOL
        and abs(point.value - value) < LITERATURE_TOL
        for point in surface.minima
    )


@pytest.mark.parametrize("surface", WITH_MINIMA)
def test_no_grid_point_below_global_minimum(surface: Surface) -> None:
    (x_lo, x_hi), (y_lo, y_hi) = surface.domain
    x = torch.linspace(x_lo, x_hi, 201, dtype=torch.float64)
    y = torch.linspace(y_lo, y_hi, 201, dtype=torch.float64)
    lowest = min(point.value for point in surface.minima)
    assert evaluate_grid(surface.fn, x, y).min().item() >= lowest - 1e-9 * max(1.0, abs(lowest))


# ---------------------------------------------------------------- functions


@pytest.mark.parametrize("surface", ALL)
def test_autograd_matches_analytic_gradient(surface: Surface) -> None:
    points = _random_points(surface, (16,))  # (16, 2)
    expected = torch.stack(GRADIENTS[surface.id](points[:, 0], points[:, 1]), dim=-1)
    torch.testing.assert_close(_gradient(surface, points), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("surface", ALL)
def test_fn_broadcasts_over_leading_dims(surface: Surface) -> None:
    points = _random_points(surface, (3, 4))  # (3, 4, 2)
    values = surface.fn(points)  # (3, 4)
    assert values.shape == (3, 4)
    assert values.dtype == torch.float64
    flat = points.reshape(12, 2)
    torch.testing.assert_close(surface.fn(flat[:5]), values.reshape(12)[:5])  # (5, 2) -> (5,)
    for k in range(12):
        single = surface.fn(flat[k])  # (2,) -> ()
        assert single.shape == ()
        torch.testing.assert_close(single, values.reshape(12)[k])


@pytest.mark.parametrize("surface", ALL)
def test_fn_keeps_float32(surface: Surface) -> None:
    points = _random_points(surface, (5,))  # (5, 2)
    values = surface.fn(points.float())
    assert values.dtype == torch.float32
    torch.testing.assert_close(values.double(), surface.fn(points), rtol=1e-4, atol=1e-3)


def test_ackley_is_finite_at_its_kink() -> None:
    ackley = SURFACES["ackley"]
    origin = _tensor(0.0, 0.0)
    assert ackley.fn(origin).item() == pytest.approx(0.0, abs=1e-12)
    assert torch.equal(_gradient(ackley, origin), _tensor(0.0, 0.0))  # the subgradient 0
    x, y = 1e-3, -2e-3  # the safe square root must not move values next to the origin
    plain = (
        -20 * math.exp(-0.2 * math.sqrt(0.5 * (x**2 + y**2)))
        - math.exp(0.5 * (math.cos(2 * math.pi * x) + math.cos(2 * math.pi * y)))
        + math.e
        + 20
    )
    assert ackley.fn(_tensor(x, y)).item() == pytest.approx(plain, abs=1e-12)


@pytest.mark.parametrize("surface", ALL)
def test_evaluate_grid_is_rows_by_y(surface: Surface) -> None:
    (x_lo, x_hi), (y_lo, y_hi) = surface.domain
    x = torch.linspace(x_lo, x_hi, 7, dtype=torch.float64)  # nx = 7
    y = torch.linspace(y_lo, y_hi, 5, dtype=torch.float64)  # ny = 5
    z = evaluate_grid(surface.fn, x, y)
    assert z.shape == (5, 7)
    for i in range(5):
        for j in range(7):
            assert z[i, j].item() == surface.fn(torch.stack((x[j], y[i]))).item()


# ---------------------------------------------------------------- linear regression

REGRESSION = SURFACES["linear_regression"]


def _samples() -> SampleData:
    assert REGRESSION.samples is not None
    return REGRESSION.samples


def test_regression_data() -> None:
    data = _samples()
    assert data.features.shape == (200, 2) and data.targets.shape == (200,)
    assert data.features.dtype == data.targets.dtype == torch.float64
    correlation = torch.corrcoef(data.features.T)[0, 1].item()
    assert correlation > 0.5  # correlated features: elongated, tilted contours
    curvatures = torch.linalg.eigvalsh(2 / 200 * data.features.T @ data.features)
    assert (curvatures.max() / curvatures.min()).item() > 4


def test_regression_minimum_is_normal_equations_solution() -> None:
    data = _samples()
    x, t = data.features, data.targets
    w = torch.linalg.solve(x.T @ x, x.T @ t)  # (XᵀX)⁻¹Xᵀt
    (minimum,) = REGRESSION.minima
    assert (minimum.x, minimum.y) == pytest.approx((w[0].item(), w[1].item()), abs=1e-10)
    assert minimum.value == pytest.approx(((t - x @ w) ** 2).mean().item(), rel=1e-10)
    assert (minimum.x, minimum.y) == pytest.approx((2.0, -1.0), abs=0.2)  # near w* = (2, −1)


def test_regression_loss_on_all_samples_is_fn() -> None:
    data = _samples()
    w = _random_points(REGRESSION, (3, 4))  # (3, 4, 2)
    full = REGRESSION.fn(w)
    torch.testing.assert_close(data.loss(w), full)
    torch.testing.assert_close(data.loss(w, torch.arange(200)), full)
    assert data.loss(w, torch.tensor([3, 7])).shape == (3, 4)
    assert data.loss(w.float(), torch.tensor([3, 7])).dtype == torch.float32


def test_regression_partition_losses_average_to_full_loss() -> None:
    data = _samples()
    w = _random_points(REGRESSION, (6,))  # (6, 2)
    order = torch.randperm(200, generator=torch.Generator().manual_seed(1))
    parts = torch.split(order, 64)  # sizes 64, 64, 64, 8
    weighted = sum(len(part) * data.loss(w, part) for part in parts) / 200
    torch.testing.assert_close(weighted, REGRESSION.fn(w))


def test_regression_minibatch_gradient_is_unbiased() -> None:
    data = _samples()
    w = torch.tensor([-0.5, 1.0], dtype=torch.float64, requires_grad=True)
    (full,) = torch.autograd.grad(data.loss(w), w)
    per_sample = torch.stack(
        [torch.autograd.grad(data.loss(w, torch.tensor([i])), w)[0] for i in range(200)]
    )  # (200, 2)
    torch.testing.assert_close(per_sample.mean(dim=0), full)
    batches = torch.randperm(200, generator=torch.Generator().manual_seed(2)).reshape(4, 50)
    batch_grads = torch.stack([torch.autograd.grad(data.loss(w, b), w)[0] for b in batches])
    torch.testing.assert_close(batch_grads.mean(dim=0), full)
