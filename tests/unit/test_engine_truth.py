"""Every path tells the truth, over the whole registry: row b of a batched run is start b's run
alone (and the answer cut from it for that start, `one_start`, is the answer of that start alone:
how requests computed together are answered), a regime-map cell is the single run with its values,
and `effective_lr` is the factor the step applied. Each comparison is exact (float64, same
operations).

torch.optim's entries are crossed with every schedule and every option; the community's
(pytorch_optimizer) with every schedule under the plain option and with every option under the
constant schedule, and their regime maps with the schedules that take another path (none,
per-step, cyclic momentum, one optimizer per cell), so the suite stays quick as the registry
grows. For an entry declared batched, row b equal to start b alone is the proof that its update
is element-wise; an entry whose keywords can couple rows is also run with them (`VARIANTS`)."""

import itertools
from typing import Any

import orjson
import pytest
import torch

from backend.optim import optimizers, schedules
from backend.runs.compute import surface_result
from backend.runs.segments import as_records
from backend.runs.surface import build_problem, effective_lr
from backend.runs.together import run_together, together_key
from backend.surfaces.engine import run
from backend.surfaces.recording import Recording, one_start
from backend.surfaces.spec import SurfaceRun
from backend.surfaces.sweeps import Axis, sweep

STEPS = 30
STARTS = [[-1.2, 1.5], [0.3, -0.8], [1.7, 0.4]]
# schedule keywords that make each one act within STEPS
SCHEDULE_KWARGS: dict[str, dict[str, Any]] = {
    "step": {"step_size": 7}, "multistep": {"milestones": [5, 12]}, "exponential": {"gamma": 0.9},
    "cosine_warm_restarts": {"T_0": 8}, "linear": {"total_iters": 10}, "polynomial": {"total_iters": 20},
    "cyclic": {"step_size_up": 6}, "plateau": {"patience": 2, "factor": 0.5},
}
OPTIMIZER_KWARGS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01, "momentum": 0.9}, "adagrad": {"lr": 0.3}, "rmsprop": {"lr": 0.01},
    "adam": {"lr": 0.1}, "adamw": {"lr": 0.1}, "nadam": {"lr": 0.1}, "radam": {"lr": 0.1},
    "adamax": {"lr": 0.1}, "adadelta": {"lr": 1.0}, "rprop": {"lr": 0.01}, "asgd": {"lr": 0.01},
    "adafactor": {"lr": 0.05}, "lbfgs": {"lr": 0.5, "max_iter": 3},
    # the community's, at rates that move on Rosenbrock without leaving it in STEPS steps
    "lion": {"lr": 0.01}, "adan": {"lr": 0.02}, "adabelief": {"lr": 0.02}, "prodigy": {},
    "schedulefree_adamw": {"lr": 0.02}, "schedulefree_sgd": {"lr": 0.0005},
    "schedulefree_radam": {"lr": 0.02}, "lamb": {"lr": 0.02}, "madgrad": {"lr": 0.005},
    "ademamix": {"lr": 0.01}, "adopt": {"lr": 0.01}, "yogi": {"lr": 0.02}, "adabound": {"lr": 0.01},
    "diffgrad": {"lr": 0.02}, "qhadam": {"lr": 0.02, "nus": [0.7, 1.0]}, "signsgd": {"lr": 0.01},
    "laprop": {"lr": 0.005}, "tiger": {"lr": 0.01}, "apollo": {"lr": 0.001, "warmup_steps": 5},
    "ranger": {"lr": 0.005}, "dadapt_adam": {}, "aggmo": {"lr": 0.0005},
    "qhm": {"lr": 0.001, "momentum": 0.9, "nu": 0.7}, "pid": {"lr": 0.0002, "momentum": 0.9},
    "padam": {"lr": 0.01}, "adamod": {"lr": 0.02}, "novograd": {"lr": 0.01},
}
# case id -> (registry id, keywords): keywords that couple rows (a run start by start) or not
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "adan+clip": ("adan", {"lr": 0.02, "max_grad_norm": 1.0}),
    "ranger-gc": ("ranger", {"lr": 0.005, "use_gc": False}),
    "adabelief+rectify": ("adabelief", {"lr": 0.02, "rectify": True, "ams_bound": True}),
    "laprop+centered": ("laprop", {"lr": 0.005, "centered": True, "steps_before_using_centered": 3}),
}
OPTIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "noise": {"gradient_noise": 0.5},
    "clip": {"clip_grad_norm": 0.3},
    "step_norm": {"stop": {"grad_norm": 0, "step_norm": 1e-3}},
    "minibatch": {"surface": "linear_regression", "batch_size": 16,
                  "starts": [[0.0, 0.0], [3.0, -2.0], [1.0, 1.0]]},
}
assert set(OPTIMIZER_KWARGS) <= set(optimizers.OPTIMIZERS)


def optimizer_body(case: str) -> dict[str, Any]:
    """The request's optimizer for a case id: a registry id or a `VARIANTS` key."""
    name, kwargs = VARIANTS.get(case, (case, OPTIMIZER_KWARGS.get(case, {})))
    return {"name": name, **kwargs}


