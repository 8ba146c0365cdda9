"""A room's events in one process: a short log that every local connection reads at its own pace.

The hub (or, across replicas, the Redis subscriber) applies each event once: its message text
is made once and kept; a connection sends whatever came after its cursor, so 200 students
cost 200 sends of one text and a slow one never holds up the others. A connection that falls
more than `HISTORY` events behind is sent the room's state instead (the latest scene, the open
poll), which is all a follower needs. Events apply in revision order; one already applied (or
older) is dropped, so a replica that read the room's state and then hears an older event from
Redis does not go back.
"""

import asyncio
from collections import deque
from typing import Any

from backend.rooms.messages import KINDS, Audience, event_text

HISTORY = 256  # events kept for connections that are behind
# which of the latest events a newcomer is sent, by role: (teacher's slots, students' slots)
TEACHER_SLOTS = ("poll", "tally", "students")
STUDENT_SLOTS = ("scene", "poll", "reveal")

Event = tuple[int, str, list[Any]]  # (revision, kind, arguments), as messages.event_text takes them


class RoomFeed:
    """The events of one room seen by this process, the latest of each slot, and a wake-up."""

    def __init__(self, code: str, rev: int = 0, loading: bool = False) -> None:
        self.code = code
        self.rev = rev  # the newest event applied
        self.closed: int | None = None  # the websocket close code, once the room is gone
        self.reason: str | None = None  # its close reason, when not the code's usual one
        self.members: set[Any] = set()  # this process's connections to the room
        self._events: deque[tuple[int, Audience, str]] = deque(maxlen=HISTORY)
        self._latest: dict[str, tuple[int, str]] = {}  # slot → (revision, text)
        # by role (teacher?): the newest event for it, and what wakes its readers (a vote's tally
        # or a student joining wakes only the teacher's sockets, a scene only the students')
        self._newest = {True: rev, False: rev}
        self._changed = {True: asyncio.Event(), False: asyncio.Event()}
        self._early: list[Event] | None = [] if loading else None  # heard while loading the state

    def apply(self, rev: int, kind: str, args: list[Any]) -> None:
        """Event number `rev` of the room (dropped if this feed is already past it)."""
        if self._early is not None:
            self._early.append((rev, kind, args))
            return
        if rev <= self.rev:
            return
        text = event_text(rev, kind, args)
        audience = KINDS[kind][1]
        self.rev = rev
        self._events.append((rev, audience, text))
        self._remember(rev, kind, text)
        self._wake(*(teacher for teacher in (True, False) if audience.reaches(teacher)))

    def load(self, rev: int, state: list[Event]) -> None:
        """The room as read at revision `rev` (its latest events), then what was heard meanwhile."""
        for event_rev, kind, args in state:
            self._remember(event_rev, kind, event_text(event_rev, kind, args))
        self.rev = rev
        self._newest = {True: rev, False: rev}
        early, self._early = self._early or [], None
        for event in early:
            self.apply(*event)

    def _remember(self, rev: int, kind: str, text: str) -> None:
        if kind == "poll":  # a new poll: the old one's tally is gone
            self._latest.pop("tally", None)
            self._latest.pop("reveal", None)
        self._latest[kind] = (rev, text)
        if kind == "reveal":
            self._latest["tally"] = (rev, text)

    def state(self, teacher: bool) -> list[str]:
        """What a newcomer is sent first, oldest first."""
        slots = TEACHER_SLOTS if teacher else STUDENT_SLOTS
        return [text for _, text in sorted(self._latest[s] for s in slots if s in self._latest)]

    def since(self, cursor: int, teacher: bool) -> tuple[int, list[str]]:
        """(the new cursor, the texts for this role after revision `cursor`)."""
        if self.rev <= cursor:
            return cursor, []
        if not self._events or self._events[0][0] > cursor + 1:  # further behind than kept
            return self.rev, self.state(teacher)
        texts = []
        for rev, audience, text in reversed(self._events):
            if rev <= cursor:
                break
            if audience.reaches(teacher):
                texts.append(text)
        texts.reverse()
        return self.rev, texts

    async def wait(self, cursor: int, teacher: bool) -> None:
        """Return once there is an event for this role after `cursor`, or the room is gone."""
        while self.closed is None and self._newest[teacher] <= cursor:
            await self._changed[teacher].wait()

    def close(self, code: int, reason: str | None = None) -> None:
        """The room is gone: readers send what they have not sent yet, then their connections
        close with `code` (and `reason`). Only the first close counts."""
        if self.closed is not None:
            return
        self.closed, self.reason = code, reason
        self._wake(True, False)

    def _wake(self, *roles: bool) -> None:
        for teacher in roles:
            self._newest[teacher] = self.rev
            self._changed[teacher].set()
            self._changed[teacher] = asyncio.Event()
