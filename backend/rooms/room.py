"""One room's state and its rules, kept in this process by the embedded hub (`hub.LocalRooms`).

The Redis hub keeps the same state in Redis and applies the same rules in its Lua scripts
(`redis.py`): a room's events are numbered by one revision counter; a vote counts once per
student per poll (a new vote replaces the old); a revealed poll takes no more votes.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson

from backend.clients import Client

# why a vote is refused, by the code the Redis script answers (the embedded hub uses the same)
NO_POLL, REVEALED, NO_SUCH_OPTION, OTHER_POLL = -1, -2, -3, -4
VOTE_REFUSALS = {
    NO_POLL: "there is no poll to vote in",
    REVEALED: "this poll's tally was revealed: its voting is closed",
    NO_SUCH_OPTION: "option is the index of one of the poll's options",
    OTHER_POLL: "that poll is over: vote in the open one",
}


@dataclass
class Poll:
    id: int  # the revision of the event that opened it
    text: str  # its question and options, as JSON
    options: int
    votes: dict[str, int] = field(default_factory=dict)  # student → option index
    revealed: bool = False

    def counts(self) -> list[int]:
        counts = [0] * self.options
        for option in self.votes.values():
            counts[option] += 1
        return counts


@dataclass
class Room:
    code: str
    key_hash: str
    client: Client  # who opened it: counted against `rooms_per_client` and `rooms_per_address`
    expires: float  # when the room goes, unless a teacher is connected then
    rev: int = 0  # the number of the room's last event
    scene: tuple[int, str] | None = None  # (revision, JSON)
    poll: Poll | None = None
    teachers: int = 0  # teacher connections
    students: set[str] = field(default_factory=set)  # student connection ids

    def next_rev(self) -> int:
        self.rev += 1
        return self.rev

    def vote(self, student: str, option: int, poll_id: int | None) -> int:
        """Count `student`'s vote; 0, or the code of the refusal."""
        poll = self.poll
        if poll is None:
            return NO_POLL
        if poll_id is not None and poll_id != poll.id:
            return OTHER_POLL
        if poll.revealed:
            return REVEALED
        if option >= poll.options:
            return NO_SUCH_OPTION
        poll.votes[student] = option
        return 0


@dataclass
class RoomInfo:
    """A room as `GET /api/rooms/{code}` tells it: a poll's counts only once revealed."""

    code: str
    students: int
    scene: str | None  # JSON
    poll: dict[str, Any] | None


def poll_info(poll_id: int, text: str, revealed: bool, counts: list[int]) -> dict[str, Any]:
    return {"id": poll_id, **orjson.loads(text), "revealed": revealed, "counts": counts if revealed else None}
