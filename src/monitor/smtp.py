"""Hand one message to an SMTP server and say exactly how far it got.

smtplib's ``send_message`` either returns or raises, and a raise cannot tell a server
that never took the message from one that took it and then went silent: retrying the
first is right, retrying the second sends the email twice. :func:`transmit` walks the
SMTP transaction step by step and returns a :class:`~monitor.records.SendOutcome`:

    refused   nothing was handed over, so sending again cannot duplicate: no connection,
              TLS or login failed, the sender or every recipient was refused, DATA was
              refused, the message could not be written out in full (the server never
              saw its final ``.``), or the server answered the message with 4xx/5xx
    sent      the server answered 250 to the message; every recipient was accepted
    partial   the same, but some recipients were refused at RCPT (each with its reply)
    unknown   the whole message went out and no answer came (timeout, dropped
              connection): the server may have it, and a blind retry may duplicate it

:func:`envelope` and :func:`wire_bytes` give the sender, the recipients and the exact
bytes that are sent, so the caller can store them and send the same bytes again.
"""

from __future__ import annotations

import copy
import email.policy
import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import getaddresses

from monitor.config import SmtpSettings
from monitor.records import RecipientReply, SendOutcome

LOGGER = logging.getLogger(__name__)

_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope of ``message``: the sender (``Sender``, else ``From``) and every
    ``To``, ``Cc`` and ``Bcc`` address, in order, each once."""
    sender_header = message.get("Sender") or message.get("From") or ""
    sender = getaddresses([str(sender_header)])[0][1] if sender_header else ""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    recipients: list[str] = []
    for _name, address in getaddresses(fields):
        if address and address not in recipients:
            recipients.append(address)
    return sender, recipients


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over the wire: CRLF line ends, no ``Bcc`` header, UTF-8
    headers only when an address needs SMTPUTF8."""
    sender, recipients = envelope(message)
    outgoing = copy.copy(message)
    del outgoing["Bcc"]
    ascii_only = all(a.isascii() for a in (sender, *recipients))
    return outgoing.as_bytes(policy=email.policy.SMTP if ascii_only else email.policy.SMTPUTF8)


def transmit(
    raw: bytes, mail_from: str, rcpt_tos: Sequence[str], smtp: SmtpSettings
) -> SendOutcome:
    """Send ``raw`` from ``mail_from`` to ``rcpt_tos`` through ``smtp``; never raises for
    what the server or the network does (see the module docstring for the outcomes)."""
    where = smtp.describe()
    if not rcpt_tos:
        return SendOutcome(
            "refused",
            where,
            error=f"cannot send alert email via {where}: the message has no recipients",
        )
    stage = "connect"
    replies: list[RecipientReply] = []
    client: smtplib.SMTP | None = None
    try:
        client = _connect(smtp)
        stage = "envelope"
        options: list[str] = []
        if not all(a.isascii() for a in (mail_from, *rcpt_tos)):
            if not client.has_extn("smtputf8"):
                return _refused(where, "the server does not take non-ASCII addresses (SMTPUTF8)")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        code, answer = client.mail(mail_from, options)
        if code != 250:
            reason = f"the server refused the sender {mail_from}: {_text(code, answer)}"
            return _refused(where, reason)
        for address in rcpt_tos:
            code, answer = client.rcpt(address)
            replies.append(RecipientReply(address, code in (250, 251), code, _decode(answer)))
        accepted = [r for r in replies if r.accepted]
        if not accepted:
            named = "; ".join(f"{r.address} ({r.code} {r.reply})" for r in replies)
            return _refused(where, f"every recipient was refused: {named}", replies)
        client.putcmd("data")
        code, answer = client.getreply()
        if code != 354:
            return _refused(where, f"the server refused DATA: {_text(code, answer)}", replies)
        stage = "payload"
        # Until the payload's last byte (the final ".") is written the server cannot take
        # the message; once it is, silence means the server may have it.
        client.send(_payload(raw))
        stage = "answer"
        code, answer = client.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        reason = _scrub(f"{type(exc).__name__}: {exc}", smtp.password)
        if stage == "answer":
            LOGGER.warning("alert email via %s: no answer after the message was sent", where)
            return SendOutcome(
                "unknown",
                where,
                error=f"no answer from {where} after the message was sent ({reason})",
                recipients=tuple(replies),
            )
        return _refused(where, reason, replies)
    finally:
        if client is not None:
            _close(client)
    reply = _text(code, answer)
    if code != 250:
        return _refused(where, f"the server rejected the message: {reply}", replies)
    refused = [r for r in replies if not r.accepted]
    if refused:
        named = "; ".join(f"{r.address} ({r.code} {r.reply})" for r in refused)
        return SendOutcome(
            "partial",
            where,
            reply=reply,
            error=f"{where} refused {len(refused)} of {len(replies)} recipients: {named}",
            recipients=tuple(replies),
        )
    return SendOutcome("sent", where, reply=reply, recipients=tuple(replies))


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        if smtp.starttls and not smtp.ssl:
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.ehlo_or_helo_if_needed()
    except BaseException:
        client.close()
        raise
    return client


def _close(client: smtplib.SMTP) -> None:
    """QUIT politely; the outcome is already decided, so a failure here changes nothing."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _payload(raw: bytes) -> bytes:
    """``raw`` with CRLF line ends, leading dots doubled, and the final ``.`` line."""
    data = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", raw))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _refused(where: str, reason: str, replies: Sequence[RecipientReply] = ()) -> SendOutcome:
    return SendOutcome(
        "refused",
        where,
        error=f"cannot send alert email via {where}: {reason}",
        recipients=tuple(replies),
    )


def _decode(answer: bytes | str) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    return " ".join(text.split())


def _text(code: int, answer: bytes | str) -> str:
    return f"{code} {_decode(answer)}".strip()


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
