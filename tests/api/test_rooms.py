"""Live classroom rooms through a real server (embedded hub): codes and keys, the teacher drives
and students follow in order, a late joiner catches up, students cannot drive, a wrong key never
does, votes count once per student, reveal, bad messages, full rooms and servers, expiry, a cap on
one client's rooms, and a teacher (or the moderator) ending a room."""

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import qrcode
from qrcode.image.svg import SvgPathImage
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.api.test_admission import from_address
from tests.conftest import Server, free_port, strict_json

RECV_SECONDS = 10.0  # a hang guard, not a speed requirement
STUDENTS = 3  # DESCENT_ROOM_STUDENTS of the module's server
IDLE = 1.0  # DESCENT_ROOM_IDLE_SECONDS of the tight server
ROOMS = 2  # DESCENT_ROOMS_PER_SERVER of the tight server
MINE = 2  # DESCENT_ROOMS_PER_CLIENT of the capped server
SCHOOL = 3  # DESCENT_ROOMS_PER_ADDRESS of the capped server
ADMIN = "the-moderators-token"  # DESCENT_ADMIN_TOKEN of the capped server


def _server(tmp: Path, **env: str) -> Iterator[Server]:
    server = Server(tmp, free_port(), env)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory.mktemp("rooms"), DESCENT_ROOM_STUDENTS=str(STUDENTS),
                       DESCENT_ROOMS_PER_ADDRESS="100")  # every test here opens rooms from one address


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Few rooms, which expire a second after their teacher is gone."""
    yield from _server(tmp_path_factory.mktemp("rooms-tight"), DESCENT_ROOMS_PER_SERVER=str(ROOMS),
                       DESCENT_ROOM_IDLE_SECONDS=str(IDLE))


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Few rooms for each client and each address; a moderator token."""
    yield from _server(tmp_path_factory.mktemp("rooms-capped"), DESCENT_ROOMS_PER_CLIENT=str(MINE),
                       DESCENT_ROOMS_PER_ADDRESS=str(SCHOOL), DESCENT_ADMIN_TOKEN=ADMIN)


def open_room(server: Server, client: httpx.Client | None = None) -> dict[str, Any]:
    response = (client or httpx).post(f"{server.url}/api/rooms", timeout=10)
    assert response.status_code == 201, response.text
    room: dict[str, Any] = strict_json(response.text)
    return room


def live(server: Server, code: str, key: str | None = None, client: str | None = None) -> ClientConnection:
    """A socket to the room: its teacher with `key`, else a student (`client`: its X-Client-Id)."""
    query = f"?key={key}" if key is not None else ""
    headers = {"X-Client-Id": client} if client else None
    return connect(f"{server.ws_url}/api/rooms/{code}/live{query}", additional_headers=headers,
                   open_timeout=RECV_SECONDS, max_size=None)


def recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = strict_json(ws.recv(timeout=RECV_SECONDS))
    return message


