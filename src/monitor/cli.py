"""The ``monitor`` command: init, run, and what operators need around them.

Errors become messages here and only here: a wrong config or a broken database prints
one clear line and exits 2; a run that completed with failed feeds exits 0; a run whose
alert email was not cleanly delivered exits 3: refused (the alerts stay pending for the
next run), partial (some recipients refused, named) or unknown (no answer once the
message went out; it goes again after ``alerts.resend_unknown_after``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor import display
from monitor.errors import MonitorError, StorageError

if TYPE_CHECKING:
    from monitor import pipeline
    from monitor.config import Config
    from monitor.storage import Store
    from monitor.storage.search import SearchHit

# The pipeline (trafilatura, matplotlib, feedparser, httpx…) is imported by the
# commands that run it, not here: `monitor --help` and `monitor articles` start in a
# fraction of a second.

app = typer.Typer(
    help="Taiwan–US chip-trade monitor: feeds → articles → database → alert email.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML file overriding keys of the shipped config/monitor.yaml "
        "(default: $MONITOR_CONFIG).",
    ),
]


def _load(config: Path | None) -> Config:
    from monitor.config import load_config

    return load_config(config)


def _fail(exc: MonitorError) -> typer.Exit:
    return _usage(str(exc))


def _usage(message: str) -> typer.Exit:
    """One line on stderr, exit 2: what every bad input gets."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def init(config: ConfigOption = None) -> None:
    """Create or migrate the database and load the seed corpus (safe to run twice)."""
    from monitor import pipeline

    try:
        cfg = _load(config)
        stats = pipeline.init(cfg)
    except MonitorError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"database ready: {pipeline.open_store(cfg).safe_url}\n"
        f"seed documents: {stats.seeds_total} in {cfg.seeds_dir}, {stats.seeds_loaded} newly loaded"
    )


# Run dates the monitor can work with: its windows and baselines reach months back
# and days ahead of the run date, and nothing in it is older than 1970.
FIRST_RUN_DATE = date(1970, 1, 1)
LAST_RUN_DATE = date(9998, 12, 31)


