"""Durable run store: a SQLite file by default, or PostgreSQL for several API replicas.

`runs` holds each run's request, status and summary; `segments` its step log,
written once when the run ends: steps as compressed columns (`backend.runs.columns`)
in segments of at most SEGMENT_VALUES numbers, other frames (a network's epochs) as
JSON, in the order they were streamed; `frames` the step logs of runs stored by
earlier versions (orjson per frame), still read; `artifacts` named files (a landscape
export); `usage` each run's stored bytes and whether it is pinned; `owners` who made
each run and the hash of its key; `datasets` CSV texts stored by their SHA-256, so that a link
or a classroom room can name a CSV instead of carrying it; `meta` the store's identity, which
the API publishes in Redis so that a worker can check it writes to the same store. SQLAlchemy Core speaks both
dialects: `RunStore(path)` opens a SQLite file (WAL journal, so the API and a
worker process on the same machine can share it); `RunStore("postgresql+psycopg://...")`
opens a database that API replicas and remote workers share. Calls are
blocking and thread-safe; call them from a thread, never from the event loop.
"""

import fcntl
import hashlib
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
from pydantic import BaseModel

from backend.runs import columns, segments
from backend.runs.columns import StepColumns
from backend.runs.model import Run, Status
from backend.runs.retention import Candidate, evictions
from backend.runs.segments import Frame
from backend.settings import reading_stored

