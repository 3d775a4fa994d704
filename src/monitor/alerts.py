"""Compose the daily alert email and hand it to SMTP, or to the outbox folder.

:func:`compose` turns the run's alerts into one ``multipart/alternative`` message (a
plain-text part and an HTML part, both rendered from the Jinja2 templates next to this
module), with a Message-ID derived from the alerts it carries (:func:`digest_message_id`:
the same alerts give the same Message-ID in any process, so a copy sent again after an
unknown outcome is recognisably the same message). :func:`deliver` sends it through the
configured SMTP server (:mod:`monitor.smtp`), or, when no server is configured, writes it
as an ``.eml`` file into the outbox so a run without mail still leaves something to read.
A failure to send raises :class:`~monitor.errors.DeliveryError` naming the server (never
the password). The pipeline's sending, with its states, is ``pipeline.send_alerts``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr, parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import jinja2

from monitor import smtp as smtp_client
from monitor.charts import Trend, render_png
from monitor.config import AlertsConfig, SmtpSettings
from monitor.errors import DeliveryError
from monitor.records import AlertView, StoryView

LOGGER = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).with_name("templates")
TEXT_TEMPLATE = "alert_email.txt.j2"
HTML_TEMPLATE = "alert_email.html.j2"

RULE_LABELS = MappingProxyType(
    {
        "figure_change": "Figure change",
        "first_mention": "First mention",
        "spike": "Spike",
        "drop": "Drop",
        "co_occurrence": "New co-occurrence",
        "feed_health": "Feed health",
    }
)
# Subject and body order: a changed figure (a tariff rate moving) matters more than a
# surge of stories, which matters more than a keyword showing up for the first time;
# rules this module does not know (feed health…) go last, rendered from their summary.
_RULE_ORDER = MappingProxyType(
    {"figure_change": 0, "spike": 1, "first_mention": 2, "co_occurrence": 3, "drop": 4}
)
RULE_COLORS = MappingProxyType(
    {
        "figure_change": "#9a3412",
        "spike": "#b91c1c",
        "drop": "#6d28d9",
        "first_mention": "#1d4ed8",
        "co_occurrence": "#047857",
    }
)
CHART_CID_DOMAIN = "chart.chip-trade-monitor"

SUBJECT_MAX_CHARS = 150
SUBJECT_NAMED_ALERTS = 2

_WHITESPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where an alert email went: ``method`` is ``smtp`` or ``outbox``.

    ``detail`` is the server as :meth:`SmtpSettings.describe` gives it (no password), or
    the path of the ``.eml`` file written to the outbox.
    """

    method: str
    detail: str


def compose(
    alerts: Sequence[AlertView],
    cfg: AlertsConfig,
    *,
    run_date: date,
    now: datetime | None = None,
    stories: Sequence[StoryView] = (),
    trend: Trend | None = None,
    always: bool = False,
    unconfirmed: Sequence[AlertView] = (),
) -> EmailMessage:
    """One digest holding every alert of the run (biggest change first), then the
    figures only one outlet has reported (``unconfirmed``: listed, never a reason to
    send), then the run's new stories, with the trend chart of the alerted keywords as
    an inline PNG.

    ``now`` sets the Date header (a naive value is taken as UTC); it defaults to the
    current time. Raises ``ValueError`` when ``alerts`` is empty unless ``always`` (the
    daily digest) is set: an empty alert email is a caller's mistake, not something to send.
    """
    if not alerts and not always:
        raise ValueError("compose() needs at least one alert; there is nothing to send")
    ordered = _prioritized(alerts)
    sent_at = _aware(now or datetime.now(UTC))
    message_id = digest_message_id(ordered, cfg.sender, run_date)

    chart: bytes | None = None
    chart_cid = ""
    if trend is not None and cfg.chart and trend.series:
        chart = render_png(trend, f"Stories per day, last {len(trend.days)} days")
        digest = hashlib.sha256(chart).hexdigest()[:16]
        chart_cid = f"trend-{digest}@{CHART_CID_DOMAIN}"

    env = _environment()
    context = {
        "alerts": ordered,
        "run_date": run_date,
        "count": len(ordered),
        "stories": list(stories),
        "unconfirmed": list(unconfirmed),
        "chart_cid": chart_cid,
        "chart_alt": trend.alt_text() if chart is not None and trend is not None else "",
        "chart_days": len(trend.days) if trend is not None else 0,
    }
    text = env.get_template(TEXT_TEMPLATE).render(context)
    html = env.get_template(HTML_TEMPLATE).render(context)

    message = EmailMessage()
    message["Subject"] = subject_line(ordered, cfg.subject_prefix, new_stories=len(stories))
    message["From"] = cfg.sender
    if cfg.recipients:
        message["To"] = ", ".join(cfg.recipients)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    # quoted-printable keeps an outbox .eml readable in a text editor, unlike base64.
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    if chart is not None:
        html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
        html_part.add_related(
            chart,
            maintype="image",
            subtype="png",
            cid=f"<{chart_cid}>",
            filename="trend.png",
            disposition="inline",
        )
    LOGGER.debug(
        "composed alert email %s with %s alerts and %s stories for %s",
        message["Message-ID"],
        len(ordered),
        len(stories),
        run_date,
    )
    return message


