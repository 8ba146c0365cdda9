"""`python -m bench.data --quick` runs: it starts its own server, measures a small run, and prints
its table (#13). A smoke test of the script, never of the numbers it prints."""

import os
import subprocess
import sys

from tests.conftest import ROOT

ROWS = ("`POST /api/trajectories`", "`GET steps?wait=true`", "peak while computing it",
        "peak while exporting it", "data directory", "`format=csv`", "`format=ndjson`",
        "`format=json`", "`format=parquet`", "concurrent CSV downloads")


def test_quick_bench_prints_every_row_of_its_table() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DESCENT_")}
    result = subprocess.run([sys.executable, "-m", "bench.data", "--quick"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)  # a hang guard
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "| measurement | result | target |" in lines
    for row in ROWS:
        assert any(line.startswith("| ") and row in line for line in lines), (row, result.stdout)
