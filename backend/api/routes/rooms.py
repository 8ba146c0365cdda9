"""Live classroom rooms: open one, read it, its QR code, its websocket, end it (docs/api.md, "Rooms").

`WS /api/rooms/{code}/live?key=KEY` is the teacher, `WS /api/rooms/{code}/live` a student.
Each connection sends what its room's feed has for its role, in order, while it reads the
client's messages and acts on them; a bad message is answered with an `error`, never a crash.
The teacher's key travels in the query string, so uvicorn's log lines lose it (`RedactKeys`),
or, kept out of every URL, as a subprotocol offered beside `descent.room`: `key.KEY` (what the
page does; a proxy's access log shows the URL, not that header).
"""

import asyncio
import contextlib
import logging
import re
import time
from typing import Annotated, Any

import orjson
import qrcode
from fastapi import APIRouter, Header, HTTPException, Request, Response, WebSocket
from fastapi import Path as PathParam
from qrcode.image.svg import SvgPathImage

from backend.api.errors import NOT_FOUND, Message, not_found
from backend.api.json import StrictJSONRoute
from backend.api.ownership import Moderator, client_identity, client_of
from backend.api.routes import BUSY, answer
from backend.api.schemas.rooms import CREATED_ROOM, ROOM, CreatedRoom, PollState, RoomState
from backend.rooms.codes import normal_code
from backend.rooms.hub import CLOSE_REASONS, TRY_AGAIN, Closed, Member, Rooms, TooManyRooms, Unavailable
from backend.rooms.hub import NOT_FOUND as NO_ROOM
from backend.rooms.messages import Refused, error_text, parse, room_text
from backend.rooms.room import RoomInfo

router = APIRouter(prefix="/api", route_class=StrictJSONRoute, tags=["rooms"])
RETRY_SECONDS = 60  # a full server has room again once one expires
REASON_BYTES = 120  # a close reason is at most 123 bytes
_SIZE = re.compile(r'\s(width|height)="[^"]*"')  # the QR code's fixed size, in mm
ROOM_PROTOCOL = "descent.room"  # the subprotocol a socket that offers it is answered with
KEY_PROTOCOL = "key."  # an offered subprotocol `key.KEY` carries the teacher's key

ROOM_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "ending a room needs its teacher key (X-Room-Key) or the "
          "moderator's token"}}
RoomCode = Annotated[str, PathParam(description="the room's code, as `POST /api/rooms` answered it "
                                    "(any case)", examples=["K7Q2XM"])]


class RedactKeys(logging.Filter):
    """Hide `key=...` in log lines (uvicorn logs a websocket's path with its query string)."""

    _key = re.compile(r"(?i)\bkey=[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        record.msg = self._key.sub("key=[hidden]", str(record.msg))
        return True


REDACT_KEYS = RedactKeys()


def rooms_of(connection: Request | WebSocket) -> Rooms:
    rooms: Rooms = connection.app.state.rooms
    return rooms


def join_url(request: Request, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/?room={code}"


@router.post("/rooms", status_code=201, response_model=CreatedRoom, operation_id="rooms-create",
             summary="Open a room", responses={201: answer("the room's code and teacher key", CREATED_ROOM),
                                               **BUSY})
async def create_room(request: Request) -> CreatedRoom:
    """Open a live room. The answer holds the teacher's `key`, shown only here: the websocket
    opened with `?key=` drives the room, and `DELETE` with it ends the room. 429 (Retry-After)
    when this client has `rooms_per_client` rooms open, its address (all its clients together)
    `rooms_per_address`, or the server its `rooms_per_server`; a room goes after
    `room_idle_seconds` without its teacher."""
    settings = request.app.state.settings
    try:
        code, key = await rooms_of(request).create(client_of(request))
    except Unavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "1"}) from None
    except TooManyRooms as full:
        end_one = ("end one (DELETE /api/rooms/{code} with its X-Room-Key) or wait for one to expire "
                   f"({settings.room_idle_seconds:g} s after its teacher leaves)")
        detail = {
            "client": f"this client already has {settings.rooms_per_client} rooms open; {end_one}",
            "address": f"this address already has {settings.rooms_per_address} rooms open, all its "
                       f"clients together; {end_one}",
            "server": f"the server has {settings.rooms_per_server} rooms open; try again when one expires",
        }[full.whose]
        raise HTTPException(429, detail, headers={"Retry-After": str(RETRY_SECONDS)}) from None
    return CreatedRoom(code=code, key=key, join_url=join_url(request, code))


@router.delete("/rooms/{code}", status_code=204, operation_id="rooms-end", summary="End a room",
               responses={204: {"description": "ended: its sockets were sent `ended` and closed (4410)"},
                          **NOT_FOUND, **ROOM_FORBIDDEN})
async def end_room(
    code: RoomCode, request: Request, moderator: Moderator,
    x_room_key: Annotated[str | None, Header(description="the room's teacher key, as POST /api/rooms "
                                             "gave it")] = None,
) -> Response:
    """End the room now: every socket (students' and teacher's) gets an `ended` message and
    closes with 4410, the code answers 404 from then on, and the room no longer counts
    against its client's `rooms_per_client`. Needs the teacher key (`X-Room-Key`) or the
    moderator's token: 403 otherwise."""
    try:
        ended = await rooms_of(request).end(normal_code(code) or "", None if moderator else x_room_key or "")
    except Unavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "1"}) from None
    if ended is None:
        raise not_found(f"no room '{code}' (it may have expired)")
    if not ended:
        raise HTTPException(403, f"ending room '{code}' needs its teacher key in the X-Room-Key header "
                            "(POST /api/rooms answered it once) or the moderator's token"
                            if x_room_key is None else f"X-Room-Key is not room '{code}''s teacher key")
    return Response(status_code=204)


async def _info(request: Request, code: str) -> RoomInfo:
    try:
        info = await rooms_of(request).info(normal_code(code) or "")
    except Unavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "1"}) from None
    if info is None:
        raise not_found(f"no room '{code}' (it may have expired)")
    return info


@router.get("/rooms/{code}", response_model=RoomState, operation_id="rooms-get", summary="Read a room",
            responses={200: answer("the room now", ROOM), **NOT_FOUND})
async def get_room(code: RoomCode, request: Request) -> RoomState:
    """The room's students, the teacher's last scene and the poll (its counts once revealed)."""
    info = await _info(request, code)
    return RoomState(code=info.code, students=info.students,
                     scene=orjson.loads(info.scene) if info.scene is not None else None,
                     poll=PollState(**info.poll) if info.poll is not None else None)


@router.get("/rooms/{code}/qr.svg", include_in_schema=False)
async def room_qr(code: str, request: Request) -> Response:
    """A QR code of the room's join link, as SVG (made here: the page needs no network). A
    picture for the page, not data: left out of OpenAPI (as generated clients cannot read SVG),
    described in docs/api.md."""
    info = await _info(request, code)
    image = qrcode.make(join_url(request, info.code), image_factory=SvgPathImage, border=2)
    svg = _SIZE.sub("", image.to_string(encoding="unicode"), count=2)  # its viewBox scales it to any size
    return Response(svg, media_type="image/svg+xml")


@router.websocket("/rooms/{code}/live")
async def live(websocket: WebSocket, code: str, key: str | None = None) -> None:
    rooms = rooms_of(websocket)
    offered: list[str] = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=ROOM_PROTOCOL if ROOM_PROTOCOL in offered else None)
    if key is None:
        key = next((p.removeprefix(KEY_PROTOCOL) for p in offered if p.startswith(KEY_PROTOCOL)), None)
    identity = client_identity(websocket) or ""  # ClientCookie gives every socket one
    try:
        member = await rooms.enter(normal_code(code) or "", key, identity)
    except (Closed, Unavailable) as refused:
        close_code = refused.code if isinstance(refused, Closed) else TRY_AGAIN
        detail = f"no room '{code[:12]}'" if close_code == NO_ROOM else str(refused)
        await websocket.close(close_code, detail.encode()[:REASON_BYTES].decode(errors="ignore"))
        return
    lock = asyncio.Lock()

    async def send(text: str) -> None:
        async with lock:
            await websocket.send_text(text)

    following = asyncio.create_task(_follow(member, send))
    receiving = asyncio.create_task(_receive(websocket, rooms, member, send))
    try:
        done, _ = await asyncio.wait({following, receiving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (following, receiving):
            task.cancel()
        await asyncio.gather(following, receiving, return_exceptions=True)
        await rooms.leave(member)
    if following in done and not following.cancelled() and following.exception() is None:
        with contextlib.suppress(RuntimeError):  # the client had gone as well
            close_code = following.result()
            await websocket.close(close_code, member.feed.reason or CLOSE_REASONS[close_code])


async def _follow(member: Member, send: Any) -> int:
    """Send the room's state, then its events for this role, until the room is gone (its close
    code; the events before it are sent, such as `ended`)."""
    feed = member.feed
    cursor = feed.rev
    for text in [room_text(member.code, member.teacher), *feed.state(member.teacher)]:
        await send(text)
    while True:
        await feed.wait(cursor, member.teacher)
        cursor, texts = feed.since(cursor, member.teacher)
        for text in texts:
            await send(text)
        if feed.closed is not None:
            return feed.closed


async def _receive(websocket: WebSocket, rooms: Rooms, member: Member, send: Any) -> None:
    """Act on the client's messages until it leaves; a bad one is answered with an `error`, and
    so is a student's beyond `room_messages_per_second` (a token bucket holding a second's worth;
    the teacher, who holds the key, is not counted)."""
    settings = websocket.app.state.settings
    rate = settings.room_messages_per_second
    tokens, last = rate, time.monotonic()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        now = time.monotonic()
        tokens, last = min(rate, tokens + (now - last) * rate), now
        if tokens < 1 and not member.teacher:
            await send(error_text(f"too many messages: at most {rate:g} a second; this one was dropped"))
            continue
        tokens -= 1
        raw = message.get("text")
        try:
            await rooms.act(member, parse(raw if raw is not None else message.get("bytes") or b"", settings))
        except Refused as refused:
            await send(error_text(refused.detail))
        except Unavailable as error:
            await send(error_text(f"{error}; send it again"))
