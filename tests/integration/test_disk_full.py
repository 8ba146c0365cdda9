"""A full disk under the data directory (a 2 MiB tmpfs the test mounts): a run whose steps do not
fit ends `failed` saying so, a new run (or a stored CSV) is a clear 507 while nothing fits,
earlier runs are served unchanged, the SQLite file passes its integrity check, and once there is
room again runs are stored as before. Mounting needs root; without it the test skips (fails
under REQUIRE_SYSTEM_DEPS=1)."""

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.runs.store import csv_id
from tests.conftest import KEYS, Server, create_run, free_port, wait_for_status, wait_steps
from tests.integration.conftest import REQUIRE

SMALL = {"surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 20}
DATASET = "x,y,label\n" + "".join(f"{i},{i * i % 7},{i % 2}\n" for i in range(4000))  # ≈ 40 kB of CSV
BIG = {"surface": "rosenbrock", "optimizer": {"name": "adam"}, "steps": 1000, "record": "all",
       "starts": [[-2.0 + 0.02 * i, 2.0 - 0.01 * i] for i in range(200)]}  # ≈ 10 MB of steps


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if REQUIRE:
            pytest.fail(f"{message} (REQUIRE_SYSTEM_DEPS=1)")
        pytest.skip(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write zeros into `path` until the disk says it is full."""
    with path.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            pass


def test_a_full_disk_is_a_507_and_corrupts_nothing(tmp_path: Path, small_disk: Path) -> None:
    server = Server(tmp_path, free_port(), {"DESCENT_DATA_DIR": str(small_disk),
                                            "DESCENT_LOG_MEMORY_BYTES": "0"})  # logs stay on tmp_path
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60, headers={"X-Client-Id": "disk"}) as http:
            first = create_run(http, SMALL)["id"]
            steps = wait_steps(http, first)
            csv_text = http.get(f"/api/runs/{first}/steps", params={"format": "csv"}).text

            big = create_run(http, BIG)["id"]
            ended = wait_for_status(http, big, {"failed", "finished"}, timeout=300)
            assert ended["status"] == "failed"
            assert "disk is full" in ended["error"]
            assert wait_steps(http, first) == steps

            fill(small_disk / "filler")
            for _ in range(100):  # the journal has room for a few more small writes, then none
                refused = http.post("/api/runs", json=SMALL)
                if refused.status_code != 201:
                    break
                wait_steps(http, refused.json()["id"])  # ended, stored or not
            assert refused.status_code == 507, refused.text
            assert "disk is full" in refused.json()["detail"]
            assert wait_steps(http, first) == steps
            csv_refused = http.post("/api/datasets/csv", json={"csv": DATASET})
            assert csv_refused.status_code == 507 and "disk is full" in csv_refused.json()["detail"]
            assert http.get(f"/api/datasets/csv/{csv_id(DATASET)}").status_code == 404  # nothing half-kept

            (small_disk / "filler").unlink()
            again = create_run(http, SMALL)["id"]
            assert wait_steps(http, again) == steps
            assert http.post("/api/datasets/csv", json={"csv": DATASET}).status_code == 201
            assert http.get(f"/api/datasets/csv/{csv_id(DATASET)}").text == DATASET
            assert http.get(f"/api/runs/{first}/steps", params={"format": "csv"}).text == csv_text
            assert KEYS[again]
    finally:
        server.kill()
    db = sqlite3.connect(small_disk / "descent.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()
