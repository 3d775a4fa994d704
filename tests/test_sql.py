"""What analysts query, on SQLite and PostgreSQL after two real pipeline days over the
fixture site (the demo's data): every file of sql/queries/ and every SQL block of the
README returns exactly the rows below, on both databases; full-text search finds
台積電 and "tariff"; `monitor sql` and `monitor search` print them."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DAY1, DAY2, ROOT, _postgres_database, write_config
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from monitor import pipeline
from monitor.cli import app
from monitor.config import Config, load_config
from monitor.storage import Store
from monitor.storage.analyst import ANALYST_VIEWS, parameters, query_file, without_comments
from monitor.storage.search import expand_terms
from monitor.storage.views import read_view

pytestmark = pytest.mark.integration
QUERIES = ROOT / "sql" / "queries"
SQL = sorted(p for p in QUERIES.glob("*.sql") if p.stem.count(".") == 0)
README = (ROOT / "README.md").read_text(encoding="utf-8")
SQL_README = (ROOT / "sql" / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Demo:
    url: str
    dialect: str
    cfg: Config
    config_path: Path
    site: str  # the fixture site's base URL, "http://127.0.0.1:PORT/"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, site: Any, tmp_path_factory: Any) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp(request.param)
    databases = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'monitor.db'}"
    else:
        databases = _postgres_database()
        url = next(databases)
    try:
        path = write_config(tmp, site)
        cfg = load_config(path, env={"MONITOR_DATABASE_URL": url})
        pipeline.init(cfg)
        pipeline.run_day(cfg, date.fromisoformat(DAY1))
        pipeline.run_day(cfg, date.fromisoformat(DAY2))
        yield Demo(url, request.param, cfg, path, site.url("/"))
    finally:
        if databases is not None:
            databases.close()


def norm(value: Any, demo: Demo) -> Any:
    """One value as both databases agree on it: timestamps to the minute (the run's own
    clock as "now"), dates as ISO text, numbers rounded, the site's port taken out."""
    stamp = r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)?"
    if isinstance(value, str) and re.fullmatch(stamp, value):
        value = datetime.fromisoformat(value).replace(tzinfo=None)
    if isinstance(value, datetime):
        return "now" if value.year != 2026 or value.month != 11 else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return round(float(value), 4)
    if isinstance(value, str):
        return value.replace(demo.site, "SITE/")
    return value


def run(demo: Demo, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    sql = without_comments(sql)
    values = {name: None for name in parameters(sql)} | (params or {})
    engine = create_engine(demo.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), values).all()
    finally:
        engine.dispose()
    return [tuple(norm(v, demo) for v in row) for row in rows]


def run_file(demo: Demo, name: str, params: dict[str, Any] | None = None) -> list[tuple]:
    path = query_file(QUERIES / name, demo.dialect)
    return run(demo, path.read_text(encoding="utf-8"), params)


TARIFF_DEAL = "SITE/articles/tariff-deal-15-percent.html"
SECOND_FAB = "SITE/articles/tsmc-arizona-second-fab.html"
ZH = "SITE/articles/zh-tsmc-tariff.html"
EXPORT = "SITE/articles/us-export-controls-ai-chips.html"
CHIPS_ACT = "SITE/articles/chips-act-grant-update.html"
SEED = "000_efad23f37f6dd870.txt"

