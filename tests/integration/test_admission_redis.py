"""Admission shared through Redis: two API replicas enforce one set of limits, not one each.

With the Redis executor the limits are counted by one Lua script (`protocol.ADMISSION`), so a
client that spreads its requests over two replicas gets no more than from one. No worker runs
in the replicas' cluster: a run stays queued (and holds its slot) until the test cancels it.
A client is an identity at an address (127.0.0.x, all loopback); a class is several identities
at one address. The protocol tests at the end
play the script against a real redis-server, as an API replica that dies holding a slot would.
"""

import itertools
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from backend.runs.redis.protocol import (
    ACTIVE,
    ADMISSION,
    ADMITTING,
    ENSURE_GROUP,
    EVENTS,
    FINISH,
    GROUP,
    JOBS,
    SUBMIT,
    address_computing_key,
    address_runs_key,
    cancel_key,
    client_computing_key,
    client_runs_key,
    run_key,
    steps_key,
)
from tests.api.test_admission import ENDLESS_COMPUTATION, QUICK_RUN, from_address, post_and_hold
from tests.integration.conftest import Cluster, wait_for

LEASE = 1.5  # DESCENT_ADMISSION_LEASE: how long a slot outlives a replica that died holding it
PROBES = itertools.count()
LIMITS = {
    "DESCENT_RUNS_PER_CLIENT": "2", "DESCENT_QUEUED_RUNS": "5", "DESCENT_COMPUTATIONS_PER_CLIENT": "1",
    "DESCENT_RUNS_PER_ADDRESS": "3", "DESCENT_COMPUTATIONS_PER_ADDRESS": "2",
    "DESCENT_ADMISSION_LEASE": str(LEASE), "DESCENT_MAX_STEPS": "1000000",
    "DESCENT_MAX_INSTANT_WORK": "100000000000", "DESCENT_MAX_WORK": "100000000000",
}
HANG_GUARD = 60.0  # seconds; not a speed requirement


@pytest.fixture(scope="module")
def replicas(redis_url: str, make_cluster: Any) -> tuple[Cluster, Cluster]:
    """Two API processes on one Redis database and one run store, and no worker."""
    first: Cluster = make_cluster(redis_url, **LIMITS)
    second: Cluster = make_cluster(redis_url, **LIMITS, DESCENT_DATA_DIR=str(first.data_dir))
    first.start_api(wait=False)
    second.start_api(wait=False)
    first.wait_api()
    second.wait_api()
    return first, second


class Client:
    """One client (an identity at an address) talking to both replicas; cancels what it queued
    at the end."""

    def __init__(self, address: str, replicas: tuple[Cluster, Cluster], identity: str | None = None) -> None:
        self.http = [from_address(r.url, address, identity) for r in replicas]
        self.keys: dict[str, tuple[int, str]] = {}  # run id → (replica that took it, its key)

    def post(self, replica: int, body: dict[str, Any] = QUICK_RUN) -> httpx.Response:
        response = self.http[replica].post("/api/runs", json=body)
        if response.status_code == 201:
            self.keys[response.json()["id"]] = (replica, response.json()["key"])
        return response

    def cancel(self, run_id: str, replica: int) -> None:
        """Cancel through `replica`, which may not be the one that took the run."""
        _, key = self.keys.pop(run_id)
        answer = self.http[replica].delete(f"/api/runs/{run_id}", headers={"X-Run-Key": key})
        assert answer.status_code == 200 and answer.json()["status"] == "cancelled", answer.text

    def close(self) -> None:
        for run_id in list(self.keys):
            self.cancel(run_id, 0)
        for http in self.http:
            http.close()


@pytest.fixture
def clients(replicas: tuple[Cluster, Cluster]) -> Iterator[Any]:
    made: list[Client] = []

    def make(address: str, identity: str | None = None) -> Client:
        made.append(Client(address, replicas, identity))
        return made[-1]

    yield make
    for client in made:
        client.close()


