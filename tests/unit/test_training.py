"""The instrumented training loop: batching, shuffling, parity with a plain torch loop,
early stopping, the single test evaluation, divergence, schedules, seeds and emitted records."""

import io
import json
import math
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch

from backend.networks import datasets, models, training
from backend.networks import landscape as L
from backend.networks.datasets import Split
from backend.networks.spec import NetworkRun
from backend.networks.training import Ending, TrainingResult, train

CPU = torch.device("cpu")
BASE: dict[str, Any] = {
    "kind": "network",
    "dataset": {"name": "moons", "n_samples": 50, "noise": 0.2},  # 30 train, 10 val, 10 test
    "model": {"name": "mlp", "hidden": [8], "activation": "tanh"},
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch_size": 8,
    "epochs": 3,
    "seed": 0,
}


class Recorder:
    """An `emit` that keeps everything, by kind."""

    def __init__(self) -> None:
        self.frames: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
        self.order: list[str] = []

    def __call__(self, kind: str, records: list[dict[str, Any]]) -> None:
        json.dumps(records)  # every record is JSON-able (NaN aside)
        self.frames[kind].append(records)
        self.order.append(kind)

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [r for frame in self.frames[kind] for r in frame]


def run(cancelled: Any = lambda: False, **fields: Any) -> tuple[TrainingResult, Recorder]:
    recorder = Recorder()
    request = NetworkRun.model_validate(BASE | fields)
    return train(request, CPU, recorder, cancelled), recorder


def steps_per_epoch(recorder: Recorder) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for step in recorder.records("steps"):
        counts[step["epoch"]] += 1
    return dict(counts)


# --- batching and shuffling ----------------------------------------------------------------


@pytest.mark.parametrize(("batch_size", "per_epoch"), [(30, 1), (5000, 1), (1, 30), (8, 4)])
def test_steps_per_epoch(batch_size: int, per_epoch: int) -> None:
    result, recorder = run(batch_size=batch_size)
    assert steps_per_epoch(recorder) == {1: per_epoch, 2: per_epoch, 3: per_epoch}
    assert [s["step"] for s in recorder.records("steps")] == list(range(1, 3 * per_epoch + 1))
    assert result.summary["steps"] == 3 * per_epoch and result.summary["n_train"] == 30
    assert result.summary["full_batch"] == (per_epoch == 1)


def batch_losses(shuffle: bool, seed: int = 0) -> list[list[float]]:
    """Per epoch, the batch losses at (almost) frozen weights: they identify the batches."""
    _, recorder = run(shuffle=shuffle, seed=seed, batch_size=3, optimizer={"name": "sgd", "lr": 1e-12})
    per_epoch: dict[int, list[float]] = defaultdict(list)
    for step in recorder.records("steps"):
        per_epoch[step["epoch"]].append(step["loss"])
    return list(per_epoch.values())


def test_no_shuffle_repeats_the_batch_order_every_epoch() -> None:
    epochs = batch_losses(shuffle=False)
    for later in epochs[1:]:
        assert later == pytest.approx(epochs[0], rel=1e-6)


def test_shuffle_changes_the_order_every_epoch_reproducibly() -> None:
    epochs = batch_losses(shuffle=True)
    assert epochs[1] != pytest.approx(epochs[0], rel=1e-3)
    assert sorted(epochs[1]) != pytest.approx(sorted(epochs[0]), rel=1e-3)  # other batches, not a reorder
    assert batch_losses(shuffle=True) == epochs
    assert batch_losses(shuffle=True, seed=1) != epochs


# --- parity with a hand-written loop -------------------------------------------------------


PLAIN_LOOPS: list[Any] = [  # (the run's optimizer and batch size, the torch class a user would write)
    pytest.param({"name": "sgd", "lr": 0.2, "momentum": 0.9}, 7,
                 lambda ps: torch.optim.SGD(ps, lr=0.2, momentum=0.9), id="sgd-momentum"),
    pytest.param({"name": "adam", "lr": 0.02}, 7, lambda ps: torch.optim.Adam(ps, lr=0.02), id="adam"),
    pytest.param({"name": "rmsprop", "lr": 0.01, "centered": True}, 7,
                 lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True), id="rmsprop-centered"),
    pytest.param({"name": "lbfgs", "lr": 0.5, "max_iter": 4}, 5000,
                 lambda ps: torch.optim.LBFGS(ps, lr=0.5, max_iter=4), id="lbfgs-full-batch"),
]


