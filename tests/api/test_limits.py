"""Limits are read when a request is validated, from the settings of the app serving it:
two apps with different settings in one process each validate, document and report their own."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from backend.api.schemas import examples
from backend.main import create_app
from backend.settings import Settings

pytestmark = pytest.mark.anyio
RUN = {"kind": "surface", "surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}}
NETWORK = {"kind": "network", "dataset": {"name": "moons", "n_samples": 100},
           "model": {"name": "mlp", "hidden": [4]}, "optimizer": {"name": "sgd", "lr": 0.1}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def tight(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "tight", max_steps=5, max_starts=3, network_max_epochs=3,
                        max_expression_length=20, max_grid=9, max_coordinate=100.0,
                        rooms_per_client=3, rooms_per_address=7, room_max_poll_options=4,
                        room_idle_seconds=60.0, runs_per_address=9, computations_per_address=6)
    async for client in _serve(create_app(settings)):
        yield client


@pytest.fixture
async def roomy(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _serve(create_app(Settings(data_dir=tmp_path / "roomy"))):
        yield client


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


async def test_each_app_validates_with_its_own_limits(
    tight: httpx.AsyncClient, roomy: httpx.AsyncClient
) -> None:
    for _ in range(2):  # interleaved: one app's settings never leak into the other's requests
        refused = await tight.post("/api/trajectories", json={**RUN, "steps": 6})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["msg"] == "Input should be less than or equal to 5"
        assert (await tight.post("/api/trajectories", json={**RUN, "steps": 5})).status_code == 200
        assert (await roomy.post("/api/trajectories", json={**RUN, "steps": 6})).status_code == 200

    too_many = await tight.post("/api/trajectories", json={**RUN, "steps": 2, "starts": [[1, 1]] * 4})
    assert too_many.status_code == 422 and ["body", "surface", "starts"] in _locs(too_many)
    far = await tight.post("/api/trajectories", json={**RUN, "start": [101, 0]})
    assert far.status_code == 422
    assert (await roomy.post("/api/trajectories", json={**RUN, "start": [101, 0]})).status_code == 422

    epochs = await tight.post("/api/runs", json={**NETWORK, "epochs": 4})
    assert epochs.status_code == 422 and ["body", "network", "epochs"] in _locs(epochs)
    formula = "x*x + y*y + 0.5*x*y + 1"  # 23 characters
    grid = await tight.get("/api/surfaces/custom/grid", params={
        "expression": formula, "x_min": -1, "x_max": 1, "y_min": -1, "y_max": 1, "n": 5})
    assert grid.status_code == 422
    assert (await roomy.get("/api/surfaces/custom/grid", params={
        "expression": formula, "x_min": -1, "x_max": 1, "y_min": -1, "y_max": 1, "n": 5,
    })).status_code == 200
    assert (await tight.get("/api/surfaces/quadratic/grid", params={"n": 10})).status_code == 422
    assert (await roomy.get("/api/surfaces/quadratic/grid", params={"n": 10})).status_code == 200


async def test_limits_and_openapi_agree_with_validation(
    tight: httpx.AsyncClient, roomy: httpx.AsyncClient
) -> None:
    for client, steps, epochs, grid in ((tight, 5, 3, 9), (roomy, 10_000, 500, 501)):
        limits = (await client.get("/api/limits")).json()
        assert limits["max_steps"] == steps and limits["network"]["max_epochs"] == epochs
        assert limits["max_grid"] == grid
        schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
        assert schemas["SurfaceRun"]["properties"]["steps"]["maximum"] == steps
        assert schemas["NetworkRun"]["properties"]["epochs"]["maximum"] == epochs
        parameters = (await client.get("/openapi.json")).json()["paths"][
            "/api/surfaces/{surface_id}/grid"]["get"]["parameters"]
        assert next(p for p in parameters if p["name"] == "n")["schema"]["maximum"] == grid


async def test_limits_report_the_room_bounds(tight: httpx.AsyncClient, roomy: httpx.AsyncClient) -> None:
    rooms = [(await client.get("/api/limits")).json()["rooms"] for client in (tight, roomy)]
    assert rooms[0] == {"per_client": 3, "per_address": 7, "per_server": 200, "students": 500,
                        "idle_seconds": 60.0, "max_scene_bytes": 65536, "max_poll_options": 4,
                        "max_text": 200, "messages_per_second": 30.0}
    assert rooms[1] == examples.LIMITS["rooms"]  # the documented example: the defaults


async def test_limits_report_the_admission_bounds(tight: httpx.AsyncClient, roomy: httpx.AsyncClient) -> None:
    names = ("runs_per_client", "runs_per_address", "computations_per_client", "computations_per_address")
    tight_limits, roomy_limits = [(await client.get("/api/limits")).json() for client in (tight, roomy)]
    assert [tight_limits[name] for name in names] == [8, 9, 4, 6]
    assert [roomy_limits[name] for name in names] == [examples.LIMITS[name] for name in names]
