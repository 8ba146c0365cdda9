"""Invalid requests: 422 naming the field (never 500), 413 for a body over the limit.

Each case is a raw request body (text, so that NaN and broken JSON can be sent as a
client would send them) and the words the error must contain.
"""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server, strict_json

VALID = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 10}


def body(**changes: Any) -> str:
    return json.dumps(VALID | changes)


def detail_text(response: httpx.Response) -> str:
    """The `detail` of an error response, locations and messages together, as text."""
    detail = strict_json(response.text)["detail"]
    if isinstance(detail, str):
        return detail
    return " ".join(f"{'.'.join(map(str, d.get('loc', [])))} {d.get('msg', '')}" for d in detail)


# (id, raw body, words the detail must name)
RUN_ERRORS: list[tuple[str, str, list[str]]] = [
    ("unknown-surface", body(surface="nowhere"), ["surface", "nowhere"]),
    ("unknown-custom-token", body(surface={"expression": "x + foo(y)",
                                            "domain": {"x": [-1, 1], "y": [-1, 1]}}),
     ["expression", "foo"]),
    ("custom-domain-reversed", body(surface={"expression": "x*y",
                                              "domain": {"x": [1, -1], "y": [-1, 1]}}),
     ["domain"]),
    ("unknown-optimizer", body(optimizer={"name": "adamm", "lr": 0.1}), ["optimizer", "adamm"]),
    ("optimizer-without-name", body(optimizer={"lr": 0.1}), ["optimizer", "name"]),
    ("unknown-schedule", body(schedule={"name": "sometimes"}), ["schedule", "sometimes"]),
    ("unknown-hyperparameter", body(optimizer={"name": "sgd", "betas": [0.9, 0.9]}),
     ["optimizer", "betas"]),
    ("unknown-schedule-keyword", body(schedule={"name": "step", "T_max": 5}), ["schedule", "T_max"]),
    ("unknown-top-level-field", body(stpes=10), ["stpes"]),
    ("lr-zero", body(optimizer={"name": "sgd", "lr": 0}), ["lr", "greater than 0"]),
    ("lr-negative", body(optimizer={"name": "adam", "lr": -0.01}), ["lr", "greater than 0"]),
    ("lr-nan", body().replace('"lr": 0.1', '"lr": NaN'), ["lr"]),
    ("lr-infinity", body().replace('"lr": 0.1', '"lr": Infinity'), ["lr"]),
    ("start-infinity", body().replace('"steps": 10', '"steps": 10, "start": [-Infinity, 0]'),
     ["start"]),
    ("gradient-noise-nan", body().replace('"steps": 10', '"steps": 10, "gradient_noise": NaN'),
     ["gradient_noise"]),
    ("betas-out-of-range", body(optimizer={"name": "adam", "betas": [0.9, 1.0]}), ["betas", "1"]),
    ("momentum-above-one", body(optimizer={"name": "sgd", "lr": 0.1, "momentum": 1.5}),
     ["momentum"]),
    ("steps-above-limit", body(steps=10_001), ["steps", "10000"]),
    ("steps-zero", body(steps=0), ["steps"]),
    ("start-outside-box", body(start=[1000.0, 0.0]), ["start", "outside"]),
    ("one-of-starts-outside-box", body(starts=[[0.0, 0.0], [0.0, -500.0]]), ["starts[1]"]),
    ("start-and-starts", body(start=[1.0, 1.0], starts=[[1.0, 1.0]]), ["start", "starts"]),
    ("starts-empty", body(starts=[]), ["starts"]),
    ("start-of-three-numbers", body(start=[1.0, 1.0, 1.0]), ["start"]),
    ("nesterov-without-momentum", body(optimizer={"name": "sgd", "lr": 0.1, "nesterov": True}),
     ["optimizer", "Nesterov"]),
    ("malformed-json", '{"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1', ["JSON"]),
    ("wrong-types", body(steps="many", optimizer={"name": "sgd", "lr": "fast"}), ["steps", "lr"]),
    ("steps-float", body(steps=10.5), ["steps"]),
    ("bool-as-number", body(optimizer={"name": "sgd", "lr": 0.1, "nesterov": "perhaps"}),
     ["nesterov"]),
    ("body-is-a-list", "[1, 2, 3]", ["body"]),
    ("empty-body", "", ["body"]),
    ("empty-object", "{}", ["surface"]),
    ("batch-size-on-a-formula-surface", body(batch_size=8), ["batch_size", "data-driven"]),
    ("batch-size-above-samples", body(surface="linear_regression", batch_size=10_000,
                                      start=[0.0, 0.0]), ["batch_size"]),
    ("unknown-kind", body(kind="telepathy"), ["telepathy"]),
    ("unknown-record-mode", body(record="some"), ["record"]),
    ("too-much-work", body(starts=[[0.0, 0.0]] * 2001, steps=10_000, record="final"), ["starts × steps"]),
    ("too-many-lbfgs-starts", body(optimizer={"name": "lbfgs"}, starts=[[0.0, 0.0]] * 65),
     ["LBFGS", "64"]),
    ("schedule-bound", body(schedule={"name": "exponential", "gamma": 1.5}), ["gamma"]),
]


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30,
                      headers={"content-type": "application/json"}) as client:
        yield client


