"""Freed memory handed back to the system.

glibc's malloc keeps what a computation frees between allocations that stay (holes below the
top of its heaps, in every thread's arena), and reuses a hole only for an allocation that
fits in it. A run that keeps each frame's columns while it frees the scratch tensors each
frame needed grew the server by about twice what its columns hold (bench/data.py's largest
run: 326 MiB resident for 168 MiB of columns). `malloc_trim(0)` returns such pages to the
system, about 1 ms for that heap; with a C library that has no `malloc_trim`, nothing is done.
"""

import ctypes
from collections.abc import Callable

TRIM_EVERY = 16 << 20  # bytes kept between two trims


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None


MALLOC_TRIM = _malloc_trim()


def give_back() -> None:
    """Return the free pages of every malloc heap to the system."""
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


class Trimmer:
    """For a long computation: `kept(n)` after keeping n more bytes; every `every` bytes kept,
    the memory freed meanwhile is given back."""

    def __init__(self, every: int = TRIM_EVERY) -> None:
        self.every = every
        self.since = 0

    def kept(self, nbytes: int) -> None:
        self.since += nbytes
        if self.since >= self.every:
            self.since = 0
            give_back()