def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type `kind` (a teacher also hears students come and go)."""
    while (message := recv(ws))["type"] != kind:
        assert message["type"] == "students", message
    return message


Join = Callable[..., ClientConnection]


@pytest.fixture
def join() -> Iterator[Join]:
    """`join(server, code, key=None, client=None)`: a socket to the room, open until the test
    ends, once its first message said which room and as whom (the teacher, with `key`)."""
    with contextlib.ExitStack() as sockets:

        def joined(server: Server, code: str, key: str | None = None, client: str | None = None) -> Any:
            ws = sockets.enter_context(live(server, code, key, client))
            first = recv(ws)
            assert first == {"type": "room", "code": code, "role": "student" if key is None else "teacher"}
            return ws

        yield joined


def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(orjson.dumps(message).decode())


def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    """How the server closed `ws` (read until it does)."""
    deadline = time.monotonic() + RECV_SECONDS
    try:
        while True:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionClosed:
        return ws.close_code, ws.close_reason


def refusal(server: Server, code: str, key: str | None = None) -> tuple[int | None, str | None]:
    with live(server, code, key) as ws:
        return closed_with(ws)


def get_room(server: Server, code: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/rooms/{code}", timeout=10)
    assert response.status_code == 200, response.text
    room: dict[str, Any] = strict_json(response.text)
    return room


POLL = {"type": "poll", "question": "Which optimizer reaches the minimum first?",
        "options": ["SGD", "Momentum", "Adam"]}


def test_a_room_has_a_code_without_look_alikes_a_long_key_and_a_qr_code(server: Server) -> None:
    room = open_room(server)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", room["code"]), room["code"]
    assert len(room["key"]) >= 32  # base64 of ≥ 192 random bits
    assert room["join_url"] == f"{server.url}/?room={room['code']}"
    assert {open_room(server)["code"] for _ in range(20)}.isdisjoint({room["code"]})
    assert get_room(server, room["code"]) == {"code": room["code"], "students": 0, "scene": None,
                                              "poll": None}
    assert get_room(server, room["code"].lower())["code"] == room["code"]  # typed in any case
    for unknown in ("ZZZZZZ", "O0I1O0", "much-too-long-to-be-a-code"):
        assert httpx.get(f"{server.url}/api/rooms/{unknown}").status_code == 404
        assert httpx.get(f"{server.url}/api/rooms/{unknown}/qr.svg").status_code == 404
    qr = httpx.get(f"{server.url}/api/rooms/{room['code']}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and "<path" in qr.text and 'viewBox="0 0 ' in qr.text
    assert "width=" not in qr.text.split(">")[0]  # no fixed size: it scales up for a projector
    made_here = qrcode.make(room["join_url"], image_factory=SvgPathImage, border=2).to_string()
    assert re.findall(r' d="([^"]+)"', qr.text) == re.findall(r' d="([^"]+)"', made_here.decode())  # the link


def test_every_student_receives_every_scene_in_order(server: Server, join: Join) -> None:
    room = open_room(server)
    scenes = [{"surface": "rosenbrock", "lr": 0.001 * i, "playhead": i, "playing": i % 2 == 0}
              for i in range(60)]
    teacher = join(server, room["code"], room["key"])
    students = [join(server, room["code"]) for _ in range(STUDENTS)]
    for scene in scenes:
        send(teacher, {"type": "scene", "scene": scene})
    for student in students:
        got = [recv(student) for _ in scenes]
        assert [m["type"] for m in got] == ["scene"] * len(scenes)
        assert [m["scene"] for m in got] == scenes
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert get_room(server, room["code"])["scene"] == scenes[-1]


def test_a_late_joiner_gets_the_current_scene_and_the_open_poll(server: Server, join: Join) -> None:
    room = open_room(server)
    teacher = join(server, room["code"], room["key"])
    for i in range(5):
        send(teacher, {"type": "scene", "scene": {"step": i}})
    send(teacher, POLL)
    poll = next_of(teacher, "poll")  # the teacher hears its poll: every earlier message is done
    late = join(server, room["code"])
    scene, opened = recv(late), recv(late)
    assert scene["type"] == "scene" and scene["scene"] == {"step": 4}
    assert opened == {"type": "poll", "seq": poll["seq"], "poll": poll["poll"],
                      "question": POLL["question"], "options": POLL["options"]}
    send(teacher, {"type": "reveal"})
    next_of(teacher, "tally")
    later = join(server, room["code"])  # after a reveal, the tally comes too
    assert [recv(later)["type"] for _ in range(3)] == ["scene", "poll", "tally"]


def test_a_students_scene_poll_and_reveal_are_never_relayed(server: Server, join: Join) -> None:
    room = open_room(server)
    teacher = join(server, room["code"], room["key"])
    rogue, other = join(server, room["code"]), join(server, room["code"])
    send(teacher, {"type": "scene", "scene": {"by": "teacher"}})
    assert recv(rogue)["scene"] == recv(other)["scene"] == {"by": "teacher"}
    for message in ({"type": "scene", "scene": {"by": "student"}}, POLL, {"type": "reveal"}):
        send(rogue, message)
        error = recv(rogue)
        assert error["type"] == "error" and "only the teacher drives the room" in error["detail"]
    send(teacher, {"type": "scene", "scene": {"marker": True}})
    assert recv(other) == {"type": "scene", "seq": recv(rogue)["seq"], "scene": {"marker": True}}
    send(teacher, {**POLL, "question": "marker"})  # the teacher heard students come, then its poll
    assert [recv(teacher)["type"] for _ in range(4)] == ["students", "students", "students", "poll"]
    state = get_room(server, room["code"])
    assert state["scene"] == {"marker": True} and state["poll"]["question"] == "marker"


def test_a_wrong_key_never_drives_the_room(server: Server, join: Join) -> None:
    room, other = open_room(server), open_room(server)
    for key in ("wrong", other["key"], room["key"][:-1], ""):
        code, reason = refusal(server, room["code"], key)
        assert code == 4403 and reason and "teacher key" in reason, (key, code, reason)
    student = join(server, room["code"])
    send(student, {"type": "scene", "scene": {"x": 1}})
    assert recv(student)["type"] == "error"
    assert get_room(server, room["code"])["scene"] is None


def test_the_key_may_come_as_a_subprotocol_and_stay_out_of_every_url(server: Server, join: Join) -> None:
    """A browser cannot set a websocket's headers, but it can offer subprotocols: the page offers
    `descent.room, key.KEY` instead of `?key=`, so no URL (a proxy's access log) holds the key."""
    room = open_room(server)
    url = f"{server.ws_url}/api/rooms/{room['code']}/live"

    def offer(*protocols: str) -> ClientConnection:
        return connect(url, subprotocols=[Subprotocol(p) for p in protocols], open_timeout=RECV_SECONDS)

    with offer("descent.room", f"key.{room['key']}") as teacher:
        assert teacher.subprotocol == "descent.room"
        assert recv(teacher) == {"type": "room", "code": room["code"], "role": "teacher"}
        student = join(server, room["code"])
        send(teacher, {"type": "scene", "scene": {"by": "subprotocol"}})
        assert recv(student)["scene"] == {"by": "subprotocol"}
    for wrong in ("key.wrong", f"key.{open_room(server)['key']}", "key."):
        with offer("descent.room", wrong) as ws:
            code, reason = closed_with(ws)
            assert code == 4403 and reason and "teacher key" in reason, (wrong, code, reason)
    with offer("descent.room") as ws:  # the protocol alone: a student
        assert ws.subprotocol == "descent.room" and recv(ws)["role"] == "student"
    assert get_room(server, room["code"])["scene"] == {"by": "subprotocol"}


def test_an_unknown_room_closes_4404(server: Server) -> None:
    for code in ("ZZZZZZ", "O0I1O0", "x" * 300):
        assert refusal(server, code)[0] == 4404
        assert refusal(server, code, "some-key")[0] == 4404


def test_votes_count_once_per_student_and_the_tally_is_exact(server: Server, join: Join) -> None:
    room = open_room(server)
    teacher = join(server, room["code"], room["key"])
    ann, bob = join(server, room["code"], client="ann"), join(server, room["code"], client="bob")
    ann_tab = join(server, room["code"], client="ann")  # the same student in a second tab
    send(ann, {"type": "vote", "option": 0})
    assert recv(ann)["detail"] == "there is no poll to vote in"
    send(teacher, POLL)
    poll_id = next_of(teacher, "poll")["poll"]
    for student in (ann, bob, ann_tab):
        assert recv(student)["type"] == "poll"
    tallies = []
    for who, option in [(ann, 0), (bob, 1), (ann, 1), (bob, 1), (ann_tab, 2)]:
        send(who, {"type": "vote", "option": option})
        tallies.append(next_of(teacher, "tally"))
    assert [t["counts"] for t in tallies] == [[1, 0, 0], [1, 1, 0], [0, 2, 0], [0, 2, 0], [0, 1, 1]]
    assert all(t["poll"] == poll_id and t["revealed"] is False for t in tallies)
    for message, detail in [({"type": "vote", "option": 3}, "index of one of the poll's options"),
                            ({"type": "vote", "option": 0, "poll": poll_id - 1}, "that poll is over"),
                            ({"type": "vote", "option": -1}, "greater than or equal to 0"),
                            ({"type": "vote", "option": "1"}, "valid integer")]:
        send(bob, message)
        assert detail in recv(bob)["detail"], message
    send(teacher, {"type": "vote", "option": 0})
    assert recv(teacher)["detail"] == "the teacher does not vote"
    assert get_room(server, room["code"])["poll"]["counts"] is None  # hidden until revealed
    send(teacher, {"type": "reveal"})
    revealed = {"type": "tally", "seq": tallies[-1]["seq"] + 1, "poll": poll_id, "counts": [0, 1, 1],
                "revealed": True}
    for who in (ann, bob, ann_tab):  # the first tally a student hears is the revealed one
        assert recv(who) == revealed
    assert next_of(teacher, "tally") == revealed
    send(bob, {"type": "vote", "option": 0})
    assert "voting is closed" in recv(bob)["detail"]
    assert get_room(server, room["code"])["poll"] == {
        "id": poll_id, "question": POLL["question"], "options": POLL["options"],
        "revealed": True, "counts": [0, 1, 1]}
    send(teacher, {**POLL, "options": ["yes", "no"]})  # a new poll starts from nothing
    assert next_of(teacher, "poll")["options"] == ["yes", "no"]
    for who in (ann, bob, ann_tab):
        assert recv(who)["options"] == ["yes", "no"]
    send(bob, {"type": "vote", "option": 1})
    assert next_of(teacher, "tally")["counts"] == [0, 1]


BIG = 70_000  # bytes: over the default room_max_scene_bytes (65,536)


@pytest.mark.parametrize("message, detail", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "a JSON object whose type is"),
    (b'{"type": "dance"}', "a JSON object whose type is"),
    (b'{"type": "scene", "scene": [1]}', "scene: scene"),
    (b'{"type": "scene"}', "scene: scene: Field required"),
    (b'{"type": "scene", "scene": {"x": NaN}}', "not JSON"),
    (orjson.dumps({"type": "scene", "scene": {"x": "a" * BIG}}), "at most 65536 bytes"),
    (b'{"type": "poll", "question": "q", "options": ["only one"]}', "between 2 and 12 options"),
    (orjson.dumps({"type": "poll", "question": "q", "options": [str(i) for i in range(13)]}),
     "between 2 and 12"),
    (orjson.dumps({"type": "poll", "question": "q" * 201, "options": ["a", "b"]}),
     "question: between 1 and 200"),
    (b'{"type": "poll", "question": "q", "options": ["a", "  "]}', "options: between 1 and 200"),
    (b'{"type": "poll", "question": 3, "options": ["a", "b"]}', "poll: question"),
    (b'{"type": "reveal", "now": true}', "reveal: now: Extra inputs are not permitted"),
], ids=lambda v: v.decode()[:40] if isinstance(v, bytes) else None)
def test_a_bad_message_gets_an_error_and_the_room_goes_on(
    server: Server, join: Join, message: bytes, detail: str
) -> None:
    room = open_room(server)
    teacher = join(server, room["code"], room["key"])
    student = join(server, room["code"])
    teacher.send(message.decode())
    error = next_of(teacher, "error")
    assert detail in error["detail"], error
    teacher.send(message)  # as a binary frame: the same answer
    assert next_of(teacher, "error") == error
    send(teacher, {"type": "scene", "scene": {"still": "here"}})
    assert recv(student)["scene"] == {"still": "here"}  # nothing of the bad message reached it


