"""Durable run store: one SQLite file under the data directory.

`runs` holds each run's request, status and summary; `frames` holds its step
log as the frames it was streamed in, written once when the run ends. Calls are
blocking and thread-safe (one connection behind a lock, WAL journal).
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from backend.schemas import Run, Status

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    summary TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
CREATE TABLE IF NOT EXISTS frames (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""

Frame = tuple[str, list[dict[str, Any]]]  # ("steps", [step, ...])


def now() -> datetime:
    return datetime.now(UTC)


class RunStore:
    """Runs and their step logs in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, run: Run) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (id, kind, status, config, created_at) VALUES (?, ?, ?, ?, ?)",
                (run.id, run.kind, run.status.value, run.config.model_dump_json(),
                 run.created_at.isoformat()),
            )

    def mark_running(self, run_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, started_at = ? WHERE id = ?",
                (Status.RUNNING.value, now().isoformat(), run_id),
            )

    def requeue(self, run_id: str) -> None:
        """Back to queued with no frames: the run will be computed again from step 0."""
        with self._transaction() as db:
            db.execute("DELETE FROM frames WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM artifacts WHERE run_id = ?", (run_id,))
            db.execute(
                "UPDATE runs SET status = ?, started_at = NULL, ended_at = NULL, summary = NULL, "
                "error = NULL WHERE id = ?",
                (Status.QUEUED.value, run_id),
            )

    def finish(
        self,
        run_id: str,
        status: Status,
        summary: BaseModel | None,
        frames: list[Frame],
        error: str | None = None,
        artifacts: dict[str, bytes] | None = None,
    ) -> None:
        """Store the end state, the whole step log and any files in one transaction."""
        with self._transaction() as db:
            db.execute("DELETE FROM frames WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM artifacts WHERE run_id = ?", (run_id,))
            db.executemany(
                "INSERT INTO artifacts (run_id, name, data) VALUES (?, ?, ?)",
                [(run_id, name, data) for name, data in (artifacts or {}).items()],
            )
            db.executemany(
                "INSERT INTO frames (run_id, seq, type, payload) VALUES (?, ?, ?, ?)",
                [(run_id, i, kind, orjson.dumps(records)) for i, (kind, records) in
                 enumerate(frames)],
            )
            db.execute(
                "UPDATE runs SET status = ?, ended_at = ?, summary = ?, error = ? WHERE id = ?",
                (status.value, now().isoformat(),
                 summary.model_dump_json() if summary is not None else None, error, run_id),
            )

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, status, config, created_at, started_at, ended_at, summary, error "
                "FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
        return _run(row) if row else None

    def recent(self, limit: int) -> list[Run]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, status, config, created_at, started_at, ended_at, summary, error "
                "FROM runs ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_run(r) for r in rows]

    def unfinished(self) -> list[Run]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, status, config, created_at, started_at, ended_at, summary, error "
                "FROM runs WHERE status IN (?, ?) ORDER BY created_at",
                (Status.QUEUED.value, Status.RUNNING.value),
            ).fetchall()
        return [_run(r) for r in rows]

    def artifact(self, run_id: str, name: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM artifacts WHERE run_id = ? AND name = ?", (run_id, name)
            ).fetchone()
        return bytes(row[0]) if row else None

    def frames(self, run_id: str) -> list[Frame]:
        with self._lock:
            rows = self._db.execute(
                "SELECT type, payload FROM frames WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        return [(kind, orjson.loads(payload)) for kind, payload in rows]


def _run(row: tuple[Any, ...]) -> Run:
    run_id, kind, status, config, created, started, ended, summary, error = row
    return Run.model_validate(
        {
            "id": run_id,
            "kind": kind,
            "status": status,
            "config": orjson.loads(config),
            "created_at": created,
            "started_at": started,
            "ended_at": ended,
            "summary": orjson.loads(summary) if summary else None,
            "error": error,
        }
    )
