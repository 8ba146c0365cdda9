"""Rooms across API replicas: each room's state in Redis, its events fanned out by Redis pub/sub.

A teacher on one replica and students on another see one room: every change is one Lua script
that updates the room, numbers the event with the room's revision and publishes it on the
room's channel in the same step, so the revision order is the order every replica hears.
A replica subscribes to a room's channel while it has connections to the room, and applies
what it hears to its local `RoomFeed` (which its connections read, as in the embedded hub).

Keys (all under `descent:`), each expiring `room_idle_seconds` after a teacher was last seen
(a replica holding a teacher's connection refreshes them every beat):
- `rooms`                  sorted set: code → when the room expires (counts the open rooms)
- `rooms:client:{client}`  set: the codes of the rooms one client opened (counts its rooms;
                           a code whose room has gone, expired or ended, is pruned when the
                           client opens another, so a key that expired gives its place back)
- `rooms:address:{address}` set: the same for all the clients at one address together
- `room:{code}`            hash: key (the teacher key's SHA-256), client and address (its
                           `rooms:client:` and `rooms:address:` keys), rev, scene, scene_rev,
                           poll (its question and options as JSON), poll_id, options, revealed
- `room:{code}:votes`      hash: student → option index, for the open poll
- `room:{code}:students`   sorted set: connection id → when its replica last said it is there
Channel `descent:room:{code}:events` carries events as JSON `[rev, kind, args]` (messages.event_text).

If a replica loses its subscription (Redis restarted), it closes its rooms' sockets with 1012
(service restart): the pages connect again and are sent the room's state.
"""

import asyncio
import contextlib
import logging
import math
import time
from typing import Literal

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.clients import Client
from backend.rooms.codes import is_key, new_code, new_key
from backend.rooms.feed import RoomFeed
from backend.rooms.hub import (
    ENDED_BY,
    EXPIRED,
    FULL,
    RECONNECT,
    SERVER_GOING,
    WRONG_KEY,
    Closed,
    Member,
    Rooms,
    TooManyRooms,
    Unavailable,
    beat_seconds,
    no_room,
)
from backend.rooms.room import RoomInfo, poll_info
from backend.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "descent:"
ROOMS = PREFIX + "rooms"
CONTROL = PREFIX + "rooms:control"  # subscribed for the life of the hub, so its connection stays open
SUBSCRIBE_SECONDS = 10.0


# CREATE's refusals: whose rooms are all open
ROOMS_FULL: dict[object, Literal["client", "address", "server"]] = {-1: "server", -2: "client", -3: "address"}


def room_key(code: str) -> str:
    return f"{PREFIX}room:{code}"


def client_key(client: str) -> str:
    return f"{PREFIX}rooms:client:{client}"


def address_key(address: str) -> str:
    return f"{PREFIX}rooms:address:{address}"


def votes_key(code: str) -> str:
    return f"{PREFIX}room:{code}:votes"


def students_key(code: str) -> str:
    return f"{PREFIX}room:{code}:students"


def channel(code: str) -> str:
    return f"{PREFIX}room:{code}:events"


# KEYS[1] is the room in every script below; `publish` numbers an event and sends it.
HELPERS = """
local function publish(channel, kind, args)
  local rev = redis.call('HINCRBY', KEYS[1], 'rev', 1)
  redis.call('PUBLISH', channel, cjson.encode({rev, kind, args}))
  return rev
end
local function with_room(key)  -- a side key lives as long as its room
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
local function tally(votes, n)  -- votes per option (as room.Poll.counts)
  local counts = {}
  for i = 1, n do counts[i] = 0 end
  for _, v in ipairs(redis.call('HVALS', votes)) do
    local i = tonumber(v) + 1
    counts[i] = counts[i] + 1
  end
  return counts
end
"""

# KEYS: room, rooms, client's rooms, address's rooms · ARGV: code, key hash, now, ttl ms, most
# rooms, most rooms per client, room key prefix, most rooms per address
# → 1, 0 (code taken), -1 (the server's rooms), -2 (the client's), -3 (the address's)
CREATE = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
for i = 3, 4 do
  for _, code in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if redis.call('EXISTS', ARGV[7] .. code) == 0 then redis.call('SREM', KEYS[i], code) end
  end
end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[6]) then return -2 end
if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[8]) then return -3 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'key', ARGV[2], 'client', KEYS[3], 'address', KEYS[4], 'rev', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]) / 1000, ARGV[1])
for i = 3, 4 do
  redis.call('SADD', KEYS[i], ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])  -- outlives each of its rooms (BEAT renews it with them)
