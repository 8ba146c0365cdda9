"""The community's optimizers: registry entries over `pytorch_optimizer` (PyPI pytorch-optimizer).

Same contract as torch's entries (backend/optim/optimizers.py), in the same registry with
family "community": each entry names the package's class, reads every keyword and its default
from the class signature, and adds what a signature cannot say (type, bounds where the paper
gives them, the update rule, two sentences in English and Russian, the paper). Nothing here
implements an update: every trajectory is the package's own `step()`.

Batched or per start, checked by tests/unit/test_engine_truth.py (row b of a batched run is
start b alone) and tests/unit/test_community.py: an entry is batched when its update is
element-wise; Prodigy's and D-Adaptation's distance estimate, LAMB's trust ratio, NovoGrad's
per-tensor second moment and Apollo's curvature update sum over the whole tensor, so each start
gets an optimizer of its own on a plain `(2,)` point, as LBFGS does. Two batched entries couple
rows under some keywords (`couplings`): Adan with `max_grad_norm > 0` (a global gradient norm)
and Ranger with gradient centralisation (a mean over each row, which on a `(2,)` point does
nothing); those runs go start by start too.

Schedule-Free methods take gradients at a point y between z (the SGD iterate) and x (their
average); `optimizer.eval()` moves the weights to x and `optimizer.train()` back to y. A surface
run draws y, the points the optimizer steps from; a network run evaluates at x (see
`evaluation_weights`). What is not offered, and why: `LEFT_OUT`.

One default differs from its signature: Ranger's `degenerated_to_sgd` is true here, as in the
original Ranger; with the package's false, 4.1.0 steps uphill (+η·m) for the first steps.
"""

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import pytorch_optimizer as po
import torch
from pytorch_optimizer.base.exception import NegativeLRError, NegativeStepError
from pytorch_optimizer.optimizer.apollo import ApolloDQN

from backend.optim.hyperparameters import Metadata, describe
from backend.optim.optimizers import (
    IMPLEMENTATION_KEYWORDS,
    METADATA,
    OPTIMIZERS,
    Coupling,
    OptimizerInfo,
    Paper,
)

# Keywords of the community's classes that torch's table does not have, or means otherwise.
COMMUNITY_METADATA: dict[str, Metadata] = {
    "momentum": Metadata("float", "momentum factor μ", min=0.0, max=1.0, exclusive_max=True),
    "weight_decouple": Metadata("bool", "decay the weights directly (AdamW) instead of adding λw to g"),
    "fixed_decay": Metadata("bool", "decoupled decay not scaled by the learning rate (w ← w(1 − λ))"),
    "rectify": Metadata("bool", "RAdam's rectification of the early steps"),
    "n_sma_threshold": Metadata(  # below 5 the rectification's factor r_t is the root of a negative
        "int", "length ρₜ of the moving average below which rectified steps skip the denominator",
        min=5, max=1000,  # number while 2 < ρₜ < 4 (the package raises), or divides by ρ∞ − 4 = 0
    ),
    "degenerated_to_sgd": Metadata("bool", "below the threshold, take momentum steps instead of none"),
    "ams_bound": Metadata("bool", "divide by the running maximum of the second moment (AMSGrad)"),
    "max_grad_norm": Metadata(
        "float", "clip the gradients to this norm of all of them together (0: off)", min=0.0, max=1e3
    ),
    "d0": Metadata("float", "initial estimate d₀ of the distance to the solution", min=0.0, max=1e3,
                   exclusive_min=True),
    "d_coef": Metadata("float", "factor on the estimate of d", min=0.0, max=100.0, exclusive_min=True),
    "growth_rate": Metadata(
        "float", "largest factor d may grow by in one step (None: unbounded)", min=1.0, max=1e6,
        nullable=True,
    ),
    "bias_correction": Metadata("bool", "bias-correct the moments, as Adam does"),
    "safeguard_warmup": Metadata("bool", "leave the lr out of the estimate's denominator during warmup"),
    "r": Metadata("float", "power r of the step weight tʳ in the average x", min=0.0, max=10.0),
    "weight_lr_power": Metadata(
        "float", "power of the largest lr so far in the average's weights (0: off)", min=0.0, max=10.0
    ),
    "warmup_steps": Metadata("int", "steps of linear learning-rate warmup", min=0, max=100_000),
    "decoupling_c": Metadata(
        "int", "scale c of the averaging weight, cₜ ← min(1, cₜ(1 − β₁)c) (0: off)", min=0, max=1000
    ),
    "silent_sgd_phase": Metadata(
        "bool", "no step while ρₜ ≤ 4 (false: steps of size 1 meanwhile, as the package does)"
    ),
    "grad_averaging": Metadata("bool", "scale the new gradient by (1 − β₁) in the first moment"),
    "adam": Metadata("bool", "trust ratio 1, i.e. plain Adam steps"),
    "pre_norm": Metadata("bool", "divide the gradients by their global norm (max_grad_norm) first"),
    "t_alpha_beta3": Metadata(
        "float", "steps over which α and β₃ ramp up (None: no warmup)", min=0.0, max=1e9,
        exclusive_min=True, nullable=True,
    ),
    "initial_accumulator": Metadata("float", "initial value of both moments", min=0.0, max=1e3),
    "final_lr": Metadata(
        "float", "SGD learning rate the bounds close in on", min=0.0, max=1e3, exclusive_min=True
    ),
    "gamma": Metadata("float", "speed γ at which the bounds close in", min=0.0, max=1.0,
                      exclusive_min=True),
    "nus": Metadata("pair", "(ν₁, ν₂): weights of the averages against the current g and g²",
                    min=0.0, max=1.0),
    "nu": Metadata("float", "weight ν of the momentum against the current gradient", min=0.0, max=1.0),
    "steps_before_using_centered": Metadata(
        "int", "steps of averaging before the centred second moment is used", min=0, max=100_000
    ),
    "beta": Metadata("float", "decay rate β of the gradient's momentum", min=0.0, max=1.0,
                     exclusive_max=True),
    "k": Metadata("int", "Lookahead: steps between two syncs of the slow weights", min=1, max=1000),
    "use_gc": Metadata("bool", "gradient centralisation (subtract each row's mean; matrices only)"),
    "gc_conv_only": Metadata("bool", "centralise only convolution kernels"),
    "derivative": Metadata("float", "gain K_d of the gradient-change (D) term", min=0.0, max=1000.0),
    "integral": Metadata("float", "gain K_i of the accumulated-gradient (I) term", min=0.0, max=1000.0),
    "partial": Metadata(
        "float", "partial adaptivity p: divide by (√v)^{2p} (½: Adam, → 0: SGD)", min=0.0, max=0.5,
        exclusive_min=True,
    ),
    "init_lr": Metadata(
        "float", "learning rate at the start of the warmup (None: lr / 1000)", min=0.0, max=1e3,
        exclusive_min=True, nullable=True,
    ),
    "rebound": Metadata(
        "choice", "floor on the curvature |B|: 'constant' (0.01) or 'belief' (‖Δg‖∞)",
        choices=("constant", "belief"),
    ),
    "weight_decay_type": Metadata(
        "choice", "weight decay: 'l2' (in g), 'decoupled' or 'stable' (scaled by 1/mean|B|)",
        choices=("l2", "decoupled", "stable"),
    ),
}

