"""Flat weight vectors: a model's parameters concatenated in `named_parameters()` order."""

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Layout:
    """Where each named parameter lives in the flat vector."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]

    @classmethod
    def of(cls, model: nn.Module) -> "Layout":
        named = list(model.named_parameters())
        return cls(tuple(n for n, _ in named), tuple(p.shape for _, p in named))

    @property
    def sizes(self) -> list[int]:
        return [math.prod(s) for s in self.shapes]

    @property
    def offsets(self) -> dict[str, int]:
        starts = [0, *torch.tensor(self.sizes).cumsum(0).tolist()]
        return dict(zip(self.names, starts, strict=False))

    def flatten(self, tensors: dict[str, Tensor]) -> Tensor:
        return torch.cat([tensors[n].reshape(-1) for n in self.names])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """Views of `flat` (..., n) shaped as each parameter (..., *shape)."""
        parts = flat.split(self.sizes, dim=-1)
        return {n: p.reshape(*flat.shape[:-1], *s) for n, p, s in
                zip(self.names, parts, self.shapes, strict=True)}


def weights_of(model: nn.Module) -> Tensor:
    """A flat copy of the model's parameters."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def load_weights(model: nn.Module, flat: Tensor) -> None:
    """Copy a flat vector into the model's parameters (in place, no aliasing)."""
    with torch.no_grad():
        for p, part in zip(model.parameters(), flat.split([p.numel() for p in model.parameters()]),
                           strict=True):
            p.copy_(part.view_as(p))
