"""The `redis` executor: runs go to worker processes through Redis; watchers read each run's step stream.

The keys and scripts are in `protocol.py`. Ended runs keep their Redis keys for
`retention_seconds`; the run store keeps everything. The API process computes
unstored trajectories itself, in a thread pool, as the local executor does.
"""


import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import redis.asyncio as aioredis
import torch
from redis.exceptions import RedisError

from backend.runs.compute import Result
from backend.runs.executor import InlineWork, resolve_device
from backend.runs.log import RunLog, forget_old_logs
from backend.runs.model import Run, Status
from backend.runs.redis.protocol import (
    ACTIVE,
    CANCEL,
    ENDED,
    ENSURE_GROUP,
    EVENTS,
    FINISH,
    GROUP,
    JOBS,
    STORE,
    SUBMIT,
    WORKER_PREFIX,
    WORKERS,
    cancel_key,
    entry_frame,
    run_key,
    steps_key,
    stream_frames,
)
from backend.runs.store import Frame, RunStore
from backend.runs.together import Together
from backend.settings import Settings

log = logging.getLogger(__name__)

OFF_LOOP_BYTES = 256_000  # frames larger than this are parsed in a thread, not on the loop


class RedisExecutor(InlineWork):
    """Submits runs to Redis; mirrors each watched run's step stream into a `RunLog`."""

    kind = "redis"

    def __init__(self, store: RunStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.workers = 0  # live worker processes, refreshed from their heartbeats
        torch.set_num_threads(settings.torch_threads)
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="descent-inline")
        self._together = Together()
        self._redis = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=15, socket_connect_timeout=5, health_check_interval=30
        )
        self._submit = self._redis.register_script(SUBMIT)
        self._finish = self._redis.register_script(FINISH)
        self._cancel = self._redis.register_script(CANCEL)
        self._active: set[str] = set()  # queued or running anywhere (mirrors `descent:active`)
        self._logs: OrderedDict[str, RunLog] = OrderedDict()
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        self._worker_list: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, store: RunStore, settings: Settings) -> "RedisExecutor":
        """An executor with its group created and its active-run mirror and worker list current."""
        executor = cls(store, settings)
        await executor._redis.eval(ENSURE_GROUP, 1, JOBS, GROUP)
        previous: Any = await executor._redis.getset(STORE, store.identity)
        if previous is not None and previous.decode() != store.identity:
            log.warning("Redis named another run store (%s) before this API's (%s): workers started "
                        "for that one will refuse to work", previous.decode(), store.identity)
        last = await executor._sync_active()
        await executor.worker_list()
        executor._background = [
            asyncio.create_task(executor._follow_events(last), name="descent-events"),
            asyncio.create_task(executor._watch_workers(), name="descent-workers"),
        ]
        return executor

    @property
    def redis(self) -> aioredis.Redis:
        """The connection pool to Redis (admission shares it)."""
        return self._redis

    # --- runs ----------------------------------------------------------------------------

    async def submit(self, run: Run) -> None:
        await self._submit(
            keys=[run_key(run.id), JOBS, ACTIVE, EVENTS],
            args=[run.id, run.model_dump_json(), time.time()],
        )
        self._active.add(run.id)

    async def cancel(self, run_id: str) -> bool:
        outcome = await self._cancel(
            keys=[run_key(run_id), cancel_key(run_id)],
            args=[self.settings.retention_seconds, time.time(), WORKER_PREFIX],
        )
        if outcome == 2:  # nobody is computing it: end it here
            await self._end_here(run_id, Status.CANCELLED, None)
        return bool(outcome)

    async def _end_here(self, run_id: str, status: Status, error: str | None) -> None:
        """End a run no worker will end: store what it streamed so far, then its end marker."""
        entries: Any = await self._redis.xrange(steps_key(run_id))
        frames = await asyncio.to_thread(stream_frames, entries)
        result = Result(status, None, frames)
        await asyncio.to_thread(self.store.finish, run_id, status, None, frames, error)
        await self._finish(
            keys=[run_key(run_id), steps_key(run_id), cancel_key(run_id), ACTIVE, EVENTS, JOBS],
            args=["", status.value, orjson.dumps(result.end_message(error)), time.time(),
                  self.settings.retention_seconds, run_id, GROUP, ""],
        )
        self._active.discard(run_id)

    def is_active(self, run_id: str) -> bool:
        """Queued or running on any worker."""
        return run_id in self._active

    def live_log(self, run_id: str) -> RunLog | None:
        """The run's log, mirrored from its step stream while it is active (or recently ended)."""
        run_log = self._logs.get(run_id)
        if run_log is not None:
            self._logs.move_to_end(run_id)
            return run_log
        if run_id not in self._active:
            return None  # ended long ago, or unknown: the store answers
        run_log = RunLog(asyncio.get_running_loop())
        self._logs[run_id] = run_log
        self._followers[run_id] = asyncio.create_task(
            self._follow(run_id, run_log), name=f"descent-follow-{run_id}"
        )
        forget_old_logs(self._logs, self.settings.log_memory_bytes)
        return run_log

    async def _follow(self, run_id: str, run_log: RunLog) -> None:
        """Copy the step stream into the log: replay from the start, then live, until `end`."""
        key, last, quiet = steps_key(run_id), b"0-0", 0
        try:
            while True:
                try:
                    reply: Any = await self._redis.xread({key: last}, count=500, block=1000)
                except RedisError as error:
                    log.warning("reading %s: %s; retrying", key, error)
                    await asyncio.sleep(1)
                    continue
                if not reply:
                    quiet += 1
                    if quiet % 5 == 0 and await self._lost(run_id):
                        await self._end_from_store(run_id, run_log)
                        return
                    continue
                quiet = 0
                for entry_id, fields in reply[0][1]:
                    last = entry_id
                    try:
                        kind = fields[b"k"].decode()
                        if kind == "reset":
                            if run_log.frames:
                                run_log.reset()
                        elif kind == "end":
                            run_log.end(orjson.loads(fields[b"d"]))
                            return
                        else:
                            run_log.append(*await _frame(kind, fields[b"d"]))
                    except (KeyError, ValueError):  # a malformed entry: skip it, keep following
                        log.exception("run %s: bad step-stream entry %r", run_id, entry_id)
        finally:
            self._followers.pop(run_id, None)
            forget_old_logs(self._logs, self.settings.log_memory_bytes)

    async def _lost(self, run_id: str) -> bool:
        """No end marker will come: the Redis keys are gone, or the store already has the end."""
        status: Any = await self._redis.hget(run_key(run_id), "status")
        if status is not None and status.decode() not in ENDED:
            return False
        run = await asyncio.to_thread(self.store.get, run_id)
        return run is None or run.status.ended

    async def _end_from_store(self, run_id: str, run_log: RunLog) -> None:
        run = await asyncio.to_thread(self.store.get, run_id)
        frames = await asyncio.to_thread(self.store.frames, run_id)
        run_log.reset()
        for kind, records in frames:
            run_log.append(kind, records)
        status = run.status if run is not None else Status.FAILED
        summary = run.summary if run is not None else None
        run_log.end(Result(status, summary, frames).end_message(run.error if run else "run lost"))
        self._active.discard(run_id)


    async def resume_unfinished(self) -> int:
        """Runs the store calls unfinished but Redis has lost (or never had) are queued again."""
        resumed = 0
        for run in await asyncio.to_thread(self.store.unfinished):
            status: Any = await self._redis.hget(run_key(run.id), "status")
            if status is None:
                await asyncio.to_thread(self.store.requeue, run.id)
                await self.submit(run.model_copy(update={"status": Status.QUEUED}))
                resumed += 1
            elif status.decode() in ENDED and run.id not in self._active:
                # ended in Redis by an API process that stopped before writing the store
                await self._end_here(run.id, Status(status.decode()), "ended while the API was down")
        return resumed

    # --- the mirror of what is active, and of the workers --------------------------------------

    async def _sync_active(self) -> bytes:
        """Read the active set; answer the events stream's position to follow from."""
        newest: Any = await self._redis.xrevrange(EVENTS, count=1)
        members: Any = await self._redis.smembers(ACTIVE)
        self._active = {m.decode() for m in members}
        return newest[0][0] if newest else b"0-0"

    async def _follow_events(self, last: bytes) -> None:
        while True:
            try:
                reply: Any = await self._redis.xread({EVENTS: last}, count=1000, block=5000)
            except RedisError as error:
                log.warning("reading %s: %s; resynchronising", EVENTS, error)
                await asyncio.sleep(1)
                with contextlib.suppress(RedisError):
                    last = await self._sync_active()
                continue
            for entry_id, fields in reply[0][1] if reply else []:
                last = entry_id
                run_id = fields.get(b"run", b"").decode()
                if fields.get(b"event") == b"queued":
                    self._active.add(run_id)
                else:
                    self._active.discard(run_id)

    async def worker_list(self) -> list[dict[str, Any]]:
        """Live workers from their heartbeats: name, host, device, concurrency, running."""
        stale = time.time() - 3600
        await self._redis.zremrangebyscore(WORKERS, "-inf", stale)
        names: Any = await self._redis.zrangebyscore(WORKERS, stale, "+inf")
        beats: Any = await self._redis.mget([WORKER_PREFIX + n.decode() for n in names]) if names else []
        self._worker_list = sorted(
            (orjson.loads(beat) for beat in beats if beat is not None), key=lambda w: str(w["name"])
        )
        self.workers = len(self._worker_list)
        return self._worker_list

    async def _watch_workers(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self.worker_list()
            except (RedisError, ValueError) as error:
                log.warning("listing workers: %s", error)

    async def close(self) -> None:
        tasks = [*self._background, *self._followers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._redis.aclose()
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _frame(kind: str, data: bytes) -> Frame:
    if len(data) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(entry_frame, kind, data)
    return entry_frame(kind, data)
