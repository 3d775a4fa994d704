"""Queries behind sending alert emails exactly once: each composed email with its bytes,
the states of the alerts it carries, and what the server answered per recipient.

An email is claimed (the row written, its alerts marked ``sending``) in one committed
transaction before any byte goes to the server, and finished in another once the
server has answered, so a run killed in between leaves ``sending`` behind for the next
run to find (:meth:`EmailQueries.strand_sending`).

    alert:  pending → sending → sent | partial | unknown | pending (refused) → failed
            unknown → (after alerts.resend_unknown_after) sending → …
    email:  sending → sent | partial | unknown | refused
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.records import SendOutcome
from monitor.storage.base import Queries
from monitor.storage.models import AlertEmailRecipientRow, AlertEmailRow, AlertRow

# The states in which an alert belongs to a send in flight or of unknown fate.
IN_FLIGHT = ("sending", "unknown")


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A claimed email, ready to go: the exact bytes and envelope to send."""

    id: int
    message_id: str
    kind: str  # digest | resend
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    alert_ids: tuple[int, ...]
    unknown_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class PriorState:
    """An alert's status and email before an operator's resend claimed it, put back if
    the resend is refused."""

    status: str
    email_id: int | None


class EmailQueries(Queries):
    """Alert emails: claim, finish, recover, confirm."""

    def claim_digest(
        self,
        *,
        message_id: str,
        raw: bytes,
        mail_from: str,
        rcpt_tos: Sequence[str],
        run_date: date,
        alert_ids: Sequence[int],
        now: datetime,
    ) -> int | None:
        """Record the digest and mark its alerts ``sending`` (one attempt each), in one
        committed transaction; the email's id, or None when another run got there first
        (an alert is no longer pending, or this Message-ID is being or was sent)."""
        ids = list(alert_ids)
        with self.session() as s:
            row = s.scalar(select(AlertEmailRow).where(AlertEmailRow.message_id == message_id))
            if row is None:
                row = AlertEmailRow(
                    message_id=message_id,
                    kind="digest",
                    run_date=run_date,
                    status="sending",
                    alert_count=len(ids),
                    attempts=1,
                    created_at=now,
                    last_attempt_at=now,
                    mail_from=mail_from,
                    rcpt_tos=json.dumps(list(rcpt_tos)),
                    raw=raw,
                )
                s.add(row)
                try:
                    s.flush()
                except IntegrityError:
                    s.rollback()
                    return None
            else:
                # The same alerts were composed before and refused (never handed over):
                # the new composition replaces it under the same Message-ID.
                taken = s.execute(
                    update(AlertEmailRow)
                    .where(AlertEmailRow.id == row.id, AlertEmailRow.status == "refused")
                    .values(
                        status="sending",
                        attempts=AlertEmailRow.attempts + 1,
                        last_attempt_at=now,
                        run_date=run_date,
                        mail_from=mail_from,
                        rcpt_tos=json.dumps(list(rcpt_tos)),
                        raw=raw,
                        reply=None,
                        last_error=None,
                    )
                )
                if _count(taken) != 1:
                    s.rollback()
                    return None
            email_id = row.id
            if ids:
                claimed = s.execute(
                    update(AlertRow)
                    .where(AlertRow.id.in_(ids), AlertRow.status == "pending")
                    .values(status="sending", email_id=email_id, attempts=AlertRow.attempts + 1)
                )
                if _count(claimed) != len(ids):
                    s.rollback()
                    return None
            return email_id

    def claim_resend(
        self,
        *,
        message_id: str,
        raw: bytes,
        mail_from: str,
        rcpt_tos: Sequence[str],
        alert_id: int,
        run_date: date,
        now: datetime,
    ) -> tuple[int, PriorState]:
        """Record an operator's resend of one alert (whatever its state) and mark the
        alert ``sending``; the email's id and the alert's state before."""
        with self.session() as s:
            alert = s.get(AlertRow, alert_id)
            if alert is None:
                raise LookupError(alert_id)
            prior = PriorState(alert.status, alert.email_id)
            row = AlertEmailRow(
                message_id=message_id,
                kind="resend",
                run_date=run_date,
                status="sending",
                alert_count=1,
                attempts=1,
                created_at=now,
                last_attempt_at=now,
                mail_from=mail_from,
                rcpt_tos=json.dumps(list(rcpt_tos)),
                raw=raw,
            )
            s.add(row)
            s.flush()
            alert.status = "sending"
            alert.email_id = row.id
            alert.attempts = alert.attempts + 1
            return row.id, prior

    def claim_unknown(self, email_id: int, now: datetime) -> OutgoingEmail | None:
        """Take an email of unknown outcome for another attempt (its alerts ``sending``);
        None when another run took it first."""
        with self.session() as s:
            taken = s.execute(
                update(AlertEmailRow)
                .where(AlertEmailRow.id == email_id, AlertEmailRow.status == "unknown")
                .values(
                    status="sending",
                    attempts=AlertEmailRow.attempts + 1,
                    last_attempt_at=now,
                )
            )
            if _count(taken) != 1:
                s.rollback()
                return None
            s.execute(
                update(AlertRow)
                .where(AlertRow.email_id == email_id, AlertRow.status == "unknown")
                .values(status="sending", attempts=AlertRow.attempts + 1)
            )
            row = s.get(AlertEmailRow, email_id)
            assert row is not None
            return self._outgoing(s, row)

    def finish_email(
        self,
        email_id: int,
        outcome: SendOutcome,
        *,
        now: datetime,
        alert_error: str | None,
        max_attempts: int | None = None,
        prior: PriorState | None = None,
    ) -> list[int]:
        """Record one attempt's outcome on the email, its recipients and its alerts
        (those still ``sending``, or marked ``unknown`` meanwhile by another run); the
        ids of those alerts.

        ``refused``: the alerts go back to ``pending`` (``unknown`` when an earlier
        attempt's fate is unknown: that copy may still have arrived); ``refused`` or
        ``unknown`` turns them ``failed`` once ``max_attempts`` attempts are spent (a
        server that always drops the line after DATA gets no endless copies); with
        ``prior`` (an operator's resend) they get their earlier state back instead.
        """
        with self.session() as s:
            row = s.get(AlertEmailRow, email_id)
            if row is None:
                raise LookupError(email_id)
            was_unknown = row.unknown_since is not None
            status = outcome.status
            email_status = "unknown" if status == "refused" and was_unknown else status
            row.status = email_status
            row.via = outcome.via
            row.reply = outcome.reply
            row.last_error = outcome.error
            if status == "unknown" and row.unknown_since is None:
                row.unknown_since = row.last_attempt_at
            if status in ("sent", "partial"):
                row.finished_at = now
            self._record_recipients(s, email_id, outcome, now)
            carried = AlertRow.email_id == email_id, AlertRow.status.in_(IN_FLIGHT)
            ids = list(s.scalars(select(AlertRow.id).where(*carried).order_by(AlertRow.id)))
            values: dict[str, Any] = {"last_error": alert_error}
            if status in ("sent", "partial"):
                values.update(status=status, sent_at=now)
            elif status == "unknown":
                values.update(status="unknown")
            elif prior is not None:
                values.update(status=prior.status, email_id=prior.email_id)
            else:
                values.update(status="unknown" if was_unknown else "pending")
            s.execute(update(AlertRow).where(AlertRow.id.in_(ids)).values(**values))
            if status in ("refused", "unknown") and prior is None and max_attempts is not None:
                s.execute(
                    update(AlertRow)
                    .where(
                        AlertRow.id.in_(ids),
                        AlertRow.status.in_(("pending", "unknown")),
                        AlertRow.attempts >= max_attempts,
                    )
                    .values(status="failed")
                )
            return ids

    def strand_sending(self, note: Callable[[str, datetime], str]) -> list[str]:
        """Emails (and their alerts) still ``sending``: the run sending them stopped
        before the server answered, so whether they arrived is unknown. Marks them
        ``unknown`` (the alerts' last error is ``note(message_id, unknown_since)``) and
        returns their Message-IDs. A run still in flight that finishes later overwrites
        this with what the server said."""
        with self.session() as s:
            rows = list(s.scalars(select(AlertEmailRow).where(AlertEmailRow.status == "sending")))
            for row in rows:
                row.status = "unknown"
                row.last_error = "the run sending it stopped before the server answered"
                if row.unknown_since is None:
                    row.unknown_since = row.last_attempt_at
                s.execute(
                    update(AlertRow)
                    .where(AlertRow.email_id == row.id, AlertRow.status == "sending")
                    .values(status="unknown", last_error=note(row.message_id, row.unknown_since))
                )
            return [row.message_id for row in rows]

    def due_unknown_emails(self, cutoff: datetime) -> list[int]:
        """Emails of unknown outcome whose first uncertain attempt began at or before
        ``cutoff`` and that still carry an alert of unknown fate (or never carried any:
        a daily digest without alerts), oldest first."""
        waiting = (
            select(AlertRow.id)
            .where(AlertRow.email_id == AlertEmailRow.id, AlertRow.status == "unknown")
            .exists()
        )
        with self.session() as s:
            return list(
                s.scalars(
                    select(AlertEmailRow.id)
                    .where(
                        AlertEmailRow.status == "unknown",
                        AlertEmailRow.unknown_since <= cutoff,
                        or_(AlertEmailRow.alert_count == 0, waiting),
                    )
                    .order_by(AlertEmailRow.unknown_since, AlertEmailRow.id)
                )
            )

    def alerts_in_state(self, status: str) -> int:
        with self.session() as s:
            return int(
                s.scalar(
                    select(func.count()).select_from(AlertRow).where(AlertRow.status == status)
                )
                or 0
            )

    def confirm_alert_email(self, alert_id: int, now: datetime) -> tuple[str, list[int]] | None:
        """The operator saw the email carrying ``alert_id`` arrive: mark it and its alerts
        still ``unknown``/``sending`` sent. The Message-ID and those alerts' ids, or None
        when the alert is not waiting on an email of unknown fate."""
        with self.session() as s:
            alert = s.get(AlertRow, alert_id)
            if alert is None:
                raise LookupError(alert_id)
            if alert.status not in IN_FLIGHT or alert.email_id is None:
                return None
            row = s.get(AlertEmailRow, alert.email_id)
            if row is None:
                return None
            row.status = "sent"
            row.finished_at = now
            row.last_error = "confirmed by the operator"
            ids = list(
                s.scalars(
                    select(AlertRow.id)
                    .where(AlertRow.email_id == row.id, AlertRow.status.in_(IN_FLIGHT))
                    .order_by(AlertRow.id)
                )
            )
            s.execute(
                update(AlertRow)
                .where(AlertRow.id.in_(ids))
                .values(status="sent", sent_at=now, last_error=None)
            )
            return row.message_id, ids

    def accepted_recipients(self, alert_id: int) -> set[str]:
        """Addresses the server accepted for the email that carries ``alert_id`` now,
        when that email was delivered (``sent`` or ``partial``)."""
        with self.session() as s:
            return set(
                s.scalars(
                    select(AlertEmailRecipientRow.address)
                    .join(AlertEmailRow, AlertEmailRow.id == AlertEmailRecipientRow.email_id)
                    .join(AlertRow, AlertRow.email_id == AlertEmailRow.id)
                    .where(
                        AlertRow.id == alert_id,
                        AlertEmailRow.status.in_(("sent", "partial")),
                        AlertEmailRecipientRow.status == "accepted",
                    )
                )
            )

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _outgoing(s: Session, row: AlertEmailRow) -> OutgoingEmail:
        ids = s.scalars(
            select(AlertRow.id)
            .where(AlertRow.email_id == row.id, AlertRow.status == "sending")
            .order_by(AlertRow.id)
        )
        return OutgoingEmail(
            id=row.id,
            message_id=row.message_id,
            kind=row.kind,
            mail_from=row.mail_from,
            rcpt_tos=tuple(json.loads(row.rcpt_tos)),
            raw=row.raw,
            alert_ids=tuple(ids),
            unknown_since=row.unknown_since,
        )

    @staticmethod
    def _record_recipients(s: Session, email_id: int, outcome: SendOutcome, now: datetime) -> None:
        if not outcome.recipients:
            return
        known = {
            r.address: r
            for r in s.scalars(
                select(AlertEmailRecipientRow).where(AlertEmailRecipientRow.email_id == email_id)
            )
        }
        for reply in outcome.recipients:
            row = known.get(reply.address)
            if row is None:
                row = AlertEmailRecipientRow(email_id=email_id, address=reply.address)
                s.add(row)
                known[reply.address] = row
            row.status = "accepted" if reply.accepted else "refused"
            row.code = reply.code
            row.reply = reply.reply
            row.answered_at = now


def _count(result: Any) -> int:
    """Rows an UPDATE matched."""
    return int(getattr(result, "rowcount", 0) or 0)
