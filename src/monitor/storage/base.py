"""What every query mixin of :class:`~monitor.storage.Store` stands on: a session.

The mixins (feeds, articles, alerts, dedup) only call ``self.session()``; the class that
composes them supplies it (``Store`` from its engine, ``DedupStore`` from its store).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session


class Queries:
    """A source of sessions: each commits when its block ends without an error and
    rolls back otherwise."""

    def session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError


def rejected(exc: BaseException) -> bool:
    """Whether ``exc`` is the database (or a column type) refusing one item's values,
    as opposed to a database that is down or broken."""
    if isinstance(exc, DBAPIError):
        # DataError: too long, out of range, bad characters; IntegrityError: a
        # constraint. An OperationalError or any other is about the database itself.
        return isinstance(exc, DataError | IntegrityError)
    # A StatementError that is no DBAPIError was raised binding a value in Python (a
    # column type refusing it); anything else there is a bug, not a bad value.
    return isinstance(exc, StatementError) and isinstance(
        exc.orig, ValueError | TypeError | OverflowError
    )


def refusal(exc: BaseException) -> str:
    """Why the database (or a column type) refused a value, in one line for a message."""
    reason = exc.orig if isinstance(exc, DBAPIError) else exc.__cause__ or exc
    return " ".join(str(reason).split())[:300]
