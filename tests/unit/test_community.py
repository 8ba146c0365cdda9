"""The community's optimizers (pytorch_optimizer), proven like torch's own.

Each entry is the package's class with the keywords and defaults of its signature; a run is the
plain loop of that class (float64); some update rules match formulas written out here; the rows
of a batched entry are independent and those of a per-start entry are not (tested on the class
itself: the engine's side is tests/unit/test_engine_truth.py); every float keyword a regime map
can sweep is read per param group; bad values are 422s that name the field; network runs train
with Lion, Adan and Schedule-Free AdamW, the last evaluated at its average x."""

import inspect
import math
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import pytorch_optimizer as po
import torch

from backend.networks import datasets
from backend.networks.spec import NetworkRun
from backend.networks.training import Ending, train
from backend.optim import community, optimizers
from backend.optim.hyperparameters import Hyperparameter
from backend.runs.surface import build_problem
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.engine import Outcome, run
from backend.surfaces.spec import SurfaceRun

ENTRIES = {e.id: e for e in community.COMMUNITY}
REQUIRED = {"Lion", "Adan", "AdaBelief", "Prodigy", "ScheduleFreeAdamW", "ScheduleFreeSGD", "Lamb",
            "MADGRAD", "AdEMAMix", "ADOPT", "Yogi", "AdaBound", "DiffGrad", "QHAdam", "SignSGD",
            "LaProp", "Tiger", "ApolloDQN", "Ranger", "DAdaptAdam"}
# signature defaults the registry changes on purpose (each says why in its description)
CHANGED_DEFAULTS = {("ranger", "degenerated_to_sgd"): True}
# learning rates that move on Rosenbrock from START without leaving it in STEPS steps
LR = {"lion": 0.01, "adan": 0.02, "adabelief": 0.02, "prodigy": 1.0, "schedulefree_adamw": 0.02,
      "schedulefree_sgd": 0.0005, "schedulefree_radam": 0.02, "lamb": 0.02, "madgrad": 0.005,
      "ademamix": 0.01, "adopt": 0.01, "yogi": 0.02, "adabound": 0.01, "diffgrad": 0.02,
      "qhadam": 0.02, "signsgd": 0.01, "laprop": 0.005, "tiger": 0.01, "apollo": 0.001,
      "ranger": 0.005, "dadapt_adam": 1.0, "aggmo": 0.0005, "qhm": 0.001, "pid": 0.0002,
      "padam": 0.01, "adamod": 0.02, "novograd": 0.01}
START = [-1.2, 1.5]
STEPS = 40
ROSENBROCK = SURFACES["rosenbrock"].fn
CPU = torch.device("cpu")


def test_the_curated_set() -> None:
    assert len(ENTRIES) >= 25
    assert {e.name for e in ENTRIES.values()} >= REQUIRED
    assert set(LR) == set(ENTRIES)
    for e in ENTRIES.values():
        assert optimizers.OPTIMIZERS[e.id] is e and e.family == "community"
        assert e.cls.__module__.startswith("pytorch_optimizer.") and issubclass(e.cls, torch.optim.Optimizer)
        assert e.class_path == f"pytorch_optimizer.{e.cls.__name__}" and getattr(po, e.cls.__name__, e.cls)
    for torch_entry in (e for e in optimizers.OPTIMIZERS.values() if e.family == "torch.optim"):
        assert torch_entry.class_path.startswith("torch.optim.") and torch_entry.paper is not None


def test_left_out_classes_exist_in_the_package() -> None:
    """LEFT_OUT names real classes of the pinned package, so what it says stays true."""
    for names in community.LEFT_OUT:
        for name in names.split(", "):
            assert hasattr(po, name), name


