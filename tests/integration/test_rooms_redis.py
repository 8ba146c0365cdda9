"""Rooms across two API replicas (two uvicorn processes) on one real redis-server: a teacher on
one replica drives students on both, in order; a late joiner on the other replica catches up;
votes from both count once per student; reveal reaches both; a wrong key, a full room, a full
server, one client's rooms and expiry hold across replicas; a room ended on one replica closes
its sockets on both and gives its client's place back; Redis's own keys expire with the room; a
replica that loses Redis closes its room sockets and serves rooms again once Redis is back."""

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from websockets.sync.client import ClientConnection, connect

from tests.api.test_admission import from_address
from tests.api.test_rooms import closed_with, next_of, recv, send
from tests.integration.conftest import Cluster, free_port, missing, wait_for

IDLE = 2.0  # DESCENT_ROOM_IDLE_SECONDS
STUDENTS = 5  # DESCENT_ROOM_STUDENTS
ROOMS = 14  # DESCENT_ROOMS_PER_SERVER
MINE = 4  # DESCENT_ROOMS_PER_CLIENT
SCHOOL = 6  # DESCENT_ROOMS_PER_ADDRESS
RECV_SECONDS = 15.0  # a hang guard, not a speed requirement
LIMITS = {"DESCENT_ROOM_IDLE_SECONDS": str(IDLE), "DESCENT_ROOM_STUDENTS": str(STUDENTS),
          "DESCENT_ROOMS_PER_SERVER": str(ROOMS), "DESCENT_ROOMS_PER_CLIENT": str(MINE),
          "DESCENT_ROOMS_PER_ADDRESS": str(SCHOOL)}


@pytest.fixture(scope="module")
def replicas(redis_url: str, make_cluster: Any) -> tuple[Cluster, Cluster]:
    """Two API processes on one Redis database and one run store, and no worker. The second
    starts once the first has made the store's tables (two at once can race to create them)."""
    first: Cluster = make_cluster(redis_url, **LIMITS)
    second: Cluster = make_cluster(redis_url, **LIMITS, DESCENT_DATA_DIR=str(first.data_dir))
    first.start_api()
    second.start_api()
    return first, second


Join = Callable[..., ClientConnection]


@pytest.fixture
def join() -> Iterator[Join]:
    """`join(replica, code, key=None, client=None)`: a greeted socket, open until the test ends."""
    with contextlib.ExitStack() as sockets:

        def joined(replica: Cluster, code: str, key: str | None = None, client: str | None = None) -> Any:
            ws = sockets.enter_context(live(replica, code, key, client))
            assert recv(ws) == {"type": "room", "code": code, "role": "student" if key is None else "teacher"}
            return ws

        yield joined


def live(replica: Cluster, code: str, key: str | None = None, client: str | None = None) -> Any:
    query = f"?key={key}" if key is not None else ""
    return connect(f"{replica.ws}/api/rooms/{code}/live{query}", open_timeout=RECV_SECONDS,
                   additional_headers={"X-Client-Id": client} if client else None)


def open_room(replica: Cluster) -> dict[str, Any]:
    response = httpx.post(f"{replica.url}/api/rooms", timeout=10)
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


def room_state(replica: Cluster, code: str) -> dict[str, Any]:
    response = httpx.get(f"{replica.url}/api/rooms/{code}", timeout=10)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def refusal(replica: Cluster, code: str, key: str | None = None) -> int | None:
    with live(replica, code, key) as ws:
        return closed_with(ws)[0]


POLL = {"type": "poll", "question": "Which optimizer reaches the minimum first?",
        "options": ["SGD", "Momentum", "Adam"]}


