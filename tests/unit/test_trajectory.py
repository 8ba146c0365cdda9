"""The trajectory engine: stop rules, divergence, batching, recording modes, noise, mini-batches."""

import math
from typing import Any

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from backend.runs.compute import compute_surface
from backend.runs.model import Status
from backend.runs.segments import as_records
from backend.runs.surface import build_problem, effective_lr, step_columns, summarize
from backend.surfaces.catalogue import SURFACES
from backend.surfaces.engine import Outcome, _backward, run
from backend.surfaces.spec import SurfaceRun


def request(**fields: Any) -> SurfaceRun:
    body = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 200}
    return SurfaceRun.model_validate(body | fields)


def recording(**fields: Any) -> Any:
    return run(build_problem(request(**fields), torch.device("cpu")))


def test_step_zero_is_the_start_and_step_k_follows_k_steps() -> None:
    rec = recording(start=[-3.0, 2.0], steps=5, stop={"grad_norm": 0})
    assert rec.params[0, 0].tolist() == [-3.0, 2.0]
    # GD on x² + y²: w_k = (1 − 2η)^k w_0
    for k in range(6):
        torch.testing.assert_close(rec.params[k, 0], torch.tensor([-3.0, 2.0],
                                   dtype=torch.float64) * 0.8**k)
    assert rec.steps_done == 5 and rec.outcome.tolist() == [Outcome.FINISHED]


def test_grad_norm_rule_stops_at_the_first_step_below() -> None:
    rec = recording(stop={"grad_norm": 1e-3, "step_norm": 0})
    norms = rec.grad[: rec.steps_done + 1, 0].norm(dim=1)
    k = int(rec.stop_step[0])
    assert norms[k] < 1e-3 and (norms[:k] >= 1e-3).all()
    assert rec.outcome.tolist() == [Outcome.CONVERGED_GRAD]


def test_step_norm_rule() -> None:
    rec = recording(stop={"grad_norm": 0, "step_norm": 1e-4})
    k = int(rec.stop_step[0])
    moves = (rec.params[1 : k + 1, 0] - rec.params[:k, 0]).norm(dim=1)
    assert moves[-1] < 1e-4 and (moves[:-1] >= 1e-4).all()
    assert rec.outcome.tolist() == [Outcome.CONVERGED_STEP]


def test_zero_thresholds_disable_the_rules() -> None:
    rec = recording(stop={"grad_norm": 0, "step_norm": 0}, steps=300)
    assert rec.steps_done == 300 and rec.outcome.tolist() == [Outcome.FINISHED]


@pytest.mark.parametrize("lr", [1.01, 1.5, 10.0])
def test_lr_above_two_over_lambda_diverges(lr: float) -> None:
    """GD on x² + y² (λ = 2) is stable only for η < 2/λ = 1."""
    rec = recording(optimizer={"name": "sgd", "lr": lr}, steps=2000)
    assert rec.outcome.tolist() == [Outcome.DIVERGED]
    k = int(rec.stop_step[0])
    box = 4 + 10 * 8
    assert rec.params[k, 0].abs().max() > box or not torch.isfinite(rec.params[k, 0]).all()
    assert (rec.params[:k, 0].abs() <= box).all()


def test_non_finite_loss_is_divergence_not_an_error() -> None:
    req = request(surface={"expression": "log(x)", "domain": {"x": [0.1, 3], "y": [-1, 1]}},
                  start=[1.0, 0.0], optimizer={"name": "sgd", "lr": 2.0})
    result = compute_surface(req, "cpu")
    assert result.status == Status.DIVERGED
    assert "diverged at step" in result.summary.message  # type: ignore[union-attr]


def test_batched_starts_stop_independently_and_stay_pinned() -> None:
    starts = [[-3.0, 2.0], [0.5, 0.5], [1e-9, 0.0]]
    rec = recording(starts=starts, stop={"grad_norm": 1e-6})
    stops = rec.stop_step.tolist()
    assert stops[2] == 0 and stops[1] < stops[0]
    for b, k in enumerate(stops):
        assert (rec.params[k : rec.steps_done + 1, b] == rec.params[k, b]).all(), "a stopped start moved"


def test_a_start_meets_the_stop_rule_at_the_same_step_alone_and_in_a_batch() -> None:
    """At the quadratic's start the gradient is 2·start, exactly: this one has ‖g‖ < ε by `math.hypot`
    but g_x² + g_y² ≥ ε², where the two roundings part. Both paths must say the same."""
    gradient, epsilon = (-0.37120895743296556, 0.06646575262541687), 0.3771124319755746
    assert (math.hypot(*gradient) < epsilon) != (gradient[0] ** 2 + gradient[1] ** 2 < epsilon**2)
    start = [g / 2 for g in gradient]
    fields = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.01}, "steps": 3,
              "stop": {"grad_norm": epsilon}}
    alone = recording(start=start, **fields)
    together = recording(starts=[start, [1.0, 1.0]], **fields)
    assert alone.stop_step.tolist() == together.stop_step.tolist()[:1] == [1]
    assert alone.outcome.tolist() == together.outcome.tolist()[:1] == [Outcome.CONVERGED_GRAD]


