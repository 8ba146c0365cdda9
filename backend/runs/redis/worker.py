"""A Redis worker (`python -m backend.worker`): compute runs from the job stream (the `redis` executor).

Start one process per GPU (`--device cuda:1`) or per CPU slot. Each computes up to
`--concurrency` runs at once, one thread each, with `torch.set_num_threads`
set once for the process (`DESCENT_TORCH_THREADS`, 1 by default: several small
runs side by side use the cores better than one run on several threads). A run
is computed by `backend.runs.compute.compute`, as in the embedded executor, so
its frames are the same wherever it runs; each frame goes to the run's step
stream as soon as it is recorded.

At-least-once: a job stays pending in the consumer group until this worker has
stored the run and acknowledged it. While it runs, a heartbeat thread keeps it
claimed; if this process dies, another worker claims the job after
`DESCENT_VISIBILITY_TIMEOUT` seconds and computes it again from step 0 (the
step stream gets a `reset` entry). On SIGTERM the worker stops taking jobs,
lets running ones finish for `--grace` seconds, then gives the rest back.
"""

import argparse
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import orjson
import redis
import torch
from redis.exceptions import RedisError

from backend.runs.compute import Result, compute, freeze_startup_objects, warm_up
from backend.runs.executor import resolve_device
from backend.runs.memory import give_back
from backend.runs.model import Run, Status
from backend.runs.redis.protocol import (
    ACTIVE,
    APPEND,
    BEGIN,
    ENSURE_GROUP,
    EVENTS,
    FINISH,
    GROUP,
    JOBS,
    REQUEUE,
    STORE,
    TOUCH,
    WORKER_PREFIX,
    WORKERS,
    cancel_key,
    run_key,
    steps_key,
    stream_entry,
)
from backend.runs.store import Frame, RunStore
from backend.settings import Settings, get_settings, reading_stored

log = logging.getLogger("backend.worker")

CANCEL_POLL_SECONDS = 0.05  # the cancel key is read at most this often, between steps
CONSUMER_SWEEP_SECONDS = 60.0  # how often consumers of dead workers are removed from the group


class Job:
    """One attempt at one run on this worker."""

    def __init__(self, worker: "Worker", job_id: bytes, run_id: str, attempt: int) -> None:
        self.worker = worker
        self.job_id = job_id
        self.run_id = run_id
        self.attempt = attempt
        self.frames: list[Frame] = []  # what was streamed, kept in case the computation fails
        self.stop = threading.Event()  # this worker is stopping, or another attempt owns the run
        self.lost = False  # another worker claimed the job: write nothing more
        self.cancel_requested = False
        self._checked = 0.0

    def on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        kind, data = stream_entry(frame)
        written = self.worker.append(keys=[run_key(self.run_id), steps_key(self.run_id)],
                                     args=[self.attempt, kind, data, time.time()])
        if not written:
            self.give_up()

    def cancelled(self) -> bool:
        """Asked between steps: stop if cancelled (polled ≤ every 50 ms), lost, or shutting down."""
        if self.stop.is_set():
            return True
        now = time.monotonic()
        if now - self._checked >= CANCEL_POLL_SECONDS:
            self._checked = now
            self.cancel_requested = bool(self.worker.redis.exists(cancel_key(self.run_id)))
        return self.cancel_requested

    def give_up(self) -> None:
        if not self.lost:
            log.warning("run %s attempt %d was claimed by another worker", self.run_id, self.attempt)
        self.lost = True
        self.stop.set()