def test_a_teacher_on_one_replica_drives_students_on_both(
    replicas: tuple[Cluster, Cluster], join: Join
) -> None:
    a, b = replicas
    room = open_room(a)
    code = room["code"]
    assert room_state(b, code)["code"] == code  # the other replica knows the room
    teacher = join(a, code, room["key"])
    students = [join(a, code, client="ann"), join(b, code, client="bob"), join(b, code, client="cy")]
    scenes = [{"surface": "ravine", "playhead": i} for i in range(100)]
    for scene in scenes:
        send(teacher, {"type": "scene", "scene": scene})
    for student in students:
        got = [recv(student) for _ in scenes]
        assert [m["scene"] for m in got] == scenes  # every one, in order, on both replicas
        assert [m["seq"] for m in got] == sorted({m["seq"] for m in got})
    send(teacher, POLL)
    poll = next_of(teacher, "poll")
    for student in students:
        assert recv(student) == poll
    late = join(b, code, client="dee")  # a late joiner on the other replica
    assert recv(late)["scene"] == scenes[-1] and recv(late) == poll

    ann, bob, cy = students
    votes = [(ann, 2), (bob, 2), (late, 0), (ann, 1), (cy, 1), (bob, 1)]
    tallies = []
    for who, option in votes:
        send(who, {"type": "vote", "option": option})
        tallies.append(next_of(teacher, "tally")["counts"])
    assert tallies == [[0, 0, 1], [0, 0, 2], [1, 0, 2], [1, 1, 1], [1, 2, 1], [1, 3, 0]]
    with live(b, code, client="bob") as bob_again:  # bob's second tab, on replica b: still one voter
        recv(bob_again), recv(bob_again), recv(bob_again)
        send(bob_again, {"type": "vote", "option": 0})
        assert next_of(teacher, "tally")["counts"] == [2, 2, 0]
    send(cy, {"type": "scene", "scene": {"by": "a student"}})
    assert "only the teacher" in recv(cy)["detail"]
    assert room_state(a, code)["poll"]["counts"] is None
    send(teacher, {"type": "reveal"})
    revealed = next_of(teacher, "tally")
    assert revealed["counts"] == [2, 2, 0] and revealed["revealed"] is True
    for student in [*students, late]:
        assert recv(student) == revealed  # no tally reached a student before, nor the student's scene

    def settled(replica: Cluster) -> dict[str, Any] | None:
        state = room_state(replica, code)
        return state if state["students"] == 4 else None

    for replica in replicas:  # bob's second tab has gone: its replica notices the close, then says so
        state = wait_for(lambda r=replica: settled(r), RECV_SECONDS, "the closed tab to leave the count")
        assert state["scene"] == scenes[-1]
        assert state["poll"]["counts"] == [2, 2, 0] and state["poll"]["revealed"] is True


def test_keys_limits_and_unknown_rooms_hold_across_replicas(
    replicas: tuple[Cluster, Cluster], join: Join
) -> None:
    a, b = replicas
    room = open_room(a)
    code = room["code"]
    assert refusal(b, code, "not-the-key") == 4403
    assert refusal(b, code, open_room(b)["key"]) == 4403
    assert refusal(b, "ZZZZZZ") == 4404 and refusal(a, "ZZZZZZ", room["key"]) == 4404
    join(b, code, room["key"])  # the right key works on either replica
    for i in range(STUDENTS):
        join((a, b)[i % 2], code)
    assert refusal(a, code) == 4429 and refusal(b, code) == 4429
    assert room_state(a, code)["students"] == STUDENTS


def test_rooms_per_server_are_counted_across_replicas(replicas: tuple[Cluster, Cluster]) -> None:
    a, b = replicas
    answers = []
    for i in range(ROOMS + 2):  # each from its own address: no client is over its own count
        with from_address((a, b)[i % 2].url, f"127.0.0.{20 + i}") as client:
            answers.append(client.post("/api/rooms"))
    assert [r.status_code for r in answers].count(429) >= 2
    assert all(int(r.headers["retry-after"]) > 0 for r in answers if r.status_code == 429)
    # the rooms without a teacher expire, and free their places on both replicas
    deadline = time.monotonic() + RECV_SECONDS
    while (again := httpx.post(f"{b.url}/api/rooms", timeout=10)).status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    codes = [r.json()["code"] for r in [*answers, again] if r.status_code == 201]
    while any(httpx.get(f"{a.url}/api/rooms/{code}").status_code == 200 for code in codes):
        assert time.monotonic() < deadline  # gone before the next test opens rooms
        time.sleep(0.2)


def test_one_clients_rooms_are_counted_across_replicas_and_come_back_when_ended_or_expired(
    replicas: tuple[Cluster, Cluster], join: Join
) -> None:
    a, b = replicas
    with from_address(a.url, "127.0.0.60") as on_a, from_address(b.url, "127.0.0.60") as on_b, \
            ThreadPoolExecutor(2 * MINE) as pool:
        answers = list(pool.map(lambda i: (on_a, on_b)[i % 2].post("/api/rooms"), range(2 * MINE)))
        codes = [r.status_code for r in answers]
        assert codes.count(201) == MINE, codes  # asked of both replicas at once: never one more
        assert all(f"this client already has {MINE} rooms open" in r.json()["detail"]
                   for r in answers if r.status_code == 429)
        mine = [r.json() for r in answers if r.status_code == 201]
        student = join(a, mine[0]["code"])  # the room is ended through the other replica
        ended = on_b.delete(f"/api/rooms/{mine[0]['code']}", headers={"X-Room-Key": mine[0]["key"]})
        assert ended.status_code == 204
        assert next_of(student, "ended")["detail"] == "the teacher ended the room"
        assert closed_with(student) == (4410, "the teacher ended the room")
        assert on_a.get(f"/api/rooms/{mine[0]['code']}").status_code == 404
        fresh = on_a.post("/api/rooms")
        assert fresh.status_code == 201  # its place came back
        assert on_b.post("/api/rooms").status_code == 429
        deadline = time.monotonic() + RECV_SECONDS
        left = [room["code"] for room in [*mine[1:], fresh.json()]]
        while any(on_b.get(f"/api/rooms/{code}").status_code == 200 for code in left):  # no teacher came
            assert time.monotonic() < deadline
            time.sleep(0.2)
        back = [on_b.post("/api/rooms") for _ in range(MINE)]
        assert [r.status_code for r in back] == [201] * MINE  # the expired rooms' places, all of them
        for room in [r.json() for r in back]:
            ending = on_a.delete(f"/api/rooms/{room['code']}", headers={"X-Room-Key": room["key"]})
            assert ending.status_code == 204


