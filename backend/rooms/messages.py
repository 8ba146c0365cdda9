"""What travels on `WS /api/rooms/{code}/live` (docs/api.md, "Rooms").

Clients send `scene`, `poll`, `vote` and `reveal`; `parse` checks one against the room limits
and raises `Refused`, whose words go back to the sender as an `error` message. The server's
messages are written here and nowhere else: every event a room publishes becomes one text,
made once and sent as it is to every connection it is for, with the room's revision as `seq`.
"""

from enum import Enum
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, ValidationError

from backend.settings import Settings


class Refused(Exception):
    """A message the room does not act on; `detail` says why (sent back as an `error`)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Message(BaseModel):
    """A client's message: unknown fields are refused (as in every request), so a typo is told."""

    model_config = ConfigDict(extra="forbid")


class SceneMessage(Message):
    """The teacher's page as it is now: opaque JSON, relayed to every student in order."""

    type: Literal["scene"]
    scene: dict[str, Any]


class PollMessage(Message):
    """The teacher opens a poll; the previous one, and its votes, are gone."""

    type: Literal["poll"]
    question: str
    options: list[str]


class VoteMessage(Message):
    """A student's choice: an index into the open poll's options (`poll`: which poll it is for)."""

    type: Literal["vote"]
    option: StrictInt = Field(ge=0)
    poll: StrictInt | None = None


class RevealMessage(Message):
    """The teacher shows the open poll's tally to the students (and closes its voting)."""

    type: Literal["reveal"]


Incoming = Annotated[SceneMessage | PollMessage | VoteMessage | RevealMessage, Field(discriminator="type")]
_incoming: TypeAdapter[Incoming] = TypeAdapter(Incoming)


def parse(raw: str | bytes, settings: Settings) -> Incoming:
    """One client message, checked against the room limits of `settings`; `Refused` if bad."""
    limit = settings.room_max_scene_bytes
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    if size > limit:
        raise Refused(f"a message holds at most {limit} bytes; this one has {size}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Refused(f"not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("type") not in ("scene", "poll", "vote", "reveal"):
        raise Refused("a message is a JSON object whose type is scene, poll, vote or reveal")
    try:
        message = _incoming.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:])
        raise Refused(f"{data['type']}: {where}: {first['msg']}" if where else first["msg"]) from None
    if isinstance(message, PollMessage):
        _check_poll(message, settings)
    return message


def _check_poll(poll: PollMessage, settings: Settings) -> None:
    most, longest = settings.room_max_poll_options, settings.room_max_text
    if not 2 <= len(poll.options) <= most:
        raise Refused(f"poll: options: between 2 and {most} options, not {len(poll.options)}")
    for name, text in [("question", poll.question), *(("options", o) for o in poll.options)]:
        if not text.strip() or len(text) > longest:
            raise Refused(f"poll: {name}: between 1 and {longest} characters, not {len(text)}")


class Audience(Enum):
    STUDENTS = "students"
    TEACHER = "teacher"
    EVERYONE = "everyone"

    def reaches(self, teacher: bool) -> bool:
        return self is Audience.EVERYONE or (self is Audience.TEACHER) == teacher


# event kind → (the message's type, who receives it). A room's events: the teacher's scene; a
# poll opened; a vote's new tally (the teacher's only, until revealed); the tally revealed;
# the number of students connected (for the teacher's page); the room ended by its teacher.
KINDS = {
    "scene": ("scene", Audience.STUDENTS),
    "poll": ("poll", Audience.EVERYONE),
    "tally": ("tally", Audience.TEACHER),
    "reveal": ("tally", Audience.EVERYONE),
    "students": ("students", Audience.TEACHER),
    "ended": ("ended", Audience.EVERYONE),
}


def event_text(rev: int, kind: str, args: list[Any]) -> str:
    """The message of a room's event number `rev`, from the arguments its publisher gave:
    scene: [scene JSON]; poll: [poll JSON {question, options}]; tally and reveal: [poll id,
    counts]; students: [count]; ended: [why]."""
    if kind == "scene":  # relayed as the teacher wrote it, not parsed again
        return '{"type":"scene","seq":' + str(rev) + ',"scene":' + args[0] + "}"
    if kind == "poll":
        fields = {"poll": rev, **orjson.loads(args[0])}
    elif kind in ("tally", "reveal"):
        fields = {"poll": args[0], "counts": args[1], "revealed": kind == "reveal"}
    elif kind == "ended":
        fields = {"detail": args[0]}
    else:
        fields = {"count": args[0]}
    return orjson.dumps({"type": KINDS[kind][0], "seq": rev, **fields}).decode()


def poll_json(poll: PollMessage) -> str:
    """What a poll event carries (and a room stores): its question and options."""
    return orjson.dumps({"question": poll.question, "options": poll.options}).decode()


def scene_json(scene: SceneMessage) -> str:
    return orjson.dumps(scene.scene).decode()


def room_text(code: str, teacher: bool) -> str:
    """The first message of every connection: which room, and as whom."""
    return orjson.dumps({"type": "room", "code": code, "role": "teacher" if teacher else "student"}).decode()


def error_text(detail: str) -> str:
    return orjson.dumps({"type": "error", "detail": detail}).decode()