class Worker:
    """A consumer in the `workers` group: reads jobs, computes them in threads, heartbeats."""

    def __init__(self, settings: Settings, name: str, concurrency: int, device: str, grace: float) -> None:
        self.settings = settings
        self.name = name
        self.concurrency = concurrency
        self.device = resolve_device(device)
        self.grace = grace
        self.redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=15, socket_connect_timeout=5, health_check_interval=30
        )
        self.begin = self.redis.register_script(BEGIN)
        self.append = self.redis.register_script(APPEND)
        self.touch = self.redis.register_script(TOUCH)
        self.finish = self.redis.register_script(FINISH)
        self.requeue = self.redis.register_script(REQUEUE)
        self.store = RunStore(settings.database_url or settings.data_dir / "descent.sqlite3")
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="descent-worker")
        self.jobs: dict[bytes, Job | None] = {}  # job id → its attempt (None while starting)
        self.lock = threading.Lock()
        self.slot_freed = threading.Event()
        self.stopping = threading.Event()
        self.closed = threading.Event()
        self.started_at = time.time()
        self.refused = False  # its run store is not the API's
        interval = min(settings.heartbeat_seconds, settings.visibility_timeout / 3)
        self.beat_interval = interval
        self.beat_ttl_ms = max(1000, int(3000 * settings.heartbeat_seconds))
        self.poll_seconds = min(1.0, settings.visibility_timeout / 2)

    # --- the main loop ------------------------------------------------------------------------

    def same_store(self) -> bool:
        """Whether the API's run store (published in Redis) is this worker's: runs computed
        into another store would stay `queued` on the API forever. None published yet (no API
        has started): nothing to compare, and no job to take either."""
        published: Any = self.redis.get(STORE)
        if published is None or published.decode() == self.store.identity:
            return True
        log.error("this worker's run store (%s, id %s) is not the API's (id %s): start it with the "
                  "API's DESCENT_DATABASE_URL (or its data directory); refusing to compute runs",
                  self.store.url, self.store.identity, published.decode())
        return False

    def serve(self) -> None:
        self.redis.eval(ENSURE_GROUP, 1, JOBS, GROUP)
        beats = threading.Thread(target=self._heartbeats, name="descent-heartbeat", daemon=True)
        beats.start()
        log.info("worker %s on %s, %d at a time, %d torch threads", self.name, self.device,
                 self.concurrency, torch.get_num_threads())
        next_reclaim = next_sweep = 0.0
        while not self.stopping.is_set():
            free = self.concurrency - len(self.jobs)
            if free <= 0:
                self.slot_freed.wait(0.2)
                self.slot_freed.clear()
                continue
            try:
                if not self.same_store():
                    self.refused = True
                    self.stopping.set()
                    break
                entries: list[tuple[bytes, dict[bytes, bytes]]] = []
                if time.monotonic() >= next_reclaim:
                    next_reclaim = time.monotonic() + self.poll_seconds
                    entries = self._reclaim(free)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + CONSUMER_SWEEP_SECONDS
                    self._sweep_consumers()
                if not entries:
                    reply: Any = self.redis.xreadgroup(
                        GROUP, self.name, {JOBS: ">"}, count=free, block=int(self.poll_seconds * 1000)
                    )
                    entries = reply[0][1] if reply else []
            except RedisError as error:
                log.warning("reading jobs: %s; retrying", error)
                time.sleep(1)
                continue
            for job_id, fields in entries:
                self._start(job_id, fields)
        self._shutdown()
        beats.join()

    def _reclaim(self, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Jobs pending longer than the visibility timeout: their worker died. Claim them."""
        answer: Any = self.redis.xautoclaim(
            JOBS, GROUP, self.name, int(self.settings.visibility_timeout * 1000), "0-0", count=count
        )
        _, entries, _ = answer
        claimed = [(job_id, fields) for job_id, fields in entries if job_id not in self.jobs]
        for job_id, fields in claimed:
            log.info("claimed job %s (run %s) from a silent worker", job_id.decode(),
                     fields[b"run"].decode())
        return claimed

    def _sweep_consumers(self) -> None:
        """Forget group consumers whose worker is gone and who hold nothing."""
        consumers: Any = self.redis.xinfo_consumers(JOBS, GROUP)
        for consumer in consumers:
            name = consumer["name"].decode()
            if consumer["pending"] == 0 and name != self.name and not self.redis.exists(
                WORKER_PREFIX + name
            ):
                self.redis.xgroup_delconsumer(JOBS, GROUP, name)

    def _start(self, job_id: bytes, fields: dict[bytes, bytes]) -> None:
        with self.lock:
            self.jobs[job_id] = None
        self.pool.submit(self._execute, job_id, fields)

    # --- one job --------------------------------------------------------------------------------

    def _execute(self, job_id: bytes, fields: dict[bytes, bytes]) -> None:
        run_id = fields[b"run"].decode()
        try:
            attempt, requeues = self.begin(keys=[run_key(run_id), steps_key(run_id)],
                                           args=[self.name, time.time()])
            if attempt == 0:  # ended already (cancelled while queued, or a late duplicate)
                self.redis.xack(JOBS, GROUP, job_id)
                self.redis.xdel(JOBS, job_id)
                return
            job = Job(self, job_id, run_id, int(attempt))
            with self.lock:
                self.jobs[job_id] = job
            if attempt - requeues > self.settings.max_attempts:
                self._end(job, Result(Status.FAILED, None, []),
                          f"gave up: the run's worker was lost {attempt - requeues - 1} times")
                return
            self._compute(job, fields[b"body"])
        except RedisError as error:  # the job stays pending; a worker claims it once Redis is back
            log.error("run %s: Redis failed (%s); leaving the job pending", run_id, error)
        except Exception:
            log.exception("run %s: worker error", run_id)
        finally:
            with self.lock:
                self.jobs.pop(job_id, None)
            give_back()  # what the run's frames held, and the scratch between them
            self.slot_freed.set()

    def _compute(self, job: Job, body: bytes) -> None:
        error: str | None = None
        try:
            with reading_stored():  # the API validated it; the worker's own limits do not apply
                run = Run.model_validate_json(body)
            self.store.mark_running(job.run_id)
            log.info("run %s attempt %d started", job.run_id, job.attempt)
            result = compute(run.config, self.device, on_frame=job.on_frame, cancelled=job.cancelled)
        except RedisError:
            raise
        except Exception as exc:  # a bug fails the run, not the worker
            log.exception("run %s failed", job.run_id)
            result, error = Result(Status.FAILED, None, job.frames), repr(exc)
        if job.lost:
            return
        if job.stop.is_set() and result.status == Status.CANCELLED and not job.cancel_requested:
            self._give_back(job, body)
            return
        self._end(job, result, error)

    def _end(self, job: Job, result: Result, error: str | None) -> None:
        """Store first, then announce the end: whoever sees the end marker finds the run stored."""
        self.store.finish(job.run_id, result.status, result.summary, result.frames, error,
                          result.artifacts)
        ended = self.finish(
            keys=[run_key(job.run_id), steps_key(job.run_id), cancel_key(job.run_id), ACTIVE,
                  EVENTS, JOBS],
            args=[job.attempt, result.status.value, orjson.dumps(result.end_message(error)),
                  time.time(), self.settings.retention_seconds, job.run_id, GROUP, job.job_id],
        )
        if ended:
            log.info("run %s %s", job.run_id, result.status.value)
        else:
            log.warning("run %s ended here but another attempt owns it", job.run_id)

    def _give_back(self, job: Job, body: bytes) -> None:
        """Stopping mid-run: queue the run again for another worker, from step 0."""
        self.store.requeue(job.run_id)
        if self.requeue(keys=[run_key(job.run_id), JOBS],
                        args=[job.attempt, job.run_id, body, GROUP, job.job_id]):
            log.info("run %s given back to the queue", job.run_id)

    # --- heartbeats and shutdown ----------------------------------------------------------------

    def _heartbeats(self) -> None:
        while True:
            try:
                self._beat()
            except Exception as error:  # a failed beat must not end the heartbeats: redis-py
                # raises ValueError, not a RedisError, when a read fails on a buffer closed under it
                log.warning("heartbeat: %s: %s", type(error).__name__, error)
            if self.closed.wait(self.beat_interval):
                return

    def _beat(self) -> None:
        with self.lock:
            jobs = [job for job in self.jobs.values() if job is not None]
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(WORKER_PREFIX + self.name, orjson.dumps({
                "name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                "device": self.device, "concurrency": self.concurrency, "running": len(jobs),
                "runs": [job.run_id for job in jobs], "started_at": self.started_at, "seen_at": now,
                "store": self.store.identity,
            }), px=self.beat_ttl_ms)
            pipe.zadd(WORKERS, {self.name: now})
            pipe.execute()
        for job in jobs:
            if not job.lost and not self.touch(keys=[run_key(job.run_id), JOBS],
                                               args=[job.attempt, GROUP, self.name, job.job_id]):
                job.give_up()

    def stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping (running runs get %.0f s to finish)", signum, self.grace)
        self.stopping.set()

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.grace
        while self.jobs and time.monotonic() < deadline:
            time.sleep(0.05)
        with self.lock:
            for job in self.jobs.values():
                if job is not None:
                    job.stop.set()
        self.pool.shutdown(wait=True)
        self.closed.set()
        with contextlib.suppress(RedisError):
            self.redis.delete(WORKER_PREFIX + self.name)
            self.redis.zrem(WORKERS, self.name)
        self.store.close()
        self.redis.close()


def heartbeating(settings: Settings, host: str) -> bool:
    """Whether a worker named after this host (the default name) has a live heartbeat."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        names: Any = client.zrange(WORKERS, 0, -1)
        mine = [WORKER_PREFIX + n.decode() for n in names if n.decode().startswith(f"{host}-")]
        return bool(mine) and bool(client.exists(*mine))
    except RedisError:
        return False
    finally:
        client.close()


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m backend.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=settings.worker_concurrency,
                        help="runs computed at once (DESCENT_WORKER_CONCURRENCY)")
    parser.add_argument("--device", default=settings.device, help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--torch-threads", type=int, default=settings.torch_threads,
                        help="torch intra-op threads for this process (DESCENT_TORCH_THREADS)")
    parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="consumer name; unique among live workers")
    parser.add_argument("--grace", type=float, default=20.0,
                        help="seconds running runs may finish after SIGTERM before they are given back")
    parser.add_argument("--nice", type=int, default=settings.worker_nice,
                        help="lower this process's CPU priority (DESCENT_WORKER_NICE; 0 keeps it)")
    parser.add_argument("--check", action="store_true",
                        help="health check: exit 0 if a worker on this host is heartbeating, else 1")
    args = parser.parse_args(argv)
    if args.check:
        raise SystemExit(0 if heartbeating(settings, socket.gethostname()) else 1)
    if args.concurrency < 1 or args.torch_threads < 1:
        parser.error("--concurrency and --torch-threads must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.nice:
        os.nice(args.nice)
    torch.set_num_threads(args.torch_threads)
    warm_up()  # torch's one-time set-up, before this worker announces itself
    freeze_startup_objects()
    worker = Worker(settings, args.name, args.concurrency, args.device, args.grace)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.serve()
    if worker.refused:
        raise SystemExit(2)


if __name__ == "__main__":
    main()
