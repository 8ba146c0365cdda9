"""Unstored trajectories that differ only in their start and learning rate are computed together
(`backend.runs.together`), and each request is answered as its run alone would be."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from backend.runs import together
from backend.runs.compute import Result, compute_surface
from backend.runs.model import Status, SurfaceSummary
from backend.runs.segments import as_records
from backend.runs.together import Together, run_together, together_key
from backend.surfaces.spec import SurfaceRun

BODY = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}, "steps": 300}
WAIT = 60.0  # a hang guard, never reached when the code is right


def request(start: list[float], **fields: Any) -> SurfaceRun:
    return SurfaceRun.model_validate(BODY | {"start": start} | fields)


def starts(n: int) -> list[list[float]]:
    return [[-1.5 + 0.3 * i, 2.0 - 0.2 * i] for i in range(n)]


def answer(result: Result) -> bytes:
    """The answer's bytes (status, summary, every step record), but for the engine's time."""
    assert result.summary is not None
    summary = result.summary.model_dump(mode="json") | {"elapsed_ms": None}
    steps = [step for _, records in result.frames for step in as_records(records)]
    return orjson.dumps({"status": result.status, "summary": summary, "steps": steps},
                        option=orjson.OPT_SERIALIZE_NUMPY)


class Pool:
    """An executor's `run_blocking` on a real thread pool, which notes the size of each batch
    it computes and, while `gate` is clear, holds the first batch before it computes."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.batches: list[int] = []
        self.computing = threading.Event()  # the first batch has reached the pool
        self.gate = threading.Event()
        self.gate.set()

    async def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        if fn is run_together:
            self.batches.append(len(args[0]))
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._held, fn, *args)

    def _held(self, fn: Callable[..., Any], *args: Any) -> Any:
        if fn is run_together:
            self.computing.set()
            assert self.gate.wait(WAIT)
        return fn(*args)


@pytest.fixture
def pool() -> Iterator[Pool]:
    with ThreadPoolExecutor(2) as threads:
        yield Pool(threads)


def ask(coalescer: Together, pool: Pool, req: SurfaceRun,
        cancelled: Callable[[], bool] | None = None) -> "asyncio.Task[tuple[Result, int]]":
    key = together_key(req)
    assert key is not None
    return asyncio.create_task(coalescer.compute(key, req, cancelled, pool.run_blocking, "cpu"))


def test_requests_that_differ_only_in_their_start_are_one_batch_each_answered_as_alone(pool: Pool) -> None:
    requests = [request(s) for s in starts(6)]

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        return await asyncio.gather(*[ask(coalescer, pool, r) for r in requests])

    answered = asyncio.run(main())
    assert pool.batches == [6]
    assert [size for _, size in answered] == [6] * 6
    for req, (result, _) in zip(requests, answered, strict=True):
        assert answer(result) == answer(compute_surface(req, "cpu"))


def test_the_first_request_computes_at_once_and_those_arriving_meanwhile_form_one_batch(pool: Pool) -> None:
    pool.gate.clear()
    first, *later = [request(s) for s in starts(5)]

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        alone = ask(coalescer, pool, first)
        assert await asyncio.to_thread(pool.computing.wait, WAIT)
        rest = [ask(coalescer, pool, r) for r in later]
        await asyncio.sleep(0.05)  # every later request is waiting now
        pool.gate.set()
        return await asyncio.gather(alone, *rest)

    answered = asyncio.run(main())
    assert pool.batches == [1, 4]
    assert [size for _, size in answered] == [1, 4, 4, 4, 4]
    for req, (result, _) in zip([first, *later], answered, strict=True):
        assert answer(result) == answer(compute_surface(req, "cpu"))


