"""What analysts are given: ready-made SQL files run with parameters, and a read-only
PostgreSQL role that sees the views and nothing else.

The naming rule (migration 0010): analysts query the ``v_*`` views and, on PostgreSQL,
the function ``search_articles``; every other table is the pipeline's own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from monitor.errors import ConfigError, StorageError
from monitor.storage.base import Queries
from monitor.storage.views import ANALYST_VIEWS as ANALYST_VIEWS

LOGGER = logging.getLogger(__name__)

ANALYST_FUNCTIONS = ("search_articles(text, date, text, integer)",)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TIMEOUT = re.compile(r"^\d+\s*(ms|s|min|h)?$")
_PARAM = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The columns and rows a query returned, in order."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def query_file(path: Path, dialect: str) -> Path:
    """The file to run for ``path`` on ``dialect``: ``NAME.postgresql.sql`` beside
    ``NAME.sql`` wins on PostgreSQL (for SQL the two databases spell differently)."""
    variant = path.with_name(f"{path.stem}.{dialect}{path.suffix}")
    return variant if variant.is_file() else path


def without_comments(sql: str) -> str:
    """The query without its whole-line ``--`` comments (the header a query file opens
    with), whose ``:name`` examples must not become parameters."""
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def parameters(sql: str) -> list[str]:
    """The ``:name`` parameters a query binds, in order of first use (``::`` casts,
    comments and quoted strings aside)."""
    unquoted = re.sub(r"'(?:[^']|'')*'", "''", without_comments(sql))
    names: list[str] = []
    for name in _PARAM.findall(unquoted):
        if name not in names:
            names.append(name)
    return names


class AnalystQueries(Queries):
    """Running analyst SQL; the analyst role."""

    def run_query(self, sql: str, params: Mapping[str, str]) -> QueryResult:
        """Run one query; every parameter it names and ``params`` lacks is NULL (the
        query files read NULL as "no filter")."""
        sql = without_comments(sql)
        wanted = parameters(sql)
        unknown = sorted(set(params) - set(wanted))
        if unknown:
            known = ", ".join(wanted) or "none"
            raise ConfigError(f"unknown parameter {', '.join(unknown)} (this query takes: {known})")
        values = {name: params.get(name) for name in wanted}
        try:
            with self.session() as s:
                result = s.execute(text(sql), values)
                columns = tuple(result.keys())
                rows = tuple(tuple(r) for r in result.all())
        except DBAPIError as exc:
            raise StorageError(f"query failed: {' '.join(str(exc.orig).split())[:500]}") from None
        return QueryResult(columns, rows)

    def grant_analyst(self, role: str, password: str, statement_timeout: str = "30s") -> None:
        """Create (or update) a PostgreSQL login role that may read the analyst views and
        call ``search_articles``, and nothing else: no table of the pipeline, nothing of
        Airflow's, no writes; every statement stops after ``statement_timeout``."""
        if not ROLE_NAME.match(role):
            raise ConfigError(f"role {role!r}: use lower-case letters, digits and _ (at most 63)")
        if not TIMEOUT.match(statement_timeout):
            raise ConfigError(f"statement timeout {statement_timeout!r}: like 30s, 500ms, 2min")
        if not password:
            raise ConfigError("the analyst role needs a password (MONITOR_ANALYST_PASSWORD)")
        with self.session() as s:
            if s.get_bind().dialect.name != "postgresql":
                raise ConfigError(
                    "grant-analyst needs PostgreSQL; give SQLite analysts a copy of the file, "
                    "or open it read-only (sqlite3 -readonly)"
                )
            exists = s.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            verb = "ALTER" if exists else "CREATE"
            # DDL takes no bind parameters: psycopg quotes the password as a literal.
            from psycopg import sql as pgsql

            statement = pgsql.SQL(
                verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                "NOREPLICATION PASSWORD {}"
            ).format(pgsql.Identifier(role), pgsql.Literal(password))
            raw = s.connection().connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            try:
                cursor.execute(statement)
            finally:
                cursor.close()
            database = s.scalar(text("SELECT current_database()"))
            schema = s.scalar(text("SELECT current_schema()"))
            s.execute(text(f"ALTER ROLE \"{role}\" SET statement_timeout = '{statement_timeout}'"))
            s.execute(text(f'ALTER ROLE "{role}" SET default_transaction_read_only = on'))
            s.execute(text(f'ALTER ROLE "{role}" SET search_path = "{schema}"'))
            s.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
            s.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
            s.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"'))
            s.execute(text(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM "{role}"'))
            s.execute(text(f'REVOKE CREATE ON SCHEMA "{schema}" FROM "{role}"'))
            for view in ANALYST_VIEWS:
                s.execute(text(f'GRANT SELECT ON "{view}" TO "{role}"'))
            for function in ANALYST_FUNCTIONS:
                s.execute(text(f'GRANT EXECUTE ON FUNCTION {function} TO "{role}"'))
        LOGGER.info("analyst role %s may read %d views in %s", role, len(ANALYST_VIEWS), database)