# Every query file with no parameters given (NULL: no filter), row for row.
EXPECTED: dict[str, list[tuple]] = {
    "alert_emails.sql": [
        (2, "MESSAGE-2", "digest", "sent", 1, "now", "VIA", None, None, None, None),
        (1, "MESSAGE-1", "digest", "sent", 1, "now", "VIA", None, None, None, None),
    ],
    "articles_by_source.sql": [
        ("2026-11-03", "Formosa Wire", 2),
        ("2026-11-03", "Pacific Trade Ledger", 1),
        ("2026-11-03", "台灣科技日報", 1),
        ("2026-11-02", "Formosa Wire", 1),
    ],
    # One row per copy the runs counted (2 + 1 duplicates): the feed item repeating the
    # tariff story, the republished seed, Harbor Times' syndicated copy.
    "duplicates.sql": [
        (
            1,
            "Formosa Wire",
            "feed item",
            "exact copy",
            TARIFF_DEAL,
            "2026-11-02 03:00",
            None,
            "Taiwan and US agree to cut chip-sector tariff in trade deal",
        ),
        (
            3,
            "Island Business Daily",
            "article",
            "near_duplicate",
            "SITE/articles/partnership-talks-republished.html",
            "2026-11-02 08:00",
            SEED,
            "Taiwan US partnership talks gain momentum as Taipei explores a high-tech "
            "strategic deal with Washin…",
        ),
        (
            7,
            "Harbor Times",
            "feed item",
            "exact copy",
            "SITE/articles/us-export-controls-ai-chips-syndicated.html",
            "2026-11-03 10:00",
            None,
            "Washington tightens export controls on advanced AI chips, raising the stakes for TSMC",
        ),
    ],
    "feed_health.sql": [
        (
            "Broken feed",
            "SITE/feeds/broken.xml",
            "failed",
            2,
            None,
            "broken rss20 feed with no entries: <unknown>:2:41: not well-formed (invalid token)",
            2,
            "2026-11-05",
        ),
        (
            "Dead feed",
            "SITE/status/500",
            "failed",
            2,
            None,
            "HTTP 500 Internal Server Error",
            2,
            "2026-11-05",
        ),
        ("Formosa Wire", "SITE/feeds/wire.xml", "ok", 0, "now", None, 2, None),
        ("Pacific Trade Ledger", "SITE/feeds/ledger.atom", "ok", 0, "now", None, 2, None),
        ("Taiwan Tech Daily (zh)", "SITE/feeds/zh.xml", "ok", 0, "now", None, 2, None),
    ],
    "figures.sql": [
        (
            "2026-11-02",
            "us_tariff_taiwan",
            15.0,
            "%",
            "Formosa Wire",
            "Under the agreement, Taiwanese exports will face a 15 percent tariff from next month.",
            TARIFF_DEAL,
        ),
        (
            "2026-11-03",
            "us_tariff_taiwan",
            15.0,
            "%",
            "Formosa Wire",
            "Taiwanese exports still face the 15 percent tariff agreed this week, but executives "
            "say the deal has removed much of the uncertainty that hung over long-term orders.",
            SECOND_FAB,
        ),
    ],
    # Day 2 has four kept stories: TSMC is in all of them, tariff in two (one Chinese).
    "keyword_mentions_by_day.sql": [
        ("2026-11-02", "Arizona", 1, 1, 1.0),
        ("2026-11-02", "TSMC", 2, 1, 1.0),
        ("2026-11-02", "investment", 1, 1, 1.0),
        ("2026-11-02", "tariff", 5, 1, 1.0),
        ("2026-11-03", "Arizona", 9, 3, 0.75),
        ("2026-11-03", "CHIPS Act", 2, 1, 0.25),
        ("2026-11-03", "TSMC", 16, 4, 1.0),
        ("2026-11-03", "export controls", 7, 1, 0.25),
        ("2026-11-03", "investment", 1, 1, 0.25),
        ("2026-11-03", "tariff", 8, 2, 0.5),
    ],
    "pending_alerts.sql": [],  # everything went to the outbox
    "runs.sql": [
        ("2026-11-03", 3, 2, 4, 1, 0, 2, 2, "sent"),
        ("2026-11-02", 3, 2, 1, 2, 2, 1, 1, "sent"),
    ],
    "stories.sql": [
        (
            7,
            "Washington tightens export controls on advanced AI chips, raising the stakes for TSMC",
            "Pacific Trade Ledger",
            "2026-11-03 09:00",
            2,
            '["Pacific Trade Ledger", "Harbor Times"]',
            EXPORT,
            None,
        ),
        (
            1,
            "Taiwan and US agree to cut chip-sector tariff in trade deal",
            "Formosa Wire",
            "2026-11-02 03:00",
            1,
            '["Formosa Wire"]',
            TARIFF_DEAL,
            None,
        ),
        (
            3,
            "Taiwan US partnership talks gain momentum as Taipei explores a high-tech "
            "strategic deal with Washin…",
            "Island Business Daily",
            "2026-11-02 08:00",
            1,
            '["Island Business Daily"]',
            "SITE/articles/partnership-talks-republished.html",
            SEED,
        ),
        (
            5,
            "TSMC starts moving equipment into its second Arizona fab",
            "Formosa Wire",
            "2026-11-03 02:00",
            1,
            '["Formosa Wire"]',
            SECOND_FAB,
            None,
        ),
        (
            6,
            "台美關稅協議出爐 台積電擴大美國布局受矚目",
            "台灣科技日報",
            "2026-11-03 04:00",
            1,
            '["台灣科技日報"]',
            ZH,
            None,
        ),
        (
            8,
            "US finalizes CHIPS Act grant for TSMC's Arizona fabs",
            "Formosa Wire",
            "2026-11-03 12:00",
            1,
            '["Formosa Wire"]',
            CHIPS_ACT,
            None,
        ),
    ],
    "story_outlets.sql": [
        (1, "Formosa Wire", "article", "kept", 1, "2026-11-02 03:00", TARIFF_DEAL),
        (1, "Formosa Wire", "feed item", "exact copy", 0, "2026-11-02 03:00", TARIFF_DEAL),
        (
            2,
            "Formosa Wire",
            "article",
            "kept",
            1,
            "2026-11-02 06:00",
            "SITE/articles/typhoon-taipei.html",
        ),
        (
            3,
            "Island Business Daily",
            "article",
            "near_duplicate",
            1,
            "2026-11-02 08:00",
            "SITE/articles/partnership-talks-republished.html",
        ),
        (
            4,
            "Pacific Trade Ledger",
            "article",
            "kept",
            1,
            "2026-11-02 14:00",
            "SITE/articles/fed-holds-rates.html",
        ),
        (5, "Formosa Wire", "article", "kept", 1, "2026-11-03 02:00", SECOND_FAB),
        (6, "台灣科技日報", "article", "kept", 1, "2026-11-03 04:00", ZH),
        (7, "Pacific Trade Ledger", "article", "kept", 1, "2026-11-03 09:00", EXPORT),
        (
            7,
            "Harbor Times",
            "feed item",
            "exact copy",
            0,
            "2026-11-03 10:00",
            "SITE/articles/us-export-controls-ai-chips-syndicated.html",
        ),
        (8, "Formosa Wire", "article", "kept", 1, "2026-11-03 12:00", CHIPS_ACT),
    ],
    "search.sql": [],  # per database: SEARCH below
}

