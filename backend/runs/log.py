"""A live run's append-only step log, written by a worker thread, read by websocket watchers.

The writer never waits for readers: it appends a frame and wakes whoever is
waiting. Each reader keeps its own cursor, so a slow reader simply finds more
frames waiting next time and sends them coalesced; a vanished one costs nothing.
Step records are kept as typed columns (`backend.runs.columns`), and the logs kept in
memory are bounded in bytes: beyond the bound, ended runs are read from the store. A log's
bytes are the memory its frames keep alive: columns that view a run's recording keep all
of it, counted once.
"""

import asyncio
import threading
from typing import Any

import numpy as np
import torch

from backend.runs.columns import StepColumns
from backend.runs.segments import Frame, Records, compact

LOG_BYTES = 256 << 20  # default bound on the bytes of the logs kept in memory
RECENT_LOGS = 64  # and at most this many ended runs' logs
RECORD_BYTES = 400  # what one record kept as Python objects costs, roughly


def _buffers(records: Records) -> dict[int, int]:
    """The memory a frame keeps alive, as {address: bytes} of each buffer its arrays are part of
    (the whole storage of a tensor they view); records kept as Python objects, at a rough
    RECORD_BYTES each."""
    if not isinstance(records, StepColumns):
        return {id(records): RECORD_BYTES * len(records)}
    held: dict[int, int] = {}
    for array in (*records.values.values(), *records.present.values(), *records.null.values()):
        owner: Any = array
        while isinstance(owner, np.ndarray) and owner.base is not None:
            owner = owner.base
        if isinstance(owner, torch.Tensor):
            storage = owner.untyped_storage()
            held[storage.data_ptr()] = storage.nbytes()
        else:
            held[id(owner)] = owner.nbytes if isinstance(owner, np.ndarray) else array.nbytes
    return held


class RunLog:
    """Frames of one run in order, an end marker, and a way to wait for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._frames: list[Frame] = []
        self.nbytes = 0  # of the memory the frames keep alive
        self._held: set[int] = set()  # the buffers counted in it
        self._epoch = 0  # bumped by reset(): readers holding an older cursor start over
        self._end: dict[str, Any] | None = None
        self._waiters: set[asyncio.Future[None]] = set()

    def append(self, kind: str, records: Records) -> None:
        """Add a frame (any thread); step records are kept as columns."""
        if not len(records):
            return
        held = compact(kind, records)
        with self._lock:
            self._frames.append((kind, held))
            for address, size in _buffers(held).items():
                if address not in self._held:
                    self._held.add(address)
                    self.nbytes += size
        self._wake()

    def reset(self) -> None:
        """Forget every frame: the run starts again from step 0 (any thread)."""
        with self._lock:
            self._frames = []
            self.nbytes = 0
            self._held = set()
            self._epoch += 1
            self._end = None
        self._wake()

    def end(self, message: dict[str, Any]) -> None:
        """Mark the run ended with its final message (any thread)."""
        with self._lock:
            self._end = message
        self._wake()

    @property
    def frames(self) -> list[Frame]:
        with self._lock:
            return list(self._frames)

    @property
    def ended(self) -> bool:
        with self._lock:
            return self._end is not None

    def read(self, epoch: int, cursor: int) -> tuple[int, list[Frame], dict[str, Any] | None, bool]:
        """Frames after `cursor`: (epoch, frames, end message, whether a reset happened)."""
        with self._lock:
            if epoch != self._epoch:
                return self._epoch, list(self._frames), self._end, True
            return self._epoch, self._frames[cursor:], self._end, False

    async def wait(self, epoch: int, cursor: int) -> None:
        """Return once there is something past `cursor` (or an end, or a reset)."""
        future: asyncio.Future[None] = self._loop.create_future()
        with self._lock:
            if epoch != self._epoch or cursor < len(self._frames) or self._end is not None:
                return
            self._waiters.add(future)
        try:
            await future
        finally:
            self._waiters.discard(future)

    def _wake(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, set()
        if waiters and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_resolve, waiters)


def _resolve(waiters: set[asyncio.Future[None]]) -> None:
    for future in waiters:
        if not future.done():
            future.set_result(None)


def forget_old_logs(logs: dict[str, RunLog], budget: int = LOG_BYTES) -> None:
    """Drop the oldest ended logs (the dict's order is their age) while all the logs together
    hold more than `budget` bytes or more than RECENT_LOGS have ended; live runs' logs stay,
    whatever they hold."""
    total = sum(run_log.nbytes for run_log in logs.values())
    ended = [run_id for run_id, run_log in logs.items() if run_log.ended]
    for count, run_id in zip(range(len(ended), 0, -1), ended, strict=True):
        if total <= budget and count <= RECENT_LOGS:
            return
        total -= logs[run_id].nbytes
        logs.pop(run_id, None)