def test_a_client_s_runs_are_counted_across_replicas(clients: Any) -> None:
    """DESCENT_RUNS_PER_CLIENT=2: one run on each replica, and the third is refused on either."""
    alice, bob = clients("127.0.0.2"), clients("127.0.0.3")
    first, second = alice.post(0), alice.post(1)
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    for replica in (0, 1):
        refused = alice.post(replica)
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert "already has 2 runs" in refused.json()["detail"]
    assert bob.post(1).status_code == 201  # another client is served meanwhile
    alice.cancel(first.json()["id"], 1)  # taken by replica 0, cancelled through replica 1
    assert alice.post(0).status_code == 201  # its slot came back
    assert alice.post(1).status_code == 429


def test_a_class_s_runs_are_counted_across_replicas(clients: Any) -> None:
    """DESCENT_RUNS_PER_ADDRESS=3: two students behind one address, each under its own limit of
    2, have three runs between them whichever replica took them; a fourth is refused on either."""
    ann, bob = clients("127.0.0.12", "ann"), clients("127.0.0.12", "bob")
    taken = [ann.post(0), bob.post(1), bob.post(0)]
    assert [r.status_code for r in taken] == [201] * 3, [r.text for r in taken]
    for replica in (0, 1):
        refused = ann.post(replica)
        assert refused.status_code == 429, refused.text
        assert "this address already has 3 runs queued or running" in refused.json()["detail"]
    bob.cancel(taken[1].json()["id"], 0)  # the class's place comes back, whoever gave it
    assert ann.post(1).status_code == 201


def test_a_queued_run_s_position_is_the_same_on_either_replica(clients: Any) -> None:
    """No worker: runs stay queued. The second of two runs, queued through the other replica,
    has one more run ahead of it, whichever replica is asked, and one fewer once the first
    is cancelled."""
    ann = clients("127.0.0.13")
    first, second = ann.post(0), ann.post(1)

    def position(run: httpx.Response, replica: int) -> int | None:
        answer: int | None = ann.http[replica].get(f"/api/runs/{run.json()['id']}").json()["queue_position"]
        return answer

    ahead = position(first, 1)
    assert ahead is not None and [position(second, r) for r in (0, 1)] == [ahead + 1] * 2
    ann.cancel(first.json()["id"], 1)
    assert position(first, 0) is None and position(second, 0) == ahead


def queued_in(deployment: redis.Redis) -> set[bytes]:
    """The runs the admission script counts against the queue: those queued or running, and
    those admitted whose lease still holds. `admitting` is pruned lazily, by the next admission,
    so a member whose run has since been submitted or whose lease has lapsed is not counted."""
    runs = {m: run_key(m.decode()) for m in deployment.smembers(ADMITTING)}
    admitted = {m for m, key in runs.items()
                if deployment.exists(key) and not deployment.hexists(key, "status")}
    return set(deployment.smembers(ACTIVE)) | admitted


def test_the_server_s_queue_is_counted_across_replicas(replicas: tuple[Cluster, Cluster],
                                                       clients: Any) -> None:
    """DESCENT_QUEUED_RUNS=5 for the whole deployment, whichever replica is asked."""
    deployment = replicas[0].redis
    try:  # the other tests' runs are all cancelled by now: none of them may count here
        wait_for(lambda: not queued_in(deployment), HANG_GUARD, "the deployment's queue to be empty")
    except TimeoutError:
        pytest.fail(f"runs left queued by other tests: {queued_in(deployment)}")
    a, b, c = clients("127.0.0.4"), clients("127.0.0.5"), clients("127.0.0.6")
    taken = [a.post(0), a.post(1), b.post(1), b.post(0), c.post(0)]
    assert [r.status_code for r in taken] == [201] * 5, [r.text for r in taken]
    for replica in (0, 1):
        refused = c.post(replica)  # under its own limit of 2, over the deployment's 5
        assert refused.status_code == 429, refused.text
        assert "the server has 5 runs waiting" in refused.json()["detail"]
    b.cancel(taken[2].json()["id"], 0)
    assert c.post(1).status_code == 201
    assert a.post(0).status_code == 429 and c.post(0).status_code == 429  # full again


def refused_computation(url: str, address: str) -> bool:
    """Whether a computation from `address` is refused; each asks anew (another seed), since a
    kept answer takes no slot."""
    with from_address(url, address) as http:
        return http.post("/api/trajectories", json=QUICK_RUN | {"seed": next(PROBES)}).status_code == 429


