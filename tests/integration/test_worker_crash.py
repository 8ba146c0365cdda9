"""No run is lost and none is written twice: a worker killed mid-run (kill -9) leaves its job to
the next worker, a stalled one (SIGSTOP) is fenced out once its job was taken over, a stopping
one gives its run back or finishes it within its grace, and one worker computes several runs at
once with `--concurrency`.

Each test starts the workers it needs and stops them all at its end, so the tests run in any
order. Where a worker must be caught mid-run, it is frozen (SIGSTOP) as soon as its first frame
is in Redis, which is hundreds of steps before the run could end.
"""

import asyncio
import json
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.runs.redis.protocol import WORKER_PREFIX, run_key, steps_key
from tests.integration.conftest import (
    LONG_RUN,
    RUN,
    Cluster,
    Watcher,
    assert_same_trajectory,
    fresh,
    reference,
    until,
    wait_for,
    without_workers,
)


@pytest.fixture(scope="module")
def api(redis_url: str, make_cluster: Any) -> Cluster:
    cluster: Cluster = make_cluster(redis_url)
    cluster.start_api()
    return cluster


@pytest.fixture
def cluster(api: Cluster) -> Iterator[Cluster]:
    """The module's API with no worker; whatever workers the test starts are gone after it."""
    yield from without_workers(api)


def freeze_after_first_frame(cluster: Cluster, name: str, run_id: str) -> None:
    """SIGSTOP worker `name` as soon as the run's first frame is in Redis: mid-run for sure."""
    wait_for(lambda: cluster.redis.xlen(steps_key(run_id)) > 0, 60, "the first frame", interval=0.002)
    cluster.workers[name].send_signal(signal.SIGSTOP)
    state = cluster.redis.hgetall(run_key(run_id))
    assert (state[b"status"], state[b"worker"]) == (b"running", name.encode()), state


def heartbeat(cluster: Cluster, name: str) -> dict[str, Any] | None:
    beat = cluster.redis.get(WORKER_PREFIX + name)
    return None if beat is None else dict(json.loads(beat))


def test_a_run_whose_worker_is_killed_completes_on_another_worker(cluster: Cluster) -> None:
    doomed, rescuer = fresh("doomed"), fresh("rescuer")
    cluster.start_worker(doomed)
    run_id = cluster.post_run(RUN)
    url = f"{cluster.ws}/api/runs/{run_id}/stream"

    async def scenario() -> list[Watcher]:
        watchers = [Watcher(), Watcher()]
        tasks = [asyncio.create_task(w.watch(url)) for w in watchers]
        freeze_after_first_frame(cluster, doomed, run_id)
        await until(lambda: all(w.steps for w in watchers), 30, "steps from the first worker", *tasks)
        cluster.kill_worker(doomed, signal.SIGKILL)
        cluster.start_worker(rescuer, wait=False)
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        return watchers

    watchers = asyncio.run(scenario())
    for watcher in watchers:
        assert watcher.end is not None and watcher.end["status"] == "finished"
        assert watcher.resets == 1  # the page was told to start the trajectory over, once
        assert_same_trajectory(watcher.steps, reference(RUN))
    state = cluster.redis.hgetall(run_key(run_id))
    assert (state[b"worker"], state[b"attempt"]) == (rescuer.encode(), b"2")
    assert cluster.run(run_id)["status"] == "finished"
    assert_same_trajectory(cluster.stored_steps(run_id), reference(RUN))
    # the dead worker's heartbeat has expired: health counts the live one only
    wait_for(lambda: httpx.get(f"{cluster.url}/api/health").json()["workers"] == 1, 10, "health")
    # a late watcher gets the whole second attempt
    late = asyncio.run(asyncio.wait_for(Watcher().watch(url), 30))
    assert_same_trajectory(late.steps, reference(RUN))


def test_a_stalled_worker_writes_nothing_once_its_job_was_taken_over(cluster: Cluster) -> None:
    """Frozen mid-run (SIGSTOP), the worker falls silent; another claims the job after the
    visibility timeout and finishes the run. Thawed (SIGCONT), the first worker finds its
    attempt stale and drops the job: the step stream, the run's state and the store are
    exactly as the second worker left them."""
    stalled, rescuer = fresh("stalled"), fresh("rescuer")
    cluster.start_worker(stalled)
    run_id = cluster.post_run(RUN)
    freeze_after_first_frame(cluster, stalled, run_id)
    cluster.start_worker(rescuer, wait=False)
    watcher = asyncio.run(asyncio.wait_for(Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 120))
    assert watcher.end is not None and watcher.end["status"] == "finished"
    assert_same_trajectory(watcher.steps, reference(RUN))
    state = cluster.redis.hgetall(run_key(run_id))
    assert (state[b"worker"], state[b"attempt"]) == (rescuer.encode(), b"2")

    def snapshot() -> tuple[Any, ...]:
        return (cluster.redis.xrange(steps_key(run_id)), cluster.redis.hgetall(run_key(run_id)),
                cluster.run(run_id), cluster.stored_steps(run_id))

    before = snapshot()
    cluster.workers[stalled].send_signal(signal.SIGCONT)
    # it beats again, and once it has dropped the stale job it reports nothing running
    wait_for(lambda: (beat := heartbeat(cluster, stalled)) is not None and beat["running"] == 0, 30,
             "the thawed worker to drop its job")
    assert snapshot() == before
    assert_same_trajectory(cluster.stored_steps(run_id), reference(RUN))