def test_with_a_plateau_schedule_each_start_of_a_batch_records_its_own_lr() -> None:
    """ReduceLROnPlateau watches one start's loss, so each start has its own schedule, and its own
    lr in every record (a list, like every per-start field), the lr it has alone."""
    fields: dict[str, Any] = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.05},
                              "schedule": {"name": "plateau", "patience": 3, "factor": 0.5},
                              "steps": 80, "stop": {"grad_norm": 0}}
    starts = [[-1.5, 2.0], [0.5, -0.5], [1.2, 1.4]]

    def records(req: SurfaceRun) -> list[dict[str, Any]]:
        return step_columns(req, run(build_problem(req, torch.device("cpu"))), 0, 80).records(plain=True)

    together = records(request(starts=starts, **fields))
    for b, start in enumerate(starts):
        own = [r["lr"] for r in records(request(start=start, **fields))]
        assert [r["lr"][b] for r in together] == own
    assert len({tuple(r["lr"]) for r in together}) > 2  # the starts' rates part


def test_record_final_keeps_only_the_ends() -> None:
    starts = [[x, y] for x in (-3.0, -1.0, 2.0) for y in (-2.0, 3.0)]
    full = recording(starts=starts, stop={"grad_norm": 1e-6})
    ends = recording(starts=starts, stop={"grad_norm": 1e-6}, record="final")
    assert ends.params.shape[0] == 2
    torch.testing.assert_close(ends.params[0], full.params[0])
    last = full.params[full.stop_step, torch.arange(len(starts))]
    torch.testing.assert_close(ends.params[1], last)
    assert ends.stop_step.tolist() == full.stop_step.tolist()


def test_gradient_noise_is_seeded() -> None:
    a = recording(gradient_noise=0.5, seed=1, steps=50, stop={"grad_norm": 0})
    b = recording(gradient_noise=0.5, seed=1, steps=50, stop={"grad_norm": 0})
    c = recording(gradient_noise=0.5, seed=2, steps=50, stop={"grad_norm": 0})
    assert torch.equal(a.params, b.params)
    assert not torch.equal(a.params, c.params)


def test_noise_lets_sgd_leave_a_saddle() -> None:
    """From exactly the saddle point, GD stays forever; noise pushes it off along −y²."""
    still = recording(surface="saddle", start=[0.0, 0.0], optimizer={"name": "sgd", "lr": 0.05},
                      steps=100, stop={"grad_norm": 0})
    noisy = recording(surface="saddle", start=[0.0, 0.0], optimizer={"name": "sgd", "lr": 0.05},
                      steps=100, stop={"grad_norm": 0}, gradient_noise=0.1)
    assert still.params[-1, 0].abs().max() == 0
    assert noisy.params[noisy.steps_done, 0, 1].abs() > 1


def test_clip_grad_norm_bounds_each_step() -> None:
    rec = recording(surface="rosenbrock", optimizer={"name": "sgd", "lr": 0.01},
                    clip_grad_norm=1.0, steps=20, stop={"grad_norm": 0})
    moves = (rec.params[1:, 0] - rec.params[:-1, 0]).norm(dim=1)
    assert (moves <= 0.01 * (1 + 1e-9)).all()


def test_minibatch_sgd_on_the_course_regression() -> None:
    """batch_size = n is GD; batch_size = b visits every sample once per epoch."""
    n = len(SURFACES["linear_regression"].samples.targets)  # type: ignore[union-attr]
    gd = recording(surface="linear_regression", optimizer={"name": "sgd", "lr": 0.05},
                   batch_size=n, steps=30, stop={"grad_norm": 0})
    full = recording(surface="linear_regression", optimizer={"name": "sgd", "lr": 0.05},
                     steps=30, stop={"grad_norm": 0})
    torch.testing.assert_close(gd.params, full.params)
    mini = recording(surface="linear_regression", optimizer={"name": "sgd", "lr": 0.05},
                     batch_size=16, steps=40, stop={"grad_norm": 0})
    per_epoch = -(-n // 16)
    assert mini.epoch[: per_epoch + 2] == [0] + [1] * per_epoch + [2]
    assert not torch.allclose(mini.grad[1:5], full.grad[1:5])


def plain_minibatch_loop(optimizer: dict[str, Any], batch_size: int, steps: int, shuffle: bool, seed: int,
                         start: list[float]) -> torch.Tensor:
    """What a user writes: each epoch a fresh order (one seeded generator), batches of it in turn,
    zero_grad / the batch's mean squared error / backward / step. The points (steps + 1, 2)."""
    data = SURFACES["linear_regression"].samples
    assert data is not None
    n = len(data.targets)
    generator = torch.Generator().manual_seed(seed)
    w = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    kwargs = {k: v for k, v in optimizer.items() if k != "name"}
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer["name"]]([w], **kwargs)
    path = [w.detach().clone()]
    while len(path) <= steps:
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for batch in order.split(batch_size):
            if len(path) > steps:
                break
            opt.zero_grad()
            residuals = data.targets[batch] - w @ data.features[batch].T
            residuals.square().mean(dim=-1).sum().backward()
            opt.step()
            path.append(w.detach().clone())
    return torch.cat(path)


