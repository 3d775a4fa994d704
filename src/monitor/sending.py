"""Send alert emails at most once: claim, hand over, record, recover.

The work behind the ``send_alerts`` stage (``pipeline.send_alerts`` composes the digest
and calls in here). Every email is claimed before a byte goes out: its exact bytes and
envelope are stored and its alerts marked ``sending`` in one committed transaction
(:mod:`monitor.storage.emails`). Then :mod:`monitor.smtp` says how far it got, and the
outcome is recorded:

    sent      alerts sent
    partial   alerts partial (delivered; the refused recipients named), never resent
    refused   alerts pending again (failed after alerts.max_attempts): nothing was taken
    unknown   alerts unknown: the server may have it; after alerts.resend_unknown_after
              the stored bytes go again, same Message-ID

A run that finds alerts still ``sending`` knows the run sending them died before the
server answered: they become ``unknown`` too (:func:`recover`).
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage

from monitor import alerts, smtp
from monitor.config import Config
from monitor.errors import AlertNotFoundError, DeliveryError
from monitor.records import AlertView, SendOutcome
from monitor.storage import Store
from monitor.storage.emails import PriorState

LOGGER = logging.getLogger(__name__)

# Which outcome a run reports when it sent several emails: the one needing most care.
_SEVERITY = {"sent": 0, "partial": 1, "unknown": 2, "refused": 3}


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the sending stage did. ``status`` is the worst outcome of its emails
    (``refused`` > ``unknown`` > ``partial`` > ``sent``; None when nothing was sent);
    ``error`` is set for any outcome but ``sent``; ``refused_recipients`` names each
    address the server refused with its reply; ``alerts_unknown`` counts the alerts
    whose email's fate is unknown after the stage (resent after
    ``alerts.resend_unknown_after`` with the same Message-ID)."""

    alerts_sent: int
    method: str | None
    detail: str | None
    error: str | None = None
    status: str | None = None
    refused_recipients: tuple[str, ...] = ()
    alerts_unknown: int = 0
    message_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Attempt:
    """One email handed over (or not): its outcome and the alerts it delivered."""

    message_id: str
    outcome: SendOutcome
    delivered: int


@dataclass(frozen=True, slots=True)
class Confirmation:
    """An email the operator found delivered, and the alerts it carried."""

    message_id: str
    alert_ids: tuple[int, ...]


def recover(store: Store, cfg: Config) -> list[Attempt]:
    """Emails a killed run left ``sending`` become ``unknown``; emails of unknown fate
    whose first uncertain attempt began ``alerts.resend_unknown_after`` ago go again,
    byte for byte."""

    def note(message_id: str, since: datetime) -> str:
        return _unknown_note(
            cfg,
            "the run sending it stopped before the server answered (killed?)",
            message_id,
            since,
        )

    for message_id in store.strand_sending(note):
        LOGGER.warning(
            "alert email %s was still being sent by a run that stopped; its fate is "
            "unknown, it goes again %s after that attempt began",
            message_id,
            cfg.alerts.resend_unknown_after,
        )
    attempts: list[Attempt] = []
    now = datetime.now(UTC)
    for email_id in store.due_unknown_emails(now - cfg.alerts.resend_unknown_after):
        outgoing = store.claim_unknown(email_id, now)
        if outgoing is None:
            continue  # another run took it
        LOGGER.info("sending alert email %s again (its fate was unknown)", outgoing.message_id)
        message = None if cfg.smtp is not None else _parse(outgoing.raw)
        outcome = _hand_over(cfg, message, outgoing.raw, outgoing.mail_from, outgoing.rcpt_tos)
        delivered = _record(
            store, cfg, outgoing.id, outgoing.message_id, outcome, since=outgoing.unknown_since
        )
        attempts.append(Attempt(outgoing.message_id, outcome, delivered))
    return attempts


def send_digest(
    store: Store, cfg: Config, message: EmailMessage, alert_ids: Sequence[int], run_date: date
) -> list[Attempt]:
    """Claim the digest carrying ``alert_ids`` (all pending), hand it over, record the
    outcome; nothing when another run claimed these alerts or this Message-ID first."""
    mail_from, rcpt_tos = smtp.envelope(message)
    raw = smtp.wire_bytes(message)
    message_id = str(message["Message-ID"])
    email_id = store.claim_digest(
        message_id=message_id,
        raw=raw,
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        run_date=run_date,
        alert_ids=alert_ids,
        now=datetime.now(UTC),
    )
    if email_id is None:
        LOGGER.info("alert email %s: another run is sending or sent it", message_id)
        return []
    outcome = _hand_over(cfg, message, raw, mail_from, rcpt_tos)
    return [Attempt(message_id, outcome, _record(store, cfg, email_id, message_id, outcome))]


