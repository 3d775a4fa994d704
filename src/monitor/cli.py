"""The ``monitor`` command: init, run, and what operators need around them.

Errors become messages here and only here: a wrong config or a broken database prints
one clear line and exits 2; a run that completed with failed feeds exits 0; a run whose
alert email was not cleanly delivered exits 3: refused (the alerts stay pending for the
next run), partial (some recipients refused, named) or unknown (no answer once the
message went out; it goes again after ``alerts.resend_unknown_after``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from monitor import pipeline, stories
from monitor.config import Config, FeedConfig, load_config
from monitor.errors import MonitorError, StorageError

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
    try:
        cfg = _load(config)
        store = pipeline.open_store(cfg)
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


def _show(config: Path | None, view: str, columns: list[str], order_by: str) -> None:
    try:
        store = pipeline.open_store(_load(config))
        try:
            rows = store.view(view, columns, order_by)
        finally:
            store.close()
    except MonitorError as exc:
        raise _fail(exc) from None
    if not rows:
        typer.echo(f"({view} is empty)")
    for row in rows:
        typer.echo("  ".join("-" if row[c] is None else str(row[c]) for c in columns))


@app.command()
def articles(config: ConfigOption = None) -> None:
    """List kept articles (the v_articles view): id, published, source, title, url."""
    _show(
        config, "v_articles", ["id", "published_at", "source", "title", "url"], "published_at, id"
    )


alerts_app = typer.Typer(
    help="List alerts (the v_alerts view); `monitor alerts resend ID` sends one again.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(alerts_app, name="alerts")

ALERT_COLUMNS = ["id", "run_date", "status", "rule", "keyword", "summary", "attempts", "last_error"]


@alerts_app.callback()
def alerts(ctx: typer.Context, config: ConfigOption = None) -> None:
    """List alerts: id, run date, status, rule, keyword, summary, send attempts, last error.

    Status: pending, sending (a run is handing it over), sent, partial (some recipients
    refused: named in the last error), unknown (the server never confirmed: sent again
    after alerts.resend_unknown_after with the same Message-ID), failed, suppressed."""
    if ctx.invoked_subcommand is None:
        _show(config, "v_alerts", ALERT_COLUMNS, "id")


@alerts_app.command("resend")
def alerts_resend(
    alert_id: Annotated[int, typer.Argument(help="The alert's id, as `monitor alerts` shows.")],
    config: ConfigOption = None,
) -> None:
    """Send one alert again now, in an email of its own (a new Message-ID), whatever its
    state."""
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
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


@feeds_app.callback(invoke_without_command=True)
def feeds_table(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Health of every feed: last status and success, failures in a row, items per day."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        cfg = _load(config)
        store = pipeline.open_store(cfg)
        try:
            store.migrate()
            rows = {h.url: h for h in store.feed_health(datetime.now(UTC))}
        finally:
            store.close()
    except MonitorError as exc:
        raise _fail(exc) from None
    header = ("feed", "status", "last success", "fails", "next try", "items/day", "last item")
    table = [header]
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
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
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
def reextract(config: ConfigOption = None) -> None:
    """Re-run extraction over every archived page (no network) and update the texts."""
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


def main() -> None:
    app()