def test_a_full_room_refuses_the_next_student_with_4429(server: Server, join: Join) -> None:
    room = open_room(server)
    students = [join(server, room["code"]) for _ in range(STUDENTS)]
    assert get_room(server, room["code"])["students"] == STUDENTS
    code, reason = refusal(server, room["code"])
    assert code == 4429 and reason and "full" in reason
    teacher = join(server, room["code"], room["key"])  # the teacher is not one of the students
    assert next_of(teacher, "students")["count"] == STUDENTS
    students.pop().close()
    assert next_of(teacher, "students")["count"] == STUDENTS - 1
    join(server, room["code"])
    assert next_of(teacher, "students")["count"] == STUDENTS


def test_a_full_server_answers_429_with_retry_after(tight: Server) -> None:
    rooms = [open_room(tight) for _ in range(ROOMS)]
    response = httpx.post(f"{tight.url}/api/rooms")
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert "rooms open" in response.json()["detail"]
    deadline = time.monotonic() + RECV_SECONDS
    while httpx.get(f"{tight.url}/api/rooms/{rooms[0]['code']}").status_code == 200:  # no teacher came
        assert time.monotonic() < deadline
        time.sleep(0.1)
    rooms.append(open_room(tight))  # an expired room frees its place
    while any(httpx.get(f"{tight.url}/api/rooms/{room['code']}").status_code == 200 for room in rooms):
        assert time.monotonic() < deadline  # gone before the next test opens rooms
        time.sleep(0.1)


