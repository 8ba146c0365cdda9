"""Datasets for the networks lab: generated from a seed, shipped locally, or a user's CSV.

Nothing is downloaded. The 2-D toy sets are drawn on the CPU from a seeded
`torch.Generator` (float64, cast to float32 at the end), so a seed gives the same
points on every machine and device; the 8×8 digits are the copy scikit-learn ships
inside its package. Features are `(n, d)` float32; targets are `(n,)` int64 class
indices for classification or `(n,)` float32 values for regression.

Splits are a seeded permutation: the first `n_test` indices are the test split,
the next `n_val` the validation split, the rest the training split. A CSV's
columns (and a regression target) are standardised with the training split's
mean and standard deviation only, so nothing leaks from validation or test.
"""

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from backend.settings import current_settings
from backend.surfaces.functions import REGRESSION_CORRELATION, REGRESSION_WEIGHTS

MAX_CSV_FEATURES = 64
MAX_CLASSES = 20
MIN_SAMPLES = 10
DIGITS_SAMPLES = 1797


@dataclass(frozen=True)
class DatasetInfo:
    """One catalogue entry (`GET /api/datasets`)."""

    id: str
    name: str
    description: str
    task: str  # "classification" | "regression" | "either" (csv: decided by the target column)
    n_features: int | None  # None: the CSV's
    n_classes: int | None
    default_samples: int | None  # None: all rows (csv) / the whole set (digits)
    default_noise: float | None  # σ of the Gaussian noise; None: not applicable


@dataclass(frozen=True)
class Shape:
    """What a model needs to know about a dataset before it is loaded."""

    n_samples: int
    n_features: int
    n_classes: int | None  # None: regression

    @property
    def classification(self) -> bool:
        return self.n_classes is not None


@dataclass(frozen=True)
class Dataset:
    """All samples of one dataset, before splitting."""

    name: str
    x: Tensor  # (n, d) float32
    y: Tensor  # (n,) int64 classes, or (n,) float32 targets
    n_classes: int | None
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None = None
    standardize: bool = False  # scale with the training split's statistics (CSV)

    @property
    def classification(self) -> bool:
        return self.n_classes is not None

    @property
    def shape(self) -> Shape:
        return Shape(len(self.x), self.x.shape[1], self.n_classes)


@dataclass(frozen=True)
class Split:
    """One part of a dataset: `train`, `val` or `test`."""

    name: str
    x: Tensor
    y: Tensor
    index: Tensor  # (n,) rows of the whole dataset

    def __len__(self) -> int:
        return len(self.x)

    def to(self, device: torch.device) -> "Split":
        return replace(self, x=self.x.to(device), y=self.y.to(device))


# --- generated 2-D sets -------------------------------------------------------------------
# Each takes (n, noise, generator) and returns (x (n, 2) float64, y (n,) int64 | float64).


def _noisy(x: Tensor, noise: float, g: torch.Generator) -> Tensor:
    return x + noise * torch.randn(x.shape, generator=g, dtype=torch.float64)


