"""A run's steps as a download: JSON, NDJSON, CSV or Parquet, in chunks, from step columns.

Blocking and CPU-bound: the route runs each `next()` in a worker thread. Columns come in
pieces (a segment of the store or a frame of a live log, one at a time); each piece is cut
to the rows asked for (`Cut`) and written in chunks of at most CHUNK_VALUES numbers, so an
export holds one piece and one chunk of text however long the run.

CSV and Parquet share one table: a row per step (per step and start for a batched run, with
a `start` column), nested values flattened to `params_0`, `state.exp_avg_1`, ...; columns in
order of first appearance over the run. In CSV a number is the shortest decimal that reads back
the same float64 (as orjson writes it, so JSON and CSV agree), a non-finite or missing value an
empty cell; Parquet keeps NaN and ±inf as they are and a missing value as null.
"""

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from backend.runs.columns import Firsts, Node, Path, StepColumns
from backend.runs.segments import Records

CHUNK_VALUES = 1 << 16  # numbers per written chunk
NUMPY = orjson.OPT_SERIALIZE_NUMPY


class NotTabular(ValueError):
    """Steps kept as JSON (they did not fit columns): no CSV or Parquet for them."""


@dataclass(frozen=True)
class Cut:
    """Which rows and which start to export."""

    start: int | None = None  # one start of a batched run
    from_step: int | None = None
    to_step: int | None = None
    every: int = 1  # every k-th of the rows in range, from the first

    def rows(self, columns: StepColumns, seen: int) -> tuple[np.ndarray, int]:
        """Indices of the rows of `columns` to keep, and how many rows in range came so far."""
        keep = np.ones(columns.rows, dtype=bool)
        steps = columns.column(("step",))
        if steps is not None:
            if self.from_step is not None:
                keep &= steps >= self.from_step
            if self.to_step is not None:
                keep &= steps <= self.to_step
        index = np.flatnonzero(keep)
        if self.every > 1:
            index = index[(seen + np.arange(len(index))) % self.every == 0]
        return index, seen + int(keep.sum())

    def past_end(self, columns: StepColumns) -> bool:
        """Every row of `columns` is past `to_step` (steps only grow: nothing more to read)."""
        steps = columns.column(("step",))
        return self.to_step is not None and steps is not None and columns.rows > 0 \
            and int(steps[0]) > self.to_step


def _per_start(node: Node, batched: bool) -> bool:
    """A value with one entry per start: a batched run's top-level lists and state buffers."""
    return batched and bool(node.shape) and (len(node.path) == 1 or
                                             (len(node.path) == 2 and node.path[0] == "state"))


@dataclass(frozen=True)
class Column:
    """One CSV / Parquet column: which leaf, which index into its value."""

    name: str
    node: Node | None  # None: the `start` column
    index: tuple[int, ...]
    per_start: bool


def table_columns(metas: list[Firsts], batched: bool) -> list[Column]:
    """The flat columns, in order of first appearance over the run's rows (a batched run's
    rows begin with `step`, `start`)."""
    columns: dict[str, Column] = {}
    if batched:
        step = next((node for meta in metas for node, _ in meta if node.path == ("step",)), None)
        if step is not None:
            columns["step"] = Column("step", step, (), False)
        columns["start"] = Column("start", None, (), False)
    for meta in metas:
        order = sorted((first, i) for i, (node, first) in enumerate(meta)
                       if first is not None and node.kind != "dict")
        for _, i in order:
            node = meta[i][0]
            per_start = _per_start(node, batched)
            shape = node.shape[1:] if per_start else node.shape
            base = ".".join(node.path)
            for index in np.ndindex(*shape):
                name = base + "".join(f"_{i}" for i in index)
                if name not in columns:
                    columns[name] = Column(name, node, index, per_start)
    return list(columns.values())


def one_start(columns: StepColumns, start: int) -> StepColumns:
    """A batched run's columns for one start: shaped like a single-start run's."""
    nodes = tuple(Node(n.path, n.kind, n.shape[1:]) if _per_start(n, True) else n for n in columns.nodes)
    values = {n.path: columns.values[n.path][:, start] if _per_start(n, True) else columns.values[n.path]
              for n in columns.nodes if n.kind != "dict"}
    return StepColumns(columns.rows, nodes, values, columns.present, columns.null)


