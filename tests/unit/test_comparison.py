"""Runs compared after they ended: the stored weights file, the shared-setup check, the
interpolation line and the shared plane, against direct evaluation."""

import pytest
import torch
from sklearn.decomposition import PCA

from backend.networks import comparison, training
from backend.networks import landscape as L
from backend.networks.spec import NetworkRun

CPU = torch.device("cpu")


def request(**overrides: object) -> NetworkRun:
    body = {"kind": "network", "dataset": {"name": "moons", "n_samples": 120},
            "model": {"name": "mlp", "hidden": [6]}, "optimizer": {"name": "sgd", "lr": 0.3},
            "epochs": 4, "seed": 2} | overrides
    return NetworkRun.model_validate(body)


def trained(run: NetworkRun) -> comparison.StoredWeights:
    result = training.train(run, CPU, lambda kind, records: None, lambda: False)
    assert result.checkpoints is not None and result.final_weights is not None
    return comparison.unpack(comparison.pack(result.checkpoints, result.summary["checkpoint_epochs"],
                                             result.final_weights, result.summary["epochs_run"]))


def test_pack_keeps_the_start_and_the_end_and_thins_the_middle(monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoints = torch.arange(50 * 10, dtype=torch.float32).view(50, 10)
    final = torch.full((10,), -1.0)
    stored = comparison.unpack(comparison.pack(checkpoints, list(range(50)), final, 49))
    assert torch.equal(stored.checkpoints[:-1], checkpoints) and torch.equal(stored.checkpoints[-1], final)
    assert stored.epochs == [*range(50), 49]
    monkeypatch.setattr(comparison, "MAX_STORED_FLOATS", 60)  # room for 6 rows of 10
    thin = comparison.unpack(comparison.pack(checkpoints, list(range(50)), final, 49))
    assert len(thin.checkpoints) == 6 and thin.epochs[0] == 0 and thin.epochs[-2:] == [49, 49]
    assert torch.equal(thin.checkpoints[0], checkpoints[0])
    assert torch.equal(thin.checkpoints[-2], checkpoints[-1])
    assert thin.epochs == sorted(thin.epochs)


def test_same_setup_names_what_differs() -> None:
    base = request()
    assert comparison.same_setup(base, request(optimizer={"name": "adam"}, epochs=9)) is None
    assert "seed" in str(comparison.same_setup(base, request(seed=3)))
    assert "model" in str(comparison.same_setup(base, request(model={"name": "mlp", "hidden": [7]})))
    assert "dataset" in str(comparison.same_setup(base, request(dataset={"name": "moons", "n_samples": 121})))


def test_interpolation_ends_are_the_two_runs_losses() -> None:
    sgd, adam = request(), request(optimizer={"name": "adam", "lr": 0.05})
    w_sgd, w_adam = trained(sgd).checkpoints[-1], trained(adam).checkpoints[-1]
    line = comparison.interpolate(sgd, w_sgd, w_adam, 41, 50, CPU)
    assert line["alpha"][10] == 0 and line["alpha"][30] == 1 and line["alpha"][0] == -0.5
    prep = training.prepare(sgd, CPU)
    data = training.eval_subset(prep, 50, training.generator(sgd.seed, "landscape"))
    for weights, at in ((w_sgd, 10), (w_adam, 30), (1.5 * w_adam - 0.5 * w_sgd, 40)):
        L.load_weights(prep.model, weights)
        prep.model.eval()
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(prep.model(data.x), data.y)
        assert line["loss"][at] == pytest.approx(float(loss), rel=1e-5)


def test_compare_draws_each_path_from_the_shared_start_on_one_plane() -> None:
    runs = [request(), request(optimizer={"name": "adam", "lr": 0.05}),
            request(optimizer={"name": "rmsprop"})]
    stored = [trained(r) for r in runs]
    plane = comparison.compare(runs[0], stored, 7, 1.0, 40, CPU)
    assert len(plane["a"]) == len(plane["b"]) == 7 and len(plane["loss"]) == 7
    start_loss = plane["runs"][0]["true_loss"][0]
    for entry, weights in zip(plane["runs"], stored, strict=True):
        assert entry["trajectory"][0] == pytest.approx([0.0, 0.0], abs=1e-9)
        assert entry["epochs"] == weights.epochs and entry["true_loss"][0] == pytest.approx(start_loss)
        reach = [abs(c) for point in entry["trajectory"] for c in point]
        assert max(reach) <= max(abs(plane["a"][0]), abs(plane["b"][0]))  # the grid frames every path
    # The plane is the top two principal components of every checkpoint (sklearn's PCA, which
    # centres the rows): the same shares of the variance, and each path's coordinates are its
    # offsets from the shared start along those components (up to each axis's sign).
    rows = torch.cat([w.checkpoints for w in stored]).double()
    pca = PCA(n_components=2).fit(rows.numpy())
    assert plane["explained_variance"] == pytest.approx(pca.explained_variance_ratio_.tolist(), rel=1e-4)
    components = torch.from_numpy(pca.components_)  # (2, n), orthonormal
    for entry, weights in zip(plane["runs"], stored, strict=True):
        offsets = (weights.checkpoints.double() - rows[0]) @ components.T  # (m, 2)
        got = torch.tensor(entry["trajectory"], dtype=torch.float64)
        torch.testing.assert_close(got.abs(), offsets.abs(), rtol=1e-3, atol=1e-4)
