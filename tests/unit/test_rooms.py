"""The parts of a room that need no server: codes and keys, a client message's checks, a room's
feed (order, roles, a reader too far behind, events heard while loading, a room ended), the
vote rules, the embedded hub's count of each client's rooms, and the log filter that hides
teacher keys."""

import asyncio
import logging
import re

import orjson
import pytest

from backend.api.routes.rooms import RedactKeys
from backend.clients import Client
from backend.rooms.codes import ALPHABET, is_key, new_code, new_key, normal_code
from backend.rooms.feed import HISTORY, RoomFeed
from backend.rooms.hub import EXPIRED, LocalRooms, TooManyRooms
from backend.rooms.messages import PollMessage, Refused, SceneMessage, VoteMessage, parse
from backend.rooms.room import NO_POLL, NO_SUCH_OPTION, OTHER_POLL, REVEALED, Poll, Room
from backend.settings import Settings

SETTINGS = Settings()


def test_codes_have_no_look_alikes_and_keys_are_long_and_checked() -> None:
    assert not set("0O1I") & set(ALPHABET) and len(ALPHABET) == 32
    codes = {new_code() for _ in range(2000)}
    assert len(codes) > 1990 and all(re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", c) for c in codes)
    assert normal_code(" k7q2xm ") == "K7Q2XM" and normal_code("K7Q2X0") is None
    key, hashed = new_key()
    assert len(key) == 32 and key not in hashed  # 24 random bytes, kept only as a hash
    assert is_key(key, hashed) and not is_key(key[:-1], hashed) and not is_key("", hashed)


@pytest.mark.parametrize("text, expected", [
    ('{"type": "scene", "scene": {"a": [1, 2]}}', SceneMessage(type="scene", scene={"a": [1, 2]})),
    ('{"type": "poll", "question": "q", "options": ["a", "b"]}',
     PollMessage(type="poll", question="q", options=["a", "b"])),
    ('{"type": "vote", "option": 2, "poll": 7}', VoteMessage(type="vote", option=2, poll=7)),
])
def test_a_good_message_parses(text: str, expected: object) -> None:
    assert parse(text, SETTINGS) == expected
    assert parse(text.encode(), SETTINGS) == expected


@pytest.mark.parametrize("text, detail", [
    ('{"type": "vote", "option": true}', "vote: option: Input should be a valid integer"),
    ('{"type": "vote", "option": 1.5}', "vote: option"),
    ('{"type": "scene", "scene": {}, "extra": 1}', "scene: extra: Extra inputs are not permitted"),
    ('"scene"', "a JSON object whose type is"),
    ("[" * 2000, "not JSON"),
])
def test_a_bad_message_is_refused_with_words(text: str, detail: str) -> None:
    with pytest.raises(Refused) as refused:
        parse(text, SETTINGS)
    assert detail in refused.value.detail


def test_the_size_bound_counts_bytes_not_characters() -> None:
    small = Settings(room_max_scene_bytes=256)
    just = '{"type": "scene", "scene": {"t": "' + "é" * 100 + '"}}'  # 100 characters, 200 bytes
    assert len(just.encode()) <= 256 and parse(just, small)
    with pytest.raises(Refused, match="at most 256 bytes"):
        parse(just.replace("é" * 100, "é" * 120), small)


def test_the_vote_rules() -> None:
    room = Room("K7Q2XM", "hash", Client("127.0.0.1", "teacher"), 0.0)
    assert room.vote("ann", 0, None) == NO_POLL
    room.poll = Poll(5, '{"question": "q", "options": ["a", "b"]}', 2)
    assert room.vote("ann", 2, None) == NO_SUCH_OPTION
    assert room.vote("ann", 0, 4) == OTHER_POLL
    assert [room.vote("ann", 0, None), room.vote("bob", 1, 5), room.vote("ann", 1, None)] == [0, 0, 0]
    assert room.poll.counts() == [0, 2]
    room.poll.revealed = True
    assert room.vote("cy", 0, None) == REVEALED and room.poll.counts() == [0, 2]


def texts(feed: RoomFeed, cursor: int, teacher: bool) -> tuple[int, list[dict[str, object]]]:
    cursor, found = feed.since(cursor, teacher)
    return cursor, [orjson.loads(t) for t in found]


def test_a_feed_sends_each_role_its_events_in_order() -> None:
    asyncio.run(_roles_and_order())


async def _roles_and_order() -> None:
    feed = RoomFeed("K7Q2XM")
    feed.apply(1, "students", [1])
    feed.apply(2, "scene", ['{"n": 1}'])
    feed.apply(3, "poll", ['{"question": "q", "options": ["a", "b"]}'])
    feed.apply(4, "tally", [3, [0, 1]])
    feed.apply(4, "scene", ['{"n": "an old event heard again"}'])
    feed.apply(5, "reveal", [3, [0, 1]])
    cursor, student = texts(feed, 0, teacher=False)
    assert cursor == 5 and [(m["type"], m["seq"]) for m in student] == [
        ("scene", 2), ("poll", 3), ("tally", 5)]
    _, teacher = texts(feed, 0, teacher=True)
    assert [(m["type"], m["seq"]) for m in teacher] == [
        ("students", 1), ("poll", 3), ("tally", 4), ("tally", 5)]
    assert [orjson.loads(t)["type"] for t in feed.state(teacher=False)] == ["scene", "poll", "tally"]
    assert [orjson.loads(t)["seq"] for t in feed.state(teacher=True)] == [1, 3, 5]
    student, teacher_waits = asyncio.create_task(feed.wait(5, False)), asyncio.create_task(feed.wait(5, True))
    feed.apply(6, "students", [2])  # for the teacher only: its students sleep on
    await asyncio.wait_for(teacher_waits, 1)
    await asyncio.sleep(0.01)
    assert not student.done()
    feed.apply(7, "scene", ['{"n": 2}'])
    await asyncio.wait_for(student, 1)
    assert texts(feed, 5, teacher=False)[1] == [{"type": "scene", "seq": 7, "scene": {"n": 2}}]


def test_a_reader_further_behind_than_kept_gets_the_state() -> None:
    feed = RoomFeed("K7Q2XM")
    feed.apply(1, "poll", ['{"question": "q", "options": ["a", "b"]}'])
    for rev in range(2, HISTORY + 10):
        feed.apply(rev, "scene", [f'{{"n": {rev}}}'])
    cursor, caught_up = texts(feed, 1, teacher=False)
    assert cursor == HISTORY + 9
    assert [(m["type"], m["seq"]) for m in caught_up] == [("poll", 1), ("scene", HISTORY + 9)]
    _, near = texts(feed, HISTORY, teacher=False)  # still kept: every event
    assert [m["seq"] for m in near] == list(range(HISTORY + 1, HISTORY + 10))


def test_events_heard_while_loading_apply_after_the_state_once() -> None:
    feed = RoomFeed("K7Q2XM", loading=True)
    feed.apply(7, "scene", ['{"n": "published before the state was read"}'])
    feed.apply(9, "scene", ['{"n": 9}'])
    feed.load(8, [(8, "students", [3]), (6, "scene", ['{"n": 6}'])])
    assert feed.rev == 9
    assert texts(feed, 8, teacher=False)[1] == [{"type": "scene", "seq": 9, "scene": {"n": 9}}]
    assert [orjson.loads(t)["seq"] for t in feed.state(teacher=False)] == [9]


def test_an_ended_rooms_readers_get_the_last_event_then_the_close() -> None:
    feed = RoomFeed("K7Q2XM")
    feed.apply(1, "scene", ['{"n": 1}'])
    feed.apply(2, "ended", ["the teacher ended the room"])
    feed.close(EXPIRED, "the teacher ended the room")
    feed.close(EXPIRED)  # a later close (the room's expiry noticed) changes nothing
    asyncio.run(asyncio.wait_for(feed.wait(2, teacher=True), 1))  # closed: nobody waits
    assert (feed.closed, feed.reason) == (EXPIRED, "the teacher ended the room")
    ended = {"type": "ended", "seq": 2, "detail": "the teacher ended the room"}
    for teacher in (True, False):
        assert texts(feed, 1, teacher)[1] == [ended]


def test_the_embedded_hub_counts_rooms_per_client_address_and_server_and_gives_places_back() -> None:
    asyncio.run(_clients_rooms())


async def _clients_rooms() -> None:
    rooms = LocalRooms(Settings(rooms_per_client=2, rooms_per_address=3, rooms_per_server=4,
                                room_idle_seconds=0.2))
    ann, bob, cat = (Client("10.0.0.1", name) for name in ("ann", "bob", "cat"))  # one school's teachers
    try:
        first, second = [await rooms.create(ann) for _ in range(2)]
        with pytest.raises(TooManyRooms) as mine:
            await rooms.create(ann)
        assert mine.value.whose == "client"
        assert await rooms.end(first[0], "not its key") is False
        assert await rooms.end(first[0], first[1]) is True
        assert await rooms.end(first[0], first[1]) is None  # gone
        await rooms.create(ann)  # the ended room's place came back
        await rooms.create(bob)  # under his own 2: the address's third room
        with pytest.raises(TooManyRooms) as school:
            await rooms.create(cat)
        assert school.value.whose == "address"
        await rooms.create(Client("10.0.0.2", "ann"))  # the server's fourth room
        with pytest.raises(TooManyRooms) as full:
            await rooms.create(Client("10.0.0.3", "dan"))
        assert full.value.whose == "server"
        await asyncio.sleep(0.3)  # no teacher came: they expire, and every place comes back
        assert len({await rooms.create(client) for client in (ann, ann, cat)}) == 3
        assert await rooms.info(second[0]) is None
    finally:
        await rooms.close()


def test_teacher_keys_never_reach_the_log() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:5000", "/api/rooms/K7Q2XM/live?key=s3cr3t-Key_x&lang=en"), None)
    assert RedactKeys().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "WebSocket /api/rooms/K7Q2XM/live?key=[hidden]&lang=en" [accepted]')
