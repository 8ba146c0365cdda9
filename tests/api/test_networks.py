"""The networks lab through a real server: catalogues, dataset preview, a network run's
stream, summary, landscape and export, and runs compared on one plane and one line."""

import io
from typing import Any

import httpx
import pytest
import torch
from sklearn.decomposition import PCA
from websockets.sync.client import connect

from backend.networks import models, training
from backend.networks.spec import NetworkRun
from tests.api.test_stream import read_all, stream_url
from tests.conftest import KEYS, Server, create_run, get_run, wait_for_status

MOONS = {"name": "moons", "n_samples": 200, "noise": 0.2}
MLP = {"name": "mlp", "hidden": [8], "activation": "tanh"}


def network(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "network", "dataset": MOONS, "model": MLP,
        "optimizer": {"name": "sgd", "lr": 0.2, "momentum": 0.9},
        "batch_size": 32, "epochs": 8, "split": {"val": 0.2, "test": 0.2}, "seed": 3,
    }
    return body | overrides


ENDED = {"finished", "early_stopped", "converged", "diverged", "failed"}


def ended(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    run = create_run(client, body)
    return wait_for_status(client, run["id"], ENDED)


@pytest.fixture(scope="module")
def with_landscape(server: Server) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return ended(client, network(landscape={"directions": "pca", "resolution": 11, "resolution_y": 9,
                                            "eval_samples": 100}))


def test_catalogues_list_every_dataset_and_model(client: httpx.Client) -> None:
    datasets = {d["id"]: d for d in client.get("/api/datasets").json()}
    assert set(datasets) == {"linear_regression", "moons", "circles", "spirals", "xor", "blobs", "digits",
                             "csv"}
    assert datasets["digits"]["n_features"] == 64 and datasets["digits"]["n_classes"] == 10
    assert datasets["linear_regression"]["task"] == "regression"
    models = {m["id"]: m for m in client.get("/api/models").json()}
    assert set(models) == {"linear", "logistic", "mlp", "cnn"}
    assert models["cnn"]["datasets"] == ["digits"]
    assert "tanh" in models["mlp"]["activations"] and models["mlp"]["max_layers"] == 6
    assert (models["linear"]["max_layers"], models["linear"]["activations"]) == (0, [])


def test_preview_shows_the_split_samples_as_the_model_sees_them(client: httpx.Client) -> None:
    answer = client.post("/api/datasets/preview", json={"dataset": MOONS, "split": {"val": 0.25, "test": 0.1},
                                                        "seed": 3})
    assert answer.status_code == 200, answer.text
    p = answer.json()
    assert (p["n_train"], p["n_val"], p["n_test"]) == (130, 50, 20)
    points = p["points"]
    assert len(points["x0"]) == len(points["x1"]) == len(points["label"]) == 200
    assert [points["split"].count(s) for s in ("train", "val", "test")] == [130, 50, 20]
    assert set(points["label"]) == {0, 1} and p["images"] is None
    # The same seed gives the same data a run trains on.
    prep = training.prepare(NetworkRun.model_validate(network(split={"val": 0.25, "test": 0.1})),
                            torch.device("cpu"))
    assert points["x0"][:130] == pytest.approx(prep.train.x[:, 0].tolist())


def test_preview_of_digits_is_a_gallery_and_of_a_csv_its_table(client: httpx.Client) -> None:
    digits = client.post("/api/datasets/preview", json={"dataset": {"name": "digits"}}).json()
    assert digits["points"] is None and digits["n_samples"] == 1797
    assert len(digits["images"]) == 40 and all(len(i["pixels"]) == 64 for i in digits["images"])
    assert all(0 <= v <= 1 for i in digits["images"] for v in i["pixels"])
    text = "a,b,label\n" + "\n".join(f"{i},{i % 7},{i % 2}" for i in range(30))
    table = client.post("/api/datasets/preview", json={"dataset": {"name": "csv", "csv": text}}).json()
    assert table["n_samples"] == 30 and table["feature_names"] == ["a", "b"] and table["n_classes"] == 2
    bad = client.post("/api/datasets/preview", json={"dataset": {"name": "csv", "csv": "a,b\n1,x\n"}})
    assert bad.status_code == 422 and "csv" in bad.text


def test_a_network_run_streams_steps_epochs_boundaries_then_its_summary(client: httpx.Client,
                                                                       server: Server) -> None:
    run = create_run(client, network(early_stopping={"patience": 2}))
    assert run["kind"] == "network" and run["config"]["epochs"] == 8
    with connect(stream_url(server, run["id"]), max_size=None, open_timeout=10) as ws:
        seen = read_all(ws)
    assert seen.close_code == 1000
    by_type: dict[str, list[dict[str, Any]]] = {}
    for m in seen.messages:
        by_type.setdefault(m["type"], []).append(m)
    end = seen.end
    summary = end["summary"]
    assert end["type"] == "end" and end["status"] in ("finished", "early_stopped")
    epochs = by_type["epoch"]
    assert [e["epoch"] for e in epochs] == list(range(summary["epochs_run"] + 1))
    assert {"train_loss", "val_loss", "val_accuracy", "train_accuracy", "lr"} <= set(epochs[0])
    steps = seen.steps
    assert [s["step"] for s in steps] == list(range(1, summary["steps"] + 1))
    assert summary["steps"] == summary["epochs_run"] * summary["batches_per_epoch"]
    assert {s["epoch"] for s in steps} == set(range(1, summary["epochs_run"] + 1))
    boundaries = by_type["boundary"]
    assert "points" in boundaries[0] and boundaries[-1]["final"] is True
    assert len(boundaries[-1]["z"]) == len(boundaries[-1]["y"]) and len(boundaries[-1]["z"][0]) == len(
        boundaries[-1]["x"])
    assert summary["test_evaluations"] == 1 and 0 <= summary["test_accuracy"] <= 1
    stored = get_run(client, run["id"])
    assert stored["summary"] == summary and stored["status"] == end["status"]
    assert client.get(f"/api/runs/{run['id']}/steps").json()["steps"] == steps
    csv = client.get(f"/api/runs/{run['id']}/steps", params={"format": "csv"}).text.splitlines()
    assert csv[0] == "step,epoch,loss,lr,grad_norm" and len(csv) == len(steps) + 1
    # A late watcher gets the same records from the store (steps may be grouped into other messages).
    with connect(stream_url(server, run["id"]), max_size=None, open_timeout=10) as ws:
        again = read_all(ws)
    assert records(again.messages) == records(seen.messages)


def records(messages: list[dict[str, Any]]) -> list[Any]:
    """A stream's content in order, one item per step, whatever messages the steps came in."""
    out: list[Any] = []
    for m in messages:
        if m["type"] == "steps":
            out.extend(("step", s) for s in m["steps"])
        elif m["type"] != "landscape":
            out.append(m)
    return out


def test_the_landscape_is_centred_on_the_final_weights(client: httpx.Client,
                                                       with_landscape: dict[str, Any]) -> None:
    run = with_landscape
    assert run["status"] == "finished"
    answer = client.get(f"/api/runs/{run['id']}/landscape")
    assert answer.status_code == 200
    land = answer.json()
    assert land["directions"] == "pca" and len(land["a"]) == 11 and len(land["b"]) == 9
    assert len(land["loss"]) == 9 and all(len(row) == 11 for row in land["loss"])
    assert land["loss"][4][5] == pytest.approx(land["final_loss"], rel=1e-5)
    assert land["trajectory"][-1] == pytest.approx([0, 0], abs=1e-6)
    assert land["checkpoint_epochs"] == list(range(9)) and land["eval_samples"] == 100
    assert len(land["interpolation"]["alpha"]) == 41


def test_the_export_rebuilds_any_grid_point(client: httpx.Client, with_landscape: dict[str, Any]) -> None:
    answer = client.get(f"/api/runs/{with_landscape['id']}/landscape/export")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/octet-stream"
    export = torch.load(io.BytesIO(answer.content), weights_only=True)
    request = NetworkRun.model_validate(with_landscape["config"])
    prep = training.prepare(request, torch.device("cpu"))
    names = [n for n, _ in prep.model.named_parameters()]
    assert list(export["weights"]) == names and [list(d) for d in export["directions"]] == [names, names]
    # A notebook's way: w = w* + a·u + b·v into the model, forward the evaluation subset.
    data = training.eval_subset(prep, 100, training.generator(request.seed, "landscape"))
    iy, ix = 2, 7
    a, b = float(export["a"][ix]), float(export["b"][iy])
    state = {n: export["weights"][n] + a * export["directions"][0][n] + b * export["directions"][1][n]
             for n in names}
    prep.model.load_state_dict(state)
    prep.model.eval()
    with torch.no_grad():
        loss = models.loss_function(True)(prep.model(data.x), data.y)
    assert float(loss) == pytest.approx(float(export["loss"][iy][ix]), rel=1e-4)


def test_a_run_without_landscape_says_why(client: httpx.Client) -> None:
    run = ended(client, network(epochs=2))
    answer = client.get(f"/api/runs/{run['id']}/landscape")
    assert answer.status_code == 404 and "no `landscape`" in answer.json()["detail"]
    surface = create_run(client, {"surface": "quadratic", "optimizer": {"name": "sgd"}, "steps": 5})
    answer = client.get(f"/api/runs/{surface['id']}/landscape/export")
    assert answer.status_code == 404 and "not a network run" in answer.json()["detail"]
    assert client.get("/api/runs/nope/landscape").status_code == 404


def test_runs_from_one_start_share_a_plane(client: httpx.Client) -> None:
    # Started together, so they train at once on the server's worker threads.
    adam_body = network(optimizer={"name": "adam", "lr": 0.02})
    started = [create_run(client, network()), create_run(client, adam_body)]
    sgd, adam = (wait_for_status(client, run["id"], {"finished", "early_stopped"}) for run in started)
    answer = client.post("/api/landscapes/compare", json={"runs": [sgd["id"], adam["id"]], "resolution": 9,
                                                          "eval_samples": 50})
    assert answer.status_code == 200, answer.text
    plane = answer.json()
    assert len(plane["loss"]) == 9 and all(len(row) == 9 for row in plane["loss"])
    assert [r["id"] for r in plane["runs"]] == [sgd["id"], adam["id"]]
    for r in plane["runs"]:
        assert r["trajectory"][0] == pytest.approx([0, 0], abs=1e-6)  # the shared start is the origin
        assert len(r["trajectory"]) == len(r["epochs"]) == len(r["residual"]) == len(r["true_loss"])
    assert plane["runs"][0]["trajectory"][-1] != plane["runs"][1]["trajectory"][-1]
    # The plane is the top two principal components of both runs' stored weights (each epoch's
    # checkpoint, then the final weights): train the two runs again here (they are seeded) and
    # ask sklearn for the shares of the variance.
    checkpoints = []
    for body in (network(), adam_body):
        result = training.train(NetworkRun.model_validate(body), torch.device("cpu"), lambda *_: None,
                                lambda: False)
        assert result.checkpoints is not None and result.final_weights is not None
        checkpoints += [result.checkpoints, result.final_weights.unsqueeze(0)]
    pca = PCA(n_components=2).fit(torch.cat(checkpoints).double().numpy())
    assert plane["explained_variance"] == pytest.approx(pca.explained_variance_ratio_.tolist(), rel=1e-3)
    # Both runs start on the same weights: their first true loss is the same.
    assert plane["runs"][0]["true_loss"][0] == pytest.approx(plane["runs"][1]["true_loss"][0])

    line = client.post("/api/landscapes/interpolate", json={"from": sgd["id"], "to": adam["id"],
                                                            "points": 41, "eval_samples": 50})
    assert line.status_code == 200, line.text
    forward = line.json()
    back = client.post("/api/landscapes/interpolate", json={"from": adam["id"], "to": sgd["id"],
                                                            "eval_samples": 50}).json()
    assert len(forward["alpha"]) == 41 and forward["alpha"][10] == 0 and forward["alpha"][30] == 1
    assert forward["loss"][10] == pytest.approx(back["loss"][30], rel=1e-5)
    assert forward["loss"][30] == pytest.approx(back["loss"][10], rel=1e-5)

    other_seed = ended(client, network(seed=4, epochs=2))
    refused = client.post("/api/landscapes/compare", json={"runs": [sgd["id"], other_seed["id"]]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "runs", "1"] and "seed" in refused.text
    refused = client.post("/api/landscapes/interpolate", json={"from": sgd["id"], "to": "nope"})
    assert refused.status_code == 422 and "no run 'nope'" in refused.text
    assert client.post("/api/landscapes/compare", json={"runs": [sgd["id"]]}).status_code == 422


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"model": {"name": "mlp", "hidden": [0]}}, "greater than or equal to 1"),
        ({"model": {"name": "cnn"}}, "digits"),
        ({"optimizer": {"name": "sgd", "lr": -1}}, "lr"),
        ({"dataset": {"name": "moons", "n_samples": 10**7}}, "less than or equal to"),
        ({"epochs": 10**6}, "less than or equal to 500"),
        ({"early_stopping": {"patience": 2}, "split": {"val": 0, "test": 0.2}}, "validation split"),
        ({"stop": {"step_norm": -1}}, "greater than or equal to 0"),
        ({"stop": {"grad_norm": 1e-3, "delta": 1}}, "Extra inputs"),
    ],
)
def test_bad_network_requests_get_a_422_that_says_what(client: httpx.Client, change: dict[str, Any],
                                                       words: str) -> None:
    answer = client.post("/api/runs", json=network(**change))
    assert answer.status_code == 422, answer.text
    assert words in answer.text


