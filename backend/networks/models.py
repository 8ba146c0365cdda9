"""Models for the networks lab, all plain `nn.Sequential` stacks, and their losses.

- `linear`: one `nn.Linear(d, 1)`, mean squared error: linear regression.
- `logistic`: one `nn.Linear(d, k)`, cross-entropy over k classes: (multinomial)
  logistic regression.
- `mlp`: `Linear → act → … → Linear`, `hidden` gives the widths; MSE for a
  regression target, cross-entropy for classes.
- `cnn` (digits only): the 64 pixels viewed as a 1×8×8 image, then per entry of
  `hidden` a 3×3 convolution (padding 1) → act → 2×2 max-pool, then a linear layer.

Classifiers output k logits (two for a binary task), so every classification
loss is `F.cross_entropy` and every regression loss `F.mse_loss`. An MLP stays an
alternating `Linear`/activation `nn.Sequential`, which the landscape's batched
evaluator recognises.

Initialisation is torch's own for Linear and Conv2d layers (what their
`reset_parameters` does: Kaiming-uniform weights with a = √5, biases uniform in
±1/√fan_in), drawn in the same order but from the run's generator instead of the
global RNG: runs on concurrent threads share that global RNG, so seeding it made
two runs with one seed start from different weights when they trained at once.
"""

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from backend.networks.datasets import Shape
from backend.settings import current_settings

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}
MAX_CNN_LAYERS = 3  # 8 → 4 → 2 → 1 pixels


@dataclass(frozen=True)
class ModelInfo:
    """One catalogue entry (`GET /api/models`)."""

    id: str
    name: str
    description: str
    task: str  # "regression" | "classification" | "either"
    default_hidden: tuple[int, ...]
    datasets: tuple[str, ...] | None  # None: any dataset


MODELS: dict[str, ModelInfo] = {
    m.id: m
    for m in [
        ModelInfo("linear", "Linear regression", "ŷ = wᵀx + b, mean squared error.", "regression",
                  (), None),
        ModelInfo("logistic", "Logistic regression", "Class probabilities softmax(Wx + b), "
                  "cross-entropy.", "classification", (), None),
        ModelInfo("mlp", "MLP", "Fully connected layers of the given widths with an activation "
                  "between them.", "either", (32, 32), None),
        ModelInfo("cnn", "Small CNN", "Per hidden entry a 3×3 convolution with that many channels, "
                  "the activation and 2×2 max-pooling; then a linear layer.", "classification",
                  (8, 16), ("digits",)),
    ]
}


def hidden_of(name: str, hidden: list[int] | None) -> tuple[int, ...]:
    return MODELS[name].default_hidden if hidden is None else tuple(hidden)


def check(name: str, hidden: list[int] | None, dataset: str, shape: Shape) -> None:
    """Raise ValueError (naming the field) if the model does not fit the dataset."""
    info = MODELS[name]
    widths = hidden_of(name, hidden)
    task = "classification" if shape.classification else "regression"
    if info.task != "either" and info.task != task:
        other = "logistic" if name == "linear" else "linear"
        raise ValueError(f"model.name = {name!r} needs a {info.task} dataset; {dataset!r} is "
                         f"{task}: use {other!r} or 'mlp'")
    if info.datasets is not None and dataset not in info.datasets:
        raise ValueError(f"model.name = {name!r} works on {', '.join(info.datasets)} only, "
                         f"not {dataset!r}")
    if name in ("linear", "logistic") and widths:
        raise ValueError(f"model.hidden must be empty for {name!r}, got {list(widths)}")
    if name == "mlp" and not widths:
        raise ValueError("model.hidden needs at least one width for 'mlp' (an MLP with no hidden "
                         "layer is 'linear' or 'logistic')")
    if name == "cnn":
        if not 1 <= len(widths) <= MAX_CNN_LAYERS:
            raise ValueError(f"model.hidden: a cnn has 1 to {MAX_CNN_LAYERS} convolutions, got "
                             f"{len(widths)}")
        max_channels = current_settings().network_max_channels
        if max(widths) > max_channels:
            raise ValueError(f"model.hidden: cnn channels must be in [1, {max_channels}], got "
                             f"{max(widths)}")


def build(name: str, hidden: list[int] | None, activation: str, shape: Shape,
          generator: torch.Generator) -> nn.Sequential:
    """The untrained model on the CPU, initialised from `generator` (module docstring)."""
    with torch.device("meta"):
        model = architecture(name, hidden, activation, shape)
    model = model.to_empty(device="cpu")
    initialise(model, generator)
    return model


def initialise(model: nn.Module, generator: torch.Generator) -> None:
    """torch's default initialisation of every Linear and Conv2d, in module order, from `generator`."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear | nn.Conv2d):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                if module.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def architecture(name: str, hidden: list[int] | None, activation: str, shape: Shape) -> nn.Sequential:
    """The model's layers, initialised as their constructors do (build on the meta device to skip that)."""
    widths = hidden_of(name, hidden)
    outputs = shape.n_classes or 1
    act = ACTIVATIONS[activation]
    if name == "cnn":
        layers: list[nn.Module] = [nn.Unflatten(1, (1, 8, 8))]
        channels, side = 1, 8
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1), act(), nn.MaxPool2d(2)]
            channels, side = width, side // 2
        layers += [nn.Flatten(), nn.Linear(channels * side * side, outputs)]
        return nn.Sequential(*layers)
    sizes = [shape.n_features, *widths, outputs]
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def count_parameters(name: str, hidden: list[int] | None, activation: str, shape: Shape) -> int:
    """Parameters of the model, counted on the meta device (nothing is allocated)."""
    with torch.device("meta"):
        model = architecture(name, hidden, activation, shape)
    return sum(p.numel() for p in model.parameters())


def loss_function(classification: bool) -> Callable[[Tensor, Tensor], Tensor]:
    """Mean cross-entropy over logits (N, k), or mean squared error of outputs (N, 1)."""
    if classification:
        return F.cross_entropy
    return _mse


def _mse(output: Tensor, target: Tensor) -> Tensor:
    return F.mse_loss(output.squeeze(-1), target)
