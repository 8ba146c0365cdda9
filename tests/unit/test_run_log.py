"""What a run's log in memory counts as its bytes, and the logs forgotten by them: columns that view
a run's recording keep all of it alive, rows it never reached included, counted once."""

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from backend.runs import memory
from backend.runs.compute import StepFrames
from backend.runs.log import RECORD_BYTES, RunLog, forget_old_logs
from backend.runs.surface import build_problem
from backend.surfaces.engine import run
from backend.surfaces.recording import Recording
from backend.surfaces.spec import SurfaceRun

BUDGET = 5000  # steps the request allows; the run converges long before


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def logged(loop: asyncio.AbstractEventLoop, steps: int = BUDGET) -> tuple[RunLog, Recording]:
    """A two-start Adam run on the quadratic bowl, stopped by ‖∇L‖ < 1e-3, cut into frames of a log."""
    request = SurfaceRun.model_validate({
        "surface": "quadratic", "optimizer": {"name": "adam", "lr": 0.1}, "steps": steps,
        "starts": [[-3.0, 2.0], [1.0, 1.0]], "stop": {"grad_norm": 1e-3}})
    run_log = RunLog(loop)
    frames = StepFrames(request, lambda frame: run_log.append(*frame), keep=False)
    frames.per_frame = 7  # many frames, each a view of the same recording
    rec = run(build_problem(request, torch.device("cpu")), frames.progress, frame_seconds=0)
    frames.end(rec)
    run_log.end({"type": "end"})
    return run_log, rec


def recording_bytes(rec: Recording) -> int:
    tensors = [rec.params, rec.loss, rec.grad, *rec.state.values()]
    return sum(t.untyped_storage().nbytes() for t in tensors)


def test_a_log_counts_the_whole_recording_its_frames_view_once(loop: asyncio.AbstractEventLoop) -> None:
    run_log, rec = logged(loop)
    frames = run_log.frames
    assert rec.steps_done < BUDGET // 10 and len(frames) > 20
    viewed = sum(a.nbytes for _, steps in frames for a in steps.values.values())
    whole = recording_bytes(rec)
    assert viewed < whole / 5  # the columns are a small part of what the recording allocated ...
    assert whole <= run_log.nbytes < whole + viewed  # ... but keep all of it, counted once


def test_a_copied_frame_counts_its_own_bytes(loop: asyncio.AbstractEventLoop) -> None:
    run_log = RunLog(loop)
    run_log.append("steps", [{"step": 0, "note": "not columns"}, {"step": 1, "note": "text"}])
    assert run_log.nbytes == 2 * RECORD_BYTES
    run_log.append("steps", [{"step": 2, "loss": 1.0}])
    assert run_log.nbytes == 2 * RECORD_BYTES + 8 + 8  # its step and loss columns, one row each
    run_log.reset()
    assert run_log.nbytes == 0


def test_an_ended_log_is_forgotten_by_the_memory_it_keeps_not_by_its_rows(
        loop: asyncio.AbstractEventLoop) -> None:
    small, _ = logged(loop, steps=200)
    large, rec = logged(loop)
    logs = {"large": large, "small": small}
    budget = small.nbytes + recording_bytes(rec) // 2
    forget_old_logs(logs, budget)
    assert list(logs) == ["small"]


def test_memory_is_given_back_every_so_many_bytes_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    assert memory.MALLOC_TRIM is not None  # glibc: the function exists here
    calls: list[int] = []
    monkeypatch.setattr(memory, "MALLOC_TRIM", calls.append)
    trimmer = memory.Trimmer(every=100)
    for _ in range(9):
        trimmer.kept(30)
    assert calls == [0, 0]  # at 120 bytes kept, and 120 more
    memory.give_back()
    assert calls == [0, 0, 0]


def test_giving_back_keeps_every_live_value() -> None:
    kept: list[Any] = [np.full(20_000, float(i)) for i in range(50)]
    freed = [np.ones(30_000) for _ in range(50)]
    del freed
    memory.give_back()
    assert all((array == i).all() for i, array in enumerate(kept))
