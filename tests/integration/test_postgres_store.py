"""The run store on a real PostgreSQL (and the same checks on SQLite), and API replicas sharing it."""

import asyncio
import math
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from backend.runs.model import Run, Status
from backend.runs.store import RunStore, csv_id, now
from backend.surfaces.spec import SurfaceRun
from tests.integration.conftest import CLIENT, RUN, Watcher, assert_same_trajectory, reference

REQUEST = SurfaceRun.model_validate(
    {"kind": "surface", "surface": "rosenbrock", "optimizer": {"name": "sgd", "lr": 0.001},
     "start": [-1.5, 2.0], "steps": 10}
)


def queued(offset_s: float = 0.0) -> Run:
    return Run(id=uuid.uuid4().hex[:16], kind="surface", status=Status.QUEUED, config=REQUEST,
               created_at=now() + timedelta(seconds=offset_s))


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    if request.param == "sqlite":
        yield tmp_path / "descent.sqlite3"
        return
    url: str = request.getfixturevalue("postgres_url")
    store = RunStore(url)  # each test starts from empty tables
    with store._engine.begin() as db:
        db.exec_driver_sql("TRUNCATE runs, frames, segments, usage, owners, artifacts, datasets")
    store.close()
    yield url


def test_a_run_goes_through_its_life(location: Path | str) -> None:
    store = RunStore(location)
    run = queued()
    store.create(run)
    assert store.get(run.id) == run
    assert [r.id for r in store.unfinished()] == [run.id]
    store.mark_running(run.id)
    running = store.get(run.id)
    assert running is not None and running.status == Status.RUNNING and running.started_at is not None
    frames = [("steps", [{"step": 0, "params": [1.0, None], "loss": 2.5}]),
              ("steps", [{"step": 1, "params": [0.5, 0.25], "loss": None}])]
    store.finish(run.id, Status.DIVERGED, None, frames, "diverged", {"landscape.pt": b"\x00\xffbytes"})
    ended = store.get(run.id)
    assert ended is not None and ended.status == Status.DIVERGED and ended.error == "diverged"
    assert ended.ended_at is not None
    assert store.frames(run.id) == frames
    assert store.artifact(run.id, "landscape.pt") == b"\x00\xffbytes"
    assert store.artifact(run.id, "missing") is None
    assert store.unfinished() == []
    store.close()


def test_requeue_forgets_frames_and_artifacts(location: Path | str) -> None:
    store = RunStore(location)
    run = queued()
    store.create(run)
    store.mark_running(run.id)
    store.finish(run.id, Status.FINISHED, None, [("steps", [{"step": 0}])], None, {"a": b"1"})
    store.requeue(run.id)
    again = store.get(run.id)
    assert again is not None and again.status == Status.QUEUED
    assert (again.started_at, again.ended_at, again.summary) == (None, None, None)
    assert store.frames(run.id) == [] and store.artifact(run.id, "a") is None
    store.close()


def test_steps_are_columns_sized_and_the_oldest_unpinned_runs_are_evicted(location: Path | str) -> None:
    store = RunStore(location)
    steps = [{"step": k, "params": [[0.5 * k, -1.0], [math.nan, 2.0 ** -k]], "loss": [1 / (k + 1), math.inf],
              "lr": 0.1, "state": {} if k == 0 else {"exp_avg": [[0.1 * k, 0.2], [0.3, 1e-300]]}}
             for k in range(30_000)]
    ids = []
    for i in range(3):
        run = queued(offset_s=i)
        store.create(run, client="teacher")
        store.finish(run.id, Status.FINISHED, None, [("steps", steps[:10]), ("steps", steps[10:])])
        ids.append(run.id)
    sizes = [store.get(run_id).size or 0 for run_id in ids]  # type: ignore[union-attr]
    assert all(0 < size < 30_000 * 11 * 8 for size in sizes)  # below the raw float64
    assert store.client_bytes("teacher") == sum(sizes) and store.client_bytes("nobody") == 0
    stored = store.frames(ids[0])
    assert len(stored) > 1  # segments of at most SEGMENT_VALUES numbers
    assert orjson.dumps([step for _, records in stored for step in records]) == orjson.dumps(steps)
    store.set_pinned(ids[0], True)
    assert store.evict(sizes[0] + sizes[2], 3600) == [ids[1]]  # the oldest one is pinned
    assert store.get(ids[1]) is None and store.frames(ids[1]) == []
    assert store.evict(0, 3600) == [ids[2]]
    assert store.get(ids[0]).pinned  # type: ignore[union-attr]
    store.delete(ids[0])
    assert store.get(ids[0]) is None and store.client_bytes("teacher") == 0
    store.close()


