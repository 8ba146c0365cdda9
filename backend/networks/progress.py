"""Where a training run stands: how it ended (so far), its best epoch and checkpoints, and
the summary it leaves (the fields of `backend.networks.summary.NetworkSummary`)."""

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import torch
from torch import Tensor

from backend.networks.prepared import Prepared
from backend.networks.spec import NetworkRun
from backend.optim.schedules import get_schedule


class Ending(StrEnum):
    """How a training run ended (the run's terminal status has the same name)."""

    FINISHED = "finished"
    CONVERGED = "converged"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"


@dataclass
class Progress:
    """Bookkeeping of the epochs: best validation loss, checkpoints, outcome."""

    best_loss: float = math.inf
    best_epoch: int = 0
    best_weights: Tensor | None = None
    waited: int = 0  # epochs since the best one
    restored: bool = False  # the run ended on the best epoch's weights, not the last epoch's
    epochs_run: int = 0
    steps: int = 0
    status: Ending = Ending.FINISHED
    diverged_at: int | None = None
    converged_at: int | None = None
    converged_by: str | None = None  # "grad_norm" | "step_norm"
    epoch_end_s: float = 0.0  # time spent evaluating, checkpointing and drawing boundaries
    checkpoints: list[Tensor] = field(default_factory=list)
    checkpoint_epochs: list[int] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # the last epoch record

    def summary(self, request: NetworkRun, prep: Prepared, device: torch.device) -> dict[str, Any]:
        """The summary before the test split, the sharpness and the timings are known."""
        plan = prep.plan
        last = self.last
        return {
            "task": "classification" if prep.data.classification else "regression",
            "test_loss": None, "test_accuracy": None, "test_evaluations": 0,
            "best_epoch": self.best_epoch if self.best_weights is not None else None,
            "best_val_loss": self.best_loss if math.isfinite(self.best_loss) else None,
            "epochs_run": self.epochs_run,
            "stopped_early": self.status == Ending.EARLY_STOPPED,
            "restored_best": self.restored,
            "final_train_loss": last.get("train_loss"), "final_train_accuracy": last.get("train_accuracy"),
            "final_val_loss": last.get("val_loss"), "final_val_accuracy": last.get("val_accuracy"),
            "diverged_at_step": self.diverged_at,
            "converged_at_step": self.converged_at, "converged_by": self.converged_by,
            "n_train": len(prep.train), "n_val": len(prep.val), "n_test": len(prep.test),
            "n_features": prep.data.x.shape[1], "n_classes": prep.data.n_classes,
            "class_names": list(prep.data.class_names) if prep.data.class_names else None,
            "parameters": plan.parameters, "steps": self.steps, "batch_size": plan.batch_size,
            "batches_per_epoch": plan.batches_per_epoch, "full_batch": plan.batch_size >= len(prep.train),
            "schedule_stepping": ("loss" if get_schedule(request.schedule.name).monitors_loss
                                  else "batch" if plan.schedule_per_batch else "epoch"),
            "checkpoint_epochs": self.checkpoint_epochs,
            "scaling": prep.scaling or None,
            "device": str(device), "seed": request.seed,
        }
