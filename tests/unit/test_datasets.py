"""Datasets of the networks lab: shapes, balance, seeded determinism, splits, CSV validation."""

from collections import Counter
from typing import Any

import pytest
import torch
from pydantic import ValidationError

from backend.networks import datasets
from backend.networks.spec import DatasetSpec, NetworkRun

GENERATED = ["linear_regression", "moons", "circles", "spirals", "xor", "blobs"]


def load(name: str, n: int | None = 300, noise: float | None = None, csv: str | None = None,
         seed: int = 0) -> datasets.Dataset:
    return datasets.load(name, n, noise, csv, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", [*GENERATED, "digits"])
def test_shapes_and_dtypes(name: str) -> None:
    data = load(name, None)
    info = datasets.DATASETS[name]
    n = 1797 if name == "digits" else info.default_samples
    assert data.x.shape == (n, info.n_features) and data.x.dtype == torch.float32
    assert data.y.shape == (n,)
    if info.n_classes is None:
        assert data.y.dtype == torch.float32 and not data.classification
    else:
        assert data.y.dtype == torch.int64 and set(data.y.tolist()) == set(range(info.n_classes))
    assert torch.isfinite(data.x).all()
    assert data.shape == datasets.shape(name, None, None)


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "xor", "blobs"])
def test_generated_classes_are_balanced(name: str) -> None:
    data = load(name, 301)
    counts = Counter(data.y.tolist()).values()
    assert max(counts) - min(counts) <= 1


def test_digits_are_roughly_balanced_and_scaled() -> None:
    data = load("digits", None)
    counts = Counter(data.y.tolist())
    assert min(counts.values()) >= 170 and max(counts.values()) <= 190
    assert float(data.x.min()) == 0.0 and float(data.x.max()) == 1.0


def test_digits_subset_is_seeded() -> None:
    assert torch.equal(load("digits", 500).x, load("digits", 500).x)
    assert load("digits", 500).x.shape == (500, 64)
    assert not torch.equal(load("digits", 500, seed=1).x, load("digits", 500).x)


