"""What the store forgets: whatever was last wanted before the maximum age, then the oldest
until it fits its budget. For runs, "wanted" is when an ended, unpinned run ended (pinned runs,
which a lesson or a share link depends on, and runs still going are never candidates); for
CSV datasets, when one was last stored or read."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """Something the store may forget: its id, when it was last wanted (ISO-8601 UTC, sorts as
    text), its bytes."""

    key: str
    since: str
    size: int


def evictions(candidates: list[Candidate], total: int, budget: int, cutoff: str) -> list[str]:
    """Ids to delete, oldest first: every candidate wanted last before `cutoff`, then more of
    the oldest while the `total` bytes exceed `budget`."""
    doomed: list[str] = []
    for candidate in sorted(candidates, key=lambda c: c.since):
        if candidate.since < cutoff or total > budget:
            doomed.append(candidate.key)
            total -= candidate.size
    return doomed