@pytest.mark.parametrize("entry_id", list(ENTRIES))
def test_keywords_and_defaults_are_the_class_signature(entry_id: str) -> None:
    entry = ENTRIES[entry_id]
    skip = optimizers.IMPLEMENTATION_KEYWORDS | community.NOT_JSON | {"kwargs"}
    signature = {n: p.default for n, p in inspect.signature(entry.cls).parameters.items() if n not in skip}
    assert [h.name for h in entry.hyperparameters] == list(signature)
    for h in entry.hyperparameters:
        expected = signature[h.name]
        if (entry_id, h.name) in CHANGED_DEFAULTS:
            expected = CHANGED_DEFAULTS[(entry_id, h.name)]
        elif expected == math.inf:
            assert h.name in entry.unbounded and h.nullable
            expected = None
        assert h.default == (list(expected) if isinstance(expected, tuple) else expected), h.name
        if h.type in ("float", "pair", "triple") and h.default is not None:
            assert h.min is not None and h.max is not None, f"{h.name} has no bounds"
        if h.type == "triple":
            assert isinstance(h.default, list) and len(h.default) == 3


SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


@pytest.mark.parametrize("entry_id", list(ENTRIES))
def test_each_entry_says_what_it_does_in_two_languages(entry_id: str) -> None:
    entry = ENTRIES[entry_id]
    assert entry.update_rule and ("←" in entry.update_rule or "=" in entry.update_rule)
    assert len(SENTENCE_END.findall(entry.description)) == 2, entry.description
    assert entry.description_ru is not None and re.search("[а-яА-Я]", entry.description_ru)
    assert len(SENTENCE_END.findall(entry.description_ru)) == 2, entry.description_ru
    assert entry.paper is not None and re.search(r"\b(19|20)\d\d\. \S", entry.paper.cite)
    assert entry.paper.url.startswith("https://")


# --- a run is the plain loop of the class --------------------------------------------------


def engine_path(optimizer: dict[str, Any], surface: str = "rosenbrock", start: list[float] = START,
                steps: int = STEPS) -> torch.Tensor:
    """The engine's path of one start (steps + 1, 2), every step taken."""
    request = SurfaceRun.model_validate({"surface": surface, "start": start, "steps": steps,
                                         "stop": {"grad_norm": 0}, "optimizer": optimizer})
    rec = run(build_problem(request, CPU))
    assert int(rec.outcome[0]) == Outcome.FINISHED and int(rec.stop_step[0]) == steps
    return rec.params[:, 0]


def plain_path(make: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
               loss: Callable[[torch.Tensor], torch.Tensor] = ROSENBROCK,
               start: list[float] = START, steps: int = STEPS) -> torch.Tensor:
    """What a user writes: a (2,) float64 parameter, the class, zero_grad / backward / step."""
    w = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    opt = make([w])
    path = [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        loss(w).backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path)


# keywords beyond the registry's lr (the class gets the same ones, pairs as tuples)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "adan-decay": ("adan", {"weight_decay": 0.1}),
    "adan-clip": ("adan", {"max_grad_norm": 1.0}),
    "adabelief-rectify": ("adabelief", {"lr": 0.001, "rectify": True, "ams_bound": True}),
    "prodigy-atan2": ("prodigy", {"eps": None, "growth_rate": 1.02}),
    "schedulefree_adamw-warmup": ("schedulefree_adamw", {"warmup_steps": 10, "weight_decay": 0.01}),
    "madgrad-no-momentum": ("madgrad", {"momentum": 0.0}),
    "ademamix-warmup": ("ademamix", {"t_alpha_beta3": 20.0}),
    "qhadam-nus": ("qhadam", {"nus": [0.7, 1.0]}),
    "laprop-centered": ("laprop", {"centered": True, "steps_before_using_centered": 3}),
    "apollo-belief": ("apollo", {"rebound": "belief", "warmup_steps": 5}),
    "ranger-no-gc": ("ranger", {"use_gc": False}),
    "pid-momentum": ("pid", {"momentum": 0.9}),
    "lamb-pre-norm": ("lamb", {"pre_norm": True}),
}
PARITY = {e: (e, {}) for e in ENTRIES} | VARIANTS


@pytest.mark.parametrize("case", list(PARITY))
def test_a_run_is_the_plain_loop_of_the_class(case: str) -> None:
    """The engine against the class used directly with its own defaults (float64); the only
    keywords either side gets are the lr and the case's. Ranger's plain loop names the one
    default the registry changes."""
    entry_id, keywords = PARITY[case]
    cls = ENTRIES[entry_id].cls
    changed = {k: v for (e, k), v in CHANGED_DEFAULTS.items() if e == entry_id}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in keywords.items()}
    expected = plain_path(lambda ps: cls(ps, **{"lr": LR[entry_id]} | changed | given))
    got = engine_path({"name": entry_id, "lr": LR[entry_id], **keywords})
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    assert not torch.equal(got[-1], got[0])  # it moved


