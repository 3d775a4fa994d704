"""The two-day real-news scenario through ``monitor run``: the eve of the January 2026
Taiwan–US deal (20% in force, the Section 232 chip tariff, the 100% threat) and deal day
(many outlets, English and Chinese, reporting the cut to 15% and the US$250 billion
pledge), served as per-outlet RSS feeds with article pages by a real local HTTP server,
with a real SMTP server, on SQLite and PostgreSQL.

Exactly one figure alert goes out: "US tariff on Taiwan 20% → 15%", corroborated by
several outlets; nothing else about a figure is sent, and rerunning day 1 afterwards
sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixture_site import FixtureSite
from realnews_site import (
    DAY1,
    DAY2,
    build_site,
    feeds_of,
    local_day,
    scenario_items,
    write_scenario_config,
)
from smtp_server import SmtpSink
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from monitor.cli import app

pytestmark = pytest.mark.integration


@dataclass
class Run:
    config: Path
    env: dict[str, str]
    db_url: str
    site: FixtureSite
    smtp: SmtpSink

    def monitor(self, *args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--config", str(self.config)], env=self.env)
        assert result.exit_code == 0, result.output
        return result.output

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture
def scenario(tmp_path: Path, db_url: str, smtp: SmtpSink) -> Iterator[Run]:
    items = scenario_items()
    root = build_site(tmp_path / "site", items)
    with FixtureSite(root) as site:
        config = write_scenario_config(tmp_path, site, feeds_of(items))
        env = {"MONITOR_DATABASE_URL": db_url, "MONITOR_SMTP_URL": smtp.url}
        yield Run(config, env, db_url, site, smtp)


def test_the_items_make_a_two_day_scenario() -> None:
    items = scenario_items()
    days = {d: [i for i in items if i.scenario_day == d] for d in (1, 2)}
    assert {local_day(i.published) for i in days[1]} == {DAY1}
    assert {local_day(i.published) for i in days[2]} == {DAY2}
    deal = [i for i in days[2] if i.figures.get("us_tariff_taiwan") == (15.0, "%")]
    assert len({i.outlet for i in deal}) >= 4


def test_deal_day_sends_one_corroborated_tariff_alert_and_a_rerun_nothing(
    scenario: Run,
) -> None:
    scenario.monitor("init")
    day1 = scenario.monitor("run", "--date", DAY1.isoformat())
    assert "articles" in day1
    sent_day1 = len(scenario.smtp.messages)
    day2 = scenario.monitor("run", "--date", DAY2.isoformat())
    assert "articles" in day2

    figures = scenario.rows(
        "SELECT run_date, keyword, old_value, new_value, status, reported_by, outlet, "
        "old_outlet, summary FROM v_alerts WHERE rule = 'figure_change' "
        "AND status IN ('pending', 'sent', 'failed') ORDER BY id"
    )
    assert len(figures) == 1, figures
    run_date, keyword, old, new, status, reported_by, outlet, old_outlet, summary = figures[0]
    assert (str(run_date), keyword, old, new, status) == (
        DAY2.isoformat(),
        "tariff",
        "20%",
        "15%",
        "sent",
    )
    assert isinstance(reported_by, int) and reported_by >= 2
    assert str(summary).startswith(
        f"tariff 20% → 15% (US tariff on Taiwan), reported by {reported_by} outlets: "
    )
    assert outlet and old_outlet  # the first report, and where 20% was last reported

    # The email: one digest carries it, with the outlets and the link to the first report.
    with_alert = [
        m for m in scenario.smtp.messages if "tariff 20% → 15%" in str(m.message["Subject"])
    ]
    assert len(with_alert) == 1
    body = with_alert[0].message.get_body(("plain",)).get_content()
    assert f"Reported by {reported_by} outlets: " in body
    assert "Before:" in body
    first_url = scenario.rows(
        "SELECT article_url FROM v_alerts WHERE rule = 'figure_change' AND status = 'sent'"
    )[0][0]
    assert str(first_url) in body
    # No other email names a figure change.
    for m in scenario.smtp.messages:
        if m is with_alert[0]:
            continue
        plain = m.message.get_body(("plain",)).get_content()
        assert "Figure change:" not in plain, plain
    assert len(scenario.smtp.messages) >= sent_day1 + 1

    # Rerunning day 1 after day 2 raises and sends nothing.
    before_mail = len(scenario.smtp.messages)
    before_alerts = scenario.rows("SELECT COUNT(*) FROM alerts")
    rerun = scenario.monitor("run", "--date", DAY1.isoformat())
    assert "  alerts       0 raised, 0 sent" in rerun.splitlines(), rerun
    assert len(scenario.smtp.messages) == before_mail
    assert scenario.rows("SELECT COUNT(*) FROM alerts") == before_alerts
