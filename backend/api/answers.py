"""Answers of `POST /api/trajectories`, kept in memory and shared between identical requests.

A classroom room makes every student's page ask for the teacher's trajectories at once: the
same bodies, hundreds of times. A surface run is deterministic for a given request on a given
device (the seed is part of the request), so its answer is computed once and its bytes reused:

- an answer is kept under the SHA-256 of the validated request (orjson, keys sorted) and the
  server's device; the least recently used go first once the answers exceed a byte budget;
- identical requests in flight share one computation: the first computes, the others wait for
  its answer without taking a computation slot of their own;
- only complete answers are kept. When the first request fails (refused, or its client hung
  up and it was cancelled), those waiting do not get its failure: the next one computes.

Touched only on the event loop: no lock.
"""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from enum import StrEnum

import orjson

from backend.surfaces.spec import SurfaceRun

ENTRY_OVERHEAD = 200  # bytes an entry costs beside its answer: the key, the dict slot


class Source(StrEnum):
    """Where an answer came from (the `X-Answer-Cache` header)."""

    HIT = "hit"  # kept, or computed for an identical request in flight
    MISS = "miss"  # computed for this request


class Incomplete(Exception):
    """The shared computation gave no answer worth keeping: whoever waited on it computes."""


def answer_key(request: SurfaceRun, device: str) -> str:
    """What identifies an answer: the request as validated (defaults filled in) and the device."""
    canonical = orjson.dumps({"device": device, "request": request.model_dump(mode="json")},
                             option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


class AnswerCache:
    """Answers by key, least recently used first, with at most `budget` bytes of them."""

    def __init__(self) -> None:
        self._answers: OrderedDict[str, bytes] = OrderedDict()
        self._pending: dict[str, asyncio.Future[bytes]] = {}  # computing now
        self._bytes = 0

    async def answer(
        self, key: str, budget: int, compute: Callable[[], Awaitable[tuple[bytes, bool]]]
    ) -> tuple[bytes, Source]:
        """The answer under `key`: kept, awaited from an identical request in flight, or
        `compute()`d here — which gives the body and whether it is complete (worth keeping).
        A `budget` of 0 keeps and shares nothing."""
        if not budget:
            self.clear()
            body, _ = await compute()
            return body, Source.MISS
        while True:
            kept = self._answers.get(key)
            if kept is not None:
                self._answers.move_to_end(key)
                return kept, Source.HIT
            pending = self._pending.get(key)
            if pending is None:
                return await self._compute(key, budget, compute), Source.MISS
            try:
                return await asyncio.shield(pending), Source.HIT
            except Incomplete:
                continue  # the next to look computes

    async def _compute(self, key: str, budget: int,
                       compute: Callable[[], Awaitable[tuple[bytes, bool]]]) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            body, complete = await compute()
        except BaseException:
            self._give_up(key, future)  # refused, failed, or cancelled
            raise
        if not complete:
            self._give_up(key, future)
            return body
        del self._pending[key]
        self._keep(key, body, budget)
        future.set_result(body)
        return body

    def _give_up(self, key: str, future: asyncio.Future[bytes]) -> None:
        del self._pending[key]
        future.set_exception(Incomplete())
        future.exception()  # marked as read: nobody may be waiting

    def _keep(self, key: str, body: bytes, budget: int) -> None:
        size = len(body) + ENTRY_OVERHEAD
        if size > budget:
            return
        self._answers[key] = body
        self._bytes += size
        while self._bytes > budget:
            _, oldest = self._answers.popitem(last=False)
            self._bytes -= len(oldest) + ENTRY_OVERHEAD

    def clear(self) -> None:
        self._answers.clear()
        self._bytes = 0
