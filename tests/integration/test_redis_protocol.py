"""The races between cancel, finish, requeue and a second worker, played in each order against
a real redis-server through the protocol's own Lua scripts (`backend.runs.redis.protocol`).

Each script is what one party does at one moment: the API cancels, a worker begins, appends,
touches, finishes or gives a run back. The interleavings are chosen here, so every order is
tested on purpose, not left to timing: a run ends exactly once, a cancel is never lost, and a
worker whose attempt is stale changes nothing.
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis

from backend.runs.redis.protocol import (
    ACTIVE,
    APPEND,
    BEGIN,
    CANCEL,
    ENSURE_GROUP,
    EVENTS,
    FINISH,
    GROUP,
    JOBS,
    REQUEUE,
    SUBMIT,
    TOUCH,
    WORKER_PREFIX,
    cancel_key,
    run_key,
    steps_key,
)

RETENTION = 3600


class Parties:
    """The API and the workers, as the scripts they run."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._submit, self._begin = client.register_script(SUBMIT), client.register_script(BEGIN)
        self._append, self._touch = client.register_script(APPEND), client.register_script(TOUCH)
        self._finish, self._requeue = client.register_script(FINISH), client.register_script(REQUEUE)
        self._cancel = client.register_script(CANCEL)
        client.eval(ENSURE_GROUP, 1, JOBS, GROUP)

    # the API
    def submit(self) -> str:
        run_id = uuid.uuid4().hex[:16]
        assert self._submit(keys=[run_key(run_id), JOBS, ACTIVE, EVENTS],
                            args=[run_id, orjson.dumps({"id": run_id}), time.time()]) == 1
        return run_id

    def cancel(self, run_id: str) -> int:
        """2: cancelled here (the API then ends it, unfenced); 1: its worker will stop; 0: ended."""
        outcome: int = self._cancel(keys=[run_key(run_id), cancel_key(run_id)],
                                    args=[RETENTION, time.time(), WORKER_PREFIX])
        if outcome == 2:
            assert self.finish(run_id, "", "cancelled") == 1
        return outcome

    # a worker
    def alive(self, worker: str) -> None:
        self.redis.set(WORKER_PREFIX + worker, b"{}")

    def dead(self, worker: str) -> None:
        self.redis.delete(WORKER_PREFIX + worker)

    def take(self, worker: str) -> bytes:
        """The next job from the stream, as `worker` reads it; its job id."""
        reply: Any = self.redis.xreadgroup(GROUP, worker, {JOBS: ">"}, count=1)
        assert reply, "no job to take"
        job_id: bytes = reply[0][1][0][0]
        return job_id

    def running(self, worker: str) -> tuple[str, bytes, int]:
        """A run submitted, taken and begun by a live `worker`: (run id, job id, attempt)."""
        run_id = self.submit()
        self.alive(worker)
        job = self.take(worker)
        return run_id, job, self.begin(run_id, worker)

    def begin(self, run_id: str, worker: str) -> int:
        """The attempt number this worker now owns (0: the run has ended, skip it)."""
        attempt, _ = self._begin(keys=[run_key(run_id), steps_key(run_id)], args=[worker, time.time()])
        return int(attempt)

    def append(self, run_id: str, attempt: int, step: int) -> int:
        return int(self._append(keys=[run_key(run_id), steps_key(run_id)],
                                args=[attempt, "steps", orjson.dumps([{"step": step}]), time.time()]))

    def touch(self, run_id: str, attempt: int, worker: str, job_id: bytes) -> int:
        return int(self._touch(keys=[run_key(run_id), JOBS], args=[attempt, GROUP, worker, job_id]))

    def finish(self, run_id: str, attempt: int | str, status: str, job_id: bytes | str = "") -> int:
        return int(self._finish(
            keys=[run_key(run_id), steps_key(run_id), cancel_key(run_id), ACTIVE, EVENTS, JOBS],
            args=[attempt, status, orjson.dumps({"type": "end", "status": status}), time.time(), RETENTION,
                  run_id, GROUP, job_id]))

    def requeue(self, run_id: str, attempt: int, job_id: bytes) -> int:
        return int(self._requeue(keys=[run_key(run_id), JOBS],
                                 args=[attempt, run_id, orjson.dumps({"id": run_id}), GROUP, job_id]))

    # what anyone can read
    def status(self, run_id: str) -> str:
        value: Any = self.redis.hget(run_key(run_id), "status")
        return str(value.decode())

    def stream(self, run_id: str) -> list[tuple[str, Any]]:
        entries: Any = self.redis.xrange(steps_key(run_id))
        return [(f[b"k"].decode(), orjson.loads(f[b"d"])) for _, f in entries]

    def ends(self, run_id: str) -> list[str]:
        """Every `ended` event the run produced, by status (a run must end exactly once)."""
        entries: Any = self.redis.xrange(EVENTS)
        return [f[b"status"].decode() for _, f in entries
                if f[b"run"].decode() == run_id and f[b"event"] == b"ended"]

    def pending(self) -> int:
        info: Any = self.redis.xpending(JOBS, GROUP)
        return int(info["pending"])


@pytest.fixture
def parties(redis_url: str) -> Iterator[Parties]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # this module's own database: every test starts from nothing
    try:
        yield Parties(client)
    finally:
        client.close()


def test_cancelled_while_queued_then_a_worker_reaches_it(parties: Parties) -> None:
    run_id = parties.submit()
    assert parties.cancel(run_id) == 2
    assert parties.status(run_id) == "cancelled" and parties.ends(run_id) == ["cancelled"]
    parties.alive("w1")
    parties.take("w1")
    assert parties.begin(run_id, "w1") == 0  # skipped: never computed
    assert parties.status(run_id) == "cancelled" and parties.stream(run_id) == [
        ("end", {"type": "end", "status": "cancelled"})]
    assert not parties.redis.sismember(ACTIVE, run_id)