end
return 1
"""

# KEYS: room, rooms, votes, students · ARGV: code, now, ttl ms, teacher here (1/0), student ids...
# → 0 when the room is gone. A teacher's presence keeps the room; students' presence is noted.
BEAT = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[4] == '1' then
  for i = 1, 4 do if i ~= 2 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end end
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]) / 1000, ARGV[1])
  for _, opener in ipairs(redis.call('HMGET', KEYS[1], 'client', 'address')) do
    if opener then redis.call('PEXPIRE', opener, ARGV[3]) end  -- its client's and address's rooms outlive it
  end
end
for i = 5, #ARGV do redis.call('ZADD', KEYS[4], ARGV[2], ARGV[i]) end
with_room(KEYS[4])
return 1
"""

# KEYS: room, students · ARGV: connection id, now, stale before, most students, channel
# → the number of students, -1 (no room), -2 (full)
JOIN = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
with_room(KEYS[2])
local count = redis.call('ZCARD', KEYS[2])
publish(ARGV[5], 'students', {count})
return count
"""

# KEYS: room, students · ARGV: connection id, channel
LEAVE = HELPERS + """
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
publish(ARGV[2], 'students', {redis.call('ZCARD', KEYS[2])})
return 1
"""

# KEYS: room · ARGV: scene JSON, channel
SCENE = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local rev = publish(ARGV[2], 'scene', {ARGV[1]})
redis.call('HSET', KEYS[1], 'scene', ARGV[1], 'scene_rev', rev)
return rev
"""

# KEYS: room, votes · ARGV: poll JSON, number of options, channel
POLL = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
local rev = publish(ARGV[3], 'poll', {ARGV[1]})
redis.call('HSET', KEYS[1], 'poll', ARGV[1], 'poll_id', rev, 'options', ARGV[2], 'revealed', 0)
return rev
"""

# KEYS: room, votes · ARGV: student, option, poll id or '', channel → 0, or room.py's refusal code
VOTE = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local poll = redis.call('HMGET', KEYS[1], 'poll_id', 'options', 'revealed')
if not poll[1] then return -1 end
if ARGV[3] ~= '' and ARGV[3] ~= poll[1] then return -4 end
if poll[3] == '1' then return -2 end
local n = tonumber(poll[2])
if tonumber(ARGV[2]) >= n then return -3 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
with_room(KEYS[2])
publish(ARGV[4], 'tally', {tonumber(poll[1]), tally(KEYS[2], n)})
return 0
"""

# KEYS: room, votes · ARGV: channel → 0, or -1 (no poll)
REVEAL = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local poll = redis.call('HMGET', KEYS[1], 'poll_id', 'options')
if not poll[1] then return -1 end
redis.call('HSET', KEYS[1], 'revealed', 1)
publish(ARGV[1], 'reveal', {tonumber(poll[1]), tally(KEYS[2], tonumber(poll[2]))})
return 0
"""

# KEYS: room, rooms, votes, students · ARGV: code, why, channel → 0 when the room is gone.
# The last event (`ended`), then nothing of the room is left; its client's place comes back.
END = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, opener in ipairs(redis.call('HMGET', KEYS[1], 'client', 'address')) do
  if opener then redis.call('SREM', opener, ARGV[1]) end
end
publish(ARGV[3], 'ended', {ARGV[2]})
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: room, votes, students · ARGV: stale before
# → nil, or [rev, scene rev, scene, poll id, poll, revealed, counts JSON, students] ('' for none)
STATE = HELPERS + """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local r = redis.call('HMGET', KEYS[1], 'rev', 'scene_rev', 'scene', 'poll_id', 'poll', 'options', 'revealed')
local counts = '[]'
if r[4] then counts = cjson.encode(tally(KEYS[2], tonumber(r[6]))) end
return {r[1], r[2] or '', r[3] or '', r[4] or '', r[5] or '', r[7] or '', counts,
        redis.call('ZCOUNT', KEYS[3], ARGV[1], '+inf')}
