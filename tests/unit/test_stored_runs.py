"""Stored runs are read as they were accepted: a lower limit or a torch that now rejects their
hyperparameters never hides them (GET /api/runs answered 500 when DESCENT_MAX_STEPS was lowered)."""

from pathlib import Path

import orjson
import sqlalchemy as sa

from backend.runs.executor import queued_run
from backend.runs.store import RUNS, RunStore
from backend.settings import Settings, serving
from backend.surfaces.spec import SurfaceRun


def test_a_lower_limit_never_hides_an_old_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    request = SurfaceRun.model_validate({"surface": "quadratic", "optimizer": {"name": "sgd"},
                                         "steps": 500, "starts": [[1.0, 1.0]] * 40})
    store.create(queued_run(request))
    with serving(Settings(data_dir=tmp_path, max_steps=5, max_starts=3, max_work=10)):
        (run,) = store.recent(10)
        assert isinstance(run.config, SurfaceRun) and run.config.steps == 500
        assert len(run.config.start_points()) == 40
        assert store.unfinished() == [run]
    store.close()


def test_a_run_torch_would_now_reject_is_still_read(tmp_path: Path) -> None:
    """The stored request holds what torch rejects today (Nesterov without momentum): reading it
    does not ask torch again."""
    store = RunStore(tmp_path / "runs.sqlite3")
    request = SurfaceRun.model_validate({"surface": "quadratic", "optimizer": {"name": "sgd"}})
    run = queued_run(request)
    store.create(run)
    config = orjson.loads(run.config.model_dump_json())
    config["optimizer"] |= {"momentum": 0.0, "nesterov": True}
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    with engine.begin() as db:
        db.execute(sa.update(RUNS).where(RUNS.c.id == run.id).values(config=orjson.dumps(config).decode()))
    engine.dispose()
    read = store.get(run.id)
    assert read is not None and read.config.optimizer.nesterov is True  # type: ignore[union-attr]
    store.close()
