"""Exactly-once alert email under SMTP faults, with real local servers and real runs.

Each fault of issue 8: a connection dropped after DATA, an answer after the client's
timeout, a partial refusal (one recipient 550), a refusal before DATA, and ``kill -9``
of a ``monitor run`` while the server holds its answer to DATA, each followed by reruns.
In every case no alert is lost (each ends ``sent`` or ``partial``), no alert goes out
under two Message-IDs, and a mailbox that drops a repeated Message-ID shows each alert
once; the only second copy is the documented one (the server took the message but its
answer was lost, and the copy went again after ``alerts.resend_unknown_after``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import DAY1, ROOT, write_config
from smtp_server import ReceivedMail, SmtpSink, free_port
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.alerts import digest_message_id
from monitor.cli import app
from monitor.config import load_config
from monitor.storage import Store

RUN_DATE = date.fromisoformat(DAY1)
RECIPIENTS = ("desk@example.org", "analyst@example.org")
KEYWORDS = ("tariff", "export controls")


def _rows(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _alerts(db_url: str) -> list[tuple[object, ...]]:
    return _rows(db_url, "SELECT status, attempts FROM alerts ORDER BY id")


def _emails(db_url: str) -> list[tuple[object, ...]]:
    return _rows(db_url, "SELECT message_id, status, attempts FROM alert_emails ORDER BY id")


def _setup(
    tmp_path: Path, db_url: str, smtp_url: str, *, delay: str = "1h", timeout: float = 1.0
) -> dict[str, str]:
    """A monitor with no feeds, two pending alerts, and SMTP at ``smtp_url``; the env
    for ``monitor`` commands."""
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "feeds: []\n"
        "alerts:\n"
        f"  recipients: [{', '.join(RECIPIENTS)}]\n"
        "  sender: monitor@example.org\n"
        "  max_attempts: 3\n"
        f"  resend_unknown_after: {delay}\n",
        encoding="utf-8",
    )
    env = {
        "MONITOR_CONFIG": str(path),
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_SMTP_URL": f"{smtp_url}?timeout={timeout}",
    }
    store = Store(db_url)
    try:
        store.migrate()
        for keyword in KEYWORDS:
            store.add_alert(
                f"first_mention:{keyword}:{DAY1}",
                RUN_DATE,
                rule="first_mention",
                keyword=keyword,
                summary=f"first mention of {keyword}",
                day=RUN_DATE,
            )
    finally:
        store.close()
    return env


def _run(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", "--date", DAY1], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _utc(value: object) -> datetime:
    """A timestamp column as stored (naive UTC; SQLite hands back text)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC)


def _carried(mail: ReceivedMail) -> list[str]:
    body = mail.message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    return [k for k in KEYWORDS if f"First mention: {k}" in content]


def _assert_each_alert_once(sink: SmtpSink, message_id: str) -> None:
    """Every copy the server got is the one message; a mailbox shows it once, with both
    alerts."""
    assert {str(m.message["Message-ID"]) for m in sink.messages} == {message_id}
    shown = sink.mailbox()
    assert len(shown) == 1
    assert _carried(shown[0]) == list(KEYWORDS)


# --- no answer after the message went out -------------------------------------------

NO_ANSWER = {
    "drop-kept": {"after_data": "drop"},
    "drop-discarded": {"after_data": "drop", "keep_unanswered": False},
    "answer-after-timeout": {"after_data": "slow", "slow_seconds": 2.5},
}
DELAY = 6.0


