"""The 24-day scenario (tests/fixtures/scenario, see its EXPECTED.md) end to end: the
fixture site over HTTP, one run a day in Asia/Taipei, a real SMTP server that is down on
one day, SQLite and PostgreSQL. Exactly the planted alerts fire, on the right days, with
the right values; reruns and a backfill send nothing twice."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixture_site import FixtureSite
from smtp_server import ReceivedMail, SmtpSink, free_port
from sqlalchemy import create_engine, text

from monitor import changes, pipeline
from monitor.config import Config, SpikeRule, load_config
from monitor.storage import Store

pytestmark = pytest.mark.integration

SCENARIO = Path(__file__).resolve().parent / "fixtures" / "scenario"
START = date(2026, 9, 1)
DAYS = [START + timedelta(days=n) for n in range(24)]
SMTP_DOWN = date(2026, 9, 10)

# (run_date, day, rule, keyword, old_value, new_value, status) — EXPECTED.md's table.
EXPECTED_ALERTS = [
    ("2026-09-08", "2026-09-08", "first_mention", "export controls", None, None, "sent"),
    ("2026-09-10", "2026-09-10", "figure_change", "tariff", "20%", "15%", "sent"),
    ("2026-09-14", "2026-09-14", "co_occurrence", "MediaTek + tariff", None, None, "sent"),
    ("2026-09-16", "2026-09-16", "spike", "Arizona", "0.4/day", "4", "sent"),
    (
        "2026-09-17",
        "2026-09-17",
        "figure_change",
        "investment",
        "US$165 billion",
        "US$200 billion",
        "sent",
    ),
    (
        "2026-09-18",
        "2026-09-18",
        "figure_change",
        "investment",
        "US$200 billion",
        "US$165 billion",
        "suppressed",
    ),
    (
        "2026-09-19",
        "2026-09-19",
        "figure_change",
        "investment",
        "US$165 billion",
        "US$200 billion",
        "suppressed",
    ),
]
# The run (day) each digest went out on, and its subject.
EXPECTED_MAIL = [
    ("2026-09-08", "[chip-trade] first mention: export controls · 2 new stories"),
    ("2026-09-11", "[chip-trade] tariff 20% → 15% · 2 new stories"),
    ("2026-09-14", "[chip-trade] MediaTek + tariff together · 2 new stories"),
    ("2026-09-16", "[chip-trade] Arizona spiking · 4 new stories"),
    ("2026-09-17", "[chip-trade] investment US$165 billion → US$200 billion · 2 new stories"),
]


# The scenario's own tracked figures (a user's config may list its own): its fictional
# world has one chip tariff and one investment plan, named loosely, so the shipped
# items' finer distinctions (Section 232, TSMC against Taiwan's pledge) do not apply.
TRACKED = """watch:
  tracked:
    - id: chip_tariff
      name: US tariff on Taiwanese chips
      unit: "%"
      keyword: tariff
      subject: [Taiwanese, Taiwan, Taipei, exporters, 台灣]
      measure: [tariff, 關稅]
    - id: us_investment
      name: investment in the U.S.
      unit: US$ billion
      keyword: investment
      subject: [company, TSMC, U.S.]
      measure: [investment, investing, invest]
