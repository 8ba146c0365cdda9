"""Durable run store: a SQLite file by default, or PostgreSQL for several API replicas.

`runs` holds each run's request, status and summary; `frames` holds its step
log as the frames it was streamed in, written once when the run ends;
`artifacts` holds named files (a landscape export); `owners` who made each run and the
hash of its key; `meta` the store's identity, which
the API publishes in Redis so that a worker can check it writes to the same store. SQLAlchemy Core speaks both
dialects: `RunStore(path)` opens a SQLite file (WAL journal, so the API and a
worker process on the same machine can share it); `RunStore("postgresql+psycopg://...")`
opens a database that API replicas and remote workers share. Calls are
blocking and thread-safe; call them from a thread, never from the event loop.
"""

import threading
import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
from pydantic import BaseModel

from backend.runs.model import Run, Status
from backend.settings import reading_stored

Frame = tuple[str, list[dict[str, Any]]]  # ("steps", [step, ...])

# Timestamps are ISO-8601 text in UTC: they sort as text, on both dialects, and
# files written by earlier versions (plain sqlite3, same columns) stay readable.
metadata = sa.MetaData()
RUNS = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("started_at", sa.Text),
    sa.Column("ended_at", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("error", sa.Text),
    sa.Index("runs_created", "created_at"),
)
FRAMES = sa.Table(
    "frames", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # orjson of the frame's records
)
ARTIFACTS = sa.Table(
    "artifacts", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
OWNERS = sa.Table(
    "owners", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("client", sa.Text),  # who made the run (null: nobody said)
    sa.Column("key_hash", sa.Text),  # SHA-256 of the run's key (null: made before keys)
    sa.Index("owners_client", "client"),
)
META = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
RUN_COLUMNS = (RUNS.c.id, RUNS.c.kind, RUNS.c.status, RUNS.c.config, RUNS.c.created_at,
               RUNS.c.started_at, RUNS.c.ended_at, RUNS.c.summary, RUNS.c.error)
SCHEMA_LOCK = 7_146_321  # pg advisory lock: replicas starting together create the schema once


def now() -> datetime:
    return datetime.now(UTC)


def database_url(location: Path | str) -> str:
    """A SQLAlchemy URL: URLs pass through, anything else is a SQLite file path."""
    text = str(location)
    if "://" in text:
        return text
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    # a writer in another process (a worker) holds the lock for at most one commit: wait for it
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class RunStore:
    """Runs and their step logs in SQLite or PostgreSQL."""

    def __init__(self, location: Path | str) -> None:
        self.url = database_url(location)
        self.path = Path(self.url.removeprefix("sqlite:///")) if self.url.startswith("sqlite") else None
        self._engine = _engine(self.url)
        # SQLite has one writer at a time: serialise this process's writers here rather
        # than have them spin on the file lock; PostgreSQL takes them concurrently.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.path is not None else nullcontext()
        )
        with self._engine.begin() as db:
            if self._engine.dialect.name == "postgresql":
                db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            metadata.create_all(db)
            self.identity = _identity(db)

    def close(self) -> None:
        self._engine.dispose()

    def create(self, run: Run, client: str | None = None, key_hash: str | None = None) -> None:
        """Store a new run, made by `client`, changed only with the key whose hash is given."""
        with self._write_lock, self._engine.begin() as db:
            db.execute(RUNS.insert().values(
                id=run.id, kind=run.kind, status=run.status.value,
                config=run.config.model_dump_json(), created_at=run.created_at.isoformat(),
            ))
            db.execute(OWNERS.insert().values(run_id=run.id, client=client, key_hash=key_hash))

    def key_hash(self, run_id: str) -> str | None:
        with self._engine.connect() as db:
            return db.execute(sa.select(OWNERS.c.key_hash).where(OWNERS.c.run_id == run_id)).scalar()

    def mark_running(self, run_id: str) -> None:
        with self._write_lock, self._engine.begin() as db:
            db.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                status=Status.RUNNING.value, started_at=now().isoformat(),
            ))

    def requeue(self, run_id: str) -> None:
        """Back to queued with no frames: the run will be computed again from step 0."""
        with self._write_lock, self._engine.begin() as db:
            db.execute(FRAMES.delete().where(FRAMES.c.run_id == run_id))
            db.execute(ARTIFACTS.delete().where(ARTIFACTS.c.run_id == run_id))
            db.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                status=Status.QUEUED.value, started_at=None, ended_at=None, summary=None,
                error=None,
            ))

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
        frame_rows = [{"run_id": run_id, "seq": i, "type": kind, "payload": orjson.dumps(records)}
                      for i, (kind, records) in enumerate(frames)]
        artifact_rows = [{"run_id": run_id, "name": name, "data": data}
                         for name, data in (artifacts or {}).items()]
        with self._write_lock, self._engine.begin() as db:
            db.execute(FRAMES.delete().where(FRAMES.c.run_id == run_id))
            db.execute(ARTIFACTS.delete().where(ARTIFACTS.c.run_id == run_id))
            if artifact_rows:
                db.execute(ARTIFACTS.insert(), artifact_rows)
            if frame_rows:
                db.execute(FRAMES.insert(), frame_rows)
            db.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                status=status.value, ended_at=now().isoformat(),
                summary=summary.model_dump_json() if summary is not None else None, error=error,
            ))

    def put_artifact(self, run_id: str, name: str, data: bytes) -> None:
        """Store (or replace) one named file of an ended run."""
        with self._write_lock, self._engine.begin() as db:
            db.execute(ARTIFACTS.delete().where(ARTIFACTS.c.run_id == run_id, ARTIFACTS.c.name == name))
            db.execute(ARTIFACTS.insert().values(run_id=run_id, name=name, data=data))

    def get(self, run_id: str) -> Run | None:
        with self._engine.connect() as db:
            row = db.execute(sa.select(*RUN_COLUMNS).where(RUNS.c.id == run_id)).first()
        return _run(tuple(row)) if row else None

    def recent(self, limit: int, client: str | None = None) -> list[Run]:
        """The newest runs: every client's, or those `client` made."""
        query = sa.select(*RUN_COLUMNS)
        if client is not None:
            query = query.join(OWNERS, OWNERS.c.run_id == RUNS.c.id).where(OWNERS.c.client == client)
        with self._engine.connect() as db:
            rows = db.execute(query.order_by(RUNS.c.created_at.desc()).limit(limit)).all()
        return [_run(tuple(r)) for r in rows]

    def unfinished(self) -> list[Run]:
        with self._engine.connect() as db:
            rows = db.execute(
                sa.select(*RUN_COLUMNS)
                .where(RUNS.c.status.in_([Status.QUEUED.value, Status.RUNNING.value]))
                .order_by(RUNS.c.created_at)
            ).all()
        return [_run(tuple(r)) for r in rows]

    def artifact(self, run_id: str, name: str) -> bytes | None:
        with self._engine.connect() as db:
            data = db.execute(
                sa.select(ARTIFACTS.c.data)
                .where(ARTIFACTS.c.run_id == run_id, ARTIFACTS.c.name == name)
            ).scalar()
        return bytes(data) if data is not None else None

    def frames(self, run_id: str) -> list[Frame]:
        with self._engine.connect() as db:
            rows = db.execute(
                sa.select(FRAMES.c.type, FRAMES.c.payload)
                .where(FRAMES.c.run_id == run_id).order_by(FRAMES.c.seq)
            ).all()
        return [(kind, orjson.loads(payload)) for kind, payload in rows]


def _identity(db: sa.Connection) -> str:
    """This store's id, made once by whichever process creates the store: every process that
    opens the same database (API replicas, workers) reads the same id."""
    insert = (sa.dialects.postgresql.insert if db.dialect.name == "postgresql" else sa.dialects.sqlite.insert)
    db.execute(insert(META).values(key="identity", value=uuid.uuid4().hex).on_conflict_do_nothing())
    return str(db.execute(sa.select(META.c.value).where(META.c.key == "identity")).scalar_one())


def _run(row: tuple[Any, ...]) -> Run:
    """A stored run, read by its shape only (`reading_stored`): changing a limit or torch never
    hides an old run."""
    run_id, kind, status, config, created, started, ended, summary, error = row
    with reading_stored():
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
