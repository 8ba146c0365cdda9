"""A loss's gradient as the aten calls autograd made once, replayed without autograd.

For a (1, 2) point, autograd spends more on bookkeeping than on arithmetic: a graph node per
forward op, then a walk of the graph in its engine. When f has no branch on values (every
surface and formula here is torch ops alone), the aten calls of L = f(w) and of
∂L/∂w = `torch.autograd.grad(L, w, seed)` are the same at every w: the same kernels in the
same order, on other values. `record` evaluates (L, ∂L/∂w) once under a dispatch mode that
notes each call; a `Tape` makes the same calls on new inputs, so it returns autograd's bits
without autograd's bookkeeping. Calls whose result follows from shapes alone (a typed
formula's constants are `full_like`) are kept as constants, unless a call writes into them.

A recording is refused (no tape: the caller keeps autograd) where a replay could differ: a
value read back (`item()`, `bool()`: what follows may depend on it), a random draw, a result
sized by values, a write into an input or into a tensor from outside, or a gradient that
shares memory with those or is laid out unlike w (autograd would have copied it).
"""

import operator
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

Loss = Callable[..., Tensor]  # (B, 2) points, and any further inputs (a mini-batch's indices) -> (B,)
_Call = tuple[Any, tuple[Any, ...], dict[str, Any], Any]  # op, args, kwargs, result
_Step = Callable[[list[Any]], Any]  # registers -> the value of one register
_StepReads = tuple[int, _Step, tuple[int, ...], bool]  # register, step, registers it reads, whether it writes
_REFUSED_TAGS = (torch.Tag.nondeterministic_seeded, torch.Tag.dynamic_output_shape,
                 torch.Tag.data_dependent_output)
_VALUE_READS = (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.is_nonzero.default)
# calls whose result follows only from the shape, dtype and device of their tensors and from
# their numbers (a formula's constants are `full_like`): one tape's are the same at every point
_FIXED = {getattr(torch.ops.aten, name).default for name in (
    "full", "zeros", "ones", "scalar_tensor", "full_like", "zeros_like", "ones_like",
    "new_full", "new_zeros", "new_ones")}
TAPES_KEPT = 64  # tapes kept for later runs, the least recently used dropped first


def as_points(w: Tensor) -> Tensor:
    """The (B, 2) points of a parameter: itself, or a view of one (2,) point."""
    return w if w.dim() == 2 else w.view(-1, 2)


class Tape:
    """(L, ∂L/∂w) for new inputs (w, seed, and the loss's further inputs, of the recorded
    shapes): the recorded calls, in order, on registers.

    A register holds an input, a constant of the recording (a number, a dtype, a tensor from
    outside such as a dataset) or one call's result."""

    def __init__(self, steps: list[tuple[int, _Step]], template: list[Any], inputs: int,
                 outputs: tuple[int, int]):
        self.steps = steps
        self.template = template
        self.inputs = inputs
        self.outputs = operator.itemgetter(*outputs)

    def __call__(self, w: Tensor, seed: Tensor, *extra: Tensor) -> tuple[Tensor, Tensor]:
        registers = self.template.copy()
        registers[: self.inputs] = (w, seed, *extra)
        for out, step in self.steps:
            registers[out] = step(registers)
        return self.outputs(registers)


class _Refused(Exception):
    """A call a replay might not reproduce."""