def test_a_room_without_its_teacher_expires_and_its_students_are_told(tight: Server, join: Join) -> None:
    room = open_room(tight)
    teacher, student = join(tight, room["code"], room["key"]), join(tight, room["code"])
    time.sleep(3 * IDLE)  # a connected teacher keeps the room
    send(teacher, {"type": "scene", "scene": {"alive": True}})
    assert recv(student)["scene"] == {"alive": True}
    teacher.close()
    started = time.monotonic()
    code, reason = closed_with(student)
    assert code == 4410 and reason == "the room expired"
    assert time.monotonic() - started >= IDLE * 0.9  # not before its idle time
    assert httpx.get(f"{tight.url}/api/rooms/{room['code']}").status_code == 404
    assert refusal(tight, room["code"], room["key"])[0] == 4404


def test_a_socket_that_sends_too_fast_is_told_and_the_rest_is_dropped(server: Server, join: Join) -> None:
    room = open_room(server)
    teacher, student = join(server, room["code"], room["key"]), join(server, room["code"])
    send(teacher, POLL)
    next_of(teacher, "poll"), recv(student)
    for i in range(100):  # far beyond the default 30 a second
        send(student, {"type": "vote", "option": i % 3})
    time.sleep(1.5)  # the bucket fills again
    send(student, {"type": "vote", "option": 9})  # a bad vote: its error marks the end
    dropped = 0
    while "index of one of the poll's options" not in (error := recv(student))["detail"]:
        assert error["detail"] == "too many messages: at most 30 a second; this one was dropped", error
        dropped += 1
    accepted = 100 - dropped
    assert dropped >= 50 and accepted >= 30, (dropped, accepted)
    tallies = [next_of(teacher, "tally") for _ in range(accepted)]
    assert [sum(t["counts"]) for t in tallies] == [1] * accepted  # one student, one vote, however often