# Per-class meanings that differ from the tables above.
OVERRIDES: dict[str, dict[str, Metadata]] = {
    "Adan": {"betas": Metadata(
        "triple", "(β₁, β₂, β₃): averages of g, of g − g₋ and of the squared corrected gradient",
        min=0.0, max=1.0, exclusive_max=True,
    )},
    "AdEMAMix": {
        "betas": Metadata("triple", "(β₁, β₂, β₃): fast momentum, second moment, slow momentum",
                          min=0.0, max=1.0, exclusive_max=True),
        "alpha": Metadata("float", "weight α of the slow momentum", min=0.0, max=100.0),
    },
    "AggMo": {"betas": Metadata("triple", "the momentum factors of the three buffers", min=0.0, max=1.0,
                                exclusive_max=True)},
    "AdaMod": {"betas": Metadata(
        "triple", "(β₁, β₂, β₃): first and second moments, average of the step sizes",
        min=0.0, max=1.0, exclusive_max=True,
    )},
    "Lion": {"betas": Metadata(
        "pair", "(β₁, β₂): blend of momentum and g in the step, decay of the momentum", min=0.0,
        max=1.0, exclusive_max=True,
    )},
    "Prodigy": {
        "beta3": Metadata("float", "decay β₃ of the distance estimate (None: √β₂)", min=0.0, max=1.0,
                          nullable=True),
        "eps": Metadata("float", "term added to the denominator ε (None: atan2 update, no ε)",
                        min=0.0, max=1.0, nullable=True),
    },
    "Ranger": {
        "alpha": Metadata("float", "Lookahead: fraction α the slow weights move toward the fast",
                          min=0.0, max=1.0),
        # pytorch_optimizer 4.1.0's Ranger adds +η·m (uphill) while ρₜ is below the threshold when
        # this is false, its signature default; the original Ranger takes momentum steps then
        "degenerated_to_sgd": Metadata(
            "bool", "below the threshold, take momentum steps, as the original Ranger does (true "
            "here: with the package's default, false, it steps uphill there)",
        ),
    },
    "ScheduleFreeSGD": {"momentum": Metadata(
        "float", "interpolation μ of y between z and x", min=0.0, max=1.0, exclusive_min=True,
        exclusive_max=True,
    )},
    "Lamb": {"max_grad_norm": Metadata(
        "float", "reference norm of the gradients when pre_norm (0: off)", min=0.0, max=1e3
    )},
    "ApolloDQN": {
        "beta": Metadata("float", "decay rate β of the gradient average", min=0.0, max=1.0,
                         exclusive_max=True),
        "eps": Metadata("float", "term added to the denominator ε", min=0.0, max=1.0),
        "warmup_steps": Metadata("int", "steps of linear warmup from init_lr to lr", min=0, max=100_000),
    },
}

# A keyword that is a Python function (ADOPT's clip_lambda, by default t ↦ t^¼) cannot travel as
# JSON: the class's default stands.
NOT_JSON = frozenset({"clip_lambda"})
# Signature defaults of ∞, which JSON cannot carry: None in the API, ∞ for the class.
UNBOUNDED = frozenset({"growth_rate"})


