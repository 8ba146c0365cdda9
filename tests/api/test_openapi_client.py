"""A client generated from the served OpenAPI document by `openapi-python-client` (issue #14):
the generator says nothing (no warning: no piece is missing), and the client it writes creates
a run, reads its steps, and reads them again as NDJSON and from the websocket stream with
nothing lost: every step the server recorded, every field of it, in order."""

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import Server, strict_json

PACKAGE = "descent_lab_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated into a temporary folder and imported from there."""
    root = tmp_path_factory.mktemp("client")
    document = root / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/openapi.json").content)
    # the generator formats what it writes with ruff, which it looks for on PATH
    env = os.environ | {"PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(document), "--output-path", str(root / PACKAGE),
         "--meta", "none"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "warning" not in said.lower() and "may be missing" not in said, said
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_every_operation_has_a_function_named_by_its_id(generated: ModuleType, server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    for methods in document["paths"].values():
        for operation in methods.values():
            tag, = operation["tags"]
            name = operation["operationId"].replace("-", "_")
            assert hasattr(module(generated, f"api.{tag}.{name}"), "sync"), name


def test_the_client_creates_a_run_and_reads_every_step(generated: ModuleType, server: Server) -> None:
    api = module(generated, "api.runs")
    models = module(generated, "models")
    for name in ("runs_create", "runs_steps", "runs_get", "runs_cancel"):
        importlib.import_module(f"{api.__name__}.{name}")
    with generated.Client(base_url=server.url, headers={"X-Client-Id": "generated-client"}) as client:
        create_read_and_cancel(api, models, client, server)


def create_read_and_cancel(api: Any, models: Any, client: Any, server: Server) -> None:
    body = models.SurfaceRun(
        surface=models.SurfaceRunSurfaceType0.ROSENBROCK,
        optimizer=models.AdamOptimizer(name="adam", lr=0.05),
        start=[-1.5, 2.0], steps=40,
    )

    created = api.runs_create.sync(client=client, body=body)
    assert isinstance(created, models.CreatedRun), created
    assert created.status == models.Status.QUEUED and created.key

    steps = api.runs_steps.sync(created.id, client=client, wait=True)
    assert isinstance(steps, models.Steps), steps
    assert [s.step for s in steps.steps] == list(range(41))
    assert all(isinstance(s, models.SurfaceStep) for s in steps.steps)

    # nothing lost: the typed steps give back the server's JSON, field for field
    raw = strict_json(httpx.get(f"{server.url}/api/runs/{created.id}/steps").content)["steps"]
    assert [s.to_dict() for s in steps.steps] == raw
    assert raw[1]["state"] and raw[1]["effective_lr"]  # optimizer buffers travelled too

    # the generated functions read every answer as JSON, so CSV and NDJSON come through the
    # client's own httpx client
    lines = client.get_httpx_client().get(f"/api/runs/{created.id}/steps", params={"format": "ndjson"})
    assert lines.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in lines.text.splitlines()] == raw

    streamed: list[dict[str, Any]] = []
    with connect(f"{server.ws_url}/api/runs/{created.id}/stream", max_size=None) as ws:
        for message in ws:
            frame = json.loads(message)
            if frame["type"] == "steps":
                streamed.extend(frame["steps"])
            elif frame["type"] == "end":
                break
    assert streamed == raw

    run = api.runs_get.sync(created.id, client=client)
    assert isinstance(run, models.Run) and run.status == models.Status.FINISHED
    assert run.summary.final_loss == raw[-1]["loss"]
    ended = api.runs_cancel.sync(created.id, client=client, x_run_key=created.key)
    assert isinstance(ended, models.Run) and ended.status == models.Status.FINISHED  # unchanged
