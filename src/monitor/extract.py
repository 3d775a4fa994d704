"""Article pages: decode, extract the main text (trafilatura) and read page metadata
(canonical link, ``og:`` and ``article:`` tags, ``<html lang>``) with BeautifulSoup."""

from __future__ import annotations

import codecs
import logging
import re
import warnings
from datetime import UTC, datetime

import trafilatura
from bs4 import BeautifulSoup, Tag
from charset_normalizer import from_bytes
from dateutil import parser as dateparser

from monitor.language import detect as detect_language
from monitor.records import ExtractedPage
from monitor.text import normalize_line, normalize_text

LOGGER = logging.getLogger(__name__)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_\-:.]+)["']""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels whose real-world pages use the superset's characters (WHATWG Encoding does the
# same mapping): decoding with the label alone turns those characters into errors.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
# Charsets servers claim by default whether or not they are true.
_WEAK = frozenset({"cp1252", "ascii", "latin_1", "iso8859-1"})


def _known(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        name = codecs.lookup(encoding.strip().strip("\"'")).name
    except LookupError:
        return None
    return SUPERSETS.get(name, name)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return _known(value)
    return None


def charset_in_document(body: bytes) -> str | None:
    """The charset an ASCII-compatible document names itself: the XML declaration,
    else ``<meta charset>`` / ``<meta http-equiv>``, in its first 4 KiB."""
    head = body[:4096]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return _known(match.group(1).decode("ascii", "replace")) if match else None


def _wide_without_bom(body: bytes) -> str | None:
    """UTF-16/32 told apart by where the zero bytes of ASCII markup fall."""
    head = body[:4]
    if len(head) < 4:
        return None
    if head[:3] == b"\0\0\0" and head[3]:
        return "utf-32-be"
    if head[0] and head[1:] == b"\0\0\0":
        return "utf-32-le"
    if head[0] == 0 and head[1] and head[2] == 0:
        return "utf-16-be"
    if head[0] and head[1] == 0 and head[3] == 0:
        return "utf-16-le"
    return None


def sniff_charset(body: bytes, content_type: str | None = None) -> str | None:
    """The charset to decode ``body`` with, in the order of trust: a BOM, the HTTP
    charset, the document's own declaration; a "weak" HTTP Western charset (what servers
    send by default) yields to the document's declaration and to valid UTF-8. None when
    nothing declared decodes the bytes cleanly (then detection decides)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    wide = _wide_without_bom(body)
    http = charset_from_content_type(content_type)
    if wide is not None and (http is None or not http.startswith("utf_")):
        return wide
    doc = charset_in_document(body)
    candidates: list[str | None]
    if http in _WEAK:
        candidates = [doc, "utf-8" if not body.isascii() else None, http]
    else:
        candidates = [http, doc]
    for declared in candidates:
        if not declared:
            continue
        try:
            body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            LOGGER.debug("declared charset %s does not decode the document", declared)
            continue
        return declared
    return None


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes to text: :func:`sniff_charset`, then detection (charset-normalizer)."""
    charset = sniff_charset(body, content_type)
    if charset is not None:
        return body.decode(charset, errors="replace").lstrip("\ufeff")
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(_known(best.encoding) or best.encoding, errors="replace")
    return body.decode("utf-8", errors="replace")


# Zone abbreviations seen on US and East Asian news sites (seconds east of UTC). "CST" is
# left out on purpose: China Standard Time and US Central are both common in this field.
_ZONE_NAMES = {
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
}


def parse_datetime(value: str | None) -> datetime | None:
    """Any common date string to an aware UTC datetime; naive times are taken as UTC."""
    if not value:
        return None
    try:
        with warnings.catch_warnings():
            # An unknown zone name ("CET", "ET") parses as naive, taken as UTC below;
            # it must not become an error in the caller.
            warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
            parsed = dateparser.parse(value.strip(), tzinfos=_ZONE_NAMES)
    except (ValueError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # "9999-12-31T23:00-05:00" is past the last year there is
        return None


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if isinstance(tag, Tag):
            content = tag.get("content")
            if isinstance(content, str) and content.strip():
                return content.strip()
    return None


def extract_page(html: str, url: str) -> ExtractedPage:
    """Main text and metadata of one article page. Empty text means nothing was found."""
    soup = BeautifulSoup(html, "lxml")
    canonical: str | None = None
    for link in soup.find_all("link", href=True):
        rel: list[str] = list(link.get("rel") or [])
        if "canonical" in [r.lower() for r in rel]:
            href = link.get("href")
            canonical = href if isinstance(href, str) else None
            break
    canonical = canonical or _meta(soup, "og:url")
    title = _meta(soup, "og:title", "twitter:title")
    if not title and soup.title and soup.title.string:
        title = soup.title.string
    h1 = soup.find("h1")
    if not title and h1 is not None:
        title = h1.get_text(" ")
    published = parse_datetime(
        _meta(soup, "article:published_time", "og:published_time", "date", "pubdate")
    )
    html_tag = soup.find("html")
    declared_lang = html_tag.get("lang") if isinstance(html_tag, Tag) else None
    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        output_format="txt",
        deduplicate=False,
    )
    body = normalize_text(text or "")
    site = _meta(soup, "og:site_name")
    about = _meta(soup, "description", "og:description")
    return ExtractedPage(
        url=url,
        canonical_url=canonical,
        title=normalize_line(title) if title else None,
        text=body,
        published_at=published,
        site_name=normalize_line(site) if site else None,
        language=detect_language(body, declared_lang if isinstance(declared_lang, str) else None),
        description=normalize_line(about) if about else None,
    )
