"""Admission control: how much work one client may have at once, and how long the queue may grow.

A classroom server is shared by a room of students: a client with too many runs
queued or running, or too many computations in flight, gets 429 with a
Retry-After header, and so does everyone once the queue is full — while the
other clients are still served. Clients are told apart by their address.
"""

import contextlib
from collections import defaultdict
from collections.abc import Iterator

from fastapi import HTTPException, Request

from backend.runs.executor import Executor

RETRY_AFTER_SECONDS = 1


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(detail: str) -> HTTPException:
    return HTTPException(429, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class Admission:
    """Per-client counts of active runs and in-flight computations."""

    def __init__(self, runs_per_client: int, queued_runs: int, computations_per_client: int) -> None:
        self.runs_per_client = runs_per_client
        self.queued_runs = queued_runs
        self.computations_per_client = computations_per_client
        self._runs: dict[str, set[str]] = defaultdict(set)
        self._submitting: set[str] = set()  # admitted, not yet known to the executor
        self._computing: dict[str, int] = defaultdict(int)

    def _prune(self, executor: Executor) -> None:
        for client, ids in list(self._runs.items()):
            ids -= {i for i in ids if i not in self._submitting and not executor.is_active(i)}
            if not ids:
                del self._runs[client]

    @contextlib.contextmanager
    def run_slot(self, client: str, executor: Executor, run_id: str) -> Iterator[None]:
        """Hold a slot for run `run_id` while it is stored and submitted, or raise 429 if this
        client, or the whole queue, has no room. Checking and taking the slot is one step (no
        await between them), and a submission that fails gives the slot back."""
        self._prune(executor)
        if len(self._runs.get(client, ())) >= self.runs_per_client:
            raise _too_many(
                f"this client already has {self.runs_per_client} runs queued or running; "
                "wait for one to end or cancel one"
            )
        if sum(len(ids) for ids in self._runs.values()) >= self.queued_runs:
            raise _too_many(f"the server has {self.queued_runs} runs waiting; try again shortly")
        self._runs[client].add(run_id)
        self._submitting.add(run_id)
        try:
            yield
        except BaseException:
            self._runs[client].discard(run_id)
            raise
        finally:
            self._submitting.discard(run_id)

    @contextlib.contextmanager
    def computing(self, client: str) -> Iterator[None]:
        """Hold one of the client's computation slots for the duration of the block."""
        if self._computing[client] >= self.computations_per_client:
            raise _too_many(
                f"this client already has {self.computations_per_client} computations in flight"
            )
        self._computing[client] += 1
        try:
            yield
        finally:
            self._computing[client] -= 1
            if not self._computing[client]:
                del self._computing[client]
