"""How the monitor shows things to people: one table style for every listing command,
one way to write a moment (``2026-11-02 03:00 UTC``), and counted nouns ("1 copy",
"2 copies").

Plain text on purpose: the tables are read in terminals, pasted into emails and
asserted by tests, so no colour codes or box-drawing characters. Columns are aligned
by display width, so a Chinese title (two cells per character) does not push the
next column out of line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime

EMPTY = "-"
# A cell longer than this is cut with "…" (URLs are never cut: a cut URL is useless).
MAX_CELL = 72


def plural(count: int, noun: str) -> str:
    """``1 copy``, ``3 copies``, ``0 stories``, ``2 exact copies``, ``2 days``."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{count} {noun[:-1]}ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return f"{count} {noun}es"
    return f"{count} {noun}s"


def moment(value: datetime | date | str | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM UTC`` (a naive value is UTC, as the database keeps
    it); a date as ``YYYY-MM-DD``; nothing as ``-``. Strings are what SQLite returns
    for timestamps read through a view."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            parsed: datetime | date = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def width(text: str) -> int:
    """Terminal cells ``text`` takes: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def cell(value: object, *, cut: bool = True) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    text = " ".join(str(value).split())
    if cut and width(text) > MAX_CELL:
        out = ""
        for ch in text:
            if width(out + ch) > MAX_CELL - 1:
                break
            out += ch
        return out.rstrip() + "…"
    return text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of an aligned table: the header, a rule, then the rows; two spaces between
    columns, trailing blanks stripped."""
    widths = [width(h) for h in headers]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], width(value))

    def line(values: Sequence[str]) -> str:
        padded = (v + " " * (w - width(v)) for v, w in zip(values, widths, strict=True))
        return "  ".join(padded).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]