@pytest.mark.parametrize(("raw", "words"), [c[1:] for c in RUN_ERRORS], ids=[c[0] for c in RUN_ERRORS])
@pytest.mark.parametrize("path", ["/api/runs", "/api/trajectories"])
def test_invalid_run_is_422_naming_the_field(http: httpx.Client, path: str, raw: str,
                                             words: list[str]) -> None:
    response = http.post(path, content=raw)
    assert response.status_code == 422, f"{response.status_code}: {response.text[:500]}"
    text = detail_text(response)
    for word in words:
        assert word in text, f"{word!r} not in {text[:500]!r}"


def test_a_bad_formula_is_one_error_that_names_the_token(http: httpx.Client) -> None:
    """A formula is one branch of `surface`: its error is not repeated for the id branch."""
    raw = body(surface={"expression": "x +* y", "domain": {"x": [-1, 1], "y": [-1, 1]}})
    detail = strict_json(http.post("/api/runs", content=raw).text)["detail"]
    assert len(detail) == 1 and detail[0]["loc"][-1] == "expression" and "'*'" in detail[0]["msg"]


def test_an_invalid_run_is_not_queued(http: httpx.Client) -> None:
    before = strict_json(http.get("/api/runs", params={"limit": 500}).text)["runs"]
    for _, raw, _ in RUN_ERRORS:
        if "NaN" not in raw and "Infinity" not in raw:  # those have a test of their own
            assert http.post("/api/runs", content=raw).status_code == 422
    after = strict_json(http.get("/api/runs", params={"limit": 500}).text)["runs"]
    assert [r["id"] for r in after] == [r["id"] for r in before]


ANALYSIS_ERRORS: list[tuple[str, str, str, list[str]]] = [
    ("curvature-unknown-surface", "/api/curvature", json.dumps({"surface": "nope", "point": [0, 0]}),
     ["surface", "nope"]),
    ("curvature-point-nan", "/api/curvature", '{"surface": "rosenbrock", "point": [NaN, 1]}',
     ["point"]),
    ("curvature-point-missing", "/api/curvature", json.dumps({"surface": "rosenbrock"}), ["point"]),
    ("sweep-unknown-param", "/api/sweeps", json.dumps({
        "run": VALID, "x": {"param": "betas", "values": [0.1]}}), ["x.param", "betas"]),
    ("sweep-value-out-of-range", "/api/sweeps", json.dumps({
        "run": VALID, "x": {"param": "lr", "values": [0.1, -1.0]}}), ["lr", "-1.0"]),
    ("sweep-with-starts", "/api/sweeps", json.dumps({
        "run": VALID | {"starts": [[0, 0]]}, "x": {"param": "lr", "values": [0.1]}}), ["starts"]),
    ("sweep-of-lbfgs-over-its-cells", "/api/sweeps", json.dumps({
        "run": VALID | {"optimizer": {"name": "lbfgs"}, "steps": 10},
        "x": {"param": "lr", "values": [0.1] * 9}, "y": {"param": "tolerance_grad", "values": [1e-7] * 8}}),
     ["LBFGS", "64 cells"]),
    ("sweep-momentum-under-cycle-momentum", "/api/sweeps", json.dumps({
        "run": VALID | {"schedule": {"name": "onecycle"}}, "x": {"param": "momentum", "values": [0.5]}}),
     ["momentum", "cycle_momentum"]),
    ("sweep-cell-torch-rejects", "/api/sweeps", json.dumps({
        "run": VALID | {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}},
        "x": {"param": "momentum", "values": [0.9, 0.0]}}), ["momentum = 0.0", "Nesterov"]),
    ("sweep-too-large", "/api/sweeps", json.dumps({
        "run": VALID | {"steps": 10_000}, "x": {"param": "lr", "values": [0.1] * 64}}),
     ["cells × steps"]),
]