@pytest.mark.reliability
@pytest.mark.parametrize("fault", NO_ANSWER)
def test_no_answer_after_data_is_unknown_then_sent_once_after_the_delay(
    tmp_path: Path, db_url: str, fault: str
) -> None:
    with SmtpSink() as sink:
        env = _setup(tmp_path, db_url, sink.url, delay=f"{DELAY:g}s")
        sink.misbehave(**NO_ANSWER[fault])
        started = time.monotonic()
        code, output = _run(env)
        assert code == 3
        assert f"email UNKNOWN no answer from {sink.url} after the message was sent (" in output
        assert "unknown      2 alerts in an email the server never confirmed" in output
        assert _alerts(db_url) == [("unknown", 1), ("unknown", 1)]
        [(message_id, status, attempts)] = _emails(db_url)
        assert (status, attempts) == ("unknown", 1)
        listed = CliRunner().invoke(app, ["alerts"], env=env).output
        assert listed.count("  unknown  first_mention  ") == 2
        assert f"Message-ID {message_id} goes again after " in listed
        kept = 1 if NO_ANSWER[fault].get("keep_unanswered", True) else 0
        assert len(sink.wait_for(kept, timeout=2)) == kept
        assert sink.transactions == 1

        # The server is fine again, but the delay has not passed: nothing goes.
        sink.misbehave()
        code, output = _run(env)
        assert time.monotonic() - started < DELAY, "the machine is too slow for this test"
        assert code == 0, output
        assert "unknown      2 alerts" in output
        assert (len(sink.messages), sink.transactions) == (kept, 1)
        assert _alerts(db_url) == [("unknown", 1), ("unknown", 1)]

        # After the delay (counted from the start of the attempt, recorded as the claim
        # time) the same bytes go again, Message-ID and all, once.
        [(since,)] = _rows(db_url, "SELECT unknown_since FROM alert_emails")
        due = _utc(since) + timedelta(seconds=DELAY)
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() + 0.2))
        code, output = _run(env)
        assert code == 0, output
        assert "alerts       0 raised, 2 sent" in output
        assert _alerts(db_url) == [("sent", 2), ("sent", 2)]
        assert _emails(db_url) == [(message_id, "sent", 2)]
        assert len(sink.messages) == kept + 1
        _assert_each_alert_once(sink, message_id)

        # And never again.
        code, _ = _run(env)
        assert code == 0
        assert len(sink.messages) == kept + 1


def test_a_failed_retry_of_an_unknown_email_stays_unknown(tmp_path: Path, db_url: str) -> None:
    with SmtpSink() as sink:
        env = _setup(tmp_path, db_url, sink.url, delay="0s")
        sink.misbehave(after_data="drop")
        assert _run(env)[0] == 3
        [(message_id, _, _)] = _emails(db_url)
        # The retry is refused before DATA: the first copy may still have arrived, so the
        # alerts are not pending (that would compose them anew), they stay unknown.
        sink.misbehave(sender_reply="451 4.3.0 try again later")
        code, output = _run(env)
        assert code == 3
        assert "451 4.3.0 try again later" in output
        assert _alerts(db_url) == [("unknown", 2), ("unknown", 2)]
        assert _emails(db_url) == [(message_id, "unknown", 2)]
        sink.misbehave()
        assert _run(env)[0] == 0
        assert _alerts(db_url) == [("sent", 3), ("sent", 3)]
        assert len(sink.messages) == 2
        _assert_each_alert_once(sink, message_id)


def test_a_server_that_always_drops_gets_max_attempts_copies_then_failed(
    tmp_path: Path, db_url: str
) -> None:
    with SmtpSink() as sink:
        env = _setup(tmp_path, db_url, sink.url, delay="0s")
        sink.misbehave(after_data="drop")
        for _ in range(4):
            assert _run(env)[0] in (0, 3)
        # max_attempts is 3: three copies of the one message, then the alerts are failed
        # (`monitor alerts resend ID` or `confirm ID` is the operator's call).
        assert _alerts(db_url) == [("failed", 3), ("failed", 3)]
        [(message_id, status, attempts)] = _emails(db_url)
        assert (status, attempts) == ("unknown", 3)
        assert len(sink.messages) == 3
        assert len(sink.mailbox()) == 1
        assert {str(m.message["Message-ID"]) for m in sink.messages} == {message_id}


# --- refused ----------------------------------------------------------------------------


