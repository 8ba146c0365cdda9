"""The rooms of one server, and the embedded hub that fans a room out inside this process.

`Rooms` is what the websocket route talks to: create a room, enter it as its teacher (with the
key) or as a student, act on a message, leave, end it (with the key). What a message may do
is decided here, once, for both hubs; `LocalRooms` keeps the rooms in memory,
`redis.RedisRooms` in Redis.
"""

import asyncio
import contextlib
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

from backend.clients import Client, limit_reached
from backend.rooms.codes import is_key, new_code, new_key
from backend.rooms.feed import RoomFeed
from backend.rooms.messages import (
    Incoming,
    PollMessage,
    Refused,
    SceneMessage,
    VoteMessage,
    poll_json,
    scene_json,
)
from backend.rooms.room import NO_POLL, VOTE_REFUSALS, Poll, Room, RoomInfo, poll_info
from backend.settings import Settings

# websocket close codes (docs/api.md, "Rooms")
WRONG_KEY, NOT_FOUND, EXPIRED, FULL = 4403, 4404, 4410, 4429
SERVER_GOING, RECONNECT, TRY_AGAIN = 1001, 1012, 1013
# why a room was ended (by its teacher's key, or by the moderator): the `ended` message's
# detail and the reason of the close (EXPIRED) that follows it
ENDED_BY = {True: "the teacher ended the room", False: "a moderator ended the room"}
CLOSE_REASONS = {  # why a room's sockets were closed while connected
    EXPIRED: "the room expired",
    SERVER_GOING: "the server is stopping",
    RECONNECT: "this server lost the rooms' Redis for a moment: connect again",
}


class Closed(Exception):
    """A connection the room will not keep: the websocket closes with `code`."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


class TooManyRooms(Exception):
    """`whose` rooms are all open: this client's (`rooms_per_client`), its address's
    (`rooms_per_address`) or the server's (`rooms_per_server`)."""

    def __init__(self, whose: Literal["client", "address", "server"]) -> None:
        super().__init__(f"the {whose}'s rooms")
        self.whose = whose


class Unavailable(Exception):
    """The rooms' store (Redis) did not answer: try again."""


@dataclass(eq=False)
class Member:
    """One connection to a room: its teacher (any number of the teacher's tabs) or a student."""

    code: str
    teacher: bool
    identity: str  # whose vote it is: the browser's client identity
    feed: RoomFeed
    id: str = field(default_factory=lambda: secrets.token_hex(8))


def beat_seconds(settings: Settings) -> float:
    """How often a hub looks after its rooms (expiry, and with Redis, presence)."""
    return min(max(settings.room_idle_seconds / 4, 0.05), 5.0)


def no_room(code: str) -> Closed:
    return Closed(NOT_FOUND, f"no room '{code}' (it may have expired)")


class Rooms(ABC):
    """The rooms of this server; what members may do, whichever hub keeps them."""

    kind: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def act(self, member: Member, message: Incoming) -> None:
        """Do what `member` asked, or raise `Refused` (sent back to it as an `error`)."""
        if isinstance(message, VoteMessage):
            if member.teacher:
                raise Refused("the teacher does not vote")
            refusal = await self._vote(member, message.option, message.poll)
            if refusal:
                raise Refused(VOTE_REFUSALS[refusal])
        elif not member.teacher:
            raise Refused(f"only the teacher drives the room: a student's {message.type} is not relayed")
        elif isinstance(message, SceneMessage):
            await self._scene(member.code, scene_json(message))
        elif isinstance(message, PollMessage):
            await self._poll(member.code, poll_json(message), len(message.options))
        else:
            refusal = await self._reveal(member.code)
            if refusal:
                raise Refused(VOTE_REFUSALS[refusal])

    @abstractmethod
    async def create(self, client: Client) -> tuple[str, str]:
        """A new room's (code, teacher key), opened by `client`; `TooManyRooms` if the client,
        its address or the server has all the rooms it may open."""

    @abstractmethod
    async def end(self, code: str, key: str | None) -> bool | None:
        """End room `code` now: its sockets get an `ended` message and close with EXPIRED, and
        its client's place comes back. True: ended; False: `key` (None: a moderator) is not
        its teacher key; None: no such room."""

    @abstractmethod
    async def info(self, code: str) -> RoomInfo | None: ...

    @abstractmethod
    async def enter(self, code: str, key: str | None, identity: str) -> Member:
        """Join room `code` (as its teacher when `key` is given); `Closed` if it may not."""

    @abstractmethod
    async def leave(self, member: Member) -> None: ...

    @abstractmethod
    async def _scene(self, code: str, scene: str) -> None: ...

    @abstractmethod
    async def _poll(self, code: str, poll: str, options: int) -> None: ...

    @abstractmethod
    async def _vote(self, member: Member, option: int, poll_id: int | None) -> int: ...

    @abstractmethod
    async def _reveal(self, code: str) -> int: ...

    @abstractmethod
    async def close(self) -> None:
        """Close every room's connections (the server is stopping)."""


