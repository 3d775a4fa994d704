"""monitor.alerts: the composed MIME message, and delivery to a real SMTP server or the outbox."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import io
import logging
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import matplotlib.image
import pytest
from alert_kit import desk, parsed, part, tariff_cut
from smtp_server import SmtpSink, free_port
from typer.testing import CliRunner

from monitor import pipeline
from monitor.alerts import Delivery, compose, deliver, smtp_from_connection, subject_line
from monitor.charts import PALETTE, Trend, render_png
from monitor.cli import app
from monitor.config import AlertsConfig, SmtpSettings, load_config
from monitor.errors import DeliveryError
from monitor.records import AlertView, StoryView
from monitor.storage import Store

RUN_DATE = date(2025, 5, 6)
NOW = datetime(2025, 5, 6, 7, 30, 15, tzinfo=UTC)
CFG = desk(subject_prefix="[chip-trade]")
PASSWORD = "s3cret-pw"

TARIFF = tariff_cut(
    1,
    NOW,
    RUN_DATE,
    "Washington will cut the tariff on Taiwanese chips to 15 percent.",
    old_sentence="A 20 percent tariff on chips from Taiwan took effect in April.",
    article_title="US and Taiwan agree chip tariff cut",
    article_url="https://news.example.com/2025/05/06/tariff-cut?ref=rss&lang=en",
    source="Focus Taiwan (CNA) — Business",
)
EXPORT_CONTROLS = AlertView(
    id=2,
    rule="first_mention",
    keyword="export controls",
    summary="first mention of export controls",
    created_at=NOW,
    run_date=RUN_DATE,
    sentence="Officials also discussed export controls on advanced AI chips.",
    article_title="Trade talks widen to export controls",
    article_url="https://www.taipeitimes.com/News/biz/archives/2025/05/06/2003836",
    source="Taipei Times — Business",
)
HOSTILE = AlertView(
    id=3,
    rule="first_mention",
    keyword="TSMC",
    summary="first mention of TSMC <b>bold</b>",
    created_at=NOW,
    run_date=RUN_DATE,
    sentence="Quoted: <script>alert(1)</script> & Co said TSMC would expand.",
    article_title="<script>alert(1)</script> & Co",
    article_url='https://evil.example.net/a?x=1&y="><script>',
    source="Feed & <Co>",
)
ALERTS = (TARIFF, EXPORT_CONTROLS, HOSTILE)
SUBJECT = "[chip-trade] tariff 20% → 15%; first mention: export controls +1 more"


@pytest.fixture
def message() -> EmailMessage:
    return parsed(compose(ALERTS, CFG, run_date=RUN_DATE, now=NOW))


# --- compose --------------------------------------------------------------------------


def test_headers(message: EmailMessage) -> None:
    assert message["Subject"] == SUBJECT
    assert message["From"] == "Chip monitor <monitor@alerts.example.org>"
    assert message["To"] == "desk@example.org, analyst@example.org"
    assert message["Date"] == "Tue, 06 May 2025 07:30:15 +0000"
    assert re.fullmatch(r"<[^<>@\s]+@alerts\.example\.org>", message["Message-ID"])


def test_multipart_alternative_with_text_then_html(message: EmailMessage) -> None:
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_html_part_escapes_every_value(message: EmailMessage) -> None:
    html = part(message, "html")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html  # title and sentence
    assert "Quoted: &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co said TSMC" in html
    assert "first mention of TSMC &lt;b&gt;bold&lt;/b&gt;" in html
    assert "Feed &amp; &lt;Co&gt;" in html
    assert 'href="https://evil.example.net/a?x=1&amp;y=&#34;&gt;&lt;script&gt;"' in html
    assert "<b>" not in html


def test_html_part_shows_each_alert(message: EmailMessage) -> None:
    html = part(message, "html")
    assert "Figure change · tariff" in html
    assert "First mention · export controls" in html
    assert "<strong>15%</strong>" in html and ">20%</span>" in html
    assert (
        '<blockquote style="margin:8px 0; padding:4px 12px; border-left:3px solid #d0d7de;'
        ' color:#424a53; font-style:italic;">'
        "Washington will cut the tariff on Taiwanese chips to 15 percent.</blockquote>"
    ) in html
    assert "A 20 percent tariff on chips from Taiwan took effect in April.</blockquote>" in html
    assert (
        '<a href="https://news.example.com/2025/05/06/tariff-cut?ref=rss&amp;lang=en"'
        ' style="color:#0969da; text-decoration:none;">US and Taiwan agree chip tariff cut</a>'
    ) in html
    assert "Focus Taiwan (CNA) — Business" in html
    assert "Run date 2025-05-06 · 3 alerts" in html
    assert "<table" not in html and "<style" not in html and "class=" not in html


def test_text_part_carries_the_same_facts_with_urls(message: EmailMessage) -> None:
    text = part(message, "plain")
    first, second, third = re.split(r"\n(?=\d\. )", text.split("\n\n", 1)[1])
    assert first == (
        "1. Figure change: tariff\n"
        "   tariff figure moved from 20% to 15%\n"
        "   20% → 15%\n"
        "\n"
        "   > Washington will cut the tariff on Taiwanese chips to 15 percent.\n"
        "\n"
        "   Before:\n"
        "   > A 20 percent tariff on chips from Taiwan took effect in April.\n"
        "\n"
        "   Article: US and Taiwan agree chip tariff cut\n"
        "   https://news.example.com/2025/05/06/tariff-cut?ref=rss&lang=en\n"
        "   Source: Focus Taiwan (CNA) — Business\n"
    )
    assert second == (
        "2. First mention: export controls\n"
        "   first mention of export controls\n"
        "\n"
        "   > Officials also discussed export controls on advanced AI chips.\n"
        "\n"
        "   Article: Trade talks widen to export controls\n"
        "   https://www.taipeitimes.com/News/biz/archives/2025/05/06/2003836\n"
        "   Source: Taipei Times — Business\n"
    )
    # Plain text is not HTML: nothing is escaped.
    assert "   Article: <script>alert(1)</script> & Co\n" in third
    assert text.startswith("Taiwan–US chip-trade monitor: 3 alerts for 2025-05-06\n\n")
    assert text.endswith("\n-- \nRun date 2025-05-06 · 3 alerts · Taiwan–US chip-trade monitor\n")


def test_unsafe_url_scheme_is_not_linked() -> None:
    alert = AlertView(
        id=9,
        rule="first_mention",
        keyword="chips",
        summary="first mention of chips",
        created_at=NOW,
        run_date=RUN_DATE,
        article_title="Click me",
        article_url="javascript:alert(1)",
    )
    html = part(parsed(compose([alert], CFG, run_date=RUN_DATE, now=NOW)), "html")
    assert "href" not in html
    assert "Click me" in html


def test_subject_puts_figure_changes_first_biggest_move_first() -> None:
    small = AlertView(
        id=4,
        rule="figure_change",
        keyword="quota",
        summary="quota",
        created_at=NOW,
        run_date=RUN_DATE,
        old_value="10%",
        new_value="11%",
    )
    assert subject_line([EXPORT_CONTROLS, small, TARIFF], "[x]") == (
        "[x] tariff 20% → 15%; quota 10% → 11% +1 more"
    )
    assert subject_line([EXPORT_CONTROLS], "[x]") == "[x] first mention: export controls"
    assert subject_line([EXPORT_CONTROLS, HOSTILE], "[x]") == (
        "[x] first mention: export controls; first mention: TSMC"
    )


def test_subject_stays_one_short_line() -> None:
    long_keyword = AlertView(
        id=5,
        rule="first_mention",
        keyword="semiconductor\r\nBcc: victim@example.org " + "word " * 60,
        summary="long",
        created_at=NOW,
        run_date=RUN_DATE,
    )
    subject = parsed(compose([long_keyword, TARIFF, EXPORT_CONTROLS], CFG, run_date=RUN_DATE))[
        "Subject"
    ]
    assert subject.startswith("[chip-trade] tariff 20% → 15%; first mention: semiconductor Bcc:")
    assert subject.endswith("… +1 more")
    assert len(subject) <= 150
    assert "\n" not in subject and "\r" not in subject


def test_compose_refuses_no_alerts() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        compose([], CFG, run_date=RUN_DATE)


# --- deliver: SMTP --------------------------------------------------------------------


def test_deliver_over_smtp() -> None:
    composed = compose(ALERTS, CFG, run_date=RUN_DATE, now=NOW)
    with SmtpSink() as sink:
        delivery = deliver(
            composed, smtp=SmtpSettings(host=sink.host, port=sink.port), outbox_dir=Path("unused")
        )
        received = list(sink.messages)
    assert delivery == Delivery("smtp", sink.url)
    assert len(received) == 1
    mail = received[0]
    assert mail.mail_from == "monitor@alerts.example.org"
    assert mail.rcpt_tos == ("desk@example.org", "analyst@example.org")
    assert mail.message["Subject"] == SUBJECT
    assert mail.message["Message-ID"] == composed["Message-ID"]
    # SMTP carries CRLF line ends; the text is otherwise the composed one.
    assert part(mail.message, "plain").replace("\r\n", "\n") == part(parsed(composed), "plain")
    assert "&lt;script&gt;" in part(mail.message, "html")


def test_dead_server_names_it_and_hides_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    settings = SmtpSettings(
        host="127.0.0.1", port=port, username="u", password=PASSWORD, timeout_seconds=5
    )
    with pytest.raises(DeliveryError) as info:
        deliver(compose(ALERTS, CFG, run_date=RUN_DATE), smtp=settings, outbox_dir=Path("unused"))
    text = str(info.value)
    assert text.startswith(f"cannot send alert email via smtp://u@127.0.0.1:{port}: ")
    assert "ConnectionRefusedError" in text
    assert PASSWORD not in text
    assert PASSWORD not in repr(info.value)
    assert PASSWORD not in caplog.text


def test_refused_login_hides_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpSink() as sink:  # no AUTH offered over plain SMTP: login() must fail
        settings = SmtpSettings(host=sink.host, port=sink.port, username="u", password=PASSWORD)
        with pytest.raises(DeliveryError) as info:
            deliver(compose(ALERTS, CFG, run_date=RUN_DATE), smtp=settings, outbox_dir=Path("x"))
        assert sink.messages == []
    assert str(info.value).startswith(f"cannot send alert email via smtp://u@{sink.host}:")
    assert "AUTH" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("tls", "reason"),
    [
        ({"starttls": True}, "STARTTLS extension not supported by server"),
        ({"ssl": True}, "SSLError"),
    ],
    ids=["starttls", "smtps"],
)
def test_tls_that_cannot_be_set_up_sends_nothing(tls: dict[str, bool], reason: str) -> None:
    with SmtpSink() as sink:  # plain SMTP only: neither STARTTLS nor implicit TLS works
        settings = SmtpSettings(host=sink.host, port=sink.port, timeout_seconds=5, **tls)
        with pytest.raises(DeliveryError) as info:
            deliver(compose(ALERTS, CFG, run_date=RUN_DATE), smtp=settings, outbox_dir=Path("x"))
        assert sink.messages == []
    assert str(info.value).startswith(f"cannot send alert email via {settings.describe()}: ")
    assert reason in str(info.value)


def test_no_recipients_is_a_delivery_error() -> None:
    lonely = AlertsConfig(recipients=[])
    composed = compose(ALERTS, lonely, run_date=RUN_DATE)
    assert "To" not in composed
    with pytest.raises(DeliveryError, match="the message has no recipients"):
        deliver(composed, smtp=SmtpSettings(host="127.0.0.1", port=free_port()), outbox_dir=Path())


# --- deliver: outbox ------------------------------------------------------------------


def test_outbox_writes_one_eml_that_parses_back(tmp_path: Path) -> None:
    outbox = tmp_path / "var" / "outbox"
    composed = compose(ALERTS, CFG, run_date=RUN_DATE, now=NOW)
    delivery = deliver(composed, smtp=None, outbox_dir=outbox)
    files = sorted(outbox.iterdir())
    assert delivery == Delivery("outbox", str(files[0]))
    assert len(files) == 1
    assert re.fullmatch(r"20250506T073015-[0-9a-f]{10}\.eml", files[0].name)
    back = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert isinstance(back, EmailMessage)
    assert back["Subject"] == SUBJECT
    assert back["Message-ID"] == composed["Message-ID"]
    assert part(back, "plain") == part(parsed(composed), "plain")


def test_outbox_never_overwrites(tmp_path: Path) -> None:
    composed = compose(ALERTS, CFG, run_date=RUN_DATE, now=NOW)
    first = deliver(composed, smtp=None, outbox_dir=tmp_path)
    before = Path(first.detail).read_bytes()
    second = deliver(composed, smtp=None, outbox_dir=tmp_path)
    other = deliver(
        compose(ALERTS, CFG, run_date=RUN_DATE, now=NOW), smtp=None, outbox_dir=tmp_path
    )
    paths = {Path(d.detail) for d in (first, second, other)}
    assert len(paths) == 3
    assert sorted(paths) == sorted(tmp_path.iterdir())
    assert Path(first.detail).read_bytes() == before
    assert Path(second.detail).name == Path(first.detail).stem + "-2.eml"


def test_outbox_that_cannot_be_written_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(DeliveryError, match=f"cannot write alert email to outbox {blocker}"):
        deliver(compose(ALERTS, CFG, run_date=RUN_DATE), smtp=None, outbox_dir=blocker)


# --- the digest: stories, chart, any rule ---------------------------------------------

SPIKE = AlertView(
    id=10,
    rule="spike",
    keyword="export controls",
    summary="export controls spiking: 6 stories on 2025-05-06 against 0.4 a day",
    created_at=NOW,
    run_date=RUN_DATE,
    old_value="0.4/day",
    new_value="6",
    article_title="Chipmakers study new licence rules",
    article_url="https://news.example.com/licences",
    source="Strait Wire",
)
FEED_HEALTH = AlertView(
    id=11,
    rule="feed_health",
    keyword="Taipei Times — Business",
    summary="Taipei Times — Business failed 3 runs in a row: HTTP 503 <Service Unavailable>",
    created_at=NOW,
    run_date=RUN_DATE,
)
STORIES = (
    StoryView(
        article_id=1,
        title="Tariff <cut> & what it means",
        url="https://news.example.com/cut",
        source="Strait Wire",
        lead="Taiwan and the U.S. agreed to lower the tariff on chips to 15 percent.",
        other_outlets=3,
        published_at=NOW,
    ),
    StoryView(
        article_id=2,
        title="台美晶片關稅協議細節公布",
        url="https://news.example.com/zh",
        source="台灣科技日報",
        lead="美國對台灣半導體的關稅降至15%，業者表示歡迎。",
        other_outlets=0,
        published_at=NOW,
    ),
)
TREND = Trend.from_counts(
    {
        "tariff": {RUN_DATE - timedelta(days=n): (n * 7) % 4 for n in range(30)},
        "export controls": {RUN_DATE: 6, RUN_DATE - timedelta(days=9): 1},
    },
    RUN_DATE,
    30,
)


@pytest.fixture
def digest() -> EmailMessage:
    tariff = dataclasses.replace(
        TARIFF,
        day=RUN_DATE,
        old_article_title="Chip exporters count the days to a new deal",
        old_article_url="https://news.example.com/2025/04/30/count-the-days",
        old_source="Strait Wire",
    )
    alerts = (EXPORT_CONTROLS, FEED_HEALTH, SPIKE, tariff)
    return parsed(compose(alerts, CFG, run_date=RUN_DATE, now=NOW, stories=STORIES, trend=TREND))


def test_digest_structure_subject_and_inline_chart(digest: EmailMessage) -> None:
    assert digest["Subject"] == (
        "[chip-trade] tariff 20% → 15%; export controls spiking +2 more · 2 new stories"
    )
    assert digest.get_content_type() == "multipart/alternative"
    plain, related = digest.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    png = image.get_content()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    cid = image["Content-ID"].strip("<>")
    html = html_part.get_content()
    assert f'src="cid:{cid}"' in html
    alt = re.search(r'<img src="cid:[^"]+" alt="([^"]+)"', html)
    assert alt is not None
    assert alt.group(1) == (
        "Stories per day, 2025-04-07 to 2025-05-06. tariff: 45 stories, 0 on the last day, "
        "peak 3; export controls: 7 stories, 6 on the last day, peak 6."
    )


def test_digest_lists_alerts_then_stories_escaped(digest: EmailMessage) -> None:
    html = part(digest, "html")
    order = [
        html.index(label)
        for label in (
            "Figure change · tariff",
            "Spike · export controls",
            "First mention · export controls",
            "Feed health · Taipei Times — Business",
            "30-day trend of the alerted keywords",
            "New stories (2)",
            "Tariff &lt;cut&gt; &amp; what it means",
            "台美晶片關稅協議細節公布",
        )
    ]
    assert order == sorted(order)
    assert "HTTP 503 &lt;Service Unavailable&gt;" in html
    assert "Figure change · tariff · 2025-05-06" in html
    assert (
        '<a href="https://news.example.com/2025/04/30/count-the-days" style="color:#0969da;'
        ' text-decoration:none;">Chip exporters count the days to a new deal</a>'
    ) in html
    assert "Strait Wire · also in 3 other outlets" in html
    assert "<cut>" not in html
    text = part(digest, "plain")
    assert "4. Feed health: Taipei Times — Business\n" in text
    assert (
        "   Earlier: Chip exporters count the days to a new deal\n"
        "   https://news.example.com/2025/04/30/count-the-days\n"
    ) in text
    assert (
        "* Tariff <cut> & what it means\n  Strait Wire · also in 3 other outlets\n"
        "  https://news.example.com/cut\n"
    ) in text
    assert "Trend (30 days, chart in the HTML version): Stories per day" in text


def test_daily_digest_without_alerts() -> None:
    message = parsed(compose([], CFG, run_date=RUN_DATE, stories=STORIES, always=True))
    assert message["Subject"] == "[chip-trade] 2 new stories"
    assert "No alerts today." in part(message, "plain")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"disable_tls": True, "disable_ssl": True},
            SmtpSettings(host="mail.example.org", port=587, username="bot", password=PASSWORD),
        ),
        (
            {},
            SmtpSettings(
                host="mail.example.org", port=587, username="bot", password=PASSWORD, ssl=True
            ),
        ),
        (
            {"disable_ssl": "true", "timeout": 10},
            SmtpSettings(
                host="mail.example.org",
                port=587,
                username="bot",
                password=PASSWORD,
                starttls=True,
                timeout_seconds=10,
            ),
        ),
    ],
)
def test_smtp_settings_from_an_airflow_connection(extra, expected) -> None:
    got = smtp_from_connection("mail.example.org", 587, "bot", PASSWORD, extra)
    assert got == expected
    assert PASSWORD not in repr(got) and PASSWORD not in got.describe()


# --- lifecycle: pending → sent / failed, resend ---------------------------------------


def test_failed_sends_stay_pending_then_fail_and_resend_delivers(
    tmp_path: Path, db_url: str
) -> None:
    dead = free_port()
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'var'}\n"
        "alerts:\n  recipients: [desk@example.org]\n  max_attempts: 2\n",
        encoding="utf-8",
    )
    env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_SMTP_URL": f"smtp://127.0.0.1:{dead}"}
    cfg = load_config(path, env=env)
    pipeline.init(cfg)
    store = Store(db_url)
    try:
        alert_id = store.add_alert(
            "feed_health:Taipei Times:2025-05-06",
            RUN_DATE,
            rule="feed_health",
            keyword="Taipei Times — Business",
            summary="Taipei Times — Business failed 3 runs in a row",
        )
        assert alert_id is not None
        first = pipeline.send_alerts(cfg, RUN_DATE)
        assert first.alerts_sent == 0 and first.error
        assert store.alert(alert_id).status == "pending"
        pipeline.send_alerts(cfg, RUN_DATE)
        failed = store.alert(alert_id)
        assert (failed.status, failed.attempts) == ("failed", 2)
        assert failed.last_error.startswith(f"cannot send alert email via smtp://127.0.0.1:{dead}")
        assert pipeline.send_alerts(cfg, RUN_DATE).alerts_sent == 0  # failed: not retried

        runner = CliRunner()
        env["MONITOR_CONFIG"] = str(path)
        listed = runner.invoke(app, ["alerts"], env=env)
        rows = [re.split(r" {2,}", line.strip()) for line in listed.output.splitlines()]
        assert rows[0][:5] == ["id", "run date", "status", "rule", "keyword"]
        [row] = [r for r in rows if r[0] == str(alert_id)]
        assert row[:5] == [
            str(alert_id),
            "2025-05-06",
            "failed",
            "feed_health",
            "Taipei Times — Business",
        ]
        down = runner.invoke(app, ["alerts", "resend", str(alert_id)], env=env)
        assert down.exit_code == 3
        with SmtpSink(port=dead) as sink:
            resent = runner.invoke(app, ["alerts", "resend", str(alert_id)], env=env)
            assert resent.exit_code == 0, resent.output
            assert [m.message["Subject"] for m in sink.messages] == [
                "[chip-trade] Taipei Times — Business failed 3 runs in a row"
            ]
        sent = store.alert(alert_id)
        assert (sent.status, sent.attempts, sent.last_error) == ("sent", 4, None)
        missing = runner.invoke(app, ["alerts", "resend", "999"], env=env)
        assert missing.exit_code == 2 and "no alert #999" in missing.output
    finally:
        store.close()


# --- the rendered email ---------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


def test_rendered_digest_screenshot(digest: EmailMessage, tmp_path: Path) -> None:
    """Render the HTML part in headless Chromium (Debian's package) and keep the PNG in
    test-artifacts/ for a person to look at; the chart is served from a file instead of
    its cid: URL, which only mail clients resolve."""
    browser = shutil.which("chromium")
    if browser is None:
        message = "chromium not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    ARTIFACTS.mkdir(exist_ok=True)
    related = digest.get_body(("related",))
    assert related is not None
    html_part, image = related.iter_parts()
    chart = ARTIFACTS / "digest-chart.png"
    chart.write_bytes(image.get_content())
    cid = image["Content-ID"].strip("<>")
    html = html_part.get_content().replace(f"cid:{cid}", chart.as_uri())
    page = ARTIFACTS / "digest.html"
    page.write_text(html, encoding="utf-8")
    (ARTIFACTS / "digest.eml").write_bytes(digest.as_bytes())
    shot = ARTIFACTS / "digest.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--screenshot={shot}",
            "--window-size=760,1800",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1800, 760)
    # Not a blank page: the chart's blue line and the figure-change label's rust colour
    # are both somewhere in the picture.
    rgb = (pixels[:, :, :3] * 255).round().astype(int).reshape(-1, 3)
    colours = {tuple(c) for c in rgb[::7].tolist()}
    assert len(colours) > 200
    assert any(
        abs(r - 0x1D) < 30 and abs(g - 0x4E) < 30 and abs(b - 0xD8) < 30 for r, g, b in colours
    )
    assert any(
        abs(r - 0x9A) < 20 and abs(g - 0x34) < 20 and abs(b - 0x12) < 20 for r, g, b in colours
    )


def test_figure_change_names_its_outlets_and_where_the_old_value_came_from() -> None:
    corroborated = dataclasses.replace(
        TARIFF,
        reported_by=3,
        outlets=("Focus Taiwan (CNA) — Business", "Reuters", "中央社 CNA"),
        published_at=datetime(2025, 5, 6, 2, 0, tzinfo=UTC),
        old_source="Taipei Times — Business",
        old_published_at=datetime(2025, 5, 5, 1, 0, tzinfo=UTC),
        old_article_title="Exporters brace for another month at 20%",
        old_article_url="https://www.taipeitimes.com/News/biz/archives/2025/05/05/1",
    )
    lone = AlertView(
        id=7,
        rule="figure_change",
        keyword="tariff",
        summary="tariff 15% → 10% (US tariff on Taiwan), unconfirmed: only Harbor Daily",
        created_at=NOW,
        run_date=RUN_DATE,
        old_value="15%",
        new_value="10%",
        sentence="Harbor Daily says the rate will be 10 percent.",
        article_url="https://harbor.example.org/10",
        source="Harbor Daily",
        status="unconfirmed",
        reported_by=1,
    )
    message = parsed(compose([corroborated], CFG, run_date=RUN_DATE, now=NOW, unconfirmed=[lone]))
    text = part(message, "plain")
    assert (
        "   20% → 15%\n"
        "   Reported by 3 outlets: Focus Taiwan (CNA) — Business, Reuters, 中央社 CNA\n"
    ) in text
    assert (
        "   Before: Taipei Times — Business, 2025-05-05\n"
        "   > A 20 percent tariff on chips from Taiwan took effect in April.\n"
        "   Earlier: Exporters brace for another month at 20%\n"
        "   https://www.taipeitimes.com/News/biz/archives/2025/05/05/1\n"
    ) in text
    assert "   Source: Focus Taiwan (CNA) — Business, 2025-05-06\n" in text
    unconfirmed = text.split("Unconfirmed: one outlet so far, not alerted (1)\n\n", 1)[1]
    assert unconfirmed.startswith(
        "* tariff: 15% → 10% (Harbor Daily)\n"
        "  tariff 15% → 10% (US tariff on Taiwan), unconfirmed: only Harbor Daily\n"
        "  > Harbor Daily says the rate will be 10 percent.\n"
        "  https://harbor.example.org/10\n"
    )
    html = part(message, "html")
    assert "Reported by 3 outlets: Focus Taiwan (CNA) — Business, Reuters, 中央社 CNA" in html
    assert "Before: Taipei Times — Business, 2025-05-05</p>" in html
    assert "Unconfirmed: one outlet so far, not alerted (1)</h2>" in html
    # The subject names the sent alert only: an unconfirmed figure is no headline.
    assert message["Subject"] == "[chip-trade] tariff 20% → 15%"
    seeded = parsed(
        compose([dataclasses.replace(TARIFF, old_from_seed=True)], CFG, run_date=RUN_DATE, now=NOW)
    )
    assert "   Before: seed corpus\n" in part(seeded, "plain")


# -- digest polish: each thing said once, outlets named, short histories as bars -------


def test_a_first_mention_found_in_a_headline_names_the_title_once() -> None:
    title = "US finalizes CHIPS Act grant for TSMC's Arizona fabs"
    alert = dataclasses.replace(
        EXPORT_CONTROLS,
        keyword="CHIPS Act",
        summary=f"First mention of 'CHIPS Act' in 90 days: {title}",
        sentence=title,
        article_title=title,
    )
    message = parsed(compose((alert,), CFG, run_date=RUN_DATE, now=NOW))
    html, text = part(message, "html"), part(message, "plain")
    assert html.count("TSMC&#39;s Arizona fabs") == 1, html
    assert ">First mention of &#39;CHIPS Act&#39; in 90 days</p>" in html
    assert text.count("TSMC's Arizona fabs") == 1, text
    assert "   First mention of 'CHIPS Act' in 90 days\n" in text
    # A sentence other than the title is still quoted.
    quoted = parsed(compose((EXPORT_CONTROLS,), CFG, run_date=RUN_DATE, now=NOW))
    assert "Officials also discussed export controls" in part(quoted, "html")


def test_a_story_names_the_other_outlets_that_carried_it() -> None:
    story = dataclasses.replace(
        STORIES[0], other_outlets=2, also_in=("Harbor Times", "Pacific Trade Ledger")
    )
    message = parsed(compose((TARIFF,), CFG, run_date=RUN_DATE, now=NOW, stories=(story,)))
    assert "Strait Wire · also in Harbor Times, Pacific Trade Ledger" in part(message, "html")
    assert "  Strait Wire · also in Harbor Times, Pacific Trade Ledger\n" in part(message, "plain")


def test_short_histories_are_drawn_as_bars_and_equal_lines_stay_apart() -> None:
    """Two days: one bar per keyword and day, side by side (no line from 0 to 1). Two
    weeks of identical counts: two lines that do not cover each other."""
    short = Trend.from_counts(
        {"CHIPS Act": {RUN_DATE: 1}, "export controls": {RUN_DATE: 1}}, RUN_DATE, 2
    )
    long_counts = {RUN_DATE - timedelta(days=n): n % 3 for n in range(14)}
    same = Trend.from_counts({"tariff": long_counts, "TSMC": long_counts}, RUN_DATE, 14)
    for name, trend in (("chart-short.png", short), ("chart-equal-lines.png", same)):
        png = render_png(trend, "Stories per day")
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / name).write_bytes(png)
        pixels = matplotlib.image.imread(io.BytesIO(png))
        rgb = (pixels[:, :, :3] * 255).round().astype(int)
        for hex_colour in PALETTE[:2]:
            target = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
            near = (abs(rgb - target).sum(axis=2) < 40).sum()
            # Each keyword's colour covers a visible area: neither hides the other.
            assert near > (400 if name == "chart-short.png" else 150), (name, hex_colour, near)
