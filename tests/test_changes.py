"""monitor.changes: the watch rules, on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from watch_kit import kept_story, monitor_on, rows

from monitor import changes, pipeline
from monitor.config import Config, DropRule, SpikeRule
from monitor.records import DetectResult
from monitor.storage import Store


def _story(cfg: Config, published: datetime, run_date: date, body: str) -> int:
    """Store one kept story published at ``published`` (UTC)."""
    return kept_story(
        cfg,
        body,
        published=published,
        run_date=run_date,
        source="Example News",
        title="Story {n} on chips between Taiwan and the U.S.",
    )


def _detect(cfg: Config, run_date: date, ids: list[int]) -> DetectResult:
    return pipeline.detect_changes(cfg, run_date, ids)


def _alerts(db_url: str) -> list[tuple[object, ...]]:
    found = rows(db_url, "SELECT rule, keyword, day, status FROM alerts ORDER BY id")
    return [(r, k, d.isoformat() if isinstance(d, date) else d, s) for r, k, d, s in found]


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


# --- spike and drop tests on numbers ---------------------------------------------------


def test_spike_needs_enough_baseline_data() -> None:
    rule = SpikeRule(min_baseline_days=7, min_count=3, ratio=3.0, sigma=3.0)
    assert not changes.spike_test(9, [0, 0, 0], rule).fired
    verdict = changes.spike_test(9, [0] * 7, rule)
    assert verdict.fired and verdict.reason == "spike"


@pytest.mark.parametrize(
    ("today", "baseline", "rule", "fired"),
    [
        (2, [0] * 14, SpikeRule(), False),  # below min_count
        (3, [0] * 14, SpikeRule(), True),
        (4, [2, 1] * 7, SpikeRule(), False),  # 4 < 3 × 1.5
        (5, [2, 1] * 7, SpikeRule(), True),
        (5, [2, 1] * 7, SpikeRule(ratio=None, sigma=3.0), True),  # 5 > 1.5 + 3 × 0.5
        (5, [0, 4] * 7, SpikeRule(ratio=None, sigma=3.0), False),  # noisy baseline
        (5, [0, 4] * 7, SpikeRule(ratio=3.0, sigma=None), False),  # 5 < 3 × 2
        (4, [0, 4] * 7, SpikeRule(ratio=None, sigma=None, min_count=4), True),
    ],
)
def test_spike_ratio_and_sigma(today: int, baseline: list[int], rule: SpikeRule, fired: bool):
    assert changes.spike_test(today, baseline, rule).fired is fired


@pytest.mark.parametrize(
    ("today", "baseline", "fired"),
    [
        (0, [4] * 14, True),
        (1, [4] * 14, True),
        (2, [4] * 14, False),
        (0, [1] * 14, False),  # too quiet a keyword to drop
        (0, [4] * 5, False),  # too little data
    ],
)
def test_drop(today: int, baseline: list[int], fired: bool) -> None:
    assert changes.drop_test(today, baseline, DropRule()).fired is fired


# --- rules on the database -------------------------------------------------------------


def test_first_mention_only_outside_the_look_back(tmp_path: Path, db_url: str) -> None:
    cfg = monitor_on(tmp_path, db_url, "watch:\n  first_mention:\n    lookback_days: 30\n")
    body = "Washington named new export controls on chips."
    d0 = date(2026, 3, 1)
    for offset in (0, 20, 51, 52):
        day = d0 + timedelta(days=offset)
        _detect(cfg, day, [_story(cfg, _noon(day), day, body)])
    assert _alerts(db_url) == [
        ("first_mention", "export controls", "2026-03-01", "pending"),
        # day 20 is within 30 days of day 0; day 51 is 31 days after day 20
        ("first_mention", "export controls", "2026-04-21", "pending"),
    ]
    # a rerun of a day raises nothing
    again = _detect(cfg, d0 + timedelta(days=51), [])
    assert again == DetectResult(alerts=0, alert_ids=(), resumed=0)
    assert len(_alerts(db_url)) == 2


def test_keywords_without_rules_never_alert_alone(tmp_path: Path, db_url: str) -> None:
    cfg = monitor_on(tmp_path, db_url)
    day = date(2026, 3, 1)
    _detect(cfg, day, [_story(cfg, _noon(day), day, "MediaTek and UMC reported sales.")])
    assert _alerts(db_url) == []


def test_drop_after_a_busy_baseline_then_cool_down(tmp_path: Path, db_url: str) -> None:
    cfg = monitor_on(
        tmp_path,
        db_url,
        "watch:\n  drop:\n    min_baseline_days: 5\n    min_baseline_mean: 1.5\n"
        "alerts:\n  cooldown_days: 3\n",
    )
    start = date(2026, 5, 1)
    for n in range(7):  # 3 stories a day about export controls
        day = start + timedelta(days=n)
        ids = [
            _story(cfg, _noon(day), day, f"Export controls item {k} on {day}.") for k in range(3)
        ]
        _detect(cfg, day, ids)
    quiet = [start + timedelta(days=n) for n in (7, 8, 12)]
    for day in quiet:  # a quiet day has one other story only
        _detect(cfg, day, [_story(cfg, _noon(day), day, "TSMC chips shipped to the U.S.")])
    assert _alerts(db_url) == [
        ("first_mention", "export controls", "2026-05-01", "pending"),
        ("drop", "export controls", "2026-05-08", "pending"),
        ("drop", "export controls", "2026-05-09", "suppressed"),  # within the cool-down
        ("drop", "export controls", "2026-05-13", "pending"),  # cool-down over
    ]
    [(details, note)] = rows(
        db_url,
        "SELECT details, note FROM alerts WHERE day = :d AND rule = 'drop'",
        {"d": date(2026, 5, 9)},
    )
    assert json.loads(details) == {"baseline_days": 8, "count": 0, "mean": 2.625, "std": 0.992}
    assert note.startswith("cool-down: alert #")


@pytest.mark.parametrize(
    ("zone", "day"),
    [("Asia/Taipei", "2026-09-08"), ("America/New_York", "2026-09-07"), ("UTC", "2026-09-07")],
)
def test_story_counted_on_its_local_day(tmp_path: Path, db_url: str, zone: str, day: str):
    cfg = monitor_on(tmp_path, db_url, f"timezone: {zone}\n")
    published = datetime(2026, 9, 7, 16, 15, tzinfo=UTC)  # 00:15 on the 8th in Taipei
    run = date(2026, 9, 8)
    _detect(cfg, run, [_story(cfg, published, run, "New export controls on chips.")])
    store = Store(db_url)
    try:
        counts = store.daily_story_counts(["export controls"], date(2026, 9, 1), run)
    finally:
        store.close()
    assert counts == {"export controls": {date.fromisoformat(day): 1}}
    assert _alerts(db_url) == [("first_mention", "export controls", day, "pending")]