# search.sql with q = tariff: the same articles on both databases, ranked and cut into
# snippets by each one's own engine (FTS5 bm25 / PostgreSQL ts_rank and ts_headline).
SEARCH: dict[str, list[tuple]] = {
    "sqlite": [
        (
            1,
            "Taiwan and US agree to cut chip-sector tariff in trade deal",
            "Formosa Wire",
            "2026-11-02 03:00",
            "2026-11-02",
            TARIFF_DEAL,
            0.896,
            "Taiwan and US agree to cut chip-sector [tariff] in trade deal\nTAIPEI…",
        ),
        (
            5,
            "TSMC starts moving equipment into its second Arizona fab",
            "Formosa Wire",
            "2026-11-03 02:00",
            "2026-11-03",
            SECOND_FAB,
            0.6872,
            "…Taiwanese exports still face the 15 percent [tariff] agreed this wee…",
        ),
    ],
    "postgresql": [
        (
            1,
            "Taiwan and US agree to cut chip-sector tariff in trade deal",
            "Formosa Wire",
            "2026-11-02 03:00",
            "2026-11-02",
            TARIFF_DEAL,
            1.8109,
            "Taiwan and US agree to cut chip-sector [tariff] in trade deal\nTAIPEI - Taiwan and "
            "the United States have agreed to lower the [tariff]",
        ),
        (
            5,
            "TSMC starts moving equipment into its second Arizona fab",
            "Formosa Wire",
            "2026-11-03 02:00",
            "2026-11-03",
            SECOND_FAB,
            0.431,
            "milestone comes a day after Taipei and Washington agreed to lower [tariffs] on "
            "Taiwanese goods. Taiwanese exports still face the 15 percent [tariff] agreed",
        ),
    ],
}


