"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd in a thread, keeping what it receives.

Usage::

    with SmtpSink() as sink:
        deliver(message, smtp=SmtpSettings(host=sink.host, port=sink.port), ...)
    assert [m.rcpt_tos for m in sink.messages] == [("a@example.org",)]

It can misbehave the way real servers do (``sink.faults``): refuse the sender or some
recipients with a reply of your choosing, reject the message after DATA, or, once it
has the whole message, drop the connection, answer late, or hold its answer until the
test lets go (or the client disappears). A message the server received in full is kept
in ``messages`` whatever happens next, as a server that queued it before answering
would; ``keep_unanswered=False`` models one that discards what it could not confirm.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message as the server got it: the parsed message and the SMTP envelope."""

    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]


@dataclass
class Faults:
    """How the server misbehaves from the next transaction on (all off by default).

    ``sender_reply``: answer to every MAIL FROM (e.g. "451 4.3.0 try again later");
    ``recipient_replies``: address → answer to its RCPT TO (e.g. "550 5.1.1 no such user");
    ``data_reply``: answer to the message instead of 250 (e.g. "554 5.7.1 rejected");
    ``after_data``: once the whole message is in, ``"drop"`` closes the connection
    without an answer, ``"slow"`` answers after ``slow_seconds``, ``"hold"`` answers only
    after ``release`` is set (``holding`` is set while it waits).
    """

    sender_reply: str | None = None
    recipient_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    after_data: str | None = None
    slow_seconds: float = 0.0
    keep_unanswered: bool = True
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class _Collector:
    """aiosmtpd handler: parse each DATA and keep it, misbehaving as ``faults`` say."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.faults = Faults()
        self.transactions = 0  # messages received in full, kept or not
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.faults.sender_reply:
            return self.faults.sender_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refused = self.faults.recipient_replies.get(address)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        faults = self.faults
        content = envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = ReceivedMail(parsed, str(envelope.mail_from), tuple(envelope.rcpt_tos))
        with self._lock:
            self.transactions += 1
        if faults.data_reply:
            return faults.data_reply
        if faults.after_data is None or faults.keep_unanswered:
            self._keep(mail)
        # The waits below end early when the client goes away: aiosmtpd cancels this
        # handler as soon as the connection is lost.
        if faults.after_data == "drop":
            server.transport.close()
            await asyncio.sleep(60)
        elif faults.after_data == "slow":
            await asyncio.sleep(faults.slow_seconds)
        elif faults.after_data == "hold":
            faults.holding.set()
            while not faults.release.is_set():
                await asyncio.sleep(0.02)
        if faults.after_data is not None and not faults.keep_unanswered:
            self._keep(mail)
        return "250 Message accepted for delivery"

    def _keep(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)


class SmtpSink:
    """Context manager: an SMTP server on a free local port that collects every message.

    ``messages`` fills as mail arrives (the server answers 250 only after the message is
    stored, so it is complete as soon as the client's send returns).
    """

    _START_ATTEMPTS = 5

    def __init__(self, port: int | None = None) -> None:
        """``port`` fixes the port (e.g. to bring a "down" server back where clients
        expect it); by default a free one is picked now, so ``url`` is known before start."""
        self.host = HOST
        self._fixed = port is not None
        self.port = port if port is not None else free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._collector.messages

    @property
    def faults(self) -> Faults:
        return self._collector.faults

    @property
    def transactions(self) -> int:
        """Messages that reached the server in full (kept or not)."""
        return self._collector.transactions

    def misbehave(self, **faults: Any) -> Faults:
        """Replace the faults (see :class:`Faults`); ``misbehave()`` heals the server."""
        self.faults.release.set()  # let go of a held transaction of the old faults
        self._collector.faults = Faults(**faults)
        return self._collector.faults

    def mailbox(self) -> list[ReceivedMail]:
        """What a mailbox that drops a repeated Message-ID shows (as Gmail does, or
        Dovecot and Cyrus with duplicate suppression): the first copy of each."""
        seen: set[str] = set()
        shown: list[ReceivedMail] = []
        for mail in list(self.messages):
            key = str(mail.message["Message-ID"])
            if key not in seen:
                seen.add(key)
                shown.append(mail)
        return shown

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Wait until the server keeps ``count`` messages (a held or slow transaction
        finishes on the server's own time)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    def start(self) -> None:
        # free_port() can race with another process taking the port before aiosmtpd binds
        # it, so a failed bind is retried on a fresh port.
        for attempt in range(1, self._START_ATTEMPTS + 1):
            port = self.port if self._fixed or attempt == 1 else free_port()
            # server_hostname avoids socket.getfqdn(), which can stall on a machine
            # without DNS.
            controller = Controller(
                self._collector, hostname=self.host, port=port, server_hostname="localhost"
            )
            try:
                controller.start()
            except OSError:
                self._discard(controller)
                if self._fixed or attempt == self._START_ATTEMPTS:
                    raise
                continue
            self._controller = controller
            self.port = port
            return

    def stop(self) -> None:
        self.faults.release.set()
        controller, self._controller = self._controller, None
        if controller is None:
            return
        controller.stop()
        # The controller's thread closes its loop on a clean stop; close it here too in
        # case the thread ended early, so no unclosed-loop ResourceWarning escapes.
        if not controller.loop.is_closed():
            controller.loop.close()

    @staticmethod
    def _discard(controller: Controller) -> None:
        """Clean up after a failed start: the thread is gone, the loop may still be open."""
        thread = getattr(controller, "_thread", None)
        if thread is not None:
            thread.join()
        if not controller.loop.is_running() and not controller.loop.is_closed():
            controller.loop.close()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
