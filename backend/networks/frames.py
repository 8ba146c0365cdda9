"""Step and epoch records on their way out through `emit(kind, records)`, in frames.

A step's scalars stay on the device as 0-d tensors until a frame is due (one stack
and one `tolist` per frame, not a device sync per step); a frame goes out when at
least `seconds` have passed since the last one.
"""

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

Emit = Callable[[str, list[dict[str, Any]]], None]


class Frames:
    """Step and epoch records waiting to be emitted, in frames of at least `seconds`."""

    def __init__(self, emit: Emit, seconds: float) -> None:
        self.emit = emit
        self.seconds = seconds
        self.last = time.perf_counter()
        # per-step scalars of the steps not yet turned into records, kept as 0-d tensors
        # (no device sync per step); one stack + tolist per frame
        self.losses: list[Tensor] = []
        self.norms: list[Tensor] = []  # per step, the norms of each parameter's gradient
        self.updates: list[Tensor] = []  # per step ‖w_k − w_{k−1}‖, when a stop rule needs it
        self.tensors = 0  # gradient tensors per step
        self.lrs: list[float] = []
        self.epochs: list[int] = []
        self.first = 1  # step number of losses[0]
        self.steps: list[dict[str, Any]] = []
        self.epoch_records: list[dict[str, Any]] = []

    def add(self, loss: Tensor, norms: list[Tensor], lr: float, epoch: int, update: Tensor | None) -> None:
        self.losses.append(loss)
        self.norms.extend(norms)
        if update is not None:
            self.updates.append(update)
        self.tensors = len(norms)
        self.lrs.append(lr)
        self.epochs.append(epoch)

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.seconds

    def materialise(self) -> int | None:
        """Turn pending step scalars into records; the step number of the first non-finite
        loss (records after it are dropped), or None."""
        if not self.losses:
            return None
        grad_norms = torch.stack(self.norms).view(len(self.losses), self.tensors).norm(dim=1)
        columns = [torch.stack(self.losses), grad_norms]
        if self.updates:
            columns.append(torch.stack(self.updates))
        values = torch.stack(columns).tolist()
        bad = next((i for i, v in enumerate(values[0]) if not math.isfinite(v)), None)
        count = len(values[0]) if bad is None else bad + 1
        self.steps.extend(
            {"step": self.first + i, "epoch": self.epochs[i], "loss": values[0][i],
             "lr": self.lrs[i], "grad_norm": values[1][i]}
            | ({"step_norm": values[2][i]} if self.updates else {})
            for i in range(count)
        )
        self.first += len(values[0])
        self.losses, self.norms, self.updates, self.lrs, self.epochs = [], [], [], [], []
        return None if bad is None else self.steps[-1]["step"]

    def flush(self) -> None:
        if self.steps:
            self.emit("steps", self.steps)
            self.steps = []
        if self.epoch_records:
            self.emit("epoch", self.epoch_records)
            self.epoch_records = []
        self.last = time.perf_counter()