def test_gradient_descent_converges_by_the_step_rule_and_streams_the_update_norms(
    client: httpx.Client,
) -> None:
    body = network(dataset={"name": "linear_regression"}, model={"name": "linear"}, batch_size=1000,
                   epochs=300, optimizer={"name": "sgd", "lr": 0.1}, stop={"step_norm": 1e-3})
    run = ended(client, body)
    summary = run["summary"]
    assert run["status"] == "converged" and summary["converged_by"] == "step_norm"
    steps = client.get(f"/api/runs/{run['id']}/steps").json()["steps"]
    assert len(steps) == summary["converged_at_step"] == summary["steps"] < 300
    assert steps[-1]["step_norm"] < 1e-3 <= steps[-2]["step_norm"]
    assert summary["test_evaluations"] == 1


def test_an_instant_answer_is_only_for_surface_runs(client: httpx.Client) -> None:
    answer = client.post("/api/trajectories", json=network())
    assert answer.status_code == 422 and "POST /api/runs" in answer.text


def test_limits_publish_the_network_bounds_the_server_enforces(client: httpx.Client) -> None:
    bounds = client.get("/api/limits").json()["network"]
    assert bounds["max_epochs"] == 500 and bounds["max_landscape_resolution"] == 101
    assert client.post("/api/runs", json=network(epochs=bounds["max_epochs"] + 1)).status_code == 422
    too_fine = network(landscape={"resolution": bounds["max_landscape_resolution"] + 1})
    assert client.post("/api/runs", json=too_fine).status_code == 422
    too_long = network(dataset={"name": "digits"}, model={"name": "mlp", "hidden": [512] * 6}, epochs=500)
    refused = client.post("/api/runs", json=too_long)
    assert refused.status_code == 422 and f"{bounds['max_work']:,}" in refused.text


