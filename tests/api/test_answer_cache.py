"""POST /api/trajectories answers identical requests once: kept answers and shared computations.

A room of students asks for the teacher's trajectories all at once, from one address when
they sit behind one NAT: identical requests get the first computation's bytes, and only
the computing request takes a computation slot.
"""

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_admission import limited
from tests.conftest import Server, strict_json

BODY = {"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.01}, "steps": 300,
        "starts": [[-1.5 + i / 100, 2.0] for i in range(20)]}
# A few seconds of work on this machine: long enough for identical requests to arrive while it runs.
SLOW_BODY = {"surface": "rastrigin", "optimizer": {"name": "sgd", "lr": 0.001, "momentum": 0.9},
             "steps": 10_000, "starts": [[1.0 + i / 1000, 1.0] for i in range(500)], "record": "final",
             "stop": {"grad_norm": 0}}
ROOM = 8  # students asking at once


def started(tmp_path: Path, **env: str) -> Iterator[Server]:
    tmp_path.mkdir(exist_ok=True)
    yield from limited(tmp_path, **env)


@pytest.fixture
def cached(tmp_path: Path) -> Iterator[Server]:
    yield from started(tmp_path, DESCENT_COMPUTATIONS_PER_CLIENT="1")


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=120) as http:
        return http.post("/api/trajectories", json=body)


def without_elapsed(answer: dict[str, Any]) -> dict[str, Any]:
    return answer | {"summary": {k: v for k, v in answer["summary"].items() if k != "elapsed_ms"}}


def test_a_repeated_request_gets_the_first_answers_bytes(cached: Server, tmp_path: Path) -> None:
    first, again = post(cached.url, BODY), post(cached.url, BODY)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.headers["x-answer-cache"], again.headers["x-answer-cache"]) == ("miss", "hit")
    assert again.content == first.content
    # the same body written differently (key order, a default spelled out) is the same request
    spelled = {"steps": 300, "seed": 0, **{k: v for k, v in BODY.items() if k != "steps"}}
    assert post(cached.url, spelled).content == first.content

    for fresh in started(tmp_path / "off", DESCENT_ANSWER_CACHE_BYTES="0"):
        uncached = [post(fresh.url, BODY) for _ in range(2)]
    assert [u.headers["x-answer-cache"] for u in uncached] == ["miss", "miss"]
    assert uncached[0].json()["summary"]["elapsed_ms"] != uncached[1].json()["summary"]["elapsed_ms"]
    assert without_elapsed(strict_json(uncached[0].content)) == without_elapsed(strict_json(first.content))


def test_a_changed_field_is_another_answer(cached: Server) -> None:
    first = post(cached.url, BODY)
    for changed in [BODY | {"optimizer": {"name": "adam", "lr": 0.02}}, BODY | {"steps": 301},
                    BODY | {"seed": 1, "gradient_noise": 0.1}]:
        answer = post(cached.url, changed)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-answer-cache"] == "miss"
        assert answer.content != first.content


def test_a_room_behind_one_address_is_answered_by_one_computation(cached: Server) -> None:
    """One computation slot per client: without the cache, all but one would be 429s."""
    with ThreadPoolExecutor(ROOM) as pool:
        answers = list(pool.map(lambda _: post(cached.url, SLOW_BODY), range(ROOM)))
    assert [a.status_code for a in answers] == [200] * ROOM, [a.text for a in answers]
    assert sorted(a.headers["x-answer-cache"] for a in answers) == ["hit"] * (ROOM - 1) + ["miss"]
    assert {a.content for a in answers} == {answers[0].content}  # one elapsed_ms: one computation
    assert answers[0].json()["status"] == "finished"


def test_errors_are_not_kept(cached: Server) -> None:
    wrong = BODY | {"steps": -1}
    assert [post(cached.url, wrong).status_code for _ in range(2)] == [422, 422]
    assert post(cached.url, BODY).headers["x-answer-cache"] == "miss"


def test_a_computation_whose_client_left_is_not_anyones_answer(cached: Server) -> None:
    """The first asker hangs up mid-computation (its computation stops): a request waiting on
    it computes afresh, and the answer kept is that complete one."""
    payload = json.dumps(SLOW_BODY).encode()
    leaver = socket.create_connection(("127.0.0.1", cached.port))
    leaver.sendall(f"POST /api/trajectories HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                   f"\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
    time.sleep(0.3)  # its computation has started
    with ThreadPoolExecutor(1) as pool:
        waiter = pool.submit(post, cached.url, SLOW_BODY)
        time.sleep(0.3)  # the waiter waits on the leaver's computation
        leaver.close()
        answer = waiter.result()
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "finished"
    assert answer.headers["x-answer-cache"] == "miss"
    again = post(cached.url, SLOW_BODY)
    assert (again.headers["x-answer-cache"], again.content) == ("hit", answer.content)


def test_the_least_recently_used_answers_go_beyond_the_byte_budget(tmp_path: Path) -> None:
    bodies = [BODY | {"optimizer": {"name": "adam", "lr": lr}} for lr in (0.01, 0.02, 0.03)]
    for sizing in started(tmp_path / "sizing"):
        sizes = [len(post(sizing.url, body).content) for body in bodies]
    # room for two answers (each costs its bytes and 200 more), not three
    budget = 2 * (max(sizes) + 200) + 10
    assert budget < 3 * (min(sizes) + 200)
    for small in started(tmp_path / "small", DESCENT_ANSWER_CACHE_BYTES=str(budget)):
        a, b, c = bodies
        sources = [post(small.url, body).headers["x-answer-cache"] for body in (a, b, a, c, a, b)]
    # c pushes out b, the least recently used; a, used again, stays
    assert sources == ["miss", "miss", "hit", "miss", "hit", "miss"]


def test_a_class_dragging_at_once_is_computed_together_and_each_answered_as_alone(tmp_path: Path) -> None:
    """Students' requests that differ only in their start, arriving while one of them computes,
    are computed as one batch (`X-Computed-Together`); each answer is, to the bit, the one its
    request gets alone, but for the shared `elapsed_ms`."""
    bodies = [{"surface": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.001}, "steps": 1000,
               "stop": {"grad_norm": 0}, "start": [-1.5 + i / 10, 2.0 - i / 10]} for i in range(ROOM)]

    def student(url: str, i: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=120, headers={"X-Client-Id": f"student-{i}"}) as http:
            return http.post("/api/trajectories", json=bodies[i])

    for server in started(tmp_path, DESCENT_ANSWER_CACHE_BYTES="0"):
        with ThreadPoolExecutor(ROOM) as pool:
            at_once = list(pool.map(student, [server.url] * ROOM, range(ROOM)))
        alone = [student(server.url, i) for i in range(ROOM)]
    assert [a.status_code for a in at_once + alone] == [200] * 2 * ROOM, [a.text for a in at_once]
    together = [int(a.headers["x-computed-together"]) for a in at_once]
    assert max(together) > 1 and sum(together) > ROOM, together
    assert [a.headers["x-computed-together"] for a in alone] == ["1"] * ROOM
    computations = {a.json()["summary"]["elapsed_ms"] for a in at_once}
    assert len(computations) < ROOM
    for shared, own in zip(at_once, alone, strict=True):
        assert without_elapsed(strict_json(shared.content)) == without_elapsed(strict_json(own.content))
