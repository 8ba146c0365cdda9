"""A run's frames as the rows of the store's `segments` table, and back.

Consecutive step frames are joined and cut into segments of at most SEGMENT_VALUES
numbers, each one compressed block of columns (`columns.encode`); reading an export or a
replay holds one segment at a time. Other frames (a network run's epochs, its landscape),
and steps that do not fit columns, are stored as the JSON they were streamed as.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from backend.runs import columns
from backend.runs.columns import StepColumns

SEGMENT_VALUES = 1 << 18  # numbers per stored segment (2 MiB of float64)
Records = list[dict[str, Any]] | StepColumns
Frame = tuple[str, Records]  # ("steps", records or their columns), ("epoch", [record, ...]), ...


def compact(kind: str, records: Records) -> Records:
    """Step records as columns when they fit; anything else as it is."""
    if kind != "steps" or isinstance(records, StepColumns):
        return records
    return columns.from_records(records) or records


def as_records(records: Records) -> list[dict[str, Any]]:
    return records.records() if isinstance(records, StepColumns) else records


def _width(part: StepColumns) -> int:
    return max(1, sum(int(np.prod(n.shape)) for n in part.leaves()))


def rows(frames: list[Frame]) -> Iterator[dict[str, Any]]:
    """The table rows of a run's frames, {seq, kind, rows, meta, data}, in order, each compressed
    when it is asked for: a long run's are never all in memory at once."""
    for seq, (kind, n, meta, data) in enumerate(_pieces(frames)):
        yield {"seq": seq, "kind": kind, "rows": n,
               "meta": orjson.dumps(meta).decode() if meta is not None else None, "data": data}


def _pieces(frames: list[Frame]) -> Iterator[tuple[str, int, dict[str, Any] | None, bytes]]:
    """(kind, rows, meta, data) of each stored row: consecutive step frames joined and cut into
    segments, any other frame as its JSON."""
    pending: list[StepColumns] = []

    def flush() -> Iterator[tuple[str, int, dict[str, Any] | None, bytes]]:
        if not pending:
            return
        joined = columns.concat(pending) if len(pending) > 1 else pending[0]
        for part in [joined] if joined is not None else list(pending):
            yield "steps", part.rows, *columns.encode(part)
        pending.clear()

    for kind, records in frames:
        held = compact(kind, records)
        if not isinstance(held, StepColumns):
            yield from flush()
            yield kind, len(held), None, orjson.dumps(held)
            continue
        per_segment = max(1, SEGMENT_VALUES // _width(held))
        for at in range(0, held.rows, per_segment):
            part = held.take(slice(at, at + per_segment))
            if pending and (sum(p.rows for p in pending) + part.rows) * _width(part) > SEGMENT_VALUES:
                yield from flush()
            pending.append(part)
    yield from flush()


def frame(kind: str, meta: str | None, data: bytes) -> Frame:
    """A stored row as the frame it holds."""
    if meta is None:
        return kind, orjson.loads(data)
    return kind, columns.decode(orjson.loads(meta), data)


def step_pieces(frames: Iterator[Frame]) -> Iterator[Records]:
    """The step frames' records, in order."""
    for kind, records in frames:
        if kind == "steps":
            yield records
