"""Page metadata from one parsed lxml tree: publication date, headline, canonical link,
site name, description and declared language.

The tree is the one :mod:`monitor.extract` hands to trafilatura afterwards, so a page is
parsed once. Dates come first from the page's structured data, which carries a time and
a zone: JSON-LD ``datePublished``, ``article:published_time`` and the other publication
meta names, ``itemprop="datePublished"``, ``<time pubdate>``. Only when none is there
are the URL, the byline, the page's first ``<time>`` and then htmldate's search of the
markup and text (scripts left out) used (they find a day, not a time). A date keeps the
offset it was published with, or the publisher's offset when the page gives the same
moment with one elsewhere; the day is the one the publisher printed (a byline one day
off a UTC time wins, see :func:`published_at`). Years outside :data:`FIRST_YEAR` .. next
year are refused (a Persian-calendar 1399 or a 2099 template placeholder is not a date).

Titles: the article's headline is where the ``og:title``, JSON-LD ``headline``, ``<h1>``
and ``<title>`` agree, with the site name cut off ("… | Reuters", "Sportsnet - …").
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from dateutil import parser as dateparser
from lxml import etree
from lxml.html import HtmlElement

from monitor.text import normalize_line

LOGGER = logging.getLogger(__name__)
FIRST_YEAR = 1995  # the first news sites; htmldate's own lower bound

# Zone abbreviations seen on US and East Asian news sites (seconds east of UTC). "CST" is
# left out on purpose: China Standard Time and US Central are both common in this field.
ZONE_NAMES = {
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "CDT": -5 * 3600,
    "JST": 9 * 3600,
    "KST": 9 * 3600,
    "HKT": 8 * 3600,
    "SGT": 8 * 3600,
    "TST": 8 * 3600,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
}
# Meta names (property, name or itemprop) that hold the first publication time, most
# trusted first. Modified/updated times are left out on purpose.
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "publishdate",
    "publish-date",
    "publish_date",
    "published_time",
    "pubdate",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "originalpublicationdate",
    "article_date_original",
    "cxenseparse:recs:publishtime",
    "date",
    "dc.date",
    "dcterms.date",
)
_META_RANK = {name: rank for rank, name in enumerate(PUBLISHED_META)}
_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "socialmediaposting",
        "scholarlyarticle",
        "techarticle",
        "report",
    }
)
# An ISO 8601 time with a clock and at most a numeric offset or Z.
_ISO_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")
_HAS_DIGITS = re.compile(r"\d{4}")
# Separators sites put between a headline and their name.
_SEPARATORS = re.compile(r"\s+[|\-–—:·•»«/]{1,2}\s+|\s*[|｜]\s*")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What a page says about itself."""

    title: str | None
    published_at: datetime | None  # aware, in the zone the page gave (UTC when none)
    published_date: date | None  # the day as the publisher printed it
    canonical_url: str | None
    site_name: str | None
    description: str | None
    declared_language: str | None


def plausible_year(year: int, now: datetime | None = None) -> bool:
    """A year a news page can carry: from the first news sites to next year."""
    return FIRST_YEAR <= year <= (now or datetime.now(UTC)).year + 1


