"""The analysts' web view as a user sees it: pages over a database filled by two real
runs against the fixture news site, the login every route needs, and the same pages in
headless Chromium (Playwright), with screenshots kept as test artefacts.

Screenshots go to ``test-artifacts/web/`` (search-, story-, trends-sqlite.png and
-postgresql.png).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
from conftest import DAY1, DAY2, ROOT, _postgres_database, write_config
from starlette.testclient import TestClient
from typer.testing import CliRunner

from monitor import pipeline
from monitor.cli import app as cli_app
from monitor.config import Config, load_config
from monitor.web import local_app

pytestmark = pytest.mark.integration
TOKEN = "test-token-0123456789"
ARTIFACTS = ROOT / "test-artifacts" / "web"  # beside the digest's screenshots (test_alerts)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cfg(request, tmp_path_factory, site) -> Iterator[Config]:
    """Two demo days, run through the pipeline as Airflow's tasks would, on SQLite and
    on a throw-away PostgreSQL database."""
    folder = tmp_path_factory.mktemp("web")
    databases = _postgres_database() if request.param == "postgresql" else None
    env = {"MONITOR_DATABASE_URL": next(databases)} if databases is not None else {}
    try:
        config = load_config(write_config(folder, site), env=env)
        pipeline.init(config)
        pipeline.run_day(config, date.fromisoformat(DAY1))
        pipeline.run_day(config, date.fromisoformat(DAY2))
        yield config
    finally:
        if databases is not None:
            databases.close()


@pytest.fixture(scope="module")
def client(cfg) -> Iterator[TestClient]:
    app, _ = local_app(lambda: cfg, TOKEN)
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


def _text(html: str) -> str:
    """The page as a reader sees it: tags gone, blanks collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_every_page_refuses_a_request_without_the_token(cfg):
    app, _ = local_app(lambda: cfg, TOKEN)
    with TestClient(app) as anonymous:
        for path in [
            "stories",
            "stories/1",
            "trends",
            "alert-log",
            "feeds",
            "last-run",
            "alerts",
            "docs",
            "openapi.json",
        ]:
            assert anonymous.get(f"/monitor/{path}").status_code == 401, path
            wrong = anonymous.get(f"/monitor/{path}", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, path
        login = anonymous.get("/monitor/trends?token=" + TOKEN + "&days=7", follow_redirects=False)
        assert (login.status_code, login.headers["location"]) == (303, "/monitor/trends?days=7")
        assert anonymous.get("/monitor/trends?days=7").status_code == 200  # the cookie


def test_search_finds_the_chinese_article_and_filters_narrow(client):
    page = _text(
        client.get("/monitor/stories", params={"q": "台積電", "day": "", "exact": "true"}).text
    )
    assert "1 story matching “台積電”" in page
    assert "台美關稅協議出爐 台積電擴大美國布局受矚目" in page
    # Not exact: 台積電 names the watched keyword TSMC, whose English stories come too.
    grouped = _text(client.get("/monitor/stories", params={"q": "台積電", "day": ""}).text)
    assert "5 stories matching “台積電”" in grouped
    assert "Searched: 台積電 | TSMC" in grouped
    assert "台美關稅協議出爐 台積電擴大美國布局受矚目" in grouped
    assert "TSMC starts moving equipment into its second Arizona fab" in grouped
    english = _text(client.get("/monitor/stories", params={"q": "tariff", "day": ""}).text)
    assert "Taiwan and US agree to cut chip-sector tariff in trade deal" in english
    by_outlet = _text(
        client.get("/monitor/stories", params={"outlet": "Pacific Trade Ledger", "day": ""}).text
    )
    assert "1 story from Pacific Trade Ledger" in by_outlet
    assert "Washington tightens export controls" in by_outlet
    zh = _text(
        client.get(
            "/monitor/stories",
            params={"language": "en", "q": "台積電", "day": "", "exact": "true"},
        ).text
    )
    assert "0 stories" in zh and "No stories match." in zh
    keyword = _text(client.get("/monitor/stories", params={"keyword": "CHIPS Act", "day": ""}).text)
    assert "1 story on CHIPS Act" in keyword and "US finalizes CHIPS Act grant" in keyword


def _listed(html: str) -> list[int]:
    """The articles a stories page lists, in its order."""
    return [int(n) for n in re.findall(r'<article class="card story" id="article-(\d+)"', html)]


@pytest.mark.parametrize("query", ["台積電", "tariff", "關稅", "TSMC", "chip-sector tariff"])
def test_search_lists_what_monitor_search_finds_in_its_order(client, cfg, site, tmp_path, query):
    """The page's search is `monitor search`: full-text (FTS5 / tsvector), the watched
    keyword's group unless exact, best match first; an outlet narrows both alike."""
    config = write_config(tmp_path, site)
    found: list[list[int]] = []
    for options, params in [
        ([], {}),
        (["--exact"], {"exact": "true"}),
        (["--source", "Formosa Wire"], {"outlet": "Formosa Wire"}),
    ]:
        result = CliRunner().invoke(
            cli_app,
            ["search", query, *options, "--limit", "200", "-f", "json", "--config", str(config)],
            env={"MONITOR_DATABASE_URL": cfg.db_url},
        )
        assert result.exit_code == 0, result.output
        expected = [hit["id"] for hit in json.loads(result.output)]
        page = client.get("/monitor/stories", params={"q": query, "day": "", **params}).text
        assert _listed(page) == expected, (query, options)
        assert f"{len(expected)} stor" in _text(page)
        found.append(expected)
    assert found[0] and found[1]  # the fixture site has hits to compare


def test_the_default_is_the_newest_day(client):
    page = _text(client.get("/monitor/stories").text)
    assert page.count("Stories of 2026-11-03") == 1
    assert "Taiwan and US agree to cut" not in page  # a story of 2026-11-02
    assert "All days" in page


def test_story_page_names_every_outlet_and_why_copies_were_merged(client, cfg, site):
    listing = client.get("/monitor/stories", params={"q": "chip-sector tariff", "day": ""}).text
    [story_id] = set(re.findall(r'href="/monitor/stories/(\d+)"', listing))
    page = _text(client.get(f"/monitor/stories/{story_id}").text)
    assert "Taiwan and US agree to cut chip-sector tariff in trade deal" in page
    assert "first seen in Formosa Wire at 2026-11-02 03:00 UTC" in page
    assert (
        "carried by 2 outlets: Formosa Wire, Pacific Trade Ledger · 1 article, 1 exact copy" in page
    )
    assert "Exact copies in feeds" in page
    assert "the same page once tracking parameters are removed: same URL as article" in page
    assert client.get("/monitor/stories/99999").status_code == 404


def test_trends_mark_every_alert_and_the_log_shows_its_sentence(client):
    trends = client.get("/monitor/trends").text
    assert trends.count('class="alert-mark"') == 3
    assert "alert #1 (figure_change): tariff 20% → 15%" in trends
    log = _text(client.get("/monitor/alert-log").text)
    assert "3 alerts, newest first" in log
    assert "Taiwanese exports will face a 15 percent tariff from next month." in log
    assert "its exports currently face a 20 percent tariff." in log
    feeds = _text(client.get("/monitor/feeds").text)
    assert re.search(r"Dead feed http://127\.0\.0\.1:\d+/status/500 failed - 2 ", feeds)
    assert "HTTP 500 Internal Server Error" in feeds


def test_json_routes_still_answer(client):
    assert client.get("/monitor/last-run").json()["run_date"] == DAY2
    alerts = client.get("/monitor/alerts").json()
    assert [a["keyword"] for a in alerts] == ["tariff", "export controls", "CHIPS Act"]


# -- in a real browser ----------------------------------------------------------------


def _dialect(cfg: Config) -> str:
    return cfg.db_url.split(":", 1)[0].split("+", 1)[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(cfg) -> Iterator[str]:
    import uvicorn

    app, _ = local_app(lambda: cfg, TOKEN)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/monitor"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser_page(served):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{served}/stories?token={TOKEN}")  # logs in: the cookie, then the page
        yield page
        browser.close()


def test_browser_search(browser_page, served, cfg):
    page = browser_page
    page.goto(f"{served}/stories")
    page.fill("input[name=q]", "台積電")
    page.check("input[name=exact]")
    page.fill("input[name=day]", "")
    page.click("button[type=submit]")
    page.wait_for_selector("article.story")
    titles = page.locator("article.story h2").all_inner_texts()
    assert titles == ["台美關稅協議出爐 台積電擴大美國布局受矚目"]
    assert "1 story matching “台積電”" in page.inner_text("p.sub")
    page.screenshot(path=str(ARTIFACTS / f"search-{_dialect(cfg)}.png"), full_page=True)


def test_browser_story_page(browser_page, served, cfg):
    page = browser_page
    page.goto(f"{served}/stories?q=chip-sector+tariff&day=")
    page.click("article.story h2 a")
    page.wait_for_selector("table.members")
    assert "first seen in Formosa Wire" in page.inner_text("p.sub")
    assert page.locator("table.members tr").count() >= 2
    page.screenshot(path=str(ARTIFACTS / f"story-{_dialect(cfg)}.png"), full_page=True)


def test_browser_trends(browser_page, served, cfg):
    page = browser_page
    page.goto(f"{served}/trends")
    page.wait_for_selector("svg.trend")
    assert page.locator("svg.trend path.alert-mark").count() == 3
    assert page.locator("svg.trend rect").count() > 0
    page.screenshot(path=str(ARTIFACTS / f"trends-{_dialect(cfg)}.png"), full_page=True)


def test_monitor_serve_listens_on_loopback_behind_its_token(cfg):
    """The installed command, as a user starts it: it prints a 127.0.0.1 URL carrying
    the token; without it every page is a 401."""
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    port = _free_port()
    source = cfg.source_files[-1]
    env = {**os.environ, "MONITOR_WEB_TOKEN": TOKEN, "MONITOR_DATABASE_URL": cfg.db_url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from monitor.cli import main; main()",
            "serve",
            "--config",
            source,
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline().strip()
        url = f"http://127.0.0.1:{port}/monitor/stories?token={TOKEN}"
        assert first == f"serving the web view: {url}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/monitor/feeds", timeout=5)
            except urllib.error.HTTPError as refused:
                assert refused.code == 401
                break
            except OSError:
                assert time.monotonic() < deadline, "monitor serve did not start"
                time.sleep(0.2)
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(url, timeout=10) as page:  # the 303 sets the cookie, then the page
            assert page.status == 200
            assert "Stories of 2026-11-03" in page.read().decode("utf-8")
    finally:
        server.terminate()
        server.wait(timeout=20)
        if server.stdout is not None:
            server.stdout.close()
