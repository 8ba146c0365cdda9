"""The server freezes what it holds for good once it has started (`gc.freeze`), so that full
garbage collections, which stop the event loop, do not traverse torch's and the app's modules
each time (bench/data.py measures the pauses). Once per process: a second app in the same
process freezes nothing more, so nothing of a first app's left-overs is kept forever."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = """
import gc, json
from fastapi.testclient import TestClient
from backend.main import create_app
counts = [gc.get_freeze_count()]
for _ in range(2):
    with TestClient(create_app()) as client:
        client.get("/api/health").raise_for_status()
        counts.append(gc.get_freeze_count())
print(json.dumps(counts))
"""


def test_the_server_freezes_its_startup_objects_once(tmp_path: Path) -> None:
    env = {"DESCENT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)  # a hang guard
    assert result.returncode == 0, result.stderr
    before, first, second = json.loads(result.stdout.splitlines()[-1])
    assert before == 0
    assert first > 100_000  # torch, FastAPI, pydantic and the app: hundreds of thousands of objects
    assert second <= first  # nothing frozen again (a frozen object that dies leaves the count)
