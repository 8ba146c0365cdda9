"""The embedded executor's races, played in a chosen order: the computation is replaced by one
the test steers with events (it starts, emits a frame, then waits to be released or cancelled),
so a cancel lands while a run is queued, while it runs, or while its end is being stored, on
purpose rather than by timing. A run ends exactly once, and how it ended is what the store, the
live log and the executor all say."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.runs import executor as executor_module
from backend.runs import priority
from backend.runs.compute import Result
from backend.runs.executor import LocalExecutor, queued_run
from backend.runs.model import Run, Status
from backend.runs.store import RunStore
from backend.surfaces.spec import SurfaceRun

WAIT = 30.0  # a hang guard for the events below, never reached when the code is right
REQUEST = SurfaceRun.model_validate({"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1},
                                     "steps": 5})


class Steered:
    """A computation per run that reports it started, emits one frame, and then ends when the
    test releases it (`finished`) or at the first `cancelled()` that says so (`cancelled`)."""

    def __init__(self) -> None:
        self.started: dict[str, threading.Event] = {}
        self.release: dict[str, threading.Event] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def expect(self, run: Run) -> Run:
        self.started[run.id], self.release[run.id] = threading.Event(), threading.Event()
        return run

    def __call__(self, config: Any, device: str, on_frame: Callable[..., None],
                 cancelled: Callable[[], bool], keep: bool = True) -> Result:
        run_id = next(i for i, e in self.release.items() if not e.is_set() and i not in self.calls)
        with self._lock:
            self.calls.append(run_id)
        frames = [("steps", [{"step": 0}])]
        on_frame(frames[0])
        self.started[run_id].set()
        while not self.release[run_id].wait(0.001):
            if cancelled():
                return Result(Status.CANCELLED, None, frames)
        return Result(Status.FINISHED, None, frames)


@pytest.fixture
def steered(monkeypatch: pytest.MonkeyPatch) -> Steered:
    computation = Steered()
    monkeypatch.setattr(executor_module, "compute", computation)
    return computation


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    runs = RunStore(tmp_path / "runs.sqlite3")
    yield runs
    runs.close()


def queued(store: RunStore, steered: Steered) -> Run:
    run = steered.expect(queued_run(REQUEST))
    store.create(run)
    return run


async def wait(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, WAIT), "the steered computation never got there"


async def ended(executor: LocalExecutor, run: Run) -> dict[str, Any]:
    """The end message of the run's live log, once there is one."""
    log = executor.live_log(run.id)
    assert log is not None

    async def end() -> dict[str, Any]:
        while True:
            epoch, frames, message, _ = log.read(0, 0)
            if message is not None:
                return message
            await log.wait(epoch, len(frames))

    return await asyncio.wait_for(end(), WAIT)


def test_a_run_cancelled_in_the_queue_is_never_computed(store: RunStore, steered: Steered) -> None:
    async def scenario() -> None:
        executor = LocalExecutor(store, workers=1, device="cpu", torch_threads=1)
        busy, waiting = queued(store, steered), queued(store, steered)
        await executor.submit(busy)
        await wait(steered.started[busy.id])  # the one worker thread is taken
        await executor.submit(waiting)
        assert await executor.cancel(waiting.id)
        assert (await ended(executor, waiting))["status"] == "cancelled"
        stored = store.get(waiting.id)
        assert stored is not None and stored.status == Status.CANCELLED and stored.started_at is None
        assert not executor.is_active(waiting.id)
        steered.release[busy.id].set()
        assert (await ended(executor, busy))["status"] == "finished"
        await executor.close()

    asyncio.run(scenario())
    assert len(steered.calls) == 1  # the cancelled run never reached the computation
    assert store.frames(steered.calls[0]) == [("steps", [{"step": 0}])]


def test_a_cancel_reaches_a_running_run_between_steps(store: RunStore, steered: Steered) -> None:
    async def scenario() -> Run:
        executor = LocalExecutor(store, workers=1, device="cpu", torch_threads=1)
        run = queued(store, steered)
        await executor.submit(run)
        await wait(steered.started[run.id])
        assert store.get(run.id).status == Status.RUNNING  # type: ignore[union-attr]
        assert await executor.cancel(run.id)
        assert (await ended(executor, run))["status"] == "cancelled"
        await executor.close()  # waits for the worker thread
        assert not executor.is_active(run.id)
        return run

    run = asyncio.run(scenario())
    stored = store.get(run.id)
    assert stored is not None and stored.status == Status.CANCELLED
    assert store.frames(run.id) == [("steps", [{"step": 0}])]  # what it computed is kept


def test_a_cancel_that_arrives_while_the_end_is_stored_leaves_the_run_finished(
    store: RunStore, steered: Steered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The computation returned `finished`; while its end is being written, DELETE comes in. The
    run ends once, finished, and the store, the log and the executor agree."""
    storing, go_on = threading.Event(), threading.Event()
    finishes: list[Status] = []
    real_finish = store.finish

    def slow_finish(run_id: str, status: Status, *args: Any) -> None:
        finishes.append(status)
        storing.set()
        assert go_on.wait(WAIT)
        real_finish(run_id, status, *args)

    monkeypatch.setattr(store, "finish", slow_finish)

    async def scenario() -> Run:
        executor = LocalExecutor(store, workers=1, device="cpu", torch_threads=1)
        run = queued(store, steered)
        await executor.submit(run)
        await wait(steered.started[run.id])
        steered.release[run.id].set()
        await wait(storing)  # the worker thread is inside store.finish(finished)
        assert await executor.cancel(run.id)  # still registered: the cancel is accepted...
        go_on.set()
        assert (await ended(executor, run))["status"] == "finished"  # ...but comes too late
        await executor.close()  # waits for the worker thread
        assert not executor.is_active(run.id)
        assert not await executor.cancel(run.id)  # and a second DELETE finds it ended
        return run

    run = asyncio.run(scenario())
    assert finishes == [Status.FINISHED]
    stored = store.get(run.id)
    assert stored is not None and stored.status == Status.FINISHED


def test_closing_the_executor_is_not_cancelling_its_runs(store: RunStore, steered: Steered) -> None:
    """A server that stops leaves its running run `running` in the store (the next start computes
    it again), neither cancelled nor finished, and ends no log."""

    async def scenario() -> Run:
        executor = LocalExecutor(store, workers=1, device="cpu", torch_threads=1)
        run = queued(store, steered)
        await executor.submit(run)
        await wait(steered.started[run.id])
        log = executor.live_log(run.id)
        await executor.close()
        assert log is not None and not log.ended
        return run

    run = asyncio.run(scenario())
    stored = store.get(run.id)
    assert stored is not None and stored.status == Status.RUNNING
    assert [r.id for r in store.unfinished()] == [run.id]


LONG = SurfaceRun.model_validate({"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001},
                                  "steps": 9999, "stop": {"grad_norm": 0}})  # seconds of steps


async def computing(executor: LocalExecutor, store: RunStore) -> tuple[Run, "asyncio.Future[None]",
                                                                        threading.Event]:
    """A long run starts stepping; then a computation starts and holds until the event is set."""
    run = queued_run(LONG)
    store.create(run)
    await executor.submit(run)
    inside, release = threading.Event(), threading.Event()
    log = executor.live_log(run.id)
    assert log is not None
    while not log.frames:
        await asyncio.sleep(0.01)

    def held() -> None:
        inside.set()
        assert release.wait(WAIT)

    task = asyncio.ensure_future(executor.run_blocking(held))
    await wait(inside)
    return run, task, release


def test_a_run_pauses_while_a_computation_is_in_flight_and_then_goes_on(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(priority, "SLICE_S", 3 * WAIT)  # the pause lasts as long as the computation

    async def scenario() -> None:
        executor = LocalExecutor(store, workers=1, device="cpu", torch_threads=1)
        run, task, release = await computing(executor, store)
        log = executor.live_log(run.id)
        assert log is not None
        await asyncio.sleep(0.1)  # the step under way when the computation began ends
        paused = len(log.frames)
        await asyncio.sleep(0.4)  # frames come every 50 ms while a run steps
        assert len(log.frames) == paused and not log.ended
        release.set()
        await task
        while len(log.frames) == paused:
            await asyncio.sleep(0.01)
        assert await executor.cancel(run.id)
        assert (await ended(executor, run))["status"] == "cancelled"
        await executor.close()

    asyncio.run(scenario())


def test_a_run_paused_for_a_computation_is_cancelled_at_once(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(priority, "SLICE_S", 3 * WAIT)  # only the cancel can end the pause

    async def scenario() -> None:
        executor = LocalExecutor(store, workers=1, device="cpu", torch_threads=1)
        run, task, release = await computing(executor, store)
        assert await executor.cancel(run.id)
        assert (await ended(executor, run))["status"] == "cancelled"  # the computation still holds
        assert not task.done()
        release.set()
        await task
        await executor.close()

    asyncio.run(scenario())
