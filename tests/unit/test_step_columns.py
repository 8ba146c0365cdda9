"""Step columns keep every field of every record exactly, through memory, the store's bytes and
each download format: real runs of every optimizer, in both record modes, one start or several,
with and without mini-batches, some of them diverging into NaN."""

import csv
import dataclasses
import io
import math
from typing import Any

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backend.optim.optimizers import OPTIMIZERS
from backend.runs import columns, exports, segments
from backend.runs.compute import compute_surface
from backend.runs.exports import Cut
from backend.runs.surface import build_problem, effective_lr, recorded_rows, step_columns
from backend.surfaces.engine import run
from backend.surfaces.recording import Recording
from backend.surfaces.spec import SurfaceRun

NUMPY = orjson.OPT_SERIALIZE_NUMPY


def run_records(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's step records as Python values (lists, not NumPy rows; NaN stays NaN)."""
    result = compute_surface(SurfaceRun.model_validate(body), "cpu")

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: plain(inner) for key, inner in value.items()}
        return value.tolist() if isinstance(value, np.ndarray) else value

    return [plain(step) for _, records in result.frames for step in segments.as_records(records)]


def by_hand(request: SurfaceRun, rec: Recording, first: int, last: int) -> list[dict[str, Any]]:
    """Rows first..last of a recording as the API's step records, read off its tensors one value
    at a time: a lone start's values unwrapped, `state` empty at step 0."""
    single = not request.batched
    effective = effective_lr(request, rec, slice(first, last + 1))

    def at(t: torch.Tensor, row: int) -> Any:
        value = t[row].tolist()
        return value[0] if single else value

    out = []
    for i, row in enumerate(range(first, last + 1)):
        step = row if request.record == "all" else [0, rec.steps_done][row]
        record: dict[str, Any] = {
            "step": step, "params": at(rec.params, row), "loss": at(rec.loss, row), "grad": at(rec.grad, row),
            "lr": rec.lr[row] if rec.start_lr is None else at(rec.start_lr, row),
            "state": {name: at(t, row) for name, t in rec.state.items()} if step > 0 else {},
        }
        if effective is not None:
            record["effective_lr"] = at(effective, i)
        if rec.epoch is not None:
            record["epoch"] = rec.epoch[row] if request.record == "all" else None
            record["batch_loss"] = at(rec.batch_loss, row) if rec.batch_loss is not None else None
        out.append(record)
    return out


def assert_same_columns(got: columns.StepColumns, want: columns.StepColumns) -> None:
    """The same nodes, rows and masks, and every value the same bits."""
    assert (got.rows, got.nodes) == (want.rows, want.nodes)
    assert got.values.keys() == want.values.keys()
    for path, array in want.values.items():
        assert got.values[path].dtype == array.dtype and got.values[path].shape == array.shape, path
        assert np.array_equal(got.values[path].view(np.int64), array.view(np.int64)), path
    for masks, expected in ((got.present, want.present), (got.null, want.null)):
        assert masks.keys() == expected.keys()
        assert all(np.array_equal(masks[path], mask) for path, mask in expected.items())


