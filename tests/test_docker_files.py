"""docker/ cannot run here (no Docker daemon): check what can be checked — the compose file is a complete,
secret-free CeleryExecutor deployment, and the image installs exactly the locked requirement set."""
from __future__ import annotations

import re
import subprocess
import tomllib

import yaml

from creditwh.orchestration import WAREHOUSE_WRITER_POOL
from creditwh.settings import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (REPO_ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}


def test_compose_runs_every_airflow_3_component_on_celery_with_postgres_and_redis():
    services = COMPOSE["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis"}
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {"airflow-apiserver": ["api-server"], "airflow-scheduler": ["scheduler"],
                        "airflow-dag-processor": ["dag-processor"], "airflow-triggerer": ["triggerer"],
                        "airflow-worker": ["celery", "worker"]}
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert service["build"]["dockerfile"] == "docker/Dockerfile", name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:"), name
        assert f"creditwh-home:{env['CREDITWH_HOME']}" in service["volumes"], name
        assert {"postgres", "redis"} <= set(service["depends_on"]), name


def test_compose_holds_no_secret_and_creates_the_writer_pool():
    text = (REPO_ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    for key in ("POSTGRES_PASSWORD", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        for line in (x for x in text.splitlines() if key + ":" in x):
            assert "${" in line, f"{key} must come from docker/.env: {line.strip()}"
    assert re.search(r"postgresql\+psycopg2://airflow:\$\{POSTGRES_PASSWORD:\?", text)
    init = " ".join(COMPOSE["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in init and f"airflow pools set {WAREHOUSE_WRITER_POOL} 1 " in init


def test_the_image_installs_the_locked_deploy_set_and_every_package():
    assert 'ARG EXTRAS="deploy"' in DOCKERFILE
    assert 'uv sync --frozen --no-dev $(for e in $EXTRAS; do printf -- "--extra %s " "$e"; done) --no-install-project' \
        in DOCKERFILE
    assert '*" spark "*) echo openjdk-17-jre-headless' in DOCKERFILE  # a Spark image carries its JVM
    assert COMPOSE["x-airflow-common"]["build"]["args"]["EXTRAS"] == "${CREDITWH_IMAGE_EXTRAS:-deploy}"
    make_uv = re.search(r"UV_VERSION \?= (\S+)", (REPO_ROOT / "Makefile").read_text()).group(1)
    assert f'"uv=={make_uv}"' in DOCKERFILE
    for package in [*PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"], "dags", "dbt_project"]:
        assert f"COPY {package}/ {package}/" in DOCKERFILE, f"the image misses {package}/"
    exported = subprocess.run([str(REPO_ROOT / ".tools" / "bin" / "uv"), "export", "--frozen", "--no-dev",
                               "--extra", "deploy", "--no-hashes", "--no-emit-project"],
                              cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    pinned = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", exported, flags=re.M))
    for name in ("apache-airflow", "apache-airflow-providers-celery", "redis", "psycopg2-binary", "asyncpg",
                 "dbt-core", "dbt-duckdb", "duckdb", "great-expectations"):
        assert name in pinned, f"{name} is not in the locked deploy set"
    assert pinned["dbt-core"].startswith("1.11.")