@pytest.mark.parametrize("gradient", ["tape", "autograd"])
@pytest.mark.parametrize(("optimizer", "batch_size", "shuffle"), [
    ({"name": "sgd", "lr": 0.05, "momentum": 0.9}, 16, True),
    ({"name": "sgd", "lr": 0.05}, 30, False),
    ({"name": "adam", "lr": 0.05}, 64, True),
])
def test_minibatch_run_equals_a_plain_minibatch_loop(
    optimizer: dict[str, Any], batch_size: int, shuffle: bool, gradient: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every step's point, bit for bit, over several epochs (the last batch of each smaller),
    whether the engine replays autograd's calls (one tape per batch size) or calls autograd."""
    from backend.surfaces import engine
    from backend.surfaces.tape import Tapes

    monkeypatch.setattr(engine, "TAPES", Tapes())
    monkeypatch.setattr(engine, "TAPE_MIN_STEPS", 0 if gradient == "tape" else 10**9)
    start, steps, seed = [-1.0, 2.5], 40, 7
    rec = recording(surface="linear_regression", optimizer=optimizer, batch_size=batch_size, shuffle=shuffle,
                    seed=seed, start=start, steps=steps, stop={"grad_norm": 0})
    expected = plain_minibatch_loop(optimizer, batch_size, steps, shuffle, seed, start)
    assert torch.equal(rec.params[:, 0], expected)
    shapes = sorted(key[2] for key, tape in engine.TAPES.by_key.items() if tape is not None)
    assert shapes == ([(200 % batch_size,), (batch_size,)] if gradient == "tape" else [])


def test_shuffle_changes_batches_and_is_reproducible() -> None:
    def path(shuffle: bool, seed: int) -> torch.Tensor:
        return recording(surface="linear_regression", optimizer={"name": "sgd", "lr": 0.05},
                         batch_size=20, steps=25, shuffle=shuffle, seed=seed,
                         stop={"grad_norm": 0}).params

    assert torch.equal(path(True, 3), path(True, 3))
    assert not torch.equal(path(True, 3), path(True, 4))
    assert torch.equal(path(False, 3), path(False, 4))  # fixed order: the seed plays no part


def test_cancel_stops_between_steps() -> None:
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 10

    rec = run(build_problem(request(steps=5000, stop={"grad_norm": 0}), torch.device("cpu")),
              cancelled=cancelled)
    assert rec.outcome.tolist() == [Outcome.CANCELLED] and rec.steps_done == 10


def test_frames_cover_every_step_once() -> None:
    seen: list[int] = []
    req = request(surface="rosenbrock", optimizer={"name": "adam", "lr": 0.01}, steps=3000,
                  stop={"grad_norm": 0})
    result = compute_surface(req, "cpu", on_frame=lambda f: seen.extend(s["step"] for s in as_records(f[1])))
    assert seen == list(range(3001))
    assert len(result.frames) >= 2


@pytest.mark.parametrize("fields", [
    {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}},
    {"surface": "linear_regression", "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
     "batch_size": 16},
    {"surface": "beale", "optimizer": {"name": "adafactor", "lr": 0.05}},  # a (2,) parameter
], ids=["adam", "minibatch-sgd", "adafactor"])
def test_a_lone_start_records_what_it_would_beside_another(fields: dict[str, Any]) -> None:
    """A lone start is staged as floats and written to the tensors at each frame: its rows are,
    to the bit, what the same start records beside another, and every frame sees its steps."""
    start, other = [-1.2, 1.0], [0.5, -0.4]
    beside = recording(starts=[start, other], steps=60, stop={"grad_norm": 0}, **fields)
    problem = build_problem(request(start=start, steps=60, stop={"grad_norm": 0}, **fields),
                            torch.device("cpu"))
    unseen: list[int] = []

    def progress(rec: Any, k: int) -> None:
        unseen.extend(j for j in range(k + 1) if rec.params[j].isnan().any())

    for alone in (run(problem), run(problem, progress, frame_seconds=0)):
        assert torch.equal(alone.params[:, 0], beside.params[:, 0])
        assert torch.equal(alone.grad[:, 0], beside.grad[:, 0])
        assert torch.equal(alone.loss[:, 0], beside.loss[:, 0])
        assert alone.state.keys() == beside.state.keys() and alone.state
        for name, buffer in alone.state.items():
            assert torch.equal(buffer[:, 0].nan_to_num(7.0), beside.state[name][:, 0].nan_to_num(7.0))
        if beside.batch_loss is not None:
            assert alone.batch_loss is not None
            assert torch.equal(alone.batch_loss[:, 0], beside.batch_loss[:, 0])
        assert alone.lr == beside.lr
    assert unseen == []


