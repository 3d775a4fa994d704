"""Configuration: shipped defaults, an optional user file, then the environment.

Built once per run by :func:`load_config` and passed in; nothing reads it at import
time. The user file overrides only the keys it sets (mappings merge key by key, lists
replace), so a file that holds only ``feeds:`` keeps the shipped topic and watch lists.
Secrets and URLs come from the environment: ``MONITOR_DATABASE_URL``,
``MONITOR_SMTP_URL`` and ``MONITOR_CONFIG`` (the user file when ``--config`` is not
given). A wrong config raises :class:`ConfigError` naming the file, the key and the
problem, before anything is fetched.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor import limits
from monitor.errors import ConfigError

LOGGER = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A source checkout (or editable install) reads config/, seeds/ and sql/queries/ from the
# project; a wheel carries copies inside the package (see pyproject's force-include).
_SHIPPED = Path(__file__).resolve().parent / "shipped"
_IN_CHECKOUT = (PROJECT_ROOT / "config" / "monitor.yaml").is_file()
DEFAULT_CONFIG_PATH = (
    PROJECT_ROOT / "config" / "monitor.yaml" if _IN_CHECKOUT else _SHIPPED / "monitor.yaml"
)
DEFAULT_SEEDS_DIR = PROJECT_ROOT / "seeds" if _IN_CHECKOUT else _SHIPPED / "seeds"
# The analysts' ready-made queries; `monitor search` runs search.sql from here.
DEFAULT_QUERIES_DIR = PROJECT_ROOT / "sql" / "queries" if _IN_CHECKOUT else _SHIPPED / "queries"
# libyaml's safe loader where PyYAML was built with it: the shipped config reads in
# a few milliseconds instead of tens (every command starts by loading it).
_YAML_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    # No longer than the database keeps them: a feed is known by its stored URL.
    name: str = Field(min_length=1, max_length=limits.NAME)
    url: str = Field(max_length=limits.URL)
    language: str | None = Field(default=None, max_length=limits.LANGUAGE)
    # rss: any RSS 0.9x/1.0/2.0, Atom or JSON Feed (Google News search feeds included);
    # sitemap: a news sitemap (<news:news> entries).
    kind: Literal["rss", "sitemap"] = "rss"
    verified: bool = True
    # A primary source (a government press office): one story from it is enough to
    # announce a tracked figure's new value (others need watch.figure_change.min_outlets).
    primary: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL with a host, got {value!r}")
        return value


class HttpConfig(_Strict):
    allow_private_addresses: bool = False
    timeout_seconds: float = Field(default=20.0, gt=0)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_bytes: int = Field(default=10_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    user_agent: str = "chip-trade-monitor/0.1 (+{contact_url})"
    contact_url: str = "https://example.org/chip-trade-monitor"
    max_entries_per_feed: int = Field(default=200, gt=0)
    lookback_days: int = Field(default=7, gt=0)
    max_concurrency: int = Field(default=8, ge=1)
    per_host_concurrency: int = Field(default=2, ge=1)
    per_host_delay_seconds: float = Field(default=1.0, ge=0)
    retries: int = Field(default=2, ge=0)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0)
    obey_robots: bool = True
    recheck_articles: bool = False
    extract_processes: int = Field(default=0, ge=0)
    archive_pages: bool = True
    # Pages (and, in the later stages, entries and articles) written per transaction;
    # a batch is also written once it is this many seconds old, so a slow site's
    # progress is kept.
    write_batch_size: int = Field(default=50, gt=0)
    write_batch_seconds: float = Field(default=2.0, gt=0)
    # Groups of registrable domains that are one outlet ([[cna.com.tw, focustaiwan.tw]]):
    # a page on one may name a URL on another as its canonical. Otherwise a canonical
    # off the page's (or its feed's) domain is ignored.
    canonical_aliases: list[list[str]] = Field(default_factory=list)

    @field_validator("canonical_aliases")
    @classmethod
    def _domains(cls, value: list[list[str]]) -> list[list[str]]:
        for group in value:
            for name in group:
                if not name or "/" in name or ":" in name or name.strip() != name:
                    raise ValueError(f"not a domain name: {name!r} (write cna.com.tw)")
        return [[name.lower() for name in group] for group in value]

    @property
    def alias_groups(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(group) for group in self.canonical_aliases)

    @property
    def user_agent_header(self) -> str:
        """The User-Agent sent: ``user_agent`` with ``{contact_url}`` filled in."""
        return self.user_agent.replace("{contact_url}", self.contact_url)

    @property
    def robots_token(self) -> str:
        """The product token robots.txt groups are matched against ("chip-trade-monitor")."""
        return self.user_agent_header.split("/", 1)[0].split(" ", 1)[0] or "*"


class FeedHealthConfig(_Strict):
    alert_after_failures: int = Field(default=3, ge=1)
    max_backoff_days: int = Field(default=7, ge=0)
    silence_factor: float = Field(default=5.0, gt=1)
    min_entries_for_silence: int = Field(default=5, ge=2)


class FacetConfig(_Strict):
    """One facet of the topic: its terms with weights, and aliases that count as a term
    (other spellings and the Traditional Chinese names: 台積電 counts as TSMC)."""

    terms: dict[str, float] = Field(default_factory=dict)
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    # Named regular expressions that count as a term of weight 1 each, for what a word
    # list cannot say ("tariffs on imported chips", "對半導體課徵100%關稅").
    patterns: dict[str, str] = Field(default_factory=dict)
    # The facet's weighted hits must reach this: 1 = one counted mention will do, 2 = in
    # the title or lead, or mentioned twice.
    min_score: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _aliases_name_terms(self) -> FacetConfig:
        if not self.terms and not self.patterns:
            raise ValueError("a facet needs terms or patterns")
        unknown = sorted(set(self.aliases) - set(self.terms))
        if unknown:
            raise ValueError(f"aliases for terms the facet does not list: {unknown}")
        for name, pattern in self.patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {name!r}: {exc}") from None
        return self


class TopicConfig(_Strict):
    threshold: float = Field(default=3.0, ge=0)
    title_weight: float = Field(default=3.0, ge=0)
    lead_weight: float = Field(default=2.0, ge=0)
    lead_chars: int = Field(default=400, ge=0)
    # Chinese packs more into a character: the lead of a CJK text is this many characters.
    lead_chars_cjk: int = Field(default=120, ge=0)
    # A term hit counts at most this many times per part (title, lead, body).
    max_hits_per_part: int = Field(default=3, ge=1)
    # Phrases blanked out before matching ("blue-chip" is not a semiconductor).
    exclude: list[str] = Field(default_factory=list)
    # Phrases whose terms are boilerplate, not the story's subject ("U.S.-listed shares",
    # "American depositary receipts", "US$"): discounted wherever they stand.
    boilerplate: list[str] = Field(default_factory=list)
    # Phrases that describe another party in passing ("Taiwan's TSMC", "Taiwan-based"):
    # discounted outside the title.
    asides: list[str] = Field(default_factory=list)
    # A facet found only in the body counts when it stands in at least this many of the
    # body's sentences; one sentence is a passing mention.
    min_body_sentences: int = Field(default=2, ge=1)
    facets: dict[str, FacetConfig] = Field(min_length=1)
    # Ways to be on topic: each a list of facets that must all reach their minimum (and
    # the counted total the threshold). Empty: every facet, one way.
    require: list[list[str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _require_names_facets(self) -> TopicConfig:
        unknown = sorted({f for way in self.require for f in way} - set(self.facets))
        if unknown:
            raise ValueError(f"require names facets that are not defined: {unknown}")
        if any(not way for way in self.require):
            raise ValueError("require: every way lists at least one facet")
        return self

    def ways(self) -> list[list[str]]:
        """The facet sets that make a text relevant (every facet when none are given)."""
        return self.require or [list(self.facets)]


RULE_NAMES = ("first_mention", "spike", "drop", "figure_change", "co_occurrence")


class FirstMentionRule(_Strict):
    """A keyword seen today and in no story of the ``lookback_days`` before (nor a seed)."""

    lookback_days: int = Field(default=90, ge=1)


class SpikeRule(_Strict):
    """Today's story count against the trailing ``baseline_days`` (today excluded).

    Fires when the count reaches ``min_count`` and every enabled test passes: ``ratio``
    (count ≥ ratio × baseline mean) and ``sigma`` (count > mean + sigma × std). Never
    fires before ``min_baseline_days`` days of data exist (no false peaks on little data).
    """

    baseline_days: int = Field(default=14, ge=2)
    min_baseline_days: int = Field(default=7, ge=1)
    min_count: int = Field(default=3, ge=1)
    ratio: float | None = Field(default=3.0, gt=1)
    sigma: float | None = Field(default=3.0, gt=0)


class DropRule(_Strict):
    """Today's story count at or below ``ratio`` × the trailing mean, when that mean was
    at least ``min_baseline_mean`` stories a day over ``min_baseline_days`` days of data."""

    baseline_days: int = Field(default=14, ge=2)
    min_baseline_days: int = Field(default=7, ge=1)
    min_baseline_mean: float = Field(default=3.0, gt=0)
    ratio: float = Field(default=0.25, ge=0, lt=1)


class FigureChangeRule(_Strict):
    """When a tracked figure's new value is announced (monitor.detect.rules.figure_change):
    ``min_outlets`` different outlets report it within ``window_days`` days (the day
    and the ones before), or one story from a feed marked ``primary: true`` does."""

    min_outlets: int = Field(default=2, ge=1)
    window_days: int = Field(default=2, ge=1)


class WatchKeyword(_Strict):
    name: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)
    # None: the rules of watch.rules. [] = counted (and usable as a co-occurrence
    # partner) but never alerted on its own.
    rules: list[str] | None = None
    # Other watched keywords whose first story together with this one is an alert.
    co_occurs_with: list[str] = Field(default_factory=list)
    # Per-keyword parameters, replacing watch.first_mention / watch.spike / watch.drop.
    first_mention: FirstMentionRule | None = None
    spike: SpikeRule | None = None
    drop: DropRule | None = None

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str] | None) -> list[str] | None:
        for rule in value or []:
            if rule not in RULE_NAMES:
                raise ValueError(f"unknown rule {rule!r}; rules are {', '.join(RULE_NAMES)}")
        return value


# The units the figure reader produces: percentages, and money normalized to billions of
# one currency, so "2,500億美元" and "US$250 billion" compare.
FIGURE_UNITS = ("%", "US$ billion", "NT$ billion")


class TrackedFigure(_Strict):
    """One figure the monitor follows: what is measured, of whom, and what it is not.

    A number is this item's when a ``measure`` alias (tariff, 關稅…) stands in its sentence
    and a ``subject`` alias (Taiwan, 台灣…) is nearer to it than any ``exclude`` cue
    (Section 232, Japan, "on U.S. goods"…). Aliases are whole words for Latin text, plain
    substrings for Chinese; capitalised aliases (``US``, ``TSMC``) match case-sensitively.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    unit: str
    subject: list[str] = Field(min_length=1)
    measure: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    # The watched keyword whose alerts this figure feeds (its figure_change rule).
    keyword: str = Field(min_length=1)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        if value not in FIGURE_UNITS:
            raise ValueError(f"unit must be one of {', '.join(FIGURE_UNITS)}, got {value!r}")
        return value

    @field_validator("subject", "measure", "exclude")
    @classmethod
    def _no_blank_alias(cls, value: list[str]) -> list[str]:
        for alias in value:
            if not alias.strip() or alias != alias.strip():
                raise ValueError(f"an alias must be non-empty text without outer spaces: {alias!r}")
        return value


