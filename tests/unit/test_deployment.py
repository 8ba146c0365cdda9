"""The Dockerfile and docker-compose.yml, read statically: what they name must exist.

No Docker engine runs where these tests run, so nothing here builds or starts a
container; instead every setting, module, flag and route the files refer to is
checked against the code, so a rename cannot silently break the classroom server,
and Debian's `docker-compose` (Compose v1, which needs no engine for `config`)
validates the compose file as Compose reads it.
"""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend import worker
from backend.main import create_app
from backend.settings import Settings
from tests.integration.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_compose_has_the_classroom_services_with_health_checks_and_volumes() -> None:
    assert set(SERVICES) == {"api", "worker", "worker-cpu", "redis", "postgres"}
    for name, service in SERVICES.items():
        assert "healthcheck" in service, f"{name} has no health check"
    volumes = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert volumes == set(COMPOSE["volumes"]) == {"redis-data", "postgres-data", "api-data"}
    for name in ("api", "worker", "worker-cpu"):
        assert set(SERVICES[name]["depends_on"]) == {"redis", "postgres"}


def test_the_gpu_worker_reserves_an_nvidia_gpu_and_the_cpu_worker_is_a_profile() -> None:
    [device] = SERVICES["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert (device["driver"], device["capabilities"]) == ("nvidia", ["gpu"])
    assert SERVICES["worker"]["environment"]["DESCENT_DEVICE"] == "cuda"
    assert SERVICES["worker-cpu"]["profiles"] == ["cpu"]
    assert SERVICES["worker-cpu"]["environment"]["DESCENT_DEVICE"] == "cpu"
    assert "ports" not in SERVICES["worker"]  # workers only talk to Redis and PostgreSQL: --scale works


@pytest.mark.parametrize("service", ["api", "worker", "worker-cpu"])
def test_every_descent_variable_is_a_setting(service: str) -> None:
    environment = SERVICES[service]["environment"]
    names = {f"DESCENT_{field.upper()}" for field in Settings.model_fields}
    unknown = [key for key in environment if key.startswith("DESCENT_") and key not in names]
    assert not unknown, f"{service}: not settings: {unknown}"
    values = {key.removeprefix("DESCENT_").lower(): re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v))
              for key, v in environment.items()}
    Settings(**values)  # the defaults the file falls back to are valid settings


def test_the_worker_command_and_its_health_check_parse() -> None:
    for command in (SERVICES["worker"]["command"], SERVICES["worker"]["healthcheck"]["test"][1:]):
        assert command[:3] == ["python", "-m", "backend.worker"]
        with pytest.raises(SystemExit) as exit_:
            worker.main([*command[3:], "--help"])
        assert exit_.value.code == 0


def test_the_image_serves_the_app_its_health_check_asks() -> None:
    assert re.search(r"^FROM python:3\.11", DOCKERFILE, re.M)
    pin = re.search(r"^ARG TORCH_VERSION=(\S+)$", DOCKERFILE, re.M)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert pin is not None and f"torch=={pin.group(1)}" in dependencies
    assert 'CMD ["uvicorn", "backend.main:app"' in DOCKERFILE and "EXPOSE 8000" in DOCKERFILE
    assert "COPY backend ./backend" in DOCKERFILE and "COPY frontend ./frontend" in DOCKERFILE
    paths = set(create_app().openapi()["paths"])
    for check in (DOCKERFILE, " ".join(SERVICES["api"]["healthcheck"]["test"])):
        asked = re.search(r"http://127\.0\.0\.1:8000(/[a-z/]+)", check)
        assert asked is not None and asked.group(1) in paths


@pytest.mark.parametrize("profiles", [[], ["--profile", "cpu"]], ids=["default", "cpu-profile"])
def test_docker_compose_validates_the_file(profiles: list[str]) -> None:
    """`docker-compose config -q`: the schema, the anchors and merges, the `${VAR:-default}`s."""
    binary = shutil.which("docker-compose")
    if binary is None:
        missing("docker-compose (Debian's package)")
    assert binary is not None
    result = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), *profiles, "config", "-q"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
