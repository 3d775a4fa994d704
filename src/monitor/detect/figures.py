"""Tracked figures: which number in an article is the US tariff on Taiwan, which is TSMC's
US investment, and whether it is the figure in force, a threat or what it used to be.

A sentence is read in four steps:

1. Numbers (:mod:`monitor.detect.numbers`): percentages, percentage points and money,
   money normalized to billions of one currency.
2. Changes (:mod:`monitor.detect.phrasing`): "from 20% to 15%", "to 15%, from 20%",
   "15%, down from 20%", "由20%調降為15%", "从20%下调至15%" pair an old value with a new
   one; "cut by 5 points", "a 5% cut", "23% of its exports", "between 0% and 6%" are no
   figure at all.
3. Status: a threat or proposal ("threatens", "could", "proposed", "揚言", "可能", "擬")
   in the number's clause makes it a ``threat``; a threatened change "from 20% to 100%"
   still states the 20% in force. "previous", "had imposed", "原本" make an ``old`` value.
4. Attribution, driven by config (``watch.tracked``): a number goes to the item with its
   unit whose ``measure`` stands in the sentence and whose ``subject`` is nearest to it,
   unless one of the item's ``exclude`` cues (Section 232, Japan, "on U.S. goods") is
   nearer still. Distance counts words (a Chinese character is half a word); each clause
   boundary between costs as much as eight words, a word after the number in another
   clause eight more, and nothing beyond a ";" / "while" / "而" counts. So a rate far
   from "tariff" in a sentence about it is still read, while a rate in a clause about
   Japan is not Taiwan's. A sentence that names no subject (or no measure, for a stated
   change or a rate that goods "pay" or "face") borrows it from the headline or the
   sentences around, when nothing the item excludes stands before the number or in its
   clause. A zero rate stated alone is an exemption, not the rate.

Numbers that look like a tracked measure but belong to no item are kept with ``item``
None (unattributed): stored, never alerted. Only language structure is written in these
modules (change patterns, cue words, number grammar); what is tracked comes from config.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from monitor.config import TrackedFigure
from monitor.detect.phrasing import (
    ADDITIONAL_TAG,
    ANALYSTS,
    APPROXIMATE_TAG,
    BOUNDARY_COST,
    CJK,
    CURRENT,
    OLD,
    PENDING_DEAL,
    THREAT,
    TOTAL_TAG,
    UNNAMED_SOURCES,
    Sentence,
    alternative_slots,
    amount_tag,
    change_pairs,
    deal_done,
    is_delta,
    is_new_value,
    range_slots,
    single_status,
    split_sentences,
    template,
    threat_cue,
)
from monitor.relevance import term_pattern

LOGGER = logging.getLogger(__name__)

__all__ = ["CURRENT", "OLD", "THREAT", "Reading", "current_figures", "read_figures"]

# A value the sentence says something was changed to ("falls to 15%") without the old one.
NEW_VALUE = "direction=→to"
# The headline and the first sentences, where a story says what it is about.
_LEAD_SENTENCES = 3
# A subject borrowed from the headline or the sentence before stands this far away.
_CONTEXT_GAP = 40.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One figure read from one sentence."""

    item: str | None  # tracked id; None = unattributed (kept, never alerted)
    value: float
    unit: str  # "%", "US$ billion", "NT$ billion"
    status: str  # "current" | "threat" | "old"
    old_value: float | None  # X of "from X to Y" when the sentence states it
    sentence_no: int
    sentence: str
    reason: str  # which words tied it: "subject=Taiwan; measure=tariff; direction=from→to"


# --- attribution ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Anchor:
    span: tuple[int, int]
    alias: str


@lru_cache(maxsize=4096)
def _alias_pattern(alias: str) -> re.Pattern[str]:
    """Like :func:`monitor.relevance.term_pattern`, but a Latin alias also matches next to
    a Chinese character ("的232關稅", "對TSMC"), which counts as a word character there."""
    if CJK.search(alias):
        return term_pattern(alias)
    escaped = re.escape(alias).replace(r"\ ", r"\s+")
    flags = 0 if alias.upper() == alias and any(c.isalpha() for c in alias) else re.IGNORECASE
    return re.compile(rf"(?<![A-Za-z0-9.]){escaped}(?![A-Za-z0-9])", flags)


