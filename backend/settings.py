"""One settings class for the whole service, read from `DESCENT_*` environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration; every request limit lives here, in one place."""

    model_config = SettingsConfigDict(env_prefix="DESCENT_", frozen=True)

    data_dir: Path = Field(Path("./data"), description="SQLite file and exports")
    database_url: str | None = Field(None, description="overrides the SQLite default")
    executor: Literal["local", "redis"] = "local"
    redis_url: str = "redis://127.0.0.1:6379/0"
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")

    workers: int = Field(2, ge=1, le=64, description="runs computed at once by the local executor")
    torch_threads: int = Field(1, ge=1, le=256, description="torch intra-op threads per worker")

    # redis executor and `python -m backend.worker`
    worker_concurrency: int = Field(1, ge=1, le=64, description="runs one worker process computes at once")
    worker_nice: int = Field(
        10, ge=0, le=19,
        description="CPU niceness of a worker process: where it shares cores with an API process, the "
        "API's websocket fan-out must not wait behind torch (on a dedicated machine it costs nothing)",
    )
    visibility_timeout: float = Field(
        30.0, gt=0, le=3600, description="seconds a job's worker may go silent before another claims it"
    )
    heartbeat_seconds: float = Field(2.0, gt=0, le=60, description="how often a worker says it is alive")
    max_attempts: int = Field(3, ge=1, le=100, description="starts of a run whose workers keep dying")
    retention_seconds: int = Field(
        3600, ge=1, description="how long Redis keeps an ended run's step stream (the store keeps it all)"
    )

    max_steps: int = Field(10_000, ge=1, description="optimizer steps per surface run")
    max_starts: int = Field(40_000, ge=1, description="start points in one batched run")
    max_recorded: int = Field(
        2_000_000, ge=1, description="starts × recorded steps kept by one run with record='all'"
    )
    max_work: int = Field(
        20_000_000, ge=1, description="starts × steps of one stored run (≈ 40,000 starts × 500 steps)"
    )
    max_instant_work: int = Field(
        5_000_000, ge=1, description="starts × steps of one unstored computation (POST /api/trajectories)"
    )
    max_unbatched_starts: int = Field(
        64, ge=1, description="starts of an optimizer that runs each start on its own (LBFGS, Adafactor)"
    )
    max_grid: int = Field(501, ge=3, description="points per axis of a surface grid")
    runs_per_client: int = Field(8, ge=1, description="runs one client may have queued or running")
    queued_runs: int = Field(200, ge=1, description="runs queued or running on the whole server")
    computations_per_client: int = Field(
        4, ge=1, description="unstored computations (trajectories, sweeps) one client runs at once"
    )
    max_body_bytes: int = Field(4_000_000, ge=1024, description="largest request body")
    max_coordinate: float = Field(1e6, gt=0, description="largest |coordinate| of a start or domain")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