def _chunks(pieces: Iterable[StepColumns], cut: Cut) -> Iterator[StepColumns]:
    """The rows asked for, in chunks of at most CHUNK_VALUES numbers."""
    seen = 0
    for piece in pieces:
        if cut.past_end(piece):
            return
        index, seen = cut.rows(piece, seen)
        if not len(index):
            continue
        width = max(1, sum(int(np.prod(n.shape)) for n in piece.leaves()))
        step = max(1, CHUNK_VALUES // width)
        for at in range(0, len(index), step):
            yield piece.take(index[at : at + step])


def json_chunks(pieces: Iterable[StepColumns], cut: Cut) -> Iterator[bytes]:
    """`{"steps": [...]}`, exactly as `orjson.dumps` writes the records."""
    yield b'{"steps":['
    first = True
    for chunk in _chunks(pieces, cut):
        text = orjson.dumps(_records(chunk, cut), option=NUMPY)[1:-1]
        yield text if first else b"," + text
        first = False
    yield b"]}"


def ndjson_chunks(pieces: Iterable[StepColumns], cut: Cut) -> Iterator[bytes]:
    for chunk in _chunks(pieces, cut):
        yield b"".join(orjson.dumps(r, option=NUMPY) + b"\n" for r in _records(chunk, cut))


def _records(chunk: StepColumns, cut: Cut) -> list[dict[str, Any]]:
    """The chunk's steps as records (one start's, if the cut names one). Built in a function of
    its own, so that a download waiting its turn holds only its text, not these objects too."""
    return (one_start(chunk, cut.start) if cut.start is not None else chunk).records()


def _cells(chunk: StepColumns, column: Column, starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(values, missing) of one column for the chunk's rows × `starts`, step-major."""
    per_row = len(starts)
    if column.node is None:  # start
        return np.tile(np.array(starts, dtype=np.int64), chunk.rows), np.zeros(chunk.rows * per_row, bool)
    path: Path = column.node.path
    array = chunk.values.get(path)
    missing = np.zeros(chunk.rows, dtype=bool)
    if array is None:
        return np.full(chunk.rows * per_row, np.nan), np.ones(chunk.rows * per_row, bool)
    if path in chunk.present:
        missing |= ~chunk.present[path]
    if path in chunk.null:
        missing |= chunk.null[path]
    if column.per_start:
        selector: tuple[Any, ...] = (slice(None), starts, *column.index)
        values = array[selector].reshape(-1)
        return values, np.repeat(missing, per_row)
    selector = (slice(None), *column.index)
    values = array[selector]
    return np.repeat(values, per_row), np.repeat(missing, per_row)


def csv_chunks(pieces: Iterable[StepColumns], cut: Cut, metas: list[Firsts], n_starts: int | None,
               ) -> Iterator[bytes]:
    """A header row, then one row per step (per step and start for a batched run)."""
    columns = table_columns(metas, n_starts is not None)
    starts = _starts(cut, n_starts)
    yield (",".join(c.name for c in columns) + "\n").encode()
    for chunk in _chunks(pieces, cut):
        yield _csv_rows(chunk, columns, starts)


def _csv_rows(chunk: StepColumns, columns: list[Column], starts: list[int]) -> bytes:
    """The chunk's rows as CSV text. A function of its own, so that a download waiting its turn
    holds only the text, not the cells it was made of."""
    cells = [_cells(chunk, column, starts) for column in columns]
    groups = []  # neighbouring columns of one kind, each as its rows' text
    for _, run in groupby(cells, key=lambda cell: (cell[0].dtype == np.float64, bool(cell[1].any()))):
        groups.append(_csv_text(list(run)))
    return b"\n".join(map(b",".join, zip(*groups, strict=True))) + b"\n"


def _csv_text(cells: list[tuple[np.ndarray, np.ndarray]]) -> list[bytes]:
    """Rows of some columns of one kind as CSV text: numbers as orjson writes them (the shortest
    decimal that reads back the same float64), empty where missing or not finite."""
    values = np.column_stack([v for v, _ in cells])
    missing = np.column_stack([m for _, m in cells])
    if values.dtype == np.float64:
        values = np.where(missing, np.nan, values)  # orjson writes NaN and ±inf as null
        return orjson.dumps(values, option=NUMPY)[2:-2].replace(b"null", b"").split(b"],[")
    if not missing.any():
        return orjson.dumps(values, option=NUMPY)[2:-2].split(b"],[")
    return [",".join("" if gap else str(v) for v, gap in zip(row, gaps, strict=True)).encode()
            for row, gaps in zip(values.tolist(), missing.tolist(), strict=True)]


def _starts(cut: Cut, n_starts: int | None) -> list[int]:
    if n_starts is None:
        return [0]
    return [cut.start] if cut.start is not None else list(range(n_starts))


class _Sink(io.RawIOBase):
    """Where the Parquet writer writes: bytes taken away after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.written

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _arrow(values: np.ndarray, missing: np.ndarray, kind: pa.DataType) -> pa.Array:
    """An Arrow array over the values' buffer, null where `missing` (built from buffers: `pa.array`
    with a mask imports pandas on first use, seconds holding the GIL)."""
    data = np.ascontiguousarray(values, dtype=np.int64 if kind == pa.int64() else np.float64)
    valid = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
    return pa.Array.from_buffers(kind, len(data), [valid, pa.py_buffer(data)], null_count=int(missing.sum()))


def parquet_chunks(pieces: Iterable[StepColumns], cut: Cut, metas: list[Firsts],
                   n_starts: int | None) -> Iterator[bytes]:
    """A Parquet file (zstd) with the CSV's columns, one row group per chunk."""
    columns = table_columns(metas, n_starts is not None)
    starts = _starts(cut, n_starts)
    schema = pa.schema([
        pa.field(c.name, pa.int64() if c.node is None or c.node.kind == "int" else pa.float64())
        for c in columns
    ])
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    for chunk in _chunks(pieces, cut):
        writer.write_table(pa.Table.from_arrays(
            [_arrow(*_cells(chunk, column, starts), field_.type)
             for column, field_ in zip(columns, schema, strict=True)], schema=schema))
        yield sink.take()
    writer.close()
    yield sink.take()


MEDIA = {"json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv",
         "parquet": "application/vnd.apache.parquet"}


def download(format: str, pieces: Iterable[Records], firsts: list[Firsts | None], cut: Cut,
             n_starts: int | None) -> Iterator[bytes]:
    """The chunks of one download. `firsts`: per step piece, where its keys first appear (None
    for a piece kept as JSON records, which only the stream replays)."""
    if any(f is None for f in firsts):
        raise NotTabular("this run's steps were stored as records that do not fit columns; "
                         "watch its stream (WS /api/runs/{id}/stream) instead")
    known = [f for f in firsts if f is not None]
    tables = (p for p in pieces if isinstance(p, StepColumns))
    if format == "json":
        return json_chunks(tables, cut)
    if format == "ndjson":
        return ndjson_chunks(tables, cut)
    if format == "csv":
        return csv_chunks(tables, cut, known, n_starts)
    return parquet_chunks(tables, cut, known, n_starts)