@dataclass(frozen=True)
class CommunityInfo(OptimizerInfo):
    """A pytorch_optimizer class in the registry. `build` hands the class ∞ for a keyword left
    None that means unbounded, and turns the package's own exceptions for bad values into
    ValueError, as torch raises."""

    unbounded: frozenset[str] = field(default=frozenset())

    def build(self, params: list[Any], kwargs: dict[str, Any]) -> torch.optim.Optimizer:
        def bounded(keywords: dict[str, Any]) -> dict[str, Any]:
            return {k: (math.inf if k in self.unbounded and v is None else v) for k, v in keywords.items()}

        groups = [bounded(p) if isinstance(p, dict) else p for p in params]
        try:
            return self.cls(groups, **bounded(kwargs))
        except (NegativeLRError, NegativeStepError) as error:
            raise ValueError(str(error)) from None


def _entry(
    id: str,
    cls: type[torch.optim.Optimizer],
    rule: str,
    description: str,
    description_ru: str,
    paper: Paper,
    batched: bool = True,
    couplings: tuple[Coupling, ...] = (),
    defaults: dict[str, Any] | None = None,
) -> CommunityInfo:
    """An entry; `defaults` overrides a signature default, each one saying why in its metadata."""
    metadata = METADATA | COMMUNITY_METADATA | OVERRIDES.get(cls.__name__, {})
    unbounded = UNBOUNDED & set(inspect.signature(cls).parameters)
    return CommunityInfo(
        id=id,
        name=cls.__name__,
        cls=cls,
        update_rule=rule,
        description=description,
        batched=batched,
        hyperparameters=describe(cls, IMPLEMENTATION_KEYWORDS | NOT_JSON, metadata,
                                 defaults=dict.fromkeys(unbounded) | (defaults or {})),
        family="community",
        paper=paper,
        description_ru=description_ru,
        couplings=couplings,
        unbounded=unbounded,
    )


SCHEDULE_FREE_PAPER = Paper("Defazio et al., 2024. The Road Less Scheduled", "https://arxiv.org/abs/2405.15682")
QH_PAPER = Paper("Ma & Yarats, 2019. Quasi-hyperbolic momentum and Adam for deep learning",
                 "https://arxiv.org/abs/1810.06801")
ROW_MEAN = Coupling(
    lambda kw: bool(kw["use_gc"]) and not kw["gc_conv_only"],
    "gradient centralisation subtracts each row's mean: on a (B, 2) tensor it mixes x and y, on a "
    "start's own (2,) point it does nothing",
)
GLOBAL_NORM = Coupling(
    lambda kw: kw["max_grad_norm"] > 0,
    "max_grad_norm clips by the norm of every gradient together, so one start's gradient scales "
    "the others'",
)