def subject_line(alerts: Sequence[AlertView], prefix: str, new_stories: int = 0) -> str:
    """``prefix`` + the first alerts named (biggest change first) + ``+N more``, then
    ``· N new stories`` when the digest lists any."""
    ordered = _prioritized(alerts)
    named = [_headline(alert) for alert in ordered[:SUBJECT_NAMED_ALERTS]]
    summary = "; ".join(named)
    rest = len(ordered) - len(named)
    more = f" +{rest} more" if rest > 0 else ""
    if new_stories:
        noun = "story" if new_stories == 1 else "stories"
        more += f" · {new_stories} new {noun}" if summary else f"{new_stories} new {noun}"
    if not summary and not new_stories:
        summary = "no alerts"
    head = f"{_one_line(prefix)} " if prefix.strip() else ""
    room = SUBJECT_MAX_CHARS - len(head) - len(more)
    return f"{head}{_shorten(summary, room)}{more}"


def deliver(message: EmailMessage, *, smtp: SmtpSettings | None, outbox_dir: Path) -> Delivery:
    """Send ``message`` through ``smtp``, or write it to ``outbox_dir`` when that is None.

    Raises :class:`DeliveryError` when the server cannot be reached, refuses the login or
    every recipient, does not answer once the message is sent, or the outbox file cannot
    be written. Recipients refused while others were accepted are logged.
    """
    if smtp is None:
        return write_outbox(message, outbox_dir)
    mail_from, rcpt_tos = smtp_client.envelope(message)
    outcome = smtp_client.transmit(smtp_client.wire_bytes(message), mail_from, rcpt_tos, smtp)
    if outcome.status in ("refused", "unknown"):
        raise DeliveryError(outcome.error or f"cannot send alert email via {outcome.via}")
    if outcome.refused:
        LOGGER.warning("alert email %s: %s", message["Message-ID"], outcome.error)
    LOGGER.info("sent alert email %s via %s", message["Message-ID"], outcome.via)
    return Delivery("smtp", smtp.describe())


def digest_message_id(alerts: Sequence[AlertView], sender: str, run_date: date) -> str:
    """The Message-ID of the digest carrying ``alerts``: a hash of each alert's id and
    creation time (the same alerts give the same id in any process and on any rerun; a
    digest without alerts is named by its run date), at the sender's domain."""
    if alerts:
        basis = "\n".join(
            sorted(
                f"alert:{a.id}:{_aware(a.created_at).astimezone(UTC).isoformat()}" for a in alerts
            )
        )
    else:
        basis = f"digest:{run_date.isoformat()}"
    digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
    return f"<chip-trade.{digest}@{_domain_of(sender)}>"


def new_message_id(sender: str) -> str:
    """A Message-ID never used before (an operator's explicit resend is a new message)."""
    return make_msgid(idstring="resend", domain=_domain_of(sender))


def smtp_from_connection(
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    extra: Mapping[str, object],
) -> SmtpSettings:
    """SMTP settings from the fields of an Airflow ``smtp`` connection (``smtp_default``).

    Follows the SMTP provider's reading of the extras: implicit TLS unless
    ``disable_ssl``, STARTTLS unless ``disable_tls`` (only without implicit TLS), and
    ``timeout``. The DAG task reads the connection and calls this; the library never
    imports Airflow.
    """

    def flag(name: str) -> bool:
        value = extra.get(name, False)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)

    if not host:
        raise DeliveryError("the smtp connection has no host")
    use_ssl = not flag("disable_ssl")
    timeout = extra.get("timeout", 30)
    return SmtpSettings(
        host=host,
        port=port or (465 if use_ssl else 25),
        username=login or None,
        password=password or None,
        ssl=use_ssl,
        starttls=not use_ssl and not flag("disable_tls"),
        timeout_seconds=float(timeout) if isinstance(timeout, int | float | str) else 30.0,
    )


def write_outbox(message: EmailMessage, outbox_dir: Path) -> Delivery:
    """Write ``message`` as a new ``.eml`` file in ``outbox_dir`` (never replacing one)."""
    stamp = _message_time(message).strftime("%Y%m%dT%H%M%S")
    key = str(message.get("Message-ID") or "").encode("utf-8") or message.as_bytes()
    short = hashlib.sha256(key).hexdigest()[:10]
    data = message.as_bytes()
    try:
        outbox_dir.mkdir(parents=True, exist_ok=True)
        path = _create_unique(outbox_dir, f"{stamp}-{short}", data)
    except OSError as exc:
        raise DeliveryError(
            f"cannot write alert email to outbox {outbox_dir}: {exc.strerror or exc}"
        ) from exc
    LOGGER.info("wrote alert email %s to %s", message["Message-ID"], path)
    return Delivery("outbox", str(path))


