"""The analysts' web view: a FastAPI app of HTML pages (Jinja2) over the monitor's
database, plus the small JSON API the Airflow plugin served before.

Pages (relative to where the app is mounted, ``/monitor`` in Airflow):

    stories            the day's stories; search text (the search `monitor search` runs:
                       full-text, a watched keyword's whole group unless exact), filter by
                       keyword, outlet, day, language
    stories/{id}       one story: every outlet, first seen, why each copy was merged
    trends             stories per day per watched keyword, alerts marked on the bars
    alert-log          every alert with the sentences and articles behind it
    feeds              feed health
    last-run, alerts   JSON: the newest run's counts, the v_alerts rows
    docs, openapi.json the API's documentation

Every route, documentation included, depends on ``user``: the caller's identity or a
401. In Airflow that is Airflow's logged-in user (``plugins/``); ``monitor serve``
uses a token of its own (:func:`local_app`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from monitor import display
from monitor.config import Config
from monitor.storage import Store
from monitor.storage.search import expand_terms
from monitor.web import chart

TEMPLATES = Path(__file__).with_name("templates")
TITLE = "Taiwan–US chip-trade monitor"
TOKEN_COOKIE = "monitor_token"
MAX_TREND_DAYS = 120
# Stories on one page; a search narrowed further than `monitor search` can (a single day,
# a keyword, a language) first takes up to SEARCH_POOL of its best hits, then narrows.
PAGE_STORIES = 200
SEARCH_POOL = 1000


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["moment"] = display.moment
    env.filters["plural"] = lambda n, noun: display.plural(int(n), noun)
    env.filters["web_url"] = _web_url
    return env


def _web_url(url: str | None) -> str | None:
    """Only http(s) links are rendered as links (never ``javascript:`` from a feed)."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def create_app(load: Callable[[], Config], user: Callable[..., Any]) -> FastAPI:
    """The web view over the database ``load()`` configures, behind ``user``."""
    app = FastAPI(
        title=TITLE,
        version="2",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(user)],
    )
    templates = _environment()

    @contextmanager
    def opened() -> Iterator[tuple[Config, Store]]:
        cfg = load()
        store = Store(cfg.db_url)
        try:
            yield cfg, store
        finally:
            store.close()

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        html = templates.get_template(name).render(
            root=root, title=TITLE, path=request.url.path.removeprefix(root), **context
        )
        return HTMLResponse(html)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{root}/stories", status_code=307)

    @app.get("/stories", response_class=HTMLResponse, summary="Stories, searched and filtered")
    def stories(
        request: Request,
        q: str = "",
        keyword: str = "",
        outlet: str = "",
        day: str | None = None,
        language: str = "",
        exact: bool = False,
    ) -> HTMLResponse:
        with opened() as (cfg, store):
            zone = ZoneInfo(cfg.timezone)
            chosen: date | None = None
            if day is None:  # no choice made: the newest day with stories
                newest = store.newest_article_time()
                chosen = _local_day(newest, zone) if newest else None
            elif day.strip():
                try:
                    chosen = date.fromisoformat(day.strip())
                except ValueError:
                    raise HTTPException(422, f"day {day!r} is not a date like 2026-11-02") from None
            since = until = None
            if chosen is not None:
                since = datetime.combine(chosen, time(), zone).astimezone(UTC)
                until = since + timedelta(days=1)
            found = None
            terms: list[str] = []
            if q.strip():
                # `monitor search q --since DAY --source OUTLET` (with --exact if asked).
                query = q.strip()
                terms = [query] if exact else expand_terms(query, cfg.watch, cfg.topic)
                narrowed = until is not None or bool(keyword) or bool(language)
                found = store.search(
                    terms,
                    since=chosen,
                    outlet=outlet or None,
                    limit=SEARCH_POOL if narrowed else PAGE_STORIES,
                )
            hits = store.stories(
                found=found,
                keyword=keyword or None,
                outlet=outlet or None,
                since=since,
                until=until,
                language=language or None,
                limit=PAGE_STORIES,
            )
            return page(
                request,
                "stories.html.j2",
                hits=hits,
                q=q,
                keyword=keyword,
                outlet=outlet,
                day=chosen.isoformat() if chosen else "",
                language=language,
                exact=exact,
                searched=terms if len(terms) > 1 else [],
                keywords=[k.name for k in cfg.watch.keywords],
                outlets=store.outlets(),
                languages=store.languages(),
                zone=cfg.timezone,
                all_days=urlencode(
                    {"q": q, "keyword": keyword, "outlet": outlet, "day": ""}
                    | ({"exact": "true"} if exact else {})
                ),
            )

    @app.get("/stories/{story_id}", response_class=HTMLResponse, summary="One story")
    def story(request: Request, story_id: int) -> HTMLResponse:
        with opened() as (_cfg, store):
            found = store.story_detail(story_id) if 0 < story_id < 2**31 else None
        if found is None:
            raise HTTPException(404, f"no story #{story_id}")
        return page(request, "story.html.j2", story=found)

    @app.get("/trends", response_class=HTMLResponse, summary="Keyword trends with alerts")
    def trends(request: Request, days: int = 30, keyword: str = "") -> HTMLResponse:
        days = min(max(days, 2), MAX_TREND_DAYS)
        with opened() as (cfg, store):
            names = [k.name for k in cfg.watch.keywords]
            shown = [keyword] if keyword in names else names
            span = store.mention_days()
            end = span[1] if span else datetime.now(UTC).date()
            start = end - timedelta(days=days - 1)
            if span is not None:  # no empty days before the monitor had any story
                start = max(start, min(span[0], end - timedelta(days=1)))
            counts = store.daily_story_counts(shown, start, end)
            alerts = store.day_alerts(shown, start, end)
        axis = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        series = {k: [counts[k].get(d, 0) for d in axis] for k in shown}
        series = {k: v for k, v in series.items() if any(v)} or series
        return page(
            request,
            "trends.html.j2",
            svg=Markup(chart.trend_svg(axis, series, alerts)),
            legend=chart.legend(series),
            alerts=alerts,
            keywords=names,
            keyword=keyword,
            days=days,
            first=axis[0],
            last=axis[-1],
        )

    @app.get("/alert-log", response_class=HTMLResponse, summary="Alerts with provenance")
    def alert_log(request: Request) -> HTMLResponse:
        with opened() as (_cfg, store):
            entries = store.alert_log()
        return page(request, "alerts.html.j2", alerts=entries)

    @app.get("/feeds", response_class=HTMLResponse, summary="Feed health")
    def feeds(request: Request) -> HTMLResponse:
        with opened() as (cfg, store):
            health = {h.url: h for h in store.feed_health(datetime.now(UTC))}
        rows = [(f, health.get(f.url)) for f in cfg.feeds]
        return page(request, "feeds.html.j2", rows=rows)

    @app.get("/last-run", summary="The newest run's summary counts (JSON)")
    def last_run() -> dict[str, Any]:
        with opened() as (_cfg, store):
            found = store.last_run()
        return {} if found is None else {"run_date": found[0].isoformat(), **found[1]}

    @app.get("/alerts", summary="Every alert, oldest first: the v_alerts view (JSON)")
    def alerts_json() -> list[dict[str, Any]]:
        columns = ["id", "created_at", "keyword", "rule", "summary", "status", "sent_at"]
        with opened() as (_cfg, store):
            return store.view("v_alerts", columns, "id")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="openapi.json", title=f"{TITLE}: API")

    return app


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def token_user(token: str) -> Callable[[Request], str]:
    """The ``user`` dependency of ``monitor serve``: the request carries the server's
    token as a cookie (set by opening the URL it printed) or as ``Authorization:
    Bearer``; anything else is a 401."""

    def user(request: Request) -> str:
        given = request.cookies.get(TOKEN_COOKIE, "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401,
                "Not authenticated: open the URL `monitor serve` printed (it carries ?token=…)",
            )
        return "local analyst"

    return user


def local_app(load: Callable[[], Config], token: str | None = None) -> tuple[FastAPI, str]:
    """The web view as ``monitor serve`` runs it: mounted at ``/monitor`` like in
    Airflow, behind a random token (or ``token``). Opening any page with
    ``?token=TOKEN`` sets the cookie and redirects to the page without it."""
    token = token or secrets.token_urlsafe(24)
    outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    outer.mount("/monitor", create_app(load, token_user(token)))

    @outer.middleware("http")
    async def login(request: Request, call_next: Callable[[Request], Any]) -> Response:
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            rest = urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            )
            target = request.url.path + (f"?{rest}" if rest else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return redirect
        response: Response = await call_next(request)
        return response

    @outer.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/monitor/stories", status_code=307)

    return outer, token
