"""Soak benchmark: 30 simulated days of ``run_day`` on a generated local news site whose
corpus grows every day, with article updates and feeds that break and recover.

Every day the four feeds list that day's stories and the day before's (so half of each
feed is already known), two of the day before's stories come back updated (a new GUID on
the same URL and a changed text: a new version of the article), and on some days one or
two feeds answer 404 until they recover a few days later (their items are picked up on
recovery when still in the look-back window). Printed per day: wall time of the run,
entries, new articles, versions, failed feeds, and the articles stored so far; at the
end, the median time of days 2–6 and of the last five days (flat means the per-run cost
does not grow with the corpus).

    PYTHONPATH=src python bench/soak.py                       # 30 days × 40 stories, SQLite
    PYTHONPATH=src python bench/soak.py --days 10 --per-day 20
    PYTHONPATH=src python bench/soak.py --postgres            # on a fresh local PostgreSQL database
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixture_site import FixtureSite  # noqa: E402
from reliability_kit import (  # noqa: E402
    FEEDS,
    _item,
    _page,
    _story,
    _vocabulary,
    create_database,
    drop_database,
    write_config,
)

from monitor import pipeline  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.storage import Store  # noqa: E402

START = date(2026, 10, 1)
PG_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _broken(day_no: int) -> set[int]:
    """Feeds down on day ``day_no``: feed 1 on days 5–7, feed 2 on days 12–13 and 20."""
    down = set()
    if 5 <= day_no <= 7:
        down.add(1)
    if 12 <= day_no <= 13 or day_no == 20:
        down.add(2)
    return down


def write_day(root: Path, day: date, per_day: int, vocabulary: list[str]) -> None:
    """The day's pages, updated pages of the day before, and feeds/<day>/feed-k.xml."""
    items: dict[int, list[str]] = {k: [] for k in range(len(FEEDS))}
    for back, when in ((1, day - timedelta(days=1)), (0, day)):
        for n in range(per_day):
            story = _story(when, n, vocabulary)
            k = n % len(FEEDS)
            link = f"{{{{BASE}}}}/articles/{story.slug}.html"
            if back == 0:
                (root / "articles" / f"{story.slug}.html").write_text(
                    _page(story, story.slug, story.outlet), encoding="utf-8"
                )
            items[k].append(_item(story.title, link, story.slug, story.published, story.summary))
            if back == 1 and n in (0, 1) and when >= START:  # an updated story
                changed = story.__class__(
                    story.slug,
                    story.title,
                    story.outlet,
                    story.published,
                    (*story.paragraphs, f"Updated on {day.isoformat()} with reactions."),
                    story.summary,
                )
                (root / "articles" / f"{story.slug}.html").write_text(
                    _page(changed, story.slug, story.outlet), encoding="utf-8"
                )
                items[k].append(
                    _item(
                        story.title,
                        link,
                        f"{story.slug}-update-{day.isoformat()}",
                        story.published + timedelta(hours=20),
                        story.summary,
                    )
                )
    folder = root / "feeds" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(FEEDS):
        (folder / f"feed-{k}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
            f"  <title>{name}</title><link>{{{{BASE}}}}/</link>\n"
            + "".join(items[k])
            + "</channel></rss>\n",
            encoding="utf-8",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=40)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="monitor-soak-"))
    root = work / "site"
    (root / "articles").mkdir(parents=True)
    vocabulary = _vocabulary()
    db_name = f"monitor_soak_{os.getpid()}"
    db_url = create_database(PG_ADMIN, db_name) if args.postgres else f"sqlite:///{work / 'm.db'}"
    times: list[float] = []
    cpu: list[float] = []  # this process's CPU time: steadier than wall time on a busy box
    with FixtureSite(root=root) as site:
        cfg = load_config(
            write_config(work, site.base_url),
            env={"MONITOR_DATABASE_URL": db_url},
        )
        cfg = cfg.model_copy(
            update={"http": cfg.http.model_copy(update={"recheck_articles": True})}
        )
        pipeline.init(cfg)
        print(
            "day | date       | seconds | cpu s   | entries | new articles | versions | "
            "failed feeds | articles"
        )
        for day_no in range(1, args.days + 1):
            day = START + timedelta(days=day_no - 1)
            write_day(root, day, args.per_day, vocabulary)
            site.aliases.clear()
            for k in range(len(FEEDS)):
                target = f"/feeds/{day.isoformat()}/feed-{k}.xml"
                site.aliases[f"/feeds/feed-{k}.xml"] = (
                    "/feeds/missing.xml" if k in _broken(day_no) else target
                )
            started, cpu_started = time.perf_counter(), time.process_time()
            summary = pipeline.run_day(cfg, day)
            seconds = time.perf_counter() - started
            times.append(seconds)
            cpu.append(time.process_time() - cpu_started)
            store = Store(db_url)
            try:
                total = store.count("articles")
                versions = store.count("article_versions")
            finally:
                store.close()
            print(
                f"{day_no:3d} | {day} | {seconds:7.2f} | {cpu[-1]:7.2f} | "
                f"{summary.new_entries:7d} | {summary.new_articles:12d} | {versions:8d} | "
                f"{summary.feeds_failed:12d} | "
                f"{total:8d}",
                flush=True,
            )
    # Day 1 also pays for the first imports, the first chart and a double feed; the
    # comparison starts on day 2.
    first, last = statistics.median(times[1:6]), statistics.median(times[-5:])
    cpu_first, cpu_last = statistics.median(cpu[1:6]), statistics.median(cpu[-5:])
    print(
        f"\nmedian run time, days 2-6 {first:.2f} s, last 5 days {last:.2f} s "
        f"(ratio {last / first:.2f}); CPU {cpu_first:.2f} s → {cpu_last:.2f} s "
        f"(ratio {cpu_last / cpu_first:.2f}); {total} articles stored"
    )
    if args.postgres:
        drop_database(PG_ADMIN, db_name)


if __name__ == "__main__":
    main()
