"""Shared fixtures: real components only.

- ``db_url``: every storage test runs twice, on a fresh SQLite file and on a fresh
  database of the local PostgreSQL (``MONITOR_TEST_POSTGRES_URL``, default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). Without a reachable
  PostgreSQL those cases skip, saying how to enable them; under ``CI=true`` they fail.
- ``site``: the fixture news site (tests/fixtures/site) on a real local HTTP server.
- ``smtp``: a real local SMTP server (aiosmtpd) collecting messages.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

# Airflow reads these once, at import: set them before any test imports airflow.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="monitor-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
for _var in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL", "MONITOR_SMTP_URL", "MONITOR_DATA_DIR"):
    os.environ.pop(_var, None)

from fixture_site import FixtureSite  # noqa: E402
from smtp_server import SmtpSink  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_HELP = (
    "PostgreSQL not reachable at {url} ({error}); start it or set MONITOR_TEST_POSTGRES_URL "
    "to a server where this user may CREATE DATABASE to run the PostgreSQL cases"
)

DAY1 = "2026-11-02"
DAY2 = "2026-11-03"


def _postgres_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin_url = os.environ.get("MONITOR_TEST_POSTGRES_URL", PG_DEFAULT)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = PG_HELP.format(url=admin_url, error=str(exc.orig).strip().splitlines()[0])
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def write_config(
    directory: Path,
    site: FixtureSite,
    *,
    feeds: list[tuple[str, str]] | None = None,
    primary: tuple[str, ...] = ("Formosa Wire",),
    extra: str = "",
) -> Path:
    """A user config for the fixture site: its feeds (paths on ``site``, or absolute
    URLs), private addresses allowed.

    Formosa Wire is marked ``primary: true``: W1 is the only report of the tariff cut on
    DAY1, so the wire stands in for a press office whose one story announces a figure.
    """
    feeds = feeds or [
        ("Formosa Wire", "/feeds/wire.xml"),
        ("Pacific Trade Ledger", "/feeds/ledger.atom"),
        ("Taiwan Tech Daily (zh)", "/feeds/zh.xml"),
        ("Broken feed", "/feeds/broken.xml"),
        ("Dead feed", "/status/500"),
    ]
    lines = [
        f"data_dir: {directory / 'var'}",
        "http:",
        "  allow_private_addresses: true",
        "  timeout_seconds: 5",
        # One local host serves everything: no politeness delay, quick retries.
        "  per_host_delay_seconds: 0",
        "  backoff_seconds: 0.05",
        "feeds:",
    ]
    for name, path in feeds:
        url = path if "://" in path else site.url(path)  # an absolute URL: another host
        lines += [f"  - name: {name}", f"    url: {url}"]
        if name in primary:
            lines.append("    primary: true")
    lines += [
        "alerts:",
        "  recipients: [analyst@example.org, desk@example.org]",
        "  sender: monitor@example.org",
    ]
    path = directory / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path