# --- update rules against formulas written out here ----------------------------------------


def rosenbrock_grad(w: list[float]) -> list[float]:
    x, y = w
    return [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]


def sign(v: float) -> float:
    return float((v > 0) - (v < 0))


Update = Callable[[list[float], list[float], int], list[float]]  # (w, g, t) -> the next w


def formula_path(update: Update, steps: int = STEPS) -> torch.Tensor:
    w, path = list(START), [list(START)]
    for t in range(1, steps + 1):
        w = update(w, rosenbrock_grad(w), t)
        path.append(list(w))
    return torch.tensor(path, dtype=torch.float64)


def lion(lr: float = 0.01, b1: float = 0.9, b2: float = 0.99) -> Callable[..., list[float]]:
    m = [0.0, 0.0]

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        out = [w[i] - lr * sign(b1 * m[i] + (1 - b1) * g[i]) for i in range(2)]
        m[:] = [b2 * m[i] + (1 - b2) * g[i] for i in range(2)]
        return out

    return update


def signum(lr: float, mu: float) -> Callable[..., list[float]]:
    m = [0.0, 0.0]

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        m[:] = [mu * m[i] + (1 - mu) * g[i] for i in range(2)]
        return [w[i] - lr * sign(m[i]) for i in range(2)]

    return update


def aggmo(lr: float, betas: tuple[float, ...] = (0.0, 0.9, 0.99)) -> Callable[..., list[float]]:
    buffers = [[0.0, 0.0] for _ in betas]

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        for b, beta in zip(buffers, betas, strict=True):
            b[:] = [beta * b[i] + g[i] for i in range(2)]
        return [w[i] - lr / len(betas) * sum(b[i] for b in buffers) for i in range(2)]

    return update


def qhm(lr: float, mu: float, nu: float) -> Callable[..., list[float]]:
    b = [0.0, 0.0]

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        b[:] = [mu * b[i] + (1 - mu) * g[i] for i in range(2)]
        return [w[i] - lr * ((1 - nu) * g[i] + nu * b[i]) for i in range(2)]

    return update


def adabelief(lr: float, b1: float = 0.9, b2: float = 0.999,
              eps: float = 1e-16) -> Callable[..., list[float]]:
    m, s = [0.0, 0.0], [0.0, 0.0]

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        m[:] = [b1 * m[i] + (1 - b1) * g[i] for i in range(2)]
        s[:] = [b2 * s[i] + (1 - b2) * (g[i] - m[i]) ** 2 + eps for i in range(2)]
        return [w[i] - lr / (1 - b1**t) * m[i] / (math.sqrt(s[i] / (1 - b2**t)) + eps) for i in range(2)]

    return update


def adan(lr: float, b1: float = 0.98, b2: float = 0.92, b3: float = 0.99,
         eps: float = 1e-8) -> Callable[..., list[float]]:
    m, d, n, previous = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        change = [0.0, 0.0] if t == 1 else [g[i] - previous[i] for i in range(2)]
        m[:] = [b1 * m[i] + (1 - b1) * g[i] for i in range(2)]
        d[:] = [b2 * d[i] + (1 - b2) * change[i] for i in range(2)]
        n[:] = [b3 * n[i] + (1 - b3) * (g[i] + b2 * change[i]) ** 2 for i in range(2)]
        previous[:] = g
        denominator = [math.sqrt(n[i] / (1 - b3**t)) + eps for i in range(2)]
        return [w[i] - lr * (m[i] / (1 - b1**t) + b2 * d[i] / (1 - b2**t)) / denominator[i] for i in range(2)]

    return update