__all__ = ["Frame", "RunStore", "StoreFull", "csv_id"]

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
    # the queue: queued (or running) runs by age, without reading every ended run
    sa.Index("runs_status_created", "status", "created_at"),
)
SEGMENTS = sa.Table(
    "segments", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("meta", sa.Text),  # step columns: what `columns.encode` wrote; null: `data` is JSON
    sa.Column("data", sa.LargeBinary, nullable=False),
)
USAGE = sa.Table(
    "usage", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("bytes", sa.BigInteger, nullable=False),  # its segments, frames and artifacts
    sa.Column("pinned", sa.Boolean, nullable=False),  # never evicted
)
FRAMES = sa.Table(  # step logs of runs stored before `segments`
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
DATASETS = sa.Table(
    "datasets", metadata,
    sa.Column("id", sa.Text, primary_key=True),  # SHA-256 of the text's UTF-8, hex
    sa.Column("client", sa.Text),  # who stored it first (null: nobody said)
    sa.Column("bytes", sa.BigInteger, nullable=False),  # of the text's UTF-8
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("used_at", sa.Text, nullable=False),  # stored or read last (within USE_RESOLUTION)
    sa.Column("data", sa.LargeBinary, nullable=False),  # the text's UTF-8
    sa.Index("datasets_client", "client"),
    sa.Index("datasets_used", "used_at"),
)
META = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
RUN_COLUMNS = (RUNS.c.id, RUNS.c.kind, RUNS.c.status, RUNS.c.config, RUNS.c.created_at,
               RUNS.c.started_at, RUNS.c.ended_at, RUNS.c.summary, RUNS.c.error, USAGE.c.bytes,
               USAGE.c.pinned)
RUNS_USAGE = RUNS.outerjoin(USAGE, USAGE.c.run_id == RUNS.c.id)
DATA_TABLES = (SEGMENTS, FRAMES, ARTIFACTS)
DISK_MARGIN = 256 << 10  # bytes a SQLite write leaves free on the disk, beyond twice its size
JOURNAL_LIMIT = 16 << 20  # bytes the WAL keeps once checkpointed
USE_RESOLUTION = timedelta(hours=1)  # a dataset read within this of its last use is not written again
SCHEMA_LOCK = 7_146_321  # pg advisory lock: replicas starting together create the schema once


def now() -> datetime:
    return datetime.now(UTC)


def csv_id(text: str) -> str:
    """A CSV dataset's id: the SHA-256 of its text's UTF-8, 64 lowercase hex digits."""
    return hashlib.sha256(text.encode()).hexdigest()


def database_url(location: Path | str) -> str:
    """A SQLAlchemy URL: URLs pass through, anything else is a SQLite file path."""
    text = str(location)
    if "://" in text:
        return text
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class StoreFull(Exception):
    """The store's disk (or database) has no room: nothing of the write was kept."""


def _full(error: BaseException) -> bool:
    origin = getattr(error, "orig", None)
    if isinstance(origin, sqlite3.OperationalError):
        return getattr(origin, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return getattr(origin, "sqlstate", None) in ("53100", "53200")  # PostgreSQL: disk full, out of memory


@contextmanager
def _room() -> Iterator[None]:
    """Turn "disk full" from either dialect into StoreFull (the transaction rolled back)."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InternalError) as error:
        if _full(error):
            raise StoreFull(str(getattr(error, "orig", error))) from error
        raise
    except OSError as error:
        if error.errno == 28:  # ENOSPC
            raise StoreFull(str(error)) from error
        raise


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
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")  # a long run's WAL shrinks back
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
        with self._schema_lock(), self._engine.begin() as db:
            if self._engine.dialect.name == "postgresql":
                db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            metadata.create_all(db)
            for index in RUNS.indexes:  # create_all adds an index only with its table
                index.create(db, checkfirst=True)
            self.identity = _identity(db)
            _count_earlier_runs(db)

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """One process at a time creates or upgrades a SQLite file's tables (an API and a worker,
        or two replicas, starting together once raced: "table runs already exists"). SQLite takes
        no lock for CREATE TABLE's check, so a lock file beside the database does; PostgreSQL
        uses an advisory lock inside the transaction instead."""
        if self.path is None:
            yield
            return
        with open(self.path.parent / f"{self.path.name}.schema-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        """One write transaction; a full disk is StoreFull and leaves nothing behind."""
        with _room(), self._write_lock, self._engine.begin() as db:
            yield db

    def _check_room(self, size: int) -> None:
        """StoreFull before writing `size` bytes to a SQLite file whose disk cannot take them twice
        (the WAL, then the file) and a margin: a write that fills the disk leaves a WAL that no
        checkpoint can empty, and then nothing can be written until space is freed by hand."""
        if self.path is None:
            return
        free = shutil.disk_usage(self.path.parent).free
        if free < 2 * size + DISK_MARGIN:
            raise StoreFull(f"storing {size:,} bytes needs {2 * size + DISK_MARGIN:,} free, the disk has "
                            f"{free:,}")

    def create(self, run: Run, client: str | None = None, key_hash: str | None = None) -> None:
        """Store a new run, made by `client`, changed only with the key whose hash is given."""
        with self._writing() as db:
            db.execute(RUNS.insert().values(
                id=run.id, kind=run.kind, status=run.status.value,
                config=run.config.model_dump_json(), created_at=run.created_at.isoformat(),
            ))
            db.execute(OWNERS.insert().values(run_id=run.id, client=client, key_hash=key_hash))
            db.execute(USAGE.insert().values(run_id=run.id, bytes=0, pinned=False))

    def key_hash(self, run_id: str) -> str | None:
        with self._engine.connect() as db:
            return db.execute(sa.select(OWNERS.c.key_hash).where(OWNERS.c.run_id == run_id)).scalar()

    def mark_running(self, run_id: str) -> None:
        with self._writing() as db:
            db.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                status=Status.RUNNING.value, started_at=now().isoformat(),
            ))

    def requeue(self, run_id: str) -> None:
        """Back to queued with no frames: the run will be computed again from step 0."""
        with self._writing() as db:
            for table in DATA_TABLES:
                db.execute(table.delete().where(table.c.run_id == run_id))
            _recount(db, run_id)
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
        """Store the end state, the whole step log and any files in one transaction. The log is
        compressed outside the write lock, a segment at a time, into a spool file beside the
        store (in the system's temporary directory for PostgreSQL), and read back from it a
        segment at a time while written: a long run's log is never in memory compressed too."""
        artifact_rows = [{"run_id": run_id, "name": n, "data": data} for n, data in (artifacts or {}).items()]
        with _room(), tempfile.TemporaryFile(dir=self.path.parent if self.path else None) as spool:
            spooled = [({"run_id": run_id, **row, "data": None}, spool.write(row["data"]))  # (row, its data's
                       for row in segments.rows(frames)]  # length): compressed here, outside the write lock
            self._check_room(spool.tell() + sum(len(r["data"]) for r in artifact_rows))
            spool.seek(0)
            with self._writing() as db:
                for table in DATA_TABLES:
                    db.execute(table.delete().where(table.c.run_id == run_id))
                if artifact_rows:
                    db.execute(ARTIFACTS.insert(), artifact_rows)
                for row, length in spooled:  # one at a time: a driver copies what one statement binds
                    db.execute(SEGMENTS.insert().values(**(row | {"data": spool.read(length)})))
                db.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                    status=status.value, ended_at=now().isoformat(),
                    summary=summary.model_dump_json() if summary is not None else None, error=error,
                ))
                _recount(db, run_id)

    def fail(self, run_id: str, error: str) -> None:
        """End a run as failed, keeping nothing of its steps (what is left when finish could not)."""
        with self._writing() as db:
            db.execute(RUNS.update().where(RUNS.c.id == run_id).values(
                status=Status.FAILED.value, ended_at=now().isoformat(), error=error))

    def put_artifact(self, run_id: str, name: str, data: bytes) -> None:
        """Store (or replace) one named file of an ended run."""
        with self._writing() as db:
            db.execute(ARTIFACTS.delete().where(ARTIFACTS.c.run_id == run_id, ARTIFACTS.c.name == name))
            db.execute(ARTIFACTS.insert().values(run_id=run_id, name=name, data=data))
            _recount(db, run_id)

    def get(self, run_id: str) -> Run | None:
        with self._engine.connect() as db:
            row = db.execute(
                sa.select(*RUN_COLUMNS).select_from(RUNS_USAGE).where(RUNS.c.id == run_id)).first()
        return _run(tuple(row)) if row else None

    def recent(self, limit: int, client: str | None = None) -> list[Run]:
        """The newest runs: every client's, or those `client` made."""
        query = sa.select(*RUN_COLUMNS).select_from(RUNS_USAGE)
        if client is not None:
            query = query.join(OWNERS, OWNERS.c.run_id == RUNS.c.id).where(OWNERS.c.client == client)
        with self._engine.connect() as db:
            rows = db.execute(query.order_by(RUNS.c.created_at.desc()).limit(limit)).all()
        return [_run(tuple(r)) for r in rows]

    def queue_position(self, run: Run) -> int:
        """The queued runs ahead of queued run `run`: those queued before it (ties: by id),
        the order the executors start them in."""
        created = run.created_at.isoformat()
        ahead = sa.or_(RUNS.c.created_at < created, sa.and_(RUNS.c.created_at == created, RUNS.c.id < run.id))
        with self._engine.connect() as db:
            count = db.execute(sa.select(sa.func.count()).select_from(RUNS)
                               .where(RUNS.c.status == Status.QUEUED.value, ahead)).scalar_one()
        return int(count)

    def unfinished(self) -> list[Run]:
        with self._engine.connect() as db:
            rows = db.execute(
                sa.select(*RUN_COLUMNS).select_from(RUNS_USAGE)
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
        """Every stored frame of a run, as records of Python values (what `finish` was given)."""
        return [(kind, records.records(plain=True) if isinstance(records, StepColumns) else records)
                for kind, records in self.iter_frames(run_id, compact=False)]

    def iter_frames(self, run_id: str, compact: bool = True) -> Iterator[Frame]:
        """The stored frames one at a time: a long run is never all in memory. Steps come as
        columns (those of a run stored before segments too, unless not `compact`)."""
        with self._engine.connect() as db:
            index = db.execute(sa.select(SEGMENTS.c.seq).where(SEGMENTS.c.run_id == run_id)
                               .order_by(SEGMENTS.c.seq)).scalars().all()
        if not index:
            yield from self._earlier_frames(run_id, compact)
            return
        for seq in index:
            with self._engine.connect() as db:
                row = db.execute(sa.select(SEGMENTS.c.kind, SEGMENTS.c.meta, SEGMENTS.c.data).where(
                    SEGMENTS.c.run_id == run_id, SEGMENTS.c.seq == seq)).first()
            if row is not None:
                yield segments.frame(row[0], row[1], bytes(row[2]))

    def step_firsts(self, run_id: str) -> list[columns.Firsts | None] | None:
        """Per stored step segment, where each key first appears (None: kept as JSON); None for a
        run stored before segments (read its frames instead)."""
        with self._engine.connect() as db:
            rows = db.execute(sa.select(SEGMENTS.c.kind, SEGMENTS.c.meta).where(SEGMENTS.c.run_id == run_id)
                              .order_by(SEGMENTS.c.seq)).all()
        if not rows:
            return None
        return [columns.described(orjson.loads(meta)) if meta is not None else None
                for kind, meta in rows if kind == "steps"]

    def _earlier_frames(self, run_id: str, compact: bool) -> Iterator[Frame]:
        with self._engine.connect() as db:
            rows = db.execute(
                sa.select(FRAMES.c.type, FRAMES.c.payload)
                .where(FRAMES.c.run_id == run_id).order_by(FRAMES.c.seq)
            ).all()
        for kind, payload in rows:
            records = orjson.loads(payload)
            yield kind, segments.compact(kind, records) if compact else records

    # --- retention ----------------------------------------------------------------------

    def set_pinned(self, run_id: str, pinned: bool) -> None:
        with self._writing() as db:
            db.execute(USAGE.update().where(USAGE.c.run_id == run_id).values(pinned=pinned))

    def client_bytes(self, client: str) -> int:
        """Bytes stored for the runs `client` made."""
        with self._engine.connect() as db:
            total = db.execute(sa.select(sa.func.coalesce(sa.func.sum(USAGE.c.bytes), 0))
                               .join_from(USAGE, OWNERS, OWNERS.c.run_id == USAGE.c.run_id)
                               .where(OWNERS.c.client == client)).scalar()
        return int(total or 0)

    def delete(self, run_id: str) -> None:
        """Forget an ended run and everything stored for it."""
        with self._writing() as db:
            _delete(db, [run_id])

    def evict(self, budget_bytes: int, max_age_seconds: int) -> list[str]:
        """Delete the ended, unpinned runs past `max_age_seconds`, then the oldest of them until
        the store holds at most `budget_bytes`; the ids deleted."""
        with self._engine.connect() as db:
            total = int(db.execute(sa.select(sa.func.coalesce(sa.func.sum(USAGE.c.bytes), 0))).scalar() or 0)
            rows = db.execute(
                sa.select(RUNS.c.id, RUNS.c.ended_at, USAGE.c.bytes).select_from(RUNS_USAGE)
                .where(RUNS.c.ended_at.is_not(None), sa.func.coalesce(USAGE.c.pinned, False).is_(False))
                .order_by(RUNS.c.ended_at)
            ).all()
        cutoff = (now() - timedelta(seconds=max_age_seconds)).isoformat()
        doomed = evictions([Candidate(r[0], r[1], int(r[2] or 0)) for r in rows], total, budget_bytes,
                           cutoff)
        if doomed:
            with self._writing() as db:
                _delete(db, doomed)
        return doomed

    # --- CSV datasets ---------------------------------------------------------------------

    def put_dataset(self, text: str, client: str | None) -> tuple[str, bool]:
        """Store a CSV's text under its SHA-256; (its id, whether it was new). Storing a text
        already there only marks it used, and counts against the client that stored it first."""
        data = text.encode()
        dataset_id = csv_id(text)
        stamp = now().isoformat()
        with self._writing() as db:
            known = db.execute(DATASETS.update().where(DATASETS.c.id == dataset_id).values(used_at=stamp))
            if known.rowcount:
                return dataset_id, False
            self._check_room(len(data))
            stored = db.execute(_insert(db)(DATASETS).values(  # another replica may store it meanwhile
                id=dataset_id, client=client, bytes=len(data), created_at=stamp, used_at=stamp, data=data,
            ).on_conflict_do_nothing().returning(DATASETS.c.id)).first()
        return dataset_id, stored is not None

    def has_dataset(self, dataset_id: str) -> bool:
        with self._engine.connect() as db:
            return db.execute(sa.select(DATASETS.c.id).where(DATASETS.c.id == dataset_id)).first() is not None

    def dataset(self, dataset_id: str) -> str | None:
        """A stored CSV's text (None: unknown or forgotten); marks it used."""
        with self._engine.connect() as db:
            row = db.execute(sa.select(DATASETS.c.data, DATASETS.c.used_at)
                             .where(DATASETS.c.id == dataset_id)).first()
        if row is None:
            return None
        moment = now()
        if row.used_at < (moment - USE_RESOLUTION).isoformat():  # thirty students reading it write once
            with self._writing() as db:
                db.execute(DATASETS.update().where(DATASETS.c.id == dataset_id)
                           .values(used_at=moment.isoformat()))
        return bytes(row.data).decode()

    def client_dataset_bytes(self, client: str) -> int:
        """Bytes of the CSV datasets `client` stored first."""
        with self._engine.connect() as db:
            total = db.execute(sa.select(sa.func.coalesce(sa.func.sum(DATASETS.c.bytes), 0))
                               .where(DATASETS.c.client == client)).scalar()
        return int(total or 0)

    def evict_datasets(self, budget_bytes: int, max_age_seconds: int) -> list[str]:
        """Delete the datasets unused for `max_age_seconds`, then the least recently used until
        the datasets hold at most `budget_bytes`; the ids deleted."""
        with self._engine.connect() as db:
            rows = db.execute(sa.select(DATASETS.c.id, DATASETS.c.used_at, DATASETS.c.bytes)).all()
        cutoff = (now() - timedelta(seconds=max_age_seconds)).isoformat()
        doomed = evictions([Candidate(r[0], r[1], int(r[2])) for r in rows], sum(int(r[2]) for r in rows),
                           budget_bytes, cutoff)
        if doomed:
            with self._writing() as db:
                db.execute(DATASETS.delete().where(DATASETS.c.id.in_(doomed)))
        return doomed


def _delete(db: sa.Connection, run_ids: list[str]) -> None:
    for table in (*DATA_TABLES, USAGE, OWNERS):
        db.execute(table.delete().where(table.c.run_id.in_(run_ids)))
    db.execute(RUNS.delete().where(RUNS.c.id.in_(run_ids)))


def _data_bytes(run_id: Any) -> Any:
    """SQL: bytes stored for `run_id` (a value or a column) in every data table."""
    return sum((sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(table.c[column])), 0))
                .where(table.c.run_id == run_id).scalar_subquery()
                for table, column in ((SEGMENTS, "data"), (FRAMES, "payload"), (ARTIFACTS, "data"))),
               start=sa.literal(0))


