"""Runs through a real server: create, read, steps as JSON / CSV / NDJSON, list, cancel;
unstored trajectories, curvature and sweeps; trajectories checked against plain torch.optim."""

import csv
import io
import itertools
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import torch

from tests.conftest import (
    cancel_run,
    create_run,
    finished_run,
    get_run,
    strict_json,
    wait_for_status,
    wait_steps,
    wait_until_steps,
)

STEP_FIELDS = {"step", "params", "loss", "grad", "lr"}
STATUSES = {"queued", "running", "converged", "finished", "early_stopped", "diverged", "cancelled",
            "failed"}


def flat(value: Any) -> list[float]:
    """Nested lists of numbers, flattened (pytest.approx compares flat sequences only)."""
    if isinstance(value, list | tuple):
        return [x for inner in value for x in flat(inner)]
    return [value]


def trajectory(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/trajectories", json=body)
    assert response.status_code == 200, response.text
    assert "NaN" not in response.text and "Infinity" not in response.text
    result: dict[str, Any] = strict_json(response.text)
    return result


# --- the oracle: the same run as a user's own torch.optim loop --------------------------------

Loss = Callable[[torch.Tensor], torch.Tensor]


def rosenbrock(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def ravine_rotated(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    u, v = (x + y) / math.sqrt(2), (x - y) / math.sqrt(2)
    return 0.5 * (u**2 + 50 * v**2)


def himmelblau(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def torch_loop(
    f: Loss,
    start: list[float],
    optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
) -> list[dict[str, Any]]:
    """Step k: the point after k optimizer.step() calls, its loss and gradient, and the lr of
    the step that led there (step 0: the first step's lr)."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = optimizer([p])
    sched = scheduler(opt) if scheduler is not None else None

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = f(p).sum()
        loss.backward()
        return loss

    records = []
    lr = opt.param_groups[0]["lr"]
    for k in range(steps + 1):
        loss = closure()
        assert p.grad is not None
        records.append({"step": k, "params": p.detach().tolist(), "loss": loss.item(),
                        "grad": p.grad.tolist(), "lr": lr})
        if k == steps:
            break
        lr = opt.param_groups[0]["lr"]
        opt.step(closure)
        if sched is not None:
            sched.step()
    return records


ORACLE_CASES = [
    pytest.param(
        {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}, "start": [-1.5, 2.0],
         "steps": 500},
        rosenbrock, lambda ps: torch.optim.Adam(ps, lr=0.01), None,
        id="adam-rosenbrock",
    ),
    pytest.param(
        {"surface": "ravine_rotated",
         "optimizer": {"name": "sgd", "lr": 0.02, "momentum": 0.9, "nesterov": True},
         "schedule": {"name": "step", "step_size": 40, "gamma": 0.5},
         "start": [-8.0, 3.0], "steps": 300},
        ravine_rotated,
        lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.9, nesterov=True),
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5),
        id="sgd-nesterov-steplr-ravine",
    ),
    pytest.param(
        {"surface": "himmelblau",
         "optimizer": {"name": "rmsprop", "lr": 0.05, "centered": True, "momentum": 0.5},
         "schedule": {"name": "cosine"}, "start": [-0.3, -0.9], "steps": 200},
        himmelblau,
        lambda ps: torch.optim.RMSprop(ps, lr=0.05, centered=True, momentum=0.5),
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=200),
        id="rmsprop-cosine-himmelblau",
    ),
    pytest.param(
        {"surface": "rosenbrock",
         "optimizer": {"name": "lbfgs", "lr": 1, "line_search_fn": "strong_wolfe"},
         "start": [-1.5, 2.0], "steps": 12},
        rosenbrock,
        lambda ps: torch.optim.LBFGS(ps, lr=1, line_search_fn="strong_wolfe"),
        None,
        id="lbfgs-strong-wolfe-rosenbrock",
    ),
]


@pytest.mark.parametrize(("body", "f", "optimizer", "scheduler"), ORACLE_CASES)
def test_run_is_the_plain_torch_optim_loop(
    client: httpx.Client, body: dict[str, Any], f: Loss, optimizer: Any, scheduler: Any
) -> None:
    body = body | {"stop": {"grad_norm": 0}}  # every step, whatever the gradient
    run, steps = finished_run(client, body)
    assert run["status"] == "finished"
    expected = torch_loop(f, body["start"], optimizer, body["steps"], scheduler)
    assert len(steps) == len(expected) == body["steps"] + 1
    for got, want in zip(steps, expected, strict=True):
        assert got["step"] == want["step"]
        assert got["params"] == pytest.approx(want["params"], rel=1e-9, abs=1e-9), got["step"]
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-9, abs=1e-9), got["step"]
        assert got["grad"] == pytest.approx(want["grad"], rel=1e-9, abs=1e-9), got["step"]
        assert got["lr"] == pytest.approx(want["lr"], rel=1e-12), got["step"]


# --- creating and reading runs ---------------------------------------------------------------

ADAM_ROSENBROCK = {
    "kind": "surface", "surface": "rosenbrock",
    "optimizer": {"name": "adam", "lr": 0.01, "betas": [0.9, 0.999]},
    "schedule": {"name": "constant"}, "start": [-1.5, 2.0], "steps": 500,
    "stop": {"grad_norm": 1e-8, "step_norm": 1e-10}, "gradient_noise": 0.0, "seed": 0,
}


def test_create_answers_201_with_the_run_object(client: httpx.Client) -> None:
    response = client.post("/api/runs", json=ADAM_ROSENBROCK)
    assert response.status_code == 201
    run = strict_json(response.text)
    assert {"id", "kind", "status", "config", "created_at"} <= run.keys()
    assert run["kind"] == "surface" and run["status"] in STATUSES
    assert isinstance(run["id"], str) and run["id"]
    config = run["config"]
    assert config["surface"] == "rosenbrock" and config["steps"] == 500
    assert config["optimizer"]["name"] == "adam" and config["optimizer"]["lr"] == 0.01
    assert config["optimizer"]["eps"] == 1e-8  # defaults filled in, as torch would use them
    assert config["start"] == [-1.5, 2.0]

    steps = wait_steps(client, run["id"])
    ended = get_run(client, run["id"])
    assert ended["id"] == run["id"] and ended["created_at"] == run["created_at"]
    assert ended["status"] == "finished"
    summary = ended["summary"]
    assert summary["stop_reason"] == "budget" and summary["steps"] == 500
    assert len(steps) == 501 and [s["step"] for s in steps] == list(range(501))
    assert steps[0]["params"] == [-1.5, 2.0]
    for s in steps:
        assert s.keys() >= STEP_FIELDS
        assert len(s["params"]) == 2 and len(s["grad"]) == 2
        assert isinstance(s["loss"], float) and s["lr"] == 0.01
    assert steps[0]["loss"] == pytest.approx(rosenbrock(torch.tensor([-1.5, 2.0])).item())
    assert summary["final_params"] == steps[-1]["params"]
    assert summary["final_loss"] == steps[-1]["loss"]


def test_a_body_without_kind_is_a_surface_run(client: httpx.Client) -> None:
    run = create_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                              "steps": 5})
    assert run["kind"] == "surface"
    steps = wait_steps(client, run["id"])
    assert steps[0]["params"] == [-3.0, 2.0]  # the surface's own start
    assert len(steps) == 6


def test_batched_starts_give_lists_per_start_equal_to_single_runs(client: httpx.Client) -> None:
    starts = [[-1.5, 2.0], [0.0, 0.0], [1.5, 1.5]]
    body = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.02}, "steps": 60,
            "stop": {"grad_norm": 0}}
    run, steps = finished_run(client, body | {"starts": starts})
    assert len(steps) == 61
    for s in steps:
        assert len(s["params"]) == 3 and all(len(p) == 2 for p in s["params"])
        assert len(s["grad"]) == 3 and all(len(g) == 2 for g in s["grad"])
        assert len(s["loss"]) == 3 and isinstance(s["lr"], float)
    assert steps[0]["params"] == starts
    assert run["summary"]["starts"]["status"] == ["finished"] * 3
    for b, start in enumerate(starts):
        single = trajectory(client, body | {"start": start})["steps"]
        assert flat([s["params"][b] for s in steps]) == pytest.approx(
            flat([s["params"] for s in single]), rel=1e-12, abs=1e-12)
        assert [s["loss"][b] for s in steps] == pytest.approx(
            [s["loss"] for s in single], rel=1e-12, abs=1e-12)


def test_record_final_keeps_step_zero_and_each_starts_last_step(client: httpx.Client) -> None:
    # near each of Himmelblau's four minima, plus one start that flies off
    starts = [[3.1, 2.1], [-2.7, 3.0], [-3.7, -3.2], [3.5, -1.9], [50.0, 50.0]]
    run, steps = finished_run(client, {
        "surface": "himmelblau", "optimizer": {"name": "sgd", "lr": 0.01}, "starts": starts,
        "steps": 2000, "stop": {"grad_norm": 1e-6}, "record": "final"})
    assert len(steps) == 2
    first, last = steps
    assert first["step"] == 0 and first["params"] == starts
    per_start = run["summary"]["starts"]
    assert per_start["status"] == ["converged"] * 4 + ["diverged"]
    assert per_start["minimum"] == [0, 1, 2, 3, None]
    assert last["step"] == run["summary"]["steps"] == max(per_start["stop_step"])
    assert per_start["final_params"] == last["params"]
    assert per_start["final_loss"] == last["loss"]
    assert all(math.hypot(*g) < 1e-6 for g in last["grad"][:4])
    assert run["summary"]["counts"] == {"converged": 4, "diverged": 1}
    assert run["status"] == "finished"  # mixed outcomes


def test_record_final_of_one_start(client: httpx.Client) -> None:
    run, steps = finished_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                       "steps": 50, "stop": {"grad_norm": 0}, "record": "final"})
    assert [s["step"] for s in steps] == [0, 50]
    assert steps[1]["params"] == pytest.approx([-3.0 * 0.8**50, 2.0 * 0.8**50], rel=1e-9)
    assert run["summary"]["final_params"] == steps[1]["params"]


# --- formats --------------------------------------------------------------------------------


def csv_rows(client: httpx.Client, run_id: str) -> list[dict[str, str]]:
    response = client.get(f"/api/runs/{run_id}/steps", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_has_a_header_and_one_row_per_step(client: httpx.Client) -> None:
    run, steps = finished_run(client, {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01},
                                       "steps": 40})
    rows = csv_rows(client, run["id"])
    assert len(rows) == len(steps) == 41
    assert {"step", "params_0", "params_1", "loss", "grad_0", "grad_1", "lr"} <= rows[0].keys()
    for row, step in zip(rows, steps, strict=True):
        assert int(row["step"]) == step["step"]
        assert [float(row["params_0"]), float(row["params_1"])] == step["params"]
        assert float(row["loss"]) == step["loss"]
        assert [float(row["grad_0"]), float(row["grad_1"])] == step["grad"]
        assert float(row["lr"]) == step["lr"]


def test_csv_of_a_batched_run_has_one_row_per_step_and_start(client: httpx.Client) -> None:
    starts = [[1.0, 1.0], [-2.0, 0.5], [0.5, -3.0]]
    run, steps = finished_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                       "starts": starts, "steps": 10, "stop": {"grad_norm": 0}})
    rows = csv_rows(client, run["id"])
    assert len(rows) == 11 * 3
    assert {"step", "start", "params_0", "params_1", "loss"} <= rows[0].keys()
    for row in rows:
        k, b = int(row["step"]), int(row["start"])
        assert [float(row["params_0"]), float(row["params_1"])] == steps[k]["params"][b]
        assert float(row["loss"]) == steps[k]["loss"][b]
    assert [(int(r["step"]), int(r["start"])) for r in rows] == [(k, b) for k in range(11)
                                                                 for b in range(3)]


SQRT_BLOWUP = {  # one SGD step jumps to x < 0, where √x is NaN
    "surface": {"expression": "sqrt(x) + y^2", "domain": {"x": [0, 4], "y": [-2, 2]}},
    "optimizer": {"name": "sgd", "lr": 1.0}, "start": [0.01, 1.0], "steps": 10,
}


def test_non_finite_numbers_are_null_in_json_and_empty_in_csv(client: httpx.Client) -> None:
    run, _ = finished_run(client, SQRT_BLOWUP)
    assert run["status"] == "diverged"
    assert run["summary"]["message"] == "diverged at step 1"
    response = client.get(f"/api/runs/{run['id']}/steps")
    assert "NaN" not in response.text and "Infinity" not in response.text
    steps = strict_json(response.text)["steps"]
    assert len(steps) == 2
    assert steps[1]["params"] == pytest.approx([-4.99, -1.0])
    assert steps[1]["loss"] is None and steps[1]["grad"][0] is None
    rows = csv_rows(client, run["id"])
    assert len(rows) == 2
    assert rows[1]["loss"] == "" and rows[1]["grad_0"] == ""
    assert float(rows[1]["grad_1"]) == -2.0
    assert "nan" not in client.get(f"/api/runs/{run['id']}/steps?format=csv").text.lower()


def test_ndjson_is_one_step_object_per_line(client: httpx.Client) -> None:
    run, steps = finished_run(client, SQRT_BLOWUP | {"surface": "booth", "start": [0.0, 0.0],
                                                     "optimizer": {"name": "adam", "lr": 0.1},
                                                     "steps": 30})
    response = client.get(f"/api/runs/{run['id']}/steps", params={"format": "ndjson"})
    assert response.status_code == 200
    assert "ndjson" in response.headers["content-type"]
    lines = response.text.splitlines()
    assert len(lines) == len(steps) == 31
    assert [strict_json(line) for line in lines] == steps


def test_unknown_steps_format_is_422(client: httpx.Client) -> None:
    run, _ = finished_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                   "steps": 2})
    assert client.get(f"/api/runs/{run['id']}/steps", params={"format": "xml"}).status_code == 422


# --- divergence and stop rules ----------------------------------------------------------------


def test_sgd_with_too_large_lr_diverges_as_a_status_not_an_error(client: httpx.Client) -> None:
    response = client.post("/api/runs", json={"surface": "quadratic",
                                              "optimizer": {"name": "sgd", "lr": 1.5}, "steps": 100})
    assert response.status_code == 201
    run_id = strict_json(response.text)["id"]
    steps = wait_steps(client, run_id)
    response = client.get(f"/api/runs/{run_id}")
    assert response.status_code == 200 and "NaN" not in response.text
    run = strict_json(response.text)
    assert run["status"] == "diverged"
    n = run["summary"]["stop_step"]
    assert run["summary"]["message"] == f"diverged at step {n}"
    assert run["summary"]["stop_reason"] == "diverged"
    assert len(steps) == n + 1 < 101
    # GD on x² + y² with η = 1.5: w_k = (−2)^k w_0
    for s in steps:
        assert s["params"] == pytest.approx([-3.0 * (-2) ** s["step"], 2.0 * (-2) ** s["step"]])


def test_grad_norm_rule_converges_at_the_first_step_below(client: httpx.Client) -> None:
    run, steps = finished_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                       "steps": 1000, "stop": {"grad_norm": 1e-3}})
    summary = run["summary"]
    assert run["status"] == "converged" and summary["stop_reason"] == "grad_norm"
    k = summary["stop_step"]
    assert summary["message"] == f"‖∇L‖ < 0.001 at step {k}"
    assert len(steps) == k + 1 and steps[-1]["step"] == k
    norms = [math.hypot(*s["grad"]) for s in steps]
    assert norms[k] < 1e-3 <= min(norms[:k])


def test_step_norm_rule_converges(client: httpx.Client) -> None:
    run, steps = finished_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                       "steps": 1000, "stop": {"grad_norm": 0, "step_norm": 1e-4}})
    summary = run["summary"]
    assert run["status"] == "converged" and summary["stop_reason"] == "step_norm"
    k = summary["stop_step"]
    assert summary["message"].startswith("‖Δw‖ < 0.0001")
    moves = [math.dist(a["params"], b["params"]) for a, b in itertools.pairwise(steps)]
    assert moves[k - 1] < 1e-4 <= min(moves[: k - 1])


def test_a_zero_threshold_disables_the_rule(client: httpx.Client) -> None:
    # lr = 0.5 lands exactly on the minimum after one step: ‖∇L‖ = 0 from then on
    body = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.5}, "steps": 20}
    run, steps = finished_run(client, body | {"stop": {"grad_norm": 1e-8}})
    assert run["status"] == "converged" and run["summary"]["stop_step"] == 1 and len(steps) == 2
    run, steps = finished_run(client, body | {"stop": {"grad_norm": 0, "step_norm": 0}})
    assert run["status"] == "finished" and run["summary"]["stop_reason"] == "budget"
    assert len(steps) == 21 and steps[-1]["params"] == [0.0, 0.0]


# --- listing and cancelling -----------------------------------------------------------------

QUICK = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3}


def test_list_is_newest_first_with_a_limit(client: httpx.Client) -> None:
    ids = [create_run(client, QUICK)["id"] for _ in range(3)]
    response = client.get("/api/runs", params={"limit": 3})
    assert response.status_code == 200
    runs = strict_json(response.text)["runs"]
    assert [r["id"] for r in runs] == ids[::-1]
    assert all({"id", "kind", "status", "config", "created_at"} <= r.keys() for r in runs)
    assert [r["id"] for r in strict_json(client.get("/api/runs?limit=1").text)["runs"]] == ids[-1:]
    everything = strict_json(client.get("/api/runs").text)["runs"]
    stamps = [r["created_at"] for r in everything]
    assert stamps == sorted(stamps, reverse=True) and len(everything) <= 50
    for limit in (0, 501, "x"):
        assert client.get("/api/runs", params={"limit": limit}).status_code == 422
    for run_id in ids:
        wait_steps(client, run_id)


LONG_RUNS = [  # runs of minutes: they end only because the test cancels them
    pytest.param(  # each step() runs 100 L-BFGS iterations: about 10 ms a step
        {"surface": "rastrigin",
         "optimizer": {"name": "lbfgs", "lr": 0.001, "max_iter": 100, "tolerance_grad": 0,
                       "tolerance_change": 0},
         "steps": 10_000, "stop": {"grad_norm": 0}},
        id="lbfgs",
    ),
    pytest.param(
        {"surface": "rastrigin", "optimizer": {"name": "adam", "lr": 0.001},
         "starts": [[-4.0 + 8.0 * i / 3999, 1.0] for i in range(4000)],
         "steps": 5000, "stop": {"grad_norm": 0}, "record": "final"},
        id="adam-4000-starts",
    ),
]


@pytest.mark.parametrize("body", LONG_RUNS)
def test_delete_stops_a_running_run_between_steps(client: httpx.Client, body: dict[str, Any]) -> None:
    """The run has begun stepping (a step is recorded, or for record=final the run is running);
    DELETE answers with the run (cancelled once the worker stopped, which the answer waits for
    a moment), and the run ends cancelled with the steps done so far, short of its budget."""
    run_id = create_run(client, body)["id"]
    wait_for_status(client, run_id, {"running"})
    if body.get("record") != "final":
        wait_until_steps(client, run_id, lambda steps: len(steps) >= 2)
    response = cancel_run(client, run_id)
    assert response.status_code == 200
    assert strict_json(response.text)["status"] in {"running", "cancelled"}
    run = wait_for_status(client, run_id, {"cancelled", "finished", "failed"})
    assert run["status"] == "cancelled"
    assert run["summary"]["stop_reason"] == "cancelled"
    steps = wait_steps(client, run_id)
    assert 1 <= steps[-1]["step"] < body["steps"]
    assert run["summary"]["steps"] == steps[-1]["step"]
    if body.get("record") != "final":
        assert [s["step"] for s in steps] == list(range(len(steps)))


def test_delete_cancels_a_queued_run_at_once(client: httpx.Client) -> None:
    """Every worker busy with a run that would take minutes: the next run waits in the queue,
    and DELETE ends it there, before any worker picked it up."""
    workers = strict_json(client.get("/api/health").text)["workers"]
    body = LONG_RUNS[0].values[0]
    busy = [create_run(client, body)["id"] for _ in range(workers)]
    try:
        for run_id in busy:
            wait_for_status(client, run_id, {"running"})
        queued = create_run(client, body)["id"]
        assert get_run(client, queued)["status"] == "queued"
        response = cancel_run(client, queued)
        assert response.status_code == 200
        answer = strict_json(response.text)
        assert answer["status"] == "cancelled" and answer["summary"] is None
        assert answer["started_at"] is None
    finally:
        for run_id in busy:
            cancel_run(client, run_id)
    assert get_run(client, queued)["status"] == "cancelled"
    assert wait_steps(client, queued) == []
    for run_id in busy:
        assert wait_for_status(client, run_id, {"cancelled", "finished"})["status"] == "cancelled"


def test_delete_of_an_ended_run_returns_it_unchanged(client: httpx.Client) -> None:
    run, steps = finished_run(client, QUICK)
    response = cancel_run(client, run['id'])
    assert response.status_code == 200
    assert strict_json(response.text) == run
    assert get_run(client, run["id"]) == run
    assert wait_steps(client, run["id"]) == steps


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/runs/{id}"), ("GET", "/api/runs/{id}/steps"),
     ("GET", "/api/runs/{id}/steps?wait=true"), ("GET", "/api/runs/{id}/steps?format=csv"),
     ("GET", "/api/runs/{id}/steps?format=ndjson"), ("DELETE", "/api/runs/{id}")],
)
def test_unknown_run_is_404(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path.format(id="0123456789abcdef"))
    assert response.status_code == 404
    assert "0123456789abcdef" in strict_json(response.text)["detail"]


# --- unstored computations -------------------------------------------------------------------


def test_trajectory_answers_at_once_and_stores_nothing(client: httpx.Client) -> None:
    before = strict_json(client.get("/api/runs", params={"limit": 500}).text)["runs"]
    body = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}, "start": [-1.5, 2.0],
            "steps": 500, "stop": {"grad_norm": 0}}
    result = trajectory(client, body)
    assert result["status"] == "finished"
    assert result["summary"]["stop_reason"] == "budget"
    assert len(result["steps"]) == 501
    after = strict_json(client.get("/api/runs", params={"limit": 500}).text)["runs"]
    assert after == before
    expected = torch_loop(rosenbrock, [-1.5, 2.0], lambda ps: torch.optim.Adam(ps, lr=0.01), 500)
    assert flat([s["params"] for s in result["steps"]]) == pytest.approx(
        flat([s["params"] for s in expected]), rel=1e-9, abs=1e-9)


def test_trajectory_of_many_starts_and_of_a_diverging_run(client: httpx.Client) -> None:
    result = trajectory(client, {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 1.5},
                                 "starts": [[1.0, 1.0], [0.0, 0.0]], "steps": 50})
    assert result["summary"]["starts"]["status"] == ["diverged", "converged"]
    result = trajectory(client, SQRT_BLOWUP)
    assert result["status"] == "diverged" and result["steps"][1]["loss"] is None


def test_curvature_of_rosenbrock_at_its_minimum(client: httpx.Client) -> None:
    response = client.post("/api/curvature", json={"surface": "rosenbrock", "point": [1.0, 1.0]})
    assert response.status_code == 200
    result = strict_json(response.text)
    assert result["gradient"] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert result["hessian"] == [[802.0, -400.0], [-400.0, 200.0]]
    low, high = result["eigenvalues"]
    assert low == pytest.approx(0.3994, abs=1e-4) and high == pytest.approx(1001.6, abs=1e-1)
    assert low == pytest.approx(501 - math.sqrt(501**2 - 400), rel=1e-9)
    assert result["max_stable_lr"] == pytest.approx(2 / high, rel=1e-12)
    hessian = torch.tensor(result["hessian"], dtype=torch.float64)
    for value, vector in zip(result["eigenvalues"], result["eigenvectors"], strict=True):
        v = torch.tensor(vector, dtype=torch.float64)
        torch.testing.assert_close(hessian @ v, value * v)


def test_curvature_on_a_custom_surface_and_a_saddle(client: httpx.Client) -> None:
    response = client.post("/api/curvature", json={
        "surface": {"expression": "x^2 - 3*y^2", "domain": {"x": [-1, 1], "y": [-1, 1]}},
        "point": [0.5, 0.0]})
    assert response.status_code == 200
    result = strict_json(response.text)
    assert result["gradient"] == pytest.approx([1.0, 0.0])
    assert result["eigenvalues"] == pytest.approx([-6.0, 2.0])
    assert result["max_stable_lr"] == pytest.approx(1.0)


def test_sweep_marks_too_large_learning_rates_diverged(client: httpx.Client) -> None:
    response = client.post("/api/sweeps", json={
        "run": {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 100},
        "x": {"param": "lr", "values": [0.01, 0.1, 0.5, 2.0]},
        "y": {"param": "momentum", "values": [0.0, 0.5]}})
    assert response.status_code == 200
    assert "NaN" not in response.text
    result = strict_json(response.text)
    assert result["x"] == [0.01, 0.1, 0.5, 2.0] and result["y"] == [0.0, 0.5]
    for name in ("final_loss", "steps", "status"):
        assert len(result[name]) == 2 and all(len(row) == 4 for row in result[name])
    assert result["status"][0] == ["finished", "converged", "converged", "diverged"]
    # heavy ball on x² + y² (h = 2) is stable for η·h < 2(1 + μ): η = 2 is not, for μ ≤ 0.5
    assert result["status"][1][3] == "diverged"
    assert result["steps"][0][2] == 1  # lr = 0.5 lands on the minimum in one step
    # each cell is the single run with that lr and momentum
    single = trajectory(client, {"surface": "quadratic", "steps": 100,
                                 "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.5}})
    assert result["steps"][1][1] == single["summary"]["stop_step"]
    assert result["final_loss"][1][1] == pytest.approx(single["summary"]["final_loss"], rel=1e-9)