def test_partial_refusal_is_partial_names_the_refused_and_exits_3(
    tmp_path: Path, db_url: str
) -> None:
    reply = "550 5.1.1 <desk@example.org>: Recipient address rejected: User unknown"
    with SmtpSink() as sink:
        env = _setup(tmp_path, db_url, sink.url)
        sink.misbehave(recipient_replies={"desk@example.org": reply})
        code, output = _run(env)
        assert code == 3
        refused = f"desk@example.org ({reply})"
        assert f"  email PARTIAL {sink.url} refused 1 of 2 recipients: {refused}\n" in output
        assert f"    ✗ refused {refused}\n" in output
        assert (
            _rows(db_url, "SELECT status, attempts, last_error FROM alerts ORDER BY id")
            == [("partial", 1, f"delivered, but refused for {refused}")] * 2
        )
        assert _rows(
            db_url,
            "SELECT r.address, r.status, r.code, r.reply FROM alert_email_recipients r "
            "JOIN alert_emails e ON e.id = r.email_id ORDER BY r.id",
        ) == [
            ("desk@example.org", "refused", 550, reply.removeprefix("550 ")),
            ("analyst@example.org", "accepted", 250, "OK"),
        ]
        [(message_id, status, _)] = _emails(db_url)
        assert status == "partial"
        listed = CliRunner().invoke(app, ["alerts"], env=env).output
        assert listed.count("  partial  first_mention  ") == 2
        assert "refused for desk@example.org (550 5.1.1" in listed

        # Delivered to the others: a rerun sends nothing, to anyone.
        sink.misbehave()
        assert _run(env)[0] == 0
        assert [m.rcpt_tos for m in sink.messages] == [("analyst@example.org",)]
        _assert_each_alert_once(sink, message_id)

        # The operator fixes the address and resends: only the new address gets it.
        config = Path(env["MONITOR_CONFIG"])
        config.write_text(
            config.read_text(encoding="utf-8").replace("desk@", "desk.team@"), encoding="utf-8"
        )
        resent = CliRunner().invoke(app, ["alerts", "resend", "1"], env=env)
        assert resent.exit_code == 0, resent.output
        assert [m.rcpt_tos for m in sink.messages][1:] == [("desk.team@example.org",)]
        assert _rows(db_url, "SELECT status FROM alerts ORDER BY id") == [("sent",), ("partial",)]
        config.write_text(
            config.read_text(encoding="utf-8").replace("desk.team@", "desk@"), encoding="utf-8"
        )
        sink.misbehave(recipient_replies={"desk@example.org": reply})
        again = CliRunner().invoke(app, ["alerts", "resend", "2"], env=env)
        assert again.exit_code == 3
        assert "every recipient was refused: desk@example.org (550 5.1.1" in again.output
        assert _rows(db_url, "SELECT status FROM alerts ORDER BY id") == [("sent",), ("partial",)]
        assert len(sink.messages) == 2


REFUSALS = {
    "sender-451": {"sender_reply": "451 4.3.0 mail server busy, try later"},
    "every-recipient-550": {"recipient_replies": {a: "550 5.1.1 no such user" for a in RECIPIENTS}},
    "message-554": {"data_reply": "554 5.7.1 message rejected"},
}


@pytest.mark.parametrize("fault", REFUSALS)
def test_refused_before_the_message_is_taken_stays_pending_and_goes_next_run(
    tmp_path: Path, db_url: str, fault: str
) -> None:
    with SmtpSink() as sink:
        env = _setup(tmp_path, db_url, sink.url)
        sink.misbehave(**REFUSALS[fault])
        code, output = _run(env)
        assert code == 3
        assert f"  email FAILED cannot send alert email via {sink.url}: " in output
        assert "(alerts stay pending)" in output
        assert _alerts(db_url) == [("pending", 1), ("pending", 1)]
        [(message_id, status, _)] = _emails(db_url)
        assert status == "refused"
        assert sink.messages == []

        sink.misbehave()
        code, output = _run(env)
        assert code == 0, output
        assert _alerts(db_url) == [("sent", 2), ("sent", 2)]
        # Composed again from the same alerts: the same Message-ID, the same row.
        assert _emails(db_url) == [(message_id, "sent", 2)]
        assert len(sink.messages) == 1
        _assert_each_alert_once(sink, message_id)