# Keys that once meant something: operators' files may still set them, so they load,
# with a warning, and do nothing.
RETIRED_WATCH_KEYS = {
    "figure_window_words": "tracked figures (watch.tracked) say where figures are read",
}


class WatchConfig(_Strict):
    keywords: list[WatchKeyword] = Field(min_length=1)
    tracked: list[TrackedFigure] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=lambda: list(RULE_NAMES))
    first_mention: FirstMentionRule = FirstMentionRule()
    spike: SpikeRule = SpikeRule()
    drop: DropRule = DropRule()
    figure_change: FigureChangeRule = FigureChangeRule()

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and RETIRED_WATCH_KEYS.keys() & data.keys():
            data = dict(data)
            for key, why in RETIRED_WATCH_KEYS.items():
                if key in data:
                    del data[key]
                    LOGGER.warning("config: watch.%s is ignored (%s); remove it", key, why)
        return data

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if rule not in RULE_NAMES:
                raise ValueError(f"unknown rule {rule!r}; rules are {', '.join(RULE_NAMES)}")
        return value

    @model_validator(mode="after")
    def _partners_exist(self) -> WatchConfig:
        names = {k.name for k in self.keywords}
        for keyword in self.keywords:
            for other in keyword.co_occurs_with:
                if other not in names or other == keyword.name:
                    raise ValueError(
                        f"keyword {keyword.name!r}: co_occurs_with names {other!r}, "
                        "which is not another watched keyword"
                    )
        return self

    @model_validator(mode="after")
    def _tracked_are_unique_and_fed(self) -> WatchConfig:
        names = {k.name for k in self.keywords}
        seen: set[str] = set()
        for item in self.tracked:
            if item.id in seen:
                raise ValueError(f"tracked figure id {item.id!r} is listed twice")
            seen.add(item.id)
            if item.keyword not in names:
                raise ValueError(
                    f"tracked figure {item.id!r}: keyword {item.keyword!r} is not a watched keyword"
                )
        return self

    def rules_of(self, keyword: WatchKeyword) -> list[str]:
        return self.rules if keyword.rules is None else keyword.rules

    def keyword(self, name: str) -> WatchKeyword | None:
        return next((k for k in self.keywords if k.name == name), None)


