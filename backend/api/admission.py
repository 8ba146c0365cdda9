"""Admission control: how much work one client may have at once, and how long the queue may grow.

A classroom server is shared by a room of students: a client with too many runs
queued or running, or too many computations in flight, gets 429 with a
Retry-After header, and so does everyone once the queue is full — while the
other clients are still served. A client is an identity at an address
(`backend.clients`): the students of a class behind one address are each held to
the per-client limits, and the address as a whole to the per-address ones.

Two counters, one interface. `LocalAdmission` counts in this process: with the
local executor one API process computes everything. `RedisAdmission` counts in
Redis through one Lua script (`protocol.ADMISSION`), so that API replicas sharing
a Redis deployment enforce one set of limits between them, not one each. Either
way, checking a limit and taking the slot is one step, and the slot is given
back on every path: when the block ends or fails, when the run ends (whoever
ends it), and, should an API replica die holding one, when its lease runs out.
"""

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import redis.asyncio as aioredis
from fastapi import HTTPException
from redis.exceptions import RedisError

from backend.clients import Client, limit_reached
from backend.runs.executor import Executor
from backend.runs.redis.executor import RedisExecutor
from backend.runs.redis.protocol import (
    ACTIVE,
    ADMISSION,
    ADMITTING,
    address_computing_key,
    address_runs_key,
    client_computing_key,
    client_runs_key,
    run_key,
)
from backend.settings import Settings

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 1