def hold_computation(replica: Cluster, address: str) -> socket.socket:
    """An endless computation from `address`, in flight on `replica` once it holds the client's
    one computation slot. Nothing else from `address` asks meanwhile: a probe computing at that
    moment would take the slot, and the held request would be refused instead."""
    held = post_and_hold(replica.port, address, ENDLESS_COMPUTATION)
    wait_for(lambda: replica.redis.zcard(address_computing_key(address)) == 1, HANG_GUARD,
             "the held computation to take its slot")
    return held


def test_a_client_s_computations_are_counted_across_replicas(replicas: tuple[Cluster, Cluster]) -> None:
    """DESCENT_COMPUTATIONS_PER_CLIENT=1: a computation in flight on one replica makes the other
    refuse, for as long as it lasts (well past one lease: the replica renews it), and the
    slot comes back when the client hangs up."""
    first, second = replicas
    held = hold_computation(first, "127.0.0.7")
    try:
        wait_for(lambda: refused_computation(second.url, "127.0.0.7"), HANG_GUARD, "a refusal")
        time.sleep(3 * LEASE)
        assert refused_computation(second.url, "127.0.0.7")  # renewed, not lapsed
        assert not refused_computation(second.url, "127.0.0.8")  # another client is served
    finally:
        held.close()
    wait_for(lambda: not refused_computation(second.url, "127.0.0.7"), HANG_GUARD, "the slot to come back")


def test_a_replica_killed_holding_a_slot_leaks_it_for_one_lease_at_most(
    replicas: tuple[Cluster, Cluster], make_cluster: Any
) -> None:
    """A third replica (its lease 5 s) takes a computation's slot and is killed (kill -9) before
    it can give it back: the slot is still held, and the others serve that client again once
    the lease has run out, not never."""
    first, _ = replicas
    doomed: Cluster = make_cluster(first.redis_url, **LIMITS | {"DESCENT_ADMISSION_LEASE": "5"},
                                   DESCENT_DATA_DIR=str(first.data_dir))
    doomed.start_api()
    held = hold_computation(doomed, "127.0.0.9")
    try:
        wait_for(lambda: refused_computation(first.url, "127.0.0.9"), HANG_GUARD, "a refusal")
        doomed.stop_api()  # kill -9: it never gives the slot back
        assert doomed.redis.zcard(address_computing_key("127.0.0.9")) == 1  # not released
        wait_for(lambda: not refused_computation(first.url, "127.0.0.9"), HANG_GUARD, "the lease to end")
    finally:
        held.close()


# --- the script itself, played as replicas against a real redis-server ---------------------------


