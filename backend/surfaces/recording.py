"""What a surface run records: per step the points, losses, gradients, lr and optimizer buffers
of every start, in preallocated (K, B, ...) tensors, and how each start ended.

A lone start on the CPU (a slider drag, a lesson) is staged as Python floats, read with one
`tolist()` per tensor, and written to the tensors in one copy per field by `flush`: five
tensor writes a step cost such a run more than its optimizer's arithmetic. Floats hold
float64 and float32 values exactly, so the tensors are the same to the bit either way."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


@dataclass
class Recording:
    """What a run recorded. With `record_all`, index k along dim 0 is step k.

    Otherwise the buffers hold two rows: step 0 and each start's last step.
    """

    params: Tensor  # (K, B, 2)
    loss: Tensor  # (K, B) full loss at the point
    grad: Tensor  # (K, B, 2) gradient at the point (of the mini-batch loss when batching)
    lr: list[float]  # (K,) lr of the step that led here; step 0: the first step's lr
    start_lr: Tensor | None = None  # (K, B) each start's own lr, where each has its own group or schedule
    state: dict[str, Tensor] = field(default_factory=dict)  # name -> (K, B, 2)
    state_since: dict[str, int] = field(default_factory=dict)  # name -> the first row it holds
    epoch: list[int] | None = None  # (K,) epoch of each step (0: the start), mini-batch only
    batch_loss: Tensor | None = None  # (K, B) loss of the mini-batch the step used
    outcome: Tensor = field(default_factory=lambda: torch.empty(0))  # (B,) Outcome
    stop_step: Tensor = field(default_factory=lambda: torch.empty(0))  # (B,) last step
    steps_done: int = 0  # highest step index reached by any start
    elapsed_s: float = 0.0
    staged: "Staged | None" = None  # rows not yet in the tensors: `flush` writes them


@dataclass
class Staged:
    """Consecutive recorded rows of one start, first..first + len(params) − 1, as floats."""

    first: int
    params: list[list[float]] = field(default_factory=list)  # (R, 2)
    loss: list[float] = field(default_factory=list)  # (R,)
    grad: list[list[float]] = field(default_factory=list)  # (R, 2)
    state: dict[str, "StagedBuffer"] = field(default_factory=dict)
    batch_loss: list[float] = field(default_factory=list)  # (R,), mini-batch runs only


@dataclass
class StagedBuffer:
    """One optimizer buffer's staged rows: a buffer may first appear after step 1."""

    dtype: torch.dtype
    rows: list[int] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)  # (len(rows), 2)


def allocate(like: Tensor, n: int, rows: int, minibatches: bool) -> Recording:
    """A recording of `rows` steps of `n` starts, NaN until written, in `like`'s dtype and device."""
    return Recording(
        params=torch.full((rows, n, 2), float("nan"), dtype=like.dtype, device=like.device),
        loss=torch.full((rows, n), float("nan"), dtype=like.dtype, device=like.device),
        grad=torch.full((rows, n, 2), float("nan"), dtype=like.dtype, device=like.device),
        lr=[],
        epoch=[] if minibatches else None,
        batch_loss=(
            torch.full((rows, n), float("nan"), dtype=like.dtype, device=like.device)
            if minibatches
            else None
        ),
    )


def record(
    rec: Recording,
    record_all: bool,
    k: int,
    lr_used: float,
    params: Tensor,
    loss: Tensor,
    grad: Tensor,
    fired: Tensor | None,
    state: Callable[[], dict[str, Tensor]],
    batch_loss: Tensor | None,
    own_lrs: list[float] | None = None,
) -> None:
    """Write step k: into row k, or (keeping only the ends) row 0 at k = 0 and row 1 as rows stop.
    `state()`: the optimizer's buffers (B, 2) by name, read only when a row is written;
    `batch_loss` (B,): the mini-batch's loss; `own_lrs`: each start's own lr of the step that led
    here, where each has a param group of its own."""
    if record_all and len(params) == 1 and params.device.type == "cpu":
        _stage(rec, k, params, loss, grad, state(), batch_loss)
        rec.lr.append(lr_used)
        return
    writes: list[tuple[int, Tensor | None]] = []
    if record_all:
        writes.append((k, None))
        rec.lr.append(lr_used)
    else:
        if k == 0:
            writes.append((0, None))
            rec.lr.append(lr_used)
        if fired is not None and bool(fired.any()):
            writes.append((1, fired))
            rec.lr[1:] = [lr_used]
    buffers = state() if writes else {}
    for row, mask in writes:
        if mask is None:
            rec.params[row] = params
            rec.loss[row] = loss
            rec.grad[row] = grad
        else:
            rec.params[row, mask] = params[mask]
            rec.loss[row, mask] = loss[mask]
            rec.grad[row, mask] = grad[mask]
        _record_extras(rec, row, mask, buffers, batch_loss, own_lrs)


def _stage(
    rec: Recording,
    k: int,
    params: Tensor,
    loss: Tensor,
    grad: Tensor,
    state: dict[str, Tensor],
    batch_loss: Tensor | None,
) -> None:
    """Row k of a lone start, as floats, after the rows staged before it."""
    staged = rec.staged
    if staged is None:
        staged = rec.staged = Staged(first=k)
    staged.params.append(params.tolist()[0])
    staged.loss.append(loss.item())
    staged.grad.append(grad.tolist()[0])
    for name, value in state.items():
        buffer = staged.state.get(name)
        if buffer is None:
            buffer = staged.state[name] = StagedBuffer(value.dtype)
        buffer.rows.append(k)
        buffer.values.append(value.tolist()[0])
    if rec.batch_loss is not None:
        staged.batch_loss.append(math.nan if batch_loss is None else batch_loss.item())