"""


@dataclass
class Scenario:
    cfg: Config
    db_url: str
    site: FixtureSite
    smtp_port: int
    mail: list[tuple[date, ReceivedMail]]
    summaries: dict[date, pipeline.RunSummary]

    def run(self, day: date, *, smtp_up: bool = True) -> pipeline.RunSummary:
        for feed in ("strait", "harbor"):
            shown = min(day, DAYS[-1]) if day >= START else START
            self.site.aliases[f"/feeds/{feed}.xml"] = f"/feeds/{feed}/{shown.isoformat()}.xml"
        if not smtp_up:
            return pipeline.run_day(self.cfg, day)
        with SmtpSink(port=self.smtp_port) as sink:
            summary = pipeline.run_day(self.cfg, day)
        self.mail += [(day, m) for m in sink.messages]
        return summary

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture
def scenario(tmp_path: Path, db_url: str) -> Iterator[Scenario]:
    with FixtureSite(SCENARIO) as site:
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"data_dir: {tmp_path / 'var'}\n"
            "timezone: Asia/Taipei\n"
            "http:\n  allow_private_addresses: true\n  timeout_seconds: 5\n"
            "feeds:\n"
            f"  - name: Strait Wire\n    url: {site.url('/feeds/strait.xml')}\n"
            f"  - name: Harbor Ledger\n    url: {site.url('/feeds/harbor.xml')}\n"
            "alerts:\n  recipients: [desk@example.org]\n  sender: monitor@example.org\n"
            + TRACKED,
            encoding="utf-8",
        )
        port = free_port()
        cfg = load_config(
            config,
            env={"MONITOR_DATABASE_URL": db_url, "MONITOR_SMTP_URL": f"smtp://127.0.0.1:{port}"},
        )
        pipeline.init(cfg)
        yield Scenario(cfg, db_url, site, port, [], {})


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def test_scenario_fires_exactly_the_planted_alerts(scenario: Scenario) -> None:
    for day in DAYS:
        scenario.summaries[day] = scenario.run(day, smtp_up=day != SMTP_DOWN)

    alerts = [
        tuple(_iso(v) for v in row)
        for row in scenario.rows(
            "SELECT run_date, day, rule, keyword, old_value, new_value, status "
            "FROM v_alerts ORDER BY id"
        )
    ]
    assert alerts == EXPECTED_ALERTS

    # One digest per day with something to say; the day SMTP was down sends nothing and
    # its alert goes out the next day, after two attempts.
    assert [(d.isoformat(), m.message["Subject"]) for d, m in scenario.mail] == EXPECTED_MAIL
    assert scenario.summaries[SMTP_DOWN].delivery_error is not None
    assert scenario.rows(
        "SELECT attempts, last_error FROM alerts WHERE rule = 'figure_change' "
        "AND keyword = 'tariff'"
    ) == [(2, None)]
    assert all(m.rcpt_tos == ("desk@example.org",) for _, m in scenario.mail)
    sent_days = {
        a: d.isoformat()
        for d, m in scenario.mail
        for a in ("tariff 20% → 15%",)
        if a in m.message.get_body(("plain",)).get_content()
    }
    assert sent_days == {"tariff 20% → 15%": "2026-09-11"}

    # The figure change quotes both sentences and links both articles.
    figure = scenario.rows(
        "SELECT sentence, old_sentence, article_url, old_article_url FROM v_alerts "
        "WHERE keyword = 'tariff'"
    )
    assert figure == [
        (
            "Under the deal the tariff on Taiwanese chips will be cut from 20 percent to "
            "15 percent.",
            "Exporters say the 20 percent tariff has already cost them customers.",
            scenario.site.url("/articles/d10-0.html"),
            scenario.site.url("/articles/d09-0.html"),
        )
    ]
    provenance = scenario.rows(
        "SELECT aa.role, ar.canonical_url FROM alert_articles aa "
        "JOIN alerts a ON a.id = aa.alert_id JOIN articles ar ON ar.id = aa.article_id "
        "WHERE a.rule = 'spike' ORDER BY aa.id"
    )
    assert provenance == [
        ("support", scenario.site.url(f"/articles/d16-{n}.html")) for n in range(4)
    ]

    # Time zone: 00:15 Taipei on 8 Sept is 16:15 UTC on 7 Sept, and 23:30 Taipei on
    # 16 Sept is 15:30 UTC on the 16th: both counted on their Taipei day.
    boundary = scenario.rows(
        "SELECT a.canonical_url, a.published_at, m.day FROM keyword_mentions m "
        "JOIN articles a ON a.id = m.article_id "
        "WHERE (a.canonical_url LIKE '%/d08-0.html' AND m.keyword = 'export controls') "
        "OR (a.canonical_url LIKE '%/d16-3.html' AND m.keyword = 'Arizona') ORDER BY a.id"
    )
    # (naive UTC in the column: a string on SQLite, a datetime on PostgreSQL)
    assert [(str(u).rsplit("/", 1)[1], str(p)[:16], _iso(d)) for u, p, d in boundary] == [
        ("d08-0.html", "2026-09-07 16:15", "2026-09-08"),
        ("d16-3.html", "2026-09-16 15:30", "2026-09-16"),
    ]
    assert scenario.summaries[date(2026, 9, 7)].new_articles == 2  # not the 00:15 story

    # Syndication: day 12's export-controls story came from five outlets. The two exact
    # copies were never stored, the two near copies are stored as copies; the digest
    # counts four other outlets and the spike rule counts one story.
    store = Store(scenario.db_url)
    try:
        stories = store.new_stories(date(2026, 9, 12), 20)
        counts = store.daily_story_counts(["export controls"], START, DAYS[-1])
    finally:
        store.close()
    assert [(s.title, s.other_outlets) for s in stories] == [
        ("Export controls draft sets licence rules for AI chips", 4),
        ("Arizona plans unchanged, company says", 0),
    ]
    assert "The draft export controls would require licences" in stories[0].lead
    assert stories[1].lead.endswith("remains US$165 billion.")
    assert counts["export controls"] == {
        date(2026, 9, 8): 1,
        date(2026, 9, 10): 1,
        date(2026, 9, 12): 1,
        date(2026, 9, 20): 1,
    }
    copies = scenario.rows(
        "SELECT COUNT(*) FROM articles WHERE duplicate_of IS NOT NULL "
        "AND canonical_url LIKE '%/d12-0-copy-%'"
    )
    assert copies == [(2,)]
    # Counted as articles instead of stories, day 12 would have been a spike.
    spike = SpikeRule()
    baseline = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0]  # 1–11 Sept
    assert changes.spike_test(3, baseline, spike).fired
    assert not changes.spike_test(1, baseline, spike).fired

    # Reruns and a backfill raise and send nothing new.
    before = len(scenario.mail)
    for day in (date(2026, 9, 8), SMTP_DOWN, date(2026, 9, 16), date(2026, 9, 19), DAYS[-1]):
        again = scenario.run(day)
        assert (again.new_articles, again.alerts_raised, again.alerts_sent) == (0, 0, 0)
    backfill = scenario.run(date(2026, 8, 31))
    assert (backfill.alerts_raised, backfill.alerts_sent) == (0, 0)
    assert len(scenario.mail) == before
    assert scenario.rows("SELECT COUNT(*) FROM alerts") == [(len(EXPECTED_ALERTS),)]


def test_scenario_files_are_generated_from_the_plan() -> None:
    result = subprocess.run(
        [sys.executable, str(SCENARIO / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
