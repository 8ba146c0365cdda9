"""The catalogue of analytic 2-D surfaces, the single source of truth for every page and request.

Listed minima and saddles are stationary points found by Newton's method on ∇f = 0 in float64
and hard-coded to ≥ 8 decimals, or given in closed form; the unit tests re-check every one.
The functions themselves are in `functions.py`.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from backend.surfaces.functions import (
    INV_SQRT2,
    REGRESSION_SAMPLES,
    SampleData,
    ackley,
    beale,
    booth,
    goldstein_price,
    himmelblau,
    linear_regression,
    matyas,
    mccormick,
    monkey_saddle,
    quadratic,
    rastrigin,
    ravine,
    ravine_rotated,
    rosenbrock,
    saddle,
    six_hump_camel,
    styblinski_tang,
)


@dataclass(frozen=True)
class Point:
    """A notable point (x, y) of a surface and the value f(x, y) there."""

    x: float
    y: float
    value: float


@dataclass(frozen=True)
class Surface:
    """One entry of the catalogue: the function plus what a page needs to draw and teach it."""

    id: str
    name: str
    formula: str  # human-readable unicode
    fn: Callable[[Tensor], Tensor]  # (..., 2) -> (...)
    domain: tuple[tuple[float, float], tuple[float, float]]  # ((x_lo, x_hi), (y_lo, y_hi))
    minima: tuple[Point, ...]  # global first, then notable local ones
    saddles: tuple[Point, ...]
    start: tuple[float, float]  # suggested start, inside the domain
    tags: tuple[str, ...]
    description: str  # two-sentence teaching note
    samples: SampleData | None = None  # only for data-driven surfaces


def _least_squares() -> Point:
    """The unique minimum ŵ = argmin ‖y − Xw‖², and the mean squared error there."""
    data = REGRESSION_SAMPLES
    w = torch.linalg.lstsq(data.features, data.targets.unsqueeze(-1)).solution.squeeze(-1)
    return Point(float(w[0]), float(w[1]), float(data.loss(w)))


_MC_S = 2 * math.pi / 3  # McCormick: |s| of the stationary points nearest the origin
_ST_LO, _ST_HI, _ST_MID = -2.9035340278, 2.7468027710, 0.1567312568  # roots of 4t³ − 32t + 5
_ST_LO_F, _ST_HI_F, _ST_MID_F = -39.1661657038, -25.0294466553, 0.1956123591  # ½(t⁴ − 16t² + 5t)
_RAVINE_START = (-9.0, 2.0)


def _registry(*surfaces: Surface) -> dict[str, Surface]:
    """Id -> surface in menu order; refuses duplicate ids."""
    registry: dict[str, Surface] = {}
    for surface in surfaces:
        if surface.id in registry:
            raise ValueError(f"Duplicate surface id: {surface.id!r}")
        registry[surface.id] = surface
    return registry


SURFACES: dict[str, Surface] = _registry(
    Surface(
        id="quadratic",
        name="Quadratic bowl",
        formula="f(x, y) = x² + y²",
        fn=quadratic,
        domain=((-4.0, 4.0), (-4.0, 4.0)),
        minima=(Point(0.0, 0.0, 0.0),),
        saddles=(),
        start=(-3.0, 2.0),
        tags=("convex",),
        description=(
            "A perfectly round bowl: the gradient points straight at the minimum, so gradient "
            "descent and momentum walk a straight line, while Adam, which rescales each "
            "coordinate, bends away from it. Use it to see what the learning rate alone does to "
            "gradient descent: η < 1 converges, η = 1 oscillates forever, η > 1 diverges."
        ),
    ),
    Surface(
        id="ravine",
        name="Ravine (κ = 50)",
        formula="f(x, y) = ½·(x² + 50·y²)",
        fn=ravine,
        domain=((-10.0, 10.0), (-4.0, 4.0)),
        minima=(Point(0.0, 0.0, 0.0),),
        saddles=(),
        start=_RAVINE_START,
        tags=("ravine", "ill-conditioned", "convex"),
        description=(
            "The Hessian diag(1, 50) has condition number 50, so a learning rate small enough "
            "for the steep y-direction (η < 2/50) crawls along the flat x-direction. Momentum "
            "and the per-coordinate scaling of Adam or RMSprop fix this ravine because it is "
            "aligned with the axes."
        ),
    ),
    Surface(
        id="ravine_rotated",
        name="Ravine, rotated 45°",
        formula="f(x, y) = ½·(u² + 50·v²),  u = (x + y)/√2,  v = (x − y)/√2",
        fn=ravine_rotated,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=(Point(0.0, 0.0, 0.0),),
        saddles=(),
        # the ravine's start carried along by the same rotation: (x, y) = ((u + v), (u − v))/√2
        start=(
            round((_RAVINE_START[0] + _RAVINE_START[1]) * INV_SQRT2, 2),
            round((_RAVINE_START[0] - _RAVINE_START[1]) * INV_SQRT2, 2),
        ),
        tags=("ravine", "ill-conditioned", "convex"),
        description=(
            "The same ravine with its valley along the diagonal, so the steep and the flat "
            "direction each mix both coordinates. Adam and RMSprop rescale each coordinate on "
            "its own and lose most of their edge here, while momentum is indifferent to rotation."
        ),
    ),
    Surface(
        id="saddle",
        name="Saddle",
        formula="f(x, y) = x² − y²",
        fn=saddle,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=(),
        saddles=(Point(0.0, 0.0, 0.0),),
        start=(-1.8, 0.02),
        tags=("saddle", "unbounded"),
        description=(
            "Curving up along x and down along y, the origin is a stationary point but not a "
            "minimum, and f is unbounded below. Started almost on the x-axis, gradient descent "
            "slows to a crawl near the saddle before the tiny y-offset grows and carries it away."
        ),
    ),
    Surface(
        id="monkey_saddle",
        name="Monkey saddle",
        formula="f(x, y) = x³ − 3·x·y²",
        fn=monkey_saddle,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=(),
        saddles=(Point(0.0, 0.0, 0.0),),
        start=(1.5, 0.05),
        tags=("saddle", "unbounded"),
        description=(
            "Three valleys meet at the origin, where the gradient and even the Hessian vanish, "
            "so second-order tests cannot classify the point. The gradient shrinks like r² "
            "near it, which makes plain gradient descent stall far longer than on x² − y²."
        ),
    ),
    Surface(
        id="rosenbrock",
        name="Rosenbrock",
        formula="f(x, y) = (1 − x)² + 100·(y − x²)²",
        fn=rosenbrock,
        domain=((-2.0, 2.0), (-1.0, 3.0)),
        minima=(Point(1.0, 1.0, 0.0),),
        saddles=(),
        start=(-1.5, 2.0),
        tags=("classic", "ravine", "ill-conditioned"),
        description=(
            "Finding the curved, banana-shaped valley is easy, but following it to the minimum "
            "at (1, 1) is hard because its floor is nearly flat while its walls are steep. "
            "Gradient descent zig-zags across the valley, while momentum and Adam travel along it."
        ),
    ),
    Surface(
        id="beale",
        name="Beale",
        formula="f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        fn=beale,
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        minima=(Point(3.0, 0.5, 0.0),),
        saddles=(Point(0.0, 1.0, 14.203125), Point(0.1005379373, -2.6445135850, 9.8645122848)),
        start=(1.0, 1.5),
        tags=("classic", "ill-conditioned"),
        description=(
            "Steep walls where |y| > 1 and a long, flat, curved valley leading to the minimum "
            "at (3, 0.5) make values span several orders of magnitude (use a log colour scale). "
            "A learning rate stable on the walls barely moves along the valley floor, which "
            "adaptive methods such as Adam handle better than plain gradient descent."
        ),
    ),
    Surface(
        id="booth",
        name="Booth",
        formula="f(x, y) = (x + 2y − 7)² + (2x + y − 5)²",
        fn=booth,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=(Point(1.0, 3.0, 0.0),),
        saddles=(),
        start=(-7.0, 8.0),
        tags=("classic", "convex"),
        description=(
            "A convex quadratic whose Hessian [[10, 8], [8, 10]] has eigenvalues 18 and 2, so "
            "the contours are tilted ellipses with condition number 9. It is a gentle first "
            "look at how a tilted valley bends the gradient-descent path."
        ),
    ),
    Surface(
        id="matyas",
        name="Matyas",
        formula="f(x, y) = 0.26·(x² + y²) − 0.48·x·y",
        fn=matyas,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=(Point(0.0, 0.0, 0.0),),
        saddles=(),
        start=(-8.0, -5.0),
        tags=("classic", "convex", "ill-conditioned"),
        description=(
            "A convex quadratic with a very flat diagonal valley: Hessian eigenvalues 1 across "
            "it and 0.04 along it. Paths drop quickly onto the diagonal and then creep toward "
            "the origin, which shows why small gradients do not mean being close to the minimum."
        ),
    ),
    Surface(
        id="mccormick",
        name="McCormick",
        formula="f(x, y) = sin(x + y) + (x − y)² − 1.5·x + 2.5·y + 1",
        fn=mccormick,
        domain=((-1.5, 4.0), (-3.0, 4.0)),
        minima=(
            Point((1 - _MC_S) / 2, (-1 - _MC_S) / 2, -math.sqrt(3) / 2 - _MC_S / 2),
            Point((1 + 2 * _MC_S) / 2, (-1 + 2 * _MC_S) / 2, -math.sqrt(3) / 2 + _MC_S),
        ),
        saddles=(Point((1 + _MC_S) / 2, (-1 + _MC_S) / 2, math.sqrt(3) / 2 + _MC_S / 2),),
        start=(-1.0, 3.0),
        tags=("classic", "multimodal", "unbounded"),
        description=(
            "A sine ripple along x + y on a tilted parabolic trough makes an endless row of "
            "minima and saddles, unbounded below; this window shows the global minimum "
            "(−0.547, −1.547), a local one at (2.594, 1.594) and the saddle between them. "
            "Small-step gradient descent reaches that global minimum exactly when x + y starts "
            "between the saddle lines x + y = −4π/3 and x + y = 2π/3, as the suggested start "
            "just does."
        ),
    ),
    Surface(
        id="goldstein_price",
        name="Goldstein–Price",
        formula=(
            "f(x, y) = [1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]"
            " · [30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]"
        ),
        fn=goldstein_price,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=(
            Point(0.0, -1.0, 3.0),
            Point(-0.6, -0.4, 30.0),
            Point(1.8, 0.2, 84.0),
            Point(1.2, 0.8, 840.0),
        ),
        saddles=(
            Point(-0.4, -0.6, 35.0),
            Point(1.2, -0.2, 99.0),
            Point(1.4, 0.6, 980.0),
            Point(0.6, 0.4, 990.0),
        ),
        start=(0.5, -1.8),
        tags=("classic", "multimodal"),
        description=(
            "Values range from 3 at the global minimum (0, −1) to about 10⁶ at the corners, with "
            "local minima of 30, 84 and 840 nearby (use a log colour scale). A learning rate safe "
            "on the steep walls is far too small in the basins, and the basin a path ends in "
            "depends on the optimizer."
        ),
    ),
    Surface(
        id="six_hump_camel",
        name="Six-hump camel",
        formula="f(x, y) = (4 − 2.1·x² + x⁴/3)·x² + x·y + (4·y² − 4)·y²",
        fn=six_hump_camel,
        domain=((-2.0, 2.0), (-1.0, 1.0)),
        minima=(
            Point(0.0898420131, -0.7126564030, -1.0316284535),
            Point(-0.0898420131, 0.7126564030, -1.0316284535),
            Point(1.7036067150, -0.7960835687, -0.2154638244),
            Point(-1.7036067150, 0.7960835687, -0.2154638244),
            Point(1.6071047529, 0.5686514549, 2.1042503103),
            Point(-1.6071047529, -0.5686514549, 2.1042503103),
        ),
        saddles=(
            Point(0.0, 0.0, 0.0),
            Point(1.1092053368, -0.7682680925, 0.5437186010),
            Point(-1.1092053368, 0.7682680925, 0.5437186010),
            Point(1.6380679842, 0.2286740690, 2.2293571975),
            Point(-1.6380679842, -0.2286740690, 2.2293571975),
            Point(1.2960702672, 0.6050843880, 2.2294708180),
            Point(-1.2960702672, -0.6050843880, 2.2294708180),
        ),
        start=(1.9, 0.9),
        tags=("classic", "multimodal", "saddle"),
        description=(
            "Six minima, two of them global at (±0.0898, ∓0.7127) with f = −1.0316, separated "
            "by seven saddles, one of them at the origin. From the suggested start plain "
            "gradient descent stops in a shallow local minimum, while momentum can carry a path "
            "over the ridge into a global one."
        ),
    ),
    Surface(
        id="himmelblau",
        name="Himmelblau",
        formula="f(x, y) = (x² + y − 11)² + (x + y² − 7)²",
        fn=himmelblau,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=(
            Point(3.0, 2.0, 0.0),
            Point(-2.8051180870, 3.1313125183, 0.0),
            Point(-3.7793102534, -3.2831859913, 0.0),
            Point(3.5844283403, -1.8481265270, 0.0),
        ),
        saddles=(
            Point(3.3851541836, 0.0738518798, 13.3119262704),
            Point(0.0866775046, 2.8842547012, 67.7191500875),
            Point(-3.0730257508, -0.0813530443, 104.0151629176),
            Point(-0.1279613467, -1.9537149802, 178.3372392019),
        ),
        start=(-0.3, -0.9),
        tags=("classic", "multimodal", "saddle"),
        description=(
            "Four equally good minima with f = 0, four saddles between them and a local "
            "maximum near (−0.271, −0.923). Started near that hilltop, different optimizers "
            "roll into different minima, so which one is found is a matter of dynamics, not "
            "of quality."
        ),
    ),
    Surface(
        id="styblinski_tang",
        name="Styblinski–Tang",
        formula="f(x, y) = ½·(x⁴ − 16·x² + 5·x + y⁴ − 16·y² + 5·y)",
        fn=styblinski_tang,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=(
            Point(_ST_LO, _ST_LO, 2 * _ST_LO_F),
            Point(_ST_LO, _ST_HI, _ST_LO_F + _ST_HI_F),
            Point(_ST_HI, _ST_LO, _ST_LO_F + _ST_HI_F),
            Point(_ST_HI, _ST_HI, 2 * _ST_HI_F),
        ),
        saddles=(
            Point(_ST_LO, _ST_MID, _ST_LO_F + _ST_MID_F),
            Point(_ST_MID, _ST_LO, _ST_LO_F + _ST_MID_F),
            Point(_ST_HI, _ST_MID, _ST_HI_F + _ST_MID_F),
            Point(_ST_MID, _ST_HI, _ST_HI_F + _ST_MID_F),
        ),
        start=(0.5, 4.5),
        tags=("classic", "multimodal", "saddle"),
        description=(
            "A sum of two identical 1-D double wells, tilted so the well at t ≈ −2.90 is deeper "
            "than the one at t ≈ 2.75: one global minimum, three local minima and four saddles. "
            "Gradient descent keeps whichever well each coordinate starts in, while enough "
            "momentum can roll over the barrier into the deeper one."
        ),
    ),
    Surface(
        id="rastrigin",
        name="Rastrigin",
        formula="f(x, y) = 20 + x² − 10·cos(2πx) + y² − 10·cos(2πy)",
        fn=rastrigin,
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        minima=(Point(0.0, 0.0, 0.0),),
        saddles=(),
        start=(3.2, -2.3),
        tags=("classic", "multimodal"),
        description=(
            "A bowl covered by an egg-crate of cosine bumps, with a local minimum near every "
            "integer point and the global one at the origin. Gradient methods get stuck in the "
            "nearest dimple, so this surface shows where local optimization ends."
        ),
    ),
    Surface(
        id="ackley",
        name="Ackley",
        formula="f(x, y) = −20·exp(−0.2·√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20",
        fn=ackley,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=(Point(0.0, 0.0, 0.0),),
        saddles=(),
        start=(3.3, -2.7),
        tags=("classic", "multimodal"),
        description=(
            "A nearly flat, ripple-covered plateau around a sharp funnel with its tip at the "
            "origin, where f has a kink. Small steps stall in the ripples, while large or noisy "
            "steps feel the funnel's overall slope."
        ),
    ),
    Surface(
        id="linear_regression",
        name="Linear regression",
        formula="L(w) = 1/n · Σᵢ (yᵢ − xᵢᵀw)²,  n = 200,  w = (x, y)",
        fn=linear_regression,
        domain=((-1.0, 5.0), (-4.0, 2.0)),
        minima=(_least_squares(),),
        saddles=(),
        start=(-0.5, 1.0),
        tags=("stochastic", "convex", "ill-conditioned"),
        description=(
            "Mean squared error of a 2-weight linear model on 200 fixed samples with correlated "
            "features, so the contours are elongated ellipses around the least-squares "
            "solution. Full-batch gradient descent follows the smooth path, SGD with one sample "
            "per step jitters around it and never settles at a fixed learning rate, and "
            "mini-batches trade between the two."
        ),
        samples=REGRESSION_SAMPLES,
    ),
)


def get_surface(surface_id: str) -> Surface:
    """The registered surface `surface_id`; KeyError names the known ids if there is none."""
    try:
        return SURFACES[surface_id]
    except KeyError:
        raise KeyError(f"Unknown surface {surface_id!r}; known: {', '.join(SURFACES)}") from None


def evaluate_grid(fn: Callable[[Tensor], Tensor], x: Tensor, y: Tensor) -> Tensor:
    """z[i][j] = f(x[j], y[i]) for 1-D x (nx,), y (ny,) -> (ny, nx) — Plotly's convention."""
    grid_x, grid_y = torch.meshgrid(x, y, indexing="xy")  # each (ny, nx)
    return fn(torch.stack((grid_x, grid_y), dim=-1))  # (ny, nx, 2) -> (ny, nx)
