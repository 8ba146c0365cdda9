"""Unstored trajectories that differ only in their start and learning rate, computed together.

A class drags its sliders at once: thirty requests of the same surface, optimizer and
schedule, each from its own start or at its own rate. One at a time they cost thirty engine
runs. As the rows of one batched run they cost about two when only the starts differ (a step
of a (B, 2) point costs about what a step of one costs while B is small), and about a fifth
of thirty when the rates differ too (bench/together.py): each row is then a param group of
its own, whose update torch computes group by group, while the loss and its gradient are
still computed once. Row b of such a run is request b's run alone, to the bit
(tests/unit/test_engine_truth.py), so each request gets the answer it would have had alone:

- requests that share everything but their start and lr (`together_key`) share a queue. At
  most one batch of a queue computes at a time; the first request starts one at once, those
  arriving while it computes wait for it and then compute together, at most `most_together`
  of them;
- each request then cuts its own start out of the batch's recording (`one_start`) and makes
  its answer from it, in the executor's pool, one pool thread per request at a time;
- a batch stops early only when every request in it has given up (its client hung up);
- a request with several starts, one recording only its ends, or an optimizer or schedule that
  needs each start on its own (LBFGS, Adafactor, ReduceLROnPlateau) is computed alone.

Touched only on the event loop: no lock.
"""

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import torch

from backend.runs import surface
from backend.runs.compute import Result, surface_result
from backend.settings import current_settings
from backend.surfaces import engine
from backend.surfaces.recording import Recording, one_start
from backend.surfaces.spec import SurfaceRun

MOST_TOGETHER = 64  # requests in one batch, at most: a step of 64 rows costs about what one of 1 does
RunBlocking = Callable[..., Awaitable[Any]]  # an executor's `run_blocking`
Cancelled = Callable[[], bool]


def together_key(request: SurfaceRun) -> bytes | None:
    """What requests computed together share, everything but their start and lr: the validated
    request without them. None for a request computed alone."""
    if request.batched or request.record != "all":
        return None
    if surface.build_problem(request, torch.device("cpu")).per_start:
        return None
    shared = request.model_dump(mode="json", exclude={"start": True, "optimizer": {"lr"}})
    return orjson.dumps(shared, option=orjson.OPT_SORT_KEYS)


def most_together(request: SurfaceRun) -> int:
    """How many such requests one batch takes: `MOST_TOGETHER`, and no more than the limits
    let one request record and compute (`max_recorded`, `max_instant_work`)."""
    limits = current_settings()
    return max(1, min(MOST_TOGETHER, limits.max_recorded // (request.steps + 1),
                      limits.max_instant_work // max(1, request.steps)))


def run_together(requests: list[SurfaceRun], cancelled: list[Cancelled | None]) -> Recording:
    """One batched engine run (on the CPU, as each alone) whose row b is `requests[b]`'s start,
    in a param group with its own keywords where their rates differ; cancelled once every
    request is."""
    problem = surface.build_problem(requests[0], torch.device("cpu"))
    starts = torch.tensor([r.start_points()[0] for r in requests], dtype=surface.DTYPE)
    keywords = tuple(r.hyperparameters() for r in requests)
    own_groups = len({kw.get("lr") for kw in keywords}) > 1
    problem = dataclasses.replace(problem, starts=starts, group_kwargs=keywords if own_groups else None)
    checks = [c for c in cancelled if c is not None]
    everyone_gone = (lambda: all(c() for c in checks)) if len(checks) == len(cancelled) else None
    return engine.run(problem, None, everyone_gone)


def answer_of(request: SurfaceRun, recording: Recording, b: int, device: str) -> Result:
    """Request b's result from the batch's recording: what its run alone would have given."""
    return surface_result(request, one_start(recording, b), device)


@dataclasses.dataclass
class _Member:
    """A request waiting in a queue, and where its batch is delivered: the batch's recording,
    its row in it, and how many requests the batch computed."""

    request: SurfaceRun
    cancelled: Cancelled | None
    batch: "asyncio.Future[tuple[Recording, int, int]]"


class Together:
    """The queues of requests computed together, by `together_key`."""

    def __init__(self) -> None:
        self._waiting: dict[bytes, list[_Member]] = {}
        self._computing: set[bytes] = set()  # keys with a batch in flight
        self._tasks: set[asyncio.Task[None]] = set()

    async def compute(self, key: bytes, request: SurfaceRun, cancelled: Cancelled | None,
                      run_blocking: RunBlocking, device: str) -> tuple[Result, int]:
        """The request's result, and how many requests its batch computed (1: alone)."""
        member = _Member(request, cancelled, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(key, []).append(member)
        if key not in self._computing:
            self._computing.add(key)
            task = asyncio.create_task(self._drain(key, run_blocking))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        recording, b, size = await member.batch
        return await run_blocking(answer_of, request, recording, b, device), size

    async def _drain(self, key: bytes, run_blocking: RunBlocking) -> None:
        """Compute the key's waiting requests, batch after batch, until none waits."""
        try:
            while waiting := [m for m in self._waiting.pop(key, []) if not m.batch.done()]:
                most = most_together(waiting[0].request)
                batch = waiting[:most]
                if waiting[most:]:
                    self._waiting[key] = waiting[most:]
                try:
                    recording = await run_blocking(run_together, [m.request for m in batch],
                                                   [m.cancelled for m in batch])
                except asyncio.CancelledError:  # the executor is closing
                    for member in batch + self._waiting.pop(key, []):
                        member.batch.cancel()
                    raise
                except Exception as error:
                    for member in batch:
                        if not member.batch.done():
                            member.batch.set_exception(error)
                    continue
                for b, member in enumerate(batch):
                    if not member.batch.done():
                        member.batch.set_result((recording, b, len(batch)))
        finally:
            self._computing.discard(key)
