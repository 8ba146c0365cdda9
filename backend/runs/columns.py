"""Step records as typed columns: how a run's steps live in memory, in the store and in exports.

A frame's records (dicts whose values are numbers, lists of numbers, nested dicts) become
one array per leaf, shaped (rows, *value shape): float64 where the records hold floats (the
engine computes in float64, so values keep every bit), int64 where they hold whole numbers.
Lists hold floats. A leaf or dict that some records lack has a `present` mask (a state
buffer before step 1: `state` is `{}` there); a leaf whose whole value is null in some
records has a `null` mask (the epoch of a run that keeps only its ends). NaN stays NaN:
null on the wire, as ever. Records that do not fit (strings, ragged lists, keys in
different orders) stay JSON: `from_records` answers None.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa

Path = tuple[str, ...]
Kind = Literal["dict", "int", "float"]
CODEC = "zstd"


@dataclass(frozen=True)
class Node:
    """A key of the records: a nested dict, or a leaf of ints or floats of one shape."""

    path: Path
    kind: Kind
    shape: tuple[int, ...] = ()


class Unfit(ValueError):
    """Records that columns cannot hold exactly."""


@dataclass
class StepColumns:
    """`rows` step records as one array per leaf (rows first), in the records' key order."""

    rows: int
    nodes: tuple[Node, ...]  # depth-first, siblings in the records' key order
    values: dict[Path, np.ndarray]  # leaf → (rows, *shape)
    present: dict[Path, np.ndarray] = field(default_factory=dict)  # node → (rows,) bool
    null: dict[Path, np.ndarray] = field(default_factory=dict)  # leaf → (rows,) bool

    def __len__(self) -> int:
        return self.rows

    @property
    def nbytes(self) -> int:
        arrays = [*self.values.values(), *self.present.values(), *self.null.values()]
        return sum(a.nbytes for a in arrays)

    def leaves(self) -> list[Node]:
        return [n for n in self.nodes if n.kind != "dict"]

    def take(self, index: np.ndarray | slice) -> "StepColumns":
        """The rows at `index` (an index array or a slice)."""
        values = {p: v[index] for p, v in self.values.items()}
        rows = len(next(iter(values.values()))) if values else len(np.arange(self.rows)[index])
        return StepColumns(rows, self.nodes, values,
                           {p: m[index] for p, m in self.present.items()},
                           {p: m[index] for p, m in self.null.items()})

    def column(self, path: Path) -> np.ndarray | None:
        return self.values.get(path)

    def records(self, plain: bool = False) -> list[dict[str, Any]]:
        """The records again: scalars as Python numbers, lists as NumPy rows (orjson writes
        them with OPT_SERIALIZE_NUMPY, NaN as null, exactly as the floats they came from), or
        if `plain` as Python values the way JSON reads them back (NaN as None)."""
        cells: dict[Path, list[Any]] = {}
        for node in self.leaves():
            array = self.values[node.path]
            if plain and node.kind == "float" and np.isnan(array).any():
                boxed = array.astype(object)
                boxed[np.isnan(array)] = None
                cells[node.path] = boxed.tolist()
            else:
                cells[node.path] = array.tolist() if array.ndim == 1 or plain else list(array)
            nulls = self.null.get(node.path)
            if nulls is not None:
                column = cells[node.path]
                for i in np.flatnonzero(nulls).tolist():
                    column[i] = None
        present = {p: m.tolist() for p, m in self.present.items()}
        tree = _tree(self.nodes)

        def build(children: list[tuple[str, Node, Any]], r: int) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, node, kids in children:
                mask = present.get(node.path)
                if mask is not None and not mask[r]:
                    continue
                out[key] = build(kids, r) if node.kind == "dict" else cells[node.path][r]
            return out

        return [build(tree, r) for r in range(self.rows)]


Firsts = list[tuple[Node, int | None]]  # per node: the first row holding it (None: no row)


def firsts(columns: StepColumns) -> Firsts:
    out: Firsts = []
    for node in columns.nodes:
        mask = columns.present.get(node.path)
        if mask is None:
            out.append((node, 0 if columns.rows else None))
        else:
            out.append((node, int(np.argmax(mask)) if mask.any() else None))
    return out


def described(meta: dict[str, Any]) -> Firsts:
    """`firsts` of encoded columns, from what `encode` wrote beside them."""
    return [(Node(tuple(e["path"]), e["kind"], tuple(e["shape"])), e["first"]) for e in meta["nodes"]]


def _tree(nodes: tuple[Node, ...]) -> list[tuple[str, Node, Any]]:
    """Nodes as nested (key, node, children) lists, in order."""
    root: list[tuple[str, Node, Any]] = []
    children: dict[Path, list[tuple[str, Node, Any]]] = {(): root}
    for node in nodes:
        kids: list[tuple[str, Node, Any]] = []
        children[node.path[:-1]].append((node.path[-1], node, kids))
        children[node.path] = kids
    return root


def from_records(records: list[dict[str, Any]]) -> StepColumns | None:
    """Columns holding exactly these records, or None when they do not fit."""
    try:
        return _columns(records)
    except Unfit:
        return None


def _columns(records: list[dict[str, Any]]) -> StepColumns:
    rows = len(records)
    order: dict[Path, dict[str, int]] = {(): {}}  # per dict: its keys in first-seen order
    dicts: dict[Path, list[int]] = {}  # dict node → rows holding it
    leaves: dict[Path, tuple[list[int], list[Any]]] = {}  # leaf → (rows, values)

    def walk(value: dict[str, Any], path: Path, r: int) -> None:
        keys = order[path]
        last = -1
        for key, inner in value.items():
            index = keys.setdefault(key, len(keys))
            if index < last:
                raise Unfit(f"keys of {path} in another order")
            last = index
            inner_path = (*path, key)
            if isinstance(inner, dict):
                if inner_path in leaves:
                    raise Unfit(f"{inner_path} is both a dict and a value")
                order.setdefault(inner_path, {})
                dicts.setdefault(inner_path, []).append(r)
                walk(inner, inner_path, r)
            else:
                if inner_path in dicts:
                    raise Unfit(f"{inner_path} is both a dict and a value")
                held = leaves.setdefault(inner_path, ([], []))
                held[0].append(r)
                held[1].append(inner)

    for r, record in enumerate(records):
        if not isinstance(record, dict):
            raise Unfit("a record is not an object")
        walk(record, (), r)
    nodes: list[Node] = []
    values: dict[Path, np.ndarray] = {}
    present: dict[Path, np.ndarray] = {}
    null: dict[Path, np.ndarray] = {}

    def emit(path: Path) -> None:
        for key in order[path]:
            inner = (*path, key)
            if inner in dicts:
                nodes.append(Node(inner, "dict"))
                _mask(present, inner, dicts[inner], rows)
                emit(inner)
                continue
            at, held = leaves[inner]
            node, array, nulls = _leaf(inner, held, rows, at)
            nodes.append(node)
            values[inner] = array
            _mask(present, inner, at, rows)
            if nulls is not None:
                null[inner] = nulls

    emit(())
    return StepColumns(rows, tuple(nodes), values, present, null)


def _mask(masks: dict[Path, np.ndarray], path: Path, at: list[int], rows: int) -> None:
    if len(at) < rows:
        mask = np.zeros(rows, dtype=bool)
        mask[at] = True
        masks[path] = mask