def test_recent_is_newest_first_and_replicas_share_it(location: Path | str) -> None:
    writer, reader = RunStore(location), RunStore(location)  # two processes' worth of connections
    runs = [queued(offset_s=i) for i in range(5)]
    for run in runs:
        writer.create(run)
    assert [r.id for r in reader.recent(3)] == [r.id for r in reversed(runs)][:3]
    assert reader.get("unknown") is None
    writer.close()
    reader.close()


def test_two_api_replicas_share_runs_through_postgres_and_redis(
    postgres_url: str, redis_url: str, make_cluster: Any
) -> None:
    """A run submitted to one replica is watched, read and stored through the other; a CSV a
    teacher stored through one is read through the other (a room's students may be on it)."""
    first = make_cluster(redis_url, DESCENT_DATABASE_URL=postgres_url)
    second = make_cluster(redis_url, DESCENT_DATABASE_URL=postgres_url)
    first.start_worker("w1", wait=False)
    first.start_api(wait=False)
    second.start_api(wait=False)
    first.wait_api()
    second.wait_api()
    first.wait_worker("w1")
    run_id = first.post_run(RUN)
    watcher = asyncio.run(asyncio.wait_for(
        Watcher().watch(f"{second.ws}/api/runs/{run_id}/stream"), 30))
    assert watcher.end is not None and watcher.end["status"] == "finished"
    assert_same_trajectory(watcher.steps, reference(RUN))
    assert second.run(run_id)["status"] == "finished"
    listed = httpx.get(f"{second.url}/api/runs", headers=CLIENT).json()["runs"]
    assert run_id in [r["id"] for r in listed]
    text = "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20))
    stored = httpx.post(f"{first.url}/api/datasets/csv", json={"csv": text}, headers=CLIENT)
    assert stored.status_code == 201
    assert httpx.get(f"{second.url}/api/datasets/csv/{stored.json()['id']}").text == text


def test_csv_datasets_are_stored_by_content_and_the_least_recently_used_go_first(
        location: Path | str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [now()]
    monkeypatch.setattr("backend.runs.store.now", lambda: clock[0])

    def later(hours: float) -> None:
        clock[0] += timedelta(hours=hours)

    texts = {name: f"x,y\r\n{name},1\r\né,0\n" for name in "abc"}  # CRLF and UTF-8 kept as they are
    store = RunStore(location)
    try:
        assert store.put_dataset(texts["a"], "alice") == (csv_id(texts["a"]), True)
        later(1)
        assert store.put_dataset(texts["b"], "bob") == (csv_id(texts["b"]), True)
        assert store.put_dataset(texts["b"], "alice") == (csv_id(texts["b"]), False)  # bob's, not charged
        assert store.client_dataset_bytes("alice") == len(texts["a"].encode())
        assert store.client_dataset_bytes("bob") == len(texts["b"].encode())
        later(2)
        assert store.dataset(csv_id(texts["a"])) == texts["a"]  # byte for byte; a read marks it used
        later(1)
        assert store.put_dataset(texts["c"], None)[1]
        one = len(texts["a"].encode())
        assert store.evict_datasets(3 * one, 86400) == []
        assert store.evict_datasets(2 * one, 86400) == [csv_id(texts["b"])]  # used least recently
        assert store.dataset(csv_id(texts["b"])) is None and not store.has_dataset(csv_id(texts["b"]))
        later(25)
        assert store.dataset(csv_id(texts["c"])) == texts["c"]
        assert store.evict_datasets(10 * one, 86400) == [csv_id(texts["a"])]  # a day unused
        assert store.has_dataset(csv_id(texts["c"]))
    finally:
        store.close()


def test_replicas_storing_the_same_csv_at_once_store_it_once(location: Path | str) -> None:
    """Eight stores (as API replicas would) store one text at the same moment: each gets its id,
    exactly one of them stored it, and no one gets an error."""
    text = "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(50))
    stores = [RunStore(location) for _ in range(8)]
    try:
        barrier = threading.Barrier(len(stores))

        def put(store: RunStore) -> tuple[str, bool]:
            barrier.wait()
            return store.put_dataset(text, "teacher")

        with ThreadPoolExecutor(len(stores)) as pool:
            answers = list(pool.map(put, stores))
        assert {dataset_id for dataset_id, _ in answers} == {csv_id(text)}
        assert sum(new for _, new in answers) == 1
        assert stores[0].dataset(csv_id(text)) == text
    finally:
        for store in stores:
            store.close()