def test_every_query_file_has_a_header_naming_its_parameters():
    assert {p.name for p in SQL} == set(EXPECTED)
    for path in QUERIES.glob("*.sql"):
        sql = path.read_text(encoding="utf-8")
        header = sql.split("\nSELECT", 1)[0]
        assert header.startswith("-- Answers"), path.name
        assert "-- Parameters:" in header, path.name
        named = re.findall(r"(?<!:):([a-z_]+)", header.split("-- Parameters:", 1)[1])
        assert set(parameters(sql)) <= set(named), path.name
        if not parameters(sql):
            assert "-- Parameters: none" in header, path.name


# The parameters each file is run with below (a parameter not named is NULL).
PARAMS: dict[str, dict[str, Any]] = {"search.sql": {"q": "tariff"}}


def test_query_files_return_the_demo_rows(demo):
    got = {p.name: run_file(demo, p.name, PARAMS.get(p.name)) for p in SQL}
    emails = [
        (r[0], f"MESSAGE-{r[0]}", *r[2:6], "VIA", *r[7:]) for r in got.pop("alert_emails.sql")
    ]
    assert emails == EXPECTED["alert_emails.sql"]
    assert got.pop("search.sql") == SEARCH[demo.dialect]
    for name, rows in got.items():
        assert rows == EXPECTED[name], name


def cli(demo: Demo, *args: str) -> Any:
    result = CliRunner().invoke(
        app, [*args, "--config", str(demo.config_path)], env={"MONITOR_DATABASE_URL": demo.url}
    )
    return result


def test_search_finds_tsmc_in_chinese_and_through_its_watched_group(demo):
    exact = json.loads(cli(demo, "search", "台積電", "--exact", "--format", "json").output)
    assert [(h["id"], h["title"], h["outlet"], h["day"]) for h in exact] == [
        (6, "台美關稅協議出爐 台積電擴大美國布局受矚目", "台灣科技日報", "2026-11-03")
    ]
    assert "[台積電]" in exact[0]["snippet"]
    # 台積電 names the watched keyword TSMC: its whole group is searched, and the four
    # English stories about TSMC are found too (LIKE '%台積電%' finds only the first).
    grouped = json.loads(cli(demo, "search", "台積電", "--format", "json").output)
    assert sorted(h["id"] for h in grouped) == [1, 5, 6, 7, 8]
    assert {h["term"] for h in grouped} >= {"台積電", "TSMC"}


def test_search_finds_tariff_in_english_and_chinese(demo):
    exact = json.loads(cli(demo, "search", "tariff", "--exact", "--format", "json").output)
    assert [h["id"] for h in exact] == [1, 5]
    assert all("[tariff" in h["snippet"] for h in exact)
    # tariff's watched group holds 關稅 (two characters: the LIKE path on SQLite).
    grouped = json.loads(cli(demo, "search", "tariff", "--format", "json").output)
    assert {1, 5, 6} <= {h["id"] for h in grouped}
    zh = next(h for h in grouped if h["id"] == 6)
    assert zh["term"] == "關稅" and "[關稅]" in zh["snippet"]
    # Filters: a day, an outlet, a limit.
    since = json.loads(cli(demo, "search", "tariff", "--since", "2026-11-03", "-f", "json").output)
    assert 1 not in {h["id"] for h in since} and {5, 6} <= {h["id"] for h in since}
    ledger = cli(demo, "search", "tariff", "--source", "台灣科技日報", "--format", "json")
    assert [h["id"] for h in json.loads(ledger.output)] == [6]
    one = json.loads(cli(demo, "search", "tariff", "--limit", "1", "--format", "json").output)
    assert len(one) == 1


@pytest.mark.parametrize("query", ["台積電", "tariff", "關稅"])
def test_monitor_search_is_the_sql_file(demo, query):
    """`monitor search --exact` and sql/queries/search.sql return the same rows."""
    hits = json.loads(cli(demo, "search", query, "--exact", "-f", "json").output)
    from_cli = [
        (
            h["id"],
            h["title"],
            h["outlet"],
            h["published_at"],
            h["day"],
            h["url"],
            h["rank"],
            h["snippet"],
        )
        for h in hits
    ]
    from_file = run_file(demo, "search.sql", {"q": query})
    assert from_file
    assert [tuple(norm(v, demo) for v in row) for row in from_cli] == from_file


