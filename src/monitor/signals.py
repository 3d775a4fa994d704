"""Keyword signals: how often each watched keyword (all its terms together) is mentioned
in a document. Figures are read by :mod:`monitor.detect.figures`."""

from __future__ import annotations

from monitor.config import WatchConfig
from monitor.relevance import count_term


def count_mentions(text: str, watch: WatchConfig) -> dict[str, int]:
    """Mentions per watched keyword (all its terms together); keywords not found omitted."""
    counts: dict[str, int] = {}
    for keyword in watch.keywords:
        n = sum(count_term(term, text) for term in keyword.terms)
        if n:
            counts[keyword.name] = n
    return counts
