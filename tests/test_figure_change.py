"""monitor.detect.rules.figure_change: corroboration, conflicts and unconfirmed reports,
first on the replay alone, then through detect_changes on real databases (cool-down,
reruns, the v_alerts columns)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

import pytest
from sqlalchemy import create_engine, text
from watch_kit import kept_story, monitor_on, rows

from monitor import pipeline
from monitor.config import Config, FigureChangeRule
from monitor.detect.rules.figure_change import FigureEvent, candidate, replay
from monitor.records import StoredReading
from monitor.storage import Store

RULE = FigureChangeRule()  # 2 outlets within 2 days
D1 = date(2026, 1, 15)
D2 = date(2026, 1, 16)
D3 = date(2026, 1, 17)
_IDS = count(1)


def seed(value: float) -> StoredReading:
    n = next(_IDS)
    return StoredReading(
        n,
        "us_tariff_taiwan",
        value,
        "%",
        f"seed says {value:g}%",
        f"seed:{n}",
        None,
        None,
        None,
        seed_id=n,
    )


def report(day: date, outlet: str, value: float, *, primary: bool = False) -> StoredReading:
    n = next(_IDS)
    when = datetime(day.year, day.month, day.day, 1, n % 60, tzinfo=UTC)
    return StoredReading(
        n,
        "us_tariff_taiwan",
        value,
        "%",
        f"{outlet} says {value:g}%",
        f"article:{n}",
        outlet,
        when,
        day,
        primary,
        article_id=n,
    )


def kinds(
    events: list[FigureEvent],
) -> list[tuple[str, date, float | None, list[float], tuple[str, ...]]]:
    return [
        (e.kind, e.day, e.old.value if e.old else None, [r.value for r in e.new], e.outlets)
        for e in events
    ]


def test_two_outlets_agreeing_announce_the_change_against_the_last_report_of_the_old():
    old = report(D1, "CNA", 20)
    events = replay([seed(20), old, report(D2, "Reuters", 15), report(D2, "AP", 15)], RULE)
    assert kinds(events) == [("change", D2, 20, [15, 15], ("Reuters", "AP"))]
    assert events[0].old == old  # "Before:" is CNA's report, not the seed


def test_one_outlet_is_unconfirmed_even_twice():
    events = replay([seed(20), report(D2, "Reuters", 15), report(D2, "reuters ", 15)], RULE)
    assert kinds(events) == [("unconfirmed", D2, 20, [15, 15], ("Reuters",))]


def test_one_story_from_a_primary_feed_is_enough():
    events = replay([seed(20), report(D2, "Office of Trade Negotiations", 15, primary=True)], RULE)
    assert kinds(events) == [("change", D2, 20, [15], ("Office of Trade Negotiations",))]
    card = candidate(events[0], name="US tariff on Taiwan", keyword="tariff", title="")
    assert card.summary == (
        "tariff 20% → 15% (US tariff on Taiwan), reported by 1 outlet "
        "(primary source: Office of Trade Negotiations)"
    )


def test_next_day_corroboration_turns_the_unconfirmed_report_into_the_alert():
    first = report(D1, "Bloomberg", 15)
    events = replay([seed(20), first, report(D2, "Reuters", 15)], RULE)
    assert kinds(events) == [
        ("unconfirmed", D1, 20, [15], ("Bloomberg",)),
        ("change", D2, 20, [15, 15], ("Bloomberg", "Reuters")),
    ]
    assert events[1].new[0] == first  # the alert links the first report
    # ...but not once the first report is older than the window
    late = replay([seed(20), report(D1, "Bloomberg", 15), report(D3, "Reuters", 15)], RULE)
    assert [e.kind for e in late] == ["unconfirmed", "unconfirmed"]


def test_outlets_disagreeing_on_the_day_are_a_conflict_not_a_choice():
    events = replay(
        [
            seed(20),
            report(D2, "Reuters", 15),
            report(D2, "AP", 15),
            report(D2, "Bloomberg", 10),
            report(D2, "CNBC", 10),
        ],
        RULE,
    )
    assert kinds(events) == [
        ("conflict", D2, 20, [15, 15, 10, 10], ("Reuters", "AP", "Bloomberg", "CNBC"))
    ]
    card = candidate(events[0], name="US tariff on Taiwan", keyword="tariff", title="")
    assert card.summary == (
        "tariff: outlets disagree on US tariff on Taiwan: 10% (Bloomberg, CNBC); 15% (Reuters, AP)"
    )
    assert (card.old_value, card.new_value, card.confirmed) == ("20%", "10% / 15%", True)


def test_without_a_known_value_the_first_days_majority_is_taken_silently():
    events = replay(
        [report(D1, "Bloomberg", 25), report(D1, "Reuters", 20), report(D1, "AP", 20)], RULE
    )
    assert kinds(events) == [("unconfirmed", D1, 20, [25], ("Bloomberg",))]


def test_a_lagging_report_of_the_old_value_on_the_day_it_changed_is_nothing():
    events = replay(
        [seed(20), report(D2, "Reuters", 15), report(D2, "AP", 15), report(D2, "CNBC", 20)], RULE
    )
    assert [e.kind for e in events] == ["change"]


def test_the_card_names_the_item_the_outlets_and_the_seed():
    events = replay([seed(20), report(D2, "Reuters", 15), report(D2, "AP", 15)], RULE)
    card = candidate(events[0], name="US tariff on Taiwan", keyword="tariff", title="Deal signed")
    assert (
        card.summary == "tariff 20% → 15% (US tariff on Taiwan), reported by 2 outlets: Deal signed"
    )
    assert (card.rule, card.keyword, card.old_value, card.new_value) == (
        "figure_change",
        "tariff",
        "20%",
        "15%",
    )
    assert (card.reported_by, card.confirmed, card.old_article_id) == (2, True, None)
    assert card.old_seed_id is not None and card.key.endswith(":2026-01-16")
    assert [e.role for e in card.evidence] == ["new", "support", "old"]


# --- through detect_changes, on SQLite and PostgreSQL -----------------------------------


def _story(cfg: Config, day: date, outlet: str, body: str) -> int:
    published = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)
    return kept_story(
        cfg, body, published=published, run_date=day, source=outlet, title="Taiwan trade story {n}"
    )


def _figure_alerts(db_url: str) -> list[tuple[object, ...]]:
    found = rows(
        db_url,
        "SELECT day, old_value, new_value, status, reported_by, outlet, old_outlet "
        "FROM v_alerts WHERE rule = 'figure_change' ORDER BY id",
    )
    return [(str(d)[:10], o, n, s, r, out, old) for d, o, n, s, r, out, old in found]


CUT = "Taiwanese exports will face a 15 percent tariff under the new agreement with Washington."
BACK = "Taiwanese exports face a 20 percent tariff, officials in Taipei said on Monday."


@pytest.mark.parametrize("cooldown", [0, 3])
def test_corroborated_change_is_sent_whatever_the_cool_down(tmp_path, db_url, cooldown):
    cfg = monitor_on(tmp_path, db_url, f"alerts:\n  cooldown_days: {cooldown}\n")
    # Day 1: one outlet says 15%: unconfirmed, no cool-down started.
    pipeline.detect_changes(cfg, D1, [_story(cfg, D1, "Island Post", CUT)])
    # Day 2: a second outlet agrees: the alert goes out, linking the first report.
    pipeline.detect_changes(cfg, D2, [_story(cfg, D2, "Harbor Daily", CUT)])
    # Day 3: two outlets say 20% again: corroborated, never hidden by the cool-down.
    day3 = [_story(cfg, D3, "Strait Times", BACK), _story(cfg, D3, "Harbor Daily", BACK)]
    pipeline.detect_changes(cfg, D3, day3)
    assert _figure_alerts(db_url) == [
        ("2026-01-15", "20%", "15%", "unconfirmed", 1, "Island Post", "seed corpus"),
        ("2026-01-16", "20%", "15%", "pending", 2, "Island Post", "seed corpus"),
        ("2026-01-17", "15%", "20%", "pending", 2, "Strait Times", "Harbor Daily"),
    ]
    # Rerunning day 1 and day 2 afterwards raises nothing: the value as of each day.
    assert pipeline.detect_changes(cfg, D1, []).alerts == 0
    assert pipeline.detect_changes(cfg, D2, []).alerts == 0
    assert len(_figure_alerts(db_url)) == 3


def test_readings_are_kept_attributed_or_not(tmp_path, db_url):
    cfg = monitor_on(tmp_path, db_url)
    body = (
        "Taiwanese exports will face a 15 percent tariff under the agreement. "
        "Japan's rate is also 15 percent. "
        "Washington threatened a 100 percent tariff on Taiwanese chips."
    )
    article = _story(cfg, D2, "Island Post", body)
    pipeline.detect_changes(cfg, D2, [article])
    readings = rows(
        db_url,
        "SELECT item, value, unit, status, outlet, chosen FROM figure_readings "
        "WHERE article_id = :a ORDER BY seq",
        {"a": article},
    )
    seeds = rows(
        db_url, "SELECT item, value, outlet FROM figure_readings WHERE seed_id IS NOT NULL"
    )
    assert ("us_tariff_taiwan", 15.0, "%", "current", "Island Post", True) in readings
    assert all(
        item != "us_tariff_taiwan" or value == 15.0
        for item, value, _unit, status, _outlet, _chosen in readings
        if status == "current"
    )
    assert any(status == "threat" or item is None for item, _, _, status, _, _ in readings)
    assert ("us_tariff_taiwan", 20.0, None) in seeds


def test_v_alerts_keeps_every_column_and_adds_the_new_ones(tmp_path, db_url):
    monitor_on(tmp_path, db_url)
    store = Store(db_url)
    try:
        columns = [
            "id",
            "created_at",
            "keyword",
            "rule",
            "summary",
            "status",
            "sent_at",
            "run_date",
            "old_value",
            "new_value",
            "attempts",
            "last_error",
            "article_url",
            "article_title",
            "day",
            "sentence",
            "old_sentence",
            "old_article_url",
            "note",
            "outlet",
            "published_at",
            "reported_by",
            "old_outlet",
        ]
        assert store.view("v_alerts", columns, "id") == []
    finally:
        store.close()


def test_init_reads_the_figures_of_seeds_loaded_before_readings_existed(tmp_path, db_url):
    cfg = monitor_on(tmp_path, db_url)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:  # a database whose seeds were loaded before 0005
            conn.execute(text("DELETE FROM figure_readings"))
        assert pipeline.init(cfg).seeds_loaded == 0
        with engine.connect() as conn:
            seeds = conn.execute(
                text(
                    "SELECT item, value, unit FROM figure_readings "
                    "WHERE seed_id IS NOT NULL AND chosen ORDER BY item"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in seeds] == [
        ("tsmc_us_investment", 165.0, "US$ billion"),
        ("us_tariff_taiwan", 20.0, "%"),
    ]
