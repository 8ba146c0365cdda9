"""A run's admission slot is taken in the same step as the check (no await between them), and
given back when its submission fails: a burst of requests from one client never gets more runs
than the limit, and a failure never leaks a slot."""

from pathlib import Path

import pytest
from fastapi import HTTPException

from backend.api.admission import Admission
from backend.runs.executor import LocalExecutor
from backend.runs.store import RunStore


@pytest.fixture
def executor(tmp_path: Path) -> LocalExecutor:
    return LocalExecutor(RunStore(tmp_path / "runs.sqlite3"), workers=1, device="cpu", torch_threads=1)


def test_slots_held_while_submitting_count_against_the_limit(executor: LocalExecutor) -> None:
    admission = Admission(runs_per_client=2, queued_runs=10, computations_per_client=1)
    with admission.run_slot("a", executor, "run-1"), admission.run_slot("a", executor, "run-2"):
        # both still being stored and submitted (the executor knows neither yet)
        with pytest.raises(HTTPException) as refused, admission.run_slot("a", executor, "run-3"):
            pass
        assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "1"}
        with admission.run_slot("b", executor, "run-4"):  # another client is still served
            pass


def test_a_failed_submission_gives_its_slot_back(executor: LocalExecutor) -> None:
    admission = Admission(runs_per_client=1, queued_runs=10, computations_per_client=1)
    with pytest.raises(OSError), admission.run_slot("a", executor, "run-1"):
        raise OSError("disk full")
    with admission.run_slot("a", executor, "run-2"):
        pass


def test_the_whole_queue_is_bounded_across_clients(executor: LocalExecutor) -> None:
    admission = Admission(runs_per_client=5, queued_runs=2, computations_per_client=1)
    with admission.run_slot("a", executor, "run-1"), admission.run_slot("b", executor, "run-2"):
        with pytest.raises(HTTPException) as refused, admission.run_slot("c", executor, "run-3"):
            pass
        assert "2 runs waiting" in str(refused.value.detail)