def _too_many(detail: str) -> HTTPException:
    return HTTPException(429, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _refusal(outcome: int, settings: Settings) -> HTTPException:
    """The 429 for a refusal: 1 the client's runs, 2 the server's queue, 3 the client's
    computations, 4 its address's runs, 5 its address's computations."""
    if outcome == 1:
        return _too_many(f"this client already has {settings.runs_per_client} runs queued or "
                         "running; wait for one to end or cancel one")
    if outcome == 2:
        return _too_many(f"the server has {settings.queued_runs} runs waiting; try again shortly")
    if outcome == 4:
        return _too_many(f"this address already has {settings.runs_per_address} runs queued or running, "
                         "all its clients together; wait for one to end or cancel one")
    if outcome == 5:
        return _too_many(f"this address already has {settings.computations_per_address} computations "
                         "in flight, all its clients together")
    return _too_many(f"this client already has {settings.computations_per_client} computations in flight")


class Admission(Protocol):
    def run_slot(self, client: Client, run_id: str) -> AbstractAsyncContextManager[None]:
        """Hold a slot for run `run_id` while it is stored and submitted, or raise 429 if this
        client, its address, or the whole queue has no room. Once submitted, the run holds the
        slot until it ends; a submission that fails gives it back."""
        ...

    def computing(self, client: Client) -> AbstractAsyncContextManager[None]:
        """Hold one of the client's computation slots for the duration of the block, or raise 429."""
        ...


class LocalAdmission:
    """Active runs and in-flight computations, per client and per address, in this process."""

    def __init__(self, executor: Executor, settings: Settings) -> None:
        self.executor = executor
        self.settings = settings
        self._runs: dict[str, Client] = {}  # run id → who asked, while queued or running
        self._submitting: set[str] = set()  # admitted, not yet known to the executor
        self._computing: Counter[Client] = Counter()

    def _prune(self) -> None:
        for run_id in [i for i in self._runs if i not in self._submitting and not self.executor.is_active(i)]:
            del self._runs[run_id]

    @contextlib.asynccontextmanager
    async def run_slot(self, client: Client, run_id: str) -> AsyncIterator[None]:
        self._prune()  # no await from here until the slot is taken: one step on the event loop
        reached = limit_reached(self._runs.values(), client, self.settings.runs_per_client,
                                self.settings.runs_per_address)
        if reached:
            raise _refusal(1 if reached == "client" else 4, self.settings)
        if len(self._runs) >= self.settings.queued_runs:
            raise _refusal(2, self.settings)
        self._runs[run_id] = client
        self._submitting.add(run_id)
        try:
            yield
        except BaseException:
            self._runs.pop(run_id, None)
            raise
        finally:
            self._submitting.discard(run_id)

    @contextlib.asynccontextmanager
    async def computing(self, client: Client) -> AsyncIterator[None]:
        reached = limit_reached(self._computing.elements(), client, self.settings.computations_per_client,
                                self.settings.computations_per_address)
        if reached:
            raise _refusal(3 if reached == "client" else 5, self.settings)
        self._computing[client] += 1
        try:
            yield
        finally:
            self._computing[client] -= 1
            if not self._computing[client]:
                del self._computing[client]


class RedisAdmission:
    """The same limits, counted in Redis for every API replica at once.

    A slot is a lease of `admission_lease` seconds, renewed while its block runs; a run's slot
    then lasts as long as the run is queued or running in Redis. When Redis cannot be reached,
    a run cannot be queued anyway (503), while computations, which this process does itself,
    fall back to this process's own count.
    """

    def __init__(self, redis: aioredis.Redis, executor: Executor, settings: Settings) -> None:
        self.settings = settings
        self._script = redis.register_script(ADMISSION)
        self._fallback = LocalAdmission(executor, settings)

    async def _call(self, action: str, client: Client, member: str) -> int:
        s = self.settings
        outcome = await self._script(
            keys=[ACTIVE, ADMITTING, client_runs_key(client.key), client_computing_key(client.key),
                  address_runs_key(client.address), address_computing_key(client.address)],
            args=[action, member, s.admission_lease, s.runs_per_client, s.queued_runs,
                  s.computations_per_client, run_key(""), s.runs_per_address, s.computations_per_address],
        )
        return int(outcome)

    @contextlib.asynccontextmanager
    async def _leased(self, renew: str, release: str, client: Client, member: str) -> AsyncIterator[None]:
        """Renew the lease every third of it while the block runs; then `release`, even when the
        request is being cancelled (Redis unreachable: the lease ends it)."""

        async def renewing() -> None:
            while True:
                await asyncio.sleep(self.settings.admission_lease / 3)
                try:
                    await self._call(renew, client, member)
                except RedisError as error:
                    log.warning("renewing the admission of %s: %s", member, error)

        async def released() -> None:
            try:
                await self._call(release, client, member)
            except RedisError as error:
                log.warning("releasing the admission of %s: %s; its lease will", member, error)

        renewer = asyncio.create_task(renewing())
        try:
            yield
        finally:
            renewer.cancel()
            await asyncio.shield(asyncio.ensure_future(released()))

    @contextlib.asynccontextmanager
    async def run_slot(self, client: Client, run_id: str) -> AsyncIterator[None]:
        try:
            outcome = await self._call("run", client, run_id)
        except RedisError as error:
            raise HTTPException(503, f"the run queue (Redis) cannot be reached: {error}; try again "
                                "shortly", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
        if outcome:
            raise _refusal(outcome, self.settings)
        # once submitted, `release-run` leaves the run alone: its slot is the run's until it ends
        async with self._leased("renew-run", "release-run", client, run_id):
            yield

    @contextlib.asynccontextmanager
    async def computing(self, client: Client) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        try:
            outcome: int | None = await self._call("compute", client, token)
        except RedisError as error:
            log.warning("admission through Redis failed (%s): counting in this process", error)
            outcome = None
        if outcome is None:
            async with self._fallback.computing(client):
                yield
            return
        if outcome:
            raise _refusal(outcome, self.settings)
        async with self._leased("renew", "release", client, token):
            yield


def admission_for(executor: Executor, settings: Settings) -> Admission:
    """Shared through Redis when the executor is Redis's; else this process's own count."""
    if isinstance(executor, RedisExecutor):
        return RedisAdmission(executor.redis, executor, settings)
    return LocalAdmission(executor, settings)
