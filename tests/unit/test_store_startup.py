"""Processes that open one new SQLite store at the same instant (an API and its workers, two
replicas) all start: one of them creates the tables, the others find them."""

import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from backend.runs.store import RunStore

PROCESSES = 6


def open_store(path: Path, together: Barrier, said: "Queue[str]") -> None:
    together.wait()
    try:
        store = RunStore(path)
        said.put(store.identity)
        store.close()
    except Exception as error:  # reported to the test, which names it
        said.put(f"failed: {error!r}")


@pytest.mark.parametrize("attempt", range(3))
def test_processes_opening_a_new_store_together_all_start_on_one_identity(tmp_path: Path,
                                                                          attempt: int) -> None:
    """Each once raced on CREATE TABLE ("table runs already exists"): 10 of 10 tries failed."""
    context = multiprocessing.get_context("fork")
    together, said = context.Barrier(PROCESSES), context.Queue()
    path = tmp_path / "descent.sqlite3"
    processes = [context.Process(target=open_store, args=(path, together, said)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    answers = [said.get(timeout=10) for _ in processes]
    assert len(set(answers)) == 1 and not answers[0].startswith("failed"), answers