def parse_published(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """A date string as an aware datetime in the zone it names. A bare day becomes noon
    UTC, so the day survives a conversion to any zone from UTC−11 to UTC+11; a time
    with no zone is taken as UTC. None for what is not a date or not a plausible year."""
    if not value:
        return None
    value = value.strip()
    if not _HAS_DIGITS.search(value) and not value.isdigit():
        return None
    now = now or datetime.now(UTC)
    if value.isdigit() and len(value) in (10, 13):  # a Unix timestamp (s or ms)
        try:
            stamp = datetime.fromtimestamp(int(value[:10]), UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return stamp if plausible_year(stamp.year, now) else None
    if _ISO_TIME.match(value):  # the common case, without dateutil's tokenizer
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if not plausible_year(parsed.year, now):
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    try:
        with warnings.catch_warnings():
            # An unknown zone name ("CET", "ET") parses as naive: taken as UTC below.
            warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
            parsed = dateparser.parse(value, tzinfos=ZONE_NAMES)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed is None or not plausible_year(parsed.year, now):
        return None
    if _DATE_ONLY.match(value) or (
        parsed.time() == time(0) and parsed.tzinfo is None and not re.search(r"\d:\d", value)
    ):
        return datetime.combine(parsed.date(), time(12), UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        return None
    return parsed


def local_day(published: datetime | None) -> date | None:
    """The calendar day as the publisher printed it (not the UTC day)."""
    return published.date() if published is not None else None


# -- JSON-LD -------------------------------------------------------------------------


def _ld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    for script in tree.iterfind(".//script[@type]"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            # Sites leave trailing commas and raw newlines in strings.
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except ValueError:
                continue
        stack: list[Any] = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
                main = item.get("mainEntity")
                if isinstance(main, dict | list):
                    stack.append(main)


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


# -- meta tags -------------------------------------------------------------------------


def _metas(tree: HtmlElement) -> dict[str, str]:
    """Meta name/property/itemprop (lower-case) → first non-empty content."""
    out: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        content = meta.get("content")
        if content is None or not content.strip():
            continue
        for attr in ("property", "name", "itemprop"):
            key = meta.get(attr)
            if key:
                out.setdefault(key.strip().lower(), content.strip())
    return out


def _published_from_markup(tree: HtmlElement, metas: dict[str, str]) -> datetime | None:
    now = datetime.now(UTC)
    ld_dates: list[tuple[int, str]] = []
    for obj in _ld_objects(tree):
        value = _ld_text(obj.get("datePublished")) or _ld_text(obj.get("dateCreated"))
        if value:
            kinds = _types(obj)
            rank = 0 if kinds & _ARTICLE_TYPES else 1 if "webpage" in kinds else 2
            ld_dates.append((rank, value))
    for _rank, value in sorted(ld_dates, key=lambda item: item[0]):
        found = parse_published(value, now=now)
        if found is not None:
            return found
    for name in PUBLISHED_META:
        found = parse_published(metas.get(name), now=now)
        if found is not None:
            return found
    for node in tree.xpath('.//*[@itemprop="datePublished"][not(self::meta)]'):
        found = parse_published(
            node.get("datetime") or node.get("content") or node.text_content(), now=now
        )
        if found is not None:
            return found
    for node in tree.xpath(
        ".//time[@pubdate or contains(translate(@class, 'PUBLISHED', 'published'), 'publish')]"
    ):
        found = parse_published(node.get("datetime") or node.text_content(), now=now)
        if found is not None:
            return found
    # The article's own first <time> (a sidebar's or a comment's is another story's).
    for node in tree.xpath(_ARTICLE_TIME):
        found = parse_published(node.get("datetime"), now=now)
        if found is not None:
            return found
    return None


def _published_by_page_time(tree: HtmlElement, now: datetime) -> datetime | None:
    """The page's first ``<time datetime>`` outside the site's masthead, menus, lists
    and sidebars, wherever it is (some sites keep the byline outside their
    ``<article>``); a relative "1 day ago" keeps its moment in ``datetime``."""
    for node in tree.xpath(_PAGE_TIME)[:1]:
        found = parse_published(node.get("datetime"), now=now)
        if found is not None and found <= now + timedelta(days=1):
            return found
    return None


# Not a sidebar, a list of other stories, a footer, nor the site's masthead (which
# often prints today's date); an <article>'s own <header> is fine.
_OUTSIDE = (
    "not(ancestor::aside or ancestor::nav or ancestor::footer or ancestor::ul"
    " or ancestor::header[not(ancestor::article)])"
)
_ARTICLE_TIME = f".//article//time[@datetime][{_OUTSIDE}]"
_PAGE_TIME = f".//body//time[@datetime][{_OUTSIDE}][not(ancestor::li)]"
_DATED_URL = re.compile(
    r"/((?:19|20)\d{2})/([01]?\d|[a-z]{3,9})/([0-3]?\d)(?:/|$)"
    r"|/((?:19|20)\d{2})-?([01]\d)-?([0-3]\d)(?:[/._-]|$)",
    re.I,
)
# Month names of bylines in English and the languages of the field's other news sites
# (German, French, Spanish, Portuguese, Italian, Dutch, Indonesian, Russian genitive).
_MONTH_NAMES = (
    (
        "jan",
        "january",
        "januar",
        "jän",
        "janvier",
        "enero",
        "janeiro",
        "gennaio",
        "gen",
        "januari",
        "января",
    ),
    (
        "feb",
        "february",
        "februar",
        "février",
        "fév",
        "febrero",
        "fevereiro",
        "fev",
        "febbraio",
        "februari",
        "февраля",
    ),
    ("mar", "march", "märz", "mars", "marzo", "março", "maart", "maret", "марта"),
    ("apr", "april", "avril", "avr", "abril", "abr", "aprile", "апреля"),
    ("may", "mai", "mayo", "maio", "maggio", "mag", "mei", "мая"),
    ("jun", "june", "juni", "juin", "junio", "junho", "giugno", "giu", "июня"),
    ("jul", "july", "juli", "juillet", "juil", "julio", "julho", "luglio", "lug", "июля"),
    ("aug", "august", "août", "agosto", "ago", "augustus", "agustus", "agu", "августа"),
    (
        "sep",
        "sept",
        "september",
        "septembre",
        "septiembre",
        "setiembre",
        "setembro",
        "set",
        "settembre",
        "сентября",
    ),
    (
        "oct",
        "october",
        "oktober",
        "okt",
        "octobre",
        "octubre",
        "outubro",
        "out",
        "ottobre",
        "ott",
        "октября",
    ),
    ("nov", "november", "novembre", "noviembre", "novembro", "ноября"),
    (
        "dec",
        "december",
        "dezember",
        "dez",
        "décembre",
        "déc",
        "diciembre",
        "dic",
        "dezembro",
        "dicembre",
        "desember",
        "des",
        "декабря",
    ),
)
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
_MONTH = (
    "("
    + "|".join(sorted((re.escape(name) for name in _MONTHS), key=len, reverse=True))
    + r")(?![^\W\d_])\.?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_TEXT_DATES = (
    # (pattern, group order: year, month, day)
    (re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"), (1, 2, 3)),
    (re.compile(r"(?<![\d/.-])((?:19|20)\d{2})[/.-](\d{1,2})[/.-](\d{1,2})(?![\d/.-])"), (1, 2, 3)),
    (re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+((?:19|20)\d{{2}})\b", re.I), (3, 1, 2)),
    (
        re.compile(rf"\b{_DAY}\.?\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+)?((?:19|20)\d{{2}})\b", re.I),
        (3, 2, 1),
    ),
)
_UPDATED = re.compile(
    r"(updated?|modified|aktualisiert|actualizado|atualizado|mis à jour|aggiornato"
    r"|bijgewerkt|diperbarui|обновлено|更新|修改)\W{0,3}$",
    re.I,
)
_BYLINE_TAGS = ("p", "div", "span", "time", "small")
_BYLINE_CLASSES = ("byline", "date", "time", "meta", "publish")
_IS_OUTSIDE = etree.XPath(_OUTSIDE)


def _iter_byline_nodes(scope: HtmlElement) -> Iterator[HtmlElement]:
    """Elements under ``scope`` whose class names a byline, a date, a time, a meta line
    or a publication, outside sidebars, lists, footers and the site's masthead, in
    document order (lazily: a byline comes early, so a caller that stops there does
    not walk the page)."""
    for node in scope.iter(*_BYLINE_TAGS):
        names = (node.get("class") or "").lower()
        if names and any(word in names for word in _BYLINE_CLASSES) and _IS_OUTSIDE(node):
            yield node


def _byline_nodes(scope: HtmlElement, limit: int = 12) -> list[HtmlElement]:
    return list(islice(_iter_byline_nodes(scope), limit))


def _day(year: int, month: int | str, day: int) -> date | None:
    number = month if isinstance(month, int) else _MONTHS.get(month.lower().rstrip("."))
    if number is None:
        return None
    try:
        return date(year, number, day)
    except ValueError:
        return None


def _url_day(url: str | None) -> date | None:
    if not url:
        return None
    match = _DATED_URL.search(urlsplit(url).path)
    if match is None:
        return None
    parts = [g for g in match.groups() if g is not None]
    month: int | str = int(parts[1]) if parts[1].isdigit() else parts[1]
    return _day(int(parts[0]), month, int(parts[2]))


def _text_day(text: str) -> date | None:
    """The first day printed in a byline's text that is not an "Updated" one."""
    found: list[tuple[int, date]] = []
    for pattern, (y, m, d) in _TEXT_DATES:
        for match in pattern.finditer(text):
            if _UPDATED.search(text[max(0, match.start() - 12) : match.start()]):
                continue
            raw: str = match.group(m)
            month: int | str = int(raw) if raw.isdigit() else raw
            day = _day(int(match.group(y)), month, int(match.group(d)))
            if day is not None:
                found.append((match.start(), day))
    return min(found)[1] if found else None


def _printed(day: date | None, now: datetime) -> datetime | None:
    if day is None or not plausible_year(day.year, now) or day > (now + timedelta(days=1)).date():
        return None
    return datetime.combine(day, time(12), UTC)


def _published_from_text(tree: HtmlElement, now: datetime) -> datetime | None:
    """A day printed in the article's byline (or its first lines)."""
    articles = tree.xpath(".//article")
    scope = articles or tree.xpath(".//main") or [tree]
    for node in _byline_nodes(scope[0]):
        found = _printed(_text_day(node.text_content()[:300]), now)
        if found is not None:
            return found
    if not articles:
        return None  # a page's first lines are the site's header, not a byline
    head = " ".join(" ".join(scope[0].itertext()).split())[:400]
    return _printed(_text_day(head), now)


_PUBLICATION_FIELD = re.compile(
    r"date_?published|publish(?:ed)?_?(?:date|at|time|on)|pub_?date|date_?created", re.I
)


def _published_by_htmldate(tree: HtmlElement, url: str | None) -> datetime | None:
    # Imported here: the command line starts without it (htmldate pulls in dateparser).
    from htmldate import find_date

    now = datetime.now(UTC)
    # Scripts are code, not what the page prints: a date in one is a comment thread
    # written out by JavaScript or a build stamp. JSON-LD stays, and so does a script
    # that names a publication field (a page's state object: htmldate reads those).
    search = deepcopy(tree)
    for script in search.xpath(".//script"):
        if "ld+json" in (script.get("type") or "").lower():
            continue
        if not _PUBLICATION_FIELD.search(script.text or ""):
            script.drop_tree()
    try:
        found = find_date(
            search,
            url=url,
            original_date=True,
            extensive_search=True,
            outputformat="%Y-%m-%d",
            max_date=(now + timedelta(days=1)).strftime("%Y-%m-%d"),
            deferred_url_extractor=True,
        )
    except (ValueError, TypeError) as exc:
        LOGGER.debug("htmldate failed on %s: %s", url, exc)
        return None
    day = parse_published(found, now=now)
    if day is not None and (day.month, day.day) == (1, 1) and not _new_year_printed(tree, day):
        # htmldate falls back on a bare year (a copyright line) as 1 January.
        return None
    return day


def _new_year_printed(tree: HtmlElement, day: datetime) -> bool:
    y = day.year
    text = " ".join(tree.itertext())
    return any(
        form in text
        for form in (f"{y}-01-01", f"{y}/01/01", f"{y}/1/1", f"{y}年1月1日", f"1 January {y}")
    ) or bool(re.search(rf"Jan(uary|\.)? 1,? {y}", text))


def _published_values(tree: HtmlElement, metas: dict[str, str]) -> Iterator[str]:
    """Every publication time the page's structured data gives, raw."""
    for obj in _ld_objects(tree):
        for key in ("datePublished", "dateCreated"):
            value = _ld_text(obj.get(key))
            if value:
                yield value
    for name in PUBLISHED_META:
        value = metas.get(name)
        if value:
            yield value


def _with_local_zone(marked: datetime, tree: HtmlElement, metas: dict[str, str]) -> datetime:
    """A UTC publication time in the publisher's own zone, when another of the page's
    publication times gives the same moment with its offset (JSON-LD in UTC beside a
    ``sailthru.date`` or ``article:published_time`` in local time)."""
    if marked.utcoffset() != timedelta(0):
        return marked
    for value in _published_values(tree, metas):
        other = parse_published(value)
        if other is None or other.utcoffset() in (None, timedelta(0)):
            continue
        if abs(other - marked) <= _SAME_MOMENT:
            return marked.astimezone(other.tzinfo)
    return marked


_SAME_MOMENT = timedelta(minutes=5)
_MAX_TIMES = 20  # a comment thread can hold hundreds; the byline's comes early
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}(?!\d)")
# English names only: without a year, "10 out of 10" must not read as 10 October.
_MONTH_EN = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![^\W\d_])\.?"
)
_YEARLESS = (
    (re.compile(rf"\b{_MONTH_EN}\s+(\d{{1,2}})\b(?![,.]?\s*\d{{4}})", re.I), (1, 2)),
    (re.compile(rf"\b(\d{{1,2}})\s+{_MONTH_EN}(?![,.]?\s*\d{{4}})", re.I), (2, 1)),
)


@dataclass(frozen=True, slots=True)
class _Printed:
    day: date
    updated: bool  # printed after "Updated"/"Modified"
    clock: bool  # printed with a time of day


def _printed_in(text: str, near: date | None = None) -> list[_Printed]:
    """The days printed in ``text`` in reading order; with ``near``, also days printed
    without a year (in the year that puts them closest to ``near``)."""
    found: list[tuple[int, _Printed]] = []
    spans: list[tuple[int, int]] = []

    def add(start: int, end: int, day: date | None) -> None:
        if day is None or any(a <= start < b for a, b in spans):
            return
        spans.append((start, end))
        updated = bool(_UPDATED.search(text[max(0, start - 12) : start]))
        clock = bool(_CLOCK.search(text[max(0, start - 25) : end + 25]))
        found.append((start, _Printed(day, updated, clock)))

    for pattern, (y, m, d) in _TEXT_DATES:
        for match in pattern.finditer(text):
            raw: str = match.group(m)
            month: int | str = int(raw) if raw.isdigit() else raw
            add(match.start(), match.end(), _day(int(match.group(y)), month, int(match.group(d))))
    if near is not None:
        for pattern, (m, d) in _YEARLESS:
            for match in pattern.finditer(text):
                days = [
                    _day(near.year + k, match.group(m), int(match.group(d))) for k in (-1, 0, 1)
                ]
                known = [x for x in days if x is not None]
                if known:
                    add(match.start(), match.end(), min(known, key=lambda x: abs(x - near)))
    return [printed for _, printed in sorted(found, key=lambda item: item[0])]


def _zone_in_doubt(marked: datetime, tree: HtmlElement, metas: dict[str, str]) -> bool:
    """Whether the structured time may not be in the publisher's zone: it is in UTC (or
    had none), or the page's publication times disagree (an offset pasted onto a UTC
    clock). A time with its own offset that the page agrees on is the publisher's."""
    if marked.utcoffset() == timedelta(0):
        return True
    for value in _published_values(tree, metas):
        other = parse_published(value)
        if other is not None and abs(other - marked) > _SAME_MOMENT:
            return True
    return False


def _printed_day(tree: HtmlElement, marked: datetime) -> date | None:
    """The day the page prints for its structured publication time when that is the day
    before or after it: the structured time was given in UTC (or with a wrong offset)
    and the byline shows the publisher's local day. First the text of a ``<time>``
    whose ``datetime`` is the same moment, then the byline's. None when the page
    prints the structured day, or nothing near it."""
    day = marked.date()
    for text, near in _texts_near(tree, marked):
        for printed in _printed_in(text, near):
            offset = (printed.day - day).days
            if offset == 0:
                return None
            if offset == -1:
                # A moment's local day is at most one day before its UTC day, and an
                # update is never before the publication.
                return printed.day
            if offset == 1 and printed.clock and not printed.updated:
                return printed.day
    return None


def _texts_near(tree: HtmlElement, marked: datetime) -> Iterator[tuple[str, date | None]]:
    """Texts that may print the publication day, most telling first, lazily; with the
    day to read a yearless date near (for a ``<time>`` of the same moment)."""
    for node in tree.xpath(".//time[@datetime]")[:_MAX_TIMES]:
        other = parse_published(node.get("datetime"))
        if other is not None and abs(other - marked) <= _SAME_MOMENT:
            yield node.text_content()[:120], marked.date()
    articles = tree.xpath(".//article")
    scope = articles[0] if articles else next(iter(tree.xpath(".//main")), tree)
    for node in islice(_iter_byline_nodes(scope), 12):
        yield node.text_content()[:300], None
    for node in scope.xpath(f".//time[{_OUTSIDE}]")[:3]:
        yield node.text_content()[:120], None


def published_at(
    tree: HtmlElement, url: str | None, metas: dict[str, str]
) -> tuple[datetime | None, date | None]:
    """The page's publication time and the day it was printed for: its structured
    data, else a day in its URL, else a day printed in its byline, else the page's first
    ``<time>``, else htmldate's search of the whole page (scripts left out).

    The structured time keeps the publisher's zone when the page gives the same moment
    with an offset elsewhere. Its day gives way to the day the page prints for it (a URL
    built from the local date, a byline, a ``<time>`` of that moment) when that is one
    day off: sites often give times in UTC, or with a wrong offset."""
    now = datetime.now(UTC)
    url_day = _url_day(url)
    marked = _published_from_markup(tree, metas)
    if marked is not None:
        marked = _with_local_zone(marked, tree, metas)
        day = marked.date()
        if url_day is not None and abs((url_day - day).days) == 1:
            day = url_day
        printed = _printed_day(tree, marked) if _zone_in_doubt(marked, tree, metas) else None
        if printed is not None:
            day = printed
        return marked, day
    found = (
        _printed(url_day, now)
        or _published_from_text(tree, now)
        or _published_by_page_time(tree, now)
        or _published_by_htmldate(tree, url)
    )
    return found, local_day(found)


# -- titles ------------------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _site_names(site_name: str | None, url: str | None) -> set[str]:
    names: set[str] = set()
    if site_name:
        names.add(_key(site_name))
    host = (urlsplit(url).hostname or "").lower() if url else ""
    labels = [part for part in host.split(".") if part not in ("www", "m", "amp", "edition")]
    if labels:
        names.add(_key(".".join(labels)))
        if len(labels) >= 2:
            names.add(_key(labels[-2]))  # reuters.com → "reuters"
            names.add(_key(".".join(labels[-2:])))
    return {n for n in names if n}


def _is_site(segment: str, names: set[str]) -> bool:
    key = _key(segment)
    if not key:
        return True
    squeezed = key.replace(" ", "")
    for name in names:
        flat = name.replace(" ", "")
        if key == name or squeezed == flat:
            return True
        # "The Wall Street Journal" vs site "WSJ" won't meet; "Reuters.com" vs "reuters" will.
        if len(flat) >= 3 and (squeezed.startswith(flat) or flat.startswith(squeezed)):
            if abs(len(squeezed) - len(flat)) <= 4:
                return True
    return False


def strip_site_name(title: str, site_name: str | None, url: str | None) -> str:
    """``title`` without the site's name before or after a separator."""
    names = _site_names(site_name, url)
    parts = _SEPARATORS.split(title)
    seps = _SEPARATORS.findall(title)
    if len(parts) < 2 or not names:
        return title
    start, end = 0, len(parts)
    while end - start > 1 and _is_site(parts[end - 1], names):
        end -= 1
    while end - start > 1 and _is_site(parts[start], names):
        start += 1
    if (start, end) == (0, len(parts)):
        return title
    out = parts[start]
    for i in range(start + 1, end):
        out += seps[i - 1] + parts[i]
    return out.strip()


def _agrees(a: str, b: str) -> bool:
    ka, kb = _key(a), _key(b)
    return bool(ka) and bool(kb) and (ka == kb or ka in kb or kb in ka)


def headline(
    tree: HtmlElement, metas: dict[str, str], site_name: str | None, url: str | None
) -> str | None:
    """The article's headline: a meta/JSON-LD headline that the page's ``<h1>`` agrees
    with, the site name cut off; else the first that is there."""
    ld_title = None
    for obj in _ld_objects(tree):
        if _types(obj) & _ARTICLE_TYPES:
            ld_title = _ld_text(obj.get("headline")) or _ld_text(obj.get("name"))
            if ld_title:
                break
    h1_nodes = tree.xpath(".//article//h1") or tree.xpath(".//h1")
    h1 = normalize_line(h1_nodes[0].text_content()) if h1_nodes else ""
    title_nodes = tree.xpath(".//head/title") or tree.xpath(".//title")
    page_title = normalize_line(title_nodes[0].text_content()) if title_nodes else ""
    candidates = [
        normalize_line(value)
        for value in (
            metas.get("og:title"),
            ld_title,
            metas.get("twitter:title"),
            page_title,
        )
        if value and normalize_line(value)
    ]
    cleaned = [strip_site_name(c, site_name, url) for c in candidates]
    if h1 and len(h1) <= 300:
        for full, clean in zip(candidates, cleaned, strict=True):
            if _agrees(h1, clean):
                # The h1 is the headline as printed; a meta title that says more than it
                # ("… | Reuters" with an unknown site name) loses to it.
                return h1 if len(_key(h1)) <= len(_key(clean)) else clean
            if _agrees(h1, full):
                return h1
    if cleaned:
        return cleaned[0]
    return h1 or None


# -- everything together ---------------------------------------------------------------


def _canonical(tree: HtmlElement, metas: dict[str, str]) -> str | None:
    for link in tree.iterfind(".//link[@rel]"):
        rels = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rels and href:
            return href
    return metas.get("og:url")


def read_metadata(tree: HtmlElement, url: str | None) -> PageMetadata:
    """Every piece of metadata the pipeline keeps, from one parsed page."""
    metas = _metas(tree)
    site = metas.get("og:site_name") or metas.get("application-name")
    site = normalize_line(site) if site else None
    about = metas.get("description") or metas.get("og:description")
    root = tree.getroottree().getroot()
    lang = root.get("lang") or root.get("xml:lang") or metas.get("content-language")
    canonical = _canonical(tree, metas)
    when, day = published_at(tree, url, metas)
    return PageMetadata(
        title=headline(tree, metas, site, url),
        published_at=when,
        published_date=day,
        canonical_url=canonical,
        site_name=site,
        description=normalize_line(about) if about else None,
        declared_language=lang.strip() if lang else None,
    )
