"""Keyword signals: mentions of watched keywords and the figures attached to them.

A figure belongs to a keyword when both stand in one sentence close together
("Taiwanese exports face a 20 percent tariff", "美國關稅降至15%"); the closest figure
to the keyword in a sentence wins. Percentages only for now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.config import WatchConfig
from monitor.records import Figure
from monitor.relevance import count_term, term_pattern
from monitor.text import sentences

_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(?:%|％|percent\b|per\s+cent\b)", re.I)
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


def find_figures(text: str, watch: WatchConfig) -> list[FoundFigure]:
    """For each keyword, the figures attached to it, one per sentence, in text order."""
    found: list[FoundFigure] = []
    for number, sentence in enumerate(sentences(text)):
        numbers = list(_PERCENT.finditer(sentence))
        if not numbers:
            continue
        per_char = 2 if _CJK.search(sentence) else 8
        reach = watch.figure_window_words * per_char
        for keyword in watch.keywords:
            spans = [
                m.span() for term in keyword.terms for m in term_pattern(term).finditer(sentence)
            ]
            best: tuple[int, float] | None = None
            for match in numbers:
                for start, end in spans:
                    gap = max(start - match.end(), match.start() - end, 0)
                    if gap <= reach and (best is None or gap < best[0]):
                        best = (gap, float(match.group(1)))
            if best is not None:
                found.append(
                    FoundFigure(number, Figure(keyword.name, best[1], "%", sentence.strip()))
                )
    return found
