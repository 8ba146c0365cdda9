"""A Redis worker's heartbeat thread outlives a beat that fails, whatever the error: a thread
that died would leave the worker computing while the others think it gone and claim its jobs.
(Fresh CI saw redis-py raise ValueError, not a RedisError, for a read on a closed buffer.)"""

import logging
import threading
from types import SimpleNamespace

import pytest

from backend.runs.redis.worker import Worker


def test_a_failed_beat_does_not_end_the_heartbeats(caplog: pytest.LogCaptureFixture) -> None:
    beats: list[int] = []
    closed = threading.Event()

    def beat() -> None:
        beats.append(len(beats))
        if len(beats) == 1:
            raise ValueError("I/O operation on closed file.")
        if len(beats) == 3:
            closed.set()  # the worker shuts down: the thread ends after this beat

    worker = SimpleNamespace(_beat=beat, closed=closed, beat_interval=0.01)
    with caplog.at_level(logging.WARNING, logger="backend.runs.redis.worker"):
        Worker._heartbeats(worker)  # type: ignore[arg-type]
    assert beats == [0, 1, 2]
    assert "heartbeat: ValueError: I/O operation on closed file." in caplog.text