def test_a_batch_takes_at_most_most_together(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(together, "MOST_TOGETHER", 2)

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        return await asyncio.gather(*[ask(coalescer, pool, request(s)) for s in starts(5)])

    answered = asyncio.run(main())
    assert pool.batches == [2, 2, 1]
    assert [size for _, size in answered] == [2, 2, 2, 2, 1]


def test_requests_at_their_own_rates_are_one_batch_each_answered_as_alone(pool: Pool) -> None:
    requests = [request(s, optimizer={"name": "adam", "lr": 0.01 * (i + 1)}) for i, s in enumerate(starts(4))]

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        return await asyncio.gather(*[ask(coalescer, pool, r) for r in requests])

    answered = asyncio.run(main())
    assert pool.batches == [4]
    for req, (result, size) in zip(requests, answered, strict=True):
        assert size == 4
        assert answer(result) == answer(compute_surface(req, "cpu"))


def test_requests_that_differ_in_more_than_their_start_and_rate_are_not_mixed(pool: Pool) -> None:
    slow = request([-1.0, 1.0])
    fast = request([-1.0, 1.0], optimizer={"name": "adam", "lr": 0.01, "betas": [0.8, 0.999]})
    assert together_key(slow) != together_key(fast)

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        return list(await asyncio.gather(ask(coalescer, pool, slow), ask(coalescer, pool, fast)))

    answered = asyncio.run(main())
    assert sorted(pool.batches) == [1, 1]
    for req, (result, size) in zip([slow, fast], answered, strict=True):
        assert size == 1
        assert answer(result) == answer(compute_surface(req, "cpu"))


def test_a_request_that_gives_up_does_not_stop_its_batch(pool: Pool) -> None:
    requests = [request(s, steps=2000, stop={"grad_norm": 0}) for s in starts(3)]
    gone = [lambda: True, lambda: False, lambda: True]

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        asked = [ask(coalescer, pool, r, c) for r, c in zip(requests, gone, strict=True)]
        return await asyncio.gather(*asked)

    for result, size in asyncio.run(main()):
        assert size == 3 and result.status is Status.FINISHED


def test_a_batch_stops_once_every_request_in_it_has_given_up(pool: Pool) -> None:
    requests = [request(s, steps=2000, stop={"grad_norm": 0}) for s in starts(3)]

    async def main() -> list[tuple[Result, int]]:
        coalescer = Together()
        return await asyncio.gather(*[ask(coalescer, pool, r, lambda: True) for r in requests])

    for result, _ in asyncio.run(main()):
        assert result.status is Status.CANCELLED
        assert isinstance(result.summary, SurfaceSummary) and result.summary.steps == 0


def test_a_failed_batch_fails_each_of_its_requests_and_the_next_batch_computes(pool: Pool) -> None:
    failing = Pool(pool.pool)

    async def broken(fn: Callable[..., Any], *args: Any) -> Any:
        if fn is run_together:
            raise RuntimeError("the pool is closing")
        return await failing.run_blocking(fn, *args)

    async def main() -> tuple[list[Any], tuple[Result, int]]:
        coalescer = Together()
        key = together_key(request([0.0, 0.0]))
        assert key is not None
        failed = await asyncio.gather(*[coalescer.compute(key, request(s), None, broken, "cpu")
                                        for s in starts(3)], return_exceptions=True)
        return failed, await ask(coalescer, pool, request([0.0, 0.0]))

    failed, (after, size) = asyncio.run(main())
    assert [str(error) for error in failed] == ["the pool is closing"] * 3
    assert size == 1 and after.status is Status.FINISHED


@pytest.mark.parametrize("fields", [
    {"starts": [[0.0, 0.0], [1.0, 1.0]], "start": None},  # several starts: a batch already
    {"record": "final"},  # the ends only: a batch's row 1 holds the last row to stop
    {"optimizer": {"name": "lbfgs"}},  # mixes coordinates: one optimizer per start
    {"schedule": {"name": "plateau"}},  # watches one start's loss
])
def test_a_request_that_cannot_share_a_batch_is_computed_alone(fields: dict[str, Any]) -> None:
    assert together_key(SurfaceRun.model_validate(BODY | {"start": [0.0, 0.0]} | fields)) is None


def test_the_key_is_the_request_without_its_start_and_rate() -> None:
    assert together_key(request([0.0, 0.0])) == together_key(request([1.0, -1.0]))
    assert together_key(request([0.0, 0.0])) == together_key(request([0.0, 0.0], optimizer={"name": "adam"}))
    changes: list[dict[str, Any]] = [{"steps": 301}, {"seed": 1}, {"surface": "ravine"},
                                     {"stop": {"grad_norm": 0}}, {"optimizer": {"name": "adamw"}},
                                     {"optimizer": {"name": "adam", "eps": 1e-6}}]
    for changed in changes:
        assert together_key(request([0.0, 0.0], **changed)) != together_key(request([0.0, 0.0]))