def test_a_stopping_worker_gives_its_run_back(cluster: Cluster) -> None:
    """SIGTERM with no grace: the run goes back to the queue at once (no visibility timeout)."""
    leaving, staying = fresh("leaving"), fresh("staying")
    cluster.start_worker(leaving, "--grace", "0")
    run_id = cluster.post_run(RUN)
    freeze_after_first_frame(cluster, leaving, run_id)
    process = cluster.workers[leaving]
    process.send_signal(signal.SIGTERM)  # delivered when it is thawed, in the middle of the run
    process.send_signal(signal.SIGCONT)
    cluster.kill_worker(leaving, signal.SIGTERM)  # and wait for it to exit
    assert process.returncode == 0
    assert cluster.run(run_id)["status"] == "queued"
    state = cluster.redis.hgetall(run_key(run_id))
    assert (state[b"status"], state[b"requeues"]) == (b"queued", b"1")
    cluster.start_worker(staying, wait=False)
    watcher = asyncio.run(asyncio.wait_for(
        Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 120))
    assert watcher.end is not None and watcher.end["status"] == "finished"
    assert_same_trajectory(watcher.steps, reference(RUN))
    assert cluster.redis.hget(run_key(run_id), "worker") == staying.encode()


def test_a_stopping_worker_finishes_its_run_within_its_grace(cluster: Cluster) -> None:
    """SIGTERM with `--grace`: the running run is finished, not given back (one attempt, never
    requeued), no new job is taken meanwhile, and then the worker exits cleanly."""
    graceful = fresh("graceful")
    cluster.start_worker(graceful, "--grace", "600")
    run_id = cluster.post_run(RUN)
    freeze_after_first_frame(cluster, graceful, run_id)
    process = cluster.workers[graceful]
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)
    log = cluster.data_dir / f"worker-{graceful}.log"
    wait_for(lambda: "stopping" in log.read_text(errors="replace"), 30, "the worker to say it is stopping")
    later = cluster.post_run(RUN | {"start": [-1.2, 1.5]})  # submitted while it finishes the first
    watcher = asyncio.run(asyncio.wait_for(Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 120))
    assert watcher.end is not None and watcher.end["status"] == "finished" and watcher.resets == 0
    assert_same_trajectory(watcher.steps, reference(RUN))
    state = cluster.redis.hgetall(run_key(run_id))
    assert (state[b"worker"], state[b"attempt"], state[b"requeues"]) == (graceful.encode(), b"1", b"0")
    assert process.wait(60) == 0
    cluster.workers.pop(graceful)
    assert heartbeat(cluster, graceful) is None  # it said goodbye
    waiting = cluster.redis.hgetall(run_key(later))
    assert (waiting[b"status"], waiting[b"attempt"]) == (b"queued", b"0")  # left for another worker
    cluster.cancel(later)
    assert cluster.run(later)["status"] == "cancelled"


def test_a_worker_with_concurrency_two_computes_two_runs_at_once(cluster: Cluster) -> None:
    pair = fresh("pair")
    cluster.start_worker(pair, "--concurrency", "2")
    [worker] = [w for w in httpx.get(f"{cluster.url}/api/health").json()["worker_list"] if w["name"] == pair]
    assert worker["concurrency"] == 2
    runs = {cluster.post_run(LONG_RUN), cluster.post_run(LONG_RUN | {"start": [-1.2, 1.5]})}
    # both running on that one worker at the same moment, as its heartbeat and Redis say
    wait_for(lambda: (beat := heartbeat(cluster, pair)) is not None and set(beat["runs"]) == runs, 60,
             "both runs on the worker")
    for run_id in runs:
        state = cluster.redis.hgetall(run_key(run_id))
        assert (state[b"status"], state[b"worker"]) == (b"running", pair.encode())
    for run_id in runs:
        cluster.cancel(run_id)
    for run_id in runs:
        wait_for(lambda run_id=run_id: cluster.run(run_id)["status"] == "cancelled", 30, "the cancel")
        steps = cluster.stored_steps(run_id)
        assert 0 < len(steps) < LONG_RUN["steps"]


def test_a_run_whose_workers_keep_dying_fails_instead_of_looping(cluster: Cluster) -> None:
    run_id = cluster.post_run(RUN)
    # as if three workers had died on it (DESCENT_MAX_ATTEMPTS is 3); no worker is running yet
    cluster.redis.hset(run_key(run_id), "attempt", 3)
    cluster.start_worker(fresh("last"), wait=False)
    watcher = asyncio.run(asyncio.wait_for(
        Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 60))
    assert watcher.end is not None and watcher.end["status"] == "failed"
    assert "gave up" in watcher.end["error"]
    run = cluster.run(run_id)
    assert run["status"] == "failed" and "gave up" in run["error"]
    wait_for(lambda: cluster.redis.xlen("descent:jobs") == 0, 10, "the job to be acknowledged")