@pytest.mark.parametrize(("optimizer", "batch_size", "make"), PLAIN_LOOPS)
def test_trajectory_equals_a_plain_torch_loop(optimizer: dict[str, Any], batch_size: int, make: Any) -> None:
    """The run against a loop written from the documentation alone: the seed streams
    (seed·5 + data 0, split 1, init 2, shuffle 3), torch's default initialisation of the
    written-out model, a fresh permutation per epoch when batches are smaller than the
    training split, and the recorded loss of a step being its batch's loss before the update
    (for LBFGS, its closure's first evaluation)."""
    seed, epochs = 0, 4
    result, recorder = run(optimizer=optimizer, batch_size=batch_size, epochs=epochs)

    data = datasets.load("moons", 50, 0.2, None, torch.Generator().manual_seed(5 * seed + 0))
    (train_split, _, _), _ = datasets.split(data, 0.2, 0.2, torch.Generator().manual_seed(5 * seed + 1))
    x, y = train_split.x, train_split.y
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5 * seed + 2)
        model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = make(list(model.parameters()))
    shuffle = torch.Generator().manual_seed(5 * seed + 3)

    def flat() -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    losses, checkpoints = [], [flat()]
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=shuffle) if batch_size < len(x) else torch.arange(len(x))
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            evaluations: list[float] = []

            def closure(index: torch.Tensor = index, evaluations: list[float] = evaluations) -> torch.Tensor:
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
                loss.backward()
                evaluations.append(loss.item())
                return loss

            if isinstance(opt, torch.optim.LBFGS):
                opt.step(closure)
            else:
                closure()
                opt.step()
            losses.append(evaluations[0])
        checkpoints.append(flat())

    assert result.status == Ending.FINISHED
    assert len(losses) == epochs * math.ceil(30 / min(batch_size, 30))
    assert [s["loss"] for s in recorder.records("steps")] == losses
    assert result.checkpoints is not None and result.final_weights is not None
    torch.testing.assert_close(result.checkpoints, torch.stack(checkpoints), rtol=0, atol=0)
    torch.testing.assert_close(result.final_weights, checkpoints[-1], rtol=0, atol=0)


def test_step_records_carry_lr_and_gradient_norm() -> None:
    _, recorder = run(optimizer={"name": "adam", "lr": 0.01})
    for step in recorder.records("steps"):
        assert set(step) >= {"step", "epoch", "loss", "lr", "grad_norm"}
        assert step["lr"] == 0.01 and step["grad_norm"] > 0


# --- evaluation, early stopping ------------------------------------------------------------


class ScriptedEvaluation:
    """Replaces `training.evaluate`: scripted validation losses, real everything else, counted."""

    def __init__(self, val_losses: list[float] | None = None) -> None:
        self.val_losses = list(val_losses or [])
        self.calls: dict[str, int] = defaultdict(int)
        self.real = training.evaluate

    def __call__(self, model: Any, split: Split, loss_fn: Any, classification: bool) -> Any:
        self.calls[split.name] += 1
        loss, accuracy = self.real(model, split, loss_fn, classification)
        if split.name == "val" and self.val_losses:
            return self.val_losses.pop(0), accuracy
        return loss, accuracy


def test_the_test_split_is_evaluated_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = ScriptedEvaluation()
    monkeypatch.setattr(training, "evaluate", counter)
    result, recorder = run(epochs=5, landscape={"resolution": 5, "eval_samples": 20})
    assert counter.calls["test"] == 1 and counter.calls["val"] == 6 and counter.calls["train"] == 6
    assert result.summary["test_evaluations"] == 1 and result.summary["test_loss"] is not None
    assert all("test_loss" not in e for e in recorder.records("epoch"))


@pytest.mark.parametrize("restore_best", [True, False])
def test_early_stopping_after_exactly_patience_epochs(monkeypatch: pytest.MonkeyPatch,
                                                      restore_best: bool) -> None:
    #            epoch:  0    1    2    3     4     5     6 ...
    val = [1.0, 0.9, 0.8, 0.85, 0.86, 0.87, 0.5, 0.4, 0.3]
    monkeypatch.setattr(training, "evaluate", ScriptedEvaluation(val))
    result, recorder = run(epochs=8, early_stopping={"patience": 3, "restore_best": restore_best})
    assert result.status == Ending.EARLY_STOPPED
    assert [e["epoch"] for e in recorder.records("epoch")] == [0, 1, 2, 3, 4, 5]
    assert max(steps_per_epoch(recorder)) == 5
    summary = result.summary
    assert summary["best_epoch"] == 2 and summary["epochs_run"] == 5 and summary["stopped_early"]
    assert summary["best_val_loss"] == 0.8 and summary["restored_best"] == restore_best
    assert result.checkpoints is not None and result.final_weights is not None
    expected = result.checkpoints[2] if restore_best else result.checkpoints[5]
    assert torch.equal(result.final_weights, expected)


