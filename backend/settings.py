"""One settings class for the whole service, read from `DESCENT_*` environment variables.

Request limits are read when a request is validated, from the settings of the app that
serves it (`current_settings()`, set per request by `create_app`), so an app built with
other settings validates, documents and reports its own limits.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration; every request limit lives here, in one place."""

    model_config = SettingsConfigDict(env_prefix="DESCENT_", frozen=True)

    data_dir: Path = Field(Path("./data"), description="SQLite file and exports")
    database_url: str | None = Field(None, description="overrides the SQLite default")
    executor: Literal["local", "redis"] = "local"
    redis_url: str = "redis://127.0.0.1:6379/0"
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")

    admin_token: SecretStr | None = Field(
        None, description="moderator token (Authorization: Bearer ...): may list, cancel and change any run"
    )
    workers: int = Field(
        2, ge=1, le=64, description="runs computed at once by the local executor, and unstored computations "
        "at once in each API process (a pool of their own: they never wait behind queued runs)"
    )
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
    runs_per_client: int = Field(8, ge=1, description="runs one client (identity) may have queued or running")
    runs_per_address: int = Field(
        64, ge=1, description="runs queued or running from one address, all its clients together (a "
        "classroom behind one NAT)"
    )
    queued_runs: int = Field(200, ge=1, description="runs queued or running on the whole server")
    computations_per_client: int = Field(
        4, ge=1, description="unstored computations (trajectories, sweeps) one client runs at once"
    )
    computations_per_address: int = Field(
        32, ge=1, description="unstored computations in flight from one address, all its clients together"
    )
    answer_cache_bytes: int = Field(
        64 << 20, ge=0, description="bytes of POST /api/trajectories answers kept for identical requests "
        "(least recently used dropped first; 0: none kept)"
    )
    admission_lease: float = Field(
        30.0, gt=0, le=3600, description="redis executor: seconds an admission slot outlives an API "
        "replica that died holding it (renewed while the replica lives)",
    )
    max_body_bytes: int = Field(4_000_000, ge=1024, description="largest request body")

    # live classroom rooms (backend/rooms)
    rooms_per_server: int = Field(200, ge=1, description="rooms open on the server at once")
    rooms_per_client: int = Field(5, ge=1, description="rooms one client (identity) may have open at once")
    rooms_per_address: int = Field(
        40, ge=1, description="rooms open at once from one address, all its clients together (a school's NAT)"
    )
    room_students: int = Field(500, ge=1, description="students connected to one room at once")
    room_idle_seconds: float = Field(
        1800.0, gt=0, le=7 * 24 * 3600, description="how long a room lives without its teacher connected"
    )
    room_max_scene_bytes: int = Field(65_536, ge=256, description="bytes of one message sent to a room")
    room_max_poll_options: int = Field(12, ge=2, le=100, description="options of one poll")
    room_max_text: int = Field(200, ge=1, le=10_000, description="characters of a poll's question or option")
    room_messages_per_second: float = Field(
        30.0, gt=0, le=10_000,
        description="messages a student's room socket may send a second (a burst of as many)",
    )
    max_coordinate: float = Field(1e6, gt=0, description="largest |coordinate| of a start or domain")
    max_expression_length: int = Field(500, ge=1, le=10_000, description="characters of a typed formula")
    max_sweep_values: int = Field(64, ge=1, description="values on one axis of a regime map")
    max_sweep_work: int = Field(200_000, ge=1, description="cells × steps of one regime map")

    # stored steps: memory, disk, downloads (backend/runs/log.py, store.py, exports.py)
    log_memory_bytes: int = Field(
        256 << 20, ge=0, description="bytes of step logs kept in memory (live runs and the most recently "
        "ended); older ended runs are read from the store"
    )
    store_budget_bytes: int = Field(
        4 << 30, ge=0, description="bytes of runs the store keeps: beyond it the oldest ended, unpinned runs "
        "are deleted"
    )
    store_max_age_seconds: int = Field(
        30 * 86400, ge=1, description="an ended, unpinned run is deleted this long after it ended"
    )
    client_quota_bytes: int = Field(
        1 << 30, ge=0, description="bytes of stored runs one client may hold before it must delete some "
        "to start another (429)"
    )
    dataset_budget_bytes: int = Field(
        256 << 20, ge=0, description="bytes of CSV datasets the store keeps for links and rooms: beyond it "
        "the least recently used are deleted"
    )
    dataset_max_age_seconds: int = Field(
        30 * 86400, ge=1, description="a stored CSV dataset is deleted this long after it was last stored or "
        "read"
    )
    client_dataset_quota_bytes: int = Field(
        10 << 20, ge=0, description="bytes of CSV datasets one client may have stored (429 above)"
    )
    export_threads: int = Field(
        2, ge=1, le=64, description="threads writing step downloads at once (more wait their turn)"
    )

    # network runs: work is counted in (samples seen) × (parameters); one forward + backward
    # costs about 6 FLOPs per unit, so 5·10¹⁰ is ~3·10¹¹ FLOPs, tens of seconds on two CPU cores
    network_max_epochs: int = Field(500, ge=1, description="epochs of a network run")
    network_max_steps: int = Field(200_000, ge=1, description="optimizer steps (and step records)")
    network_max_parameters: int = Field(2_000_000, ge=1, description="parameters of a model")
    network_max_work: int = Field(
        50_000_000_000, ge=1, description="epochs × n_train × parameters (× evaluations per LBFGS step)"
    )
    network_max_samples: int = Field(5000, ge=10, description="samples of a dataset")
    network_max_csv_bytes: int = Field(200_000, ge=1, description="bytes of an uploaded CSV")
    network_max_width: int = Field(512, ge=1, description="units of an MLP's hidden layer")
    network_max_layers: int = Field(6, ge=1, description="hidden layers of an MLP")
    network_max_channels: int = Field(64, ge=1, description="channels of a CNN's convolution")
    network_max_landscape_resolution: int = Field(101, ge=3, description="landscape grid points per axis")
    network_max_landscape_work: int = Field(
        200_000_000_000, ge=1, description="landscape grid points × evaluation samples × parameters"
    )
    network_max_eval_samples: int = Field(2000, ge=10, description="samples a landscape is evaluated on")
    network_max_compare_runs: int = Field(6, ge=2, description="runs compared on one plane")
    network_max_compare_resolution: int = Field(61, ge=3, description="grid points per axis of a comparison")
    network_max_interpolation_points: int = Field(201, ge=3, description="points on an interpolation line")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()


_serving: ContextVar[Settings | None] = ContextVar("descent_serving_settings", default=None)


def current_settings() -> Settings:
    """The settings of the app serving this request; outside a request, the process's."""
    return _serving.get() or get_settings()


@contextmanager
def serving(settings: Settings) -> Iterator[None]:
    """Make `settings` the current ones for the code run inside (one request)."""
    token = _serving.set(settings)
    try:
        yield
    finally:
        _serving.reset(token)


_reading_stored: ContextVar[bool] = ContextVar("descent_reading_stored", default=False)


@contextmanager
def reading_stored() -> Iterator[None]:
    """Read a stored run as it was accepted: no request limit applies (it met the limits of its
    day, and a lower limit today must not hide it), and torch is not asked again."""
    limits = {name: math.inf if isinstance(value, float) else 10**18
              for name, value in get_settings() if name.startswith(("max_", "network_max_"))}
    token = _reading_stored.set(True)
    try:
        with serving(get_settings().model_copy(update=limits)):
            yield
    finally:
        _reading_stored.reset(token)


def is_reading_stored() -> bool:
    return _reading_stored.get()