def _create_unique(folder: Path, stem: str, data: bytes) -> Path:
    """Write ``data`` to ``stem.eml``, or ``stem-2.eml``… : never replace a file."""
    attempt = 1
    while True:
        name = f"{stem}.eml" if attempt == 1 else f"{stem}-{attempt}.eml"
        path = folder / name
        try:
            handle = path.open("xb")
        except FileExistsError:
            attempt += 1
            continue
        try:
            with handle:
                handle.write(data)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        return path


def _message_time(message: EmailMessage) -> datetime:
    header = message.get("Date")
    if header:
        try:
            return _aware(parsedate_to_datetime(str(header))).astimezone(UTC)
        except (TypeError, ValueError):
            LOGGER.debug("unparseable Date header %r, naming the outbox file by now", header)
    return datetime.now(UTC)


def _environment() -> jinja2.Environment:
    # Built per message rather than cached in a module global: one email a run does not
    # need a cache, and an Environment owns mutable state (its template cache).
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # HTML templates escape every value; the plain-text one must not (a "&" stays "&").
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["rule_label"] = _rule_label
    env.filters["rule_color"] = lambda rule: RULE_COLORS.get(rule, "#57606a")
    env.filters["web_url"] = _web_url
    env.filters["day"] = lambda moment: moment.date().isoformat()
    env.filters["before_source"] = _before_source
    env.filters["card_heading"] = card_heading
    env.filters["repeats_title"] = _repeats_title
    return env


def card_heading(alert: AlertView) -> str:
    """The alert's summary without the article title it ends with ("First mention of
    'CHIPS Act' in 90 days: US finalizes…"): the card links the title just below, so
    saying it in the heading too only repeats it."""
    title = _one_line(alert.article_title or "")
    summary = _one_line(alert.summary)
    if title and summary.endswith(title):
        head = summary[: -len(title)].rstrip(" :–—-")
        if head:
            return head
    return alert.summary


def _repeats_title(sentence: str | None, alert: AlertView) -> bool:
    """Whether the quoted sentence is just the article's title (a first mention found
    in a headline): then the card does not quote it a second time."""
    if not sentence or not alert.article_title:
        return False

    def norm(text: str) -> str:
        return _WHITESPACE.sub(" ", text).strip().strip(".").casefold()

    return norm(sentence) == norm(alert.article_title)


def _prioritized(alerts: Sequence[AlertView]) -> list[AlertView]:
    """Figure changes (largest move first), then first mentions, then anything else."""
    indexed = list(enumerate(alerts))
    indexed.sort(key=lambda pair: (_RULE_ORDER.get(pair[1].rule, 99), -_move(pair[1]), pair[0]))
    return [alert for _, alert in indexed]


def _move(alert: AlertView) -> float:
    """How far a figure or a count moved (20% → 15% is 5); 0 when it cannot be read."""
    if alert.rule not in ("figure_change", "spike", "drop"):
        return 0.0
    old, new = _number(alert.old_value), _number(alert.new_value)
    if old is None or new is None:
        return 0.0
    return abs(new - old)


def _number(value: str | None) -> float | None:
    match = _NUMBER.search(value or "")
    return float(match.group().replace(",", ".")) if match else None


def _headline(alert: AlertView) -> str:
    keyword = _one_line(alert.keyword)
    if alert.rule == "figure_change" and alert.old_value and alert.new_value:
        return f"{keyword} {_one_line(alert.old_value)} → {_one_line(alert.new_value)}"
    if alert.rule == "figure_change" and alert.new_value:
        return f"{keyword} now {_one_line(alert.new_value)}"
    if alert.rule == "first_mention":
        return f"first mention: {keyword}"
    if alert.rule == "spike":
        return f"{keyword} spiking"
    if alert.rule == "drop":
        return f"{keyword} dropping"
    if alert.rule == "co_occurrence":
        return f"{keyword} together"
    return _one_line(alert.summary) or keyword


def _before_source(alert: AlertView) -> str:
    """Where the old value of a figure change came from, for the "Before:" line: " seed
    corpus", " Strait Wire, 2026-09-09", or nothing when the alert does not say."""
    if alert.old_from_seed:
        return " seed corpus"
    if not alert.old_source:
        return ""
    when = f", {alert.old_published_at.date().isoformat()}" if alert.old_published_at else ""
    return f" {_one_line(alert.old_source)}{when}"


def _rule_label(rule: str) -> str:
    return RULE_LABELS.get(rule, rule.replace("_", " ").capitalize())


def _web_url(url: str | None) -> str | None:
    """The URL when it is http(s) with a host; anything else (javascript:…) is not linked."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def _one_line(text: str) -> str:
    # Header values must not carry line breaks; a headline is one line anyway.
    return _WHITESPACE.sub(" ", text).strip()


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ;,") + "…"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _domain_of(address: str) -> str:
    domain = parseaddr(address)[1].rpartition("@")[2].strip()
    return domain or "localhost"
