"""No run is lost: a worker killed mid-run (kill -9) leaves its job to the next worker."""

import asyncio
import signal
from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    RUN,
    Cluster,
    Watcher,
    assert_same_trajectory,
    reference,
    until,
    wait_for,
)


@pytest.fixture(scope="module")
def cluster(redis_url: str, make_cluster: Any) -> Cluster:
    cluster: Cluster = make_cluster(redis_url)
    cluster.start_worker("doomed", wait=False)
    cluster.start_api()
    cluster.wait_worker("doomed")
    return cluster


def test_a_run_whose_worker_is_killed_completes_on_another_worker(cluster: Cluster) -> None:
    run_id = cluster.post_run(RUN)
    url = f"{cluster.ws}/api/runs/{run_id}/stream"

    async def scenario() -> list[Watcher]:
        watchers = [Watcher(), Watcher()]
        tasks = [asyncio.create_task(w.watch(url)) for w in watchers]
        await until(lambda: all(len(w.steps) > 500 for w in watchers), 30, "steps from the first worker",
                    *tasks)
        cluster.kill_worker("doomed", signal.SIGKILL)
        cluster.start_worker("rescuer", wait=False)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        return watchers

    watchers = asyncio.run(scenario())
    for watcher in watchers:
        assert watcher.end is not None and watcher.end["status"] == "finished"
        assert watcher.resets == 1  # the page was told to start the trajectory over, once
        assert_same_trajectory(watcher.steps, reference(RUN))
    state = cluster.redis.hgetall(f"descent:run:{run_id}")
    assert (state[b"worker"], state[b"attempt"]) == (b"rescuer", b"2")
    assert cluster.run(run_id)["status"] == "finished"
    assert_same_trajectory(cluster.stored_steps(run_id), reference(RUN))
    # the dead worker's heartbeat has expired: health counts the live one only
    wait_for(lambda: httpx.get(f"{cluster.url}/api/health").json()["workers"] == 1, 10, "health")
    # a late watcher gets the whole second attempt
    late = asyncio.run(asyncio.wait_for(Watcher().watch(url), 30))
    assert_same_trajectory(late.steps, reference(RUN))


def test_a_stopping_worker_gives_its_run_back(cluster: Cluster) -> None:
    """SIGTERM with no grace: the run goes back to the queue at once (no visibility timeout)."""
    cluster.kill_worker("rescuer", signal.SIGTERM)
    cluster.start_worker("leaving", "--grace", "0")
    run_id = cluster.post_run(RUN)
    wait_for(lambda: cluster.redis.xlen(f"descent:run:{run_id}:steps") > 0, 30, "the first frame")
    cluster.kill_worker("leaving", signal.SIGTERM)
    assert cluster.run(run_id)["status"] == "queued"
    state = cluster.redis.hgetall(f"descent:run:{run_id}")
    assert (state[b"status"], state[b"requeues"]) == (b"queued", b"1")
    cluster.start_worker("staying", wait=False)
    watcher = asyncio.run(asyncio.wait_for(
        Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 60))
    assert watcher.end is not None and watcher.end["status"] == "finished"
    assert_same_trajectory(watcher.steps, reference(RUN))
    assert cluster.redis.hget(f"descent:run:{run_id}", "worker") == b"staying"


def test_a_run_whose_workers_keep_dying_fails_instead_of_looping(cluster: Cluster) -> None:
    cluster.kill_worker("staying", signal.SIGTERM)
    run_id = cluster.post_run(RUN)
    # as if three workers had died on it (DESCENT_MAX_ATTEMPTS is 3)
    cluster.redis.hset(f"descent:run:{run_id}", "attempt", 3)
    cluster.start_worker("last", wait=False)
    watcher = asyncio.run(asyncio.wait_for(
        Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 60))
    assert watcher.end is not None and watcher.end["status"] == "failed"
    assert "gave up" in watcher.end["error"]
    run = cluster.run(run_id)
    assert run["status"] == "failed" and "gave up" in run["error"]
    wait_for(lambda: cluster.redis.xlen("descent:jobs") == 0, 10, "the job to be acknowledged")
