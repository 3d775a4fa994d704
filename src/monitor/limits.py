"""Bounds on values that come from outside (feeds, pages, HTTP headers) and how they
are cleaned before anything stores them.

The storage columns are declared with these numbers (:mod:`monitor.storage.models`), and
every string bound to a column passes :func:`clean_line` or :func:`clean_text` on its way
in, so SQLite (which enforces no length) and PostgreSQL (which refuses NUL characters
and values over ``VARCHAR(n)``) store exactly the same thing. Stages that would rather
refuse a value than see it cut (a link, a validator) check it against the same numbers.
"""

from __future__ import annotations

import re

URL = 2000  # links, page and canonical URLs, feed URLs
GUID = 2000  # feed item ids (longer ones are hashed by the feed parser first)
NAME = 300  # feed names, outlet names (og:site_name)
LANGUAGE = 20  # language tags ("zh-Hant-TW")
ETAG = 500
LAST_MODIFIED = 100
ROW_ID = 2**31 - 1  # the largest id an INTEGER primary key holds on PostgreSQL

# C0 controls, DEL, C1 controls, and lone surrogates (which no encoder can write).
# Tab, line feed and carriage return are kept in texts and made spaces in lines.
_CONTROLS_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_IN_LINE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\t\n\v\f\r]")


def clean_text(value: str) -> str:
    """``value`` without NUL and the other control characters (tabs and line breaks
    stay), and without lone surrogates."""
    return _CONTROLS_IN_TEXT.sub("", value)


def clean_line(value: str, limit: int | None = None) -> str:
    """One line: control characters removed, tabs and line breaks made spaces, cut to
    ``limit`` characters (what ``VARCHAR(limit)`` counts) when given."""
    line = _LINE_BREAKS.sub(" ", _CONTROLS_IN_LINE.sub("", value))
    return line if limit is None else line[:limit]


def fits(value: str | None, limit: int) -> bool:
    """Whether ``value`` is stored as it is: at most ``limit`` characters, no controls."""
    return value is None or (len(value) <= limit and clean_line(value) == value)
