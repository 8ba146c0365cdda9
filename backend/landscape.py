"""Loss landscapes of a trained network (Li et al., 2018, "Visualizing the Loss Landscape
of Neural Nets"): directions, projection, batched grids. Pure computation, no I/O.

A weight vector is handled flat: `w ∈ ℝⁿ`, the model's parameters concatenated in
`named_parameters()` order (`Layout` converts). A 2-D slice around the final
weights w* along directions u, v is

    f(a, b) = L(w* + a·u + b·v),   so (0, 0) is w* itself,

evaluated on a fixed evaluation subset, with the model in eval mode.

Directions:
- random: Gaussian u, v, *filter-normalised*: each filter (row of a Linear weight,
  output channel of a conv) of the direction is rescaled to the norm of the same
  filter of w*, d_f ← d_f·‖w_f‖/‖d_f‖, and bias/BatchNorm entries are zeroed
  ("ignore biasbn"), so a unit step means the same relative change for every filter;
- pca: the top-2 principal directions of the checkpoints minus w*,
  M = [w₀ − w*; …; w_T − w*], centred before the SVD as in Li et al.'s code;
- hessian: the two eigenvectors of ∇²L(w*) with the largest |λ|, from Lanczos
  iteration on Hessian-vector products (double backward).

A checkpoint wᵢ is projected *without centring*: dᵢ = wᵢ − w*, and (aᵢ, bᵢ) solves
min ‖dᵢ − a·u − b·v‖ (least squares, so u and v need not be orthogonal), with the
relative residual ‖dᵢ − aᵢu − bᵢv‖ / ‖dᵢ‖ saying how much of the path the plane misses.

Grids are batched: many grid points per kernel, through the stacked-weight forward
passes of `backend.stacked`. For an MLP, P points at once are P stacked weight
matrices W_p = W* + a_p·U + b_p·V, built with one small matmul and applied with
`bmm`; the first layer is affine in (a, b), so its pre-activations are
W*Xᵀ + a·UXᵀ + b·VXᵀ from three matrices computed once. The lab's CNN runs as
stacked and grouped convolutions. (`torch.func.vmap` over `functional_call` was
measured too: slower than the per-point loop for the CNN, 1.4–1.9 s against
1.1–1.2 s on a 15 × 15 grid.) Grids are `z[iy][ix]`, z at (a[ix], b[iy]), any nx × ny.
"""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from backend.stacked import StackedConvNet, StackedMLP

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


# --- flat weight vectors -------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where each named parameter lives in the flat vector."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]

    @classmethod
    def of(cls, model: nn.Module) -> "Layout":
        named = list(model.named_parameters())
        return cls(tuple(n for n, _ in named), tuple(p.shape for _, p in named))

    @property
    def sizes(self) -> list[int]:
        return [math.prod(s) for s in self.shapes]

    @property
    def offsets(self) -> dict[str, int]:
        starts = [0, *torch.tensor(self.sizes).cumsum(0).tolist()]
        return dict(zip(self.names, starts, strict=False))

    def flatten(self, tensors: dict[str, Tensor]) -> Tensor:
        return torch.cat([tensors[n].reshape(-1) for n in self.names])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """Views of `flat` (..., n) shaped as each parameter (..., *shape)."""
        parts = flat.split(self.sizes, dim=-1)
        return {n: p.reshape(*flat.shape[:-1], *s) for n, p, s in
                zip(self.names, parts, self.shapes, strict=True)}


def weights_of(model: nn.Module) -> Tensor:
    """A flat copy of the model's parameters."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def load_weights(model: nn.Module, flat: Tensor) -> None:
    """Copy a flat vector into the model's parameters (in place, no aliasing)."""
    with torch.no_grad():
        for p, part in zip(model.parameters(), flat.split([p.numel() for p in model.parameters()]),
                           strict=True):
            p.copy_(part.view_as(p))


# --- directions ----------------------------------------------------------------------------


def filter_normalize(direction: dict[str, Tensor], weights: dict[str, Tensor]) -> dict[str, Tensor]:
    """Li et al.'s filter normalisation, "ignore biasbn".

    For a parameter with ≥ 2 dims, filter f is its slice along dim 0 (a row of a
    Linear weight, an output channel of a conv): d_f ← d_f · ‖w_f‖ / ‖d_f‖.
    Parameters with ≤ 1 dim (biases, BatchNorm scale and shift) get d = 0.
    """
    out = {}
    for name, d in direction.items():
        w = weights[name]
        if d.dim() <= 1:
            out[name] = torch.zeros_like(d)
            continue
        d_norm = d.flatten(1).norm(dim=1)
        w_norm = w.flatten(1).norm(dim=1)
        scale = w_norm / (d_norm + 1e-10)
        out[name] = d * scale.view(-1, *([1] * (d.dim() - 1)))
    return out


_normalize_filters = filter_normalize  # the name a keyword argument below shadows


def random_directions(model: nn.Module, generator: torch.Generator,
                      filter_normalize: bool = True) -> tuple[Tensor, Tensor]:
    """Two Gaussian directions (n,), drawn on the generator's device (CPU: same on any device).

    Filter-normalised by default; otherwise each is rescaled to ‖w*‖ as a whole, so
    a grid span means the same distance either way.
    """
    layout = Layout.of(model)
    w = weights_of(model)
    out = []
    for _ in range(2):
        d = torch.randn(len(w), generator=generator, dtype=w.dtype).to(w.device)
        if filter_normalize:
            d = layout.flatten(_normalize_filters(layout.unflatten(d), layout.unflatten(w)))
        else:
            d = d * (w.norm() / d.norm())
        out.append(d)
    return out[0], out[1]


def _orient(d: Tensor, toward: Tensor) -> Tensor:
    """Flip d so that `toward` (the start minus w*) has a non-negative coordinate along it."""
    return -d if float(d @ toward) < 0 else d


def _complete(u: Tensor, generator: torch.Generator) -> Tensor:
    """A unit vector orthogonal to u (Gram–Schmidt on a seeded Gaussian)."""
    while True:
        r = torch.randn(len(u), generator=generator, dtype=u.dtype).to(u.device)
        r = r - (r @ u) * u
        if float(r.norm()) > 1e-3:  # redraw in the (measure-zero) case r ∥ u
            return r / r.norm()


def pca_directions(checkpoints: Tensor, final: Tensor,
                   generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Top-2 principal directions of M = checkpoints − final (rows), and their explained variance.

    M is centred before the decomposition (as sklearn's PCA in Li et al.'s code);
    the directions are unit vectors oriented so the first checkpoint has coordinates ≥ 0.
    Computed from the small Gram matrix G = M_c·M_cᵀ (m × m): with G e = λ e, the
    direction is M_cᵀe/√λ and λ/trace(G) its share of the variance. When the path
    spans fewer than two dimensions, the missing direction is a seeded random unit
    vector orthogonal to the others, with explained variance 0.
    """
    m = checkpoints - final  # (m, n)
    mc = m - m.mean(dim=0)
    gram = (mc @ mc.T).double()  # (m, m)
    values, vectors = torch.linalg.eigh(gram)  # ascending
    total = float(values.clamp(min=0).sum())
    generator = generator or torch.Generator().manual_seed(0)
    directions, explained = [], []
    for i in (1, 2):
        lam = float(values[-i]) if len(values) >= i else 0.0
        if total > 0 and lam > 1e-6 * total:  # below: float32 round-off of a lower-rank path
            d = mc.T @ vectors[:, -i].to(mc.dtype)
            d = d / d.norm()
            explained.append(lam / total)
        else:
            d = torch.zeros_like(final)
            explained.append(0.0)
        directions.append(d)
    start = m[0]
    u, v = directions
    if float(u.norm()) == 0:
        u = _complete(torch.zeros_like(final), generator)
    if float(v.norm()) == 0:
        v = _complete(u, generator)
    return _orient(u, start), _orient(v, start), torch.tensor(explained, dtype=torch.float64)


def hessian_eigenpairs(model: nn.Module, loss_fn: LossFn, data: EvalData, k: int = 2, iters: int = 30,
                       generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """The k eigenpairs of ∇²L(w) with the largest |λ|, by Lanczos with full reorthogonalisation.

    L is the mean loss over `data` at the model's current weights, model in eval
    mode. Each Lanczos step is one Hessian-vector product Hq = ∂(∇L·q)/∂w by double
    backward through the gradient graph, which is built once and retained. After
    m = min(iters, n) steps the tridiagonal T = QᵀHQ is diagonalised; its extreme
    Ritz values converge first. Returns (vectors (k, n) unit rows, values (k,)).
    """
    params = list(model.parameters())
    n = sum(p.numel() for p in params)
    generator = generator or torch.Generator().manual_seed(0)
    was_training = model.training
    model.eval()
    with torch.enable_grad():
        loss = loss_fn(model(data.x), data.y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        g = torch.cat([gr.reshape(-1) for gr in grads])
    model.train(was_training)

    def hvp(q: Tensor) -> Tensor:
        hq = torch.autograd.grad(g, params, grad_outputs=q, retain_graph=True, allow_unused=True)
        return torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1)
                          for h, p in zip(hq, params, strict=True)])

    m = min(iters, n)
    basis = torch.zeros(m, n, dtype=g.dtype, device=g.device)  # Q: Lanczos vectors as rows
    q = torch.randn(n, generator=generator, dtype=g.dtype).to(g.device)
    q = q / q.norm()
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(m):
        basis[j] = q
        w = hvp(q).detach()
        alpha = float(w @ q)
        alphas.append(alpha)
        for _ in range(2):  # full reorthogonalisation against every earlier vector, twice
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(w.norm())
        if j == m - 1 or beta <= 1e-7 * max(abs(a) for a in alphas):
            break
        betas.append(beta)
        q = w / beta
    size = len(alphas)
    tri = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if size > 1:
        off = torch.tensor(betas[: size - 1], dtype=torch.float64)
        tri += torch.diag(off, 1) + torch.diag(off, -1)
    theta, s = torch.linalg.eigh(tri)
    order = theta.abs().argsort(descending=True)[:k]
    vectors = s[:, order].T.to(g.dtype).to(g.device) @ basis[:size]  # (k, n) Ritz vectors
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    return vectors, theta[order]


def hessian_directions(model: nn.Module, loss_fn: LossFn, data: EvalData, iters: int = 30,
                       generator: torch.Generator | None = None,
                       start: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """The top-2 (by |λ|) Hessian eigenvectors at the model's weights, and their eigenvalues.

    Oriented so that `start − w*` (if given) has non-negative coordinates.
    """
    vectors, values = hessian_eigenpairs(model, loss_fn, data, 2, iters, generator)
    u, v = vectors[0], vectors[1]
    if start is not None:
        u, v = _orient(u, start), _orient(v, start)
    return u, v, values


def project(points: Tensor, origin: Tensor, u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Coordinates (m, 2) of each point in the plane origin + a·u + b·v, and relative residuals (m,).

    No centring: dᵢ = pointᵢ − origin. (a, b) solves the 2 × 2 normal equations
    [[u·u, u·v], [u·v, v·v]] (a, b)ᵀ = (dᵢ·u, dᵢ·v)ᵀ, exact least squares for
    non-orthogonal u, v. Residual ‖dᵢ − aᵢu − bᵢv‖ / ‖dᵢ‖, 0 where dᵢ = 0.
    """
    d = points - origin  # (m, n)
    basis = torch.stack([u, v])  # (2, n)
    gram = (basis @ basis.T).double()
    rhs = (d @ basis.T).double()  # (m, 2)
    coords = torch.linalg.solve(gram, rhs.T).T  # (m, 2)
    miss = d - coords.to(d.dtype) @ basis
    norms = d.norm(dim=1).double()
    residual = torch.where(norms > 0, miss.norm(dim=1).double() / norms.clamp(min=1e-30),
                           torch.zeros_like(norms))
    return coords, residual


# --- batched evaluation --------------------------------------------------------------------


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


def model_loss(classification: bool) -> LossFn:
    """The training loss of one forward: cross-entropy over logits, or MSE of (N, 1) outputs."""
    if classification:
        return F.cross_entropy
    return lambda out, y: F.mse_loss(out.squeeze(-1), y)


class Evaluator:
    """Loss and accuracy of a model at many weight vectors, batched, in eval mode, no grad.
    The model is an MLP `nn.Sequential` or the lab's CNN (`backend.stacked`), else ValueError."""

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
    loss_fn = model_loss(data.classification)
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


# --- several runs on one plane -------------------------------------------------------------


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
            raise ValueError(f"run {i} does not start from the same weights as run 0")
    stacked = torch.cat(runs)
    u, v, explained = pca_directions(stacked, origin, generator)
    ends = torch.stack([r[-1] for r in runs]).mean(0) - origin  # orient toward where runs go
    u, v = _orient(u, ends), _orient(v, ends)
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
    ny, nx = shape
    evaluator = Evaluator(model, data)
    load_weights(model, final)
    start = checkpoints[0] - final
    explained = eigenvalues = None
    if directions == "random":
        u, v = random_directions(model, generator, filter_normalize)
    elif directions == "pca":
        u, v, explained = pca_directions(checkpoints, final, generator)
    elif directions == "hessian":
        u, v, eigenvalues = hessian_directions(model, model_loss(data.classification), data,
                                               hessian_iters, generator, start)
    else:
        raise ValueError(f"unknown landscape directions {directions!r}")
    coords, residual = project(checkpoints, final, u, v)
    half = [span, span]
    if directions != "random":
        reach = float((checkpoints - final).norm(dim=1).max())
        extent = coords.abs().max(dim=0).values.tolist()
        half = [span * max(1.1 * e, 0.1 * reach) or span for e in extent]  # `or`: a path that never moved
    a, b = axis(half[0], nx), axis(half[1], ny)
    basis = torch.stack([u, v])
    trajectory = as_floats(coords)

    pa, pb = axis(half[0], min(preview, nx)), axis(half[1], min(preview, ny))
    p_loss, p_acc = evaluator.plane(final, basis, grid_coefficients(pa, pb).to(final.device),
                                    cancelled=cancelled)
    p_loss = p_loss.view(len(pb), len(pa))
    p_acc = None if p_acc is None else p_acc.view(len(pb), len(pa))
    preview_s = time.perf_counter() - began
    if emit is not None:
        emit(_grid_message("preview", 0.0, pa, pb, p_loss, p_acc) | {"trajectory": trajectory})

    def upsample(coarse: Tensor) -> Tensor:
        return F.interpolate(coarse[None, None], size=(ny, nx), mode="bilinear", align_corners=True)[0, 0]

    shown_loss = upsample(p_loss)
    shown_acc = None if p_acc is None else upsample(p_acc)
    coeffs = grid_coefficients(a, b).to(final.device)
    last = time.perf_counter()

    def refine(done: int, loss_so_far: Tensor, acc_so_far: Tensor | None) -> None:
        nonlocal last
        if emit is None or done == len(coeffs) or time.perf_counter() - last < frame_seconds:
            return
        shown_loss.view(-1)[:done] = loss_so_far[:done]
        if shown_acc is not None and acc_so_far is not None:
            shown_acc.view(-1)[:done] = acc_so_far[:done]
        emit(_grid_message("refine", done / len(coeffs), a, b, shown_loss, shown_acc))
        last = time.perf_counter()

    flat_loss, flat_acc = evaluator.plane(final, basis, coeffs, refine, cancelled)
    loss = flat_loss.view(ny, nx)
    accuracy = None if flat_acc is None else flat_acc.view(ny, nx)
    if emit is not None:
        emit(_grid_message("done", 1.0, a, b, loss, accuracy))

    true_loss, _ = evaluator.points(checkpoints, cancelled=cancelled)
    slice_loss, _ = evaluator.plane(final, basis, coords.to(final.dtype), cancelled=cancelled)
    final_loss, _ = evaluator.points(final.unsqueeze(0))
    alphas = (torch.arange(41, dtype=torch.float64) - 10) / 20  # −0.5 … 1.5; 0 and 1 exact
    i_loss, i_acc = evaluator.plane(checkpoints[0], (final - checkpoints[0]).unsqueeze(0),
                                    alphas.view(-1, 1).to(final.device), cancelled=cancelled)
    layout = Layout.of(model)
    report = {
        "directions": directions,
        "filter_normalize": filter_normalize if directions == "random" else False,
        "a": as_floats(a), "b": as_floats(b), "loss": as_floats(loss),
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
        "a": a.float(), "b": b.float(), "loss": loss.detach().cpu(),
        "accuracy": None if accuracy is None else accuracy.detach().cpu(),
        "eval_samples": len(data), "kind": directions,
    }
    return Survey(report, export)

