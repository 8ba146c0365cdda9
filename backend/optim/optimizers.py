"""Registry over `torch.optim`: id -> class, hyperparameters, update rule.

The registry never implements an update: it names the torch class, reads each
keyword and its default from the class signature, and adds bounds and a
description. `effective_lr` reads the optimizer's own state to show the
per-coordinate step size an adaptive method applies (display only). The
community's optimizers (`pytorch_optimizer`, backend/optim/community.py) join
the same registry, with family "community".
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from pydantic import BaseModel

from backend.optim.hyperparameters import Hyperparameter, Metadata, describe, spec_model

# Keywords that choose an implementation, not an algorithm: the same path either way.
IMPLEMENTATION_KEYWORDS = frozenset(
    {"self", "params", "foreach", "fused", "capturable", "differentiable", "maximize"}
)


METADATA: dict[str, Metadata] = {
    "lr": Metadata("float", "learning rate η", min=0.0, max=1000.0, exclusive_min=True),
    "momentum": Metadata("float", "momentum factor μ", min=0.0, max=1.0),
    "dampening": Metadata("float", "dampening for momentum τ", min=0.0, max=1.0),
    "weight_decay": Metadata("float", "weight decay (L2 penalty) λ", min=0.0, max=100.0),
    "nesterov": Metadata("bool", "use Nesterov momentum"),
    "betas": Metadata(
        "pair", "coefficients (β₁, β₂) of the running averages", min=0.0, max=1.0, exclusive_max=True
    ),
    "eps": Metadata("float", "term added to the denominator ε", min=0.0, max=1.0),
    "amsgrad": Metadata("bool", "use the AMSGrad variant (max of past second moments)"),
    "decoupled_weight_decay": Metadata("bool", "decay weights directly, as AdamW does"),
    "lr_decay": Metadata("float", "learning-rate decay per step", min=0.0, max=10.0),
    "initial_accumulator_value": Metadata(
        "float", "initial value of the sum of squared gradients", min=0.0, max=1e3
    ),
    "alpha": Metadata("float", "smoothing constant α of the squared-gradient average", min=0.0, max=1.0),
    "centered": Metadata("bool", "normalise by the estimated variance of the gradient"),
    "momentum_decay": Metadata("float", "momentum decay ψ", min=0.0, max=1.0),
    "rho": Metadata("float", "coefficient ρ of the running averages", min=0.0, max=1.0),
    "etas": Metadata(
        "pair",
        "(η₋, η₊): step-size factors on a sign flip / no flip",
        min=0.0,
        max=10.0,
        exclusive_min=True,
    ),
    "step_sizes": Metadata(
        "pair", "(minimal, maximal) allowed step size", min=0.0, max=1e3, exclusive_min=True
    ),
    "lambd": Metadata("float", "decay term λ", min=0.0, max=1.0),
    "t0": Metadata("float", "step at which averaging starts", min=0.0, max=1e9),
    "max_iter": Metadata("int", "iterations per optimizer step", min=1, max=100),
    "max_eval": Metadata(
        "int",
        "function evaluations per step (default max_iter × 1.25)",
        min=1,
        max=200,
        nullable=True,
    ),
    "tolerance_grad": Metadata("float", "stop when ‖∇L‖∞ is below this", min=0.0, max=1.0),
    "tolerance_change": Metadata("float", "stop when the change is below this", min=0.0, max=1.0),
    "history_size": Metadata("int", "update history size", min=1, max=1000),
    "line_search_fn": Metadata(
        "choice", "line search (None or 'strong_wolfe')", choices=(None, "strong_wolfe")
    ),
    "beta2_decay": Metadata("float", "decay rate of β₂ (β₂ₜ = 1 − t^beta2_decay)", min=-1.0, max=0.0),
    "d": Metadata("float", "clipping threshold of the update's RMS", min=1.0, max=100.0),
}
# Per-class meanings that differ from the shared table above.
OVERRIDES: dict[str, dict[str, Metadata]] = {
    "ASGD": {"alpha": Metadata("float", "power α of the η update", min=0.0, max=10.0)},
    "Adafactor": {
        "eps": Metadata(
            "pair",
            "(ε₁, ε₂): ε₁ in the denominator (None: from the dtype), ε₂ scale floor",
            min=0.0,
            max=1.0,
            nullable=True,
        )
    },
}


Family = Literal["torch.optim", "community"]


@dataclass(frozen=True)
class Paper:
    """Where a method was introduced: `cite` is "Authors, year. Title"."""

    cite: str
    url: str


@dataclass(frozen=True)
class Coupling:
    """Keyword values under which an element-wise class stops treating the rows of one tensor
    independently (a norm over the whole tensor, a mean over a row), so each start needs an
    optimizer of its own. `when` sees every keyword, defaults filled in."""

    when: Callable[[dict[str, Any]], bool]
    why: str


@dataclass(frozen=True)
class OptimizerInfo:
    """One registry entry: a torch.optim (or pytorch_optimizer) class and how the API exposes it.

    `batched`: the update is element-wise, so B starts can be the rows of one `(B, 2)` tensor
    (tests/unit/test_engine_truth.py proves it for every such entry), unless one of
    `couplings` holds for the keywords in use."""

    id: str
    name: str
    cls: type[torch.optim.Optimizer]
    update_rule: str
    description: str
    batched: bool
    hyperparameters: tuple[Hyperparameter, ...]
    family: Family = "torch.optim"
    paper: Paper | None = None
    description_ru: str | None = None
    couplings: tuple[Coupling, ...] = ()

    @property
    def class_path(self) -> str:
        module = "torch.optim" if self.family == "torch.optim" else "pytorch_optimizer"
        return f"{module}.{self.cls.__name__}"

    def batches(self, kwargs: Sequence[dict[str, Any]]) -> bool:
        """Whether starts with these keywords (one dict for all of them, or one per start) can
        be rows of one optimizer: an element-wise class and no keyword value that couples rows."""
        if not self.batched:
            return False
        defaults = {h.name: h.default for h in self.hyperparameters}
        return not any(c.when(defaults | kw) for c in self.couplings for kw in kwargs)

    def build(self, params: list[Any], kwargs: dict[str, Any]) -> torch.optim.Optimizer:
        """The real torch optimizer over `params` (tensors, or param-group dicts)."""
        return self.cls(params, **kwargs)


def _entry(
    id: str,
    cls: type[torch.optim.Optimizer],
    rule: str,
    description: str,
    batched: bool = True,
    paper: Paper | None = None,
) -> OptimizerInfo:
    metadata = METADATA | OVERRIDES.get(cls.__name__, {})
    return OptimizerInfo(
        id=id,
        name=cls.__name__,
        cls=cls,
        update_rule=rule,
        description=description,
        batched=batched,
        hyperparameters=describe(cls, IMPLEMENTATION_KEYWORDS, metadata),
        paper=paper or TORCH_PAPERS.get(id),
    )


# Where each of torch's methods comes from.
TORCH_PAPERS = {
    "sgd": Paper("Polyak, 1964. Some methods of speeding up the convergence of iteration methods",
                 "https://doi.org/10.1016/0041-5553(64)90137-5"),
    "adagrad": Paper("Duchi, Hazan & Singer, 2011. Adaptive Subgradient Methods for Online Learning "
                     "and Stochastic Optimization", "https://jmlr.org/papers/v12/duchi11a.html"),
    "rmsprop": Paper("Tieleman & Hinton, 2012. Lecture 6.5 — RMSprop (Neural Networks for Machine Learning)",
                     "https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf"),
    "adam": Paper("Kingma & Ba, 2015. Adam: A Method for Stochastic Optimization",
                  "https://arxiv.org/abs/1412.6980"),
    "adamw": Paper("Loshchilov & Hutter, 2019. Decoupled Weight Decay Regularization",
                   "https://arxiv.org/abs/1711.05101"),
    "nadam": Paper("Dozat, 2016. Incorporating Nesterov Momentum into Adam",
                   "https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ"),
    "radam": Paper("Liu et al., 2020. On the Variance of the Adaptive Learning Rate and Beyond",
                   "https://arxiv.org/abs/1908.03265"),
    "adamax": Paper("Kingma & Ba, 2015. Adam: A Method for Stochastic Optimization (section 7)",
                    "https://arxiv.org/abs/1412.6980"),
    "adadelta": Paper("Zeiler, 2012. ADADELTA: An Adaptive Learning Rate Method",
                      "https://arxiv.org/abs/1212.5701"),
    "rprop": Paper("Riedmiller & Braun, 1993. A direct adaptive method for faster backpropagation "
                   "learning: the RPROP algorithm", "https://doi.org/10.1109/ICNN.1993.298623"),
    "asgd": Paper("Polyak & Juditsky, 1992. Acceleration of Stochastic Approximation by Averaging",
                  "https://doi.org/10.1137/0330046"),
    "adafactor": Paper("Shazeer & Stern, 2018. Adafactor: Adaptive Learning Rates with Sublinear "
                       "Memory Cost", "https://arxiv.org/abs/1804.04235"),
    "lbfgs": Paper("Liu & Nocedal, 1989. On the limited memory BFGS method for large scale optimization",
                   "https://doi.org/10.1007/BF01589116"),
}

OPTIM = torch.optim
OPTIMIZERS: dict[str, OptimizerInfo] = {
    e.id: e
    for e in [
        _entry(
            "sgd",
            OPTIM.SGD,
            "g ← ∇L(w) + λw;  b ← μ·b + (1 − τ)·g;  d ← g + μ·b (nesterov) or b;  w ← w − η·d",
            "Gradient descent; with momentum μ it is the heavy ball. torch keeps η outside the "
            "buffer (b ← μb + g, w ← w − ηb), the slides fold η into it (u ← γu + ηg).",
        ),
        _entry(
            "adagrad",
            OPTIM.Adagrad,
            "η̃ ← η / (1 + (t − 1)·lr_decay);  s ← s + g²;  w ← w − η̃·g / (√s + ε)",
            "Divides each coordinate by the root of its summed squared gradients: steep axes "
            "get small steps, and every step keeps shrinking.",
        ),
        _entry(
            "rmsprop",
            OPTIM.RMSprop,
            "v ← α·v + (1 − α)·g²;  w ← w − η·g / (√v + ε)  (centered: √(v − ḡ²))",
            "AdaGrad with a leaky average of squared gradients, so step sizes stop shrinking "
            "forever. Note α here is the smoothing constant (the slides' γ).",
        ),
        _entry(
            "adam",
            OPTIM.Adam,
            "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  w ← w − η·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)",
            "Momentum on the gradient plus RMSprop's per-coordinate scaling, both bias-corrected "
            "by (1 − βᵗ) — not (1 − β) as the slides write.",
        ),
        _entry(
            "adamw",
            OPTIM.AdamW,
            "w ← w − ηλw;  then Adam's update",
            "Adam with weight decay applied to the weights directly instead of added to the "
            "gradient (decoupled weight decay).",
        ),
        _entry(
            "nadam",
            OPTIM.NAdam,
            "Adam with a Nesterov look-ahead on m and a momentum schedule μₜ = β₁(1 − ½·0.96^{tψ})",
            "Adam whose first moment looks one step ahead, like Nesterov momentum.",
        ),
        _entry(
            "radam",
            OPTIM.RAdam,
            "Adam with the variance rectification rₜ; while ρₜ ≤ 5 it takes bias-corrected "
            "momentum steps without the √v denominator",
            "Adam that tames its first steps, when the second-moment estimate is still noisy.",
        ),
        _entry(
            "adamax",
            OPTIM.Adamax,
            "m ← β₁m + (1 − β₁)g;  u ← max(β₂u, |g| + ε);  w ← w − η/(1 − β₁ᵗ) · m / u",
            "Adam with the infinity norm in place of the root mean square.",
        ),
        _entry(
            "adadelta",
            OPTIM.Adadelta,
            "v ← ρv + (1 − ρ)g²;  Δ ← √(u + ε)/√(v + ε)·g;  u ← ρu + (1 − ρ)Δ²;  w ← w − η·Δ",
            "Scales steps by the ratio of past update and gradient magnitudes, so the units "
            "match and η can stay 1.",
        ),
        _entry(
            "rprop",
            OPTIM.Rprop,
            "sᵢ ← sᵢ·η₊ if gᵢ keeps its sign, sᵢ·η₋ if it flips;  wᵢ ← wᵢ − sign(gᵢ)·sᵢ",
            "Uses only the sign of each gradient coordinate and adapts a step size per "
            "coordinate: a full-batch method.",
        ),
        _entry(
            "asgd",
            OPTIM.ASGD,
            "w ← w·(1 − λη) − η·g;  ηₜ = η / (1 + λ·η·t)^α;  average ax of the iterates after t0",
            "Averaged SGD: plain SGD steps with a decaying rate; it also keeps a running average "
            "of the iterates (ax), which is what converges.",
        ),
        _entry(
            "adafactor",
            OPTIM.Adafactor,
            "factored second moment (row × column averages); the update's RMS clipped at d; "
            "relative step size",
            "Memory-saving Adam relative that factors the second moment of matrices. Its update "
            "clipping uses the RMS of the whole tensor, so each start runs on its own.",
            batched=False,
        ),
        _entry(
            "lbfgs",
            OPTIM.LBFGS,
            "quasi-Newton: direction −H·g from the last history_size (s, y) pairs; each step() "
            "runs up to max_iter iterations through the closure",
            "A quasi-Newton method that builds a curvature model from past gradients. Its "
            "direction mixes all coordinates of a tensor, so each start runs on its own.",
            batched=False,
        ),
    ]
}
# Shipped in torch.optim but not offered, and why.
NOT_OFFERED = {
    "SparseAdam": "needs sparse gradients; a surface's gradient is dense",
    "Muon": "orthogonalises 2-D weight matrices; a point on a surface is not one",
}


def get_optimizer(optimizer_id: str) -> OptimizerInfo:
    return OPTIMIZERS[optimizer_id]


def spec_models() -> list[type[BaseModel]]:
    """One request model per optimizer: `{"name": id, <torch keyword>: value, ...}`."""
    return [
        spec_model(f"{info.name}Optimizer", info.id, info.hyperparameters, info.description)
        for info in OPTIMIZERS.values()
    ]


# --- effective per-coordinate step size, read from the optimizer's recorded state ---------
# Display only, never used to move a point: each function turns the buffers torch
# left after step t (and, where the rule needs them, the buffers before it: `before`,
# None when they were not recorded) into the factor that step applied per coordinate.
# Tensors are recorded rows: state (R, B, 2), lr (R, 1, 1) the lr of that step,
# t (R, B, 1). The tests check the factor against the moves torch actually made.

Buffers = dict[str, torch.Tensor]


def _adam_like(
    h: dict[str, Any], s: Buffers, before: Buffers | None, lr: torch.Tensor, t: torch.Tensor
) -> torch.Tensor | None:
    """η / (1 − β₁ᵗ) / (√(v / (1 − β₂ᵗ)) + ε): the factor applied to m (Adam, AdamW)."""
    beta1, beta2 = h["betas"]
    v = s["max_exp_avg_sq"] if h.get("amsgrad") else s["exp_avg_sq"]
    return lr / (1 - beta1**t) / ((v / (1 - beta2**t)).sqrt() + h["eps"])


def _adagrad(
    h: dict[str, Any], s: Buffers, before: Buffers | None, lr: torch.Tensor, t: torch.Tensor
) -> torch.Tensor | None:
    """η / (1 + (t − 1)·lr_decay) / (√s + ε): the factor applied to g."""
    return lr / (1 + (t - 1) * h["lr_decay"]) / (s["sum"].sqrt() + h["eps"])


def _rmsprop(
    h: dict[str, Any], s: Buffers, before: Buffers | None, lr: torch.Tensor, t: torch.Tensor
) -> torch.Tensor | None:
    """η / (√v + ε), or η / (√(v − ḡ²) + ε) when centered: the factor applied to g."""
    v = s["square_avg"] - s["grad_avg"] ** 2 if h["centered"] else s["square_avg"]
    return lr / (v.sqrt() + h["eps"])


def _adamax(
    h: dict[str, Any], s: Buffers, before: Buffers | None, lr: torch.Tensor, t: torch.Tensor
) -> torch.Tensor | None:
    """η / (1 − β₁ᵗ) / u: the factor applied to m."""
    return lr / (1 - h["betas"][0] ** t) / s["exp_inf"]


def _adadelta(
    h: dict[str, Any], s: Buffers, before: Buffers | None, lr: torch.Tensor, t: torch.Tensor
) -> torch.Tensor | None:
    """η·√(u + ε)/√(v + ε): the factor applied to g, with v as the step left it and u, the
    average of squared updates, as it was before the step (torch updates u after moving)."""
    if before is None:
        return None
    eps = h["eps"]
    return lr * (before["acc_delta"] + eps).sqrt() / (s["square_avg"] + eps).sqrt()


def _rprop(
    h: dict[str, Any], s: Buffers, before: Buffers | None, lr: torch.Tensor, t: torch.Tensor
) -> torch.Tensor | None:
    """The per-coordinate step size s itself (Rprop moves by sign(g)·s)."""
    return s["step_size"] + 0 * lr


EffectiveLr = Callable[
    [dict[str, Any], Buffers, Buffers | None, torch.Tensor, torch.Tensor], torch.Tensor | None
]
EFFECTIVE_LR: dict[str, EffectiveLr] = {
    "adam": _adam_like,
    "adamw": _adam_like,
    "adagrad": _adagrad,
    "rmsprop": _rmsprop,
    "adamax": _adamax,
    "adadelta": _adadelta,
    "rprop": _rprop,
}
EFFECTIVE_LR_MEANING: dict[str, Literal["gradient", "first_moment", "sign"]] = {
    "adam": "first_moment",
    "adamw": "first_moment",
    "adamax": "first_moment",
    "adagrad": "gradient",
    "rmsprop": "gradient",
    "adadelta": "gradient",
    "rprop": "sign",
}

# The community's entries (backend/optim/community.py) add themselves to OPTIMIZERS when that
# module is imported; importing it here means whoever imports this registry gets them too.
from backend.optim import community as _community  # noqa: E402, F401
