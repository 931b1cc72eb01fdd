"""deploy/compose.yaml: every role is there, all eostation services share one configuration,
every EOSTATION_* variable it sets is a real setting, and ``docker compose config`` accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from eostation.settings_table import rows

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EOSTATION_ROLES = ("dask-scheduler", "dask-worker", "api-1", "api-2", "runner")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_every_role_is_a_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres", "minio", "create-bucket", "balancer", *EOSTATION_ROLES
    }  # fmt: skip
    for replica in ("api-1", "api-2"):
        assert "--no-runners" in services[replica]["command"]
    assert services["runner"]["command"] == ["eostation", "worker"]
    assert services["runner"]["deploy"]["replicas"] == 2
    assert services["dask-worker"]["deploy"]["replicas"] == 2
    assert "--memory-limit=4GiB" in services["dask-worker"]["command"]
    for role in ("dask-scheduler", "dask-worker"):  # no slow first job (deployment.md)
        assert "eostation.jobs.preload" in " ".join(services[role]["command"])
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "server api-1:8000;" in nginx and "server api-2:8000;" in nginx


def test_eostation_services_share_one_configuration(compose: dict[str, Any]) -> None:
    envs = [compose["services"][role]["environment"] for role in EOSTATION_ROLES]
    assert all(env == envs[0] for env in envs)
    env = envs[0]
    assert env["EOSTATION_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["EOSTATION_STORAGE__RESULTS_URL"].startswith("s3://")
    assert "@postgres:5432/" in env["EOSTATION_DATABASE_URL"]
    known = {r.env for r in rows()}
    assert sorted(set(env) - known) == []  # a misspelt setting would be silently ignored


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file() -> None:
    command = _compose_command()
    if command is None:
        # Docker is documentation here: CI need not have it (the file is checked above).
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "-f", str(DEPLOY / "compose.yaml"), "--env-file", str(DEPLOY / "example.env"),
         "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
