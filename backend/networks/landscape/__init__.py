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
passes of `backend.networks.landscape.stacked`. For an MLP, P points at once are P stacked weight
matrices W_p = W* + a_p·U + b_p·V, built with one small matmul and applied with
`bmm`; the first layer is affine in (a, b), so its pre-activations are
W*Xᵀ + a·UXᵀ + b·VXᵀ from three matrices computed once. The lab's CNN runs as
stacked and grouped convolutions. (`torch.func.vmap` over `functional_call` was
measured too: slower than the per-point loop for the CNN, 1.4–1.9 s against
1.1–1.2 s on a 15 × 15 grid.) Grids are `z[iy][ix]`, z at (a[ix], b[iy]), any nx × ny.
"""

from backend.networks.landscape.directions import (
    filter_normalize,
    hessian_directions,
    hessian_eigenpairs,
    pca_directions,
    project,
    random_directions,
)
from backend.networks.landscape.evaluator import (
    Cancelled,
    EvalData,
    Evaluator,
    axis,
    grid_coefficients,
    interpolate,
    loss_grid,
    loss_grid_loop,
)
from backend.networks.landscape.survey import DifferentStarts, Plane, Survey, as_floats, compare_plane, survey
from backend.networks.landscape.weights import Layout, load_weights, weights_of

__all__ = [
    "Cancelled", "DifferentStarts", "EvalData", "Evaluator", "Layout", "Plane", "Survey", "as_floats", "axis",
    "compare_plane", "filter_normalize", "grid_coefficients", "hessian_directions", "hessian_eigenpairs",
    "interpolate", "load_weights", "loss_grid", "loss_grid_loop", "pca_directions",
    "project", "random_directions", "survey", "weights_of",
]
