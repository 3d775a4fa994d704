"""The database of one monitor: :class:`Store` opens it, hands out sessions, migrates it
with Alembic (``monitor/migrations``), and carries every query through its mixins.

SQLite is the default (a file under ``data_dir``); PostgreSQL works through
``MONITOR_DATABASE_URL``. Analysts read the views ``v_articles``, ``v_alerts`` and
``v_stories``.

One item's writes (a feed's fetch and entries, an entry's page, an entry's article and
story) go through :meth:`Store.item`: one transaction, all or nothing. When the database
refuses a value of that item, the item fails alone with :class:`RejectedItemError`, and
the caller records why and goes on with the next one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, event, func, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import RejectedItemError, StorageError
from monitor.storage.alerts import AlertQueries
from monitor.storage.articles import ArticleQueries
from monitor.storage.base import rejected
from monitor.storage.dedup import DedupQueries
from monitor.storage.emails import EmailQueries
from monitor.storage.feeds import FeedQueries
from monitor.storage.figures import FigureQueries
from monitor.storage.models import Base, RunRow, utcnow

LOGGER = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # pysqlite opens transactions late and on its own terms, which breaks SAVEPOINT;
    # SQLAlchemy's documented remedy: the driver does none, _sqlite_begin does all.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


class Store(FeedQueries, ArticleQueries, AlertQueries, FigureQueries, DedupQueries, EmailQueries):
    """The database of one monitor: open it, migrate it, read and write pipeline rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) not in ("", ":memory:"):
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageError(
                        f"cannot create the folder {path.parent} for the database {path}: "
                        f"{exc.strerror or exc}"
                    ) from None
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"cannot open database {self.safe_url}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The session of the item being written in this thread (see item()).
        self._local = threading.local()

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
        """A session that commits when the block ends without an error. Inside
        :meth:`item` it is the item's session, and the block a savepoint in it."""
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            with current.begin_nested():
                yield current
            return
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise StorageError(f"database {self.safe_url}: {exc.orig}") from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def item(self, what: str) -> Iterator[None]:
        """Every write of one item in the block as one transaction.

        Raises :class:`RejectedItemError` naming ``what`` when the database refused one
        of its values (nothing of the item is kept); a database that is down is a
        :class:`StorageError`, as everywhere.
        """
        if getattr(self._local, "session", None) is not None:
            raise RuntimeError("Store.item() blocks do not nest")
        with self._sessions() as session:
            self._local.session = session
            try:
                yield
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise StorageError(f"database {self.safe_url}: {exc.orig}") from exc
            except SQLAlchemyError as exc:
                session.rollback()
                if not rejected(exc):
                    raise
                reason = exc.orig if isinstance(exc, DBAPIError) else exc.__cause__ or exc
                detail = " ".join(str(reason).split())[:300]
                LOGGER.warning("%s not stored: %s", what, detail)
                raise RejectedItemError(f"{what} could not be stored: {detail}") from exc
            except RejectedItemError as exc:
                session.rollback()
                raise RejectedItemError(f"{what}: {exc}") from exc
            except BaseException:
                session.rollback()
                raise
            finally:
                self._local.session = None

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold a database-wide lock for the work called ``name`` ("migrate") for the
        block, so that two processes doing the same first-time work take turns. On
        PostgreSQL an advisory lock; SQLite serializes writers by itself."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        try:
            connection = self.engine.connect()
            connection.execute(
                text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": f"monitor {name}"}
            )
            connection.commit()
        except OperationalError as exc:
            raise StorageError(f"cannot {name} database {self.safe_url}: {exc.orig}") from None
        try:
            yield
        finally:
            try:
                connection.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": f"monitor {name}"}
                )
                connection.commit()
            finally:
                connection.close()

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        # Alembic is imported here: reading commands never migrate, and start faster.
        from alembic import command
        from alembic.config import Config as AlembicConfig

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
