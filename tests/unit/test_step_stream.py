"""A frame as an entry of a run's step stream in Redis, and back (`backend.runs.redis.protocol`):
step columns travel compressed and come back to the bit, NaN included; anything else as JSON."""

from typing import Any

import numpy as np
import orjson

from backend.runs.columns import StepColumns
from backend.runs.compute import compute_surface
from backend.runs.redis.protocol import STEP_COLUMNS, entry_frame, stream_entry, stream_frames
from backend.runs.segments import as_records
from backend.surfaces.spec import SurfaceRun
from tests.unit.test_step_columns import assert_same_columns

RUN = {"surface": {"expression": "sqrt(x) + y^2", "domain": {"x": [-2, 2], "y": [-2, 2]}},  # NaN past x = 0
       "starts": [[0.05, 1.0], [1.0, 0.5], [-1.0, 1.5]], "optimizer": {"name": "adam", "lr": 0.05},
       "steps": 300, "stop": {"grad_norm": 0}}


def frames() -> list[tuple[str, Any]]:
    return compute_surface(SurfaceRun.model_validate(RUN), "cpu").frames


def test_step_columns_travel_compressed_and_come_back_to_the_bit() -> None:
    sent = frames()
    assert any(np.isnan(steps.values[("loss",)]).any() for _, steps in sent)
    for kind, steps in sent:
        entry_kind, data = stream_entry((kind, steps))
        assert entry_kind == STEP_COLUMNS
        back_kind, back = entry_frame(entry_kind, data)
        assert back_kind == "steps" and isinstance(back, StepColumns)
        assert_same_columns(back, steps)
    packed = sum(len(stream_entry(frame)[1]) for frame in sent)
    as_json = sum(len(orjson.dumps(as_records(s), option=orjson.OPT_SERIALIZE_NUMPY)) for _, s in sent)
    assert packed * 2 < as_json  # 2.7× here; 3.4× for frames of 200 starts


def test_other_frames_travel_as_json() -> None:
    epoch = ("epoch", [{"epoch": 1, "train_loss": 0.5, "note": None}])
    assert stream_entry(epoch) == ("epoch", orjson.dumps(epoch[1]))
    assert entry_frame(*stream_entry(epoch)) == epoch
    steps_as_json = ("steps", [{"step": 0, "params": [1.0, 2.0]}])  # what earlier workers sent
    assert entry_frame("steps", orjson.dumps(steps_as_json[1])) == steps_as_json


def test_a_stream_is_read_from_its_last_reset() -> None:
    sent = frames()
    entries = [(b"1-0", {b"k": k.encode(), b"d": d}) for k, d in map(stream_entry, sent[:2])]
    entries.append((b"2-0", {b"k": b"reset", b"d": b""}))
    entries += [(b"3-0", {b"k": k.encode(), b"d": d}) for k, d in map(stream_entry, sent)]
    entries.append((b"4-0", {b"k": b"end", b"d": b"{}"}))
    read = stream_frames(entries)
    assert len(read) == len(sent)
    for (_, got), (_, steps) in zip(read, sent, strict=True):
        assert_same_columns(got, steps)