def test_a_teacher_on_one_replica_keeps_the_room_and_its_leaving_expires_it_on_the_other(
    replicas: tuple[Cluster, Cluster], join: Join, redis_url: str
) -> None:
    a, b = replicas
    room = open_room(a)
    code = room["code"]
    teacher, student = join(a, code, room["key"]), join(b, code)
    time.sleep(2.5 * IDLE)  # longer than the idle time: the teacher's replica keeps the room
    send(teacher, {"type": "scene", "scene": {"still": "here"}})
    assert recv(student)["scene"] == {"still": "here"}
    teacher.close()
    assert closed_with(student) == (4410, "the room expired")
    assert httpx.get(f"{a.url}/api/rooms/{code}").status_code == 404
    assert refusal(a, code, room["key"]) == 4404
    with redis.Redis.from_url(redis_url) as client:  # nothing of the room is left in Redis
        deadline = time.monotonic() + RECV_SECONDS
        while client.keys(f"descent:room:{code}*"):
            assert time.monotonic() < deadline, client.keys(f"descent:room:{code}*")
            time.sleep(0.1)


class OwnRedis:
    """A redis-server of this test's own, which it may stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server")
        assert binary is not None
        self.command = [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", str(workdir)]
        self.url = f"redis://127.0.0.1:{self.command[2]}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with redis.Redis.from_url(self.url) as client:
            wait_for(client.ping, 10, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def test_a_replica_that_loses_redis_closes_its_room_sockets_and_serves_rooms_again(
    make_cluster: Any, tmp_path: Path, join: Join
) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    try:
        replica: Cluster = make_cluster(own.url, **LIMITS)
        replica.start_api()
        room = open_room(replica)
        join(replica, room["code"], room["key"])
        student = join(replica, room["code"])
        own.stop()  # no persistence: the room is gone with it
        code, _ = closed_with(student)
        assert code in (1012, 4410)  # told to connect again (or, if the beat noticed first, expired)
        own.start()
        deadline = time.monotonic() + RECV_SECONDS
        while (answer := httpx.post(f"{replica.url}/api/rooms", timeout=10)).status_code != 201:
            assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        fresh = answer.json()
        teacher, follower = join(replica, fresh["code"], fresh["key"]), join(replica, fresh["code"])
        send(teacher, {"type": "scene", "scene": {"after": "the restart"}})
        assert recv(follower)["scene"] == {"after": "the restart"}  # subscribed again
    finally:
        own.stop()


def test_a_schools_rooms_are_counted_across_replicas(replicas: tuple[Cluster, Cluster]) -> None:
    """Two teachers behind one address, each under its own MINE, on different replicas at once:
    SCHOOL rooms between them, never one more; ending one gives the school its place back."""
    a, b = replicas
    with from_address(a.url, "127.0.0.61", "ann") as ann, from_address(b.url, "127.0.0.61", "bob") as bob, \
            ThreadPoolExecutor(2 * MINE) as pool:
        answers = list(pool.map(lambda i: (ann, bob)[i % 2].post("/api/rooms"), range(2 * MINE)))
        codes = [r.status_code for r in answers]
        assert codes.count(201) == SCHOOL, codes
        assert all(f"this address already has {SCHOOL} rooms open" in r.json()["detail"]
                   for r in answers if r.status_code == 429)
        opened = [r.json() for r in answers if r.status_code == 201]
        ended = bob.delete(f"/api/rooms/{opened[0]['code']}", headers={"X-Room-Key": opened[0]["key"]})
        assert ended.status_code == 204
        fresh = ann.post("/api/rooms")
        assert fresh.status_code == 201, fresh.text  # the school's place came back
        assert bob.post("/api/rooms").status_code == 429
        for room in [*opened[1:], fresh.json()]:  # cleared for the next test (or expired already)
            cleared = ann.delete(f"/api/rooms/{room['code']}", headers={"X-Room-Key": room["key"]})
            assert cleared.status_code in (204, 404)
