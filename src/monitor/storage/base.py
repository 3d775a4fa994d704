"""What every query mixin of :class:`~monitor.storage.Store` stands on: a session.

The mixins (feeds, articles, alerts, dedup) only call ``self.session()``; the class that
composes them supplies it (``Store`` from its engine, ``DedupStore`` from its store).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.orm import Session


class Queries:
    """A source of sessions: each commits when its block ends without an error and
    rolls back otherwise."""

    def session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError
