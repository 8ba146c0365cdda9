"""HTTP models of live classroom rooms (their websocket, `WS /api/rooms/{code}/live`, is in
docs/api.md), with the examples the OpenAPI document shows."""

from typing import Any

from pydantic import BaseModel, Field

from backend.rooms.codes import CODE_PATTERN


class CreatedRoom(BaseModel):
    """A new room: its code for the students, its key for the teacher (shown only here)."""

    code: str = Field(pattern=CODE_PATTERN, description="6 characters, no look-alikes (0/O, 1/I)")
    key: str = Field(description="the teacher's key (192 random bits): `?key=` on the live socket drives "
                     "the room; the server keeps only its hash")
    join_url: str = Field(description="the page that joins the room as a student (for the QR code)")


class PollState(BaseModel):
    """The room's poll; its counts once the teacher has revealed them."""

    id: int = Field(description="the poll's number (the `seq` of the message that opened it)")
    question: str
    options: list[str]
    revealed: bool
    counts: list[int] | None = Field(description="votes per option once revealed, else null")


class RoomState(BaseModel):
    """A room as it is now."""

    code: str
    students: int = Field(description="students connected now")
    scene: dict[str, Any] | None = Field(description="the teacher's last scene (opaque JSON), or null")
    poll: PollState | None


CREATED_ROOM = {"code": "K7Q2XM", "key": "Xq3nV0u8c0Jd6tOe0mJ4bW1h6c3J9u2Q",
                "join_url": "http://127.0.0.1:8000/?room=K7Q2XM"}
ROOM = {"code": "K7Q2XM", "students": 28, "scene": {"surface": "rosenbrock", "playhead": 120},
        "poll": {"id": 42, "question": "Which optimizer reaches the minimum first?",
                 "options": ["SGD", "Adam"], "revealed": False, "counts": None}}
