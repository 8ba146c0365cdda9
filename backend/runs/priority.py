"""Interactive work first, when runs and computations share one process.

The embedded executor computes stored runs and unstored computations (a slider's trajectory, an
analysis) in threads of the API process. Python runs one thread at a time (the GIL), and a torch
call gives it up and takes it back, so a trajectory computed beside two busy runs waited for the
interpreter at every call: on the 2-core machine a 300-step trajectory took 5× as long while two
runs computed (bench/classroom.py). A run can wait a fraction of a second; a student dragging a
slider cannot. So while any computation is in flight, runs pause between steps. A run pauses at
most `SLICE_S` at a time and then steps for at least `SLICE_S`: a stream of computations slows the
runs to about half speed, never stops them.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SLICE_S = 0.5


class InteractiveFirst:
    """Counts the computations in flight; runs' step checks wait while there are any."""

    def __init__(self) -> None:
        self._busy = 0
        self._idle = threading.Condition()

    @contextmanager
    def computing(self) -> Iterator[None]:
        """Hold while a computation runs: runs pause until the last one ends."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                if not self._busy:
                    self._idle.notify_all()

    def wake(self) -> None:
        """A run's stop was set: a paused run stops pausing at once."""
        with self._idle:
            self._idle.notify_all()

    def between_steps(self, stop: threading.Event) -> Callable[[], bool]:
        """A run's `cancelled()`, called between its steps: true once `stop` is set, and first,
        while computations are in flight, a pause of at most `SLICE_S`."""
        steps_until = 0.0  # after a pause that ran out, the run steps until then

        def cancelled() -> bool:
            nonlocal steps_until
            if self._busy and not stop.is_set() and time.monotonic() >= steps_until:
                with self._idle:
                    idle = self._idle.wait_for(lambda: not self._busy or stop.is_set(), SLICE_S)
                if not idle:
                    steps_until = time.monotonic() + SLICE_S
            return stop.is_set()

        return cancelled
