"""The optimizer steps of a run: one update per batch, measured and recorded.

One epoch visits the n_train training samples once, in batches of `batch_size`
(the last may be smaller; a batch_size ≥ n_train is full-batch gradient descent,
one step per epoch), in a fresh seeded permutation when `shuffle`. Step k
(1-based, counted over the whole run) records the loss of its mini-batch at the
weights *before* update k, the lr and the gradient norm that update used.
OneCycleLR and CyclicLR step after every batch (the other schedules once per epoch).

A Schedule-Free optimizer takes its gradients at y but answers with x, the average: each
epoch's steps run at y (`optimizer.train()`) and the epoch hands x (`optimizer.eval()`) to
everything after it, so validation, checkpoints, the boundary, early stopping, the test
split, the landscape and the sharpness all see the weights the method stands for.

A non-finite batch loss, seen when a frame of records is materialised, ends the run
as `diverged`. With `stop`, the course's stopping rules for gradient descent end the
run as `converged` after the first step k whose batch gradient ‖∇L(w_{k−1})‖ or update
‖w_k − w_{k−1}‖ is below its threshold (one device sync per step, so only when asked).
"""

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from backend.networks.frames import Frames
from backend.networks.prepared import Prepared, generator
from backend.networks.progress import Ending, Progress
from backend.networks.spec import NetworkRun
from backend.optim.community import evaluation_weights, training_weights
from backend.optim.schedules import ScheduleInfo
from backend.optim.stopping import StopRules


def _grad_norms(params: list[nn.Parameter]) -> list[Tensor]:
    """‖∇L‖₂ of each parameter as 0-d tensors (one kernel, no sync); ‖∇L‖₂ is the norm of these,
    taken per frame. A parameter without a gradient counts as 0."""
    grads = [p.grad if p.grad is not None else torch.zeros(1, device=p.device) for p in params]
    return list(torch._foreach_norm(grads))


def _update_norm(params: list[nn.Parameter], before: list[Tensor]) -> Tensor:
    """‖w_k − w_{k−1}‖₂ over all parameters, as a 0-d tensor."""
    parts = torch._foreach_norm(torch._foreach_sub([p.detach() for p in params], before))
    return torch.linalg.vector_norm(torch.stack(parts))


def _stop_rule_met(rules: StopRules, norms: list[Tensor], update: Tensor | None) -> str | None:
    """The stop rule a step meets ("grad_norm" | "step_norm"), or None (syncs the device)."""
    grad_norm = float(torch.linalg.vector_norm(torch.stack(norms))) if rules.grad_norm > 0 else math.inf
    return rules.met(grad_norm, None if update is None else float(update))


class Steps:
    """The updates of a run, one per batch, recorded into `frames`; how they end goes to `progress`."""

    def __init__(self, request: NetworkRun, prep: Prepared, optimizer: torch.optim.Optimizer,
                 schedule: ScheduleInfo, scheduler: Any, frames: Frames, progress: Progress) -> None:
        self.prep, self.optimizer, self.schedule, self.scheduler = prep, optimizer, schedule, scheduler
        self.frames, self.progress = frames, progress
        self.params = list(prep.model.parameters())
        self.lbfgs = isinstance(optimizer, torch.optim.LBFGS)
        self.shuffle = request.shuffle and prep.plan.batch_size < len(prep.train)
        self.shuffle_generator = generator(request.seed, "shuffle")
        stop = StopRules(request.stop.grad_norm, request.stop.step_norm) if request.stop is not None else None
        self.stop = stop if stop is not None and stop.active else None
        self.watch_updates = self.stop is not None and self.stop.step_norm > 0
        # the lr of the last update (before the first, the initial lr)
        self.lr = float(optimizer.param_groups[0]["lr"])

    def epoch(self, epoch: int, cancelled: Callable[[], bool]) -> None:
        """One pass over the training split, cut short when the run is cancelled, meets a stop
        rule or a materialised frame holds a non-finite loss (`progress` says which). The steps
        start from the weights the optimizer takes gradients at and the epoch ends on the ones
        it is evaluated at (the same weights, except for Schedule-Free optimizers: y, then x)."""
        training_weights(self.optimizer)
        try:
            self._epoch(epoch, cancelled)
        finally:
            evaluation_weights(self.optimizer)

    def _epoch(self, epoch: int, cancelled: Callable[[], bool]) -> None:
        progress, frames, batch = self.progress, self.frames, self.prep.plan.batch_size
        self.prep.model.train()
        xs, ys = self._order()
        for start in range(0, len(xs), batch):
            if cancelled():
                progress.status = Ending.CANCELLED
                break
            self.lr = self.optimizer.param_groups[0]["lr"]
            before = [p.detach().clone() for p in self.params] if self.watch_updates else None
            loss, norms = self._update(xs[start:start + batch], ys[start:start + batch])
            if self.prep.plan.schedule_per_batch:
                self.schedule.step(self.scheduler, loss)
            update = _update_norm(self.params, before) if before is not None else None
            frames.add(loss, norms, self.lr, epoch, update)
            progress.steps += 1
            if self.stop is not None and (rule := _stop_rule_met(self.stop, norms, update)) is not None:
                progress.converged_at, progress.converged_by = progress.steps, rule
                break
            if frames.due():
                progress.diverged_at = frames.materialise()
                frames.flush()
                if progress.diverged_at is not None:
                    progress.status = Ending.DIVERGED
                    break

    def _order(self) -> tuple[Tensor, Tensor]:
        """The training split in this epoch's order: a fresh permutation when shuffling."""
        train = self.prep.train
        if not self.shuffle:
            return train.x, train.y
        order = torch.randperm(len(train), generator=self.shuffle_generator).to(train.x.device)
        return train.x[order], train.y[order]

    def _update(self, xb: Tensor, yb: Tensor) -> tuple[Tensor, list[Tensor]]:
        """One optimizer update on a batch: (batch loss, per-parameter gradient norms) before it.
        LBFGS evaluates the loss several times per update; the first evaluation is recorded."""
        model, loss_fn, optimizer = self.prep.model, self.prep.loss_fn, self.optimizer
        if self.lbfgs:
            first: list[tuple[Tensor, list[Tensor]]] = []

            def closure() -> Tensor:
                optimizer.zero_grad(set_to_none=True)
                value = loss_fn(model(xb), yb)
                value.backward()
                if not first:
                    first.append((value.detach(), _grad_norms(self.params)))
                return value

            optimizer.step(closure)  # type: ignore[arg-type]  # torch's stub says float; a Tensor is usual
            return first[0]
        optimizer.zero_grad(set_to_none=True)
        value = loss_fn(model(xb), yb)
        value.backward()
        norms = _grad_norms(self.params)
        optimizer.step()
        return value.detach(), norms
