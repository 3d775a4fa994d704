"""The database of one monitor: :class:`Store` opens it, hands out sessions, migrates it
with Alembic (``monitor/migrations``), and carries every query through its mixins.

SQLite is the default (a file under ``data_dir``); PostgreSQL works through
``MONITOR_DATABASE_URL``. Analysts read the views ``v_articles``, ``v_alerts`` and
``v_stories``.

Two tools make runs resumable and safe to run side by side:

- :meth:`Store.transaction` turns every query inside its block (each normally its own
  transaction) into one transaction, so an entry's new state and its article row, or an
  article's counts and its alerts, are committed together or not at all;
- :meth:`Store.exclusive` is a lock on the whole database (a PostgreSQL advisory lock, a
  file lock beside a SQLite file) that every stage holds while it works, so two runs —
  of one day or of two — take turns instead of doing the same work twice. A killed
  process loses it with its connection or file descriptor.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import column, create_engine, event, func, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StorageError
from monitor.storage.alerts import AlertQueries
from monitor.storage.articles import ArticleQueries
from monitor.storage.dedup import DedupQueries
from monitor.storage.feeds import FeedQueries
from monitor.storage.models import Base, RunRow, utcnow

LOGGER = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The PostgreSQL advisory lock key of :meth:`Store.exclusive` ("monitor" in ASCII).
LOCK_KEY = 0x6D6F6E69746F72


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store(FeedQueries, ArticleQueries, AlertQueries, DedupQueries):
    """The database of one monitor: open it, migrate it, read and write pipeline rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"cannot open database {self.safe_url}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The session of an open :meth:`transaction`, per thread.
        self._shared = threading.local()

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        try:
            return self.engine.url.render_as_string(hide_password=True)
        except AttributeError:
            return self.url.split("@")[-1]

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block ends (rolled back on an error); inside
        :meth:`transaction`, that transaction's session, committed with it."""
        shared: Session | None = getattr(self._shared, "session", None)
        if shared is not None:
            yield shared
            return
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except (OperationalError, InterfaceError) as exc:
                # The server went away or refused us: the run cannot go on.
                session.rollback()
                raise StorageError(f"database {self.safe_url}: {exc.orig}") from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run every query of the block (in this thread) in one transaction: all of it
        is committed at the end, or nothing. Nested blocks join the outer one."""
        if getattr(self._shared, "session", None) is not None:
            yield
            return
        with self.session() as session:
            self._shared.session = session
            try:
                yield
            finally:
                self._shared.session = None

    @contextmanager
    def exclusive(self, purpose: str = "use") -> Iterator[None]:
        """Hold the database's pipeline lock for the block; waits while another process
        (another run, another Airflow task) holds it. Not re-entrant. ``purpose`` words
        the error when the database cannot be reached ("cannot migrate database …")."""
        if self.engine.dialect.name == "postgresql":
            with self._advisory_lock(purpose):
                yield
            return
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            yield
            return
        lock_path = Path(f"{database}.lock")
        try:
            handle = lock_path.open("a+b")
        except OSError as exc:
            raise StorageError(f"cannot {purpose} database {self.safe_url}: {exc}") from None
        with handle:  # closing the descriptor (or dying) releases the lock
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    @contextmanager
    def _advisory_lock(self, purpose: str) -> Iterator[None]:
        try:
            connection = self.engine.connect()
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            connection.commit()
        except (OperationalError, InterfaceError) as exc:
            raise StorageError(f"cannot {purpose} database {self.safe_url}: {exc.orig}") from None
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.commit()
                connection.close()
            except SQLAlchemyError as exc:
                # The connection is gone, and the lock with it; do not hide the error
                # that brought us here.
                LOGGER.warning("pipeline lock of %s lost: %s", self.safe_url, exc)
                connection.invalidate()

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise StorageError(f"cannot migrate database {self.safe_url}: {exc.orig}") from None

    # -- runs and views ---------------------------------------------------------------

    def record_run(self, run_date: date, stats: dict[str, Any]) -> None:
        with self.session() as s:
            s.add(
                RunRow(
                    run_date=run_date,
                    finished_at=utcnow(),
                    stats=json.dumps(stats, sort_keys=True),
                )
            )

    def last_run(self) -> tuple[date, dict[str, Any]] | None:
        with self.session() as s:
            row = s.scalar(select(RunRow).order_by(RunRow.id.desc()).limit(1))
            return None if row is None else (row.run_date, json.loads(row.stats))

    def view(self, name: str, columns: Sequence[str], order_by: str) -> list[dict[str, Any]]:
        """Rows of an analyst view (``v_articles``, ``v_alerts``) as dictionaries."""
        if name not in ("v_articles", "v_alerts", "v_stories"):
            raise ValueError(f"unknown view {name!r}")
        table = table_clause(name, *(column(c) for c in columns))
        with self.session() as s:
            rows = s.execute(select(table).order_by(text(order_by)))
            return [dict(r._mapping) for r in rows]

    def count(self, table: str) -> int:
        model = {m.__tablename__: m for m in Base.__subclasses__()}[table]
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