def _recount(db: sa.Connection, run_id: str) -> None:
    db.execute(USAGE.update().where(USAGE.c.run_id == run_id).values(bytes=_data_bytes(run_id)))


def _count_earlier_runs(db: sa.Connection) -> None:
    """Give runs stored before `usage` their row (their size, unpinned), once."""
    missing = sa.select(RUNS.c.id, _data_bytes(RUNS.c.id), sa.false()).where(
        ~sa.exists().where(USAGE.c.run_id == RUNS.c.id))
    db.execute(USAGE.insert().from_select(["run_id", "bytes", "pinned"], missing))


def _insert(db: sa.Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return sa.dialects.postgresql.insert if db.dialect.name == "postgresql" else sa.dialects.sqlite.insert


def _identity(db: sa.Connection) -> str:
    """This store's id, made once by whichever process creates the store: every process that
    opens the same database (API replicas, workers) reads the same id."""
    db.execute(_insert(db)(META).values(key="identity", value=uuid.uuid4().hex).on_conflict_do_nothing())
    return str(db.execute(sa.select(META.c.value).where(META.c.key == "identity")).scalar_one())


def _run(row: tuple[Any, ...]) -> Run:
    """A stored run, read by its shape only (`reading_stored`): changing a limit or torch never
    hides an old run."""
    run_id, kind, status, config, created, started, ended, summary, error, size, pinned = row
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
                "size": size if ended else None,
                "pinned": bool(pinned),
            }
        )
