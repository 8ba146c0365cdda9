"""Executors: who computes a run. The embedded `LocalExecutor` needs no service.

Routes only know this interface: submit a stored run, cancel it, find its live
log, compute an unstored trajectory. Torch work runs in a bounded thread pool,
never on the event loop; each worker thread uses `torch_threads` intra-op
threads (1 by default: on a small machine a second thread per tiny step costs
far more than it gives when the other core is busy).
"""

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, Protocol

import torch

from backend.networks.spec import NetworkRun
from backend.runs.compute import Result, compute, compute_surface, stored, warm_up
from backend.runs.log import LOG_BYTES, RunLog, forget_old_logs
from backend.runs.memory import give_back
from backend.runs.model import Run, Status, SurfaceSummary
from backend.runs.priority import InteractiveFirst
from backend.runs.segments import as_records
from backend.runs.store import RunStore, StoreFull, now
from backend.runs.together import Together, together_key
from backend.surfaces.spec import SurfaceRun

log = logging.getLogger(__name__)


class Computed(NamedTuple):
    """An unstored run's answer, and how many requests its computation answered (1: alone;
    more: requests that differ only in their start and lr, computed together)."""

    status: Status
    summary: SurfaceSummary
    steps: list[dict[str, Any]]
    together: int



class Executor(Protocol):
    kind: str  # "local" | "redis"
    workers: int
    device: str

    async def submit(self, run: Run) -> None: ...
    async def cancel(self, run_id: str) -> bool: ...
    def live_log(self, run_id: str) -> RunLog | None: ...
    def is_active(self, run_id: str) -> bool: ...
    async def compute(self, request: SurfaceRun, cancelled: Callable[[], bool] | None = None) -> Computed: ...
    async def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Any: ...
    async def warm_up(self) -> None: ...
    async def resume_unfinished(self) -> int: ...
    async def close(self) -> None: ...
    async def worker_list(self) -> list[dict[str, Any]]: ...


