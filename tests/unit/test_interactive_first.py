"""Runs give way to computations in flight (`backend.runs.priority`): a run's step check waits
while one computes, for at most a slice, and a stop ends the wait at once."""

import threading
import time
from collections.abc import Callable

import pytest

from backend.runs import priority
from backend.runs.priority import InteractiveFirst

WAIT = 30.0  # a hang guard, never reached when the code is right


def checking(check: Callable[[], bool]) -> tuple[threading.Thread, list[bool]]:
    """A run's step check, made in a thread of its own; its answer lands in the list."""
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(check()))
    thread.start()
    return thread, answers


def test_with_nothing_computing_a_step_check_answers_at_once() -> None:
    stop = threading.Event()
    check = InteractiveFirst().between_steps(stop)
    assert check() is False
    stop.set()
    assert check() is True


def test_a_step_waits_until_the_computation_in_flight_ends() -> None:
    interactive = InteractiveFirst()
    check = interactive.between_steps(threading.Event())
    with interactive.computing():
        thread, answers = checking(check)
        thread.join(0.2)
        assert thread.is_alive() and not answers  # the run is paused
    thread.join(WAIT)
    assert answers == [False]  # and steps on, not cancelled


def test_a_step_waits_for_every_computation_in_flight() -> None:
    interactive = InteractiveFirst()
    check = interactive.between_steps(threading.Event())
    with interactive.computing():
        with interactive.computing():
            thread, answers = checking(check)
        thread.join(0.2)
        assert thread.is_alive()  # one of two ended: still paused
    thread.join(WAIT)
    assert answers == [False]


def test_a_stop_ends_the_pause_at_once() -> None:
    interactive = InteractiveFirst()
    stop = threading.Event()
    check = interactive.between_steps(stop)
    with interactive.computing():
        thread, answers = checking(check)
        thread.join(0.1)
        assert thread.is_alive()
        stop.set()
        interactive.wake()
        thread.join(WAIT)
        assert answers == [True]  # while the computation still runs


def test_a_stream_of_computations_slows_a_run_but_never_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a slice of waiting, the run steps for a slice, then pauses again."""
    monkeypatch.setattr(priority, "SLICE_S", 0.2)
    interactive = InteractiveFirst()
    check = interactive.between_steps(threading.Event())
    with interactive.computing():
        began = time.monotonic()
        check()  # the pause runs out
        paused = time.monotonic() - began
        stepping, began = 0, time.monotonic()
        while True:  # steps without waiting, until a check pauses again
            step_began = time.monotonic()
            assert check() is False
            if time.monotonic() - step_began >= 0.1:
                break
            stepping += 1
        stepped = step_began - began
    assert 0.2 <= paused < WAIT
    assert 0.15 <= stepped < WAIT and stepping > 10  # about a slice