def test_search_table_shows_title_outlet_day_and_the_match(demo):
    result = cli(demo, "search", "台積電", "--exact")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == " 1. 台美關稅協議出爐 台積電擴大美國布局受矚目"
    assert lines[1] == f"    台灣科技日報 · 2026-11-03 · #6 · {ZH.replace('SITE/', demo.site)}"
    assert "[台積電]" in lines[2]
    nothing = cli(demo, "search", "typhoon season", "--exact")
    assert nothing.output == "no kept article matches 'typhoon season'\n"
    # LIKE wildcards are searched as the characters they are.
    for wild in ("%", "_%", "%_%"):
        assert cli(demo, "search", wild, "--exact").output == f"no kept article matches {wild!r}\n"


def test_search_index_follows_changed_and_new_text(demo):
    """The FTS5 triggers (SQLite) and the generated tsvector (PostgreSQL) keep the index
    in step with the articles table."""
    engine = create_engine(demo.url)
    try:
        with engine.begin() as conn:
            old = conn.execute(text("SELECT title FROM articles WHERE id = 8")).scalar_one()
            conn.execute(
                text("UPDATE articles SET title = :t WHERE id = 8"),
                {"t": old + " amid wafer quota talk"},
            )
        found = run_file(demo, "search.sql", {"q": "wafer quota"})
        assert [r[0] for r in found] == [8]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE articles SET title = :t WHERE id = 8"), {"t": old})
        engine.dispose()
    assert run_file(demo, "search.sql", {"q": "wafer quota"}) == []


def test_monitor_sql_runs_a_query_file_with_parameters(demo):
    path = str(QUERIES / "keyword_mentions_by_day.sql")
    csv_out = cli(demo, "sql", path, "--param", "keyword=tariff", "--format", "csv")
    assert csv_out.exit_code == 0, csv_out.output
    assert csv_out.output == (
        "day,keyword,mentions,stories,share\n2026-11-02,tariff,5,1,1.0\n2026-11-03,tariff,8,2,0.5\n"
    )
    as_json = cli(demo, "sql", path, "-p", "keyword=TSMC", "-p", "since=2026-11-03", "-f", "json")
    assert json.loads(as_json.output) == [
        {"day": "2026-11-03", "keyword": "TSMC", "mentions": 16, "stories": 4, "share": 1.0}
    ]
    table = cli(demo, "sql", path, "--param", "keyword=tariff")
    assert table.output.splitlines() == [
        "day         keyword  mentions  stories  share",
        "2026-11-02  tariff   5         1        1.0",
        "2026-11-03  tariff   8         2        0.5",
        "(2 rows)",
    ]
    wrong = cli(demo, "sql", path, "--param", "word=tariff")
    assert wrong.exit_code == 2
    assert "unknown parameter word (this query takes: keyword, since)" in wrong.output


