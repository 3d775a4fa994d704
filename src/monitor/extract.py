"""Article pages: decode the bytes, parse them once (lxml), read the metadata from that
tree (:mod:`monitor.metadata`) and extract the main text from it (trafilatura)."""

from __future__ import annotations

import codecs
import logging
import re
import warnings
from datetime import UTC, datetime

from charset_normalizer import from_bytes
from dateutil import parser as dateparser
from lxml.html import HtmlElement

from monitor.language import detect as detect_language
from monitor.metadata import ZONE_NAMES, plausible_year, read_metadata
from monitor.records import ExtractedPage
from monitor.text import normalize_text

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


def parse_datetime(value: str | None) -> datetime | None:
    """Any common date string (a feed's, a sitemap's) to an aware UTC datetime; naive
    times and bare days are taken as UTC; implausible years (a Persian 1399, a 2099
    placeholder) are None. Pages keep their own zone: see
    :func:`monitor.metadata.parse_published`."""
    if not value:
        return None
    try:
        with warnings.catch_warnings():
            # An unknown zone name ("CET", "ET") parses as naive, taken as UTC below;
            # it must not become an error in the caller.
            warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
            parsed = dateparser.parse(value.strip(), tzinfos=ZONE_NAMES)
    except (ValueError, OverflowError):
        return None
    if parsed is None or not plausible_year(parsed.year):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # "9999-12-31T23:00-05:00" is past the last year there is
        return None


def parse_tree(html: str) -> HtmlElement | None:
    """The page's one lxml tree, shared by metadata and text extraction."""
    from trafilatura.utils import load_html

    tree = load_html(html)
    return tree if isinstance(tree, HtmlElement) else None


def extract_page(html: str, url: str) -> ExtractedPage:
    """Main text and metadata of one article page, from one parse. Empty text means
    nothing was found."""
    import trafilatura  # here, not at import: the command line starts without it

    tree = parse_tree(html)
    if tree is None:
        return ExtractedPage(url, None, None, "", None, None, None)
    meta = read_metadata(tree, url)
    # trafilatura copies the tree before cleaning it, so the metadata read above and
    # the text come from the same parse.
    text = trafilatura.extract(
        tree,
        url=url,
        include_comments=False,
        include_tables=True,
        output_format="txt",
        deduplicate=False,
        with_metadata=False,
    )
    body = normalize_text(text or "")
    return ExtractedPage(
        url=url,
        canonical_url=meta.canonical_url,
        title=meta.title,
        text=body,
        published_at=meta.published_at,
        site_name=meta.site_name,
        language=detect_language(body, meta.declared_language),
        description=meta.description,
        published_date=meta.published_date,
    )