COMMUNITY: list[CommunityInfo] = [
    _entry(
        "lion", po.Lion,
        "w ← w·(1 − ηλ);  u ← sign(β₁m + (1 − β₁)g);  w ← w − η·u;  m ← β₂m + (1 − β₂)g",
        "Found by a program search over update rules: every coordinate moves by exactly ±η, the "
        "sign of a blend of momentum and gradient. Steps do not shrink with the gradient, so it "
        "wants an lr 3–10× smaller than Adam's and ends up hopping by η around a minimum.",
        "Найден программным перебором правил обновления: каждая координата сдвигается ровно на "
        "±η — по знаку смеси момента и градиента. Шаг не уменьшается вместе с градиентом, поэтому "
        "η нужен в 3–10 раз меньше, чем у Adam, а у минимума точка так и прыгает на ±η.",
        Paper("Chen et al., 2023. Symbolic Discovery of Optimization Algorithms",
              "https://arxiv.org/abs/2302.06675"),
    ),
    _entry(
        "adan", po.Adan,
        "m ← β₁m + (1 − β₁)g;  d ← β₂d + (1 − β₂)(g − g₋);  n ← β₃n + (1 − β₃)(g + β₂(g − g₋))²;  "
        "w ← w − η·(m/(1 − β₁ᵗ) + β₂·d/(1 − β₂ᵗ)) / (√(n/(1 − β₃ᵗ)) + ε)",
        "Nesterov momentum without a second gradient: besides Adam's averages it keeps an average "
        "of the gradient's changes g − g₋, a cheap look at where the gradient is turning. With "
        "max_grad_norm > 0 it first clips by the norm of all gradients together, which ties the "
        "starts to each other, so they then run one by one.",
        "Моментум Нестерова без второго вычисления градиента: кроме средних Adam хранит среднее "
        "изменений градиента g − g₋ — дешёвую оценку того, куда он поворачивает. При "
        "max_grad_norm > 0 градиенты сначала обрезаются по общей норме, что связывает старты "
        "между собой, и тогда они считаются по одному.",
        Paper("Xie et al., 2022. Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing "
              "Deep Models", "https://arxiv.org/abs/2208.06677"),
        couplings=(GLOBAL_NORM,),
    ),
    _entry(
        "adabelief", po.AdaBelief,
        "m ← β₁m + (1 − β₁)g;  s ← β₂s + (1 − β₂)(g − m)² + ε;  "
        "w ← w − η/(1 − β₁ᵗ) · m/(√(s/(1 − β₂ᵗ)) + ε)",
        "Adam that divides by how far the gradient strays from its average, (g − m)², instead of "
        "by g²: its belief in the prediction m. On a steady slope s stays small and the step "
        "large; where the gradient flips, the step shrinks.",
        "Adam, который делит не на g², а на то, насколько градиент отклоняется от своего "
        "среднего, (g − m)², — на «веру» в прогноз m. На ровном склоне s мало и шаг велик; где "
        "градиент меняет знак, шаг уменьшается.",
        Paper("Zhuang et al., 2020. AdaBelief Optimizer: Adapting Stepsizes by the Belief in "
              "Observed Gradients", "https://arxiv.org/abs/2010.07468"),
    ),
    _entry(
        "prodigy", po.Prodigy,
        "Adam on a scale d:  m ← β₁m + d(1 − β₁)g;  v ← β₂v + d²(1 − β₂)g²;  w ← w − dη·m/(√v + dε);  "
        "d̂ = d_coef·Σ⟨g, w₀ − w⟩ / ‖s‖₁ (β₃-averaged sums, s of the gradients);  "
        "d ← min(max d̂ so far, d·growth_rate)",
        "Adam without an lr to tune: it estimates d, the distance from the start to the solution, "
        "from how far the gradients have already pushed the point, and scales every step by it. "
        "The estimate sums over every coordinate, so each start runs on its own; keep lr = 1 (a "
        "factor on d).",
        "Adam без подбора скорости: оценивает d — расстояние от старта до решения — по тому, "
        "насколько далеко градиенты уже сдвинули точку, и масштабирует им каждый шаг. Оценка "
        "суммируется по всем координатам, поэтому каждый старт считается отдельно; lr оставляйте "
        "равным 1 (это множитель при d).",
        Paper("Mishchenko & Defazio, 2023. Prodigy: An Expeditiously Adaptive Parameter-Free "
              "Learner", "https://arxiv.org/abs/2306.06101"),
        batched=False,
    ),
    _entry(
        "schedulefree_adamw", po.ScheduleFreeAdamW,
        "gradient at y = (1 − β₁)z + β₁x;  v ← β₂v + (1 − β₂)g²;  "
        "z ← z − ηₜ·g/(√(v/(1 − β₂ᵗ)) + ε);  x ← (1 − cₜ)x + cₜz,  cₜ = ηₜ²/Σᵢ≤ₜ ηᵢ²  "
        "(ηₜ: η after warmup_steps of linear warmup)",
        "No schedule needed: it takes Adam-scaled gradient steps on z, keeps x, a weighted average "
        "of the z's, and takes gradients at y between the two (β₁ says where). The path drawn "
        "here is y; x is the answer, and network runs are evaluated at x (optimizer.eval()).",
        "Расписание не нужно: делает шаги Adam по z, хранит x — взвешенное среднее точек z — и "
        "берёт градиент в y между ними (где именно, задаёт β₁). Здесь рисуется путь y; ответ — "
        "это x, и сети оцениваются именно в x (optimizer.eval()).",
        SCHEDULE_FREE_PAPER,
    ),
    _entry(
        "schedulefree_sgd", po.ScheduleFreeSGD,
        "gradient at y = (1 − μ)z + μx;  z ← z − ηₜ·g;  x ← (1 − cₜ)x + cₜz,  cₜ = ηₜ²/Σᵢ≤ₜ ηᵢ²",
        "Schedule-Free SGD: plain gradient steps on z, x their weighted average, gradients taken "
        "at y between them. It does what a tuned decaying schedule does without knowing the run's "
        "length; its default lr is 1, too large for most surfaces.",
        "Schedule-Free SGD: обычные градиентные шаги по z, x — их взвешенное среднее, градиент "
        "берётся в y между ними. Делает то же, что подобранное затухающее расписание, не зная "
        "длины обучения; lr по умолчанию равен 1 — для большинства поверхностей это много.",
        SCHEDULE_FREE_PAPER,
    ),
    _entry(
        "schedulefree_radam", po.ScheduleFreeRAdam,
        "Schedule-Free AdamW with RAdam's rectification: while ρₜ ≤ 4 no step (silent_sgd_phase); "
        "then ηₜ = η·rₜ/√(1 − β₂ᵗ) on g/(√v + ε)",
        "Schedule-Free with RAdam's warm start: for the first steps, while the second moment is "
        "still unreliable, it only gathers statistics and does not move. After that it is "
        "Schedule-Free AdamW scaled by the rectification rₜ, so it needs neither warmup nor "
        "schedule.",
        "Schedule-Free с «тёплым» стартом RAdam: первые шаги, пока второй момент ещё ненадёжен, "
        "он только копит статистику и не двигается. Дальше это Schedule-Free AdamW с поправкой "
        "rₜ, поэтому не нужны ни прогрев, ни расписание.",
        SCHEDULE_FREE_PAPER,
    ),
    _entry(
        "lamb", po.Lamb,
        "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  u ← m/(√v + ε);  "
        "w ← w − η/(1 − β₁ᵗ) · (min(‖w‖, 10)/‖u‖) · u   (‖·‖ over the whole tensor)",
        "Adam made for huge batches: each tensor's step is rescaled to η times the tensor's own "
        "norm ‖w‖ (the trust ratio). On a 2-D point the step is proportional to the distance "
        "from the origin, so it crawls near (0, 0); the ratio spans the whole tensor, so each "
        "start runs on its own.",
        "Adam для огромных батчей: шаг каждого тензора масштабируется до η·‖w‖, нормы самого "
        "тензора (trust ratio). На плоскости длина шага пропорциональна расстоянию от начала "
        "координат, поэтому вблизи (0, 0) метод ползёт; отношение считается по всему тензору, так "
        "что каждый старт идёт отдельно.",
        Paper("You et al., 2020. Large Batch Optimization for Deep Learning: Training BERT in 76 "
              "minutes", "https://arxiv.org/abs/1904.00962"),
        batched=False,
    ),
    _entry(
        "madgrad", po.MADGRAD,
        "λₖ = η√(k + 1);  s ← s + λₖg;  ν ← ν + λₖg²;  z = w₀ − s/(∛ν + ε);  "
        "w ← μw + (1 − μ)z  (μ = 0: w = z)",
        "Dual averaging with momentum: it does not add steps to the point, it places the point at "
        "w₀ − s/∛ν from the weighted sums of all gradients s and of their squares ν. The cube "
        "root (not Adam's square root) and weights growing like √k aim at problems where SGD "
        "beats Adam.",
        "Двойственное усреднение с моментом: шаги не прибавляются к точке — точка ставится в "
        "w₀ − s/∛ν по взвешенным суммам всех градиентов s и их квадратов ν. Кубический корень "
        "(а не квадратный, как у Adam) и веса, растущие как √k, рассчитаны на задачи, где SGD "
        "обыгрывает Adam.",
        Paper("Defazio & Jelassi, 2021. Adaptivity without Compromise: A Momentumized, Adaptive, "
              "Dual Averaged Gradient Method for Stochastic Optimization",
              "https://arxiv.org/abs/2101.11075"),
    ),
    _entry(
        "ademamix", po.AdEMAMix,
        "m₁ ← β₁m₁ + (1 − β₁)g;  m₂ ← β₃m₂ + (1 − β₃)g;  v ← β₂v + (1 − β₂)g²;  "
        "w ← w − η·(m₁/(1 − β₁ᵗ) + α·m₂)/(√(v/(1 − β₂ᵗ)) + ε)  (α, β₃ ramped over t_alpha_beta3)",
        "Adam plus a second, very slow momentum (β₃ = 0.9999, a memory of about 10,000 steps) "
        "added with weight α: old gradients keep pushing long after Adam has forgotten them. On a "
        "surface it is a heavy drift that carries the point across shallow dips.",
        "Adam плюс второй, очень медленный момент (β₃ = 0.9999, память около 10 000 шагов) с весом "
        "α: старые градиенты продолжают толкать точку, когда Adam их уже забыл. На поверхности "
        "это тяжёлый дрейф, проносящий точку через мелкие ямы.",
        Paper("Pagliardini, Ablin & Grangier, 2024. The AdEMAMix Optimizer: Better, Faster, Older",
              "https://arxiv.org/abs/2409.03137"),
    ),
    _entry(
        "adopt", po.ADOPT,
        "g̃ ← clip(g/max(√v, ε), ±t^¼);  m ← β₁m + (1 − β₁)g̃;  w ← w − η·m;  "
        "then v ← β₂v + (1 − β₂)g²  (v starts at g₁²)",
        "Adam with two swaps that make it converge for any β₂: the gradient is divided by the "
        "second moment from before this step, so it does not scale itself, and momentum averages "
        "the already normalised gradients. The normalised gradient is clipped at t^¼, which tames "
        "the first steps.",
        "Adam с двумя перестановками, благодаря которым он сходится при любом β₂: градиент "
        "делится на второй момент до текущего шага, то есть не нормирует сам себя, а момент "
        "усредняет уже нормированные градиенты. Нормированный градиент обрезается на t^¼, что "
        "смягчает первые шаги.",
        Paper("Taniguchi et al., 2024. ADOPT: Modified Adam Can Converge with Any β₂ with the "
              "Optimal Rate", "https://arxiv.org/abs/2411.02853"),
    ),
    _entry(
        "yogi", po.Yogi,
        "m ← β₁m + (1 − β₁)g;  v ← v − (1 − β₂)·sign(v − g²)·g²;  "
        "w ← w − η/(1 − β₁ᵗ) · m/(√(v/(1 − β₂ᵗ)) + ε)",
        "Adam whose second moment changes additively: v moves toward g² by (1 − β₂)·g² per step, "
        "not by a fraction of the gap. A run of small gradients cannot shrink v, and so blow up "
        "the step, as fast as in Adam; its ε defaults to 10⁻³.",
        "Adam, у которого второй момент меняется аддитивно: v сдвигается к g² на (1 − β₂)·g² за "
        "шаг, а не на долю разрыва. Серия маленьких градиентов не может так быстро уменьшить v и "
        "раздуть шаг, как у Adam; ε по умолчанию 10⁻³.",
        Paper("Zaheer et al., 2018. Adaptive Methods for Nonconvex Optimization",
              "https://papers.nips.cc/paper/8186-adaptive-methods-for-nonconvex-optimization"),
    ),
    _entry(
        "adabound", po.AdaBound,
        "ηₜ = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)/(√v + ε) clipped to [η*(1 − 1/(γt + 1)), η*(1 + 1/(γt))], "
        "η* = final_lr·η/η₀;  w ← w − ηₜ·m",
        "Adam whose per-coordinate step sizes are fenced in by bounds that close in on final_lr: "
        "early in the run it is Adam, late in the run SGD with lr final_lr. γ sets how fast the "
        "fence closes, over about 1/γ steps.",
        "Adam, чей покоординатный шаг зажат границами, сходящимися к final_lr: в начале это Adam, "
        "к концу — SGD со скоростью final_lr. γ задаёт, как быстро сужается коридор: примерно за "
        "1/γ шагов.",
        Paper("Luo et al., 2019. Adaptive Gradient Methods with Dynamic Bound of Learning Rate",
              "https://arxiv.org/abs/1902.09843"),
    ),
    _entry(
        "diffgrad", po.DiffGrad,
        "ξ = σ(|g₋ − g|) (σ: the logistic function);  "
        "w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · ξ·m/(√v + ε)",
        "Adam that brakes where the gradient stops changing: each coordinate's step is multiplied "
        "by σ(|g₋ − g|), from ½ (a steady gradient, as near a minimum) to 1 (a fast-changing one). "
        "It approaches a flat bottom more gently instead of overshooting it.",
        "Adam, который притормаживает, где градиент перестаёт меняться: шаг каждой координаты "
        "умножается на σ(|g₋ − g|) — от ½ (градиент почти постоянен, как у минимума) до 1 "
        "(быстро меняется). К плоскому дну он подходит мягче, без проскока.",
        Paper("Dubey et al., 2019. diffGrad: An Optimization Method for Convolutional Neural "
              "Networks", "https://arxiv.org/abs/1909.11015"),
    ),
    _entry(
        "qhadam", po.QHAdam,
        "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²  (both bias-corrected);  "
        "w ← w − η·((1 − ν₁)g + ν₁m)/(√((1 − ν₂)g² + ν₂v) + ε)",
        "Quasi-hyperbolic Adam: numerator and denominator each mix the current gradient with its "
        "average, with weights ν₁ and ν₂. ν = (1, 1) is Adam; the paper's ν₁ = 0.7 lets a fresh "
        "gradient act at once instead of only through momentum.",
        "Квазигиперболический Adam: и числитель, и знаменатель смешивают текущий градиент с его "
        "средним, с весами ν₁ и ν₂. ν = (1, 1) — это Adam; ν₁ = 0.7 из статьи даёт свежему "
        "градиенту действовать сразу, а не только через момент.",
        QH_PAPER,
    ),
    _entry(
        "signsgd", po.SignSGD,
        "m ← μm + (1 − μ)g;  w ← w·(1 − ηλ) − η·sign(m)  (μ = 0: sign(g))",
        "Moves every coordinate by exactly ±η, the sign of the gradient (μ = 0) or of its "
        "momentum (Signum, the default μ = 0.9). A tiny and a huge gradient give the same step, "
        "so it ends oscillating by η around the minimum.",
        "Сдвигает каждую координату ровно на ±η — по знаку градиента (μ = 0) или его момента "
        "(Signum, по умолчанию μ = 0.9). Крошечный и огромный градиенты дают одинаковый шаг, "
        "поэтому в конце точка колеблется на ±η вокруг минимума.",
        Paper("Bernstein et al., 2018. signSGD: Compressed Optimisation for Non-Convex Problems",
              "https://arxiv.org/abs/1802.04434"),
    ),
    _entry(
        "laprop", po.LaProp,
        "v ← β₂v + (1 − β₂)g²;  m ← β₁m + (1 − β₁)·η·g/(√(v/(1 − β₂ᵗ)) + ε);  w ← w − m/(1 − β₁ᵗ)",
        "Adam in the other order: each gradient is first divided by √v, then momentum averages "
        "these normalised steps. Momentum and adaptivity are separate, so β₁ can go close to 1 "
        "without Adam's instabilities.",
        "Adam в обратном порядке: каждый градиент сначала делится на √v, а затем момент усредняет "
        "уже нормированные шаги. Момент и адаптивность разделены, поэтому β₁ можно ставить близко "
        "к 1 без неустойчивости Adam.",
        Paper("Ziyin, Wang & Ueda, 2020. LaProp: Separating Momentum and Adaptivity in Adam",
              "https://arxiv.org/abs/2002.04839"),
    ),
    _entry(
        "tiger", po.Tiger,
        "m ← βm + (1 − β)g;  w ← w·(1 − ηλ) − η·sign(m)",
        "Lion cut down to one buffer: every coordinate moves by ±η, the sign of the gradient's "
        "momentum. It keeps a single state tensor instead of Adam's two, and its default weight "
        "decay is 0.01, which pulls the point toward the origin.",
        "Lion, урезанный до одного буфера: каждая координата сдвигается на ±η по знаку момента "
        "градиента. Хранит одно состояние вместо двух у Adam; weight decay по умолчанию 0.01 и "
        "тянет точку к началу координат.",
        Paper("Su, 2023. Tiger: A Tight-fisted Optimizer", "https://github.com/bojone/tiger"),
    ),
    _entry(
        "apollo", ApolloDQN,
        "m ← m + α(g − m), α = (1 − β)/(1 − βᵗ);  B ← B + (weak secant on the last step d, "
        "normalised by ‖d‖₄)·d²;  d ← m/max(|B|, 0.01);  w ← w − ηₜ·d  "
        "(ηₜ rises from init_lr to η over warmup_steps)",
        "A diagonal quasi-Newton method: it keeps B, a per-coordinate curvature estimate updated "
        "so that the last step explains the change in momentum (a weak secant condition), and "
        "divides momentum by |B|. Steep curvature across a ravine shrinks the step there; the "
        "update of B uses norms of the whole tensor, so each start runs on its own.",
        "Диагональный квазиньютоновский метод: хранит B — покоординатную оценку кривизны, "
        "обновляемую так, чтобы последний шаг объяснял изменение момента (слабое условие "
        "секущей), и делит момент на |B|. Большая кривизна поперёк оврага уменьшает там шаг; B "
        "обновляется через нормы всего тензора, поэтому каждый старт идёт отдельно.",
        Paper("Ma, 2020. Apollo: An Adaptive Parameter-wise Diagonal Quasi-Newton Method for "
              "Nonconvex Stochastic Optimization", "https://arxiv.org/abs/2009.13586"),
        batched=False,
    ),
    _entry(
        "ranger", po.Ranger,
        "RAdam steps on the fast weights w (momentum steps w ← w − η·m̂ while ρₜ < 5);  every k "
        "steps: slow ← slow + α(w − slow), w ← slow (Lookahead);  use_gc: gradients of matrices "
        "centred first",
        "RAdam plus Lookahead: the fast weights take k rectified-Adam steps, then the slow weights "
        "move a fraction α toward them and the fast ones restart from there. Gradient "
        "centralisation (use_gc) would subtract a row's mean, mixing x and y, so with it each "
        "start runs alone on a plain vector, where it does nothing.",
        "RAdam плюс Lookahead: быстрые веса делают k шагов RAdam, затем медленные сдвигаются к "
        "ним на долю α, и быстрые начинают заново оттуда. Централизация градиента (use_gc) "
        "вычитала бы среднее по строке, смешивая x и y, поэтому с ней каждый старт идёт отдельно "
        "на обычном векторе, где она ничего не делает.",
        Paper("Zhang, Lucas, Hinton & Ba, 2019. Lookahead Optimizer: k steps forward, 1 step back",
              "https://arxiv.org/abs/1907.08610"),
        couplings=(ROW_MEAN,),
        defaults={"degenerated_to_sgd": True},
    ),
    _entry(
        "dadapt_adam", po.DAdaptAdam,
        "λ = dη;  m ← β₁m + λ(1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  s ← √β₂·s + λ(1 − √β₂)g;  "
        "r ← √β₂·r + (1 − √β₂)·λ⟨g, s/(√v + ε)⟩;  d ← max(d, min(r/((1 − √β₂)‖s‖₁), d·growth_rate));  "
        "w ← w − m/(√v + ε)",
        "Adam without an lr to tune (D-Adaptation): it raises d, a lower bound on the distance to "
        "the solution, whenever the gradients seen so far prove the solution lies farther, and "
        "steps with d·η. Like Prodigy's, the bound sums over every coordinate, so each start runs "
        "on its own; keep lr = 1.",
        "Adam без подбора скорости (D-Adaptation): увеличивает d — нижнюю оценку расстояния до "
        "решения, — как только накопленные градиенты доказывают, что решение дальше, и шагает с "
        "d·η. Как и у Prodigy, оценка суммируется по всем координатам, поэтому каждый старт идёт "
        "отдельно; lr оставляйте равным 1.",
        Paper("Defazio & Mishchenko, 2023. Learning-Rate-Free Learning by D-Adaptation",
              "https://arxiv.org/abs/2301.07733"),
        batched=False,
    ),
    _entry(
        "aggmo", po.AggMo,
        "bᵢ ← βᵢbᵢ + g for each βᵢ of betas;  w ← w − (η/3)·Σᵢ bᵢ  (buffers keyed by β: a "
        "schedule that cycles β₁ is refused)",
        "Three heavy-ball momentum buffers at once (β = 0, 0.9, 0.99), the step their average. "
        "The slow buffer gives speed along a ravine and the fast ones damp the swing across it: "
        "passive damping without tuning one β.",
        "Три буфера тяжёлого шарика сразу (β = 0, 0.9, 0.99), шаг — их среднее. Медленный буфер "
        "даёт скорость вдоль оврага, быстрые гасят раскачку поперёк: пассивное демпфирование без "
        "подбора одного β.",
        Paper("Lucas, Sun, Zemel & Grosse, 2019. Aggregated Momentum: Stability Through Passive "
              "Damping", "https://arxiv.org/abs/1804.00325"),
    ),
    _entry(
        "qhm", po.QHM,
        "b ← μb + (1 − μ)g;  w ← w − η·((1 − ν)g + νb)",
        "Quasi-hyperbolic momentum: the step is a ν-weighted blend of the plain gradient and its "
        "momentum average. ν = 1 is (dampened) momentum and ν = 0 plain SGD; the paper's ν = 0.7, "
        "μ = 0.999 react at once yet average over a long window.",
        "Квазигиперболический момент: шаг — смесь обычного градиента и его среднего с весом ν. "
        "ν = 1 — (демпфированный) момент, ν = 0 — обычный SGD; значения из статьи ν = 0.7, "
        "μ = 0.999 реагируют сразу и при этом усредняют по длинному окну.",
        QH_PAPER,
    ),
    _entry(
        "pid", po.PID,
        "I ← μI + (1 − τ)g;  D ← μD + (1 − μ)(g − g₋);  w ← w − η·(g + K_i·I + K_d·D)  "
        "(μ = 0: SGD)",
        "Momentum read as a PID controller: the gradient is the P term, momentum the I term, and "
        "a D term on the gradient's change brakes before the point overshoots. In a ravine the D "
        "term cancels the swing plain momentum builds up; with momentum 0 it is SGD.",
        "Момент как ПИД-регулятор: градиент — пропорциональная часть, момент — интегральная, а "
        "дифференциальная часть по изменению градиента тормозит до того, как точка проскочит. В "
        "овраге она гасит раскачку, которую копит обычный момент; при momentum = 0 это SGD.",
        Paper("An et al., 2018. A PID Controller Approach for Stochastic Optimization of Deep "
              "Networks", "https://openaccess.thecvf.com/content_cvpr_2018/html/"
              "An_A_PID_Controller_CVPR_2018_paper.html"),
    ),
    _entry(
        "padam", po.PAdam,
        "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  w ← w − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε)^{2p}",
        "Partially adaptive Adam: the denominator is (√v)^{2p}, so p = ½ is Adam and p → 0 SGD "
        "with momentum. In between (the package's p = ¼, the paper's ⅛) it keeps some adaptivity "
        "and generalises like SGD; its default lr is 0.1.",
        "Частично адаптивный Adam: знаменатель равен (√v)^{2p}, так что p = ½ — это Adam, а "
        "p → 0 — SGD с моментом. Промежуточные p (в пакете ¼, в статье ⅛) сохраняют часть "
        "адаптивности и обобщают как SGD; lr по умолчанию 0.1.",
        Paper("Chen et al., 2020. Closing the Generalization Gap of Adaptive Gradient Methods in "
              "Training Deep Neural Networks", "https://arxiv.org/abs/1806.06763"),
    ),
    _entry(
        "adamod", po.AdaMod,
        "ηₜ = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)/(√v + ε);  s ← β₃s + (1 − β₃)ηₜ;  w ← w − min(ηₜ, s)·m",
        "Adam with a momental bound: each coordinate's step size may not exceed its own running "
        "average s (β₃ = 0.9999). That removes the occasional huge early steps Adam takes while v "
        "is still tiny.",
        "Adam с «моментальной» границей: покоординатный шаг не может превысить собственное "
        "скользящее среднее s (β₃ = 0.9999). Это убирает редкие огромные первые шаги Adam, пока "
        "v ещё мал.",
        Paper("Ding, Ren, Luo & Sun, 2019. An Adaptive and Momental Bound Method for Stochastic "
              "Learning", "https://arxiv.org/abs/1910.12249"),
    ),
    _entry(
        "novograd", po.NovoGrad,
        "v ← β₂v + (1 − β₂)‖g‖² (one number per tensor);  m ← β₁m + g/(√v + ε);  w ← w − η·m",
        "Adam with one second moment per layer: the gradient is divided by the running norm of "
        "the whole tensor's gradient. On a 2-D point it is normalised gradient descent with "
        "momentum; the norm spans the whole tensor, so each start runs on its own.",
        "Adam с одним вторым моментом на слой: градиент делится на скользящую норму градиента "
        "всего тензора. На точке плоскости это нормированный градиентный спуск с моментом; норма "
        "берётся по всему тензору, поэтому каждый старт идёт отдельно.",
        Paper("Ginsburg et al., 2019. Stochastic Gradient Methods with Layer-wise Adaptive Moments "
              "for Training of Deep Networks", "https://arxiv.org/abs/1905.11286"),
        batched=False,
    ),
]
OPTIMIZERS.update({e.id: e for e in COMMUNITY})