def test_analyst_role_reads_the_views_and_nothing_else(demo):
    if demo.dialect != "postgresql":
        refused = CliRunner().invoke(
            app,
            ["grant-analyst", "analyst", "--config", str(demo.config_path)],
            env={"MONITOR_DATABASE_URL": demo.url, "MONITOR_ANALYST_PASSWORD": "pw"},
        )
        assert refused.exit_code == 2
        assert "grant-analyst needs PostgreSQL" in refused.output
        return
    role = f"analyst_{uuid.uuid4().hex[:10]}"
    password = "read:only 'pw' %s"  # quotes, a colon and a percent sign survive
    admin = create_engine(demo.url)
    # A table of another program in the same database (Airflow's dag_run, say): the
    # monitor never grants it, so the analyst cannot read it.
    with admin.begin() as conn:
        conn.execute(text("CREATE TABLE dag_run (id integer, dag_id text)"))
        conn.execute(text("INSERT INTO dag_run VALUES (1, 'chip_trade_monitor')"))
    analyst = create_engine(make_url(demo.url).set(username=role, password=password))
    try:
        granted = CliRunner().invoke(
            app,
            ["grant-analyst", role, "--config", str(demo.config_path)],
            env={"MONITOR_DATABASE_URL": demo.url, "MONITOR_ANALYST_PASSWORD": password},
        )
        assert granted.exit_code == 0, granted.output
        assert password not in granted.output
        with analyst.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == role
            assert conn.execute(text("SELECT COUNT(*) FROM v_articles")).scalar_one() == 5
            for view in ANALYST_VIEWS:
                conn.execute(text(f"SELECT * FROM {view}")).all()
            found = conn.execute(text("SELECT id FROM search_articles('台積電')")).scalars()
            assert list(found) == [6]
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "30s"
            assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
            # information_schema lists only what the role may use: the views.
            visible = conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            ).scalars()
            assert set(visible) == set(ANALYST_VIEWS)
        refusals = [
            "SELECT * FROM articles",
            "SELECT * FROM alerts",
            "SELECT * FROM alert_emails",
            "SELECT * FROM keyword_mentions",
            "SELECT * FROM alembic_version",
            "SELECT * FROM dag_run",
            "INSERT INTO v_articles (id, url, title) VALUES (99, 'x', 'x')",
            "UPDATE v_articles SET title = 'x'",
            "DELETE FROM v_articles",
            "CREATE TABLE notes (id integer)",
        ]
        for sql in refusals:
            with analyst.connect() as conn:
                # Even with the read-only default turned off, the grants refuse.
                conn.execute(text("SET default_transaction_read_only = off"))
                conn.commit()
                with pytest.raises(DBAPIError, match="permission denied"):
                    conn.execute(text(sql))
        # A shorter timeout really stops a long statement.
        again = CliRunner().invoke(
            app,
            ["grant-analyst", role, "--statement-timeout", "200ms", "-c", str(demo.config_path)],
            env={"MONITOR_DATABASE_URL": demo.url, "MONITOR_ANALYST_PASSWORD": password},
        )
        assert again.exit_code == 0, again.output
        analyst.dispose()  # role settings apply from the next login
        with analyst.connect() as conn:
            with pytest.raises(DBAPIError, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        analyst.dispose()
        with admin.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS dag_run"))
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_datasette_searches_v_articles(demo):
    """`datasette var/monitor.db -m sql/datasette-metadata.yaml`: ?_search= on v_articles
    runs through articles_fts (Datasette is not a dependency: installed, it is tested)."""
    if demo.dialect != "sqlite":
        pytest.skip("Datasette reads SQLite files")
    datasette_app = pytest.importorskip("datasette.app")
    import asyncio

    import yaml

    metadata = yaml.safe_load((ROOT / "sql" / "datasette-metadata.yaml").read_text("utf-8"))
    path = make_url(demo.url).database
    assert path is not None and Path(path).stem == "monitor"  # the name the metadata uses
    ds = datasette_app.Datasette([path], metadata=metadata)

    async def search(query: str) -> list[int]:
        response = await ds.client.get(
            "/monitor/v_articles.json", params={"_search": query, "_shape": "array"}
        )
        assert response.status_code == 200, response.text
        return sorted(row["id"] for row in response.json())

    async def listed() -> list[str]:
        response = await ds.client.get("/monitor.json")
        return [t["name"] for t in response.json()["tables"] if not t["hidden"]]

    assert asyncio.run(search("台積電")) == [6]
    assert asyncio.run(search("tariff")) == [1, 5]
    assert asyncio.run(listed()) == []  # the pipeline's tables are hidden; the views show


def documented_columns() -> dict[str, list[str]]:
    """sql/README.md: each view's section and the columns its table lists, in order."""
    views: dict[str, list[str]] = {}
    for section in re.split(r"^### ", SQL_README, flags=re.M)[1:]:
        name = section.split("\n", 1)[0].strip()
        views[name] = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    return views


def test_every_view_column_is_described_in_sql_readme(demo):
    engine = create_engine(demo.url)
    try:
        with engine.connect() as conn:
            actual = {
                v: list(conn.execute(text(f"SELECT * FROM {v}")).keys()) for v in ANALYST_VIEWS
            }
    finally:
        engine.dispose()
    assert documented_columns() == actual


README_SQL = re.findall(r"```sql\n(.*?)```", README, flags=re.S)


def test_the_readme_sql_returns_the_demo_rows(demo):
    assert len(README_SQL) == 2
    assert run(demo, README_SQL[0]) == [
        ("2026-11-02", "Arizona", 1, 1.0),
        ("2026-11-02", "TSMC", 1, 1.0),
        ("2026-11-02", "investment", 1, 1.0),
        ("2026-11-02", "tariff", 1, 1.0),
        ("2026-11-03", "TSMC", 4, 1.0),
        ("2026-11-03", "Arizona", 3, 0.75),
        ("2026-11-03", "tariff", 2, 0.5),
    ]
    assert run(demo, README_SQL[1]) == [
        (7, "Pacific Trade Ledger", "article", "kept"),
        (7, "Harbor Times", "feed item", "exact copy"),
    ]


def test_the_readme_commands_run(demo):
    """The `monitor sql` and `monitor search` lines of the README, as written."""
    lines = re.findall(r"^monitor (sql|search) (.+?)(?:\s+#.*)?$", README, flags=re.M)
    commands = [(cmd, rest) for cmd, rest in lines if "QUERY" not in rest and "FILE" not in rest]
    assert len(commands) == 5
    for cmd, rest in commands:
        args = [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', rest.split(">")[0])]
        result = cli(demo, cmd, *args)
        assert result.exit_code == 0, (cmd, args, result.output)
        assert result.output.strip() and "no kept article" not in result.output, (cmd, args)


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("台積電", ["台積電", "TSMC", "Taiwan Semiconductor Manufacturing", "台积电"]),
        ("tsmc", ["tsmc", "Taiwan Semiconductor Manufacturing", "台積電", "台积电"]),
        ("semiconductor", ["semiconductor", "半導體", "半导体"]),
        ("typhoon", ["typhoon"]),
    ],
)
def test_a_watched_term_expands_to_its_group_and_spellings_once_each(query, terms):
    cfg = load_config(env={})
    assert expand_terms(query, cfg.watch, cfg.topic) == terms


