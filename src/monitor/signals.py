"""Keyword signals: mentions of watched keywords and the figures attached to them.

A figure belongs to a keyword when both stand in one sentence close together
("Taiwanese exports face a 20 percent tariff", "美國關稅降至15%", "TSMC will invest
US$165 billion"); the closest figure to the keyword in a sentence wins. Units are kept:
``%``, money as currency and scale (``US$ billion``, ``NT$ trillion``, ``億美元``), and
values are only ever compared within one unit. In "cut from 20 percent to 15 percent"
(從20%降至15%) the number after "from" is the old value, so the figure is 15%.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.config import WatchConfig
from monitor.records import Figure
from monitor.relevance import count_term, term_pattern
from monitor.text import sentences

_PERCENT = re.compile(
    r"(?<![\d.,])(?P<num>\d{1,3}(?:\.\d+)?)\s*(?:%|％|percent\b|per\s+cent\b|個百分點)", re.I
)
_CURRENCIES = {
    "us$": "US$",
    "usd": "US$",
    "$": "US$",
    "nt$": "NT$",
    "ntd": "NT$",
    "twd": "NT$",
    "us dollars": "US$",
    "u.s. dollars": "US$",
    "dollars": "US$",
    "new taiwan dollars": "NT$",
}
_SCALES = {"million": "million", "billion": "billion", "trillion": "trillion", "bn": "billion"}
# US$165 billion, NT$1.2 trillion, $52.7bn, USD 6.6 billion
_MONEY_PREFIX = re.compile(
    r"(?<![\w$])(?P<cur>US\$|NT\$|USD|NTD|TWD|\$)\s?(?P<num>\d{1,3}(?:,\d{3})*(?:\.\d+)?)"
    r"\s*(?P<scale>million|billion|trillion|bn)\b",
    re.I,
)
# 165 billion US dollars, 1.2 trillion New Taiwan dollars
_MONEY_SUFFIX = re.compile(
    r"(?<![\d.,$])(?P<num>\d{1,3}(?:,\d{3})*(?:\.\d+)?)\s*(?P<scale>million|billion|trillion)\s+"
    r"(?P<cur>U\.S\.\s+dollars|US\s+dollars|New\s+Taiwan\s+dollars|dollars)\b",
    re.I,
)
# 150億美元, 1.2兆新台幣 / 新台幣1.2兆元
_MONEY_CJK = re.compile(
    r"(?:(?P<cur1>新台幣|新臺幣|美元)\s*)?(?P<num>\d+(?:\.\d+)?)\s*(?P<scale>萬|億|兆)\s*(?P<cur2>美元|新台幣|新臺幣|元)?"
)
_FROM = re.compile(r"(?:\bfrom|從|由)\s*$", re.I)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def count_mentions(text: str, watch: WatchConfig) -> dict[str, int]:
    """Mentions per watched keyword (all its terms together); keywords not found omitted."""
    counts: dict[str, int] = {}
    for keyword in watch.keywords:
        n = sum(count_term(term, text) for term in keyword.terms)
        if n:
            counts[keyword.name] = n
    return counts


@dataclass(frozen=True, slots=True)
class FoundFigure:
    sentence_no: int
    figure: Figure


@dataclass(frozen=True, slots=True)
class _Number:
    start: int
    end: int
    value: float
    unit: str


def _cjk_currency(cur: str | None) -> str:
    if cur in ("新台幣", "新臺幣"):
        return "NT$"
    if cur == "美元":
        return "US$"
    return "元"


def numbers_in(sentence: str) -> list[_Number]:
    """Every percentage and amount of money in a sentence, with its unit, in text order."""
    found: list[_Number] = []
    for m in _PERCENT.finditer(sentence):
        found.append(_Number(m.start(), m.end(), float(m.group("num")), "%"))
    for pattern in (_MONEY_PREFIX, _MONEY_SUFFIX):
        for m in pattern.finditer(sentence):
            cur = _CURRENCIES[re.sub(r"\s+", " ", m.group("cur").lower())]
            scale = _SCALES[m.group("scale").lower()]
            value = float(m.group("num").replace(",", ""))
            found.append(_Number(m.start(), m.end(), value, f"{cur} {scale}"))
    for m in _MONEY_CJK.finditer(sentence):
        cur = m.group("cur1") or m.group("cur2")
        if cur is None:
            continue  # 3億 alone: people, chips or dollars? not a figure we can label
        unit = f"{m.group('scale')}{'元' if cur == '元' else ''}"
        if cur != "元":
            unit = f"{_cjk_currency(cur)} {m.group('scale')}"
        found.append(_Number(m.start(), m.end(), float(m.group("num")), unit))
    found.sort(key=lambda n: n.start)
    return _drop_old_values(sentence, found)


def _drop_old_values(sentence: str, found: list[_Number]) -> list[_Number]:
    """In "from 20% to 15%" the 20% is what the figure was: keep only the new value."""
    kept: list[_Number] = []
    for i, number in enumerate(found):
        later_same_unit = any(n.unit == number.unit for n in found[i + 1 :])
        if later_same_unit and _FROM.search(sentence[: number.start]):
            continue
        kept.append(number)
    return kept


def find_figures(text: str, watch: WatchConfig) -> list[FoundFigure]:
    """For each keyword, the figures attached to it, one per sentence, in text order."""
    found: list[FoundFigure] = []
    for number, sentence in enumerate(sentences(text)):
        numbers = numbers_in(sentence)
        if not numbers:
            continue
        per_char = 2 if _CJK.search(sentence) else 8
        reach = watch.figure_window_words * per_char
        for keyword in watch.keywords:
            spans = [
                m.span() for term in keyword.terms for m in term_pattern(term).finditer(sentence)
            ]
            best: tuple[int, _Number] | None = None
            for candidate in numbers:
                for start, end in spans:
                    gap = max(start - candidate.end, candidate.start - end, 0)
                    if gap <= reach and (best is None or gap < best[0]):
                        best = (gap, candidate)
            if best is not None:
                figure = Figure(keyword.name, best[1].value, best[1].unit, sentence.strip())
                found.append(FoundFigure(number, figure))
    return found
