"""The optimizer registry against torch.optim itself.

Parity: the engine's path equals a plain `torch.optim` loop written here, for
every registry entry. Formulas: the course's update rules written by hand (the
independent check) against torch on a quadratic, with torch's conventions noted
where they differ from the slides.
"""

import inspect
from typing import Any

import pytest
import torch

from backend.optim import optimizers
from backend.optim.optimizers import IMPLEMENTATION_KEYWORDS, NOT_OFFERED, OPTIMIZERS
from backend.optim.schedules import SCHEDULES
from backend.surfaces import engine as engine_module
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.engine import Problem, run
from backend.surfaces.tape import Tapes

DTYPE = torch.float64

# (optimizer id, keyword overrides, steps): lr chosen so every path moves visibly.
CASES: list[tuple[str, dict[str, Any], int]] = [
    ("sgd", {"lr": 1e-3}, 60),
    ("sgd", {"lr": 1e-3, "momentum": 0.9}, 60),
    ("sgd", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}, 60),
    ("sgd", {"lr": 1e-3, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1}, 60),
    ("adagrad", {"lr": 0.1}, 60),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}, 60),
    ("rmsprop", {"lr": 0.01}, 60),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True}, 60),
    ("adam", {"lr": 0.05}, 60),
    ("adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}, 60),
    ("adamw", {"lr": 0.05}, 60),
    ("nadam", {"lr": 0.05}, 60),
    ("radam", {"lr": 1e-3}, 60),
    ("adamax", {"lr": 0.05}, 60),
    ("adadelta", {"lr": 1.0}, 60),
    ("rprop", {"lr": 0.01}, 60),
    ("asgd", {"lr": 1e-3}, 60),
    ("adafactor", {"lr": 0.05}, 60),
    ("lbfgs", {"lr": 0.5, "max_iter": 5}, 8),
    ("lbfgs", {"lr": 1.0, "line_search_fn": "strong_wolfe"}, 5),
]
SURFACE_IDS = ["rosenbrock", "himmelblau", "ravine_rotated"]
# The torch class each registry id must run, named here (not read from the registry), so the
# plain loop is an oracle of its own: a registry entry pointing at the wrong class fails parity.
TORCH_CLASSES: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
    "adamax": torch.optim.Adamax,
    "adadelta": torch.optim.Adadelta,
    "rprop": torch.optim.Rprop,
    "asgd": torch.optim.ASGD,
    "adafactor": torch.optim.Adafactor,
    "lbfgs": torch.optim.LBFGS,
}


def case_id(case: tuple[str, dict[str, Any], int]) -> str:
    name, overrides, _ = case
    return name + "".join(f"-{k}={v}" for k, v in overrides.items())