def test_min_delta_ignores_small_improvements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "evaluate", ScriptedEvaluation([1.0, 0.95, 0.91, 0.5, 0.49]))
    result, _ = run(epochs=8, early_stopping={"patience": 2, "min_delta": 0.1})
    assert result.summary["best_epoch"] == 0 and result.summary["epochs_run"] == 2


def test_without_validation_there_is_no_best_epoch() -> None:
    result, recorder = run(split={"val": 0.0, "test": 0.2})
    assert result.summary["best_epoch"] is None and result.summary["n_val"] == 0
    assert all(e["val_loss"] is None and e["val_accuracy"] is None for e in recorder.records("epoch"))


def test_epoch_records_and_regression_accuracy() -> None:
    result, recorder = run(dataset={"name": "linear_regression", "n_samples": 50}, model={"name": "linear"},
                           optimizer={"name": "sgd", "lr": 0.05}, epochs=20)
    epochs = recorder.records("epoch")
    assert [e["epoch"] for e in epochs] == list(range(21))
    assert all(e["val_accuracy"] is None and e["train_accuracy"] is None for e in epochs)
    assert epochs[-1]["train_loss"] < 0.5 * epochs[0]["train_loss"]
    assert result.status == Ending.FINISHED and result.summary["test_accuracy"] is None


# --- divergence, cancellation, seeds -------------------------------------------------------


def test_divergence_is_a_result() -> None:
    result, recorder = run(dataset={"name": "linear_regression", "n_samples": 50}, model={"name": "linear"},
                           optimizer={"name": "sgd", "lr": 500.0}, epochs=50, batch_size=30,
                           landscape={"resolution": 5})
    assert result.status == Ending.DIVERGED and result.landscape is None
    steps = recorder.records("steps")
    assert all(math.isfinite(s["loss"]) for s in steps[:-1])
    # caught at the first non-finite batch loss, or by the epoch's training loss after the last step
    last_epoch = recorder.records("epoch")[-1]
    assert not math.isfinite(steps[-1]["loss"]) or not math.isfinite(last_epoch["train_loss"])
    assert result.summary["diverged_at_step"] == steps[-1]["step"]
    assert result.summary["test_loss"] is None and result.summary["test_evaluations"] == 0


GD_REGRESSION: dict[str, Any] = {
    "dataset": {"name": "linear_regression", "n_samples": 200}, "model": {"name": "linear"},
    "batch_size": 1000, "epochs": 400, "optimizer": {"name": "sgd", "lr": 0.1},
}