def _shuffled(x: Tensor, y: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    order = torch.randperm(len(x), generator=g)
    return x[order], y[order]


def linear_regression(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """The course's example: x ~ N(0, [[1, ρ], [ρ, 1]]), y = xᵀw* + ε, ε ~ N(0, σ²).

    w* and ρ are those of the `linear_regression` surface, so a linear model here
    meets the same elongated bowl (plus a bias).
    """
    rho = REGRESSION_CORRELATION
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)  # (n, 2) independent
    mixing = torch.tensor([[1.0, 0.0], [rho, math.sqrt(1 - rho**2)]], dtype=torch.float64)
    x = z @ mixing.T  # (n, 2) correlated
    y = x @ torch.tensor(REGRESSION_WEIGHTS, dtype=torch.float64)
    return x, y + noise * torch.randn(n, generator=g, dtype=torch.float64)


def moons(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two interleaved half circles (scikit-learn's `make_moons`): ⌊n/2⌋ of class 0."""
    n_out = n // 2
    t_out = torch.linspace(0, math.pi, n_out, dtype=torch.float64)
    t_in = torch.linspace(0, math.pi, n - n_out, dtype=torch.float64)
    outer = torch.stack([t_out.cos(), t_out.sin()], dim=1)
    inner = torch.stack([1 - t_in.cos(), 0.5 - t_in.sin()], dim=1)
    y = torch.cat([torch.zeros(n_out, dtype=torch.int64), torch.ones(n - n_out, dtype=torch.int64)])
    return _shuffled(_noisy(torch.cat([outer, inner]), noise, g), y, g)


def circles(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """A circle of radius 1 (class 0) around one of radius 0.5 (class 1)."""
    n_out = n // 2
    t_out = torch.arange(n_out, dtype=torch.float64) * (2 * math.pi / n_out)
    t_in = torch.arange(n - n_out, dtype=torch.float64) * (2 * math.pi / (n - n_out))
    outer = torch.stack([t_out.cos(), t_out.sin()], dim=1)
    inner = 0.5 * torch.stack([t_in.cos(), t_in.sin()], dim=1)
    y = torch.cat([torch.zeros(n_out, dtype=torch.int64), torch.ones(n - n_out, dtype=torch.int64)])
    return _shuffled(_noisy(torch.cat([outer, inner]), noise, g), y, g)


def spirals(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two arms r = t, θ = 3π·t + c·π (t ∈ [0.05, 1], 1.5 turns each), class c ∈ {0, 1}."""
    y = torch.arange(n, dtype=torch.int64) % 2
    t = 0.05 + 0.95 * torch.rand(n, generator=g, dtype=torch.float64)
    theta = 3 * math.pi * t + math.pi * y
    x = torch.stack([t * theta.cos(), t * theta.sin()], dim=1)
    return _noisy(x, noise, g), y


def xor(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Points uniform in the four quadrants of [−1, 1]², in turn; class = sign(x₀) ≠ sign(x₁)."""
    quadrant = torch.arange(n) % 4
    signs = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]], dtype=torch.float64)
    x = signs[quadrant] * torch.rand(n, 2, generator=g, dtype=torch.float64)
    y = (quadrant % 2).to(torch.int64)  # quadrants 1 and 3 (x₀·x₁ < 0) are class 1
    return _noisy(x, noise, g), y


BLOB_CENTRES = torch.tensor(
    [[math.cos(a), math.sin(a)] for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3,
                                          math.pi / 2 + 4 * math.pi / 3)],
    dtype=torch.float64,
) * 1.5


def blobs(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Three Gaussian blobs (σ = noise) at radius 1.5, 120° apart; classes in turn."""
    y = torch.arange(n, dtype=torch.int64) % 3
    return _noisy(BLOB_CENTRES[y], noise, g), y


GENERATORS: dict[str, Callable[[int, float, torch.Generator], tuple[Tensor, Tensor]]] = {
    "linear_regression": linear_regression,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "xor": xor,
    "blobs": blobs,
}

DATASETS: dict[str, DatasetInfo] = {
    d.id: d
    for d in [
        DatasetInfo("linear_regression", "Linear regression", "The course's example: two correlated "
                    "features, y = 2·x₀ − x₁ + noise.", "regression", 2, None, 500, 0.5),
        DatasetInfo("moons", "Two moons", "Two interleaved half circles.", "classification",
                    2, 2, 500, 0.2),
        DatasetInfo("circles", "Circles", "A small circle inside a large one.", "classification",
                    2, 2, 500, 0.1),
        DatasetInfo("spirals", "Spirals", "Two interleaved spiral arms: hard for a small MLP.",
                    "classification", 2, 2, 500, 0.05),
        DatasetInfo("xor", "XOR", "Four quadrants, opposite ones share a class: no line separates "
                    "them.", "classification", 2, 2, 500, 0.1),
        DatasetInfo("blobs", "Gaussian blobs", "Three Gaussian clusters, three classes.",
                    "classification", 2, 3, 500, 0.6),
        DatasetInfo("digits", "Digits (8×8)", "Real data: 1,797 handwritten digits of 8×8 pixels "
                    "(scikit-learn's bundled copy), 10 classes, pixels scaled to [0, 1].",
                    "classification", 64, 10, None, None),
        DatasetInfo("csv", "Your CSV", "Your own numeric table: up to {max_samples} rows and "
                    f"{MAX_CSV_FEATURES} feature columns, the last column is the target (an integer "
                    f"with ≤ {MAX_CLASSES} values: classes; otherwise regression).", "either",
                    None, None, None, None),
    ]
}


# --- digits -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _digits() -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits  # ships with the package: no download

    x, y = load_digits(return_X_y=True)
    return torch.from_numpy(x / 16.0), torch.from_numpy(y).to(torch.int64)


# --- CSV ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A parsed CSV: features, raw target column, header names."""

    x: Tensor  # (n, d) float64
    target: Tensor  # (n,) float64
    names: tuple[str, ...]  # d + 1 column names
    classes: tuple[float, ...] | None  # sorted distinct target values, when a class label


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@lru_cache(maxsize=8)
def parse_csv(text: str) -> Table:
    """Parse a numeric CSV; the last column is the target. Raises ValueError naming row and column.

    The first row is a header when none of its cells is a number. Blank lines are
    skipped. Rows are counted as a spreadsheet shows them (the first line is row 1).
    """
    max_bytes = current_settings().network_max_csv_bytes
    if len(text.encode()) > max_bytes:
        raise ValueError(f"dataset.csv: {len(text.encode())} bytes exceeds {max_bytes}")
    reader = csv.reader(io.StringIO(text, newline=""))  # a lone \r ends a line, as in a spreadsheet
    try:
        rows = [(i, r) for i, r in enumerate(reader, start=1) if any(c.strip() for c in r)]
    except csv.Error as error:  # e.g. a field longer than the csv module reads
        raise ValueError(f"dataset.csv: row {reader.line_num}: {error}") from None
    if not rows:
        raise ValueError("dataset.csv: the CSV is empty")
    names: list[str] | None = None
    if all(_number(c) is None for c in rows[0][1]):
        names = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    if not rows:
        raise ValueError("dataset.csv: the CSV has a header but no data rows")
    width = len(names) if names is not None else len(rows[0][1])
    if width < 2:
        raise ValueError(f"dataset.csv: need at least 2 columns (features, then the target), got {width}")
    if width - 1 > MAX_CSV_FEATURES:
        raise ValueError(f"dataset.csv: {width - 1} feature columns exceeds {MAX_CSV_FEATURES}")
    max_samples = current_settings().network_max_samples
    if len(rows) > max_samples:
        raise ValueError(f"dataset.csv: {len(rows)} data rows exceeds {max_samples}")
    if len(rows) < MIN_SAMPLES:
        raise ValueError(f"dataset.csv: {len(rows)} data rows; at least {MIN_SAMPLES} are needed")
    names = names or [f"x{j}" for j in range(1, width)] + ["target"]
    values = []
    for line, row in rows:
        if len(row) != width:
            raise ValueError(f"dataset.csv: row {line} has {len(row)} columns, expected {width}")
        parsed = []
        for j, cell in enumerate(row):
            value = _number(cell.strip())
            if value is None:
                raise ValueError(
                    f"dataset.csv: row {line}, column {j + 1} ({names[j]!r}): {cell.strip()!r} is not "
                    "a finite number"
                )
            parsed.append(value)
        values.append(parsed)
    table = torch.tensor(values, dtype=torch.float64)  # (n, width)
    target = table[:, -1]
    distinct = torch.unique(target)
    if len(distinct) < 2:
        raise ValueError(f"dataset.csv: the target column ({names[-1]!r}) has a single value")
    is_label = bool((target == target.round()).all()) and len(distinct) <= MAX_CLASSES
    classes = tuple(distinct.tolist()) if is_label else None
    return Table(x=table[:, :-1], target=target, names=tuple(names), classes=classes)


# --- loading and splitting ----------------------------------------------------------------


def shape(name: str, n_samples: int | None, csv_text: str | None) -> Shape:
    """Sizes of a dataset without generating it (the CSV is parsed, which also validates it)."""
    if name == "csv":
        if csv_text is None:
            raise ValueError("dataset.csv: the CSV text is required when dataset.name is 'csv'")
        table = parse_csv(csv_text)
        n = len(table.x)
        if n_samples is not None and n_samples > n:
            raise ValueError(f"dataset.n_samples = {n_samples} exceeds the CSV's {n} data rows")
        classes = len(table.classes) if table.classes is not None else None
        return Shape(n_samples or n, table.x.shape[1], classes)
    info = DATASETS[name]
    if name == "digits":
        if n_samples is not None and n_samples > DIGITS_SAMPLES:
            raise ValueError(f"dataset.n_samples = {n_samples} is outside [{MIN_SAMPLES}, "
                             f"{DIGITS_SAMPLES}] for digits (the whole set is {DIGITS_SAMPLES})")
        return Shape(n_samples or DIGITS_SAMPLES, 64, 10)
    assert info.n_features is not None and info.default_samples is not None
    return Shape(n_samples or info.default_samples, info.n_features, info.n_classes)


def load(name: str, n_samples: int | None, noise: float | None, csv_text: str | None,
         generator: torch.Generator) -> Dataset:
    """The whole dataset, float32 features; `generator` (CPU) draws noise and subsets."""
    size = shape(name, n_samples, csv_text)
    n = size.n_samples
    if name in GENERATORS:
        info = DATASETS[name]
        sigma = info.default_noise if noise is None else noise
        assert sigma is not None
        x, y = GENERATORS[name](n, sigma, generator)
        names: tuple[str, ...] = ("x0", "x1")
        class_names = None if info.n_classes is None else tuple(str(c) for c in range(info.n_classes))
        standardize = False
    elif name == "digits":
        x, y = _digits()
        names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
        class_names = tuple(str(c) for c in range(10))
        standardize = False
    else:
        assert csv_text is not None
        table = parse_csv(csv_text)
        x, y, names = table.x, table.target, table.names[:-1]
        class_names = None
        if table.classes is not None:
            labels = torch.tensor(table.classes, dtype=torch.float64)
            y = torch.searchsorted(labels, y.contiguous()).to(torch.int64)
            class_names = tuple(f"{c:g}" for c in table.classes)
        standardize = True
    if n < len(x):  # a seeded subset (digits, csv)
        keep = torch.randperm(len(x), generator=generator)[:n]
        x, y = x[keep], y[keep]
    target = y if size.classification else y.to(torch.float32)
    return Dataset(name=name, x=x.to(torch.float32), y=target, n_classes=size.n_classes,
                   feature_names=names, class_names=class_names, standardize=standardize)


def split_sizes(n: int, val: float, test: float) -> tuple[int, int, int]:
    """(n_train, n_val, n_test): ⌊n·val + ½⌋ validation, ⌊n·test + ½⌋ test, the rest train."""
    n_val = math.floor(n * val + 0.5)
    n_test = math.floor(n * test + 0.5)
    return n - n_val - n_test, n_val, n_test


def split(data: Dataset, val: float, test: float,
          generator: torch.Generator) -> tuple[tuple[Split, Split, Split], dict[str, Any]]:
    """Seeded train/val/test splits, and the standardisation applied ({} when none)."""
    _, n_val, n_test = split_sizes(len(data.x), val, test)
    order = torch.randperm(len(data.x), generator=generator)
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    x, y = data.x, data.y
    scaling: dict[str, Any] = {}
    if data.standardize:
        train_x = x[parts["train"]]
        mean, std = train_x.mean(0), train_x.std(0, correction=0)
        std = torch.where(std > 1e-12, std, torch.ones_like(std))
        x = (x - mean) / std
        scaling = {"feature_mean": mean.tolist(), "feature_std": std.tolist()}
        if not data.classification:
            train_y = y[parts["train"]]
            y_mean, y_std = float(train_y.mean()), float(train_y.std(correction=0)) or 1.0
            y = (y - y_mean) / y_std
            scaling |= {"target_mean": y_mean, "target_std": y_std}
    out = tuple(Split(name, x[i], y[i], i) for name, i in (("train", parts["train"]),
                                                             ("val", parts["val"]),
                                                             ("test", parts["test"])))
    return (out[0], out[1], out[2]), scaling
