"""The `redis` executor end to end: an API process, a worker process, a real redis-server."""

import asyncio
import io
from typing import Any

import httpx
import pytest
import torch
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import (
    LONG_RUN,
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
    cluster.start_worker("w1", wait=False)
    cluster.start_api()
    cluster.wait_worker("w1")
    return cluster


def test_health_counts_the_workers_and_says_where_they_compute(cluster: Cluster) -> None:
    health = httpx.get(f"{cluster.url}/api/health").json()
    assert (health["status"], health["executor"], health["workers"]) == ("ok", "redis", 1)
    [worker] = health["worker_list"]
    assert (worker["name"], worker["device"], worker["concurrency"]) == ("w1", "cpu", 1)
    assert worker["running"] in (0, 1)
    run_id = cluster.post_run(LONG_RUN)

    def running() -> list[str]:
        [worker] = httpx.get(f"{cluster.url}/api/health").json()["worker_list"]
        return list(worker["runs"]) if worker["running"] == 1 else []

    assert wait_for(lambda: running() == [run_id], 30, "the worker to report the run")
    cluster.cancel(run_id)
    wait_for(lambda: not running(), 30, "the worker to report it idle")


def test_a_run_is_computed_by_the_worker_and_streams_to_two_watchers(cluster: Cluster) -> None:
    run_id = cluster.post_run(RUN)

    async def watch_twice() -> tuple[Watcher, Watcher]:
        url = f"{cluster.ws}/api/runs/{run_id}/stream"
        return await asyncio.wait_for(asyncio.gather(Watcher().watch(url), Watcher().watch(url)), 60)

    watchers = asyncio.run(watch_twice())
    for watcher in watchers:
        assert watcher.code == 1000
        assert watcher.end is not None and watcher.end["status"] == "finished"
        assert watcher.end["summary"] is not None
        assert_same_trajectory(watcher.steps, reference(RUN))
    assert cluster.redis.hget(f"descent:run:{run_id}", "worker") == b"w1"
    assert cluster.run(run_id)["status"] == "finished"
    assert_same_trajectory(cluster.stored_steps(run_id), reference(RUN))


def test_cancelling_a_running_run_stops_it_between_steps(cluster: Cluster) -> None:
    """LONG_RUN would take half a minute: it ends cancelled, short of its budget, with what the
    worker computed before it saw the cancel key (the watchers' steps are the stored ones)."""
    run_id = cluster.post_run(LONG_RUN)

    async def scenario() -> Watcher:
        watcher = Watcher()
        task = asyncio.create_task(watcher.watch(f"{cluster.ws}/api/runs/{run_id}/stream"))
        await until(lambda: len(watcher.steps) > 100, 30, "the first steps", task)
        async with httpx.AsyncClient() as client:
            response = await client.delete(f"{cluster.url}/api/runs/{run_id}", headers=cluster.key(run_id))
        assert response.status_code == 200
        return await asyncio.wait_for(task, 60)

    watcher = asyncio.run(scenario())
    assert watcher.end is not None and watcher.end["status"] == "cancelled"
    assert watcher.end["summary"]["stop_reason"] == "cancelled"
    assert 100 < len(watcher.steps) < LONG_RUN["steps"]
    assert watcher.end["summary"]["steps"] == watcher.steps[-1]["step"]
    assert cluster.run(run_id)["status"] == "cancelled"
    assert cluster.stored_steps(run_id) == watcher.steps
    assert not cluster.redis.sismember("descent:active", run_id)


def test_a_queued_run_is_cancelled_at_once_and_skipped(cluster: Cluster) -> None:
    busy = cluster.post_run(LONG_RUN)  # the only worker slot
    queued = cluster.post_run(RUN)
    assert cluster.cancel(queued).json()["status"] == "cancelled"
    assert cluster.stored_steps(queued) == []
    assert cluster.cancel(busy).json()["status"] in {"queued", "running",
                                                                                "cancelled"}
    wait_for(lambda: cluster.run(busy)["status"] == "cancelled", 30, "the busy run to be cancelled")
    # the worker reaches the cancelled job, skips it, and the job stream drains
    wait_for(lambda: cluster.redis.xlen("descent:jobs") == 0, 20, "the job stream to drain")
    assert cluster.redis.xpending("descent:jobs", "workers")["pending"] == 0
    assert cluster.run(queued)["status"] == "cancelled"


def test_an_unknown_run_closes_with_4404(cluster: Cluster) -> None:
    async def watch() -> int | None:
        try:
            return (await Watcher().watch(f"{cluster.ws}/api/runs/nope/stream")).code
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    assert asyncio.run(watch()) == 4404


def test_the_api_restarted_mid_run_keeps_serving_the_run(cluster: Cluster) -> None:
    run_id = cluster.post_run(LONG_RUN)
    url = f"{cluster.ws}/api/runs/{run_id}/stream"

    async def until_running_then_kill_the_api() -> None:
        watcher = Watcher()
        task = asyncio.create_task(watcher.watch(url))
        await until(lambda: len(watcher.steps) > 100, 30, "the first steps", task)
        cluster.stop_api()  # kill -9, mid-run
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(task, 10)

    asyncio.run(until_running_then_kill_the_api())
    cluster.start_api()
    assert cluster.run(run_id)["status"] == "running"  # the worker went on meanwhile

    async def watch_live_then_cancel() -> Watcher:
        watcher = Watcher()
        task = asyncio.create_task(watcher.watch(url))
        await until(lambda: watcher.messages > 0, 30, "the replay", task)
        replayed = len(watcher.steps)
        await until(lambda: len(watcher.steps) > replayed + 100, 30, "live steps", task)
        async with httpx.AsyncClient() as client:
            await client.delete(f"{cluster.url}/api/runs/{run_id}", headers=cluster.key(run_id))
        return await asyncio.wait_for(task, 10)

    watcher = asyncio.run(watch_live_then_cancel())
    assert watcher.end is not None and watcher.end["status"] == "cancelled"
    assert watcher.resets == 0  # the worker never stopped: one attempt, replayed then live
    assert [s["step"] for s in watcher.steps] == list(range(len(watcher.steps)))
    assert_same_trajectory(watcher.steps, cluster.stored_steps(run_id))
    assert_same_trajectory(watcher.steps[:1001], reference({**LONG_RUN, "steps": 1000}))


def test_a_network_run_trains_on_the_worker_and_leaves_its_landscape(cluster: Cluster) -> None:
    body = {"kind": "network", "dataset": {"name": "moons", "n_samples": 200},
            "model": {"name": "mlp", "hidden": [8]}, "optimizer": {"name": "adam", "lr": 0.02},
            "epochs": 5, "landscape": {"resolution": 9, "eval_samples": 50}, "seed": 1}
    run_id = cluster.post_run(body)
    watcher = asyncio.run(asyncio.wait_for(Watcher().watch(f"{cluster.ws}/api/runs/{run_id}/stream"), 60))
    assert watcher.end is not None and watcher.end["status"] == "finished"
    assert watcher.end["summary"]["epochs_run"] == 5 and watcher.end["summary"]["test_evaluations"] == 1
    assert len(watcher.steps) == watcher.end["summary"]["steps"]
    assert cluster.redis.hget(f"descent:run:{run_id}", "worker") == b"w1"
    landscape = httpx.get(f"{cluster.url}/api/runs/{run_id}/landscape").json()
    assert landscape["loss"][4][4] == pytest.approx(landscape["final_loss"], rel=1e-5)
    export = httpx.get(f"{cluster.url}/api/runs/{run_id}/landscape/export")
    assert export.status_code == 200
    saved = torch.load(io.BytesIO(export.content), weights_only=True)
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]  # Linear(2, 8) → tanh → Linear(8, 2)
    assert list(saved["weights"]) == names and [list(d) for d in saved["directions"]] == [names, names]
    assert tuple(saved["loss"].shape) == (9, 9)
    for name in ("loss", "a", "b"):  # the file holds the grid the report shows
        torch.testing.assert_close(saved[name].double(), torch.tensor(landscape[name], dtype=torch.float64),
                                   rtol=1e-6, atol=0)
