"""The sharpness of a run: the eigenvalue of ∇²L with the largest |λ| at the initial and
the final weights (Lanczos, `SHARPNESS_ITERS` Hessian-vector products, on the landscape's
evaluation samples). Near w, gradient descent with step η is stable only while
η < 2/λ_max: the quadratic model's iteration multiplies that direction by 1 − ηλ.
Skipped (null) for models where parameters × samples exceed `SHARPNESS_WORK`.
"""

import math

from torch import Tensor

from backend.networks import landscape as L
from backend.networks.prepared import Prepared, eval_subset, generator
from backend.networks.spec import NetworkRun

SHARPNESS_SAMPLES = 1000  # evaluation samples of the sharpness (the landscape's, by default)
SHARPNESS_ITERS = 20  # Lanczos steps: the extreme eigenvalue converges first
SHARPNESS_WORK = 100_000_000  # parameters × samples above which the sharpness is skipped


def sharpness(request: NetworkRun, prep: Prepared, initial: Tensor,
              final: Tensor | None) -> dict[str, float | None]:
    """λ with the largest |λ| of ∇²L at the initial and final weights (null when not finite);
    the model is left at `final` (or at `initial` when there is none)."""
    samples = min(SHARPNESS_SAMPLES, len(prep.train))
    if prep.plan.parameters * samples > SHARPNESS_WORK:
        return {"sharpness_initial": None, "sharpness_final": None}
    data = eval_subset(prep, samples, generator(request.seed, "landscape"))
    values: dict[str, float | None] = {}
    for key, weights in (("sharpness_initial", initial), ("sharpness_final", final)):
        if weights is None:
            values[key] = None
            continue
        L.load_weights(prep.model, weights)
        _, eigenvalues = L.hessian_eigenpairs(prep.model, prep.loss_fn, data, k=1, iters=SHARPNESS_ITERS,
                                              generator=generator(request.seed, "landscape"))
        value = float(eigenvalues[0])
        values[key] = value if math.isfinite(value) else None
    return values
