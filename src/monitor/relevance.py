"""Topic relevance for Taiwan–US semiconductor trade: facets that must co-occur, term
weights, English and Chinese aliases, title and lead weighted above the body."""

from __future__ import annotations

import re
from functools import lru_cache

from monitor.config import TopicConfig
from monitor.records import Relevance

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


@lru_cache(maxsize=4096)
def term_pattern(term: str) -> re.Pattern[str]:
    """A regex for one term: whole words for Latin terms, plain substring for CJK.

    Terms written in capitals (``US``, ``TSMC``, ``U.S.``) match case-sensitively, so
    the pronoun "us" is not the United States; other terms ignore case.
    """
    escaped = re.escape(term).replace(r"\ ", r"\s+")
    if _CJK.search(term):
        return re.compile(escaped)
    flags = 0 if term.upper() == term and any(c.isalpha() for c in term) else re.IGNORECASE
    end = r"(?!\w)" if term.endswith(".") else r"\b"
    return re.compile(rf"(?<![\w.]){escaped}{end}", flags)


def count_term(term: str, text: str) -> int:
    return len(term_pattern(term).findall(text))


def score(title: str, text: str, topic: TopicConfig) -> Relevance:
    """Weighted facet score; relevant when every facet matched and score ≥ threshold."""
    lead, body = text[: topic.lead_chars], text[topic.lead_chars :]
    total = 0.0
    matched: dict[str, tuple[str, ...]] = {}
    for facet_name, facet in topic.facets.items():
        hits: list[str] = []
        for term, weight in facet.terms.items():
            n_title, n_lead, n_body = (count_term(term, part) for part in (title, lead, body))
            if n_title + n_lead + n_body:
                hits.append(term)
                total += weight * (
                    topic.title_weight * n_title + topic.lead_weight * n_lead + n_body
                )
        matched[facet_name] = tuple(hits)
    every_facet = all(matched[name] for name in topic.facets)
    return Relevance(
        score=round(total, 3),
        relevant=every_facet and total >= topic.threshold,
        matched=matched,
    )