def schedule_free_sgd(lr: float, mu: float) -> Callable[..., list[float]]:
    """y is where the gradient is taken: y = (1 − μ)z + μx; z ← z − ηg; x ← (1 − cₜ)x + cₜz with
    cₜ = η²/Ση² = 1/t at a constant lr."""
    z, x = list(START), list(START)

    def update(w: list[float], g: list[float], t: int) -> list[float]:
        z[:] = [z[i] - lr * g[i] for i in range(2)]
        x[:] = [(1 - 1 / t) * x[i] + (1 / t) * z[i] for i in range(2)]
        return [(1 - mu) * z[i] + mu * x[i] for i in range(2)]

    return update


FORMULAS: dict[str, tuple[dict[str, Any], Callable[[], Callable[..., list[float]]]]] = {
    "lion": ({"name": "lion", "lr": 0.01}, lambda: lion(0.01)),
    "signsgd": ({"name": "signsgd", "lr": 0.01}, lambda: signum(0.01, 0.9)),
    "signsgd-plain": ({"name": "signsgd", "lr": 0.01, "momentum": 0.0}, lambda: signum(0.01, 0.0)),
    "tiger": ({"name": "tiger", "lr": 0.01, "weight_decay": 0.0}, lambda: signum(0.01, 0.965)),
    "aggmo": ({"name": "aggmo", "lr": 0.0005}, lambda: aggmo(0.0005)),
    "qhm": ({"name": "qhm", "lr": 0.001, "momentum": 0.9, "nu": 0.7}, lambda: qhm(0.001, 0.9, 0.7)),
    "adabelief": ({"name": "adabelief", "lr": 0.02}, lambda: adabelief(0.02)),
    "adan": ({"name": "adan", "lr": 0.02}, lambda: adan(0.02)),
    "schedulefree_sgd": ({"name": "schedulefree_sgd", "lr": 0.0005}, lambda: schedule_free_sgd(0.0005, 0.9)),
}


@pytest.mark.parametrize("case", list(FORMULAS))
def test_update_rule_matches_the_formula(case: str) -> None:
    """An oracle written from the update rule in the registry, in Python floats: the package
    does what the entry says."""
    optimizer, make = FORMULAS[case]
    torch.testing.assert_close(engine_path(optimizer), formula_path(make()), rtol=1e-9, atol=1e-12)


def test_schedule_free_eval_moves_to_the_average_and_train_back() -> None:
    """`eval()` puts the weights at x, the average of the z's; `train()` back at y."""
    lr, mu, steps = 0.0005, 0.9, 25
    w = torch.nn.Parameter(torch.tensor(START, dtype=torch.float64))
    opt = po.ScheduleFreeSGD([w], lr=lr, momentum=mu)
    for _ in range(steps):
        opt.zero_grad()
        ROSENBROCK(w).backward()
        opt.step()
    y = w.detach().clone()
    z, x = list(START), list(START)
    point = list(START)
    for t in range(1, steps + 1):
        g = rosenbrock_grad(point)
        z = [z[i] - lr * g[i] for i in range(2)]
        x = [(1 - 1 / t) * x[i] + z[i] / t for i in range(2)]
        point = [(1 - mu) * z[i] + mu * x[i] for i in range(2)]
    opt.eval()
    torch.testing.assert_close(w.detach(), torch.tensor(x, dtype=torch.float64), rtol=1e-9, atol=1e-12)
    opt.train()
    torch.testing.assert_close(w.detach(), y, rtol=1e-12, atol=1e-14)


# --- batched or per start, on the class itself ---------------------------------------------


STARTS = [[-1.2, 1.5], [0.3, -0.8], [1.7, 0.4]]


def rows_together(make: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
                  steps: int = 20) -> torch.Tensor:
    """Three starts as the rows of one (3, 2) parameter under one optimizer: (steps + 1, 3, 2)."""
    w = torch.nn.Parameter(torch.tensor(STARTS, dtype=torch.float64))
    opt = make([w])
    path = [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        ROSENBROCK(w).sum().backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path)


def rows_alone(make: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
               steps: int = 20) -> torch.Tensor:
    return torch.stack([plain_path(make, start=s, steps=steps) for s in STARTS], dim=1)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True))


