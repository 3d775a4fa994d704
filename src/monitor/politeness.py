"""Manners for many concurrent GETs: per-host limits and delays, retries, robots.txt.

:class:`PoliteFetcher` wraps the safe :class:`~monitor.fetch.Fetcher` (which keeps every
SSRF, size and time guard) and is shared by the worker threads of a run:

* **Limits.** At most ``http.max_concurrency`` requests in flight overall and
  ``http.per_host_concurrency`` per origin (scheme, host, port), and at least
  ``http.per_host_delay_seconds`` between two request starts on one origin (raised to
  the site's ``Crawl-delay`` when robots.txt asks for more, up to 30 s). A thread
  waiting for its host's turn holds no global slot, so one slow host does not starve
  the others.
* **Retries** of transient failures only (connection errors and HTTP 408, 429, 502,
  503, 504): ``http.retries`` more tries, waiting ``backoff_seconds × 2^attempt`` with
  full jitter, or the server's ``Retry-After`` (seconds or an HTTP date). A 429/503's
  wait applies to the whole origin, not just the one request. A ``Retry-After`` above
  ``http.max_retry_after_seconds`` is not waited for: the result says so.
* **robots.txt** for article pages (``robots=True``): fetched once per origin per
  fetcher (so once per run), parsed by protego, matched on the User-Agent's product
  token. Missing (4xx) means everything is allowed; a server error or an unreachable
  robots.txt means nothing is, as RFC 9309 asks, and the page gets
  ``robots_disallowed`` with the reason.

Redirect hops are followed inside one slot of the first URL's origin.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType

import httpx
from protego import Protego

from monitor.config import HttpConfig
from monitor.fetch import Fetcher
from monitor.records import FetchResult

LOGGER = logging.getLogger(__name__)
TRANSIENT_STATUS = frozenset({408, 429, 502, 503, 504})
MAX_CRAWL_DELAY = 30.0


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL, the unit of politeness and the base of its
    robots.txt URL (an IPv6 host in brackets: ``http://[::1]:8080``); ``""`` if
    unparsable."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return ""
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}:{port}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HostGate:
    """Global and per-origin concurrency limits plus a minimum gap between starts."""

    def __init__(
        self,
        max_concurrency: int,
        per_host: int,
        delay: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sleep = sleep
        self._global = threading.BoundedSemaphore(max_concurrency)
        self._per_host = per_host
        self._delay = delay
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._delays: dict[str, float] = {}

    def set_delay(self, origin: str, seconds: float) -> None:
        with self._lock:
            self._delays[origin] = max(self._delay, seconds)

    def defer(self, origin: str, seconds: float) -> None:
        """No request to ``origin`` starts for ``seconds`` (a 429/503 Retry-After)."""
        with self._lock:
            until = time.monotonic() + seconds
            self._next_start[origin] = max(self._next_start.get(origin, 0.0), until)

    @contextmanager
    def slot(self, origin: str) -> Iterator[None]:
        with self._lock:
            host = self._hosts.setdefault(origin, threading.BoundedSemaphore(self._per_host))
        with host:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(origin, 0.0))
                self._next_start[origin] = start + self._delays.get(origin, self._delay)
            if start > now:
                self._sleep(start - now)
            with self._global:
                yield


class PoliteFetcher:
    """A thread-safe fetcher with limits, retries and robots.txt; use as a context manager.

    ``sleep`` and ``rng`` are injectable so that tests need not wait for real back-offs.
    """

    def __init__(
        self,
        http: HttpConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._fetcher = Fetcher(http, transport=transport)
        self._gate = HostGate(
            http.max_concurrency, http.per_host_concurrency, http.per_host_delay_seconds, sleep
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._robots_lock = threading.Lock()
        self._robots: dict[str, tuple[Protego | None, str | None]] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    @property
    def http(self) -> HttpConfig:
        return self._http

    def close(self) -> None:
        self._fetcher.close()

    def __enter__(self) -> PoliteFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        accept: str = "*/*",
        headers: Mapping[str, str] | None = None,
        allowed_types: tuple[str, ...] | None = None,
        robots: bool = False,
    ) -> FetchResult:
        """GET with manners; like :meth:`Fetcher.get`, never raises for the URL."""
        origin = origin_of(url)
        if robots and self._http.obey_robots and origin:
            refusal = self.robots_refusal(url)
            if refusal is not None:
                LOGGER.info("GET %s: robots_disallowed: %s", url, refusal)
                return FetchResult(url, url, "robots_disallowed", error=refusal, attempts=0)
        attempt = 0
        while True:
            attempt += 1
            with self._gate.slot(origin):
                result = self._fetcher.get(
                    url, accept=accept, headers=headers, allowed_types=allowed_types
                )
            wait, why_not = self._retry_wait(result, attempt)
            if wait is None:
                if why_not:
                    result = replace(result, error=f"{result.error}; {why_not}")
                return replace(result, attempts=attempt)
            LOGGER.info("GET %s: %s, try %d again in %.1f s", url, result.status, attempt + 1, wait)
            if result.http_status in (429, 503):
                self._gate.defer(origin, wait)
            else:
                self._sleep(wait)

    def _retry_wait(self, result: FetchResult, attempt: int) -> tuple[float | None, str | None]:
        """How long to wait before the next try, or (None, why no retry)."""
        transient = result.status == "network_error" or (
            result.status == "http_error" and result.http_status in TRANSIENT_STATUS
        )
        if not transient:
            return None, None
        if attempt > self._http.retries:
            if self._http.retries == 0:
                return None, None
            return None, f"gave up after {attempt} tries (http.retries = {self._http.retries})"
        asked = parse_retry_after(result.headers.get("retry-after"))
        if asked is not None and result.http_status in (429, 503):
            if asked > self._http.max_retry_after_seconds:
                return None, (
                    f"server asked to retry after {asked:g} s, longer than "
                    f"http.max_retry_after_seconds ({self._http.max_retry_after_seconds:g})"
                )
            return asked, None
        cap = self._http.backoff_seconds * 2 ** (attempt - 1)
        return self._rng.uniform(0, cap), None

    # -- robots.txt ---------------------------------------------------------------------

    def robots_refusal(self, url: str) -> str | None:
        """Why robots.txt forbids ``url`` to us, or None when it may be fetched."""
        origin = origin_of(url)
        with self._robots_lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch of robots.txt per origin, however many threads ask
            if origin not in self._robots:
                self._robots[origin] = self._load_robots(origin)
        parser, problem = self._robots[origin]
        if problem is not None:
            return problem
        if parser is not None and not parser.can_fetch(url, self._http.robots_token):
            return f"robots.txt of {origin} disallows this URL for {self._http.robots_token}"
        return None

    def _load_robots(self, origin: str) -> tuple[Protego | None, str | None]:
        robots_url = f"{origin}/robots.txt"
        result = self.get(robots_url, accept="text/plain, */*;q=0.5")
        if result.ok:
            text = result.body.decode("utf-8", errors="replace")
            parser = Protego.parse(text)
            delay = parser.crawl_delay(self._http.robots_token)
            if delay:
                self._gate.set_delay(origin, min(float(delay), MAX_CRAWL_DELAY))
            return parser, None
        if result.status == "http_error" and result.http_status and result.http_status < 500:
            return None, None  # no robots.txt: no rules
        return None, (
            f"robots.txt of {origin} could not be read ({result.error or result.status}); "
            "treated as disallow-all until the next run"
        )