def _anchors(text: str, aliases: Iterable[str]) -> list[_Anchor]:
    found: list[_Anchor] = []
    for alias in aliases:
        found.extend(_Anchor(m.span(), alias) for m in _alias_pattern(alias).finditer(text))
    return found


def _has_any(text: str, aliases: Iterable[str]) -> str | None:
    for alias in aliases:
        if _alias_pattern(alias).search(text):
            return alias
    return None


def _nearest(
    s: Sentence,
    spans: Sequence[tuple[int, int]],
    anchors: Sequence[_Anchor],
    *,
    behind: float = 0.0,
    across: bool = True,
) -> tuple[float, _Anchor] | None:
    """The anchor nearest to any of the spans. ``behind``: extra distance for an anchor
    that follows the number in another clause (the subject of a figure comes before it:
    "TSMC's plan to put US$100 billion…, which would not weaken Taiwan's industry").
    ``across`` False: anchors beyond a strong boundary do not count."""
    best: tuple[float, _Anchor] | None = None
    for anchor in anchors:
        for span in spans:
            if not across and s.separated(span, anchor.span):
                continue
            d = s.gap(span, anchor.span)
            if (
                behind
                and anchor.span[0] >= span[1]
                and s.clause(anchor.span[0]) != s.clause(span[0])
            ):
                d += behind
            if best is None or d < best[0]:
                best = (d, anchor)
    return best


@dataclass(frozen=True, slots=True)
class _Verdict:
    item: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Context:
    """What the sentences before say: per item, a subject alias and a measure alias seen
    in the headline or the two sentences before."""

    subjects: dict[str, tuple[float, str]]  # item id → (distance, alias)
    measures: dict[str, tuple[float, str]]


# The verbs a rate stands after when it is the tariff paid: "now pay 20 percent",
# "face an extra 20 percent", "taxed at the baseline 10%".
# One line of a table of rates: "Taiwan: 20%", "- Vietnam: 20%" (the measure is the
# table's heading or the headline).
_LIST_ENTRY = re.compile(r"\s*[-•*·–]?\s*[^\W\d][^:：⟨⟩]{0,40}[:：]\s*⟨\d+⟩\s*[.;；]?\s*")
_LEVIED_BEFORE = re.compile(
    r"\b(?:face|faces|facing|faced|pay|pays|paying|paid|taxed\s+at|charged|levied\s+at|"
    r"subject\s+to|hit\s+with|capped\s+at|at\s+a\s+rate\s+of)\b(?:\s+\S+){0,3}\s*$|(?:課徵|课征|適用|适用|面臨|面临)\S{0,4}$"
    # the answer to a question about what goods pay: "What will they pay now? Fifteen percent."
    r"|\b(?:face|faces|pay|pays|paid|charged|taxed)\b[^?？⟨]{0,60}[?？]\s*$",
    re.I,
)


# "the 15% tariff already granted to Japan": a rate's own phrase ends with whom it is for.
_BOUND_AFTER = re.compile(
    r"^\W*(?:[^\s,;]+\s+){0,4}?(?:already\s+)?(?:granted|given|applied|offered|extended|"
    r"awarded|secured|won|agreed|negotiated|imposed|levied|paid)\s+(?:\S+\s+){0,2}?"
    r"(?:to|for|by|with|on)\s",
    re.I,
)


def _bound_after(s: Sentence, span: tuple[int, int], anchors: Sequence[_Anchor]) -> _Anchor | None:
    """An exclude cue that the number's phrase itself names ("…granted to Japan")."""
    hi = s.clause(span[0])[1]
    m = _BOUND_AFTER.search(s.text[span[1] : hi])
    if m is None:
        return None
    after = span[1] + m.end()
    return next(
        (a for a in anchors if after <= a.span[0] < hi and s.gap((after, after), a.span) <= 2),
        None,
    )


# "比照日本、韓國，降至15%", "in line with Japan", "與日韓相同": a cue named as the model
# the figure follows is not whose figure it is.
_LIKE_BEFORE = re.compile(
    r"(?:\b(?:like|matching|matches|match|in\s+line\s+with|on\s+par\s+with|same\s+as|"
    r"similar\s+to|as\s+did|as\s+with|joining|follows?|following)\s+(?:the\s+)?|比照|如同|等同|"
    r"看齊|看齐)$",
    re.I,
)
_LIST_GLUE = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*(?:、|和|及|與|与)\s*")
_LIKE_AFTER = re.compile(
    r"^(?:[、和與与及]\S{1,3})*(?:相同|一樣|一样|看齊|看齐|同等|拉平|並列|并列)"
)


