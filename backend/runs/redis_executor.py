"""The `redis` executor: runs go to worker processes through Redis; watchers read each run's step stream.

Keys (all under `descent:`):
- `jobs`              stream of submitted runs, read by the consumer group `workers`
                      (`python -m backend.worker`); an entry stays pending until its
                      worker acknowledges it, so a job whose worker died is claimed
                      again (XAUTOCLAIM) once it has been idle for the visibility timeout.
- `run:{id}`          hash: status, attempt (the fencing token of the current worker),
                      worker, requeues, updated.
- `run:{id}:steps`    the run's step stream: `k` (steps | epoch | reset | end), `d` (JSON),
                      `t` (the worker's clock when it wrote the frame). A new attempt
                      starts with a `reset` entry and trims everything before it.
- `run:{id}:cancel`   set by `DELETE /api/runs/{id}`; the worker polls it between steps.
- `active`            set of queued or running run ids; `events` stream of queued / ended.
- `worker:{name}`     heartbeat (JSON: device, concurrency, running runs), expires unless refreshed;
                      `workers` indexes the names by last heartbeat, so nobody scans the keyspace.

Every state change that several processes race for is one Lua script, so it is
atomic: a run is queued once, started by one worker at a time (a worker whose
job was claimed by another can no longer write frames, its attempt number being
stale), and ends once. Ended runs keep their Redis keys for `retention_seconds`;
the run store keeps everything. The API process computes unstored trajectories
itself, in a thread pool, as the local executor does.
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
from redis.exceptions import RedisError, ResponseError

from backend.runs.compute import Result
from backend.runs.executor import InlineWork, resolve_device
from backend.runs.log import RunLog
from backend.runs.store import Frame, RunStore
from backend.schemas import Run, Status
from backend.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "descent:"
JOBS = PREFIX + "jobs"
GROUP = "workers"
ACTIVE = PREFIX + "active"
EVENTS = PREFIX + "events"
WORKER_PREFIX = PREFIX + "worker:"
WORKERS = PREFIX + "workers"  # sorted set: worker name → its last heartbeat (Unix time)
EVENTS_MAXLEN = 10_000
RECENT_LOGS = 64  # ended runs whose log stays in memory for late watchers
OFF_LOOP_BYTES = 256_000  # frames larger than this are parsed in a thread, not on the loop
ENDED = tuple(s.value for s in Status if s.ended)


def run_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}"


def steps_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}:steps"


def cancel_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}:cancel"


# KEYS: run, jobs, active, events · ARGV: run id, run JSON, now
SUBMIT = f"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempt', 0, 'requeues', 0, 'updated', ARGV[3])
redis.call('XADD', KEYS[2], '*', 'run', ARGV[1], 'body', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', {EVENTS_MAXLEN}, '*', 'run', ARGV[1], 'event', 'queued')
return 1
"""

# KEYS: run, steps · ARGV: worker, now → {attempt, requeues}; attempt 0: the run has ended, skip it
BEGIN = """
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'queued' and status ~= 'running' then return {0, 0} end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'updated', ARGV[2])
if redis.call('XLEN', KEYS[2]) > 0 then
  local id = redis.call('XADD', KEYS[2], '*', 'k', 'reset', 'd', attempt, 't', ARGV[2])
  redis.call('XTRIM', KEYS[2], 'MINID', id)
end
return {attempt, tonumber(redis.call('HGET', KEYS[1], 'requeues') or '0')}
"""

# KEYS: run, steps · ARGV: attempt, kind, data, now → 0 when another attempt owns the run
APPEND = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], '*', 'k', ARGV[2], 'd', ARGV[3], 't', ARGV[4])
return 1
"""

# KEYS: run, jobs · ARGV: attempt, group, consumer, job id: keep a running job from looking idle
TOUCH = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'JUSTID')
return 1
"""

# KEYS: run, steps, cancel, active, events, jobs
# ARGV: attempt ('' = unfenced), status, end JSON, now, retention, run id, group, job id ('' = none)
FINISH = f"""
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], '*', 'k', 'end', 'd', ARGV[3], 't', ARGV[4])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[4], ARGV[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', {EVENTS_MAXLEN}, '*',
           'run', ARGV[6], 'event', 'ended', 'status', ARGV[2])
if ARGV[8] ~= '' then
  redis.call('XACK', KEYS[6], ARGV[7], ARGV[8])
  redis.call('XDEL', KEYS[6], ARGV[8])
end
return 1
"""

# KEYS: run, jobs · ARGV: attempt, run id, run JSON, group, job id: a stopping worker gives a job back
REQUEUE = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'worker', '')
redis.call('HINCRBY', KEYS[1], 'requeues', 1)
redis.call('XADD', KEYS[2], '*', 'run', ARGV[2], 'body', ARGV[3])
redis.call('XACK', KEYS[2], ARGV[4], ARGV[5])
redis.call('XDEL', KEYS[2], ARGV[5])
return 1
"""

# KEYS: run, cancel · ARGV: retention, now, worker key prefix
# → 2: cancelled here (queued, or its worker is gone): the caller ends it; 1: its worker will stop; 0: ended
CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated', ARGV[2])
  return 2
end
if status ~= 'running' then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
local worker = redis.call('HGET', KEYS[1], 'worker')
if not worker or redis.call('EXISTS', ARGV[3] .. worker) == 0 then
  -- its worker is gone; should it only be stalled, the new attempt number fences it out
  redis.call('HINCRBY', KEYS[1], 'attempt', 1)
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated', ARGV[2])
  return 2
end
return 1
"""


def stream_frames(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Frame]:
    """The frames of a step stream's entries, from the last reset on (end markers left out)."""
    frames: list[Frame] = []
    for _, fields in entries:
        kind = fields[b"k"].decode()
        if kind == "reset":
            frames = []
        elif kind != "end":
            frames.append((kind, orjson.loads(fields[b"d"])))
    return frames


async def ensure_group(client: aioredis.Redis) -> None:
    """The consumer group over the job stream (from its start: jobs queued before any worker count)."""
    try:
        await client.xgroup_create(JOBS, GROUP, id="0", mkstream=True)
    except ResponseError as error:  # BUSYGROUP: it exists
        if "BUSYGROUP" not in str(error):
            raise


class RedisExecutor(InlineWork):
    """Submits runs to Redis; mirrors each watched run's step stream into a `RunLog`."""

    name = "redis"

    def __init__(self, store: RunStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.workers = 0  # live worker processes, refreshed from their heartbeats
        torch.set_num_threads(settings.torch_threads)
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="descent-inline")
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
        await ensure_group(executor._redis)
        last = await executor._sync_active()
        await executor.worker_list()
        executor._background = [
            asyncio.create_task(executor._follow_events(last), name="descent-events"),
            asyncio.create_task(executor._watch_workers(), name="descent-workers"),
        ]
        return executor

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
        self._forget_old_logs()
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
                            run_log.append(kind, await _loads(fields[b"d"]))
                    except (KeyError, ValueError):  # a malformed entry: skip it, keep following
                        log.exception("run %s: bad step-stream entry %r", run_id, entry_id)
        finally:
            self._followers.pop(run_id, None)
            self._forget_old_logs()

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

    def _forget_old_logs(self) -> None:
        ended = [run_id for run_id, run_log in self._logs.items() if run_log.ended]
        for run_id in ended[: max(0, len(ended) - RECENT_LOGS)]:
            self._logs.pop(run_id, None)

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


async def _loads(data: bytes) -> Any:
    if len(data) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(orjson.loads, data)
    return orjson.loads(data)