class LocalRooms(Rooms):
    """Rooms in this process's memory, fanned out to this process's connections."""

    kind = "local"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._rooms: dict[str, tuple[Room, RoomFeed]] = {}
        self._sweeper = asyncio.create_task(self._sweep(), name="descent-rooms")

    def _open(self, code: str) -> tuple[Room, RoomFeed] | None:
        self._expire(time.time())
        return self._rooms.get(code)

    def _expire(self, now: float) -> None:
        for code, (room, feed) in list(self._rooms.items()):
            if room.teachers == 0 and room.expires <= now:
                del self._rooms[code]
                feed.close(EXPIRED)

    async def _sweep(self) -> None:
        """Close the connections of rooms that expired (entering one notices by itself)."""
        while True:
            await asyncio.sleep(beat_seconds(self.settings))
            self._expire(time.time())

    async def create(self, client: Client) -> tuple[str, str]:
        now = time.time()
        self._expire(now)
        reached = limit_reached((room.client for room, _ in self._rooms.values()), client,
                                self.settings.rooms_per_client, self.settings.rooms_per_address)
        if reached:
            raise TooManyRooms(reached)
        if len(self._rooms) >= self.settings.rooms_per_server:
            raise TooManyRooms("server")
        code = new_code()
        while code in self._rooms:
            code = new_code()
        key, hashed = new_key()
        feed = RoomFeed(code)
        feed.load(0, [(0, "students", [0])])
        self._rooms[code] = Room(code, hashed, client, now + self.settings.room_idle_seconds), feed
        return code, key

    async def end(self, code: str, key: str | None) -> bool | None:
        entry = self._open(code)
        if entry is None:
            return None
        room, feed = entry
        if key is not None and not is_key(key, room.key_hash):
            return False
        del self._rooms[code]
        feed.apply(room.next_rev(), "ended", [ENDED_BY[key is not None]])
        feed.close(EXPIRED, ENDED_BY[key is not None])
        return True

    async def info(self, code: str) -> RoomInfo | None:
        entry = self._open(code)
        if entry is None:
            return None
        room, _ = entry
        poll = room.poll
        return RoomInfo(code, len(room.students), room.scene[1] if room.scene else None,
                        poll_info(poll.id, poll.text, poll.revealed, poll.counts()) if poll else None)

    async def enter(self, code: str, key: str | None, identity: str) -> Member:
        entry = self._open(code)
        if entry is None:
            raise no_room(code)
        room, feed = entry
        if key is not None:
            if not is_key(key, room.key_hash):
                raise Closed(WRONG_KEY, f"that is not room '{code}''s teacher key")
            room.teachers += 1
            member = Member(code, True, identity, feed)
        else:
            if len(room.students) >= self.settings.room_students:
                raise Closed(FULL, f"room '{code}' is full ({self.settings.room_students} students)")
            member = Member(code, False, identity, feed)
            room.students.add(member.id)
            feed.apply(room.next_rev(), "students", [len(room.students)])
        feed.members.add(member)
        return member

    async def leave(self, member: Member) -> None:
        member.feed.members.discard(member)
        entry = self._rooms.get(member.code)
        if entry is None or entry[1] is not member.feed:
            return  # the room is gone
        room, feed = entry
        if member.teacher:
            room.teachers -= 1
            room.expires = time.time() + self.settings.room_idle_seconds
        else:
            room.students.discard(member.id)
            feed.apply(room.next_rev(), "students", [len(room.students)])

    async def _scene(self, code: str, scene: str) -> None:
        if (entry := self._rooms.get(code)) is not None:
            room, feed = entry
            room.scene = (room.next_rev(), scene)
            feed.apply(room.rev, "scene", [scene])

    async def _poll(self, code: str, poll: str, options: int) -> None:
        if (entry := self._rooms.get(code)) is not None:
            room, feed = entry
            room.poll = Poll(room.next_rev(), poll, options)
            feed.apply(room.rev, "poll", [poll])

    async def _vote(self, member: Member, option: int, poll_id: int | None) -> int:
        entry = self._rooms.get(member.code)
        if entry is None:
            return 0
        room, feed = entry
        refusal = room.vote(member.identity, option, poll_id)
        if not refusal and room.poll is not None:
            feed.apply(room.next_rev(), "tally", [room.poll.id, room.poll.counts()])
        return refusal

    async def _reveal(self, code: str) -> int:
        entry = self._rooms.get(code)
        if entry is None:
            return 0
        room, feed = entry
        if room.poll is None:
            return NO_POLL
        room.poll.revealed = True
        feed.apply(room.next_rev(), "reveal", [room.poll.id, room.poll.counts()])
        return 0

    async def close(self) -> None:
        self._sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sweeper
        for _, feed in self._rooms.values():
            feed.close(SERVER_GOING)
        self._rooms.clear()
