"""A run belongs to whoever started it: its key (shown once) or the moderator's token changes it,
nobody else; each client lists its own runs; reading a run by id stays open."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.main import create_app
from backend.settings import Settings

pytestmark = pytest.mark.anyio
TOKEN = "teacher-token-for-tests"
RUN = {"kind": "surface", "surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.01},
       "steps": 10_000, "stop": {"grad_norm": 0}}
NETWORK = {"kind": "network", "dataset": {"name": "moons", "n_samples": 100}, "epochs": 2,
           "model": {"name": "mlp", "hidden": [4]}, "optimizer": {"name": "sgd", "lr": 0.1}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def app_transport(tmp_path: Path) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(Settings(data_dir=tmp_path, admin_token=TOKEN, runs_per_client=50))
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


def client(transport: httpx.ASGITransport, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers, timeout=60)


async def created(http: httpx.AsyncClient, body: dict[str, Any] = RUN) -> dict[str, Any]:
    answer = await http.post("/api/runs", json=body)
    assert answer.status_code == 201, answer.text
    run: dict[str, Any] = answer.json()
    return run


async def test_only_the_key_or_the_moderator_cancels_a_run(app_transport: httpx.ASGITransport) -> None:
    async with client(app_transport, **{"X-Client-Id": "teacher"}) as teacher, \
            client(app_transport, **{"X-Client-Id": "student"}) as student:
        run = await created(teacher)
        assert len(run["key"]) >= 32  # 24 random bytes: 192 bits
        first = await student.delete(f"/api/runs/{run['id']}")
        assert first.status_code == 403 and "X-Run-Key" in first.json()["detail"]
        wrong = await student.delete(f"/api/runs/{run['id']}", headers={"X-Run-Key": "guess"})
        assert wrong.status_code == 403 and "is not run" in wrong.json()["detail"]
        fake_token = await student.delete(f"/api/runs/{run['id']}", headers={"Authorization": "Bearer no"})
        assert fake_token.status_code == 403
        assert (await student.get(f"/api/runs/{run['id']}")).status_code == 200  # reading stays open
        assert (await student.get(f"/api/runs/{run['id']}")).json()["status"] in ("queued", "running")
        assert "key" not in (await student.get(f"/api/runs/{run['id']}")).json()

        cancelled = await teacher.delete(f"/api/runs/{run['id']}", headers={"X-Run-Key": run["key"]})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

        other = await created(teacher)
        moderated = await student.delete(f"/api/runs/{other['id']}",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        assert moderated.status_code == 200 and moderated.json()["status"] == "cancelled"
        assert (await student.delete("/api/runs/0123456789abcdef")).status_code == 404


async def test_each_client_lists_its_own_runs(app_transport: httpx.ASGITransport) -> None:
    async with client(app_transport, **{"X-Client-Id": "a"}) as a, \
            client(app_transport, **{"X-Client-Id": "b"}) as b, client(app_transport) as nobody:
        mine = {(await created(a))["id"], (await created(a))["id"]}
        theirs = (await created(b))["id"]
        listed_a = {r["id"] for r in (await a.get("/api/runs")).json()["runs"]}
        listed_b = {r["id"] for r in (await b.get("/api/runs")).json()["runs"]}
        assert listed_a == mine and listed_b == {theirs}
        assert (await nobody.get("/api/runs")).json()["runs"] == []
        everyone = await nobody.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert mine | {theirs} <= {r["id"] for r in everyone.json()["runs"]}
        for run_id in [*mine, theirs]:
            await a.delete(f"/api/runs/{run_id}", headers={"Authorization": f"Bearer {TOKEN}"})


async def test_a_page_gets_an_identity_cookie_and_lists_its_runs(app_transport: httpx.ASGITransport) -> None:
    async with client(app_transport) as page, client(app_transport) as other_page:
        first = await page.get("/api/health")
        assert "descent_client=" in first.headers["set-cookie"] and "HttpOnly" in first.headers["set-cookie"]
        run = await created(page)
        assert [r["id"] for r in (await page.get("/api/runs")).json()["runs"]] == [run["id"]]
        assert (await other_page.get("/api/runs")).json()["runs"] == []
        await page.delete(f"/api/runs/{run['id']}", headers={"X-Run-Key": run["key"]})


async def test_surveying_again_needs_the_key(app_transport: httpx.ASGITransport) -> None:
    async with client(app_transport, **{"X-Client-Id": "owner"}) as owner, client(app_transport) as stranger:
        run = await created(owner, NETWORK)
        for _ in range(600):
            status = (await owner.get(f"/api/runs/{run['id']}")).json()["status"]
            if status not in ("queued", "running"):
                break
            await asyncio.sleep(0.1)
        assert status == "finished"
        body = {"directions": "random", "resolution": 5, "eval_samples": 20}
        refused = await stranger.post(f"/api/runs/{run['id']}/landscape", json=body)
        assert refused.status_code == 403
        wrong = await stranger.post(f"/api/runs/{run['id']}/landscape", json=body,
                                    headers={"X-Run-Key": run["key"][::-1]})
        assert wrong.status_code == 403
        moderated = await stranger.post(f"/api/runs/{run['id']}/landscape", json=body,
                                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert moderated.status_code == 200
        done = await owner.post(f"/api/runs/{run['id']}/landscape", json=body,
                                headers={"X-Run-Key": run["key"]})
        assert done.status_code == 200 and done.json()["directions"] == "random"
