"""A queued run's place in the queue is counted from an index of queued runs by age, not by
reading every ended run (GET /api/runs/{id} of a queued run took 11.8 ms with 20,000 runs in
the store, 0.5 ms with the index; both pages ask every two seconds while a run waits), and a
store made before the index gets it when it is opened."""

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from backend.runs.executor import queued_run
from backend.runs.model import Status
from backend.runs.store import RunStore
from backend.surfaces.spec import SurfaceRun

REQUEST = SurfaceRun.model_validate({"surface": "quadratic", "optimizer": {"name": "sgd"}, "steps": 5})


def test_a_store_made_before_the_index_counts_its_queue_from_it(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    RunStore(path).close()
    with sqlite3.connect(path) as db:  # as an earlier version made the file
        db.execute("DROP INDEX runs_status_created")
    store = RunStore(path)
    runs = [queued_run(REQUEST) for _ in range(4)]
    for run in runs:
        store.create(run)
    store.finish(runs[0].id, Status.FINISHED, None, [], None, {})
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(store._engine, "before_cursor_execute", seen)
    assert store.queue_position(runs[3]) == 2  # the finished one is not ahead
    sa.event.remove(store._engine, "before_cursor_execute", seen)
    (statement, parameters), = statements
    with store._engine.connect() as db:
        plan = db.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    assert any("runs_status_created" in str(step) for step in plan), plan
    store.close()
