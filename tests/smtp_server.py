"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd in a thread, keeping what it receives.

Usage::

    with SmtpSink() as sink:
        deliver(message, smtp=SmtpSettings(host=sink.host, port=sink.port), ...)
    assert [m.rcpt_tos for m in sink.messages] == [("a@example.org",)]
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
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


class _Collector:
    """aiosmtpd handler: parse each DATA and keep it."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(
                ReceivedMail(parsed, str(envelope.mail_from), tuple(envelope.rcpt_tos))
            )
        return "250 Message accepted for delivery"


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