def resolve_device(setting: str) -> str:
    """`auto` → cuda:0 when torch sees a GPU, else cpu."""
    if setting == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        log.warning("DESCENT_DEVICE=%s but torch sees no GPU; using cpu", setting)
        return "cpu"
    return "cuda:0" if setting == "cuda" else setting


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class InlineWork:
    """Work computed in this process's bounded thread pool: unstored trajectories, analyses."""

    device: str
    _pool: ThreadPoolExecutor
    _together: Together

    async def compute(self, request: SurfaceRun, cancelled: Callable[[], bool] | None = None) -> Computed:
        """An unstored run, computed now, with the requests that differ from it only in their
        start and lr where it can be (`backend.runs.together`); `cancelled()` turning true stops
        it between steps (a batch: once every request in it is cancelled)."""
        key = together_key(request)
        if key is None:
            result = await self.run_blocking(compute_surface, request, self.device, None, cancelled)
            together = 1
        else:
            result, together = await self._together.compute(key, request, cancelled, self.run_blocking,
                                                            self.device)
        assert isinstance(result.summary, SurfaceSummary)
        steps = [s for _, records in result.frames for s in as_records(records)]
        return Computed(result.status, result.summary, steps, together)

    async def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Any other torch work, in the same bounded pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._computing, fn, *args)

    def _computing(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A computation, in a pool thread (where runs share the process, they give way)."""
        return fn(*args)

    async def warm_up(self) -> None:
        """Pay torch's one-time set-up cost before the first request does."""
        await self.run_blocking(warm_up)


class LocalExecutor(InlineWork):
    """Runs in this process, `workers` at a time, in threads; unstored computations in
    `workers` threads of their own, so that a slider's trajectory never waits in the queue
    behind a class's training runs, and runs pause between steps while one computes
    (`backend.runs.priority`)."""

    kind = "local"

    def __init__(self, store: RunStore, workers: int, device: str, torch_threads: int,
                 log_bytes: int = LOG_BYTES) -> None:
        self.store = store
        self.log_bytes = log_bytes  # logs kept in memory, live and recently ended
        self.workers = workers
        self.device = resolve_device(device)
        torch.set_num_threads(torch_threads)
        self._runs = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="descent-run")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="descent-inline")
        self._together = Together()
        self._logs: OrderedDict[str, RunLog] = OrderedDict()
        self._cancel: dict[str, threading.Event] = {}  # queued or running here
        self._started: set[str] = set()  # of those, the ones a worker has picked up
        self._lock = threading.Lock()
        self._closing = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._interactive = InteractiveFirst()

    def _computing(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._interactive.computing():
            return fn(*args)

    async def worker_list(self) -> list[dict[str, Any]]:
        """The API process itself is the one worker."""
        return [{"name": "local", "device": self.device, "concurrency": self.workers,
                 "store": self.store.identity}]

    async def submit(self, run: Run) -> None:
        loop = asyncio.get_running_loop()
        run_log = RunLog(loop)
        with self._lock:  # the worker threads read and prune these
            self._logs[run.id] = run_log
            self._cancel[run.id] = threading.Event()
        task = loop.run_in_executor(self._runs, self._execute, run, run_log)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _execute(self, run: Run, run_log: RunLog) -> None:
        with self._lock:
            stop = self._cancel.get(run.id)
            if stop is None or stop.is_set():  # cancelled while queued: already ended
                return
            self._started.add(run.id)
        try:
            self.store.mark_running(run.id)
            result = compute(
                run.config,
                self.device,
                on_frame=lambda frame: run_log.append(*frame),
                cancelled=self._interactive.between_steps(stop),
                keep=False,
            )
        except Exception as error:  # a bug must fail the run, not the worker thread
            log.exception("run %s failed", run.id)
            self._end(run, run_log, Result(Status.FAILED, None, []), repr(error))
            return
        if self._closing:  # the server is stopping, not the user: the next start recomputes it
            return
        self._end(run, run_log, result, None)

    def _end(self, run: Run, run_log: RunLog, result: Result, error: str | None) -> None:
        """Store the run with the frames its log holds, then tell its watchers."""
        frames = [frame for frame in run_log.frames if stored(frame)]
        try:
            self.store.finish(run.id, result.status, result.summary, frames, error, result.artifacts)
        except StoreFull as full:
            log.error("run %s could not be stored: %s", run.id, full)
            result, error = Result(Status.FAILED, None, []), f"the server's disk is full: {full}"
            try:
                self.store.fail(run.id, error)
            except StoreFull:
                log.error("run %s stays unfinished in the store (disk full)", run.id)
        run_log.end(result.end_message(error))
        with self._lock:
            self._cancel.pop(run.id, None)
            self._started.discard(run.id)
            forget_old_logs(self._logs, self.log_bytes)
        give_back()  # what storing it used, and any log forgotten

    async def cancel(self, run_id: str) -> bool:
        """Stop a run between steps; a run still waiting in the queue ends at once."""
        with self._lock:
            stop = self._cancel.get(run_id)
            if stop is None:
                return False
            stop.set()
            waiting = run_id not in self._started
        self._interactive.wake()
        if waiting:
            with self._lock:
                run_log = self._logs[run_id]
            run = await asyncio.to_thread(self.store.get, run_id)
            assert run is not None
            await asyncio.to_thread(self._end, run, run_log, Result(Status.CANCELLED, None, []),
                                    None)
        return True

    def live_log(self, run_id: str) -> RunLog | None:
        with self._lock:
            return self._logs.get(run_id)

    def is_active(self, run_id: str) -> bool:
        """Queued or running in this process."""
        return run_id in self._cancel

    async def resume_unfinished(self) -> int:
        """Runs left queued or running by a previous process are computed again from step 0."""
        runs = await asyncio.to_thread(self.store.unfinished)
        for run in runs:
            await asyncio.to_thread(self.store.requeue, run.id)
            await self.submit(run.model_copy(update={"status": Status.QUEUED}))
        return len(runs)

    async def close(self) -> None:
        """Stop computing; runs in flight stay queued/running in the store and are
        recomputed by the next start (a restart is not the user cancelling)."""
        self._closing = True
        with self._lock:
            for stop in self._cancel.values():
                stop.set()
        self._interactive.wake()
        deadline = time.monotonic() + 5
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._runs.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)


def queued_run(request: SurfaceRun | NetworkRun) -> Run:
    return Run(id=new_run_id(), kind=request.kind, status=Status.QUEUED, config=request,
               created_at=now())