def test_nobody_listening_then_back_sends_once(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    env = _setup(tmp_path, db_url, f"smtp://127.0.0.1:{port}")
    code, output = _run(env)
    assert code == 3 and "ConnectionRefusedError" in output
    assert _alerts(db_url) == [("pending", 1), ("pending", 1)]
    with SmtpSink(port=port) as sink:
        assert _run(env)[0] == 0
        [(message_id, status, attempts)] = _emails(db_url)
        assert (status, attempts) == ("sent", 2)
        _assert_each_alert_once(sink, message_id)


# --- the operator -----------------------------------------------------------------------


def test_confirm_stops_the_resend_and_resend_is_a_new_message(tmp_path: Path, db_url: str) -> None:
    runner = CliRunner()
    with SmtpSink() as sink:
        env = _setup(tmp_path, db_url, sink.url, delay="0s")
        sink.misbehave(after_data="drop")
        assert _run(env)[0] == 3
        [(message_id, _, _)] = _emails(db_url)
        sink.misbehave()
        # The operator finds the digest in the mailbox and says so.
        confirmed = runner.invoke(app, ["alerts", "confirm", "2"], env=env)
        assert confirmed.exit_code == 0, confirmed.output
        assert confirmed.output == f"email {message_id} marked sent, with alerts #1, #2\n"
        assert _alerts(db_url) == [("sent", 1), ("sent", 1)]
        assert _run(env)[0] == 0
        assert len(sink.messages) == 1  # the dropped one only: nothing went again
        again = runner.invoke(app, ["alerts", "confirm", "2"], env=env)
        assert again.exit_code == 1
        assert "not waiting on an email of unknown fate" in again.output
        missing = runner.invoke(app, ["alerts", "confirm", "99"], env=env)
        assert missing.exit_code == 2 and "no alert #99" in missing.output

        # An explicit resend is a new message: a new Message-ID a mailbox will not drop.
        resent = runner.invoke(app, ["alerts", "resend", "1"], env=env)
        assert resent.exit_code == 0, resent.output
        assert len(sink.messages) == 2
        assert sink.messages[1].message["Message-ID"] != message_id
        assert _rows(db_url, "SELECT kind, status FROM alert_emails ORDER BY id") == [
            ("digest", "sent"),
            ("resend", "sent"),
        ]


# --- kill -9 while the server holds its answer to DATA ----------------------------------


@pytest.mark.reliability
def test_kill_9_during_data_then_reruns_send_it_once_more_with_the_same_message_id(
    tmp_path: Path, site, db_url: str
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, site, extra="  resend_unknown_after: 1h\n")
    with SmtpSink() as sink:
        env = {
            "MONITOR_CONFIG": str(config),
            "MONITOR_DATABASE_URL": db_url,
            "MONITOR_SMTP_URL": f"{sink.url}?timeout=120",
        }
        faults = sink.misbehave(after_data="hold")
        process = subprocess.Popen(
            [sys.executable, "-c", "from monitor.cli import main; main()", "run", "--date", DAY1],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert faults.holding.wait(180), process.communicate(timeout=5)
            # Marked before the server saw a byte, committed, visible to the operator.
            assert _rows(db_url, "SELECT status FROM alerts") == [("sending",)]
            assert (
                "  sending  figure_change  tariff" in runner.invoke(app, ["alerts"], env=env).output
            )
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()
        copies = sink.wait_for(1)
        assert len(copies) == 1
        message_id = str(copies[0].message["Message-ID"])
        sink.misbehave()

        # The next run finds the alert still "sending": its fate is unknown, so it waits.
        code, output = _run(env)
        assert code == 0, output
        assert "unknown      1 alerts in an email the server never confirmed" in output
        assert _rows(db_url, "SELECT status, attempts FROM alerts") == [("unknown", 1)]
        assert _emails(db_url) == [(message_id, "unknown", 1)]
        listed = runner.invoke(app, ["alerts"], env=env).output
        assert "  unknown  figure_change  tariff" in listed
        assert "the run sending it stopped before the server answered" in listed
        assert f"Message-ID {message_id} goes again after " in listed
        assert len(sink.messages) == 1

        # The Message-ID the killed process composed is the one this process derives.
        store = Store(db_url)
        try:
            views = [store.alert(1)]
        finally:
            store.close()
        sender = load_config(config, env=env).alerts.sender
        assert digest_message_id([v for v in views if v], sender, RUN_DATE) == message_id

        # Once the delay has passed (here: the operator shortens it), it goes again, as
        # the same message.
        config.write_text(config.read_text(encoding="utf-8").replace("1h", "0s"), encoding="utf-8")
        code, output = _run(env)
        assert code == 0, output
        assert "alerts       0 raised, 1 sent" in output
        assert _rows(db_url, "SELECT status, attempts FROM alerts") == [("sent", 2)]
        assert _emails(db_url) == [(message_id, "sent", 2)]
        assert len(sink.messages) == 2
        assert {str(m.message["Message-ID"]) for m in sink.messages} == {message_id}
        assert len(sink.mailbox()) == 1
        assert "tariff 20% → 15%" in sink.mailbox()[0].message["Subject"]

        code, _ = _run(env)
        assert code == 0
        assert len(sink.messages) == 2
