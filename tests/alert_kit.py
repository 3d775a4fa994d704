"""What the alert-email tests share (test_alerts.py, test_smtp.py): the desk the digest
goes to, a tariff cut to alert on, and the message read back as a mail client would."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from monitor.config import AlertsConfig
from monitor.records import AlertView

SENDER = "Chip monitor <monitor@alerts.example.org>"
RECIPIENTS = ["desk@example.org", "analyst@example.org"]


def desk(**options: Any) -> AlertsConfig:
    """Two recipients and a sender on alerts.example.org, plus ``options``."""
    return AlertsConfig(recipients=list(RECIPIENTS), sender=SENDER, **options)


def tariff_cut(
    id: int, created_at: datetime, run_date: date, sentence: str, **more: Any
) -> AlertView:
    """A figure change: the tariff moved from 20% to 15%, quoted by ``sentence``."""
    return AlertView(
        id=id,
        rule="figure_change",
        keyword="tariff",
        summary="tariff figure moved from 20% to 15%",
        created_at=created_at,
        run_date=run_date,
        old_value="20%",
        new_value="15%",
        sentence=sentence,
        **more,
    )


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as a mail client would see it: serialized, then parsed back."""
    result = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(result, EmailMessage)
    return result


def part(message: EmailMessage, subtype: str) -> str:
    """The text of the message's ``text/SUBTYPE`` part (which must be there)."""
    body = message.get_body((subtype,))
    assert body is not None, f"no text/{subtype} part"
    content = body.get_content()
    assert isinstance(content, str)
    return content