def _leaf(path: Path, held: list[Any], rows: int, at: list[int],
          ) -> tuple[Node, np.ndarray, np.ndarray | None]:
    """One leaf's values (None where absent or null) as an array of `rows` rows."""
    known = [v for v in held if v is not None]
    nulls = None
    if len(known) < len(held):
        nulls = np.zeros(rows, dtype=bool)
        nulls[[r for r, v in zip(at, held, strict=True) if v is None]] = True
    types = {type(v) for v in known}
    if types <= {int}:
        kind: Kind = "int"
        array = np.zeros(rows, dtype=np.int64)
        array[[r for r, v in zip(at, held, strict=True) if v is not None]] = np.array(known, dtype=np.int64)
        return Node(path, kind, ()), array, nulls
    if types == {float}:
        array = np.full(rows, np.nan)
        array[[r for r, v in zip(at, held, strict=True) if v is not None]] = known
        return Node(path, "float", ()), array, nulls
    if types != {list}:
        raise Unfit(f"{path} holds {sorted(t.__name__ for t in types)}")
    try:
        lists = np.array(known, dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise Unfit(f"{path}: {error}") from None
    if lists.ndim < 2 or lists.dtype != np.float64:
        raise Unfit(f"{path} holds ragged lists")
    array = np.full((rows, *lists.shape[1:]), np.nan)
    array[[r for r, v in zip(at, held, strict=True) if v is not None]] = lists
    return Node(path, "float", lists.shape[1:]), array, nulls


def concat(parts: list[StepColumns]) -> StepColumns | None:
    """The rows of `parts` in order, or None if their keys cannot share one order."""
    nodes = _merged_nodes(parts)
    if nodes is None:
        return None
    rows = sum(p.rows for p in parts)
    values: dict[Path, np.ndarray] = {}
    present: dict[Path, np.ndarray] = {}
    null: dict[Path, np.ndarray] = {}
    for node in nodes:
        masks = [p.present.get(node.path, np.ones(p.rows, bool)) if _has(p, node)
                 else np.zeros(p.rows, bool) for p in parts]
        if not all(m.all() for m in masks):
            present[node.path] = np.concatenate(masks)
        if node.kind == "dict":
            continue
        dtype = np.int64 if node.kind == "int" else np.float64
        filler = 0 if node.kind == "int" else np.nan
        values[node.path] = np.concatenate([
            p.values[node.path] if _has(p, node) else np.full((p.rows, *node.shape), filler, dtype)
            for p in parts])
        nulls = [p.null.get(node.path, np.zeros(p.rows, bool)) for p in parts]
        if any(m.any() for m in nulls):
            null[node.path] = np.concatenate(nulls)
    return StepColumns(rows, nodes, values, present, null)


def _has(part: StepColumns, node: Node) -> bool:
    return node.path in part.values or (node.kind == "dict" and node in part.nodes)


def _merged_nodes(parts: list[StepColumns]) -> tuple[Node, ...] | None:
    """The nodes of the part that has every part's nodes, if each part's order agrees with it
    (a first frame whose `state` is still `{}`, then frames with buffers); else None."""
    widest = max(parts, key=lambda p: len(p.nodes)).nodes
    position = {n: i for i, n in enumerate(widest)}
    for part in parts:
        places = [position.get(n, -1) for n in part.nodes]
        if -1 in places or places != sorted(places):
            return None
    return widest


# --- bytes: one compressed buffer per array, its rows differenced as often as compresses it best,
# the bytes of each value grouped (a byte shuffle: the high bytes compress together) ----------

MAX_ORDER = 4  # differences tried per array: none (its values) up to the fourth
SAMPLE_ROWS = 32  # the rows from the middle of an array, of which the first
SAMPLE_WIDTH = 32  # values each, whose compression chooses its order


def encode(columns: StepColumns) -> tuple[dict[str, Any], bytes]:
    """(what the bytes hold, the bytes): the nodes, and per array its compressed extent."""
    chunks: list[bytes] = []
    offset = 0
    entries = []

    def put(array: np.ndarray) -> list[int]:
        nonlocal offset
        raw = _shuffle(array)
        packed = pa.compress(raw, codec=CODEC, asbytes=True)
        chunks.append(packed)
        offset += len(packed)
        return [offset - len(packed), len(packed), len(raw)]

    for node, first in firsts(columns):
        entry: dict[str, Any] = {"first": first, "path": list(node.path), "kind": node.kind,
                                 "shape": list(node.shape)}
        if node.kind != "dict":
            array = columns.values[node.path]
            entry["order"] = order = _order(array)
            entry["residuals"] = put(_differenced(array, order))
        if node.path in columns.present:
            entry["present"] = put(columns.present[node.path])
        if node.path in columns.null:
            entry["null"] = put(columns.null[node.path])
        entries.append(entry)
    return {"rows": columns.rows, "nodes": entries}, b"".join(chunks)


def decode(meta: dict[str, Any], data: bytes) -> StepColumns:
    rows = meta["rows"]
    nodes: list[Node] = []
    values: dict[Path, np.ndarray] = {}
    present: dict[Path, np.ndarray] = {}
    null: dict[Path, np.ndarray] = {}

    def get(extent: list[int], dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
        start, length, size = extent
        raw = pa.decompress(data[start : start + length], size, codec=CODEC, asbytes=True)
        return _unshuffle(raw, np.dtype(dtype), shape)

    for entry in meta["nodes"]:
        node = Node(tuple(entry["path"]), entry["kind"], tuple(entry["shape"]))
        nodes.append(node)
        if node.kind != "dict":
            dtype = np.int64 if node.kind == "int" else np.float64
            if "residuals" in entry:
                extent, order = entry["residuals"], entry["order"]
            else:  # an earlier version's: the values, or their first differences (tests/data/v2_store)
                extent, order = entry["values"], 1 if entry.get("delta") else 0
            values[node.path] = _summed(get(extent, np.int64, (rows, *node.shape)), order).view(dtype)
        if "present" in entry:
            present[node.path] = get(entry["present"], bool, (rows,))
        if "null" in entry:
            null[node.path] = get(entry["null"], bool, (rows,))
    return StepColumns(rows, tuple(nodes), values, present, null)


def _differenced(array: np.ndarray, order: int) -> np.ndarray:
    """The array's bits as int64, differenced `order` times along its rows (wrapping), each pass
    keeping its first row. A trajectory moves smoothly from step to step, so the high bytes of
    its higher differences are mostly zero: bench/data.py's largest run (Adam, 200 starts ×
    9,999 steps) is stored in 46% of the bytes of its first differences. Noise is not smooth:
    `_order` keeps its values as they are."""
    bits = np.ascontiguousarray(array).view(np.int64)
    for _ in range(order):
        bits = np.concatenate([bits[:1], np.diff(bits, axis=0)])
    return bits


def _summed(residuals: np.ndarray, order: int) -> np.ndarray:
    """`_differenced` undone, every bit as it was: `order` running sums (wrapping)."""
    bits = residuals
    for _ in range(order):
        bits = np.cumsum(bits, axis=0, dtype=np.int64)
    return bits


def _order(array: np.ndarray) -> int:
    """The order of differences, 0 to MAX_ORDER, that compresses a sample of the array best (the
    lowest of equals): `SAMPLE_WIDTH` values of `SAMPLE_ROWS` rows from its middle."""
    if len(array) < 2 or array.size == 0:  # no differences to take
        return 0
    middle = max(0, len(array) // 2 - SAMPLE_ROWS // 2)
    sample = array.reshape(len(array), -1)[middle : middle + SAMPLE_ROWS, :SAMPLE_WIDTH]
    return min(range(MAX_ORDER + 1),
               key=lambda order: len(pa.compress(_shuffle(_differenced(sample, order)), codec=CODEC)))


def _shuffle(array: np.ndarray) -> bytes:
    flat = np.ascontiguousarray(array).reshape(-1)
    width = flat.dtype.itemsize
    return flat.view(np.uint8).reshape(-1, width).T.tobytes() if width > 1 else flat.tobytes()


def _unshuffle(raw: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    grouped = np.frombuffer(raw, dtype=np.uint8)
    if dtype.itemsize > 1:
        grouped = grouped.reshape(dtype.itemsize, -1).T
    return np.ascontiguousarray(grouped).view(dtype).reshape(shape)