def test_comparisons_of_big_models_are_bounded(client: httpx.Client) -> None:
    wide = {"dataset": {"name": "moons", "n_samples": 5000},
            "model": {"name": "mlp", "hidden": [512, 512, 512]}, "batch_size": 5000, "epochs": 1}
    first, second = ended(client, network(**wide)), ended(client, network(**wide, shuffle=False))
    assert first["summary"]["parameters"] > 500_000
    refused = client.post("/api/landscapes/compare", json={"runs": [first["id"], second["id"]],
                                                           "eval_samples": 2000})
    assert refused.status_code == 422 and "exceeds" in refused.text and "resolution" in refused.text
    refused = client.post("/api/landscapes/interpolate", json={"from": first["id"], "to": second["id"],
                                                               "points": 201, "eval_samples": 2000})
    assert refused.status_code == 422 and "points" in refused.text
    small = client.post("/api/landscapes/interpolate", json={"from": first["id"], "to": second["id"],
                                                             "points": 5, "eval_samples": 20})
    assert small.status_code == 200 and len(small.json()["loss"]) == 5


def owner(run: dict[str, Any]) -> dict[str, str]:
    """The header that lets this test, which started `run`, change it."""
    return {"X-Run-Key": KEYS[run["id"]]}


def test_a_finished_run_is_surveyed_again_without_training(client: httpx.Client) -> None:
    pca = {"directions": "pca", "resolution": 7, "eval_samples": 60}
    run = ended(client, network(epochs=4, landscape=pca))
    first = client.get(f"/api/runs/{run['id']}/landscape").json()
    random = {"directions": "random", "resolution": 9, "resolution_y": 5, "eval_samples": 60}
    answer = client.post(f"/api/runs/{run['id']}/landscape", json=random, headers=owner(run))
    assert answer.status_code == 200, answer.text
    again = answer.json()
    assert again["directions"] == "random" and len(again["loss"]) == 5 and len(again["loss"][0]) == 9
    # The same final weights on the same evaluation subset: the centre has the same loss.
    assert again["final_loss"] == pytest.approx(first["final_loss"], rel=1e-6)
    assert again["loss"][2][4] == pytest.approx(first["final_loss"], rel=1e-5)
    assert again["checkpoint_epochs"] == first["checkpoint_epochs"]
    assert client.get(f"/api/runs/{run['id']}/landscape").json() == again  # it replaces the run's landscape
    export = torch.load(io.BytesIO(client.get(f"/api/runs/{run['id']}/landscape/export").content),
                        weights_only=True)
    assert export["kind"] == "random" and tuple(export["loss"].shape) == (5, 9)

    plain = ended(client, network(epochs=2))  # trained without a landscape: one can be added
    resurveyed = client.post(f"/api/runs/{plain['id']}/landscape", json={"resolution": 5},
                             headers=owner(plain))
    assert resurveyed.status_code == 200
    assert client.get(f"/api/runs/{plain['id']}/landscape").json()["directions"] == "pca"

    assert client.post("/api/runs/nope/landscape", json={}).status_code == 404
    too_fine = client.post(f"/api/runs/{run['id']}/landscape", json={"resolution": 102}, headers=owner(run))
    assert too_fine.status_code == 422
