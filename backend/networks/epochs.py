"""The end of an epoch: evaluate, checkpoint, step the schedule, draw the boundary, early-stop.

After every epoch the full training and validation splits are evaluated (eval
mode, no grad) and the flat weights kept as a checkpoint (epoch 0 = the
initialisation). Checkpoints are kept every epoch unless (epochs + 1) × parameters
would exceed `MAX_CHECKPOINT_FLOATS`; then every `plan.checkpoint_every` epochs (and
the last). A non-finite training loss ends the run as `diverged`. Schedules other than
OneCycleLR and CyclicLR step here, once per epoch; ReduceLROnPlateau with the
validation loss (the training loss when there is no validation split).

Early stopping watches the validation loss (epoch 0 included): a new best must be
lower than the best so far by more than `min_delta`; after `patience` epochs without
one the run stops. With `restore_best` the run ends on the best epoch's weights,
whether it stopped early or used all its epochs.
"""

import math
import time
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from backend.networks import landscape as L
from backend.networks.boundary import Boundary
from backend.networks.datasets import Split
from backend.networks.frames import Emit, Frames
from backend.networks.prepared import Prepared
from backend.networks.progress import Ending, Progress
from backend.networks.spec import NetworkRun
from backend.optim.schedules import ScheduleInfo

# mean loss and accuracy of a model over a split: `training.evaluate`, which tests replace
Evaluate = Callable[[nn.Module, Split, Callable[[Tensor, Tensor], Tensor], bool], tuple[float, float | None]]


class EpochEnd:
    """Called after each epoch (and once for the initialisation, epoch 0); True when the run
    must stop. The time it takes is counted in `progress.epoch_end_s`."""

    def __init__(self, request: NetworkRun, prep: Prepared, schedule: ScheduleInfo, scheduler: Any,
                 frames: Frames, boundary: Boundary | None, emit: Emit, evaluate: Evaluate,
                 progress: Progress) -> None:
        self.request, self.prep, self.schedule, self.scheduler = request, prep, schedule, scheduler
        self.frames, self.boundary, self.emit, self.evaluate = frames, boundary, emit, evaluate
        self.progress = progress

    def __call__(self, epoch: int, lr: float) -> bool:
        began = time.perf_counter()
        try:
            return self._end(epoch, lr)
        finally:
            self.progress.epoch_end_s += time.perf_counter() - began

    def _end(self, epoch: int, lr: float) -> bool:
        progress, plan = self.progress, self.prep.plan
        train_loss, val_loss = self._record(epoch, lr)
        weights = L.weights_of(self.prep.model)
        if epoch % plan.checkpoint_every == 0 or epoch == self.request.epochs:
            progress.checkpoints.append(weights)
            progress.checkpoint_epochs.append(epoch)
        if not math.isfinite(train_loss):  # the last update blew up the weights
            progress.status = Ending.DIVERGED
            progress.diverged_at = progress.steps
            return True
        if epoch > 0 and not plan.schedule_per_batch:
            self.schedule.step(self.scheduler, val_loss if val_loss is not None else train_loss)
        if self.boundary is not None and self.boundary.due(epoch):
            self.frames.materialise()
            self.frames.flush()
            self.emit("boundary", [self.boundary.snapshot(self.prep.model, epoch)])
        return self._early_stop(epoch, val_loss, weights)

    def _record(self, epoch: int, lr: float) -> tuple[float, float | None]:
        """Evaluate the training and validation splits into the epoch's record: (train, val) loss."""
        prep, classification = self.prep, self.prep.data.classification
        train_loss, train_acc = self.evaluate(prep.model, prep.train, prep.loss_fn, classification)
        val_loss, val_acc = (self.evaluate(prep.model, prep.val, prep.loss_fn, classification)
                             if len(prep.val) else (None, None))
        record = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                  "val_loss": val_loss, "val_accuracy": val_acc, "lr": lr}
        self.frames.epoch_records.append(record)
        self.progress.last = record
        self.progress.epochs_run = epoch
        return train_loss, val_loss

    def _early_stop(self, epoch: int, val_loss: float | None, weights: Tensor) -> bool:
        """Keep the best epoch; True once `patience` epochs have passed without a new one."""
        progress, patience = self.progress, self.request.early_stopping
        if val_loss is not None and val_loss < progress.best_loss - (patience.min_delta if patience else 0):
            progress.best_loss, progress.best_epoch, progress.best_weights = val_loss, epoch, weights
            progress.waited = 0
        elif epoch > 0:
            progress.waited += 1
        if patience is not None and progress.waited >= patience.patience:
            progress.status = Ending.EARLY_STOPPED
            return True
        return False

    def restore_best(self) -> None:
        """With `restore_best`, go back to the best epoch's weights unless the run diverged or
        was cancelled."""
        progress, patience = self.progress, self.request.early_stopping
        if (patience is not None and patience.restore_best and progress.best_weights is not None
                and progress.status in (Ending.EARLY_STOPPED, Ending.FINISHED, Ending.CONVERGED)):
            L.load_weights(self.prep.model, progress.best_weights)
            progress.restored = progress.best_epoch != progress.epochs_run