class DedupConfig(_Strict):
    near_duplicate_threshold: float = Field(default=0.5, gt=0, le=1)
    # Candidates come from LSH bands tuned to this Jaccard; a candidate whose text is
    # mostly inside the other's (containment) is a copy when Jaccard reaches it too.
    candidate_threshold: float = Field(default=0.3, gt=0, le=1)
    containment_threshold: float = Field(default=0.8, gt=0, le=1)
    shingle_words: int = Field(default=3, ge=1)
    num_perm: int = Field(default=128, ge=16)
    # Stored articles older than this (before the run's window) are not compared; seeds
    # always are.
    window_days: int = Field(default=60, ge=1)
    # Same normalized title from the same outlet within this many days = the same story.
    title_window_days: int = Field(default=3, ge=0)
    title_min_tokens: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _candidates_below_threshold(self) -> DedupConfig:
        if self.candidate_threshold > self.near_duplicate_threshold:
            raise ValueError("candidate_threshold must not exceed near_duplicate_threshold")
        return self


class AirflowConfig(_Strict):
    """How a run is spread: ``shards`` feed shards and as many article-host shards, one
    Airflow task each (``monitor run`` runs the same shards one after another)."""

    shards: int = Field(default=4, ge=1, le=64)


class AlertsConfig(_Strict):
    recipients: list[str] = Field(default_factory=list)
    sender: str = "chip-trade-monitor@localhost"
    subject_prefix: str = "[chip-trade]"
    # Debounce: after an alert for a keyword and rule, the same rule on the same keyword
    # is recorded as "suppressed" (not sent) for this many days.
    cooldown_days: int = Field(default=3, ge=0)
    # A send that failed this many times turns the alert "failed" (`monitor alerts
    # resend ID` sends it again); before that it stays pending for the next run.
    max_attempts: int = Field(default=5, ge=1)
    # true: a digest every run, even with no alert (then it lists the day's stories).
    daily_digest: bool = False
    # Days of story counts in the digest's trend chart of the alerted keywords.
    trend_days: int = Field(default=30, ge=2)
    chart: bool = True
    # New stories listed in the digest at most.
    max_stories: int = Field(default=20, ge=0)
    # A send whose outcome is unknown (the connection dropped or timed out after the
    # message was handed over, or the run died mid-send) is not retried before this long
    # after the attempt began; then it goes again, byte for byte, with the same
    # Message-ID. Shorter than the daily schedule, so the next day's run sends it.
    resend_unknown_after: timedelta = timedelta(hours=12)

    @field_validator("resend_unknown_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("resend_unknown_after")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or address.strip() != address:
                raise ValueError(f"not an email address: {address!r}")
        return value


_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[smhd]\s*)+", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str) -> timedelta:
    """``"12h"``, ``"90m"``, ``"2d"``, ``"30s"`` or ``"1h 30m"`` as a timedelta."""
    if not _DURATION.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not a duration like 12h, 90m, 2d or 30s")
    total = timedelta(0)
    for number, unit in _DURATION_PART.findall(value):
        total += timedelta(**{_DURATION_UNITS[unit.lower()]: float(number)})
    return total


