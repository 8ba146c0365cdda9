"""A live run's append-only step log, written by a worker thread, read by websocket watchers.

The writer never waits for readers: it appends a frame and wakes whoever is
waiting. Each reader keeps its own cursor, so a slow reader simply finds more
frames waiting next time and sends them coalesced; a vanished one costs nothing.
"""

import asyncio
import threading
from typing import Any

from backend.runs.store import Frame

RECENT_LOGS = 64  # ended runs whose log stays in memory for late watchers


class RunLog:
    """Frames of one run in order, an end marker, and a way to wait for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._frames: list[Frame] = []
        self._epoch = 0  # bumped by reset(): readers holding an older cursor start over
        self._end: dict[str, Any] | None = None
        self._waiters: set[asyncio.Future[None]] = set()

    def append(self, kind: str, records: list[dict[str, Any]]) -> None:
        """Add a frame (any thread)."""
        if not records:
            return
        with self._lock:
            self._frames.append((kind, records))
        self._wake()

    def reset(self) -> None:
        """Forget every frame: the run starts again from step 0 (any thread)."""
        with self._lock:
            self._frames = []
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


def forget_old_logs(logs: dict[str, RunLog]) -> None:
    """Drop the ended logs beyond the RECENT_LOGS most recent (the dict's order is their age)."""
    ended = [run_id for run_id, run_log in logs.items() if run_log.ended]
    for run_id in ended[: max(0, len(ended) - RECENT_LOGS)]:
        logs.pop(run_id, None)