@pytest.mark.parametrize(("rule", "threshold"), [("step_norm", 1e-3), ("grad_norm", 1e-2)])
def test_gradient_descent_stops_by_the_courses_rules(rule: str, threshold: float,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    counter = ScriptedEvaluation()
    monkeypatch.setattr(training, "evaluate", counter)
    result, recorder = run(**GD_REGRESSION, stop={rule: threshold})
    summary, steps = result.summary, recorder.records("steps")
    assert result.status == Ending.CONVERGED and summary["converged_by"] == rule
    assert summary["converged_at_step"] == summary["steps"] == len(steps) < 400
    values = [s[rule] for s in steps]
    assert values[-1] < threshold and min(values[:-1]) >= threshold  # the first step that meets it
    assert summary["epochs_run"] == len(steps)  # GD: one step an epoch, and that epoch evaluated
    assert summary["test_evaluations"] == 1 and counter.calls["test"] == 1
    if rule == "step_norm":  # ‖w_k − w_{k−1}‖, the same as between the checkpoints of GD's epochs
        assert result.checkpoints is not None
        moves = (result.checkpoints[1:] - result.checkpoints[:-1]).norm(dim=1)
        torch.testing.assert_close(torch.tensor(values), moves, rtol=1e-4, atol=1e-7)


def test_sharpness_of_linear_regression_is_the_top_eigenvalue_of_its_constant_hessian() -> None:
    """MSE of ŷ = wᵀx + b has ∇²L = (2/n)·[X 1]ᵀ[X 1] everywhere: the same λ_max at both ends."""
    result, _ = run(**GD_REGRESSION | {"epochs": 5})
    request = NetworkRun.model_validate(BASE | GD_REGRESSION)
    x = training.prepare(request, CPU).train.x  # 120 training samples: all of them are evaluated
    design = torch.cat([x, torch.ones(len(x), 1)], dim=1).double()
    exact = float(torch.linalg.eigvalsh(2 / len(x) * design.T @ design)[-1])
    assert result.summary["sharpness_initial"] == pytest.approx(exact, rel=1e-4)
    assert result.summary["sharpness_final"] == pytest.approx(exact, rel=1e-4)


def test_a_diverged_run_reports_the_sharpness_of_its_start() -> None:
    result, _ = run(**GD_REGRESSION | {"epochs": 40, "optimizer": {"name": "sgd", "lr": 1.5}})
    summary = result.summary
    assert result.status == Ending.DIVERGED and summary["sharpness_final"] is None
    assert 2 / summary["sharpness_initial"] < 1.5  # lr = 1.5 was beyond GD's stable range


def test_without_a_stop_rule_steps_carry_no_update_norm() -> None:
    result, recorder = run(**GD_REGRESSION | {"epochs": 5}, stop={"grad_norm": 0, "step_norm": 0})
    assert result.status == Ending.FINISHED and result.summary["converged_at_step"] is None
    assert all("step_norm" not in s for s in recorder.records("steps"))


def test_cancel_between_batches() -> None:
    calls = iter(range(1000))
    result, recorder = run(cancelled=lambda: next(calls) >= 5, epochs=10)
    assert result.status == Ending.CANCELLED and len(recorder.records("steps")) == 5


def test_the_global_rng_is_left_alone_and_runs_repeat() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, _ = run()
    assert torch.equal(torch.get_rng_state(), before)
    b, _ = run()
    c, _ = run(seed=1)
    assert a.checkpoints is not None and b.checkpoints is not None and c.checkpoints is not None
    assert torch.equal(a.checkpoints, b.checkpoints)
    assert not torch.equal(a.checkpoints[0], c.checkpoints[0])


def written_out(name: str) -> torch.nn.Sequential:
    """The models of the docstring for 64 features and 10 classes, written layer by layer
    (their constructors initialise them from the global RNG, as torch does)."""
    nn = torch.nn
    if name == "mlp":  # hidden [16, 8]
        return nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 10))
    if name == "cnn":  # hidden [4, 8]: 8×8 → 4×4 → 2×2 pixels
        return nn.Sequential(nn.Unflatten(1, (1, 8, 8)),
                             nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(8 * 2 * 2, 10))
    assert name == "logistic"
    return nn.Sequential(nn.Linear(64, 10))


@pytest.mark.parametrize(("name", "hidden"), [("mlp", [16, 8]), ("cnn", [4, 8]), ("logistic", [])])
def test_initialisation_is_torchs_default_drawn_from_the_runs_generator(name: str, hidden: list[int]) -> None:
    shape = datasets.Shape(100, 64, 10)
    ours = models.build(name, hidden, "relu", shape, torch.Generator().manual_seed(7))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        torchs = written_out(name)  # reset_parameters, global RNG
    assert repr(ours) == repr(torchs)  # the same layers, in the same order
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in torchs.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), torchs.parameters(), strict=True))
    x = torch.randn(5, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), torchs(x), rtol=0, atol=0)


def test_concurrent_runs_with_one_seed_start_from_the_same_weights() -> None:
    """Worker threads train at once: each prepares its model while the others draw too."""
    request = NetworkRun.model_validate(BASE | {"model": {"name": "mlp", "hidden": [64, 64]}})
    barrier = threading.Barrier(8)

    def initial_weights(_: int) -> torch.Tensor:
        barrier.wait()
        weights = [L.weights_of(training.prepare(request, CPU).model) for _ in range(20)]
        return torch.stack(weights)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(initial_weights, range(8)))
    first = results[0][0]
    assert all(torch.equal(r, first.expand_as(r)) for r in results)


# --- schedules and optimizers --------------------------------------------------------------


def lrs_by_epoch(recorder: Recorder) -> dict[int, list[float]]:
    out: dict[int, list[float]] = defaultdict(list)
    for step in recorder.records("steps"):
        out[step["epoch"]].append(step["lr"])
    return dict(out)


def test_epoch_schedules_step_once_per_epoch() -> None:
    result, recorder = run(schedule={"name": "exponential", "gamma": 0.5})
    lrs = lrs_by_epoch(recorder)
    assert lrs == {1: [0.1] * 4, 2: [0.05] * 4, 3: [0.025] * 4}
    assert result.summary["schedule_stepping"] == "epoch"


