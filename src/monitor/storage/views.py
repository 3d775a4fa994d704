"""The analyst views read without SQLAlchemy, for the listing commands
(``monitor articles``, ``monitor alerts``) that must start in a fraction of a second.

Importing SQLAlchemy alone takes about 0.3 s here (the ORM models as much again), more
than the whole command may take; a SELECT on one view needs none of it. SQLite is read
through the standard library's ``sqlite3`` (an existing file only), PostgreSQL through psycopg;
any other URL (another driver, SQLAlchemy query options) goes through
:class:`~monitor.storage.Store`, as before. Values come back as the driver gives them,
which is what SQLAlchemy hands over for untyped view columns too: SQLite timestamps
as text, PostgreSQL's as datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitor.errors import StorageError

ANALYST_VIEWS = (
    "v_articles",
    "v_alerts",
    "v_stories",
    "v_keyword_daily",
    "v_figures",
    "v_story_outlets",
    "v_feed_health",
    "v_runs",
)
# What the listing commands sort by: column names and commas only.
_ORDER_BY = re.compile(r"^[a-z_]+( (asc|desc))?(, [a-z_]+( (asc|desc))?)*$")
_COLUMN = re.compile(r"^[a-z_]+$")
# Store sets the same busy timeout: a listing waits for a run's write, not fails.
BUSY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ViewRows:
    """Rows of one view (column name to value) and where they were read."""

    rows: list[dict[str, Any]]
    where: str


def safe_url(url: str) -> str:
    """``url`` with its password masked, as :attr:`Store.safe_url` shows it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _select(name: str, columns: Sequence[str], order_by: str) -> str:
    if name not in ANALYST_VIEWS:
        raise ValueError(f"unknown view {name!r}")
    if not all(_COLUMN.match(c) for c in columns) or not _ORDER_BY.match(order_by):
        raise ValueError(f"columns {list(columns)!r} or order {order_by!r} of {name}")
    listed = ", ".join(f'"{c}"' for c in columns)
    return f'SELECT {listed} FROM "{name}" ORDER BY {order_by}'


def _sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL (no query options), else None."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") else Path(path)


def _psycopg_conninfo(url: str) -> str | None:
    """A libpq URI for a ``postgresql://`` or ``postgresql+psycopg://`` URL, else None."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgresql+psycopg"):
        return None
    return f"postgresql://{rest}"


def read_view(url: str, name: str, columns: Sequence[str], order_by: str) -> ViewRows:
    """The rows of view ``name`` (one of :data:`ANALYST_VIEWS`) in the database at
    ``url``; a database that cannot be read is a :class:`StorageError`."""
    sql = _select(name, columns, order_by)
    path = _sqlite_path(url)
    if path is not None:
        return ViewRows(_read_sqlite(path, url, sql, columns), url)
    conninfo = _psycopg_conninfo(url)
    if conninfo is not None and find_spec("psycopg") is not None:
        return ViewRows(_read_postgresql(conninfo, url, sql, columns), safe_url(url))
    from monitor.storage import Store

    store = Store(url)
    try:
        return ViewRows(store.view(name, columns, order_by), store.safe_url)
    finally:
        store.close()


def _read_sqlite(path: Path, url: str, sql: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    import sqlite3

    if not path.is_file():
        raise StorageError(f"database {url}: no database file at {path} (run `monitor init`)")
    try:
        # mode=rw, not ro: never creates the file, and can still roll back the journal
        # a killed run left (a read-only connection would refuse to read until then).
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS
        )
    except sqlite3.Error as exc:
        raise StorageError(f"database {url}: {exc}") from None
    try:
        rows = connection.execute(sql).fetchall()
    except sqlite3.Error as exc:
        raise StorageError(f"database {url}: {exc}") from None
    finally:
        connection.close()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _read_postgresql(
    conninfo: str, url: str, sql: str, columns: Sequence[str]
) -> list[dict[str, Any]]:
    import psycopg

    try:
        with psycopg.connect(conninfo) as connection:
            rows = connection.execute(sql).fetchall()
    except psycopg.Error as exc:
        detail = " ".join(str(exc).split())
        raise StorageError(f"database {safe_url(url)}: {detail}") from None
    return [dict(zip(columns, row, strict=True)) for row in rows]