# In pytorch_optimizer 4.1.0 but not offered, and why.
LEFT_OUT = {
    "SophiaH, AdaHessian": "they estimate the Hessian's diagonal by Hutchinson's method with random "
    "vectors drawn from torch's global generator, which runs on concurrent threads cannot seed "
    "per run (every run here draws from its own seeded generator), and they need "
    "create_graph=True through the step",
    "LARS": "its trust ratio skips vectors, so on a 2-D point it is plain SGD with momentum",
    "APOLLO": "without a projection rank it is AdamW; Apollo (ApolloDQN) is offered",
    "Shampoo, SOAP, Muon, Kron, SCION, GaLore, Fira, AdaFactor, CAME, SM3": "they precondition or "
    "factor weight matrices; a point on a surface is a vector",
    "SAM, BSAM, Lookahead, PCGrad, TRAC, ScheduleFreeWrapper, OrthoGrad": "wrappers around another "
    "optimizer, or a second gradient per step outside step()",
    "Ranger21": "it needs the run's length (num_iterations) and normalises gradients over the "
    "whole tensor",
    "Adam, AdamW, SGD, NAdam, RAdam, AdaMax, AdaDelta, ASGD, LBFGS": "torch.optim's own are offered",
}

SCHEDULE_FREE = (po.ScheduleFreeAdamW, po.ScheduleFreeSGD, po.ScheduleFreeRAdam)


def training_weights(optimizer: torch.optim.Optimizer) -> None:
    """Put the weights where the next gradient is taken: y for a Schedule-Free optimizer
    (`optimizer.train()`); other optimizers have one point and nothing moves."""
    if isinstance(optimizer, SCHEDULE_FREE):
        optimizer.train()


def evaluation_weights(optimizer: torch.optim.Optimizer) -> None:
    """Put the weights where the model is evaluated: x, the average, for a Schedule-Free optimizer
    (`optimizer.eval()`); other optimizers have one point and nothing moves."""
    if isinstance(optimizer, SCHEDULE_FREE):
        optimizer.eval()
