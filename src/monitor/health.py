"""Feed health: which feeds are due this run, and alerts for failing or silent feeds.

A failing feed is never dropped: after ``k`` failed runs in a row it is tried again
``min(2^(k-1), feed_health.max_backoff_days)`` days later (storage records the date).
A rerun of the same run date always tries it, so an operator who fixed something sees
the result at once. Alerts go into the ``alerts`` table with rule ``feed_health`` and a
natural key (the feed and the start of the failure streak, or the last item of a
silence), so reruns never raise one twice and they reach the analysts in the normal
email.

Silence is judged on the feed's own item dates against the end of the run date's
window, never against the wall clock, and only where the run can know the feed's
rhythm: a feed read for the first time (its old items are a backlog, not a silence)
raises no silence alert, and a run for a day before the latest day already run (a
rerun or a backfill) raises no feed-health alert at all: what it would say about the
past is either known already or no longer true.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime

from monitor.config import Config
from monitor.records import FeedHealth, FeedState
from monitor.storage import Store

LOGGER = logging.getLogger(__name__)
RULE = "feed_health"


def is_due(state: FeedState | None, run_date: date) -> bool:
    """Whether a feed is fetched in the run for ``run_date`` (not backing off)."""
    if state is None or state.next_attempt_on is None:
        return True
    if state.last_run_date == run_date:
        return True
    return run_date >= state.next_attempt_on


def _key(kind: str, url: str, when: str) -> str:
    return f"{RULE}:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:16]}:{when}"


def silent_for(health: FeedHealth, now: datetime, cfg: Config) -> float | None:
    """Hours the feed has been silent when that exceeds ``silence_factor`` × its usual
    gap (and it has enough items to know its rhythm); None otherwise."""
    rules = cfg.feed_health
    if (
        health.items_until_now < rules.min_entries_for_silence
        or not health.usual_gap_hours
        or health.last_item_at is None
    ):
        return None
    hours = (now - health.last_item_at).total_seconds() / 3600
    return hours if hours > rules.silence_factor * health.usual_gap_hours else None


def raise_alerts(store: Store, cfg: Config, run_date: date, now: datetime) -> list[int]:
    """Alert on configured feeds failing for N runs, or silent far past their usual gap
    (judged at ``now``, the end of the run date's window). Nothing is raised for a day
    before the latest run date, nor a silence on a feed's first day."""
    configured = {feed.url for feed in cfg.feeds}
    rows = [h for h in store.feed_health(now) if h.url in configured]
    latest = max((h.latest_run for h in rows if h.latest_run is not None), default=None)
    if latest is not None and run_date < latest:
        LOGGER.info("run for %s after %s: a backfill, feed health not judged", run_date, latest)
        return []
    new: list[int] = []
    for health in rows:
        alert_id: int | None = None
        if health.consecutive_failures >= cfg.feed_health.alert_after_failures:
            since = health.failing_since.isoformat() if health.failing_since else "?"
            alert_id = store.add_alert(
                _key("failing", health.url, since),
                run_date,
                rule=RULE,
                keyword=health.name[:200],
                summary=(
                    f"Feed {health.name!r} has failed {health.consecutive_failures} runs in a "
                    f"row (since {since}); next attempt on {health.next_attempt_on}"
                ),
                sentence=f"{health.url}: {health.last_error or health.last_status}",
            )
        elif health.first_success_run is not None and health.first_success_run < run_date:
            hours = silent_for(health, now, cfg)
            if hours is not None and health.last_item_at is not None:
                alert_id = store.add_alert(
                    _key("silent", health.url, health.last_item_at.isoformat()),
                    run_date,
                    rule=RULE,
                    keyword=health.name[:200],
                    summary=(
                        f"Feed {health.name!r} has published nothing for {hours / 24:.1f} days "
                        f"(usually an item every {health.usual_gap_hours:g} h)"
                    ),
                    sentence=f"{health.url}: last item {health.last_item_at:%Y-%m-%d %H:%M} UTC",
                )
        if alert_id is not None:
            LOGGER.warning("feed health alert #%d for %s", alert_id, health.url)
            new.append(alert_id)
    return new
