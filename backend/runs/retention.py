"""Which ended runs the store forgets: those past the maximum age, then the oldest until the
store fits its budget. Pinned runs (a lesson or a share link depends on them) and runs still
going are never candidates."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """An ended, unpinned run: its id, when it ended (ISO-8601 UTC, sorts as text), its bytes."""

    run_id: str
    ended_at: str
    size: int


def evictions(candidates: list[Candidate], total: int, budget: int, cutoff: str) -> list[str]:
    """Ids to delete, oldest first: every run that ended before `cutoff`, then more of the
    oldest while the store's `total` bytes exceed `budget`."""
    doomed: list[str] = []
    for run in sorted(candidates, key=lambda c: c.ended_at):
        if run.ended_at < cutoff or total > budget:
            doomed.append(run.run_id)
            total -= run.size
    return doomed
