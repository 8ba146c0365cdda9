"""A run's admission slot is taken in the same step as the check (no await between them), and
given back when its submission fails: a burst of requests from one client never gets more runs
than the limit, and a failure never leaks a slot. (The same across API replicas, through Redis:
tests/integration/test_admission_redis.py.)"""

import asyncio
from pathlib import Path

import pytest
from fastapi import HTTPException

from backend.api.admission import LocalAdmission
from backend.clients import Client
from backend.runs.executor import LocalExecutor
from backend.runs.store import RunStore
from backend.settings import Settings


@pytest.fixture
def executor(tmp_path: Path) -> LocalExecutor:
    return LocalExecutor(RunStore(tmp_path / "runs.sqlite3"), workers=1, device="cpu", torch_threads=1)


def admission(executor: LocalExecutor, **limits: int) -> LocalAdmission:
    return LocalAdmission(executor, Settings(**limits))


A, B, C = (Client("10.0.0.1", name) for name in "abc")  # three students behind one address


def test_slots_held_while_submitting_count_against_the_limit(executor: LocalExecutor) -> None:
    slots = admission(executor, runs_per_client=2, queued_runs=10, computations_per_client=1)

    async def burst() -> None:
        async with slots.run_slot(A, "run-1"), slots.run_slot(A, "run-2"):
            # both still being stored and submitted (the executor knows neither yet)
            with pytest.raises(HTTPException) as refused:
                async with slots.run_slot(A, "run-3"):
                    pass
            assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "1"}
            async with slots.run_slot(B, "run-4"):  # another client at the address is still served
                pass

    asyncio.run(burst())


def test_a_failed_submission_gives_its_slot_back(executor: LocalExecutor) -> None:
    slots = admission(executor, runs_per_client=1, queued_runs=10, computations_per_client=1)

    async def fail_then_retry() -> None:
        with pytest.raises(OSError):
            async with slots.run_slot(A, "run-1"):
                raise OSError("disk full")
        async with slots.run_slot(A, "run-2"):
            pass

    asyncio.run(fail_then_retry())


def test_the_whole_queue_is_bounded_across_clients(executor: LocalExecutor) -> None:
    slots = admission(executor, runs_per_client=5, queued_runs=2, computations_per_client=1)

    async def three_clients() -> None:
        async with slots.run_slot(A, "run-1"), slots.run_slot(B, "run-2"):
            with pytest.raises(HTTPException) as refused:
                async with slots.run_slot(Client("10.0.0.3", "c"), "run-3"):
                    pass
            assert "2 runs waiting" in str(refused.value.detail)

    asyncio.run(three_clients())


def test_a_computation_slot_is_given_back_on_every_exit(executor: LocalExecutor) -> None:
    slots = admission(executor, computations_per_client=1)

    async def compute_twice() -> None:
        with pytest.raises(ValueError):
            async with slots.computing(A):
                with pytest.raises(HTTPException):
                    async with slots.computing(A):
                        pass
                raise ValueError("the computation failed")
        async with slots.computing(A):
            pass

    asyncio.run(compute_twice())


def test_an_address_is_bounded_whatever_identities_its_clients_show(executor: LocalExecutor) -> None:
    """Each student of a class behind one address holds its own slots, up to the address's
    limits, past which a new identity gets no more: another address is still served."""
    slots = admission(executor, runs_per_client=2, runs_per_address=3, queued_runs=10,
                      computations_per_client=2, computations_per_address=3)
    elsewhere = Client("10.0.0.2", "a")

    async def a_class() -> None:
        async with slots.run_slot(A, "run-1"), slots.run_slot(A, "run-2"), slots.run_slot(B, "run-3"):
            for client, why in ((A, "this client already has 2 runs"),
                                (C, "this address already has 3 runs")):
                with pytest.raises(HTTPException) as refused:
                    async with slots.run_slot(client, "run-4"):
                        pass
                assert refused.value.status_code == 429 and why in str(refused.value.detail)
            async with slots.run_slot(elsewhere, "run-5"):
                pass
        async with slots.run_slot(C, "run-6"):  # the class's places came back
            pass
        async with slots.computing(A), slots.computing(B), slots.computing(B):
            with pytest.raises(HTTPException) as refused:
                async with slots.computing(C):
                    pass
            assert "this address already has 3 computations in flight" in str(refused.value.detail)
            async with slots.computing(elsewhere):
                pass
        async with slots.computing(C):
            pass

    asyncio.run(a_class())
