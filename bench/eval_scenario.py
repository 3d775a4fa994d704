"""The two-day real-news scenario (tests/eval/realnews items with ``scenario_day``) through
the whole pipeline: a local HTTP server with one RSS feed per outlet, a fresh SQLite
database, emails to the outbox. Prints every alert of each run (figure alerts with the
outlets that reported them), the figures held back as unconfirmed, and what a rerun of
day 1 afterwards raised and sent (nothing, when all is well).

    PYTHONPATH=src python bench/eval_scenario.py

``bench/eval_realnews.py`` prints the same section after its figure scores.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fixture_site import FixtureSite  # noqa: E402
from realnews_site import (  # noqa: E402
    DAY1,
    DAY2,
    build_site,
    feeds_of,
    scenario_items,
    write_scenario_config,
)

from monitor import pipeline  # noqa: E402
from monitor.config import load_config  # noqa: E402


@dataclass(frozen=True, slots=True)
class ScenarioAlert:
    run_date: str
    rule: str
    keyword: str
    status: str
    summary: str
    reported_by: int | None
    outlet: str | None
    old_outlet: str | None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    runs: tuple[tuple[str, int, int], ...]  # (run date, alerts raised, alerts sent)
    alerts: tuple[ScenarioAlert, ...]
    rerun_raised: int
    rerun_sent: int

    @property
    def figure_alerts_sent(self) -> list[ScenarioAlert]:
        return [
            a
            for a in self.alerts
            if a.rule == "figure_change" and a.status in ("pending", "sent", "failed")
        ]


def run_scenario() -> ScenarioResult:
    """Day 1, day 2, then day 1 again, on a fresh database; the alerts as v_alerts has them."""
    items = scenario_items()
    with tempfile.TemporaryDirectory(prefix="realnews-scenario-") as tmp:
        folder = Path(tmp)
        root = build_site(folder / "site", items)
        with FixtureSite(root) as site:
            config = write_scenario_config(folder, site, feeds_of(items))
            cfg = load_config(config, env={})
            pipeline.init(cfg)
            runs = []
            for day in (DAY1, DAY2):
                summary = pipeline.run_day(cfg, day)
                runs.append((day.isoformat(), summary.alerts_raised, summary.alerts_sent))
            rerun = pipeline.run_day(cfg, DAY1)
            store = pipeline.open_store(cfg)
            try:
                rows = store.view(
                    "v_alerts",
                    [
                        "id",
                        "run_date",
                        "rule",
                        "keyword",
                        "status",
                        "summary",
                        "reported_by",
                        "outlet",
                        "old_outlet",
                    ],
                    "id",
                )
            finally:
                store.close()
    alerts = tuple(
        ScenarioAlert(
            str(r["run_date"]),
            str(r["rule"]),
            str(r["keyword"]),
            str(r["status"]),
            str(r["summary"]),
            r["reported_by"],
            r["outlet"],
            r["old_outlet"],
        )
        for r in rows
    )
    return ScenarioResult(tuple(runs), alerts, rerun.alerts_raised, rerun.alerts_sent)


def print_scenario(result: ScenarioResult) -> None:
    print("Two-day scenario (monitor run over per-outlet feeds):")
    for day, raised, sent in result.runs:
        print(f"  run {day}: {raised} alerts raised, {sent} sent")
    for a in result.alerts:
        extra = ""
        if a.rule == "figure_change":
            extra = f" [reported by {a.reported_by}; before: {a.old_outlet or '-'}]"
        print(f"  {a.run_date} {a.status:<11} {a.rule:<14} {a.summary[:110]}{extra}")
    figures = result.figure_alerts_sent
    print(
        f"  figure alerts sent: {len(figures)}"
        + "".join(f"\n    {a.summary[:120]}" for a in figures)
    )
    print(f"  rerun of {DAY1}: {result.rerun_raised} raised, {result.rerun_sent} sent")


if __name__ == "__main__":
    print_scenario(run_scenario())