def body(optimizer: str, schedule: str, option: str, **fields: Any) -> dict[str, Any]:
    return {"surface": "rosenbrock", "steps": STEPS, "starts": STARTS, "seed": 3,
            "optimizer": optimizer_body(optimizer),
            "schedule": {"name": schedule, **SCHEDULE_KWARGS.get(schedule, {})}} | OPTIONS[option] | fields


def accepted(fields: dict[str, Any]) -> SurfaceRun | None:
    """The request, or None where the API refuses it with a 422 that says why: torch itself
    rejects the combination (OneCycleLR's cycle_momentum on an optimizer without momentum) or
    fails on its first steps (AggMo, whose buffers are keyed by the β that OneCycleLR cycles),
    or the engine could not be faithful (LBFGS with gradient noise)."""
    try:
        return SurfaceRun.model_validate(fields)
    except ValueError as error:
        assert any(why in str(error) for why in ("rejects this", "fails on its first steps",
                                                 "LBFGS evaluates the loss")), error
        return None


TORCH = [o for o, info in optimizers.OPTIMIZERS.items() if info.family == "torch.optim"]
COMMUNITY = [o for o, info in optimizers.OPTIMIZERS.items() if info.family == "community"]
CASES = (list(itertools.product(TORCH, schedules.SCHEDULES, OPTIONS))
         + [(o, s, "plain") for o in COMMUNITY for s in schedules.SCHEDULES]
         + [(o, "constant", option) for o in COMMUNITY + list(VARIANTS) for option in OPTIONS
            if option != "plain" or o in VARIANTS])


@pytest.mark.parametrize(("optimizer", "schedule", "option"), CASES, ids=["-".join(c) for c in CASES])
def test_batched_row_is_the_start_alone(optimizer: str, schedule: str, option: str) -> None:
    batched = accepted(body(optimizer, schedule, option))
    if batched is None:
        return
    together = run(build_problem(batched, torch.device("cpu")))
    for b, start in enumerate(batched.start_points()):
        alone_request = accepted(body(optimizer, schedule, option, starts=None, start=list(start)))
        assert alone_request is not None
        alone = run(build_problem(alone_request, torch.device("cpu")))
        k = int(alone.stop_step[0])
        assert int(together.stop_step[b]) == k and int(together.outcome[b]) == int(alone.outcome[0])
        assert torch.equal(together.params[: k + 1, b], alone.params[: k + 1, 0])
        assert answer(alone_request, one_start(together, b)) == answer(alone_request, alone)


def answer(request: SurfaceRun, recording: Recording) -> bytes:
    """What a request is answered from a recording (status, summary, every step record), to the
    bit, but for the engine's time."""
    result = surface_result(request, recording, "cpu")
    assert result.summary is not None
    summary = result.summary.model_dump(mode="json") | {"elapsed_ms": None}
    steps = [step for _, records in result.frames for step in as_records(records)]
    return orjson.dumps({"status": result.status, "summary": summary, "steps": steps},
                        option=orjson.OPT_SERIALIZE_NUMPY)


# the schedules whose regime maps take another path: none, per step, cycled momentum, per cell
COMMUNITY_SWEEP_SCHEDULES = ["constant", "step", "onecycle", "plateau"]
SWEEPABLE = ([(o, s) for o, s in itertools.product(TORCH, schedules.SCHEDULES)]
             + [(o, s) for o, s in itertools.product(COMMUNITY, COMMUNITY_SWEEP_SCHEDULES)]
             + [(o, "constant") for o in VARIANTS])


@pytest.mark.parametrize(("optimizer", "schedule"), SWEEPABLE, ids=["-".join(c) for c in SWEEPABLE])
def test_regime_map_cell_is_the_single_run(optimizer: str, schedule: str) -> None:
    base = body(optimizer, schedule, "plain", starts=None, start=STARTS[0])
    name = base["optimizer"]["name"]
    info = optimizers.get_optimizer(name)
    lr = base["optimizer"].get("lr") or _default(name, "lr")
    x = Axis("lr", (lr / 3, lr, lr * 3))
    names = _names(name)
    community = info.family == "community"
    second = ("momentum" if optimizer == "sgd" or (community and "momentum" in names) else
              "beta1" if "betas" in names else "beta" if community and "beta" in names else None)
    # Schedule-Free takes β₁ (its interpolation) in (0, 1) only
    y = Axis(second, (0.3, 0.6) if community else (0.0, 0.5)) if second else None
    request = accepted(base)
    if request is None:
        return
    if (y is not None and second != "beta"
            and SCHEDULE_KWARGS.get(schedule, {}).get("cycle_momentum", schedule == "onecycle")):
        y = None  # a momentum axis under cycle_momentum is refused (test_sweeps)
    result = sweep(build_problem(request, torch.device("cpu")), x, y)
    for (iy, y_value), (ix, x_value) in itertools.product(enumerate(y.values if y else [None]),
                                                          enumerate(x.values)):
        kwargs = dict(base["optimizer"], lr=x_value)
        if y is not None and second == "beta1":
            kwargs["betas"] = [y_value, *(kwargs.get("betas") or _default_value(name, "betas"))[1:]]
        elif y is not None:
            kwargs[second] = y_value
        single_request = accepted(base | {"optimizer": kwargs})
        assert single_request is not None
        single = run(build_problem(single_request, torch.device("cpu")))
        k = int(single.stop_step[0])
        assert int(result.stop_step[iy, ix]) == k, (x_value, y_value)
        assert int(result.outcome[iy, ix]) == int(single.outcome[0])
        assert torch.equal(result.final_loss[iy, ix], single.loss[k, 0]) or (
            torch.isnan(result.final_loss[iy, ix]) and torch.isnan(single.loss[k, 0]))