def test_a_chinese_term_reaches_the_english_group_and_the_other_script():
    cfg = load_config(env={})
    terms = expand_terms("關稅", cfg.watch, cfg.topic)
    assert terms[:2] == ["關稅", "tariff"] and "关税" in terms
    assert len({t.casefold() for t in terms}) == len(terms)


def test_datasette_metadata_hides_every_pipeline_table(demo):
    """Without Datasette too: each table of the database but the FTS index is hidden."""
    if demo.dialect != "sqlite":
        pytest.skip("Datasette reads SQLite files")
    import yaml

    metadata = yaml.safe_load((ROOT / "sql" / "datasette-metadata.yaml").read_text("utf-8"))
    tables = metadata["databases"]["monitor"]["tables"]
    hidden = {name for name, conf in tables.items() if conf.get("hidden")}
    engine = create_engine(demo.url)
    try:
        with engine.connect() as conn:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            ).scalars()
            pipeline_tables = {n for n in names if not n.startswith("articles_fts")}
    finally:
        engine.dispose()
    assert hidden == pipeline_tables
    assert tables["v_articles"]["fts_table"] == "articles_fts"


def test_listing_commands_read_the_views_as_the_store_does(demo):
    """`monitor articles` and `monitor alerts` read the views without SQLAlchemy (sqlite3
    or psycopg, for a fast start): every view gives the same rows, value for value, as
    Store.view; the commands list the demo's articles and alerts."""
    engine = create_engine(demo.url)
    try:
        with engine.connect() as conn:
            columns = {
                v: list(conn.execute(text(f"SELECT * FROM {v} LIMIT 0")).keys())
                for v in ANALYST_VIEWS
            }
    finally:
        engine.dispose()
    store = Store(demo.url)
    try:
        for view, names in columns.items():
            order = ", ".join(names)
            read = read_view(demo.url, view, names, order)
            assert read.rows == store.view(view, names, order), view
            assert read.where == store.safe_url
    finally:
        store.close()
    listed = cli(demo, "articles")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["id", "published", "outlet", "lang", "title", "url"]
    assert len(lines) == 2 + len(read_view(demo.url, "v_articles", ["id"], "id").rows) > 2
    assert any("2026-11-02 03:00 UTC" in line and "Formosa Wire" in line for line in lines)
    alerts = cli(demo, "alerts")
    assert alerts.exit_code == 0, alerts.output
    assert "figure_change" in alerts.output


def test_a_listing_command_names_a_missing_database(tmp_path):
    missing = tmp_path / "none.db"
    listed = CliRunner().invoke(
        app, ["articles"], env={"MONITOR_DATABASE_URL": f"sqlite:///{missing}"}
    )
    assert listed.exit_code == 2
    assert f"no database file at {missing} (run `monitor init`)" in listed.output
    assert not missing.exists()
