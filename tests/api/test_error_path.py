"""The error path never fails: any request body gets a 4xx with valid JSON, whatever it holds
(lone UTF-16 surrogates, integers beyond 64 bits, deep nesting, megabytes of items)."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from backend.main import create_app
from backend.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(data_dir=tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def _post_raw(client: httpx.AsyncClient, path: str, body: str) -> httpx.Response:
    """Send `body` as written (json.dumps escapes a lone surrogate as \\udXXX, as a client would)."""
    return await client.post(path, content=body.encode(), headers={"content-type": "application/json"})


# the reported cases (issue #14), each once a 500
CASES = [
    ("/api/datasets/preview",
     '{"split": {}, "dataset": {"name": "", "noise": {"\\ud83b\\ude0a": 1}}, "seed": 1}'),
    ("/api/runs", '{"kind": "surface", "surface": "\\ud83b", "optimizer": {"name": "sgd"}}'),
    ("/api/trajectories", '{"surface": "quadratic", "optimizer": {"name": "sgd"}, "steps": 1'
     + "0" * 40 + "}"),
    ("/api/sweeps", '{"run": {"surface": "quadratic", "optimizer": {"name": "sgd"}}, '
     '"x": {"param": "lr", "values": [1e400, ' + "9" * 30 + "]}}"),
]


@pytest.mark.parametrize(("path", "body"), CASES, ids=[c[0] for c in CASES])
async def test_reported_bodies_get_a_readable_422(client: httpx.AsyncClient, path: str, body: str) -> None:
    response = await _post_raw(client, path, body)
    assert response.status_code == 422
    detail = json.loads(response.content)["detail"]  # strict JSON: no NaN, no lone surrogate
    assert detail and all("msg" in error for error in detail)
    response.content.decode("utf-8")  # valid UTF-8 on the wire


async def test_survey_again_with_a_huge_integer_is_a_4xx(client: httpx.AsyncClient) -> None:
    body = '{"span": -6.1e16, "directions": "pca", "resolution": 102265242371922442846208}'
    response = await _post_raw(client, "/api/runs/0123456789abcdef/landscape", body)
    assert response.status_code == 404  # no such run: that is said before the body is read
    assert "no run" in json.loads(response.content)["detail"]


async def test_deep_nesting_is_a_4xx(client: httpx.AsyncClient) -> None:
    for depth in (50, 5000, 200_000):
        response = await _post_raw(client, "/api/runs", "[" * depth + "]" * depth)
        assert 400 <= response.status_code < 500, (depth, response.status_code)
        json.loads(response.content)


async def test_a_huge_invalid_body_is_not_echoed_back_whole(client: httpx.AsyncClient) -> None:
    starts = [[0.5, 0.5]] * 300_000  # 3.6 MB, more than max_starts
    body = json.dumps({"surface": "quadratic", "optimizer": {"name": "sgd"}, "starts": starts})
    response = await _post_raw(client, "/api/runs", body)
    assert response.status_code == 422
    assert len(response.content) < 20_000