@pytest.mark.parametrize("name", GENERATED)
def test_seeded_determinism(name: str) -> None:
    a, b, c = load(name), load(name), load(name, seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


def test_noise_zero_puts_moons_on_their_arcs() -> None:
    data = load("moons", 200, noise=0.0)
    upper = data.x[data.y == 0]
    torch.testing.assert_close(upper.norm(dim=1), torch.ones(100))


def test_linear_regression_follows_the_course_weights() -> None:
    data = load("linear_regression", 5000, noise=0.0)
    torch.testing.assert_close(data.y, data.x @ torch.tensor([2.0, -1.0]), atol=1e-5, rtol=1e-5)


def test_split_sizes_are_disjoint_and_cover() -> None:
    data = load("moons", 1000)
    (train, val, test), scaling = datasets.split(data, 0.2, 0.1, torch.Generator().manual_seed(3))
    assert (len(train), len(val), len(test)) == (700, 200, 100) and scaling == {}
    rows = torch.cat([train.index, val.index, test.index])
    assert sorted(rows.tolist()) == list(range(1000))
    torch.testing.assert_close(train.x, data.x[train.index])


# --- CSV ---------------------------------------------------------------------------------


def table(rows: int = 20, header: bool = True, target: Any = None) -> str:
    lines = ["a,b,label"] if header else []
    for i in range(rows):
        label = target(i) if target else i % 3
        lines.append(f"{i * 0.5},{-i},{label}")
    return "\n".join(lines) + "\n"


def test_csv_classification_with_header() -> None:
    data = load("csv", None, csv=table())
    assert data.x.shape == (20, 2) and data.n_classes == 3 and data.feature_names == ("a", "b")
    assert data.y.tolist()[:4] == [0, 1, 2, 0]


def test_csv_labels_are_mapped_to_indices() -> None:
    data = load("csv", None, csv=table(target=lambda i: [-5, 10][i % 2]))
    assert data.n_classes == 2 and data.class_names == ("-5", "10") and set(data.y.tolist()) == {0, 1}


def test_csv_regression_is_standardised_with_training_statistics() -> None:
    text = table(40, header=False, target=lambda i: i * 1.5 + 0.25)
    data = load("csv", None, csv=text)
    assert data.n_classes is None and data.feature_names == ("x1", "x2")
    (train, _, _), scaling = datasets.split(data, 0.2, 0.2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(train.x.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(train.y.std(correction=0), torch.tensor(1.0), atol=1e-5, rtol=0)
    assert set(scaling) == {"feature_mean", "feature_std", "target_mean", "target_std"}


def csv_error(text: str, n_samples: int | None = None) -> str:
    with pytest.raises(ValidationError) as info:
        DatasetSpec.model_validate({"name": "csv", "csv": text, "n_samples": n_samples})
    return str(info.value)


def test_csv_non_numeric_cell_names_row_and_column() -> None:
    text = table().replace("2.0,-4,1", "2.0,oops,1")
    message = csv_error(text)
    assert "row 6, column 2 ('b')" in message and "'oops'" in message


@pytest.mark.parametrize("cell", ["nan", "inf", ""])
def test_csv_non_finite_or_empty_cells_are_rejected(cell: str) -> None:
    assert "row 4, column 1 ('a')" in csv_error(table().replace("1.0,-2,2", f"{cell},-2,2"))


def test_csv_too_many_rows() -> None:
    assert "5001 data rows exceeds 5000" in csv_error(table(5001, header=False))


def test_csv_too_many_features() -> None:
    row = ",".join(["1"] * 66)
    assert "65 feature columns exceeds 64" in csv_error("\n".join([row] * 20))


@pytest.mark.parametrize("text", ["", "\n\n  \n", "a,b,c\n"])
def test_csv_empty(text: str) -> None:
    assert "empty" in csv_error(text) or "no data rows" in csv_error(text)


def test_csv_ragged_row() -> None:
    assert "row 4 has 2 columns, expected 3" in csv_error(table().replace("1.0,-2,2", "1.0,-2"))


def test_csv_single_target_value_and_too_few_rows() -> None:
    assert "single value" in csv_error(table(target=lambda i: 1))
    assert "at least 10" in csv_error(table(5))


def test_csv_too_large_in_bytes() -> None:
    assert "200000" in csv_error("1,2\n" * 60_000)


def test_csv_n_samples_beyond_the_rows() -> None:
    assert "exceeds the CSV's 20 data rows" in csv_error(table(), n_samples=30)


def test_csv_only_for_name_csv() -> None:
    with pytest.raises(ValidationError, match=r"only for dataset\.name = 'csv'"):
        DatasetSpec.model_validate({"name": "moons", "csv": table()})
    with pytest.raises(ValidationError, match="CSV text is required"):
        DatasetSpec.model_validate({"name": "csv"})


def test_digits_n_samples_beyond_the_set() -> None:
    with pytest.raises(ValidationError, match=r"outside \[10, 1797\]"):
        DatasetSpec.model_validate({"name": "digits", "n_samples": 2000})


# --- the request ---------------------------------------------------------------------------

API_EXAMPLE = {
    "kind": "network",
    "dataset": {"name": "moons", "n_samples": 1000, "noise": 0.2},
    "model": {"name": "mlp", "hidden": [32, 32], "activation": "tanh"},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "batch_size": 32, "epochs": 30, "shuffle": True,
    "split": {"val": 0.2, "test": 0.2},
    "early_stopping": {"patience": 5, "min_delta": 0.0},
    "landscape": {"directions": "pca", "resolution": 41, "span": 1.0},
    "seed": 0,
}


def test_the_api_example_is_accepted() -> None:
    run = NetworkRun.model_validate(API_EXAMPLE)
    plan = run.plan()
    assert (plan.n_train, plan.n_val, plan.n_test) == (600, 200, 200)
    assert plan.batches_per_epoch == 19 and plan.parameters == 2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"name": "cnn"}}, "works on digits only"),
        ({"model": {"name": "linear"}}, "needs a regression dataset"),
        ({"model": {"name": "mlp", "hidden": [600]}}, "less than or equal to 512"),
        ({"model": {"name": "mlp", "hidden": [8] * 7}}, "at most 6"),
        ({"model": {"name": "logistic", "hidden": [8]}}, "must be empty"),
        ({"split": {"val": 0.0, "test": 0.2}}, "early_stopping needs a validation split"),
        ({"epochs": 500, "batch_size": 1}, "optimizer steps"),
        ({"optimizer": {"name": "sgd", "lr": 0.1, "nesterov": True}}, "rejects this"),
        ({"landscape": {"resolution": 2}}, "greater than or equal to 3"),
        ({"landscape": {"span": 0}}, "greater than 0"),
        ({"batch_size": 0}, "greater than or equal to 1"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_invalid_requests_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NetworkRun.model_validate(API_EXAMPLE | change)


def test_linear_regression_needs_linear_not_logistic() -> None:
    body = API_EXAMPLE | {"dataset": {"name": "linear_regression"}, "model": {"name": "logistic"}}
    with pytest.raises(ValidationError, match="use 'linear'"):
        NetworkRun.model_validate(body)
    NetworkRun.model_validate(body | {"model": {"name": "linear"}})