# "20% on top of most-favoured-nation rates", "15%且不疊加原最惠國稅率": a cue named as
# what the figure is (or is not) added to is not whose figure it is.
_STACKED_BEFORE = re.compile(
    r"(?:\b(?:on\s+top\s+of|stack\w*\s+(?:on|onto|upon|with)|added\s+(?:on\s+)?to|"
    r"in\s+addition\s+to)(?:\s+(?:the|existing|original|normal|regular|their|its))*\s*|"
    r"(?:疊加|叠加|加上|外加)(?:原有|原本|既有|原)?)$",
    re.I,
)


def _compared(s: Sentence, anchor: _Anchor, anchors: Sequence[_Anchor]) -> bool:
    # walk back over a list of cues: "matching Japan and South Korea", "比照日本、韓國"
    start = anchor.span[0]
    moved = True
    while moved:
        moved = False
        for other in anchors:
            if other.span[1] <= start and _LIST_GLUE.fullmatch(s.text[other.span[1] : start]):
                start, moved = other.span[0], True
                break
    before = s.text[max(0, start - 40) : start]
    return bool(
        _LIKE_BEFORE.search(before)
        or _STACKED_BEFORE.search(before)
        or _LIKE_AFTER.search(s.text[anchor.span[1] :])
    )


# "The contract chipmaker, whose customers include Nvidia and Apple, lifted its plan to
# $165 billion": a cue in an aside about the subject is not whose figure it is.
_ASIDE = re.compile(r"^\W*(?:whose|which|who|where|including|such\s+as)\b|^\W*(?:其中|包括)", re.I)


def _aside(s: Sentence, anchor: _Anchor, spans: Sequence[tuple[int, int]]) -> bool:
    lo, hi = s.clause(anchor.span[0])
    if any(lo <= span[0] < hi for span in spans):
        return False
    return bool(_ASIDE.search(s.text[lo:hi]))


_PAIR_GLUE = re.compile(r"\s+(?:and|&)\s+|\s*(?:、|和|與|与|及)\s*", re.I)


def _with_subject(s: Sentence, anchor: _Anchor, subjects: Sequence[_Anchor]) -> bool:
    """A cue listed with the subject shares the figure with it: "Taiwan and Vietnam now
    pay the same 20%"."""
    for subject in subjects:
        first, second = sorted((subject.span, anchor.span))
        if first[1] <= second[0] and _PAIR_GLUE.fullmatch(s.text[first[1] : second[0]]):
            return True
    return False


# What may stand between a measure and the cue that qualifies it: "Section 232 tariffs",
# "tariffs on Japan", "Japan's tariff", "232條款關稅", "對日本的關稅".
_QUALIFIER_GLUE = re.compile(
    r"\s*(?:'s\s*)?(?:(?:on|for|under|of|against|from)\s+(?:the\s+)?)?|[\s的之對对]{0,2}", re.I
)


def _qualified(s: Sentence, measure: _Anchor, excludes: Sequence[_Anchor]) -> bool:
    for a in excludes:
        lo, hi = (
            (a.span[1], measure.span[0])
            if a.span[1] <= measure.span[0]
            else (
                measure.span[1],
                a.span[0],
            )
        )
        if lo <= hi and _QUALIFIER_GLUE.fullmatch(s.text[lo:hi]):
            return True
    return False


# Words that point back to the subject of the sentence before ("Its goods…").
_POINTER = re.compile(r"\b(?:its|their|it|they|the\s+island)\b|其|該國|该国|該地|该地", re.I)


def _in_clauses(s: Sentence, clauses: Sequence[tuple[int, int]], aliases: list[str]) -> bool:
    return any(_has_any(s.text[lo:hi], aliases) for lo, hi in clauses)


def _attribute(
    s: Sentence,
    slots: Sequence[int],
    tracked: Sequence[TrackedFigure],
    context: _Context,
    total: bool,
) -> _Verdict | None:
    """The tracked item these numbers (one value, or a new and an old one) belong to;
    None when no item measures this kind of number here at all."""
    unit = s.numbers[slots[0]].unit
    money = s.numbers[slots[0]].is_money
    is_change = len(slots) > 1
    spans = [s.slots[i] for i in slots]
    clauses = [s.clause(span[0]) for span in spans]
    best: tuple[float, int, str, str] | None = None
    rejected: list[str] = []
    measured = False
    for order, item in enumerate(tracked):
        if item.unit != unit:
            continue
        subject_anchors = _anchors(s.text, item.subject)
        subject = _nearest(s, spans, subject_anchors, behind=BOUNDARY_COST, across=False)
        all_excludes = _anchors(s.text, item.exclude)
        exclude_anchors = [
            a
            for a in all_excludes
            if not (
                _compared(s, a, all_excludes)
                or _aside(s, a, spans)
                or _with_subject(s, a, subject_anchors)
            )
        ]
        # "Section 232 tariffs", "232關稅", "對等關稅": a measure word that an exclude cue
        # qualifies measures the other thing.
        measures = _anchors(s.text, item.measure)
        plain = [m for m in measures if not _qualified(s, m, exclude_anchors)]
        own = [m for m in measures if any(lo <= m.span[0] < hi for lo, hi in clauses)]
        if own and not any(m in plain for m in own):
            rejected.append(f"{item.id}: measure qualified by an exclude cue")
            measured = True
            continue
        measure = _nearest(s, spans, plain, behind=BOUNDARY_COST, across=False)
        if money and measure is not None and _with_subject(s, measure[1], all_excludes):
            # "US$500 billion of investment and credit guarantees": both together.
            rejected.append(f"{item.id}: a combined amount ({measure[1].alias} and more)")
            measured = True
            continue
        excluded = _nearest(s, spans, exclude_anchors, behind=BOUNDARY_COST, across=False)
        bound = _bound_after(s, spans[0], exclude_anchors)
        if bound is not None:
            excluded = (0.0, bound)
        # Borrowed words are weak: any cue in the number's clause, or before it in the
        # sentence, rules the item out.
        weakly_excluded = any(
            any(lo <= a.span[0] < hi for lo, hi in clauses)
            or (a.span[1] <= spans[0][0] and not s.separated(a.span, spans[0]))
            for a in exclude_anchors
        )
        levied = any(
            _LEVIED_BEFORE.search(s.text[s.clause(span[0])[0] : span[0]]) for span in spans
        ) or bool(subject is not None and _LIST_ENTRY.fullmatch(s.text))
        if measure is None:
            # "will face 15%, down from 20%" after a headline about the tariff: a stated
            # change, a total an amount arrives at ("lifting the total to US$165 billion"),
            # or a rate that Taiwan's goods "pay" or "face", may take its measure from the
            # sentences before; nothing else may.
            borrowed_measure = context.measures.get(item.id)
            # "Its goods continue to be taxed at the 10% baseline rate": both words may be
            # borrowed when the sentence just before names the subject.
            near_subject = context.subjects.get(item.id, (_CONTEXT_GAP + 1, ""))[0]
            pointed = near_subject <= _CONTEXT_GAP and any(
                _POINTER.search(s.text[s.clause(span[0])[0] : span[0]]) for span in spans
            )
            if not (
                (is_change or (money and total) or (levied and (subject is not None or pointed)))
                and borrowed_measure
                and not weakly_excluded
            ):
                continue
            measure_gap, measure_word = (
                borrowed_measure[0],
                f"{borrowed_measure[1]} (earlier sentence)",
            )
            measure_in_clause = False
        else:
            measure_gap, measure_word = measure[0], measure[1].alias
            measure_in_clause = _in_clauses(s, clauses, [measure[1].alias])
        # Money is an investment only where the clause says so ("will invest US$100
        # billion"), or where it is the total the sentence arrives at.
        if money and measure is not None and not (measure_in_clause or total):
            continue
        # A total the sentence breaks down into parts the item excludes is not its figure:
        # "a combined US$500 billion: US$250 billion of investment and US$250 billion of
        # credit guarantees".
        # (The parts may come first too: "投資與提供擔保合計5000億美元".)
        parts = [
            a
            for a in all_excludes
            if a.span[0] >= spans[0][1] or any(lo <= a.span[0] < hi for lo, hi in clauses)
        ]
        if money and total and parts:
            rejected.append(f"{item.id}: a total with excluded parts ({parts[0].alias})")
            measured = True
            continue
        measured = True
        borrowed = context.subjects.get(item.id)
        borrowed_from = "earlier sentence"
        if subject is None and money:
            # "回顧台積電在美布局：2020年…；2024年…；2025年…總額達1650億美元": the subject
            # that opens a run of amounts, beyond a ";", is nearer than the sentences before.
            # (Rates keep to their clause: "日本15%；台灣20%" lists different parties.)
            earlier = _nearest(
                s, spans, [a for a in _anchors(s.text, item.subject) if a.span[1] <= spans[0][0]]
            )
            if earlier is not None and (borrowed is None or borrowed[0] >= _CONTEXT_GAP):
                borrowed = (min(earlier[0], _CONTEXT_GAP - 1), earlier[1].alias)
                borrowed_from = "earlier clause"
        if subject is not None and borrowed is not None and subject[0] > borrowed[0]:
            subject = None  # a far mention ("…, the cabinet in Taipei said") is weaker
        if subject is None:
            if (
                borrowed is None
                or weakly_excluded
                or not (measure_in_clause or is_change or levied or (money and total))
            ):
                rejected.append(f"{item.id}: no subject")
                continue
            subject_gap, subject_word = borrowed[0], f"{borrowed[1]} ({borrowed_from})"
            excluded = None  # weakly_excluded has judged the cues
        else:
            subject_gap, subject_word = subject[0], subject[1].alias
        if excluded is not None and excluded[0] < subject_gap:
            rejected.append(f"{item.id}: excluded={excluded[1].alias}")
            continue
        score = subject_gap + measure_gap
        if best is None or (score, order) < (best[0], best[1]):
            best = (score, order, item.id, f"subject={subject_word}; measure={measure_word}")
    if best is not None:
        return _Verdict(best[2], best[3])
    if not measured:
        return None
    return _Verdict(None, "unattributed: " + "; ".join(rejected))


_LISTED = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+|\s*(?:、|和|及|與|与|或)\s*", re.I)


def _topic_subject(text: str, item: TrackedFigure) -> str | None:
    """A subject alias an earlier sentence is about; one named only in a list with parties
    the item excludes ("the fabs of Taiwan, South Korea or Arizona") is not lent on."""
    excludes = _anchors(text, item.exclude)
    for subject in sorted(_anchors(text, item.subject), key=lambda a: a.span):
        listed = any(
            _LISTED.fullmatch(text[first[1] : second[0]])
            for first, second in (sorted((subject.span, e.span)) for e in excludes)
            if first[1] <= second[0]
        )
        if not listed:
            return subject.alias
    return None


def _context(tracked: Sequence[TrackedFigure], texts: Sequence[str], following: str) -> _Context:
    """``texts``: the nearest sentence first, the headline last; a word borrowed from
    farther back stands farther away. ``following``: the next sentence, which may lend a
    measure ("…will pay 20 per cent. … before agreeing on the broader tariff.")."""
    subjects: dict[str, tuple[float, str]] = {}
    measures: dict[str, tuple[float, str]] = {}
    for item in tracked:
        measure = _has_any(following, item.measure) if following else None
        if measure is not None:
            measures[item.id] = (_CONTEXT_GAP + BOUNDARY_COST, measure)
        for n, text in enumerate(texts):
            gap = _CONTEXT_GAP + BOUNDARY_COST * n
            subject = _topic_subject(text, item)
            if subject is not None and item.id not in subjects:
                subjects[item.id] = (gap, subject)
            measure = _has_any(text, item.measure)
            if measure is not None and (item.id not in measures or measures[item.id][0] > gap):
                measures[item.id] = (gap, measure)
    return _Context(subjects, measures)


# --- the reader ----------------------------------------------------------------------


def read_figures(text: str, tracked: Sequence[TrackedFigure]) -> list[Reading]:
    """Every tracked-looking figure of the text, in text order, each number attributed to
    at most one tracked item (or to none: ``item`` None)."""
    readings: list[Reading] = []
    all_sentences = split_sentences(text)
    unsure_would = bool(UNNAMED_SOURCES.search(text))
    # A story about a deal not yet made says so up front; a later "were close to a deal in
    # December" is background to a deal since made.
    # A lead that reports the deal as made is about the signed deal, whatever else it says.
    leads = all_sentences[:_LEAD_SENTENCES]
    done = any(deal_done(lead) for lead in leads)
    pending = not done and any(PENDING_DEAL.search(lead) for lead in leads)
    for no, raw in enumerate(all_sentences):
        s = template(raw)
        if not s.numbers:
            continue
        earlier = [*reversed(all_sentences[max(1, no - 2) : no]), all_sentences[0]] if no else []
        following = all_sentences[no + 1] if no + 1 < len(all_sentences) else ""
        context = _context(tracked, earlier, following)
        would_unsure = unsure_would or bool(ANALYSTS.search(raw))
        pending_here = pending or bool(not done and PENDING_DEAL.search(raw) and not deal_done(raw))
        pairs = change_pairs(s)
        olds = set(pairs.values())
        ranges = range_slots(s)
        alternatives = alternative_slots(s)
        for i, number in enumerate(s.numbers):
            if i in olds or i in ranges or is_delta(s, i):
                continue
            old = pairs.get(i)
            amount = amount_tag(s, i) if number.is_money else ""
            slots = [i] if old is None else [i, old]
            verdict = _attribute(s, slots, tracked, context, total=amount == TOTAL_TAG)
            if verdict is None:
                continue
            item, reason = verdict.item, verdict.reason + amount
            if old is None:
                status, cue = single_status(s, i, would_unsure, pending_here)
                if i in alternatives and status == CURRENT:
                    status, cue = THREAT, "one of several values"
                if cue:
                    reason += f"; {status}={cue}"
                elif status == CURRENT and item is not None and is_new_value(s, i):
                    reason += f"; {NEW_VALUE}"
                if number.value == 0 and item is not None:
                    # A zero rate stated alone is an exemption for some goods, not the rate.
                    item, reason = None, f"unattributed: a zero rate ({reason})"
                readings.append(
                    Reading(item, number.value, number.unit, status, None, no, raw, reason)
                )
                continue
            old_value = s.numbers[old].value
            reason += "; direction=from→to"
            cue = threat_cue(s, i, is_target=True, unsure_would=would_unsure, pending=pending_here)
            if cue is None:
                readings.append(
                    Reading(item, number.value, number.unit, CURRENT, old_value, no, raw, reason)
                )
                continue
            # A threatened or sought change leaves the old value in force.
            readings.append(
                Reading(
                    item,
                    old_value,
                    number.unit,
                    CURRENT,
                    None,
                    no,
                    raw,
                    reason + "; in force before the proposed change",
                )
            )
            readings.append(
                Reading(
                    item,
                    number.value,
                    number.unit,
                    THREAT,
                    old_value,
                    no,
                    raw,
                    reason + f"; threat={cue}",
                )
            )
    LOGGER.debug("read %s figures from %s sentences", len(readings), len(all_sentences))
    return readings


def current_figures(readings: Sequence[Reading]) -> dict[str, Reading]:
    """The one current value per tracked item an article states.

    A stated change ("from 20% to 15%", "falls to 15%") outranks a stated total ("a total
    of US$165 billion", "總額達1650億美元"), which outranks an exact mention, which outranks
    a rounded one ("some US$500 billion"); an amount added ("an additional US$100
    billion") counts only when the article gives no other amount for the item. Otherwise
    the first mention (headline, lead) wins; of several changes in one sentence, the last
    (a timeline ends with the latest).
    """
    out: dict[str, Reading] = {}
    by_item: dict[str, list[Reading]] = {}
    for reading in readings:
        if reading.item is not None and reading.status == CURRENT:
            by_item.setdefault(reading.item, []).append(reading)
    for item, found in by_item.items():
        changes = [
            r
            for r in found
            if (r.old_value is not None and r.old_value != r.value) or NEW_VALUE in r.reason
        ]
        totals = [r for r in found if TOTAL_TAG in r.reason]
        plain = [r for r in found if ADDITIONAL_TAG not in r.reason]
        exact = [r for r in plain if APPROXIMATE_TAG not in r.reason]
        if changes:
            # Changes within one sentence run in time order: "加碼到650億美元；…擴大為1650億美元".
            first = changes[0].sentence_no
            out[item] = [r for r in changes if r.sentence_no == first][-1]
            continue
        out[item] = (totals or exact or plain or found)[0]
    return out