@st.composite
def surface_runs(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    body: dict[str, Any] = {"optimizer": {"name": name}, "steps": draw(st.integers(1, 12)),
                            "record": draw(st.sampled_from(["all", "final"]))}
    kind = draw(st.sampled_from(["single", "batched", "minibatch", "nan"]))
    if kind == "minibatch":
        body |= {"surface": "linear_regression", "batch_size": draw(st.sampled_from([1, 50])), "seed": 2}
    elif kind == "nan":  # sqrt of a negative x: NaN losses and gradients once a start crosses 0
        body |= {"surface": {"expression": "sqrt(x) + y^2", "domain": {"x": [-2, 2], "y": [-2, 2]}},
                 "starts": [[0.05, 1.0], [1.0, 0.5]], "optimizer": {"name": name}}
    else:
        body["surface"] = draw(st.sampled_from(["rosenbrock", "himmelblau", "quadratic"]))
        if kind == "batched":
            body["starts"] = [[-1.5, 2.0], [0.5, -0.5], [2.0, 1.0]][: draw(st.integers(2, 3))]
    return body


def flat_rows(records: list[dict[str, Any]], batched: bool) -> list[dict[str, Any]]:
    """The CSV table's rows, written out independently of the exporter: nested values flattened."""
    def flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                flatten(f"{prefix}.{key}" if prefix else key, inner, out)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                flatten(f"{prefix}_{i}", inner, out)
        else:
            out[prefix] = value

    rows = []
    for step in records:
        if not batched:
            row: dict[str, Any] = {}
            flatten("", step, row)
            rows.append(row)
            continue
        for b in range(len(step["loss"])):
            row = {"step": step["step"], "start": b}
            for key, value in step.items():
                if key == "state":
                    for name, per_start in value.items():
                        flatten(f"state.{name}", per_start[b], row)
                elif key != "step":
                    flatten(key, value[b] if isinstance(value, list) else value, row)
            rows.append(row)
    return rows


def same_number(a: Any, b: Any) -> bool:
    """Equal to the bit (NaN equals NaN; None only None)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b and math.copysign(1, a) == math.copysign(1, b)


def stored_again(held: columns.StepColumns) -> tuple[dict[str, Any], columns.StepColumns]:
    """(the meta `encode` wrote, its columns decoded from JSON meta and bytes, as the store reads them)."""
    meta, data = columns.encode(held)
    return meta, columns.decode(orjson.loads(orjson.dumps(meta)), data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(surface_runs())
def test_every_field_of_every_record_survives_every_format(body: dict[str, Any]) -> None:
    records = run_records(body)
    request = SurfaceRun.model_validate(body)
    n_starts = len(request.start_points()) if request.batched else None
    held = columns.from_records(records)
    assert held is not None, "a run's records always fit columns"
    _, stored = stored_again(held)
    # pieces as a live log holds them (a frame each) and as the store holds them (segments)
    live = [p for p in (columns.from_records(records[:1]), columns.from_records(records[1:])) if p]
    for pieces in ([stored], live):
        firsts = [columns.firsts(p) for p in pieces]
        assert b"".join(exports.json_chunks(pieces, Cut())) == orjson.dumps({"steps": records})
        assert b"".join(exports.ndjson_chunks(pieces, Cut())) == b"".join(
            orjson.dumps(r) + b"\n" for r in records)
        expected = flat_rows(records, n_starts is not None)
        text = b"".join(exports.csv_chunks(pieces, Cut(), firsts, n_starts)).decode()
        table = list(csv.DictReader(io.StringIO(text)))
        assert len(table) == len(expected)
        for got, want in zip(table, expected, strict=True):
            for name, value in want.items():
                cell = got[name]
                if value is None or (isinstance(value, float) and not math.isfinite(value)):
                    assert cell == ""
                elif isinstance(value, int):
                    assert cell == str(value)
                else:  # the shortest decimal that reads back the same float64
                    assert same_number(float(cell), value), (name, cell, value)
                    assert len(cell) <= len(repr(value)) + 2
        parquet = pq.read_table(io.BytesIO(b"".join(exports.parquet_chunks(pieces, Cut(), firsts, n_starts))))
        assert parquet.column_names == list(csv.DictReader(io.StringIO(text)).fieldnames or [])
        got_rows = parquet.to_pylist()
        for got, want in zip(got_rows, expected, strict=True):
            for name, value in want.items():
                assert same_number(got[name], value), (name, got[name], value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(surface_runs(), st.data())
def test_a_recordings_columns_are_its_records_written_out_by_hand(body: dict[str, Any], data: st.DataObject,
                                                                   ) -> None:
    """`step_columns`, which reads whole tensors, makes exactly the columns of the records read off
    the recording one value at a time, for any rows a frame may cut: every optimizer, both record
    modes, one start or several, mini-batches, NaN."""
    request = SurfaceRun.model_validate(body)
    rec = run(build_problem(request, torch.device("cpu")))
    rows = recorded_rows(request, rec)
    first = data.draw(st.integers(0, rows - 1))
    last = data.draw(st.integers(first, rows - 1))
    want = columns.from_records(by_hand(request, rec, first, last))
    assert want is not None
    assert_same_columns(step_columns(request, rec, first, last), want)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_columns_share_a_float64_recording_and_copy_any_other(dtype: torch.dtype) -> None:
    request = SurfaceRun.model_validate({"surface": "himmelblau", "optimizer": {"name": "adam", "lr": 0.05},
                                         "starts": [[-1.0, 1.0], [2.0, 2.0]], "steps": 20})
    problem = build_problem(request, torch.device("cpu"))
    rec = run(dataclasses.replace(problem, starts=problem.starts.to(dtype)))
    assert rec.params.dtype == dtype
    held = step_columns(request, rec, 3, 9)
    assert_same_columns(held, columns.from_records(by_hand(request, rec, 3, 9)) or held)
    assert np.shares_memory(held.values[("params",)], rec.params.numpy()) == (dtype == torch.float64)
    assert np.shares_memory(held.values[("state", "exp_avg")], rec.state["exp_avg"].numpy()) == (
        dtype == torch.float64)


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=40)),
       st.integers(0, columns.MAX_ORDER))
def test_any_bits_come_back_at_any_order_of_differences(bits: np.ndarray, order: int,
                                                          ) -> None:
    """Every float64 bit pattern (NaN payloads, ±inf, −0.0, subnormals; differences that wrap
    around int64) decodes to itself, whichever order of differences stored it."""
    node = columns.Node(("params",), "float", bits.shape[1:])
    held = columns.StepColumns(len(bits), (node,), {node.path: bits.view(np.float64)})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "_order", lambda array: order)
        meta, back = stored_again(held)
    assert meta["nodes"][0]["order"] == order
    assert_same_columns(back, held)


def test_a_smooth_path_is_stored_as_high_differences_and_noise_as_its_values() -> None:
    """Adam's slow path over Rosenbrock: its columns are kept as second or higher differences,
    in under 70% of the bytes of first differences; Gaussian noise is kept as it is."""
    records = run_records({"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001}, "steps": 400,
                           "starts": [[-1.5 + 0.1 * i, 2.0] for i in range(8)]})
    held = columns.from_records(records)
    assert held is not None
    meta, back = stored_again(held)
    assert_same_columns(back, held)
    orders = {tuple(n["path"]): n["order"] for n in meta["nodes"] if n["kind"] != "dict"}
    assert all(orders[path] >= 2 for path in [("params",), ("grad",), ("state", "exp_avg")]), orders
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "MAX_ORDER", 1)
        first_differences = len(columns.encode(held)[1])
    assert len(columns.encode(held)[1]) < 0.7 * first_differences

    noise = np.random.default_rng(0).normal(size=(400, 8, 2))
    node = columns.Node(("params",), "float", (8, 2))
    meta, back = stored_again(columns.StepColumns(400, (node,), {node.path: noise}))
    assert meta["nodes"][0]["order"] == 0
    assert np.array_equal(back.values[node.path], noise)


def test_a_record_that_does_not_fit_stays_json() -> None:
    assert columns.from_records([{"step": 0, "note": "text"}]) is None
    assert columns.from_records([{"step": 0, "params": [1.0, 2.0]}, {"step": 1, "params": [1.0]}]) is None
    assert columns.from_records([{"a": 1, "b": 2.0}, {"b": 2.0, "a": 1}]) is None  # keys in another order
    rows = list(segments.rows([("steps", [{"step": 0, "note": "text"}])]))
    assert segments.frame(rows[0]["kind"], rows[0]["meta"], rows[0]["data"]) == \
        ("steps", [{"step": 0, "note": "text"}])


def test_segments_hold_a_bounded_number_of_values_and_join_back() -> None:
    records = run_records({"surface": "rosenbrock", "optimizer": {"name": "adam"}, "steps": 3000,
                           "starts": [[-1.5 + 0.1 * i, 2.0] for i in range(12)]})
    rows = list(segments.rows([("steps", records[:1000]), ("steps", records[1000:])]))
    assert len(rows) > 1
    for row in rows:
        meta = orjson.loads(row["meta"])
        width = sum(int(np.prod(n["shape"])) for n in meta["nodes"] if n["kind"] != "dict")
        assert row["rows"] * width <= segments.SEGMENT_VALUES
    pieces = [segments.frame(r["kind"], r["meta"], r["data"])[1] for r in rows]
    assert b"".join(exports.json_chunks(pieces, Cut())) == orjson.dumps({"steps": records})


@pytest.mark.parametrize(("cut", "steps"), [
    (Cut(from_step=3, to_step=7), [3, 4, 5, 6, 7]),
    (Cut(every=4), [0, 4, 8, 12, 16, 20]),
    (Cut(from_step=5, every=3), [5, 8, 11, 14, 17, 20]),
    (Cut(to_step=0), [0]),
    (Cut(from_step=30), []),
])
def test_slices_pick_steps_across_pieces(cut: Cut, steps: list[int]) -> None:
    records = run_records({"surface": "quadratic", "optimizer": {"name": "sgd"}, "steps": 20,
                           "starts": [[1.0, 1.0], [-1.0, 0.5]]})
    pieces = [p for p in (columns.from_records(records[a : a + 6]) for a in range(0, 21, 6)) if p]
    got = orjson.loads(b"".join(exports.json_chunks(pieces, cut)))["steps"]
    assert [s["step"] for s in got] == steps
    assert got == [r for r in orjson.loads(orjson.dumps(records)) if r["step"] in steps]
    one = orjson.loads(b"".join(exports.json_chunks(pieces, Cut(start=1, from_step=cut.from_step,
                                                                to_step=cut.to_step, every=cut.every))))
    assert [s["params"] for s in one["steps"]] == [s["params"][1] for s in got]
    firsts = [columns.firsts(p) for p in pieces]
    table = list(csv.DictReader(io.StringIO(b"".join(exports.csv_chunks(
        pieces, Cut(start=1, to_step=cut.to_step, from_step=cut.from_step, every=cut.every), firsts, 2)
    ).decode())))
    assert [(int(r["step"]), int(r["start"])) for r in table] == [(k, 1) for k in steps]