def _default(optimizer: str, name: str) -> float:
    (default,) = [h.default for h in optimizers.get_optimizer(optimizer).hyperparameters if h.name == name]
    return float(default)


def _default_value(optimizer: str, name: str) -> Any:
    (default,) = [h.default for h in optimizers.get_optimizer(optimizer).hyperparameters if h.name == name]
    return default


def _names(optimizer: str) -> set[str]:
    return {h.name for h in optimizers.get_optimizer(optimizer).hyperparameters}


# what the recorded factor multiplies, and the buffer that holds it after the step
ELEMENT_WISE = {
    "adagrad": ({"lr": 0.3, "lr_decay": 0.01}, None),
    "rmsprop": ({"lr": 0.01}, None),
    "rmsprop-centered": ({"lr": 0.01, "centered": True}, None),
    "adadelta": ({"lr": 1.0}, None),
    "adam": ({"lr": 0.05}, "exp_avg"),
    "adam-amsgrad": ({"lr": 0.05, "amsgrad": True}, "exp_avg"),
    "adamw": ({"lr": 0.05, "weight_decay": 0.0}, "exp_avg"),
    "adamax": ({"lr": 0.05}, "exp_avg"),
}


@pytest.mark.parametrize("case", list(ELEMENT_WISE))
def test_effective_lr_is_the_factor_the_step_applied(case: str) -> None:
    """Δw_k = −η_eff,k · g_{k−1} (or · m_k): the recorded factor times what it multiplies is
    the move torch made, coordinate by coordinate, at every step."""
    name = case.split("-")[0]
    kwargs, moment = ELEMENT_WISE[case]
    request = accepted({"surface": "rosenbrock", "start": [-1.2, 1.5], "steps": 25,
                        "stop": {"grad_norm": 0}, "optimizer": {"name": name, **kwargs}})
    assert request is not None
    rec = run(build_problem(request, torch.device("cpu")))
    factor = effective_lr(request, rec, slice(1, 26))
    assert factor is not None
    moved = rec.params[1:26, 0] - rec.params[0:25, 0]  # Δw of steps 1..25
    times = rec.state[moment][1:26, 0] if moment else rec.grad[0:25, 0]
    torch.testing.assert_close(-factor[:, 0] * times, moved, rtol=1e-9, atol=1e-15)


def test_rprop_effective_lr_is_the_step_size_it_moved_by() -> None:
    request = accepted({"surface": "rosenbrock", "start": [-1.2, 1.5], "steps": 25,
                        "stop": {"grad_norm": 0}, "optimizer": {"name": "rprop", "lr": 0.01}})
    assert request is not None
    rec = run(build_problem(request, torch.device("cpu")))
    factor = effective_lr(request, rec, slice(1, 26))
    assert factor is not None
    moved = (rec.params[1:26, 0] - rec.params[0:25, 0]).abs()
    moving = moved > 0
    torch.testing.assert_close(moved[moving], factor[:, 0][moving], rtol=1e-12, atol=0)


@pytest.mark.parametrize(("optimizer", "schedule"), SWEEPABLE, ids=["-".join(c) for c in SWEEPABLE])
def test_requests_computed_together_are_each_answered_as_alone(optimizer: str, schedule: str) -> None:
    """Unstored trajectories that differ in their start and lr, computed as one batch with a param
    group per request (`backend.runs.together`): each answer cut from it is the request's alone."""
    base = body(optimizer, schedule, "plain", starts=None)
    lr = base["optimizer"].get("lr") or _default(base["optimizer"]["name"], "lr")
    requests = [accepted(base | {"start": start, "optimizer": base["optimizer"] | {"lr": lr * factor}})
                for start, factor in zip(STARTS, (1 / 3, 1, 3), strict=True)]
    if any(r is None for r in requests):
        return
    computed = [r for r in requests if r is not None]
    if together_key(computed[0]) is None:
        return  # computed alone
    assert len({together_key(r) for r in computed}) == 1
    recording = run_together(computed, [None] * len(computed))
    for b, request in enumerate(computed):
        alone = run(build_problem(request, torch.device("cpu")))
        assert answer(request, one_start(recording, b)) == answer(request, alone)
