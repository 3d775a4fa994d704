"""Topic relevance for Taiwan–US semiconductor trade: facets that must co-occur, term
weights, English and Traditional Chinese aliases, title and lead weighted above the body.

Each facet (Taiwan; US or trade; semiconductors or chips) scores the weighted hits of
its terms, an alias counting as its term (台積電 as TSMC). A hit in the title counts
``title_weight`` times, in the lead ``lead_weight`` times, and a term counts at most
``max_hits_per_part`` times per part, so one word repeated cannot carry an article. The
article is relevant when every facet reaches its ``min_score`` and the total reaches
``threshold``; the score, each facet's score and the matched terms are kept as the
explanation.
"""

from __future__ import annotations

import re
from functools import lru_cache

from monitor.config import FacetConfig, TopicConfig
from monitor.records import Relevance
from monitor.text import is_cjk_text

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


def _blank(text: str, phrases: list[str]) -> str:
    for phrase in phrases:
        text = term_pattern(phrase).sub(" ", text)
    return text


def split_lead(text: str, topic: TopicConfig) -> tuple[str, str]:
    """(lead, body): the first ``lead_chars`` characters (``lead_chars_cjk`` for Chinese
    and Japanese), extended to the end of the word they cut."""
    limit = topic.lead_chars_cjk if is_cjk_text(text) else topic.lead_chars
    if len(text) <= limit:
        return text, ""
    cut = limit
    while cut < len(text) and (text[cut].isalnum() or text[cut] in "-'."):
        cut += 1
    return text[:cut], text[cut:]


def _facet_hits(
    facet: FacetConfig, parts: tuple[str, str, str], topic: TopicConfig
) -> tuple[float, list[str]]:
    weights = (topic.title_weight, topic.lead_weight, 1.0)
    total = 0.0
    hits: list[str] = []
    for term, weight in facet.terms.items():
        forms = [term, *facet.aliases.get(term, [])]
        counts = [
            min(topic.max_hits_per_part, sum(count_term(form, part) for form in forms))
            for part in parts
        ]
        if any(counts):
            hits.append(term)
            total += weight * sum(w * n for w, n in zip(weights, counts, strict=True))
    return total, hits


def score(title: str, text: str, topic: TopicConfig) -> Relevance:
    """Weighted facet score; relevant when every facet reaches its minimum and the total
    reaches the threshold."""
    title = _blank(title, topic.exclude)
    lead, body = split_lead(_blank(text, topic.exclude), topic)
    total = 0.0
    matched: dict[str, tuple[str, ...]] = {}
    facet_scores: dict[str, float] = {}
    for name, facet in topic.facets.items():
        facet_score, hits = _facet_hits(facet, (title, lead, body), topic)
        matched[name] = tuple(hits)
        facet_scores[name] = round(facet_score, 3)
        total += facet_score
    short = [n for n, f in topic.facets.items() if facet_scores[n] < max(f.min_score, 1e-9)]
    return Relevance(
        score=round(total, 3),
        relevant=not short and total >= topic.threshold,
        matched=matched,
        facet_scores=facet_scores,
        missing=tuple(short),
    )
