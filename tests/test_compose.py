"""docker-compose.yml, .env.example, Dockerfile and .dockerignore, checked without Docker.

- ``docker-compose config -q`` (Debian's docker-compose 1.29, no engine needed) validates
  the compose file with the example env. Without the binary the test skips, saying how to
  install it; under ``CI=true`` it fails instead.
- The rest reads the files: the services and their commands, one shared env for every
  service built from the project image, and no secret written into the compose file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
LOCAL = ROOT / "docker-compose.local.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PG_INIT = ROOT / "deploy" / "postgres" / "10-create-monitor-db.sh"

INSTALL_HINT = "apt-get update && apt-get install -y docker-compose"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
)
REQUIRED_SERVICES = {"postgres", "redis", *AIRFLOW_SERVICES}

# ${VAR}, ${VAR:?message} or ${VAR?message}: a required value from .env, no default.
REQUIRED_REF = re.compile(r"\$\{[A-Z][A-Z0-9_]*(?::?\?[^}]*)?\}")
# Every ${VAR...} reference in the compose file ($${VAR} is a literal for the container's shell).
ANY_REF = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|PRIVATE")
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:/@]+:(?P<password>.+)@[^@]+$")

COMMON_ENV = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CELERY__BROKER_URL": "redis://redis:6379/0",
    "AIRFLOW__CORE__PARALLELISM": "4",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": "/opt/monitor/dags",
    "AIRFLOW__CORE__PLUGINS_FOLDER": "/opt/monitor/plugins",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow-api-server:8080/execution/",
    "MONITOR_DATA_DIR": "/opt/monitor/var",
}


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    return cmd.split() if isinstance(cmd, str) else [str(part) for part in cmd or []]


def _example_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=value: {line!r}"
            values[key.strip()] = value.strip()
    return values


def _project_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the project image (built from the Dockerfile)."""
    return {
        name: svc
        for name, svc in compose["services"].items()
        if "build" in svc or str(svc.get("image", "")).startswith("chip-trade-monitor:")
    }


# --- docker-compose config -----------------------------------------------------------


def _docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        message = f"docker-compose is not installed; install it with: {INSTALL_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return binary