def resend(store: Store, cfg: Config, alert: AlertView) -> SendResult:
    """Send one alert again, alone, whatever its state, as a new message with a
    Message-ID of its own: the operator asked for another copy, and a copy under the old
    Message-ID could be dropped as a duplicate by the very mailbox that lost the first.
    A ``partial`` alert goes only to the configured recipients that did not accept it
    (the refused address, once fixed in ``alerts.recipients``). It ends ``sent``,
    ``partial`` or ``unknown``, or keeps its earlier state."""
    settings = cfg.alerts
    if alert.status == "partial":
        have_it = store.accepted_recipients(alert.id)
        missing = [r for r in settings.recipients if r not in have_it]
        if not missing:
            error = f"every configured recipient already accepted alert #{alert.id}"
            return SendResult(0, None, None, error=error, status="refused")
        settings = settings.model_copy(update={"recipients": missing})
    message = alerts.compose([alert], settings, run_date=alert.run_date)
    message.replace_header("Message-ID", alerts.new_message_id(cfg.alerts.sender))
    message_id = str(message["Message-ID"])
    mail_from, rcpt_tos = smtp.envelope(message)
    raw = smtp.wire_bytes(message)
    email_id, prior = store.claim_resend(
        message_id=message_id,
        raw=raw,
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        alert_id=alert.id,
        run_date=alert.run_date,
        now=datetime.now(UTC),
    )
    outcome = _hand_over(cfg, message, raw, mail_from, rcpt_tos)
    delivered = _record(store, cfg, email_id, message_id, outcome, prior=prior)
    return summarize([Attempt(message_id, outcome, delivered)], store.alerts_in_state("unknown"))


def confirm(store: Store, alert_id: int) -> Confirmation | None:
    """Mark the email carrying ``alert_id`` (and its alerts of unknown fate) sent; None
    when the alert is not waiting on an email of unknown fate."""
    try:
        found = store.confirm_alert_email(alert_id, datetime.now(UTC))
    except LookupError:
        raise AlertNotFoundError(f"no alert #{alert_id}") from None
    return None if found is None else Confirmation(found[0], tuple(found[1]))


def summarize(attempts: Sequence[Attempt], alerts_unknown: int) -> SendResult:
    """One result for the stage's emails (recovered ones first, the digest last)."""
    if not attempts:
        return SendResult(0, None, None, alerts_unknown=alerts_unknown)
    worst = max((a.outcome for a in attempts), key=lambda o: _SEVERITY.get(o.status, 3))
    last = attempts[-1].outcome
    errors = [a.outcome.error for a in attempts if a.outcome.status != "sent" and a.outcome.error]
    refused = tuple(
        f"{r.address} ({r.code} {r.reply})"
        for a in attempts
        if a.outcome.status in ("partial", "unknown")
        for r in a.outcome.refused
    )
    return SendResult(
        alerts_sent=sum(a.delivered for a in attempts),
        method="smtp" if last.via.startswith(("smtp://", "smtps://")) else "outbox",
        detail=last.via,
        error="; ".join(errors) or None,
        status=worst.status,
        refused_recipients=refused,
        alerts_unknown=alerts_unknown,
        message_ids=tuple(a.message_id for a in attempts),
    )


def _hand_over(
    cfg: Config,
    message: EmailMessage | None,
    raw: bytes,
    mail_from: str,
    rcpt_tos: Sequence[str],
) -> SendOutcome:
    """SMTP when configured, else a new ``.eml`` in the outbox (sent, or refused)."""
    if cfg.smtp is not None:
        return smtp.transmit(raw, mail_from, rcpt_tos, cfg.smtp)
    assert message is not None
    try:
        delivery = alerts.write_outbox(message, cfg.outbox_dir)
    except DeliveryError as exc:
        return SendOutcome("refused", str(cfg.outbox_dir), error=str(exc))
    return SendOutcome("sent", delivery.detail)


def _record(
    store: Store,
    cfg: Config,
    email_id: int,
    message_id: str,
    outcome: SendOutcome,
    *,
    since: datetime | None = None,
    prior: PriorState | None = None,
) -> int:
    """Store ``outcome`` on the email and its alerts; how many alerts it delivered.

    ``since``: when the email's first uncertain attempt began (a retry of an unknown
    email), from which the next retry is counted.
    """
    now = datetime.now(UTC)
    note = outcome.error
    if outcome.status == "unknown" or (outcome.status == "refused" and since is not None):
        note = _unknown_note(cfg, outcome.error or "", message_id, since or now)
    elif outcome.status == "partial":
        note = "delivered, but refused for " + "; ".join(
            f"{r.address} ({r.code} {r.reply})" for r in outcome.refused
        )
    ids = store.finish_email(
        email_id,
        outcome,
        now=now,
        alert_error=note,
        max_attempts=None if prior is not None else cfg.alerts.max_attempts,
        prior=prior,
    )
    if outcome.status in ("sent", "partial"):
        LOGGER.info("sent alert email %s via %s", message_id, outcome.via)
        return len(ids)
    LOGGER.error("alert email %s %s: %s", message_id, outcome.status, outcome.error)
    return 0


def _unknown_note(cfg: Config, reason: str, message_id: str, since: datetime) -> str:
    """What ``monitor alerts`` shows for an alert of unknown fate: why, and what next."""
    again = max(since + cfg.alerts.resend_unknown_after, datetime.now(UTC))
    return (
        f"{reason}; the server may have it: Message-ID {message_id} goes again after "
        f"{again:%Y-%m-%d %H:%M} UTC unless confirmed (monitor alerts confirm ID)"
    )


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed
