"""Topic relevance for Taiwan–US semiconductor trade: facets that must co-occur, term
weights, English and Chinese aliases, title and lead weighted above the body, and
passing mentions discounted.

Each facet (Taiwan; US or trade; semiconductors or chips; …) scores the weighted hits of
its terms, an alias counting as its term (台積電 as TSMC) and a named pattern as a term
of weight 1. A hit in the title counts ``title_weight`` times, in the lead
``lead_weight`` times, and a term counts at most ``max_hits_per_part`` times per part,
so one word repeated cannot carry an article.

A term counts only where it is about the story. Discounted, and shown as such by
``monitor explain``:

- another sense of the word (``exclude``: "blue-chip" is not a semiconductor);
- boilerplate (``boilerplate``: "U.S.-listed shares", "American depositary receipts",
  "US$"): a listing or a currency says nothing about US trade policy;
- an aside about another party outside the title (``asides``: "Taiwan's TSMC" in a
  Samsung story, "a Taiwan-based supplier");
- a passing mention: a facet found only in the body, in fewer than
  ``min_body_sentences`` of its sentences.

The article is relevant when, for one of the ways in ``require`` (lists of facets),
every facet reaches its ``min_score``, and the counted total reaches ``threshold``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from monitor.config import FacetConfig, TopicConfig
from monitor.records import Occurrence, Relevance
from monitor.text import is_cjk_text

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
# A sentence ends at . ! ? ; (not after "U.S." or a single capital) before a space, at
# Chinese full stops, and at line breaks.
_SENTENCE_END = re.compile(r"(?<![A-Z]\.[A-Z])(?<!\b[A-Z])[.!?;](?=\s)|[。！？；]|\n+")
PARTS = ("title", "lead", "body")
_PASSING = "passing mention"


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
    # A term ending in "." must not run into a word ("U.S.A"); one ending in "$" is
    # followed by its amount ("US$250").
    end = "" if term.endswith("$") else r"(?!\w)" if not term[-1].isalnum() else r"\b"
    return re.compile(rf"(?<![\w.]){escaped}{end}", flags)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def count_term(term: str, text: str) -> int:
    return len(term_pattern(term).findall(text))


def split_lead(text: str, topic: TopicConfig) -> tuple[str, str]:
    """(lead, body): the first ``lead_chars`` characters (``lead_chars_cjk`` for Chinese
    and Japanese), extended to the end of the word they cut, and to the end of a
    discounted phrase they cut ("American | depositary receipts" stays whole)."""
    limit = topic.lead_chars_cjk if is_cjk_text(text) else topic.lead_chars
    if len(text) <= limit:
        return text, ""
    cut = limit
    while cut < len(text) and (text[cut].isalnum() or text[cut] in "-'."):
        cut += 1
    for phrase in (*topic.exclude, *topic.boilerplate, *topic.asides):
        for m in term_pattern(phrase).finditer(text):
            if m.start() < cut < m.end():
                cut = m.end()
    return text[:cut], text[cut:]


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    reason: str


def _spans(text: str, phrases: list[str], reason: str) -> list[_Span]:
    return [
        _Span(m.start(), m.end(), f"{reason} ('{m.group(0)}')")
        for phrase in phrases
        for m in term_pattern(phrase).finditer(text)
    ]


def _sentence_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _SENTENCE_END.finditer(text)]


def _sentence_of(starts: tuple[int, ...], pos: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


@lru_cache(maxsize=4096)
def _anchor(term: str) -> str:
    """A piece of text every match of ``term`` contains, case-folded: its longest word
    (a term's words match literally, one or more spaces apart)."""
    return max(term.split(), key=len, default="").casefold()


def _matches(facet: FacetConfig, text: str) -> Iterator[tuple[str, float, re.Match[str]]]:
    """(term, weight, match) for every term, alias and pattern of the facet in ``text``."""
    folded = text.casefold()
    for term, weight in facet.terms.items():
        for form in [term, *facet.aliases.get(term, [])]:
            # Most terms are absent from most articles: a substring test rules them out
            # at a fraction of a regex scan's cost.
            if _anchor(form) not in folded:
                continue
            for m in term_pattern(form).finditer(text):
                yield term, weight, m
    for name, pattern in facet.patterns.items():
        for m in _compiled(pattern).finditer(text):
            yield name, 1.0, m


@dataclass(frozen=True, slots=True)
class _Part:
    """One part of the article with what is discounted in it and where sentences start."""

    name: str
    text: str
    weight: float
    discounts: tuple[_Span, ...]
    sentence_starts: tuple[int, ...]


def _parts(title: str, text: str, topic: TopicConfig) -> list[_Part]:
    lead, body = split_lead(text, topic)
    weights = (topic.title_weight, topic.lead_weight, 1.0)
    parts: list[_Part] = []
    for name, part_text, weight in zip(PARTS, (title, lead, body), weights, strict=True):
        discounts = _spans(part_text, topic.exclude, "another sense")
        discounts += _spans(part_text, topic.boilerplate, "boilerplate")
        if name != "title":
            discounts += _spans(part_text, topic.asides, "aside about another party")
        starts = tuple(_sentence_starts(part_text))
        parts.append(_Part(name, part_text, weight, tuple(discounts), starts))
    return parts


def _facet_occurrences(
    name: str, facet: FacetConfig, parts: list[_Part], topic: TopicConfig
) -> list[Occurrence]:
    found: list[Occurrence] = []
    for part in parts:
        if not part.text:
            continue
        per_term: dict[str, int] = {}
        # Patterns may overlap ("對半導體課徵關稅" is two ways to say one chip tariff):
        # the same words count once.
        pattern_spans: list[_Span] = []
        for term, weight, m in sorted(_matches(facet, part.text), key=lambda t: t[2].start()):
            sentence = _sentence_of(part.sentence_starts, m.start())
            where = (name, term, m.group(0), part.name, sentence)
            discounts = (*part.discounts, *pattern_spans)
            hit = next((d for d in discounts if d.start < m.end() and m.start() < d.end), None)
            if hit is not None:
                found.append(Occurrence(*where, 0.0, hit.reason))
                continue
            if term in facet.patterns:
                pattern_spans.append(_Span(m.start(), m.end(), f"same words as '{term}'"))
            per_term[term] = per_term.get(term, 0) + 1
            if per_term[term] > topic.max_hits_per_part:
                reason = f"more than {topic.max_hits_per_part} hits of the term in the {part.name}"
                found.append(Occurrence(*where, 0.0, reason))
                continue
            found.append(Occurrence(*where, weight * part.weight))
    return _discount_passing(found, topic)


def _discount_passing(found: list[Occurrence], topic: TopicConfig) -> list[Occurrence]:
    """A facet with nothing counted in the title or lead, and counted body hits in
    fewer than ``min_body_sentences`` sentences, is mentioned in passing."""
    counted = [o for o in found if o.reason is None]
    if any(o.part != "body" for o in counted):
        return found
    sentences = {o.sentence for o in counted}
    if not counted or len(sentences) >= topic.min_body_sentences:
        return found
    reason = f"{_PASSING}: body only, in {len(sentences)} sentence"
    return [replace(o, weight=0.0, reason=reason) if o.reason is None else o for o in found]


def score(title: str, text: str, topic: TopicConfig) -> Relevance:
    """Weighted facet score of the counted occurrences; relevant when, for one of the
    topic's ways, every facet reaches its minimum, and the total reaches the threshold."""
    parts = _parts(title, text, topic)
    total = 0.0
    matched: dict[str, tuple[str, ...]] = {}
    facet_scores: dict[str, float] = {}
    occurrences: list[Occurrence] = []
    for name, facet in topic.facets.items():
        found = _facet_occurrences(name, facet, parts, topic)
        occurrences += found
        counted = [o for o in found if o.reason is None]
        seen = [o for o in found if o.reason is None or o.reason.startswith(_PASSING)]
        seen_terms = {o.term for o in seen}
        matched[name] = tuple(t for t in [*facet.terms, *facet.patterns] if t in seen_terms)
        facet_score = sum(o.weight for o in counted)
        facet_scores[name] = round(facet_score, 3)
        total += facet_score

    def short(way: list[str]) -> list[str]:
        return [n for n in way if facet_scores[n] < max(topic.facets[n].min_score, 1e-9)]

    # No way met: the main way's shortfall is the most useful thing to report.
    shortfalls = [short(way) for way in topic.ways()]
    missing = [] if any(not gap for gap in shortfalls) else shortfalls[0]
    return Relevance(
        score=round(total, 3),
        relevant=not missing and total >= topic.threshold,
        matched=matched,
        facet_scores=facet_scores,
        missing=tuple(missing),
        occurrences=tuple(occurrences),
    )


def explain_lines(result: Relevance) -> list[str]:
    """What counted, per facet and term ("Taiwan: title 3, body 2"), then each
    discounted occurrence with its reason (repeats of one reason folded into one line)."""
    lines: list[str] = []
    for facet, score_ in result.facet_scores.items():
        points: dict[str, dict[str, float]] = {}
        for o in result.occurrences:
            if o.facet == facet and o.reason is None:
                by_part = points.setdefault(o.term, {})
                by_part[o.part] = by_part.get(o.part, 0.0) + o.weight
        terms = "; ".join(
            f"{term} " + ", ".join(f"{part} {w:g}" for part, w in parts.items())
            for term, parts in points.items()
        )
        if terms:
            lines.append(f"counted     {facet} {score_:g}: {terms}")
    folded: dict[tuple[str, str, str, str], list[Occurrence]] = {}
    for o in result.occurrences:
        if o.reason is not None:
            folded.setdefault((o.facet, o.found, o.part, o.reason), []).append(o)
    for (facet, found, part, reason), same in folded.items():
        times = f" x{len(same)}" if len(same) > 1 else ""
        where = ", ".join(f"s{o.sentence + 1}" for o in same)
        lines.append(f"discounted  {facet}: '{found}'{times} in {part} ({where}): {reason}")
    return lines