def flush(rec: Recording) -> None:
    """Write the staged rows to the recording's tensors, one copy per field."""
    staged = rec.staged
    if staged is None:
        return
    rec.staged = None
    rows = slice(staged.first, staged.first + len(staged.params))

    def written(values: list[Any], dtype: torch.dtype) -> Tensor:
        return torch.tensor(values, dtype=dtype, device=rec.params.device)

    rec.params[rows, 0] = written(staged.params, rec.params.dtype)
    rec.loss[rows, 0] = written(staged.loss, rec.loss.dtype)
    rec.grad[rows, 0] = written(staged.grad, rec.grad.dtype)
    for name, staged_buffer in staged.state.items():
        buffer = rec.state.get(name)
        if buffer is None:
            buffer = rec.state[name] = torch.full(
                rec.params.shape, float("nan"), dtype=staged_buffer.dtype, device=rec.params.device)
            rec.state_since[name] = staged_buffer.rows[0]
        buffer[staged_buffer.rows, 0] = written(staged_buffer.values, staged_buffer.dtype)
    if rec.batch_loss is not None:
        rec.batch_loss[rows, 0] = written(staged.batch_loss, rec.batch_loss.dtype)


def _record_extras(
    rec: Recording,
    row: int,
    mask: Tensor | None,
    state: dict[str, Tensor],
    batch_loss: Tensor | None,
    own_lrs: list[float] | None,
) -> None:
    """Optimizer buffers, the mini-batch loss and each start's own lr into row `row` (rows `mask`
    only, if given)."""
    for name, value in state.items():
        buffer = rec.state.get(name)
        if buffer is None:
            buffer = rec.state[name] = torch.full(
                (rec.params.shape[0], *value.shape), float("nan"), dtype=value.dtype,
                device=value.device,
            )
            rec.state_since[name] = row
        if mask is None:
            buffer[row] = value
        else:
            buffer[row, mask] = value[mask]
    if batch_loss is not None and rec.batch_loss is not None:
        if mask is None:
            rec.batch_loss[row] = batch_loss
        else:
            rec.batch_loss[row, mask] = batch_loss[mask]
    if own_lrs is not None:
        if rec.start_lr is None:
            rec.start_lr = torch.full_like(rec.loss, math.nan)
        lrs = torch.tensor(own_lrs, dtype=rec.loss.dtype, device=rec.loss.device)
        if mask is None:
            rec.start_lr[row] = lrs
        else:
            rec.start_lr[row, mask] = lrs[mask]


def merge(parts: list[Recording], own_lr: bool) -> Recording:
    """Stack per-start recordings (LBFGS, Adafactor, ReduceLROnPlateau) into one, padding short
    ones with NaN; `own_lr`: each start had a schedule of its own, so each lr is kept
    (`start_lr`), not only the longest start's."""
    rows = max(p.params.shape[0] for p in parts)

    def pad(t: Tensor) -> Tensor:
        if t.shape[0] == rows:
            return t
        filler = torch.full((rows - t.shape[0], *t.shape[1:]), float("nan"), dtype=t.dtype,
                            device=t.device)
        return torch.cat([t, filler])

    longest = max(parts, key=lambda p: p.steps_done)
    names = set().union(*(p.state.keys() for p in parts))
    merged = Recording(
        params=torch.cat([pad(p.params) for p in parts], dim=1),
        loss=torch.cat([pad(p.loss) for p in parts], dim=1),
        grad=torch.cat([pad(p.grad) for p in parts], dim=1),
        lr=longest.lr,
        epoch=longest.epoch,
        outcome=torch.cat([p.outcome for p in parts]),
        stop_step=torch.cat([p.stop_step for p in parts]),
        steps_done=longest.steps_done,
        elapsed_s=sum(p.elapsed_s for p in parts),
    )
    if own_lr:
        like = parts[0].params
        merged.start_lr = torch.stack(
            [pad(torch.tensor(p.lr, dtype=like.dtype, device=like.device)) for p in parts], dim=1)
    for name in names:
        merged.state_since[name] = min(p.state_since[name] for p in parts if name in p.state)
        merged.state[name] = torch.cat(
            [pad(p.state[name]) if name in p.state else torch.full_like(pad(p.params), float("nan"))
             for p in parts],
            dim=1,
        )
    return merged


def one_start(rec: Recording, b: int) -> Recording:
    """Start b of a batched recording of every step, as that start's run alone records it: its rows
    up to its last step and NaN after it (a batch keeps a stopped start's pinned point there), the
    lr and epochs of its own steps, and only the buffers those steps held."""
    k = int(rec.stop_step[b])

    def column(t: Tensor) -> Tensor:
        alone = torch.full_like(t[:, b : b + 1], math.nan)
        alone[: k + 1] = t[: k + 1, b : b + 1]
        return alone

    held = [name for name in rec.state if rec.state_since[name] <= k]
    return Recording(
        params=column(rec.params),
        loss=column(rec.loss),
        grad=column(rec.grad),
        lr=rec.lr[: k + 1] if rec.start_lr is None else rec.start_lr[: k + 1, b].tolist(),
        state={name: column(rec.state[name]) for name in held},
        state_since={name: rec.state_since[name] for name in held},
        epoch=None if rec.epoch is None else rec.epoch[: k + 1],
        batch_loss=None if rec.batch_loss is None else column(rec.batch_loss),
        outcome=rec.outcome[b : b + 1].clone(),
        stop_step=rec.stop_step[b : b + 1].clone(),
        steps_done=k,
        elapsed_s=rec.elapsed_s,
    )