class SmtpSettings(_Strict):
    host: str
    port: int
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    ssl: bool = False
    starttls: bool = False
    timeout_seconds: float = Field(default=30.0, gt=0)

    def describe(self) -> str:
        """Where mail goes, without the password."""
        scheme = "smtps" if self.ssl else "smtp"
        user = f"{self.username}@" if self.username else ""
        tls = " (STARTTLS)" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"


class Config(_Strict):
    data_dir: Path = Path("var")
    database_url: str | None = None
    timezone: str = "UTC"
    feeds: list[FeedConfig] = Field(default_factory=list)
    http: HttpConfig = HttpConfig()
    feed_health: FeedHealthConfig = FeedHealthConfig()
    topic: TopicConfig
    watch: WatchConfig
    dedup: DedupConfig = DedupConfig()
    alerts: AlertsConfig = AlertsConfig()
    airflow: AirflowConfig = AirflowConfig()
    smtp: SmtpSettings | None = None
    seeds_dir: Path = DEFAULT_SEEDS_DIR
    source_files: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'monitor.db').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp://[user:pass@]host:port``, ``smtps://`` for implicit TLS, ``?starttls=true``,
    ``?timeout=SECONDS`` for the client's wait on each reply (default 30)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(f"MONITOR_SMTP_URL: scheme must be smtp or smtps, got {parts.scheme!r}")
    if not parts.hostname:
        raise ConfigError("MONITOR_SMTP_URL: no host in the URL")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"MONITOR_SMTP_URL: bad port ({exc})") from None
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    starttls = query.get("starttls", "false") in ("1", "true", "yes")
    ssl = parts.scheme == "smtps"
    timeout = 30.0
    if "timeout" in query:
        try:
            timeout = float(query["timeout"])
        except ValueError:
            timeout = -1.0
        if not 0 < timeout < float("inf"):
            raise ConfigError(
                f"MONITOR_SMTP_URL: timeout must be a number of seconds above 0, "
                f"got {query['timeout']!r}"
            )
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if ssl else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=ssl,
        starttls=starttls,
        timeout_seconds=timeout,
    )


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def _with_env_in_feed_urls(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``${NAME}`` or ``${NAME:-default}`` in a user file's feed URLs, from the
    environment: the demo's ``http://127.0.0.1:${DEMO_PORT:-8765}/…`` follows the port
    ``make demo`` serves on. Only feed URLs: nothing else in the file is a template."""
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        return data

    def expand(url: str) -> str:
        return _ENV_REFERENCE.sub(lambda m: env.get(m.group(1)) or m.group(2) or "", url)

    data["feeds"] = [
        {**f, "url": expand(f["url"])}
        if isinstance(f, dict) and isinstance(f.get("url"), str)
        else f
        for f in feeds
    ]
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); "
            "save the file as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not a list or text")
    return data


def _describe(exc: ValidationError, files: list[Path]) -> str:
    where = " + ".join(str(f) for f in files)
    lines = [f"{where}: invalid config"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build the run's config: shipped defaults ← user file ← environment."""
    env = os.environ if env is None else env
    files = [DEFAULT_CONFIG_PATH]
    data = _read_yaml(DEFAULT_CONFIG_PATH)
    user_path = path or env.get("MONITOR_CONFIG") or None
    if user_path:
        user_file = Path(user_path)
        files.append(user_file)
        data = _merge(data, _with_env_in_feed_urls(_read_yaml(user_file), env))
        data.setdefault("source_files", [])
    if env.get("MONITOR_DATABASE_URL"):
        data["database_url"] = env["MONITOR_DATABASE_URL"]
    if env.get("MONITOR_SMTP_URL"):
        data["smtp"] = parse_smtp_url(env["MONITOR_SMTP_URL"]).model_dump()
    if env.get("MONITOR_DATA_DIR"):
        data["data_dir"] = env["MONITOR_DATA_DIR"]
    data["source_files"] = [str(f) for f in files]
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, files)) from None
