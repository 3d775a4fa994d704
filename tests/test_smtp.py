"""monitor.smtp: how far a message got, against a real local SMTP server that misbehaves."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from alert_kit import desk, part, tariff_cut
from smtp_server import SmtpSink, free_port

from monitor.alerts import compose, digest_message_id
from monitor.config import SmtpSettings
from monitor.records import RecipientReply, SendOutcome
from monitor.smtp import envelope, transmit, wire_bytes

RUN_DATE = date(2026, 11, 2)
CREATED = datetime(2026, 11, 2, 23, 41, 7, 123456, tzinfo=UTC)
CFG = desk()
ALERT = tariff_cut(
    7, CREATED, RUN_DATE, ".15 percent is the new rate, a line that starts with a dot."
)
OK = "250 Message accepted for delivery"


def _message() -> EmailMessage:
    return compose([ALERT], CFG, run_date=RUN_DATE)


def _send(sink: SmtpSink, message: EmailMessage, timeout: float = 5.0) -> SendOutcome:
    settings = SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=timeout)
    sender, recipients = envelope(message)
    return transmit(wire_bytes(message), sender, recipients, settings)


def _accepted(address: str) -> RecipientReply:
    return RecipientReply(address, True, 250, "OK")


def test_sent_arrives_byte_for_byte_with_every_recipient_accepted() -> None:
    message = _message()
    with SmtpSink() as sink:
        outcome = _send(sink, message)
        received = list(sink.messages)
    assert outcome == SendOutcome(
        "sent",
        sink.url,
        reply=OK,
        recipients=(_accepted("desk@example.org"), _accepted("analyst@example.org")),
    )
    assert [(m.mail_from, m.rcpt_tos) for m in received] == [
        ("monitor@alerts.example.org", ("desk@example.org", "analyst@example.org"))
    ]
    # A body line starting with "." survives the dot-stuffing both ways.
    assert "> .15 percent is the new rate" in part(received[0].message, "plain")
    assert received[0].message["Message-ID"] == message["Message-ID"]


def test_one_recipient_refused_is_partial_with_the_reply() -> None:
    with SmtpSink() as sink:
        sink.misbehave(recipient_replies={"desk@example.org": "550 5.1.1 <desk>: no such user"})
        outcome = _send(sink, _message())
        received = list(sink.messages)
    assert outcome == SendOutcome(
        "partial",
        sink.url,
        reply=OK,
        error=f"{sink.url} refused 1 of 2 recipients: "
        "desk@example.org (550 5.1.1 <desk>: no such user)",
        recipients=(
            RecipientReply("desk@example.org", False, 550, "5.1.1 <desk>: no such user"),
            _accepted("analyst@example.org"),
        ),
    )
    assert [m.rcpt_tos for m in received] == [("analyst@example.org",)]


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        (
            {"sender_reply": "451 4.3.0 mail server busy, try later"},
            "the server refused the sender monitor@alerts.example.org: "
            "451 4.3.0 mail server busy, try later",
        ),
        (
            {
                "recipient_replies": {
                    "desk@example.org": "550 5.1.1 no such user",
                    "analyst@example.org": "452 4.2.2 mailbox full",
                }
            },
            "every recipient was refused: desk@example.org (550 5.1.1 no such user); "
            "analyst@example.org (452 4.2.2 mailbox full)",
        ),
        (
            {"data_reply": "554 5.7.1 message rejected as spam"},
            "the server rejected the message: 554 5.7.1 message rejected as spam",
        ),
    ],
    ids=["sender", "all-recipients", "after-data"],
)
def test_a_clear_no_is_refused(faults: dict[str, object], reason: str) -> None:
    with SmtpSink() as sink:
        sink.misbehave(**faults)
        outcome = _send(sink, _message())
        kept = list(sink.messages)
    assert outcome.status == "refused"
    assert outcome.error == f"cannot send alert email via {sink.url}: {reason}"
    assert kept == []


def test_nobody_listening_is_refused() -> None:
    port = free_port()
    settings = SmtpSettings(host="127.0.0.1", port=port, timeout_seconds=2)
    outcome = transmit(b"Subject: x\r\n\r\nx\r\n", "a@example.org", ["b@example.org"], settings)
    assert outcome.status == "refused"
    assert outcome.error is not None
    assert outcome.error.startswith(
        f"cannot send alert email via smtp://127.0.0.1:{port}: ConnectionRefusedError"
    )


@pytest.mark.parametrize("keep", [True, False], ids=["server-kept-it", "server-lost-it"])
def test_connection_dropped_after_the_message_is_unknown(keep: bool) -> None:
    with SmtpSink() as sink:
        sink.misbehave(after_data="drop", keep_unanswered=keep)
        outcome = _send(sink, _message())
        kept = len(sink.messages)
        assert sink.transactions == 1
    assert outcome.status == "unknown"
    assert outcome.error is not None
    assert outcome.error.startswith(f"no answer from {sink.url} after the message was sent (")
    assert outcome.recipients == (_accepted("desk@example.org"), _accepted("analyst@example.org"))
    # Whether the server kept it is exactly what the client cannot know.
    assert kept == (1 if keep else 0)


def test_an_answer_after_the_client_timeout_is_unknown() -> None:
    with SmtpSink() as sink:
        sink.misbehave(after_data="slow", slow_seconds=3)
        started = time.monotonic()
        outcome = _send(sink, _message(), timeout=0.5)
        waited = time.monotonic() - started
        kept = len(sink.messages)
    assert outcome.status == "unknown"
    assert "timed out" in (outcome.error or "")
    assert waited < 2.5
    assert kept == 1


def test_the_same_alerts_give_the_same_message_id() -> None:
    first = compose([ALERT], CFG, run_date=RUN_DATE)
    later = compose([ALERT], CFG, run_date=date(2026, 11, 5), now=datetime.now(UTC))
    assert first["Message-ID"] == later["Message-ID"]
    assert first["Message-ID"] == digest_message_id([ALERT], CFG.sender, RUN_DATE)
    assert first["Message-ID"].endswith("@alerts.example.org>")
    other = dataclasses.replace(ALERT, id=8)
    assert compose([ALERT, other], CFG, run_date=RUN_DATE)["Message-ID"] != first["Message-ID"]
    # A digest without alerts is named by its day.
    empty = compose([], CFG, run_date=RUN_DATE, always=True)
    assert empty["Message-ID"] == compose([], CFG, run_date=RUN_DATE, always=True)["Message-ID"]
    assert (
        empty["Message-ID"]
        != compose([], CFG, run_date=date(2026, 11, 3), always=True)["Message-ID"]
    )
