"""Directions of a landscape slice (Li et al., 2018): random filter-normalised, PCA of the
checkpoints, or the Hessian's top eigenvectors; and the projection of a path onto a plane."""

import torch
from torch import Tensor, nn

from backend.networks.landscape.evaluator import EvalData, LossFn
from backend.networks.landscape.weights import Layout, weights_of


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


def orient(d: Tensor, toward: Tensor) -> Tensor:
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
    return orient(u, start), orient(v, start), torch.tensor(explained, dtype=torch.float64)


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
        u, v = orient(u, start), orient(v, start)
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