def test_onecycle_steps_every_batch_over_the_whole_run() -> None:
    result, recorder = run(schedule={"name": "onecycle"}, epochs=4)
    lrs = [s["lr"] for s in recorder.records("steps")]
    assert len(set(lrs)) == len(lrs) == 16 and max(lrs) == pytest.approx(0.1, rel=1e-2)
    assert result.summary["schedule_stepping"] == "batch" and result.status == Ending.FINISHED


def test_plateau_steps_with_the_validation_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    # epoch 1's loss sets the scheduler's best; epoch 2 does not improve on it: reduce
    monkeypatch.setattr(training, "evaluate", ScriptedEvaluation([1.0, 1.0, 1.0, 1.0, 1.0]))
    _, recorder = run(schedule={"name": "plateau", "patience": 0, "factor": 0.5}, epochs=4)
    assert {e: lr[0] for e, lr in lrs_by_epoch(recorder).items()} == {1: 0.1, 2: 0.1, 3: 0.05, 4: 0.025}


def test_lbfgs_runs_with_a_closure() -> None:
    result, recorder = run(optimizer={"name": "lbfgs", "lr": 1.0, "max_iter": 5}, batch_size=5000)
    assert result.status == Ending.FINISHED and len(recorder.records("steps")) == 3
    epochs = recorder.records("epoch")
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]


# --- boundary, landscape, other models -----------------------------------------------------


def test_boundary_snapshots_for_two_dimensional_data() -> None:
    _, recorder = run(epochs=4, boundary_every=2)
    snapshots = recorder.records("boundary")
    assert [(s["epoch"], s["final"]) for s in snapshots] == [(0, False), (2, False), (4, False), (4, True)]
    first = snapshots[0]
    assert len(first["z"]) == len(first["y"]) and len(first["z"][0]) == len(first["x"])
    assert all(0 <= v <= 1 for row in first["z"] for v in row) and first["z_kind"] == "probability"
    assert len(first["points"]["x0"]) == 50 and "points" not in snapshots[1]


def test_digits_cnn_has_no_boundary_and_a_landscape() -> None:
    result, recorder = run(dataset={"name": "digits", "n_samples": 200}, model={"name": "cnn", "hidden": [4]},
                           epochs=2, batch_size=32, landscape={"directions": "random", "resolution": 5,
                                                              "eval_samples": 50})
    assert result.status == Ending.FINISHED and not recorder.records("boundary")
    assert result.landscape is not None and result.landscape["eval_samples"] == 50
    assert result.summary["n_classes"] == 10


def test_landscape_result_and_export() -> None:
    result, recorder = run(epochs=4, landscape={"resolution": 7, "resolution_y": 5, "eval_samples": 25})
    report = result.landscape
    assert report is not None and result.export is not None
    json.dumps(report)
    assert len(report["loss"]) == 5 and len(report["loss"][0]) == 7 and report["eval_samples"] == 25
    assert len(report["trajectory"]) == 5 and report["trajectory"][-1] == [0.0, 0.0]
    assert report["loss"][2][3] == pytest.approx(report["final_loss"], rel=1e-6)
    frames = recorder.records("landscape")
    assert frames[0]["stage"] == "preview" and frames[-1]["stage"] == "done"
    export = torch.load(io.BytesIO(result.export), weights_only=True)
    assert set(export) >= {"weights", "directions", "a", "b", "loss"} and export["loss"].shape == (5, 7)
    assert recorder.order.index("landscape") > max(i for i, k in enumerate(recorder.order) if k == "steps")


@pytest.mark.parametrize(
    ("dataset", "model", "kind"),
    [
        ({"name": "blobs", "n_samples": 60}, {"name": "logistic"}, "class"),
        ({"name": "linear_regression", "n_samples": 60}, {"name": "linear"}, "value"),
        ({"name": "csv", "csv": "".join(f"{100 + i},{-5 * i},{i % 2}\n" for i in range(40))},
         {"name": "mlp", "hidden": [4]}, "probability"),
    ],
)
def test_boundary_grid_covers_the_samples_as_the_model_sees_them(
    dataset: dict[str, Any], model: dict[str, Any], kind: str
) -> None:
    _, recorder = run(dataset=dataset, model=model, epochs=1)
    snapshot = recorder.records("boundary")[0]
    assert snapshot["z_kind"] == kind
    points = snapshot["points"]
    assert min(snapshot["x"]) <= min(points["x0"]) and max(points["x0"]) <= max(snapshot["x"])
    assert min(snapshot["y"]) <= min(points["x1"]) and max(points["x1"]) <= max(snapshot["y"])
    if dataset["name"] == "csv":  # standardised with the training split's statistics
        assert max(abs(v) for v in points["x0"]) < 5