def kwargs_for(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    info = OPTIMIZERS[name]
    kwargs = {h.name: tuple(h.default) if isinstance(h.default, list) else h.default
              for h in info.hyperparameters}
    return kwargs | overrides


def plain_loop(name: str, kwargs: dict[str, Any], surface: str, steps: int,
               start: tuple[float, float]) -> torch.Tensor:
    """What a user writes: one (2,) parameter, zero_grad / backward / step."""
    fn = SURFACES[surface].fn
    w = torch.tensor(start, dtype=DTYPE, requires_grad=True)
    optimizer = TORCH_CLASSES[name]([w], **kwargs)
    path = [w.detach().clone()]
    for _ in range(steps):
        if isinstance(optimizer, torch.optim.LBFGS):

            def closure() -> torch.Tensor:
                optimizer.zero_grad()
                loss = fn(w)
                loss.backward()
                return loss

            optimizer.step(closure)
        else:
            optimizer.zero_grad()
            fn(w).backward()
            optimizer.step()
        path.append(w.detach().clone())
    return torch.stack(path)


def engine(name: str, kwargs: dict[str, Any], surface: str, steps: int,
           starts: list[tuple[float, float]]) -> torch.Tensor:
    problem = Problem(
        loss=SURFACES[surface].fn,
        starts=torch.tensor(starts, dtype=DTYPE),
        optimizer=OPTIMIZERS[name],
        optimizer_kwargs=kwargs,
        schedule=SCHEDULES["constant"],
        schedule_kwargs={},
        steps=steps,
        bounds=((-1e9, 1e9), (-1e9, 1e9)),
    )
    return run(problem).params  # (steps + 1, B, 2)


@pytest.mark.parametrize("gradient", ["tape", "autograd"])
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("surface", SURFACE_IDS)
def test_engine_equals_plain_torch_loop(case: tuple[str, dict[str, Any], int], surface: str, gradient: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the engine replays autograd's calls (`backend.surfaces.tape`) or calls autograd."""
    monkeypatch.setattr(engine_module, "TAPES", Tapes())
    monkeypatch.setattr(engine_module, "TAPE_MIN_STEPS", 0 if gradient == "tape" else 10**9)
    name, overrides, steps = case
    kwargs = kwargs_for(name, overrides)
    start = SURFACES[surface].start
    expected = plain_loop(name, kwargs, surface, steps, start)
    got = engine(name, kwargs, surface, steps, [start])[:, 0]
    assert torch.equal(got, expected)  # the same operations on the same numbers: bit for bit
    taped = [tape is not None for tape in engine_module.TAPES.by_key.values()]
    assert taped == ([True] if gradient == "tape" else [])


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_batched_rows_equal_separate_runs(case: tuple[str, dict[str, Any], int]) -> None:
    """A (B, 2) run gives each start the path a lone optimizer gives it."""
    name, overrides, steps = case
    kwargs = kwargs_for(name, overrides)
    starts = [(-1.5, 2.0), (0.5, -0.5), (1.2, 1.0)]
    together = engine(name, kwargs, "rosenbrock", steps, starts)
    for b, start in enumerate(starts):
        alone = plain_loop(name, kwargs, "rosenbrock", steps, start)
        torch.testing.assert_close(together[:, b], alone, rtol=1e-10, atol=1e-10)


def test_every_torch_optim_entry_is_covered_by_the_parity_cases() -> None:
    from_torch = {i for i, info in OPTIMIZERS.items() if info.cls.__module__.startswith("torch.optim")}
    assert set(TORCH_CLASSES) == from_torch
    assert {name for name, _, _ in CASES} == from_torch


# The community's entries (pytorch_optimizer) have their own signature test, with the keywords
# JSON cannot carry and the defaults they change: tests/unit/test_community.py.
TORCH_ENTRIES = [info for info in OPTIMIZERS.values() if info.family == "torch.optim"]


def test_every_offered_class_keyword_is_described_or_an_implementation_detail() -> None:
    for info in TORCH_ENTRIES:
        signature = inspect.signature(info.cls.__init__).parameters
        offered = {h.name for h in info.hyperparameters}
        for name in signature:
            assert name in offered or name in IMPLEMENTATION_KEYWORDS, (info.id, name)


@pytest.mark.parametrize("info", TORCH_ENTRIES, ids=[info.id for info in TORCH_ENTRIES])
def test_defaults_are_torchs(info: optimizers.OptimizerInfo) -> None:
    signature = inspect.signature(info.cls.__init__).parameters
    for h in info.hyperparameters:
        default = signature[h.name].default
        expected = list(default) if isinstance(default, tuple) else default
        assert h.default == expected, (info.id, h.name)


def test_every_torch_optimizer_is_offered_or_excused() -> None:
    shipped = {
        name for name, obj in vars(torch.optim).items()
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
        and obj is not torch.optim.Optimizer
    }
    offered = {info.cls.__name__ for info in OPTIMIZERS.values()}
    assert shipped <= offered | set(NOT_OFFERED), shipped - offered - set(NOT_OFFERED)


# --- the course's formulas, by hand, against torch on f(w) = ½ wᵀ A w ----------------------

A = torch.tensor([[3.0, 0.5], [0.5, 1.0]], dtype=DTYPE)
W0 = (1.0, -2.0)


def quadratic(w: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.einsum("...i,ij,...j->...", w, A, w)


def grad_of(w: torch.Tensor) -> torch.Tensor:
    return A @ w  # ∇(½ wᵀAw) = A w (A symmetric)


def torch_path(cls: type[torch.optim.Optimizer], kwargs: dict[str, Any], steps: int) -> torch.Tensor:
    w = torch.tensor(W0, dtype=DTYPE, requires_grad=True)
    optimizer = cls([w], **kwargs)
    out = [w.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic(w).backward()
        optimizer.step()
        out.append(w.detach().clone())
    return torch.stack(out)


def test_gradient_descent_is_w_minus_eta_g() -> None:
    eta, w, path = 0.1, torch.tensor(W0, dtype=DTYPE), [torch.tensor(W0, dtype=DTYPE)]
    for _ in range(20):
        w = w - eta * grad_of(w)
        path.append(w)
    torch.testing.assert_close(torch_path(torch.optim.SGD, {"lr": eta}, 20), torch.stack(path))


def test_momentum_slides_and_torch_agree_for_constant_lr() -> None:
    """Slides: u_t = γu_{t−1} + ηg_t, w ← w − u_t. torch: b_t = μb_{t−1} + g_t, w ← w − ηb_t.

    With a constant η, u_t = η·b_t, so the paths coincide; they part once η changes
    (a schedule), because torch applies today's η to the whole buffer.
    """
    eta, gamma = 0.05, 0.9
    w, u = torch.tensor(W0, dtype=DTYPE), torch.zeros(2, dtype=DTYPE)
    path = [w]
    for _ in range(30):
        u = gamma * u + eta * grad_of(w)
        w = w - u
        path.append(w)
    got = torch_path(torch.optim.SGD, {"lr": eta, "momentum": gamma}, 30)
    torch.testing.assert_close(got, torch.stack(path))


def test_adagrad_divides_by_root_of_summed_squares() -> None:
    """w ← w − η·g / (√(Σ g²) + ε); torch adds ε outside the root."""
    eta, eps = 0.5, 1e-10
    w, s = torch.tensor(W0, dtype=DTYPE), torch.zeros(2, dtype=DTYPE)
    path = [w]
    for _ in range(30):
        g = grad_of(w)
        s = s + g * g
        w = w - eta * g / (s.sqrt() + eps)
        path.append(w)
    got = torch_path(torch.optim.Adagrad, {"lr": eta, "eps": eps}, 30)
    torch.testing.assert_close(got, torch.stack(path))


def test_rmsprop_leaky_average_of_squares() -> None:
    """v ← αv + (1 − α)g², w ← w − η·g / (√v + ε): torch's α is the slides' γ."""
    eta, alpha, eps = 0.01, 0.9, 1e-8
    w, v = torch.tensor(W0, dtype=DTYPE), torch.zeros(2, dtype=DTYPE)
    path = [w]
    for _ in range(30):
        g = grad_of(w)
        v = alpha * v + (1 - alpha) * g * g
        w = w - eta * g / (v.sqrt() + eps)
        path.append(w)
    got = torch_path(torch.optim.RMSprop, {"lr": eta, "alpha": alpha, "eps": eps}, 30)
    torch.testing.assert_close(got, torch.stack(path))


def test_adam_with_bias_correction_by_one_minus_beta_to_the_t() -> None:
    """m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), w ← w − η·m̂/(√v̂ + ε).

    The slides divide by (1 − β) instead of (1 − βᵗ): identical at t = 1, different
    from t = 2 on. The engine shows torch's version.
    """
    eta, (b1, b2), eps = 0.05, (0.9, 0.999), 1e-8
    w = torch.tensor(W0, dtype=DTYPE)
    m, v, path = torch.zeros(2, dtype=DTYPE), torch.zeros(2, dtype=DTYPE), [w]
    for t in range(1, 31):
        g = grad_of(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - eta * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps)
        path.append(w)
    got = torch_path(torch.optim.Adam, {"lr": eta, "betas": (b1, b2), "eps": eps}, 30)
    torch.testing.assert_close(got, torch.stack(path))

    w, m, v, slides = torch.tensor(W0, dtype=DTYPE), 0 * m, 0 * v, [torch.tensor(W0, dtype=DTYPE)]
    for _ in range(3):
        g = grad_of(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - eta * (m / (1 - b1)) / ((v / (1 - b2)).sqrt() + eps)
        slides.append(w)
    torch.testing.assert_close(slides[1], got[1])
    assert not torch.allclose(slides[2], got[2], rtol=1e-6, atol=0)


# --- effective per-coordinate step size: display quantity checked against torch's moves ---


EFFECTIVE_CASES = [
    ("adagrad", {"lr": 0.5}, "gradient"),
    ("rmsprop", {"lr": 0.01}, "gradient"),
    ("adadelta", {"lr": 1.0}, "gradient"),
    ("adam", {"lr": 0.05}, "first_moment"),
    ("adamw", {"lr": 0.05, "weight_decay": 0.0}, "first_moment"),
    ("adamax", {"lr": 0.05}, "first_moment"),
    ("rprop", {"lr": 0.01}, "sign"),
]


@pytest.mark.parametrize(("name", "overrides", "applies_to"), EFFECTIVE_CASES,
                         ids=[c[0] for c in EFFECTIVE_CASES])
def test_effective_lr_explains_the_move(name: str, overrides: dict[str, Any],
                                        applies_to: str | None) -> None:
    """Δw = −factor·g (or ·m, or ·sign g): the arrows the page draws are the real step."""
    from backend.runs.surface import build_problem, effective_lr
    from backend.surfaces.spec import SurfaceRun

    request = SurfaceRun.model_validate(
        {"surface": "rosenbrock", "optimizer": {"name": name, **overrides}, "steps": 25}
    )
    rec = run(build_problem(request, torch.device("cpu")))
    factor = effective_lr(request, rec, slice(0, rec.steps_done + 1))
    assert factor is not None
    moves = rec.params[1:] - rec.params[:-1]  # (K, 1, 2): step k's move
    if applies_to == "gradient":
        direction = rec.grad[:-1]
    elif applies_to == "first_moment":
        direction = rec.state["exp_avg"][1:]
    else:
        assert applies_to == "sign"
        direction = torch.sign(rec.grad[:-1])
    if name == "rprop":
        # Rprop skips the step for a coordinate whose gradient changed sign.
        flipped = (rec.grad[1:-1] * rec.grad[:-2]) < 0
        expected = -factor[1:] * direction
        keep = torch.cat([torch.ones_like(flipped[:1]), ~flipped])
        torch.testing.assert_close(moves[keep], expected[keep])
        return
    torch.testing.assert_close(moves, -factor[1:] * direction, rtol=1e-9, atol=1e-12)