@pytest.mark.parametrize("entry_id", list(ENTRIES))
def test_declared_batched_exactly_when_rows_are_independent(entry_id: str) -> None:
    """Row b of one (3, 2) optimizer equals start b alone on its own (2,) point exactly when the
    entry says it batches (with its default keywords): an element-wise update. A per-start entry
    is one whose rows do differ, so running it start by start is needed, not a precaution."""
    entry = ENTRIES[entry_id]
    defaults = {k: v for (e, k), v in CHANGED_DEFAULTS.items() if e == entry_id}

    def make(ps: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        return entry.cls(ps, lr=LR[entry_id], **defaults)

    assert _same(rows_together(make), rows_alone(make)) == entry.batches([{}])


COUPLED = [("adan", {"max_grad_norm": 1.0}, {"max_grad_norm": 0.0}),
           ("ranger", {"use_gc": True}, {"use_gc": False})]


@pytest.mark.parametrize(("entry_id", "coupled", "free"), COUPLED, ids=[c[0] for c in COUPLED])
def test_couplings_are_real(entry_id: str, coupled: dict[str, Any], free: dict[str, Any]) -> None:
    """Adan's max_grad_norm and Ranger's gradient centralisation make rows differ from the starts
    alone, and the entry says so; without them the rows are independent and it batches."""
    entry = ENTRIES[entry_id]
    defaults = {k: v for (e, k), v in CHANGED_DEFAULTS.items() if e == entry_id}
    for keywords, independent in ((coupled, False), (free, True)):

        def make(ps: list[torch.nn.Parameter], keywords: dict[str, Any] = keywords) -> torch.optim.Optimizer:
            return entry.cls(ps, lr=LR[entry_id], **defaults, **keywords)

        assert _same(rows_together(make), rows_alone(make)) == independent
        assert entry.batches([keywords]) == independent


def _another_value(h: Hyperparameter) -> float:
    """A value of float keyword `h` inside its bounds and unlike its default."""
    assert h.min is not None and h.max is not None
    if h.default in (None, 0.0):
        return min(h.max, max(h.min, 0.01) * 10 if h.min > 0 else 0.05)
    value = h.default * 0.5
    return value if value > h.min or (value == h.min and not h.exclusive_min) else h.default * 1.5


def sweepable(entry_id: str) -> list[tuple[str, Any]]:
    """Each float keyword a regime map can sweep, with another value (beta1/beta2 as betas)."""
    entry = ENTRIES[entry_id]
    out: list[tuple[str, Any]] = []
    for h in entry.hyperparameters:
        if h.type == "float" and not entry.batches([{h.name: _another_value(h)}]):
            continue  # a value that couples rows: a regime map then runs one optimizer per cell
        if h.type == "float":
            out.append((h.name, _another_value(h)))
        elif h.name == "betas":
            for i in (0, 1):
                betas = list(h.default)
                betas[i] = betas[i] * 0.9
                out.append((f"beta{i + 1}", betas))
    return out


SWEEPS = [(e, name, value) for e in ENTRIES if ENTRIES[e].batched for name, value in sweepable(e)]


@pytest.mark.parametrize(("entry_id", "name", "value"), SWEEPS, ids=[f"{e}-{n}" for e, n, _ in SWEEPS])
def test_swept_keywords_are_read_per_param_group(entry_id: str, name: str, value: Any) -> None:
    """A regime map steps its cells as param groups of one optimizer built with the run's
    keywords: a cell's value for any float keyword must act as it does in an optimizer of its
    own, or a cell would not be the single run (some classes read keywords from the optimizer,
    not the group)."""
    entry = ENTRIES[entry_id]
    keyword = "betas" if name.startswith("beta") and name[-1].isdigit() else name
    # as a request hands them over: pairs and triples as tuples
    base = {h.name: tuple(h.default) if isinstance(h.default, list) else h.default
            for h in entry.hyperparameters} | {"lr": LR[entry_id]}
    cell = base | {keyword: tuple(value) if isinstance(value, list) else value}
    groups = rows_grouped(entry, base, [base, cell])
    alone = torch.stack([plain_path(lambda ps, kw=kw: entry.build(ps, kw), start=START, steps=20)  # type: ignore[misc]
                         for kw in (base, cell)], dim=1)
    torch.testing.assert_close(groups, alone, rtol=1e-12, atol=1e-12, equal_nan=True)


def rows_grouped(entry: optimizers.OptimizerInfo, base: dict[str, Any], cells: list[dict[str, Any]],
                 steps: int = 20) -> torch.Tensor:
    """Each cell a (2,) parameter in its own param group of one optimizer built with `base`, as
    the engine's regime maps do."""
    leaves = [torch.nn.Parameter(torch.tensor(START, dtype=torch.float64)) for _ in cells]
    opt = entry.build([{"params": [leaf], **kw} for leaf, kw in zip(leaves, cells, strict=True)], base)
    path = [torch.stack([leaf.detach().clone() for leaf in leaves])]
    for _ in range(steps):
        opt.zero_grad()
        sum(ROSENBROCK(leaf) for leaf in leaves).backward()  # type: ignore[union-attr]
        opt.step()
        path.append(torch.stack([leaf.detach().clone() for leaf in leaves]))
    return torch.stack(path)


def test_rangers_signature_default_steps_uphill() -> None:
    """Why the registry changes Ranger's degenerated_to_sgd: with the package's default the first
    steps (ρₜ < 5) add +η·m, climbing; with true they descend. When a release fixes this, this
    test fails and the override can go."""

    def first_loss(**keywords: Any) -> float:
        path = plain_path(lambda ps: po.Ranger(ps, lr=0.001, **keywords), steps=1)
        return float(ROSENBROCK(path[-1]))

    start = float(ROSENBROCK(torch.tensor(START, dtype=torch.float64)))
    assert first_loss() > start > first_loss(degenerated_to_sgd=True)


# --- bad values: 422 naming the field ------------------------------------------------------


def _outside(h: Hyperparameter) -> Any:
    assert h.max is not None
    value = h.max * 10 + 1
    return [value] * (3 if h.type == "triple" else 2) if h.type in ("pair", "triple") else value


BAD = [(e.id, h.name, _outside(h)) for e in community.COMMUNITY for h in e.hyperparameters
       if h.type in ("float", "pair", "triple")]


@pytest.mark.parametrize(("entry_id", "name", "value"), BAD, ids=[f"{e}-{n}" for e, n, _ in BAD])
def test_a_value_out_of_bounds_is_a_422_naming_the_field(client: httpx.Client, entry_id: str,
                                                          name: str, value: Any) -> None:
    optimizer = {"name": entry_id, "lr": LR[entry_id], name: value}
    response = client.post("/api/trajectories", json={"surface": "rosenbrock", "steps": 5,
                                                      "optimizer": optimizer})
    assert response.status_code == 422, response.text
    assert any(name in map(str, error["loc"]) for error in response.json()["detail"]), response.text


RECTIFIED = [e.id for e in community.COMMUNITY if any(h.name == "n_sma_threshold" for h in e.hyperparameters)]


@pytest.mark.parametrize("entry_id", RECTIFIED)
def test_a_rectification_threshold_below_five_is_a_422_and_five_runs(client: httpx.Client,
                                                                      entry_id: str) -> None:
    """RAdam's factor r_t = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)) is the root of a negative number while
    2 < ρₜ < 4 (ρₜ is 1, 2, 3, ... over the first steps): a threshold that lets it be taken there made
    the package raise at step 3, a 500 found by the schema fuzzer."""
    body: dict[str, Any] = {"surface": "quadratic", "steps": 12, "stop": {"grad_norm": 0}}
    names = {h.name for e in community.COMMUNITY if e.id == entry_id for h in e.hyperparameters}

    def optimizer(threshold: int) -> dict[str, Any]:  # rectified, where rectifying is a choice
        return {"name": entry_id, "lr": 1.0, "n_sma_threshold": threshold} | (
            {"rectify": True} if "rectify" in names else {})

    for threshold in (0, 3, 4):
        response = client.post("/api/trajectories", json=body | {"optimizer": optimizer(threshold)})
        assert response.status_code == 422, response.text
        assert any("n_sma_threshold" in map(str, e["loc"]) for e in response.json()["detail"])
    response = client.post("/api/trajectories", json=body | {"optimizer": optimizer(5)})
    assert response.status_code == 200 and response.json()["summary"]["steps"] == 12, response.text


@pytest.mark.parametrize(("optimizer", "says"), [
    ({"name": "schedulefree_adamw", "betas": [0.0, 0.999]}, "beta1"),
    ({"name": "lion", "lr": -0.1}, "lr"),
    ({"name": "aggmo", "lr": 0.001}, "AggMo"),  # its buffers are keyed by the β₁ OneCycleLR cycles
])
def test_what_the_class_refuses_is_a_422_that_says_what(client: httpx.Client, optimizer: dict[str, Any],
                                                         says: str) -> None:
    schedule = {"name": "onecycle"} if optimizer["name"] == "aggmo" else {"name": "constant"}
    response = client.post("/api/trajectories", json={
        "surface": "rosenbrock", "steps": 5, "optimizer": optimizer, "schedule": schedule})
    assert response.status_code == 422 and says in response.text, response.text


# --- network runs --------------------------------------------------------------------------


NETWORK: dict[str, Any] = {
    "kind": "network",
    "dataset": {"name": "moons", "n_samples": 50, "noise": 0.2},  # 30 train, 10 val, 10 test
    "model": {"name": "mlp", "hidden": [8], "activation": "tanh"},
    "batch_size": 8,
    "epochs": 6,
    "seed": 0,
}


def _records(emitted: list[tuple[str, list[dict[str, Any]]]], kind: str) -> list[dict[str, Any]]:
    return [r for k, frame in emitted for r in frame if k == kind]


@pytest.mark.parametrize("optimizer", [{"name": "lion", "lr": 0.01}, {"name": "adan", "lr": 0.05},
                                       {"name": "schedulefree_adamw", "lr": 0.05}])
def test_a_network_trains_with(optimizer: dict[str, Any]) -> None:
    emitted: list[tuple[str, list[dict[str, Any]]]] = []
    request = NetworkRun.model_validate(NETWORK | {"optimizer": optimizer})
    result = train(request, CPU, lambda kind, records: emitted.append((kind, records)), lambda: False)
    epochs = _records(emitted, "epoch")
    assert result.status == Ending.FINISHED and len(epochs) == 7
    assert epochs[-1]["train_loss"] < 0.8 * epochs[0]["train_loss"]
    assert result.summary["test_loss"] is not None and math.isfinite(result.summary["test_loss"])


def test_schedule_free_networks_are_evaluated_at_the_average() -> None:
    """Against a plain loop written from the package's documentation: `train()` before the
    steps, `eval()` before evaluating. Checkpoints, the final weights and each epoch's training
    loss are at x, the average; the steps' batch losses at y, where the gradients are taken."""
    epochs, lr = 4, 0.05
    emitted: list[tuple[str, list[dict[str, Any]]]] = []
    request = NetworkRun.model_validate(NETWORK | {"optimizer": {"name": "schedulefree_adamw", "lr": lr},
                                                   "batch_size": 5000, "epochs": epochs})
    result = train(request, CPU, lambda kind, records: emitted.append((kind, records)), lambda: False)

    data = datasets.load("moons", 50, 0.2, None, torch.Generator().manual_seed(0))
    (split, _, _), _ = datasets.split(data, 0.2, 0.2, torch.Generator().manual_seed(1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = po.ScheduleFreeAdamW(model.parameters(), lr=lr)

    def flat() -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss() -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(split.x), split.y)

    checkpoints, batch_losses, train_losses = [flat()], [], [loss().item()]
    for _ in range(epochs):
        opt.train()
        opt.zero_grad()
        value = loss()
        value.backward()
        batch_losses.append(value.item())
        opt.step()
        opt.eval()
        checkpoints.append(flat())
        with torch.no_grad():
            train_losses.append(loss().item())

    assert result.checkpoints is not None and result.final_weights is not None
    torch.testing.assert_close(result.checkpoints, torch.stack(checkpoints), rtol=0, atol=0)
    torch.testing.assert_close(result.final_weights, checkpoints[-1], rtol=0, atol=0)
    assert [s["loss"] for s in _records(emitted, "steps")] == batch_losses
    recorded = [e["train_loss"] for e in _records(emitted, "epoch")]
    torch.testing.assert_close(torch.tensor(recorded), torch.tensor(train_losses), rtol=1e-6, atol=0)
    assert not torch.equal(checkpoints[-1], checkpoints[-2])