def _run_config(
    docker_compose: str, env_file: Path, *files: Path
) -> subprocess.CompletedProcess[str]:
    # Variables from the caller's shell override the env file: drop the ones the compose
    # file reads, so the example file alone decides the outcome.
    used = set(ANY_REF.findall(COMPOSE.read_text(encoding="utf-8")))
    env = {k: v for k, v in os.environ.items() if k not in used}
    return subprocess.run(
        [
            docker_compose,
            *(arg for f in (COMPOSE, *files) for arg in ("-f", str(f))),
            "--env-file",
            str(env_file),
            "config",
            "-q",
        ],
        cwd=env_file.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_config_validates_with_example_env(tmp_path: Path) -> None:
    docker_compose = _docker_compose()
    env_file = tmp_path / ".env"
    shutil.copyfile(ENV_EXAMPLE, env_file)
    result = _run_config(docker_compose, env_file)
    assert result.returncode == 0, result.stderr
    assert "is not set" not in result.stderr, result.stderr


def test_local_executor_override_validates_and_leaves_out_the_worker(tmp_path: Path) -> None:
    docker_compose = _docker_compose()
    env_file = tmp_path / ".env"
    shutil.copyfile(ENV_EXAMPLE, env_file)
    result = _run_config(docker_compose, env_file, LOCAL)
    assert result.returncode == 0, result.stderr
    local = yaml.safe_load(LOCAL.read_text(encoding="utf-8"))["services"]
    assert local["airflow-worker"]["profiles"] == ["celery"]
    for name in AIRFLOW_SERVICES:
        if name != "airflow-worker":
            assert local[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_compose_config_refuses_missing_secrets(tmp_path: Path) -> None:
    docker_compose = _docker_compose()
    env_file = tmp_path / ".env"
    example = _example_env()
    del example["POSTGRES_PASSWORD"]
    env_file.write_text("".join(f"{k}={v}\n" for k, v in example.items()), encoding="utf-8")
    result = _run_config(docker_compose, env_file)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


# --- the compose file's content ------------------------------------------------------


def test_services_exist() -> None:
    compose = _compose()
    assert str(compose["version"]).startswith("3.")
    assert "x-airflow-common" in compose
    services = compose["services"]
    assert REQUIRED_SERVICES <= set(services)
    # Every image pinned by version: no :latest, no bare name.
    for name, svc in services.items():
        image = str(svc.get("image", ""))
        if image and not image.startswith("chip-trade-monitor:"):
            tag = image.rpartition(":")[2]
            assert ":" in image and tag != "latest" and any(c.isdigit() for c in tag), name
    if "mailpit" in services:
        assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_init_refuses_placeholder_secrets_and_bad_fernet_keys() -> None:
    """The check airflow-init runs first, run here on the example values and on good ones."""
    script = " ".join(_command(_compose()["services"]["airflow-init"]))
    check = script.split("<<'PY'", 1)[1].split("\nPY", 1)[0]
    from cryptography.fernet import Fernet

    example = _example_env()
    good = {k: "x1" for k in example} | {"AIRFLOW_FERNET_KEY": Fernet.generate_key().decode()}
    for values, expected in (
        (example, "CHANGE_ME placeholder"),
        (good | {"AIRFLOW_FERNET_KEY": "not-a-key"}, "not a valid Fernet key"),
        (good, None),
    ):
        env = {k: v for k, v in os.environ.items() if k not in example} | values
        done = subprocess.run(
            [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=False
        )
        if expected is None:
            assert done.returncode == 0, done.stderr
        else:
            assert done.returncode != 0 and expected in done.stderr, done.stderr


def test_project_services_share_the_monitor_env() -> None:
    compose = _compose()
    project = _project_services(compose)
    assert set(AIRFLOW_SERVICES) <= set(project)
    images = {svc.get("image") for svc in project.values()}
    assert len(images) == 1, f"project services use different images: {images}"
    envs = {name: _env(svc) for name, svc in project.items()}
    reference = envs["airflow-scheduler"]
    for name, env in envs.items():
        for key, value in COMMON_ENV.items():
            assert env.get(key) == value, f"{name}: {key}={env.get(key)!r}"
        for key in (
            "MONITOR_DATABASE_URL",
            "MONITOR_SMTP_URL",
            "MONITOR_CONFIG",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__CORE__FERNET_KEY",
        ):
            assert env.get(key), f"{name}: {key} is not set"
            assert env[key] == reference[key], f"{name}: {key} differs from the scheduler's"
        assert env["MONITOR_CONFIG"].endswith("/opt/monitor/config/monitor.yaml}")
    airflow_db = reference["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    monitor_db = reference["MONITOR_DATABASE_URL"]
    assert airflow_db.startswith("postgresql+psycopg://") and airflow_db.endswith("/airflow")
    assert monitor_db.startswith("postgresql+psycopg://") and monitor_db.endswith("/monitor")
    assert "@postgres:5432/" in airflow_db and "@postgres:5432/" in monitor_db


def test_commands() -> None:
    services = _compose()["services"]
    assert _command(services["airflow-api-server"])[:2] == ["airflow", "api-server"]
    assert _command(services["airflow-scheduler"]) == ["airflow", "scheduler"]
    assert _command(services["airflow-dag-processor"]) == ["airflow", "dag-processor"]
    script = " ".join(_command(services["airflow-init"]))
    assert "airflow db migrate" in script and "monitor init" in script
    assert script.index("airflow db migrate") < script.index("monitor init")
    assert "set -e" in script  # a failed migration must stop the stack from starting
    ports = services["airflow-api-server"]["ports"]
    assert any(str(p).endswith(":8080") for p in ports)


def test_startup_order_and_health() -> None:
    services = _compose()["services"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    volumes = _compose()["volumes"]
    assert any(str(v).split(":")[0] in volumes for v in postgres["volumes"])
    assert any(str(v).endswith(":/docker-entrypoint-initdb.d:ro") for v in postgres["volumes"])
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully"
            assert "healthcheck" in services[name], name
    scheduler_deps = services["airflow-scheduler"]["depends_on"]
    assert scheduler_deps["airflow-api-server"]["condition"] == "service_healthy"


def test_published_ports_are_local_only() -> None:
    for name, svc in _compose()["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all interfaces"


def test_no_secret_is_hard_coded() -> None:
    compose = _compose()
    checked = 0
    blocks = [compose["x-airflow-common"], *compose["services"].values()]
    for block in blocks:
        for key, value in _env(block).items():
            if SECRET_KEY.search(key) and not key.endswith(("_FILE", "_USERS")):
                assert REQUIRED_REF.fullmatch(value), f"{key}={value!r} is not a ${{...}}"
                checked += 1
            match = URL_WITH_PASSWORD.match(value)
            if match:
                password = match["password"]
                assert REQUIRED_REF.fullmatch(password), f"{key}: password in URL {value!r}"
                checked += 1
    assert checked >= 5


def test_example_env_covers_the_compose_file() -> None:
    example = _example_env()
    used = set(ANY_REF.findall(COMPOSE.read_text(encoding="utf-8")))
    assert used - set(example) == set(), "missing from .env.example"
    assert example["MONITOR_SMTP_URL"] == "smtp://mailpit:1025"
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert i > 0 and lines[i - 1].startswith("#"), f"no comment above {line!r}"
            key, _, value = line.partition("=")
            if SECRET_KEY.search(key):
                assert value.startswith("CHANGE_ME"), f"{key} is not a placeholder"


def test_postgres_init_script() -> None:
    assert os.access(PG_INIT, os.X_OK), "the postgres entrypoint runs only executable .sh"
    text = PG_INIT.read_text(encoding="utf-8")
    assert "CREATE DATABASE monitor" in text
    assert ":'monitor_password'" in text  # psql quotes the password
    shell = shutil.which("sh")
    if shell:
        subprocess.run([shell, "-n", str(PG_INIT)], check=True, timeout=30)


# --- Dockerfile and build context ----------------------------------------------------


def test_dockerfile() -> None:
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    text = "\n".join(lines)
    assert [line for line in lines if line.startswith("FROM ")] == ["FROM python:3.11-slim"]
    assert "AIRFLOW_HOME=/opt/airflow" in text
    assert "WORKDIR /opt/monitor" in lines
    # The locked, hashed set (Airflow and psycopg included), then the project alone, then
    # an import of every module: a missing distribution fails the build.
    assert "pip install --no-deps --require-hashes -r requirements.lock && pip check" in text
    assert "pip install --no-deps --editable ." in text
    assert "pkgutil.walk_packages(monitor.__path__" in text
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert "apache-airflow==3.3.2" in lock and "psycopg==" in lock
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"


def test_build_context_is_an_allow_list() -> None:
    rules = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    needed = {
        "pyproject.toml",
        "requirements.lock",
        "README.md",
        "src",
        "dags",
        "plugins",
        "config",
        "seeds",
        "sql",
    }
    assert needed <= allowed
    assert not {".env", ".venv", ".git", "var", "tests"} & allowed
    for name in ("pyproject.toml", "README.md", "src", "config", "dags"):
        assert (ROOT / name).exists(), f"the image needs {name}"
