"""A queued run's place in the queue in a store that holds many ended runs, counted with the
store's queue index and without it (the baseline), in the same run.

    python -m bench.queue

While a run waits, both pages ask `GET /api/runs/{id}` every two seconds for its
`queue_position`: a class of 30 with four live racers each asks 60 times a second. The store
(SQLite, as `make run` keeps it) gets `RUNS` ended runs and `QUEUED` queued ones; each
setup times `RunStore.queue_position` of the newest queued run. Prints a markdown table.
"""

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from backend.runs.executor import queued_run
from backend.runs.model import Status
from backend.runs.store import RUNS as RUNS_TABLE
from backend.runs.store import RunStore
from backend.surfaces.spec import SurfaceRun

RUNS = 20_000
QUEUED = 50
REPEATS = 200
START = datetime(2026, 12, 1, tzinfo=UTC)
REQUEST = SurfaceRun.model_validate({"surface": "quadratic", "optimizer": {"name": "sgd"}, "steps": 5})


def filled(path: Path) -> tuple[RunStore, str]:
    """A store with RUNS ended runs and QUEUED queued ones, oldest first; the newest one's id."""
    store = RunStore(path)
    runs = [queued_run(REQUEST) for _ in range(RUNS + QUEUED)]
    with store._engine.begin() as db:  # one transaction: a row per run, as `create` writes it
        db.execute(RUNS_TABLE.insert(), [
            {"id": run.id, "kind": run.kind, "status": (Status.FINISHED if i < RUNS else Status.QUEUED).value,
             "config": run.config.model_dump_json(),
             "created_at": (START + timedelta(milliseconds=i)).isoformat()}
            for i, run in enumerate(runs)])
    return store, runs[-1].id


def per_call_ms(store: RunStore, run_id: str) -> float:
    run = store.get(run_id)
    assert run is not None and store.queue_position(run) == QUEUED - 1
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        store.queue_position(run)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    print(f"| `queue_position` with {RUNS:,} ended and {QUEUED} queued runs (SQLite) | median per call |")
    print("|---|---:|")
    with tempfile.TemporaryDirectory() as data_dir:
        store, newest = filled(Path(data_dir) / "runs.sqlite3")
        indexed = per_call_ms(store, newest)
        with store._engine.begin() as db:
            db.execute(sa.text("DROP INDEX runs_status_created"))
        print(f"| without the queue index (before) | {per_call_ms(store, newest):.2f} ms |")
        print(f"| with the queue index `runs_status_created` | {indexed:.2f} ms |")
        store.close()


if __name__ == "__main__":
    main()
