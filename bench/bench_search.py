"""Full-text search cost over N stored articles: ``monitor search``'s query (FTS5 on
SQLite, tsvector + pg_trgm on PostgreSQL) beside, in the same process, the
``LIKE '%term%'`` scan of v_articles that analysts ran before.

    PYTHONPATH=src python bench/bench_search.py [--articles 10000] [--db sqlite|postgresql]
                                                [--limit 20] [--before 0011]

``--limit 1000`` is what the web view asks for when a day, keyword or language narrows
a search further (monitor.web.app.SEARCH_POOL); ``monitor search`` shows 20 by default.

Articles are synthetic: a title and about 1,200 characters of English or Chinese drawn
from a small trade vocabulary, with the searched terms planted in a known share of
them, so each query's hit count is known. Prints, per query, the hits and the median of
seven runs for both, and the index build time (the migration's rebuild on SQLite, the
inserts with their GIN indexes on PostgreSQL).

``--before REV`` (PostgreSQL): the same search on the same articles with the schema taken
down to migration REV (``0011``: ``search_articles`` as 0010 wrote it, before 0012), timed
in turn with the newest one, query by query, and whether both return the same rows (ids,
ranks and snippets, in order).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, insert, text

from monitor.storage import ArticleRow, Store
from monitor.storage.search import SearchHit
from monitor.storage.store import MIGRATIONS

EN = (
    "Taiwan exporters weighed the new trade terms as chipmakers reviewed their orders. "
    "Officials in Washington said talks would continue next month. "
    "Analysts expect supply chains to shift gradually over the coming quarters. "
)
ZH = "台灣出口商正在評估新的貿易條件，晶片業者也重新檢視訂單。官員表示談判將於下月繼續。"
PLANTS = {"tariff": 0.05, "台積電": 0.03, "export controls": 0.02, "關稅": 0.04}
QUERIES = list(PLANTS)

LIKE = """
SELECT id FROM v_articles
WHERE title LIKE '%' || :q || '%' OR body LIKE '%' || :q || '%'
"""


def make_rows(n: int, rng: random.Random) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        zh = rng.random() < 0.3
        body = (ZH * 6) if zh else (EN * 5)
        for term, share in PLANTS.items():
            if rng.random() < share:
                at = rng.randrange(len(body))
                body = body[:at] + f" {term} " + body[at:]
        rows.append(
            {
                "canonical_url": f"https://example.org/a/{i}",
                "title": f"{'貿易新聞' if zh else 'Trade news'} {i}",
                "source": rng.choice(["Formosa Wire", "Pacific Trade Ledger", "台灣科技日報"]),
                "published_at": datetime(2026, 11, 1, tzinfo=UTC),
                "fetched_at": datetime(2026, 11, 1, tzinfo=UTC),
                "run_date": date(2026, 11, 1),
                "day": date(2026, 11, 1),
                "language": "zh-Hant" if zh else "en",
                "text": body,
                "text_source": "page",
                "content_hash": uuid.uuid4().hex,
                "relevance": 10.0,
                "relevant": True,
                "matched_terms": "{}",
                "decision": "kept",
                "version": 1,
            }
        )
    return rows


def median_ms(run: object, repeat: int = 7) -> tuple[float, int]:
    times, hits = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        hits = run()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), hits


def migrate(store: Store, revision: str) -> None:
    """Take the schema up or down to ``revision`` (``head``: the newest)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if revision == "head":
            command.upgrade(cfg, "head")
        elif revision != current:
            command.downgrade(cfg, revision)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--limit", type=int, default=20, help="rows the search returns")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="PostgreSQL: also time the search with the schema at migration REV (0011)",
    )
    args = parser.parse_args()
    if args.before and args.db != "postgresql":
        parser.error("--before needs --db postgresql")
    rng = random.Random(12)
    admin = None
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        base = os.environ.get(
            "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        )
        name = f"bench_search_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    store = Store(url)
    try:
        store.migrate()
        rows = make_rows(args.articles, rng)
        start = time.perf_counter()
        with store.session() as s:
            for i in range(0, len(rows), 1000):
                s.execute(insert(ArticleRow), rows[i : i + 1000])
        load = time.perf_counter() - start
        print(f"{args.db}: {args.articles} articles stored and indexed in {load:.1f} s")
        top = f"top {args.limit}"
        before = f"{args.before} ms" if args.before else ""
        print(
            f"{'query':18} {top:>8} {'search ms':>10} {before:>9} {'same':>5}"
            f" {'LIKE hits':>10} {'LIKE ms':>8}"
        )
        for q in QUERIES:
            found: dict[str, list[SearchHit]] = {}

            def search(
                q: str = q, at: str = "head", found: dict[str, list[SearchHit]] = found
            ) -> int:
                found[at] = store.search([q], limit=args.limit)
                return len(found[at])

            def like(q: str = q) -> int:
                with store.session() as s:
                    return len(s.execute(text(LIKE), {"q": q}).all())

            ms, hits = median_ms(search)
            old, same = "", ""
            if args.before:
                migrate(store, args.before)
                old_ms, _ = median_ms(lambda q=q: search(q, at="before"))
                migrate(store, "head")
                old = f"{old_ms:.1f}"
                same = "yes" if found["before"] == found["head"] else "NO"
            like_ms, like_hits = median_ms(like)
            print(
                f"{q:18} {hits:>8} {ms:>10.1f} {old:>9} {same:>5} {like_hits:>10} {like_ms:>8.1f}"
            )
    finally:
        store.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
