"""A run's admission slot is taken in the same step as the check (no await between them), and
given back when its submission fails: a burst of requests from one client never gets more runs
than the limit, and a failure never leaks a slot. (The same across API replicas, through Redis:
tests/integration/test_admission_redis.py.)"""

import asyncio
from pathlib import Path

import pytest
from fastapi import HTTPException

from backend.api.admission import LocalAdmission
from backend.runs.executor import LocalExecutor
from backend.runs.store import RunStore
from backend.settings import Settings


@pytest.fixture
def executor(tmp_path: Path) -> LocalExecutor:
    return LocalExecutor(RunStore(tmp_path / "runs.sqlite3"), workers=1, device="cpu", torch_threads=1)


def admission(executor: LocalExecutor, **limits: int) -> LocalAdmission:
    return LocalAdmission(executor, Settings(**limits))


def test_slots_held_while_submitting_count_against_the_limit(executor: LocalExecutor) -> None:
    slots = admission(executor, runs_per_client=2, queued_runs=10, computations_per_client=1)

    async def burst() -> None:
        async with slots.run_slot("a", "run-1"), slots.run_slot("a", "run-2"):
            # both still being stored and submitted (the executor knows neither yet)
            with pytest.raises(HTTPException) as refused:
                async with slots.run_slot("a", "run-3"):
                    pass
            assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "1"}
            async with slots.run_slot("b", "run-4"):  # another client is still served
                pass

    asyncio.run(burst())


def test_a_failed_submission_gives_its_slot_back(executor: LocalExecutor) -> None:
    slots = admission(executor, runs_per_client=1, queued_runs=10, computations_per_client=1)

    async def fail_then_retry() -> None:
        with pytest.raises(OSError):
            async with slots.run_slot("a", "run-1"):
                raise OSError("disk full")
        async with slots.run_slot("a", "run-2"):
            pass

    asyncio.run(fail_then_retry())


def test_the_whole_queue_is_bounded_across_clients(executor: LocalExecutor) -> None:
    slots = admission(executor, runs_per_client=5, queued_runs=2, computations_per_client=1)

    async def three_clients() -> None:
        async with slots.run_slot("a", "run-1"), slots.run_slot("b", "run-2"):
            with pytest.raises(HTTPException) as refused:
                async with slots.run_slot("c", "run-3"):
                    pass
            assert "2 runs waiting" in str(refused.value.detail)

    asyncio.run(three_clients())


def test_a_computation_slot_is_given_back_on_every_exit(executor: LocalExecutor) -> None:
    slots = admission(executor, computations_per_client=1)

    async def compute_twice() -> None:
        with pytest.raises(ValueError):
            async with slots.computing("a"):
                with pytest.raises(HTTPException):
                    async with slots.computing("a"):
                        pass
                raise ValueError("the computation failed")
        async with slots.computing("a"):
            pass

    asyncio.run(compute_twice())