def test_records_are_json_ready() -> None:
    req = request(optimizer={"name": "adam", "lr": 0.1}, steps=3)
    rec = run(build_problem(req, torch.device("cpu")))
    steps = step_columns(req, rec, 0, rec.steps_done).records(plain=True)
    assert steps[0]["step"] == 0 and steps[0]["params"] == [-3.0, 2.0]
    assert set(steps[1]["state"]) == {"exp_avg", "exp_avg_sq"}
    assert len(steps[1]["effective_lr"]) == 2
    assert summarize(req, rec, "cpu").stop_reason == "budget"


def test_nearest_minimum_labels_basins() -> None:
    starts = [[3.5, 2.5], [-3.0, 3.0], [-3.5, -3.5], [3.5, -2.0]]
    req = request(surface="himmelblau", optimizer={"name": "adam", "lr": 0.05}, starts=starts,
                  steps=2000, record="final", stop={"grad_norm": 1e-8})
    result = compute_surface(req, "cpu")
    summary = result.summary
    assert summary is not None and summary.starts is not None  # type: ignore[attr-defined]
    assert summary.starts.minimum == [0, 1, 2, 3]  # type: ignore[attr-defined]


def test_step_hooks_and_the_profiler_see_every_optimizer_step() -> None:
    """The engine calls `step()` past torch's profiling wrapper only while nothing listens to it:
    a registered step hook runs, and a profiler records a span, at every step."""
    problem = build_problem(request(optimizer={"name": "adam"}, steps=5, stop={"grad_norm": 0}),
                            torch.device("cpu"))  # validating takes probe steps of its own
    hooked: list[str] = []
    handle = register_optimizer_step_pre_hook(
        lambda optimizer, args, kwargs: hooked.append(type(optimizer).__name__))
    try:
        run(problem)
    finally:
        handle.remove()
    assert hooked == ["Adam"] * 5
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        run(problem)
    assert sum(event.name == "Optimizer.step#Adam.step" for event in profile.events()) == 5


def test_the_engines_backward_is_torchs() -> None:
    """The engine calls autograd's C++ engine past `torch.autograd.backward`'s argument checks:
    every surface's gradient is `loss.backward(seed)`'s to the bit, and a seed those checks
    would refuse is still refused, with torch's own message."""
    point = torch.nn.Parameter(torch.tensor([[-1.2, 1.0], [0.3, -0.7]], dtype=torch.float64))
    seed = torch.ones(2, dtype=torch.float64)
    for name, surface in SURFACES.items():
        point.grad = None
        surface.fn(point).backward(seed)
        expected = point.grad
        point.grad = None
        _backward(surface.fn(point), seed)
        assert point.grad is not None and torch.equal(point.grad, expected), name
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        _backward(SURFACES["rosenbrock"].fn(point), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("optimizer", ["adam", "adamax", "adadelta"])
def test_effective_lr_bits_do_not_depend_on_where_frames_were_cut(optimizer: str) -> None:
    """β^t through torch's vectorised pow rounds differently in a SIMD lane and in the tail: a
    frame of steps 32.. once gave step 32 another last bit than a frame of steps 0..300."""
    req = request(surface="rosenbrock", start=[-1.2, 1.0], steps=300, stop={"grad_norm": 0},
                  optimizer={"name": optimizer})
    rec = run(build_problem(req, torch.device("cpu")))
    whole = effective_lr(req, rec, slice(0, 301))
    assert whole is not None
    for first in range(0, 301, 8):
        for last in (first + 1, first + 33, 301):
            part = effective_lr(req, rec, slice(first, min(last, 301)))
            torch.testing.assert_close(part, whole[first:last], rtol=0, atol=0, equal_nan=True)