def end_room(server: Server, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.delete(f"{server.url}/api/rooms/{code}", headers=headers, timeout=10)


def test_one_client_keeps_at_most_rooms_per_client_open_and_others_are_not_kept_out(capped: Server) -> None:
    with from_address(capped.url, "127.0.0.2") as hog, from_address(capped.url, "127.0.0.3") as other:
        mine = [open_room(capped, hog) for _ in range(MINE)]
        refused = hog.post("/api/rooms")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        detail = refused.json()["detail"]
        assert f"this client already has {MINE} rooms open" in detail and "DELETE /api/rooms/" in detail
        theirs = open_room(capped, other)  # another address is not kept out
        assert end_room(capped, mine[0]["code"], {"X-Room-Key": mine[0]["key"]}).status_code == 204
        again = open_room(capped, hog)  # the ended room's place came back
        assert hog.post("/api/rooms").status_code == 429
        for room in [mine[1], theirs, again]:
            assert end_room(capped, room["code"], {"X-Room-Key": room["key"]}).status_code == 204


def test_teachers_behind_one_address_each_open_rooms_up_to_the_address_limit(capped: Server) -> None:
    """Teachers whose school reaches the server through one address are each held to their own
    MINE rooms, and the school to SCHOOL rooms together."""
    school = "127.0.0.4"
    with from_address(capped.url, school, "ann") as ann, from_address(capped.url, school, "bob") as bob, \
            from_address(capped.url, school, "cat") as cat:
        rooms = [open_room(capped, ann), open_room(capped, ann), open_room(capped, bob)]
        refused = cat.post("/api/rooms")  # none open of her own, the school's all open
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        detail = refused.json()["detail"]
        assert f"this address already has {SCHOOL} rooms open, all its clients together" in detail
        assert end_room(capped, rooms[2]["code"], {"X-Room-Key": rooms[2]["key"]}).status_code == 204
        rooms[2] = open_room(capped, cat)  # the school's place came back
        for room in rooms:
            assert end_room(capped, room["code"], {"X-Room-Key": room["key"]}).status_code == 204


def test_the_teacher_ends_the_room_and_every_socket_is_told_and_closed(capped: Server, join: Join) -> None:
    room = open_room(capped)
    code = room["code"]
    teacher = join(capped, code, room["key"])
    students = [join(capped, code, client=name) for name in ("ann", "bob")]
    send(teacher, POLL)
    for ws in [teacher, *students]:
        next_of(ws, "poll")
    missing = end_room(capped, code)
    assert missing.status_code == 403 and "X-Room-Key" in missing.json()["detail"]
    wrong = end_room(capped, code, {"X-Room-Key": "Xq3nV0u8c0Jd6tOe0mJ4bW1h6c3J9u2Q"})
    assert wrong.status_code == 403 and "not room" in wrong.json()["detail"]
    assert end_room(capped, "ZZZZZZ", {"X-Room-Key": room["key"]}).status_code == 404
    assert get_room(capped, code)["students"] == 2  # refusals change nothing

    ended = end_room(capped, code.lower(), {"X-Room-Key": room["key"]})  # a code in any case
    assert ended.status_code == 204 and ended.content == b""
    for ws in [teacher, *students]:
        last = next_of(ws, "ended")
        assert last["detail"] == "the teacher ended the room" and isinstance(last["seq"], int)
        assert closed_with(ws) == (4410, "the teacher ended the room")
    assert httpx.get(f"{capped.url}/api/rooms/{code}").status_code == 404
    assert end_room(capped, code, {"X-Room-Key": room["key"]}).status_code == 404
    assert refusal(capped, code, room["key"])[0] == 4404


def test_the_moderator_ends_any_room(capped: Server, join: Join) -> None:
    room = open_room(capped)
    student = join(capped, room["code"])
    moderated = end_room(capped, room["code"], {"Authorization": f"Bearer {ADMIN}"})
    assert moderated.status_code == 204
    assert next_of(student, "ended")["detail"] == "a moderator ended the room"
    assert closed_with(student) == (4410, "a moderator ended the room")
