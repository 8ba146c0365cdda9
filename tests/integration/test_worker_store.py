"""A worker started with another run store than the API's refuses to work, saying why, instead of
computing runs that the API would show as queued forever; /api/health shows each worker's store."""

from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import START_SECONDS, Cluster, wait_for

RUN = {"kind": "surface", "surface": "quadratic", "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 20}


def test_a_worker_on_another_store_refuses_and_one_on_the_same_store_works(
    make_cluster: Any, redis_url: str, tmp_path: Path
) -> None:
    cluster: Cluster = make_cluster(redis_url)
    cluster.start_api()
    cluster.env["DESCENT_DATA_DIR"] = str(tmp_path / "elsewhere")  # a SQLite file of its own
    stray = cluster.start_worker("stray", wait=False)
    assert stray.wait(3 * START_SECONDS) == 2
    assert "is not the API's" in cluster.tail()
    cluster.workers.pop("stray")

    cluster.env["DESCENT_DATA_DIR"] = str(cluster.data_dir)
    cluster.start_worker("same")
    health = httpx.get(f"{cluster.url}/api/health", timeout=10).json()
    stores = {w["name"]: w["store"] for w in health["worker_list"]}
    assert stores["same"] is not None
    run_id = cluster.post_run(RUN)
    wait_for(lambda: cluster.run(run_id)["status"] == "finished", START_SECONDS, "the run")
    assert len(cluster.stored_steps(run_id)) == 21