class _Calls(TorchDispatchMode):
    """Notes every aten call that reaches it, below autograd."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[_Call] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        self.calls.append((func, args, kwargs, result))
        return result


def record(loss: Loss, w: Tensor, seed: Tensor, *extra: Tensor) -> tuple[Tensor, Tensor, Tape | None]:
    """L = loss(w, *extra) and autograd's ∂L/∂w for a leaf `w` (seeded with `seed`, the shape
    of L), and the tape that repeats them, or None where a replay might differ."""
    with _Calls() as noted:
        value = loss(as_points(w), *extra)
        (grad,) = torch.autograd.grad(value, w, seed)
    try:
        tape = _tape(noted.calls, (w, seed, *extra), value, grad)
    except _Refused:
        tape = None
    return value.detach(), grad, tape


def _tape(calls: list[_Call], inputs: tuple[Tensor, ...], value: Tensor, grad: Tensor) -> Tape:
    """The calls as steps on registers, keeping those the outputs depend on."""
    outside = {_storage(t) for t in inputs}  # memory no call may write to
    registers = {id(t): i for i, t in enumerate(inputs)}
    template: list[Any] = [None] * len(inputs)  # each replay's own inputs go there
    steps: list[_StepReads] = []

    def new(constant: Any = None) -> int:
        template.append(constant)
        return len(template) - 1

    def read(arg: Any) -> int:
        if isinstance(arg, Tensor):
            if id(arg) not in registers:  # made outside the calls: a constant
                outside.add(_storage(arg))
                registers[id(arg)] = new(arg)
            return registers[id(arg)]
        if isinstance(arg, list | tuple) and any(isinstance(a, Tensor) for a in arg):
            parts = tuple(read(a) for a in arg)
            out = new()
            steps.append((out, _gather(parts), parts, False))
            return out
        return new(arg)

    written = {_storage(t) for func, args, _, _ in calls for t in _written(func, args)}
    for func, args, kwargs, result in calls:
        writes = _check(func, args, kwargs, outside, registers)
        if func in _FIXED and _storage(result) not in written:  # a constant, never to be written
            registers[id(result)] = new(result)
            outside.add(_storage(result))
            continue
        reads = tuple(read(a) for a in args)
        out = new()
        steps.append((out, _call(partial(func._op, **kwargs) if kwargs else func._op, reads), reads, writes))
        if isinstance(result, Tensor):
            registers[id(result)] = out
            continue
        if not isinstance(result, list | tuple) or not all(isinstance(part, Tensor) for part in result):
            raise _Refused(f"{func} returned something other than tensors (a value, such as torch.equal's)")
        for k, part in enumerate(result):
            registers[id(part)] = new()
            steps.append((registers[id(part)], partial(_item, out, k), (out,), False))
    if id(value) not in registers or id(grad) not in registers:
        raise _Refused("the loss or the gradient is not a call's result")
    if _storage(grad) in outside | {_storage(value)}:
        raise _Refused("the gradient shares memory with an input, a constant or the loss")
    w = inputs[0]
    if grad.shape != w.shape or grad.stride() != w.stride():
        raise _Refused("the gradient is laid out unlike w")
    outputs = (registers[id(value)], registers[id(grad)])
    return Tape(_needed(steps, outputs), template, len(inputs), outputs)


def _check(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], outside: set[int],
           registers: dict[int, int]) -> bool:
    """Refuse a call whose replay might not be what autograd does at the next point; whether it
    writes into a tensor (its own calls' results only: autograd's `masked_fill_` in max's
    backward)."""
    if func in _VALUE_READS or any(tag in func.tags for tag in _REFUSED_TAGS):
        raise _Refused(f"{func} reads a value, draws at random or sizes its result by value")
    if any(isinstance(v, Tensor) or (isinstance(v, list | tuple) and any(isinstance(t, Tensor) for t in v))
           for v in kwargs.values()):
        raise _Refused(f"{func} was given a tensor by keyword")
    written = _written(func, args)
    if any(id(t) not in registers or _storage(t) in outside for t in written):
        raise _Refused(f"{func} writes into an input or a constant")
    return bool(written)


def _written(func: Any, args: tuple[Any, ...]) -> list[Tensor]:
    """The tensors a call writes into (its arguments marked `(a!)` in its schema)."""
    out: list[Tensor] = []
    for argument, arg in zip(func._schema.arguments, args, strict=False):
        if argument.alias_info is not None and argument.alias_info.is_write:
            out += [t for t in (arg if isinstance(arg, list | tuple) else (arg,)) if isinstance(t, Tensor)]
    return out


def _call(op: Callable[..., Any], reads: tuple[int, ...]) -> _Step:
    """op applied to the registers `reads`."""
    if len(reads) == 1:
        (i,) = reads
        return lambda r: op(r[i])
    if not reads:
        return lambda r: op()
    gather = operator.itemgetter(*reads)
    return lambda r: op(*gather(r))


def _gather(reads: tuple[int, ...]) -> _Step:
    """The list of the registers `reads` (an argument such as `stack`'s tensors)."""
    if len(reads) == 1:
        (i,) = reads
        return lambda r: [r[i]]
    gather = operator.itemgetter(*reads)
    return lambda r: list(gather(r))


def _item(register: int, k: int, r: list[Any]) -> Any:
    """Part k of a call that returned several tensors (`unbind`)."""
    return r[register][k]


def _needed(steps: list[_StepReads], outputs: tuple[int, int]) -> list[tuple[int, _Step]]:
    """The steps the outputs depend on, and every step that writes (a view taken before the
    write may be read after it), in order. Any other step makes a new tensor or a view of
    one, so dropping one whose result nothing reads changes nothing."""
    needed = set(outputs)
    kept = []
    for out, step, reads, writes in reversed(steps):
        if writes or out in needed:
            needed.update(reads)
            kept.append((out, step))
    return kept[::-1]


def _storage(tensor: Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


class Tapes:
    """Tapes by (loss, shapes, dtype, device), kept for later runs on the same surface."""

    def __init__(self, kept: int = TAPES_KEPT) -> None:
        self.kept = kept
        self.lock = threading.Lock()
        self.by_key: OrderedDict[tuple[Any, ...], Tape | None] = OrderedDict()

    def evaluate(
        self, loss: Loss, w: Tensor, seed: Tensor, *extra: Tensor, worth_recording: bool
    ) -> tuple[Tensor, Tensor, Tape | None]:
        """(L, ∂L/∂w) at a leaf w (L = loss(w, *extra)) and the tape for later points: the kept
        one, or one recorded now when `worth_recording` (a recording costs about ten evaluations)."""
        key = (loss, tuple(w.shape), *(tuple(t.shape) for t in extra), w.dtype, w.device)
        with self.lock:
            known = key in self.by_key
            if known:
                self.by_key.move_to_end(key)
                tape = self.by_key[key]
        if known and tape is not None:
            return *tape(w.detach(), seed, *extra), tape
        if known or not worth_recording:
            value = loss(as_points(w), *extra)
            (grad,) = torch.autograd.grad(value, w, seed)
            return value.detach(), grad, None
        value, grad, tape = record(loss, w, seed, *extra)
        with self.lock:
            self.by_key[key] = tape
            while len(self.by_key) > self.kept:
                self.by_key.popitem(last=False)
        return value, grad, tape


TAPES = Tapes()