def test_cancel_after_the_run_finished_changes_nothing(parties: Parties) -> None:
    run_id, job, attempt = parties.running("w1")
    assert parties.append(run_id, attempt, 0) == 1
    assert parties.finish(run_id, attempt, "finished", job) == 1
    assert parties.cancel(run_id) == 0
    assert parties.status(run_id) == "finished" and parties.ends(run_id) == ["finished"]
    assert not parties.redis.exists(cancel_key(run_id))
    assert parties.pending() == 0


def test_cancel_of_a_running_run_reaches_its_worker(parties: Parties) -> None:
    run_id, job, attempt = parties.running("w1")
    assert parties.cancel(run_id) == 1  # the worker will stop between steps
    assert parties.status(run_id) == "running" and parties.redis.exists(cancel_key(run_id))
    assert parties.append(run_id, attempt, 0) == 1  # it still owns the run until it ends it
    assert parties.finish(run_id, attempt, "cancelled", job) == 1
    assert parties.status(run_id) == "cancelled" and parties.ends(run_id) == ["cancelled"]
    assert not parties.redis.exists(cancel_key(run_id)) and parties.pending() == 0
    assert not parties.redis.sismember(ACTIVE, run_id)


def test_a_run_that_finished_before_its_worker_saw_the_cancel_ends_finished_once(parties: Parties) -> None:
    run_id, job, attempt = parties.running("w1")
    assert parties.cancel(run_id) == 1
    assert parties.finish(run_id, attempt, "finished", job) == 1  # its last step came first
    assert parties.cancel(run_id) == 0  # asked again: it has ended
    assert parties.status(run_id) == "finished" and parties.ends(run_id) == ["finished"]
    assert not parties.redis.exists(cancel_key(run_id))


def test_cancel_when_the_worker_is_gone_fences_out_the_worker_if_it_was_only_stalled(
    parties: Parties,
) -> None:
    run_id, job, attempt = parties.running("w1")
    assert parties.append(run_id, attempt, 0) == 1
    parties.dead("w1")  # its heartbeat expired: stalled, or dead
    assert parties.cancel(run_id) == 2  # the API ends it
    after = parties.stream(run_id), parties.redis.hgetall(run_key(run_id))
    assert parties.status(run_id) == "cancelled" and parties.ends(run_id) == ["cancelled"]
    # the stalled worker wakes up: whatever it tries is refused and changes nothing
    assert parties.append(run_id, attempt, 1) == 0
    assert parties.touch(run_id, attempt, "w1", job) == 0
    assert parties.requeue(run_id, attempt, job) == 0
    assert parties.finish(run_id, attempt, "finished", job) == 0
    assert (parties.stream(run_id), parties.redis.hgetall(run_key(run_id))) == after
    assert parties.ends(run_id) == ["cancelled"] and parties.redis.xlen(JOBS) == 1  # not queued again


def test_given_back_then_cancelled_is_never_computed_again(parties: Parties) -> None:
    run_id, job, attempt = parties.running("w1")
    assert parties.requeue(run_id, attempt, job) == 1  # w1 is stopping
    assert parties.status(run_id) == "queued"
    assert parties.cancel(run_id) == 2
    parties.alive("w2")
    parties.take("w2")  # the requeued job
    assert parties.begin(run_id, "w2") == 0
    assert parties.status(run_id) == "cancelled" and parties.ends(run_id) == ["cancelled"]


def test_a_cancel_survives_the_run_being_given_back(parties: Parties) -> None:
    """The worker stops (SIGTERM) just as the cancel arrives, and gives the run back without
    having seen the cancel: the next worker to begin it still finds the cancel."""
    run_id, job, attempt = parties.running("w1")
    assert parties.cancel(run_id) == 1
    assert parties.requeue(run_id, attempt, job) == 1
    assert parties.status(run_id) == "queued" and parties.redis.exists(cancel_key(run_id))
    parties.alive("w2")
    second_job = parties.take("w2")
    second = parties.begin(run_id, "w2")
    assert second == attempt + 1
    assert parties.redis.exists(cancel_key(run_id))  # what w2 polls between steps
    assert parties.finish(run_id, second, "cancelled", second_job) == 1
    assert parties.ends(run_id) == ["cancelled"] and parties.pending() == 0


def test_a_claimed_job_belongs_to_the_new_attempt_alone(parties: Parties) -> None:
    """w1 went silent; w2 claimed its job: w2's attempt starts the stream over (a reset entry),
    and w1's late frames and end are refused."""
    run_id, job, first = parties.running("w1")
    assert parties.append(run_id, first, 0) == 1
    claimed: Any = parties.redis.xautoclaim(JOBS, GROUP, "w2", 0, "0-0")
    assert [entry[0] for entry in claimed[1]] == [job]
    second = parties.begin(run_id, "w2")
    assert second == first + 1
    assert parties.stream(run_id) == [("reset", second)]
    assert parties.append(run_id, second, 0) == 1
    assert parties.append(run_id, first, 1) == 0
    assert parties.touch(run_id, first, "w1", job) == 0
    assert parties.finish(run_id, first, "finished", job) == 0
    assert parties.finish(run_id, second, "finished", job) == 1
    assert parties.stream(run_id)[:2] == [("reset", second), ("steps", [{"step": 0}])]
    assert parties.ends(run_id) == ["finished"] and parties.pending() == 0