@pytest.fixture
def db(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def admit(db: redis.Redis, action: str, client: str, member: str, lease: float = 0.5,
          runs: int = 2, queued: int = 100, computations: int = 1, address: str | None = None) -> int:
    """ADMISSION for `client` at `address` (None: an address of its own), with per-address
    limits of one more than the client's."""
    address = address or f"address-of-{client}"
    outcome: int = db.register_script(ADMISSION)(
        keys=[ACTIVE, ADMITTING, client_runs_key(client), client_computing_key(client),
              address_runs_key(address), address_computing_key(address)],
        args=[action, member, lease, runs, queued, computations, run_key(""), runs + 1, computations + 1],
    )
    return outcome


def test_a_run_admitted_and_never_submitted_frees_its_slot_when_its_lease_ends(db: redis.Redis) -> None:
    client = f"lease-{uuid.uuid4().hex}"
    r1, r2, r3 = (uuid.uuid4().hex[:16] for _ in range(3))
    assert admit(db, "run", client, r1) == 0 and admit(db, "run", client, r2) == 0
    assert admit(db, "run", client, r3) == 1  # both held
    assert db.hgetall(run_key(r1)) == {b"admitted": client_runs_key(client).encode(),
                                       b"admitted_address": address_runs_key(f"address-of-{client}").encode()}
    time.sleep(0.6)  # the replica died before submitting: nobody renews the lease
    assert not db.exists(run_key(r1))
    assert admit(db, "run", client, r3) == 0
    assert db.smembers(client_runs_key(client)) == {r3.encode()}
    assert admit(db, "release-run", client, r3) == 0 and not db.sismember(ADMITTING, r3)


def test_a_submitted_run_holds_its_slot_until_it_ends(db: redis.Redis) -> None:
    """SUBMIT keeps the admitted hash and makes it lasting; FINISH, whoever runs it, gives the
    slot back; a run that failed to be submitted is released at once."""
    client, run_id = f"runs-{uuid.uuid4().hex}", uuid.uuid4().hex[:16]
    db.eval(ENSURE_GROUP, 1, JOBS, GROUP)
    assert admit(db, "run", client, run_id) == 0
    assert db.register_script(SUBMIT)(keys=[run_key(run_id), JOBS, ACTIVE, EVENTS],
                                      args=[run_id, b"{}", time.time()]) == 1
    assert db.ttl(run_key(run_id)) == -1 and db.hget(run_key(run_id), "status") == b"queued"
    assert admit(db, "release-run", client, run_id) == 0  # submitted: release leaves it alone
    time.sleep(0.6)
    other, third = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    assert admit(db, "run", client, other) == 0
    assert admit(db, "run", client, third) == 1  # the submitted run still counts, past the lease
    assert admit(db, "release-run", client, other) == 0  # never submitted: freed now
    assert not db.exists(run_key(other))
    assert admit(db, "run", client, third) == 0
    admit(db, "release-run", client, third)
    assert db.register_script(FINISH)(
        keys=[run_key(run_id), steps_key(run_id), cancel_key(run_id), ACTIVE, EVENTS, JOBS],
        args=["", "cancelled", b"{}", time.time(), 60, run_id, GROUP, ""]) == 1
    assert not db.exists(client_runs_key(client)) and not db.exists(address_runs_key(f"address-of-{client}"))


def test_computations_are_leased_renewed_and_released(db: redis.Redis) -> None:
    client = f"computing-{uuid.uuid4().hex}"
    assert admit(db, "compute", client, "a") == 0
    assert admit(db, "compute", client, "b") == 3
    for _ in range(3):  # renewed every third of a lease: it never lapses
        time.sleep(0.2)
        assert admit(db, "renew", client, "a") == 0
    assert admit(db, "compute", client, "b") == 3
    assert admit(db, "release", client, "a") == 0
    assert admit(db, "compute", client, "b") == 0
    time.sleep(0.6)  # not renewed: gone with its lease, key and all
    assert admit(db, "renew", client, "b") == 0 and not db.exists(client_computing_key(client))
    assert admit(db, "compute", client, "c") == 0


def test_an_address_is_counted_whatever_identities_its_clients_show(db: redis.Redis) -> None:
    """Two clients at one address, each under its own limits: the address's (one more than a
    client's) refuse the third run and the third computation between them (4, 5); ending one
    gives the address its place back."""
    address = f"school-{uuid.uuid4().hex}"
    ann, bob = f"ann-{uuid.uuid4().hex}", f"bob-{uuid.uuid4().hex}"
    runs = [uuid.uuid4().hex[:16] for _ in range(4)]
    assert admit(db, "run", ann, runs[0], address=address) == 0
    assert admit(db, "run", ann, runs[1], address=address) == 0
    assert admit(db, "run", ann, runs[2], address=address) == 1  # ann's own two
    assert admit(db, "run", bob, runs[2], address=address) == 0
    assert admit(db, "run", bob, runs[3], address=address) == 4  # the address's three
    assert db.hget(run_key(runs[2]), "admitted_address") == address_runs_key(address).encode()
    assert admit(db, "release-run", ann, runs[0], address=address) == 0
    assert admit(db, "run", bob, runs[3], address=address) == 0
    assert admit(db, "compute", ann, "a", address=address) == 0
    assert admit(db, "compute", bob, "b", address=address) == 0
    assert admit(db, "compute", f"cat-{uuid.uuid4().hex}", "c", address=address) == 5
    assert admit(db, "release", bob, "b", address=address) == 0
    assert db.zcard(address_computing_key(address)) == 1 and db.zcard(client_computing_key(bob)) == 0
    for client, run in ((ann, runs[1]), (bob, runs[2]), (bob, runs[3])):
        admit(db, "release-run", client, run, address=address)
    admit(db, "release", ann, "a", address=address)
