"""A run's starting point: its seeded random streams, its split data and its untrained model.

Seeds: every random stream is its own `torch.Generator` (on the CPU, so a seed
gives the same run on any device) seeded with `sub_seed(seed, stream)`, the
model's initialisation included; nothing draws from the global RNG, so runs on
concurrent threads cannot disturb each other.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from backend.networks import datasets, models
from backend.networks import landscape as L
from backend.networks.datasets import Dataset, Split
from backend.networks.spec import NetworkRun, Plan

SEED_STREAMS = {"data": 0, "split": 1, "init": 2, "shuffle": 3, "landscape": 4}


def sub_seed(seed: int, stream: str) -> int:
    """The seed of one random stream of a run: data, split, init, shuffle or landscape."""
    return seed * len(SEED_STREAMS) + SEED_STREAMS[stream]


def generator(seed: int, stream: str) -> torch.Generator:
    return torch.Generator().manual_seed(sub_seed(seed, stream))


@dataclass
class Prepared:
    """A run's data and untrained model, exactly as `train` starts from them."""

    plan: Plan
    data: Dataset
    train: Split
    val: Split
    test: Split
    scaling: dict[str, Any]
    model: nn.Sequential
    loss_fn: Callable[[Tensor, Tensor], Tensor]


def prepare(request: NetworkRun, device: torch.device) -> Prepared:
    """Generate and split the data, build and initialise the model, all on `device`."""
    plan = request.plan()
    d = request.dataset
    data = datasets.load(d.name, d.n_samples, d.noise, d.csv, generator(request.seed, "data"))
    (train, val, test), scaling = datasets.split(data, request.split.val, request.split.test,
                                                 generator(request.seed, "split"))
    m = request.model
    model = models.build(m.name, m.hidden, m.activation, data.shape, generator(request.seed, "init"))
    return Prepared(plan, data, train.to(device), val.to(device), test.to(device), scaling,
                    model.to(device), models.loss_function(data.classification))


def eval_subset(prep: Prepared, samples: int, g: torch.Generator) -> L.EvalData:
    """The fixed evaluation subset of landscapes: `samples` training samples drawn with `g`
    (the run's landscape stream, so a run's grid and a later comparison use the same ones)."""
    pick = torch.randperm(len(prep.train), generator=g)[:samples].to(prep.train.x.device)
    return L.EvalData(prep.train.x[pick], prep.train.y[pick], prep.data.classification)