@pytest.mark.parametrize(("path", "raw", "words"), [c[1:] for c in ANALYSIS_ERRORS],
                         ids=[c[0] for c in ANALYSIS_ERRORS])
def test_invalid_analysis_request_is_422(http: httpx.Client, path: str, raw: str,
                                         words: list[str]) -> None:
    response = http.post(path, content=raw)
    assert response.status_code == 422, f"{response.status_code}: {response.text[:500]}"
    text = detail_text(response)
    for word in words:
        assert word in text, f"{word!r} not in {text[:500]!r}"


def test_instant_trajectory_refuses_work_meant_for_the_background(http: httpx.Client) -> None:
    response = http.post("/api/trajectories", content=body(
        starts=[[0.0, 0.0]] * 1000, steps=10_000, record="final"))
    assert response.status_code == 422
    assert "POST /api/runs" in detail_text(response)


OVERSIZED = 4_000_001  # one byte over the default limit


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    yield b'{"surface": "'
    sent = 13
    while sent < total:
        piece = min(size, total - sent)
        yield b"x" * piece
        sent += piece
    yield b'"}'


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_body_over_4_mb_is_413(http: httpx.Client, framing: str) -> None:
    if framing == "content-length":
        content: Any = b"".join(_chunks(OVERSIZED))
    else:  # a streamed body: no Content-Length header to check up front
        content = _chunks(OVERSIZED)
    response = http.post("/api/runs", content=content)
    assert response.status_code == 413, f"{response.status_code}: {response.text[:300]}"
    assert "4000000" in response.text


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_just_under_the_limit_is_accepted(http: httpx.Client, framing: str) -> None:
    raw = body().encode()
    raw = raw[:-1] + b" " * (3_999_000 - len(raw)) + b"}"  # JSON allows any whitespace
    content: Any = raw if framing == "content-length" else iter([raw[:2_000_000], raw[2_000_000:]])
    response = http.post("/api/runs", content=content)
    assert response.status_code == 201, f"{response.status_code}: {response.text[:300]}"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/api/runs", "GET, POST"), ("PATCH", "/api/surfaces", "GET"), ("POST", "/api/health", "GET"),
    ("DELETE", "/api/trajectories", "POST"),
])
def test_a_method_an_api_path_lacks_is_405_naming_the_allowed_ones(http: httpx.Client, method: str,
                                                                  path: str, allow: str) -> None:
    """The page's static files once answered these (a GET on an unknown path got the page's 404,
    other methods `Allow: GET, HEAD`)."""
    response = http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert allow in detail_text(response)


@pytest.mark.parametrize("path", ["/api/nowhere", "/api", "/api/runs/abc/nowhere"])
def test_an_unknown_api_path_is_404_in_json_and_the_page_is_still_served(http: httpx.Client,
                                                                         path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert detail_text(response) == "Not Found"
    assert http.get("/").headers["content-type"].startswith("text/html")
    assert http.get("/js/shared/i18n.js").status_code == 200
