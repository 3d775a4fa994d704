"""The database of one monitor: :class:`Store` opens it, hands out sessions, migrates it
with Alembic (``monitor/migrations``), and carries every query through its mixins.

SQLite is the default (a file under ``data_dir``); PostgreSQL works through
``MONITOR_DATABASE_URL``. Analysts read the ``v_*`` views (``sql/README.md``) and search
with :meth:`search`.

Three tools keep runs whole and safe to run side by side:

- :meth:`Store.item` makes one item's writes (a feed's fetch and entries, a page and the
  entries that share it, an entry's article and story) one transaction, all or nothing.
  When the database refuses a value of that item, the item fails alone with
  :class:`RejectedItemError`, and the caller records why and goes on with the next one;
- :meth:`Store.transaction` is the same without a name: an article's counts and
  readings, a seed and its signature, committed together or not at all;
- :meth:`Store.batch` is one transaction for many items (a batch of pages, of entries to
  store, of articles to count), each item a savepoint in it: one commit per batch
  instead of one per row, and a refused item still fails alone;
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

from sqlalchemy import column, create_engine, event, func, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import RejectedItemError, StorageError
from monitor.storage.alerts import AlertQueries
from monitor.storage.analyst import AnalystQueries
from monitor.storage.articles import ArticleQueries
from monitor.storage.base import rejected
from monitor.storage.browse import BrowseQueries
from monitor.storage.dedup import DedupQueries
from monitor.storage.emails import EmailQueries
from monitor.storage.feeds import FeedQueries
from monitor.storage.figures import FigureQueries
from monitor.storage.models import Base, RunRow, utcnow
from monitor.storage.search import SearchQueries
from monitor.storage.views import ANALYST_VIEWS

LOGGER = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# The PostgreSQL advisory lock key of :meth:`Store.exclusive` ("monitor" in ASCII).
LOCK_KEY = 0x6D6F6E69746F72


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


class Store(
    FeedQueries,
    ArticleQueries,
    AlertQueries,
    FigureQueries,
    DedupQueries,
    EmailQueries,
    BrowseQueries,
    SearchQueries,
    AnalystQueries,
):
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
        # The session of the open item() or transaction() block, per thread.
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
        :meth:`item` it is the item's session (the item is all or nothing); inside a
        :meth:`batch` but no item, the block is a savepoint of the batch."""
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            if getattr(self._local, "in_item", False) or not getattr(self._local, "batch", False):
                # Inside an item: any error undoes the whole item (its own savepoint or
                # transaction), so a savepoint per query would only cost round trips.
                yield current
                return
            with current.begin_nested():
                yield current
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
    def item(self, what: str) -> Iterator[None]:
        """Every write of one item in the block as one transaction (nested blocks join
        the outer one); inside :meth:`batch`, a savepoint of the batch's transaction.

        Raises :class:`RejectedItemError` naming ``what`` when the database refused one
        of its values (nothing of the item is kept; in a batch, the rest of the batch
        is); a database that is down is a :class:`StorageError`, as everywhere.
        """
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            if not getattr(self._local, "batch", False) or getattr(self._local, "in_item", False):
                yield  # an inner block joins the outer one: committed with it
                return
            self._local.in_item = True
            try:
                with current.begin_nested():
                    yield
            except OperationalError:
                raise  # the batch turns it into a StorageError
            except SQLAlchemyError as exc:
                if not rejected(exc):
                    raise
                raise self._rejection(what, exc) from exc
            except RejectedItemError as exc:
                raise RejectedItemError(f"{what}: {exc}") from exc
            finally:
                self._local.in_item = False
            return
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
                raise self._rejection(what, exc) from exc
            except RejectedItemError as exc:
                session.rollback()
                raise RejectedItemError(f"{what}: {exc}") from exc
            except BaseException:
                session.rollback()
                raise
            finally:
                self._local.session = None

    @staticmethod
    def _rejection(what: str, exc: SQLAlchemyError) -> RejectedItemError:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc.__cause__ or exc
        detail = " ".join(str(reason).split())[:300]
        LOGGER.warning("%s not stored: %s", what, detail)
        return RejectedItemError(f"{what} could not be stored: {detail}")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every query of the block (in this thread) in one transaction, committed once
        at the end, with each :meth:`item` inside a savepoint of it: an item the
        database refuses is undone alone (:class:`RejectedItemError`, the caller records
        why) and the others commit together. Any other error undoes the whole batch, so
        a process killed inside one leaves nothing of it. Inside an open item or
        transaction, the block joins it."""
        if getattr(self._local, "session", None) is not None:
            yield
            return
        with self._sessions() as session:
            self._local.session = session
            self._local.batch = True
            try:
                yield
                session.commit()
            except (OperationalError, InterfaceError) as exc:
                session.rollback()
                raise StorageError(f"database {self.safe_url}: {exc.orig}") from exc
            except BaseException:
                session.rollback()
                raise
            finally:
                self._local.session = None
                self._local.batch = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run every query of the block (in this thread) in one transaction: all of it
        is committed at the end, or nothing. Nested blocks join the outer one."""
        with self.item("transaction"):
            yield

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
        # A session-level lock on a connection of its own, in autocommit: taking and
        # releasing it commits no transaction (no COMMIT round trip per batch).
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        except (OperationalError, InterfaceError) as exc:
            raise StorageError(f"cannot {purpose} database {self.safe_url}: {exc.orig}") from None
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.close()
            except SQLAlchemyError as exc:
                # The connection is gone, and the lock with it; do not hide the error
                # that brought us here.
                LOGGER.warning("pipeline lock of %s lost: %s", self.safe_url, exc)
                connection.invalidate()

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
        """Rows of an analyst view (``v_articles``, ``v_alerts``…) as dictionaries."""
        if name not in ANALYST_VIEWS:
            raise ValueError(f"unknown view {name!r}")
        table = table_clause(name, *(column(c) for c in columns))
        with self.session() as s:
            rows = s.execute(select(table).order_by(text(order_by)))
            return [dict(r._mapping) for r in rows]

    def count(self, table: str) -> int:
        model = {m.__tablename__: m for m in Base.__subclasses__()}[table]
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