"""


class RedisRooms(Rooms):
    """Rooms in Redis, shared by every API replica on the same Redis."""

    kind = "redis"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=15, socket_connect_timeout=5)
        self._listener = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        self._pubsub = self._listener.pubsub()
        self._scripts = {name: self._redis.register_script(script) for name, script in [
            ("create", CREATE), ("beat", BEAT), ("join", JOIN), ("leave", LEAVE), ("scene", SCENE),
            ("poll", POLL), ("vote", VOTE), ("reveal", REVEAL), ("end", END), ("state", STATE)]}
        self._feeds: dict[str, RoomFeed] = {}  # rooms this replica has connections to (or is opening)
        self._opening: dict[str, asyncio.Task[RoomFeed]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}  # channel → set once Redis confirms the subscription
        self._subscribing = asyncio.Lock()  # subscribe and unsubscribe in the order they were asked
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def connect(cls, settings: Settings) -> "RedisRooms":
        rooms = cls(settings)
        await rooms._pubsub.subscribe(CONTROL)
        rooms._tasks = [asyncio.create_task(rooms._listen(), name="descent-rooms-listen"),
                        asyncio.create_task(rooms._beat(), name="descent-rooms-beat")]
        return rooms

    @property
    def _ttl_ms(self) -> int:
        return math.ceil(self.settings.room_idle_seconds * 1000)

    def _stale_before(self, now: float) -> float:
        return now - 4 * beat_seconds(self.settings)

    async def _run(self, name: str, keys: list[str], args: list[str | int | float]) -> object:
        try:
            return await self._scripts[name](keys=keys, args=args)
        except RedisError as error:
            raise Unavailable(f"the rooms' Redis did not answer ({type(error).__name__})") from error

    async def create(self, client: Client) -> tuple[str, str]:
        key, hashed = new_key()
        while True:
            code = new_code()
            outcome = await self._run(
                "create", [room_key(code), ROOMS, client_key(client.key), address_key(client.address)],
                [code, hashed, time.time(), self._ttl_ms, self.settings.rooms_per_server,
                 self.settings.rooms_per_client, room_key(""), self.settings.rooms_per_address])
            if outcome in ROOMS_FULL:
                raise TooManyRooms(ROOMS_FULL[outcome])
            if outcome == 1:
                return code, key

    async def end(self, code: str, key: str | None) -> bool | None:
        stored = await self._stored_key(code)
        if stored is None:
            return None
        if key is not None and not is_key(key, stored):
            return False
        why = ENDED_BY[key is not None]
        ended = await self._run("end", self._beat_keys(code), [code, why, channel(code)])
        return True if ended else None

    async def _stored_key(self, code: str) -> str | None:
        """The hash of room `code`'s teacher key; None when there is no such room."""
        try:
            stored = await self._redis.hget(room_key(code), "key") if code else None
        except RedisError as error:
            raise Unavailable(f"the rooms' Redis did not answer ({type(error).__name__})") from error
        return stored.decode() if isinstance(stored, bytes) else stored

    async def _state(self, code: str) -> list[bytes] | None:
        state: list[bytes] | None = await self._run(  # type: ignore[assignment]
            "state", [room_key(code), votes_key(code), students_key(code)], [self._stale_before(time.time())])
        return state

    async def info(self, code: str) -> RoomInfo | None:
        state = await self._state(code) if code else None
        if state is None:
            return None
        _, _, scene, poll_id, poll, revealed, counts, students = state
        return RoomInfo(code, int(students), scene.decode() if scene else None,
                        poll_info(int(poll_id), poll.decode(), revealed == b"1", orjson.loads(counts))
                        if poll_id else None)

    async def enter(self, code: str, key: str | None, identity: str) -> Member:
        stored = await self._stored_key(code)
        if stored is None:
            raise no_room(code)
        if key is not None and not is_key(key, stored):
            raise Closed(WRONG_KEY, f"that is not room '{code}''s teacher key")
        feed = await self._feed(code)
        member = Member(code, key is not None, identity, feed)
        feed.members.add(member)
        try:
            if member.teacher:
                present = await self._run("beat", self._beat_keys(code), [code, time.time(), self._ttl_ms, 1])
                if not present:
                    raise no_room(code)
                return member
            now = time.time()
            joined = await self._run("join", [room_key(code), students_key(code)], [
                member.id, now, self._stale_before(now), self.settings.room_students, channel(code)])
        except BaseException:
            feed.members.discard(member)
            raise
        if joined == -1 or joined == -2:
            feed.members.discard(member)
            raise no_room(code) if joined == -1 else Closed(
                FULL, f"room '{code}' is full ({self.settings.room_students} students)")
        return member

    def _beat_keys(self, code: str) -> list[str]:
        return [room_key(code), ROOMS, votes_key(code), students_key(code)]

    async def leave(self, member: Member) -> None:
        member.feed.members.discard(member)
        code = member.code
        with contextlib.suppress(Unavailable):
            if member.teacher:  # the idle time starts now (unless another teacher connection stays)
                await self._run("beat", self._beat_keys(code), [code, time.time(), self._ttl_ms, 1])
            else:
                await self._run("leave", [room_key(code), students_key(code)], [member.id, channel(code)])

    async def _scene(self, code: str, scene: str) -> None:
        await self._run("scene", [room_key(code)], [scene, channel(code)])

    async def _poll(self, code: str, poll: str, options: int) -> None:
        await self._run("poll", [room_key(code), votes_key(code)], [poll, options, channel(code)])

    async def _vote(self, member: Member, option: int, poll_id: int | None) -> int:
        code = member.code
        refusal = await self._run("vote", [room_key(code), votes_key(code)], [
            member.identity, option, "" if poll_id is None else poll_id, channel(code)])
        return int(refusal)  # type: ignore[call-overload]

    async def _reveal(self, code: str) -> int:
        refusal = await self._run("reveal", [room_key(code), votes_key(code)], [channel(code)])
        return int(refusal)  # type: ignore[call-overload]

    # --- this replica's feeds ----------------------------------------------------------------

    async def _feed(self, code: str) -> RoomFeed:
        """The room's feed here, subscribed and loaded (opened once however many join at once)."""
        opening = self._opening.get(code)
        if opening is None:
            opening = self._opening[code] = asyncio.create_task(self._open(code))
        try:
            return await asyncio.shield(opening)
        except Exception as error:
            if opening.done() and self._opening.get(code) is opening:
                await self._drop(code)
            if isinstance(error, (TimeoutError, RedisError)):
                raise Unavailable(f"could not follow room '{code}' ({type(error).__name__})") from error
            raise

    async def _open(self, code: str) -> RoomFeed:
        feed = RoomFeed(code, loading=True)
        name = channel(code)
        async with self._subscribing:
            self._feeds[code] = feed
            confirmed = self._confirmed[name] = asyncio.Event()
            await self._pubsub.subscribe(name)
        await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_SECONDS)
        state = await self._state(code)  # read after subscribing: nothing newer can be missed
        if state is None:
            raise no_room(code)
        rev, scene_rev, scene, poll_id, poll, revealed, counts, students = state
        events: list[tuple[int, str, list[object]]] = [(int(rev), "students", [int(students)])]
        if scene_rev:
            events.append((int(scene_rev), "scene", [scene.decode()]))
        if poll_id:
            events.append((int(poll_id), "poll", [poll.decode()]))
            tally = orjson.loads(counts)
            if revealed == b"1" or any(tally):  # as the embedded hub: a tally once there is one
                events.append((int(rev), "reveal" if revealed == b"1" else "tally", [int(poll_id), tally]))
        feed.load(int(rev), events)
        return feed

    async def _drop(self, code: str) -> None:
        """Stop following room `code` here (no connection left, or the room is gone)."""
        self._opening.pop(code, None)
        feed = self._feeds.pop(code, None)
        if feed is not None:
            async with self._subscribing:
                with contextlib.suppress(RedisError):
                    await self._pubsub.unsubscribe(channel(code))

    async def _listen(self) -> None:
        """Apply what Redis publishes to this replica's feeds."""
        while True:
            try:
                async for message in self._pubsub.listen():
                    name = message["channel"].decode()
                    if message["type"] == "subscribe":
                        if (confirmed := self._confirmed.pop(name, None)) is not None:
                            confirmed.set()
                    elif message["type"] == "message":
                        feed = self._feeds.get(name.removeprefix(PREFIX + "room:").removesuffix(":events"))
                        if feed is not None:
                            rev, kind, args = orjson.loads(message["data"])
                            feed.apply(rev, kind, args)
                            if kind == "ended":
                                feed.close(EXPIRED, args[0])
            except (RedisError, OSError) as error:
                log.warning("lost the rooms' subscription (%s); closing this replica's room sockets", error)
                for code, feed in list(self._feeds.items()):
                    feed.close(RECONNECT)
                    await self._drop(code)
                await asyncio.sleep(1.0)
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(CONTROL)

    async def _beat(self) -> None:
        """Every beat: keep the rooms this replica's teachers are in, note its students, close
        the sockets of rooms that expired, stop following rooms nobody here is in."""
        quiet: dict[str, int] = {}  # room → beats without a connection here
        while True:
            await asyncio.sleep(beat_seconds(self.settings))
            for code, feed in list(self._feeds.items()):
                opening = self._opening.get(code)
                if opening is None or not opening.done():
                    continue
                quiet[code] = 0 if feed.members else quiet.get(code, 0) + 1
                if quiet[code] >= 2:
                    quiet.pop(code)
                    await self._drop(code)
                    continue
                teacher = any(m.teacher for m in feed.members)
                students = [m.id for m in feed.members if not m.teacher]
                try:
                    alive = await self._run("beat", self._beat_keys(code),
                                            [code, time.time(), self._ttl_ms, int(teacher), *students])
                except Unavailable as error:
                    log.warning("room %s: beat failed (%s)", code, error)
                    continue
                if not alive:
                    feed.close(EXPIRED)
                    quiet.pop(code, None)
                    await self._drop(code)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for feed in self._feeds.values():
            feed.close(SERVER_GOING)
        self._feeds.clear()
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        await self._listener.aclose()
        await self._redis.aclose()