def _parse_date(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _usage(f"--date {value!r} is not a date like 2026-11-02") from None
    if not FIRST_RUN_DATE <= day <= LAST_RUN_DATE:
        raise _usage(
            f"--date {value} is out of range: give a day from {FIRST_RUN_DATE} to {LAST_RUN_DATE}"
        )
    return day


def print_summary(summary: pipeline.RunSummary) -> None:
    s = summary
    typer.echo(f"run {s.run_date.isoformat()}")
    extra = f" ({s.feeds_unchanged} unchanged)" if s.feeds_unchanged else ""
    skipped = f", {s.feeds_skipped} backing off" if s.feeds_skipped else ""
    typer.echo(f"  feeds        {s.feeds_ok} ok{extra}, {s.feeds_failed} failed{skipped}")
    for failure in s.failures:
        typer.echo(f"    ✗ {failure.feed}: {failure.error}")
    if s.failed_shards:
        failed = ", ".join(s.failed_shards)
        typer.echo(f"  shards       failed: {failed} (taken up by the next run)")
    typer.echo(f"  entries      {s.entries} in window, {s.new_entries} new")
    typer.echo(f"  pages        {s.pages_ok} fetched, {s.pages_failed} failed (feed summary used)")
    typer.echo(f"  articles     {s.new_articles} new")
    typer.echo(f"  duplicates   {s.duplicates}")
    typer.echo(f"  off-topic    {s.off_topic}")
    typer.echo(f"  alerts       {s.alerts_raised} raised, {s.alerts_sent} sent")
    if s.resumed_entries or s.resumed_articles:
        typer.echo(
            f"  resumed      {s.resumed_entries} entries, {s.resumed_articles} articles "
            "left unfinished by an earlier run"
        )
    if s.delivery:
        typer.echo(f"  email        {s.delivery}")
    if s.delivery_error and s.delivery_status == "partial":
        typer.echo(f"  email PARTIAL {s.delivery_error}")
    elif s.delivery_error and s.delivery_status == "unknown":
        typer.echo(f"  email UNKNOWN {s.delivery_error}")
    elif s.delivery_error:
        typer.echo(f"  email FAILED {s.delivery_error} (alerts stay pending)")
    for refused in s.refused_recipients:
        typer.echo(f"    ✗ refused {refused}")
    if s.alerts_unknown:
        typer.echo(
            f"  unknown      {s.alerts_unknown} alerts in an email the server never confirmed: "
            "sent again with the same Message-ID after alerts.resend_unknown_after, "
            "or `monitor alerts confirm ID` once you see it arrived"
        )
    if s.feeds_ok == 0 and s.feeds_failed:
        typer.echo("No feed was reachable. Check the network, or try the offline demo: make demo")


@app.command()
def run(
    config: ConfigOption = None,
    run_date: Annotated[
        str | None,
        typer.Option("--date", help="Day to run for, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the whole pipeline for one day and print a summary."""
    from monitor import pipeline

    day = _parse_date(run_date)
    try:
        cfg = _load(config)
        pipeline.init(cfg)
        summary = pipeline.run_day(cfg, day)
    except StorageError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        typer.secho(
            "the run stopped before it finished; what it stored is kept, and the next "
            f"`monitor run --date {day.isoformat()}` takes up the rest",
            err=True,
        )
        raise typer.Exit(2) from None
    except MonitorError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_summary(summary)
    if summary.delivery_error:
        raise typer.Exit(3)


@app.command("last-run")
def last_run(
    config: ConfigOption = None,
    require_feeds: Annotated[
        bool,
        typer.Option("--require-feeds", help="Exit 1 when the last run reached no feed at all."),
    ] = False,
) -> None:
    """Print the summary of the newest run recorded in the database."""
    from monitor import pipeline

    try:
        cfg = _load(config)
        store = _open_store(cfg)
        try:
            found = store.last_run()
        finally:
            store.close()
    except MonitorError as exc:
        raise _fail(exc) from None
    if found is None:
        typer.echo("no run recorded yet")
        raise typer.Exit(1)
    day, stats = found
    summary = pipeline.RunSummary.from_dict(stats, day)
    print_summary(summary)
    if require_feeds and summary.feeds_ok == 0:
        raise typer.Exit(1)


def _open_store(cfg: Config) -> Store:
    """The database, without importing the pipeline (what ``pipeline.open_store`` does)."""
    from monitor.storage import Store

    return Store(cfg.db_url)


def _show(
    config: Path | None,
    view: str,
    columns: Sequence[tuple[str, str]],
    order_by: str,
    *,
    what: str,
    uncut: Sequence[str] = (),
) -> None:
    """Print an analyst view as a table: ``columns`` are (view column, header) pairs."""
    from monitor.storage.views import read_view

    names = [name for name, _ in columns]
    try:
        found = read_view(_load(config).db_url, view, names, order_by)
    except MonitorError as exc:
        raise _fail(exc) from None
    rows, where = found.rows, found.where
    if not rows:
        typer.echo(f"no {what} yet in {where} ({view} is empty)")
        return
    body = [
        [
            display.moment(row[name])
            if name.endswith("_at")  # SQLite hands view timestamps back as text
            else display.cell(row[name], cut=name not in uncut)
            for name in names
        ]
        for row in rows
    ]
    for line in display.table([header for _, header in columns], body):
        typer.echo(line)


ARTICLE_COLUMNS = [
    ("id", "id"),
    ("published_at", "published"),
    ("source", "outlet"),
    ("language", "lang"),
    ("title", "title"),
    ("url", "url"),
]


@app.command()
def articles(config: ConfigOption = None) -> None:
    """List kept articles (the v_articles view): id, published, outlet, language, title, url."""
    _show(config, "v_articles", ARTICLE_COLUMNS, "published_at, id", what="articles", uncut=["url"])


alerts_app = typer.Typer(
    help="List alerts (the v_alerts view); `monitor alerts resend ID` sends one again.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(alerts_app, name="alerts")

ALERT_COLUMNS = [
    ("id", "id"),
    ("run_date", "run date"),
    ("status", "status"),
    ("rule", "rule"),
    ("keyword", "keyword"),
    ("summary", "summary"),
    ("attempts", "tries"),
    ("last_error", "last error"),
]


@alerts_app.callback()
def alerts(ctx: typer.Context, config: ConfigOption = None) -> None:
    """List alerts: id, run date, status, rule, keyword, summary, send attempts, last error.

    Status: pending, sending (a run is handing it over), sent, partial (some recipients
    refused: named in the last error), unknown (the server never confirmed: sent again
    after alerts.resend_unknown_after with the same Message-ID), failed, suppressed."""
    if ctx.invoked_subcommand is None:
        _show(config, "v_alerts", ALERT_COLUMNS, "id", what="alerts", uncut=["last_error"])


@alerts_app.command("resend")
def alerts_resend(
    alert_id: Annotated[int, typer.Argument(help="The alert's id, as `monitor alerts` shows.")],
    config: ConfigOption = None,
) -> None:
    """Send one alert again now, in an email of its own (a new Message-ID), whatever its
    state."""
    from monitor import pipeline

    try:
        result = pipeline.resend_alert(_load(config), alert_id)
    except MonitorError as exc:
        raise _fail(exc) from None
    if result.status == "partial":
        typer.secho(
            f"alert #{alert_id} sent, partly: {result.error}", err=True, fg=typer.colors.RED
        )
        raise typer.Exit(3)
    if result.status == "unknown":
        typer.secho(
            f"alert #{alert_id} may or may not have arrived: {result.error} "
            "(it goes again after alerts.resend_unknown_after; see `monitor alerts`)",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(3)
    if result.error:
        typer.secho(f"alert #{alert_id} not sent: {result.error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)
    typer.echo(f"alert #{alert_id} sent: {result.method}: {result.detail}")


@alerts_app.command("confirm")
def alerts_confirm(
    alert_id: Annotated[int, typer.Argument(help="The alert's id, as `monitor alerts` shows.")],
    config: ConfigOption = None,
) -> None:
    """Mark the email carrying an `unknown` alert as delivered (you found it in the
    mailbox), so it is not sent again. Exits 1 when the alert is not unknown."""
    from monitor import pipeline

    try:
        done = pipeline.confirm_alert(_load(config), alert_id)
    except MonitorError as exc:
        raise _fail(exc) from None
    if done is None:
        typer.secho(
            f"alert #{alert_id} is not waiting on an email of unknown fate; nothing to confirm",
            err=True,
        )
        raise typer.Exit(1)
    ids = ", ".join(f"#{i}" for i in done.alert_ids)
    typer.echo(f"email {done.message_id} marked sent, with alerts {ids}")


@app.command()
def explain(
    article: Annotated[str, typer.Argument(help="Article id, or an article's or feed item's URL.")],
    config: ConfigOption = None,
) -> None:
    """Why an article was kept or merged: rule, matched document, similarity, relevance."""
    from monitor import stories

    try:
        result = stories.explain(_load(config), article)
    except MonitorError as exc:
        raise _fail(exc) from None
    for line in result.lines:
        typer.echo(line)
    if not result.found:
        raise typer.Exit(1)


dedup_app = typer.Typer(help="Dedup decisions an analyst can change.", no_args_is_help=True)
app.add_typer(dedup_app, name="dedup")


@dedup_app.command("undo")
def dedup_undo(
    article: Annotated[str, typer.Argument(help="Article id or URL of the merged copy.")],
    config: ConfigOption = None,
) -> None:
    """Separate a wrongly merged article into a story of its own (for good)."""
    from monitor import stories

    try:
        result = stories.undo(_load(config), article)
    except MonitorError as exc:
        raise _fail(exc) from None
    typer.echo(result.message)
    if result.status != "separated":
        raise typer.Exit(1)


feeds_app = typer.Typer(
    help="Feed health: `monitor feeds` prints the table; `monitor feeds check` tries feeds now.",
    no_args_is_help=False,
)
app.add_typer(feeds_app, name="feeds")


def _when(value: datetime | date | None) -> str:
    return display.moment(value)


@feeds_app.callback(invoke_without_command=True)
def feeds_table(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Health of every feed: last status and success, failures in a row, items per day."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        cfg = _load(config)
        store = _open_store(cfg)
        try:
            store.migrate()
            rows = {h.url: h for h in store.feed_health(datetime.now(UTC))}
        finally:
            store.close()
    except MonitorError as exc:
        raise _fail(exc) from None
    header = ("feed", "status", "last success", "fails", "next try", "items/day", "last item")
    table: list[tuple[str, ...]] = []
    for feed in cfg.feeds:
        h = rows.get(feed.url)
        if h is None:
            table.append((feed.name, "never fetched", "-", "0", "-", "-", "-"))
            continue
        table.append(
            (
                feed.name,
                h.last_status or "-",
                _when(h.last_success_at),
                str(h.consecutive_failures),
                _when(h.next_attempt_on),
                "-" if h.items_per_day is None else f"{h.items_per_day:g}",
                _when(h.last_item_at),
            )
        )
    for line in display.table(header, table):
        typer.echo(line)
    for feed in cfg.feeds:
        h = rows.get(feed.url)
        if h is not None and h.last_error:
            typer.echo(f"  {feed.name}: {h.last_error}")
        if h is not None and h.failed_items:
            items = "item" if h.failed_items == 1 else "items"
            typer.echo(
                f"  {feed.name}: {h.failed_items} {items} could not be stored; "
                f"last: {h.last_item_error}"
            )


@feeds_app.command("check")
def feeds_check(
    url: Annotated[
        str | None, typer.Argument(help="A feed URL to try (any, configured or not).")
    ] = None,
    all_feeds: Annotated[bool, typer.Option("--all", help="Try every configured feed.")] = False,
    config: ConfigOption = None,
) -> None:
    """Fetch feeds now (no conditional GET, nothing stored) and report status, format,
    entries and problems. Exits 1 when a feed failed."""
    from monitor import pipeline
    from monitor.config import FeedConfig

    if (url is None) == (not all_feeds):
        raise typer.BadParameter("give one feed URL or --all")
    try:
        cfg = _load(config)
    except MonitorError as exc:
        raise _fail(exc) from None
    if all_feeds:
        targets = list(cfg.feeds)
    else:
        assert url is not None
        known = {f.url: f for f in cfg.feeds}
        try:
            targets = [known.get(url) or FeedConfig(name=url, url=url)]
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    results = pipeline.check_feeds(cfg, targets)
    failed = 0
    for result in results:
        mark = "ok" if result.status == "ok" else "FAILED"
        failed += result.status != "ok"
        typer.echo(f"{mark:6} {result.name}")
        typer.echo(f"       url      {result.url}")
        http = f"HTTP {result.http_status}" if result.http_status else "no HTTP answer"
        typer.echo(f"       status   {result.status} ({http})")
        typer.echo(f"       format   {result.format or '-'}")
        typer.echo(f"       entries  {len(result.entries)}")
        if result.entries:
            newest = max((e.published_at for e in result.entries if e.published_at), default=None)
            typer.echo(f"       newest   {_when(newest)}")
        if result.error:
            typer.echo(f"       problem  {result.error}")
    if failed:
        raise typer.Exit(1)


@app.command()
def extract(
    targets: Annotated[
        list[str], typer.Argument(help="Saved HTML files (read offline) or http(s) URLs.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per page, one per line.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print what the pipeline reads from each page: title, publication date (with its
    offset and source), language, canonical URL and text. URLs are fetched with the
    same guards as a run; files never touch the network. Exits 1 when a page failed."""
    from monitor import pages
    from monitor.politeness import PoliteFetcher

    urls = [t for t in targets if t.lower().startswith(("http://", "https://"))]
    readings: list[pages.PageReading] = []
    try:
        cfg = _load(config) if urls else None
    except MonitorError as exc:
        raise _fail(exc) from None
    # Only URLs need the fetcher (and the config); files are read with no network.
    session: AbstractContextManager[PoliteFetcher | None] = (
        PoliteFetcher(cfg.http) if cfg is not None else nullcontext()
    )
    with session as fetcher:
        for target in targets:
            if target in urls and fetcher is not None:
                readings.append(pages.read_url(target, fetcher))
            else:
                readings.append(pages.read_file(Path(target)))
    for reading in readings:
        data = reading.as_dict()
        if as_json:
            typer.echo(json.dumps(data, ensure_ascii=False))
            continue
        if reading.error:
            typer.secho(f"{reading.source}: {reading.error}", err=True, fg=typer.colors.RED)
            continue
        typer.echo(f"== {reading.source}")
        for key in ("url", "canonical_url", "title", "site_name", "language"):
            typer.echo(f"{key:16} {data[key] or '-'}")
        when = data["published_at"]
        typer.echo(
            f"{'published_at':16} "
            + (
                f"{when} (from the page; printed day {data['published_date']})"
                if when
                else "- (none on the page: a run uses the feed's date, else the fetch time)"
            )
        )
        typer.echo(f"{'text':16} {len(data['text'] or '')} characters")
        typer.echo(data["text"] or "")
    if any(r.error for r in readings):
        raise typer.Exit(1)


@app.command()
def reextract(config: ConfigOption = None) -> None:
    """Re-run extraction over every archived page (no network) and update the texts."""
    from monitor import pipeline

    try:
        cfg = _load(config)
        pipeline.init(cfg)
        stats = pipeline.reextract(cfg)
    except MonitorError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"re-extracted {stats.pages} archived pages ({stats.entries} entries); "
        f"{stats.changed} entries changed"
    )


@app.command()
def serve(
    config: ConfigOption = None,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8050,
) -> None:
    """Serve the analysts' web view (the pages of the Airflow plugin) on 127.0.0.1,
    without Airflow. It prints a URL with a one-time token: open it to log in."""
    import os

    import uvicorn

    from monitor.web import local_app

    try:
        _load(config)  # a bad config fails here, not on the first page
    except MonitorError as exc:
        raise _fail(exc) from None
    web, token = local_app(lambda: _load(config), os.environ.get("MONITOR_WEB_TOKEN") or None)
    typer.echo(f"serving the web view: http://127.0.0.1:{port}/monitor/stories?token={token}")
    typer.echo("(only this machine can reach it; the token is the login. Ctrl-C stops it.)")
    uvicorn.run(web, host="127.0.0.1", port=port, log_level="warning")


# -- analysts: search, SQL files, the read-only role ----------------------------------------

FORMATS = ("table", "csv", "json")
FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Output: table (default), csv or json.")
]


def _format(value: str) -> str:
    if value not in FORMATS:
        raise _usage(f"--format {value!r}: give one of {', '.join(FORMATS)}")
    return value


_STAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?")


def _cell(value: object) -> str:
    """A value as a table shows it: times (UTC, as the views keep them) to the minute."""
    if value is None:
        return "-"
    if isinstance(value, str) and _STAMP.fullmatch(value):
        value = datetime.fromisoformat(value)  # SQLite hands timestamps over as text
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Decimal):
        return str(float(value))  # PostgreSQL's NUMERIC, printed as SQLite prints REAL
    return " ".join(str(value).split())


def _plain(value: object) -> object:
    """A value as JSON and CSV carry it: dates as ISO text, decimals as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, int | float | str | bool):
        return value
    if isinstance(value, Decimal):
        return float(value)  # PostgreSQL's NUMERIC
    return str(value)


def _emit(columns: Sequence[str], rows: Sequence[Sequence[object]], fmt: str) -> None:
    if fmt == "json":
        data = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _plain(v) for v in row])
        typer.echo(out.getvalue(), nl=False)
        return
    width = 60
    table = [list(columns)] + [
        [c if len(c) <= width else c[: width - 1] + "…" for c in map(_cell, row)] for row in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    for row in table:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    typer.echo(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")


SEARCH_COLUMNS = ("id", "rank", "day", "published_at", "outlet", "title", "url", "snippet", "term")


def _hit_row(hit: SearchHit) -> tuple[object, ...]:
    return tuple(getattr(hit, c) for c in SEARCH_COLUMNS)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words or a phrase, English or Chinese.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only articles of this local day or later.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only this outlet (as v_articles names it).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most N.")] = 20,
    exact: Annotated[
        bool,
        typer.Option(
            "--exact", help="Search the query alone, not the watched keyword group it names."
        ),
    ] = False,
    fmt: FormatOption = "table",
    config: ConfigOption = None,
) -> None:
    """Full-text search of kept articles, best first: title, outlet, day and a snippet
    with the match in [brackets]. A query naming a watched keyword or one of its terms
    (台積電, TSMC) searches the whole group unless --exact."""
    fmt = _format(fmt)
    day = None if since is None else _parse_day("--since", since)
    try:
        cfg = _load(config)
        store = _open_store(cfg)
        try:
            store.migrate()
            from monitor.storage.search import expand_terms

            terms = [query] if exact else expand_terms(query, cfg.watch, cfg.topic)
            hits = store.search(terms, since=day, outlet=source, limit=limit)
        finally:
            store.close()
    except MonitorError as exc:
        raise _fail(exc) from None
    if fmt != "table":
        _emit(SEARCH_COLUMNS, [_hit_row(h) for h in hits], fmt)
        return
    if len(terms) > 1:
        typer.echo(f"searched: {' | '.join(terms)}")
    if not hits:
        typer.echo(f"no kept article matches {query!r}")
        return
    for n, hit in enumerate(hits, 1):
        when = hit.day.isoformat() if hit.day else "-"
        typer.echo(f"{n:>2}. {hit.title}")
        typer.echo(f"    {hit.outlet} · {when} · #{hit.id} · {hit.url}")
        typer.echo(f"    {_cell(hit.snippet)}")


def _parse_day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _usage(f"{option} {value!r} is not a date like 2026-11-02") from None


def _find_query(name: Path) -> Path:
    """The file as given, else the ready-made query of that name in sql/queries/ (of
    the working directory, else the one the package ships)."""
    if name.is_file():
        return name
    from monitor.config import DEFAULT_QUERIES_DIR

    for folder in (Path("sql/queries"), DEFAULT_QUERIES_DIR):
        for candidate in (folder / name, folder / f"{name}.sql"):
            if candidate.is_file():
                return candidate
    raise _usage(f"no SQL file {name} (nor sql/queries/{name.name})")


@app.command("sql")
def run_sql(
    file: Annotated[Path, typer.Argument(help="A .sql file, or the name of one in sql/queries/.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter, name=value (repeat for more)."),
    ] = None,
    fmt: FormatOption = "table",
    config: ConfigOption = None,
) -> None:
    """Run one analyst query (sql/queries/*.sql) with its parameters; a parameter not
    given is NULL, which the shipped queries read as "no filter"."""
    fmt = _format(fmt)
    params: dict[str, str] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _usage(f"--param {item!r}: give name=value")
        params[name.strip()] = value
    path = _find_query(file)
    try:
        cfg = _load(config)
        store = _open_store(cfg)
        try:
            store.migrate()
            from monitor.storage.analyst import query_file

            chosen = query_file(path, store.engine.dialect.name)
            sql = chosen.read_text(encoding="utf-8")
            result = store.run_query(sql, params)
        finally:
            store.close()
    except OSError as exc:
        raise _usage(f"cannot read {path}: {exc.strerror or exc}") from None
    except MonitorError as exc:
        raise _fail(exc) from None
    _emit(result.columns, result.rows, fmt)


@app.command("grant-analyst")
def grant_analyst(
    role: Annotated[str, typer.Argument(help="The PostgreSQL role to create or update.")],
    statement_timeout: Annotated[
        str, typer.Option("--statement-timeout", help="Longest statement the role may run.")
    ] = "30s",
    config: ConfigOption = None,
) -> None:
    """PostgreSQL: a login role (password from $MONITOR_ANALYST_PASSWORD) that reads the
    v_* views and search_articles(), and nothing else: no pipeline or Airflow tables,
    no writes, statements stopped after --statement-timeout."""
    password = os.environ.get("MONITOR_ANALYST_PASSWORD", "")
    if not password:
        raise _usage("set MONITOR_ANALYST_PASSWORD to the analyst role's password")
    try:
        cfg = _load(config)
        store = _open_store(cfg)
        try:
            store.migrate()
            store.grant_analyst(role, password, statement_timeout)
            where = store.safe_url
        finally:
            store.close()
    except MonitorError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"role {role} may read the v_* views and search_articles() of {where} "
        f"(read-only, statement_timeout {statement_timeout})"
    )


def main() -> None:
    app()
