"""Tracked figures: which number in an article is the US tariff on Taiwan, which is TSMC's
US investment, and whether it is the figure in force, a threat or what it used to be.

A sentence is read in four steps:

1. Numbers (:mod:`monitor.detect.numbers`): percentages, percentage points and money,
   money normalized to billions of one currency.
2. Changes: "from 20% to 15%", "to 15%, from 20%", "15%, down from 20%", "由20%調降為15%",
   "从20%下调至15%" pair an old value with a new one; "cut by 5 points", "a 5% cut" are the
   size of a change and no figure at all.
3. Status: a threat or proposal ("threatens", "could", "proposed", "揚言", "可能", "擬")
   in the number's clause makes it a ``threat``; a threatened change "from 20% to 100%"
   still states the 20% in force. "previous", "原本" make an ``old`` value.
4. Attribution, driven by config (``watch.tracked``): a number goes to the item with its
   unit whose ``measure`` stands in the sentence and whose ``subject`` is nearest to it,
   unless one of the item's ``exclude`` cues (Section 232, Japan, "on U.S. goods") is
   nearer still. Distance counts words (a Chinese character is half a word) and each
   clause boundary between costs as much as eight words, so a rate far from "tariff" in a
   sentence about it is still read, while a rate in a clause about Japan is not Taiwan's.
   A sentence that names no subject borrows one from the headline or the sentence before,
   when the number's own clause holds the measure and nothing the item excludes.

Numbers that look like a tracked measure but belong to no item are kept with ``item``
None (unattributed): stored, never alerted. Only language structure is written here
(change patterns, cue words, number grammar); what is tracked comes from config.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from monitor.config import TrackedFigure
from monitor.detect.numbers import PERCENT, POINTS, Number, numbers_in
from monitor.relevance import term_pattern
from monitor.text import normalize_text, sentences

LOGGER = logging.getLogger(__name__)

CURRENT = "current"
THREAT = "threat"
OLD = "old"


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


# --- sentences -------------------------------------------------------------------------

# text.sentences splits after any full stop before a capital; "the U.S. Commerce
# Department" is one sentence, so pieces ending in these abbreviations are joined again.
_ABBREVIATION_END = re.compile(
    r"(?:\b(?:U\.S|U\.K|U\.N|Mr|Ms|Mrs|Dr|St|Inc|Corp|Co|Ltd|No|Gov|Sen|Rep|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|vs|approx)\.|\b[A-Z]\.)$"
)


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in sentences(normalize_text(text)):
        if out and _ABBREVIATION_END.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


# --- the templated sentence --------------------------------------------------------------

# Each number is replaced by ⟨i⟩ so that change patterns and cue windows read the
# sentence's words around numbers of any notation alike.
_SLOT = re.compile(r"⟨(\d+)⟩")
_TOKEN = r"[^\s⟨⟩]+"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['.][A-Za-z0-9]+)*|⟨\d+⟩")
# Clause boundaries: punctuation, and words that start another clause.
_BOUNDARY = re.compile(
    r"[,;:，；：、()（）\[\]「」『』]|\s-\s|\b(?:while|whereas|but|although|though|however|"
    r"meanwhile|compared\s+with|compared\s+to|which|who|plus|as\s+well\s+as|along\s+with|"
    r"in\s+addition\s+to|on\s+top\s+of)\b|而且|而|但是|但|不過|不过|並且|并且|相較|相较|至於|至于|"
    r"以及|另外|另",
    re.I,
)
_STRONG_BOUNDARY = re.compile(
    r"[;；]|,\s+(?:and|but|while|whereas)\b|\b(?:while|whereas|but|although|though|however|"
    r"meanwhile)\b|而且|而|但是|但|不過|不过|相較|相较|至於|至于",
    re.I,
)
_BOUNDARY_COST = 8.0
# A subject borrowed from the headline or the sentence before stands this far away.
_CONTEXT_GAP = 40.0


@dataclass(frozen=True, slots=True)
class _Sentence:
    raw: str
    text: str  # templated: numbers replaced by ⟨i⟩
    numbers: tuple[Number, ...]
    slots: tuple[tuple[int, int], ...]  # span of ⟨i⟩ in text
    boundaries: tuple[int, ...]  # positions of clause boundaries in text
    strong: tuple[int, ...]
    cjk: bool

    def clause(self, pos: int, strong: bool = False) -> tuple[int, int]:
        marks = self.strong if strong else self.boundaries
        i = bisect.bisect_right(marks, pos)
        start = marks[i - 1] if i else 0
        end = marks[i] if i < len(marks) else len(self.text)
        return start, end

    def gap(self, a: tuple[int, int], b: tuple[int, int]) -> float:
        """Words between two spans (a CJK character counts half), plus clause boundaries."""
        if a[1] <= b[0]:
            lo, hi = a[1], b[0]
        elif b[1] <= a[0]:
            lo, hi = b[1], a[0]
        else:
            return 0.0
        between = self.text[lo:hi]
        words = len(_LATIN_WORD.findall(between)) + 0.5 * len(_CJK.findall(between))
        crossed = bisect.bisect_left(self.boundaries, hi) - bisect.bisect_left(self.boundaries, lo)
        return words + _BOUNDARY_COST * crossed

    def separated(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """True when a strong boundary (";", "while", "but", "而") stands between."""
        lo, hi = (a[1], b[0]) if a[1] <= b[0] else (b[1], a[0])
        return lo < hi and bisect.bisect_left(self.strong, hi) > bisect.bisect_left(self.strong, lo)


def _template(raw: str) -> _Sentence:
    numbers = tuple(numbers_in(raw))
    parts: list[str] = []
    slots: list[tuple[int, int]] = []
    at = 0
    length = 0
    for i, number in enumerate(numbers):
        parts.append(raw[at : number.start])
        length += number.start - at
        slot = f"⟨{i}⟩"
        slots.append((length, length + len(slot)))
        parts.append(slot)
        length += len(slot)
        at = number.end
    parts.append(raw[at:])
    text = "".join(parts)
    boundaries = tuple(m.start() for m in _BOUNDARY.finditer(text))
    strong = tuple(m.start() for m in _STRONG_BOUNDARY.finditer(text))
    cjk = len(_CJK.findall(raw)) > 0.3 * max(1, len(raw.replace(" ", "")))
    return _Sentence(raw, text, numbers, tuple(slots), boundaries, strong, cjk)


# --- changes: old → new ----------------------------------------------------------------

_W = rf"(?:{_TOKEN}\s+)"
_CHANGE_VERB_EN = (
    r"(?:cut|cuts|cutting|lower|lowers|lowered|lowering|reduce|reduces|reduced|reducing|"
    r"slash|slashes|slashed|trim|trims|trimmed|raise|raises|raised|raising|increase|"
    r"increases|increased|hike|hikes|hiked|lift|lifts|lifted|drop|drops|dropped|fall|falls|"
    r"fell|ease|eased|bring|brought|set|revised|adjusted|change|changed|rise|rises|rose|"
    r"climb|climbed|jump|jumped|boost|boosted|expand|expanded|go|goes|went|come|came)"
)
_CHANGE_VERB_ZH = (
    r"(?:調降|调降|下調|下调|降低|降|調升|调升|上調|上调|提高|提升|調整|调整|減|减|砍|下修|改|"
    r"調|调|升|增|增加)"
)
# (pattern, is the first slot the old value?)
_PAIRS: tuple[tuple[re.Pattern[str], bool], ...] = (
    # from the current 20% rate to 15% / from a 20 per cent 'reciprocal' rate to 15 per cent
    (
        re.compile(
            rf"\bfrom\s+{_W}{{0,5}}?⟨(\d+)⟩[^\s⟨⟩]*(?:\s+{_TOKEN}){{0,6}}?\s*,?\s*"
            rf"(?:to|into|down\s+to|up\s+to)\s+{_W}{{0,4}}?⟨(\d+)⟩",
            re.I,
        ),
        True,
    ),
    # to 15%, from 20% / to 15 percent from 20 percent / at 15%, down from 20%
    (
        re.compile(
            rf"\b(?:to|at|of)\s+{_W}{{0,4}}?⟨(\d+)⟩[^⟨.]{{0,60}}?"
            rf"\b(?:down\s+|up\s+|lowered\s+|reduced\s+|cut\s+)?from\s+{_W}{{0,5}}?⟨(\d+)⟩",
            re.I,
        ),
        False,
    ),
    # will face 15%, down from 20% / 15%, lower than the previous 20%
    (
        re.compile(
            rf"⟨(\d+)⟩[^⟨.]{{0,40}}?\b(?:down|up|lowered|reduced|cut|falling|rising)\s+from\s+"
            rf"{_W}{{0,5}}?⟨(\d+)⟩",
            re.I,
        ),
        False,
    ),
    # the 20% tariff will be lowered to 15% / a 20% rate, which was cut to 15%
    (
        re.compile(
            rf"⟨(\d+)⟩[^\s⟨⟩,;]*(?:\s+[^\s⟨⟩,;]+){{0,10}}?\s+{_CHANGE_VERB_EN}\s+{_W}{{0,3}}?to\s+"
            rf"{_W}{{0,3}}?⟨(\d+)⟩",
            re.I,
        ),
        True,
    ),
    # seeks to cut the 20% tariff to 15%
    (
        re.compile(
            rf"\b{_CHANGE_VERB_EN}\s+{_W}{{0,3}}?⟨(\d+)⟩[^\s⟨⟩]*(?:\s+{_TOKEN}){{0,4}}?\s+to\s+"
            rf"{_W}{{0,2}}?⟨(\d+)⟩",
            re.I,
        ),
        True,
    ),
    # 20% → 15%
    (re.compile(r"⟨(\d+)⟩\s*(?:→|->|=>|➝)\s*⟨(\d+)⟩"), True),
    # 由現行的20%調降為15% / 從20%降至15% / 从20%下调至15%
    (
        re.compile(
            r"(?:由|從|从|自)[^⟨，,。；]{0,12}?⟨(\d+)⟩[^⟨。；]{0,14}?"
            r"(?:為|为|至|到|成|降到|降至)[^⟨，,。；]{0,6}?⟨(\d+)⟩"
        ),
        True,
    ),
    # 20%的關稅調降至15%
    (
        re.compile(
            rf"⟨(\d+)⟩[^⟨，,。；]{{0,10}}?{_CHANGE_VERB_ZH}(?:為|为|至|到|成)[^⟨，,。；]{{0,4}}?⟨(\d+)⟩"
        ),
        True,
    ),
)
# "cut by 5%", "a 5% cut", "5% lower": the size of a change, not a rate.
_DELTA_BEFORE = re.compile(
    r"(?:\bby|\b(?:grew|grow|grows|growing|rose|rise|rises|rising|jumped|jumps|climbed|fell|"
    r"falls|dropped|declined|slid|surged|soared|gained|increased|decreased|expanded|"
    r"contracted|shrank|up|down)|成長|成长|增長|增长|上漲|上涨|下跌|衰退|減少|减少|年增|年減|年减)"
    r"\s*(?:about\s+|around\s+|some\s+|nearly\s+|almost\s+|約|约)?$",
    re.I,
)
_DELTA_AFTER = re.compile(
    r"^[\s-]*(?:(?:tariff|tax|duty|rate)\s+)?(?:cut|cuts|reduction|reductions|decrease|"
    r"increase|increases|hike|hikes|drop|discount|lower|higher|less|more|gain|rise|fall|"
    r"jump|slide|decline)\b",
    re.I,
)


def _pairs(s: _Sentence) -> dict[int, int]:
    """new slot → old slot for every change the sentence states."""
    found: dict[int, int] = {}
    used: set[int] = set()
    # "從20%調降5個百分點至15%": the size of the cut stands between the two values.
    text = s.text
    for i, (lo, hi) in enumerate(s.slots):
        if _is_delta(s, i):
            text = text[:lo] + "△" * (hi - lo) + text[hi:]
    ranges = _ranges(s)
    for pattern, old_first in _PAIRS:
        for m in pattern.finditer(text):
            first, second = int(m.group(1)), int(m.group(2))
            old, new = (first, second) if old_first else (second, first)
            if {old, new} & (used | ranges) or s.numbers[old].unit != s.numbers[new].unit:
                continue
            if s.numbers[new].unit == POINTS:
                continue
            found[new] = old
            used.update((old, new))
    return found


# "between 0% and 6%", "0%至6%之間": a range, no single rate.
_RANGE = re.compile(
    r"\bbetween\s+⟨(\d+)⟩\s+and\s+⟨(\d+)⟩|⟨(\d+)⟩\s*(?:至|到|-|–|~|～)\s*⟨(\d+)⟩\s*(?:之間|之间|間|间)",
    re.I,
)
# "23% of its exports", "23%的商品", "比重": a share of something, not a rate.
_SHARE_AFTER = re.compile(
    r"^\s*(?:of\b|share\b|stake\b|的(?:商品|產品|产品|出口|進口|进口|比重|份額|份额|市占)|"
    r"(?:商品|產品|产品)?(?:被|实际被|實際被))",
    re.I,
)
_SHARE_CLAUSE = re.compile(
    r"\b(?:share|proportion|percent\s+of|stake|market\s+share)\b|比重|比例|佔|占|市占|份額|份额",
    re.I,
)


# "25%, 50% or even 100%", "15%或20%": alternatives, none of them a rate in force.
_ALTERNATIVES = re.compile(
    r"⟨(\d+)⟩(?:\s*,\s*⟨\d+⟩)*\s*,?\s*(?:or|or\s+even|or\s+perhaps|或|或是|甚至)\s*⟨(\d+)⟩", re.I
)


def _ranges(s: _Sentence) -> set[int]:
    found: set[int] = set()
    for m in _RANGE.finditer(s.text):
        found.update(int(g) for g in m.groups() if g is not None)
    return found


def _alternatives(s: _Sentence) -> set[int]:
    found: set[int] = set()
    for m in _ALTERNATIVES.finditer(s.text):
        found.update(int(g) for g in _SLOT.findall(m.group(0)))
    return found


def _is_delta(s: _Sentence, i: int) -> bool:
    """True for a number that is no rate or amount of anything tracked: the size of a
    change ("cut by 5 points", "a 5% cut") or a share ("23% of its exports")."""
    number = s.numbers[i]
    if number.unit == POINTS:
        return True
    if number.unit != PERCENT:
        return False
    start, end = s.slots[i]
    lo, hi = s.clause(start)
    return bool(
        _DELTA_BEFORE.search(s.text[:start])
        or _DELTA_AFTER.search(s.text[end:])
        or _SHARE_AFTER.search(s.text[end:])
        or _SHARE_CLAUSE.search(s.text[lo:hi])
    )


# --- status --------------------------------------------------------------------------

# "weighing tariffs", not "weighed down by the tariff".
_CONSIDERING = r"consider(?:s|ing)?|weigh(?:s|ing)?(?!\s+(?:down|on))|mull(?:s|ing|ed)?"
_THREAT_EN = re.compile(
    rf"\b(?:threat\w*|could|may|might|propos\w*|warn\w*|{_CONSIDERING}|offer(?:s|ed|ing)?\s+to|"
    r"floated|float|floats|potential|potentially|possible|possibly|unless|if|"
    r"up\s+to|as\s+high\s+as|as\s+much\s+as|or\s+more|or\s+higher|"
    r"being\s+discussed|under\s+discussion|on\s+the\s+table)\b",
    re.I,
)
# Intentions count only before the number ("Trump plans a 100% tariff"); after it they
# usually describe a rate already announced ("the 32% tariff Washington plans to impose").
_INTENT_EN = re.compile(
    r"\b(?:expected|expects|plans?|planning\s+to|intends?\s+to|vow\w*|suggest\w*|envisag\w*|"
    r"draft)\b",
    re.I,
)
_THREAT_ZH = re.compile(
    r"揚言|扬言|可能|擬|拟|威脅|威胁|考慮|考虑|恐將|恐将|恐|若|如果|倘若|研擬|研拟|警告|或將|或将|"
    r"有望|預計|预计|提議|提议|最高|上看|高達|高达|計畫對|计划对|打算|構想|构想|設想|设想"
)
# Pledges are how investment is reported ("plans to invest", "擬投資"): for money only
# a threat or a condition makes a figure less than stated.
_THREAT_MONEY_EN = re.compile(
    rf"\b(?:threat\w*|could|may|might|propos\w*|{_CONSIDERING}|unless|if|offer(?:s|ed|ing)?\s+to|"
    r"would\s+(?:require|need|take)|requires?|needs?\s+to|"
    r"being\s+discussed|under\s+discussion)\b",
    re.I,
)
_THREAT_MONEY_ZH = re.compile(r"揚言|扬言|可能|威脅|威胁|考慮|考虑|若|如果|倘若|或將|或将")
# A sentence-opening clause that makes the rest of the sentence conditional or proposed:
# "Under the terms being discussed, Washington would…", "If talks fail, …".
_OPENING_CONDITION = re.compile(
    r"^\s*(?:under|if|unless|should|once|pending|until|according\s+to\s+(?:a|the)\s+draft)\b",
    re.I,
)
# "would" is a proposal in a story sourced to unnamed people (the deal is not public yet)
# and an agreed term in a story about the signed deal.
_UNNAMED_SOURCES = re.compile(
    r"\bpeople\s+(?:familiar|briefed|with\s+knowledge)|\bthe\s+people\s+said|"
    r"\bsources?\s+(?:said|say|familiar)|according\s+to\s+(?:people|sources|officials\s+who)|"
    r"知情人士|消息人士|據悉|据悉|據了解|据了解|傳出|传出",
    re.I,
)
# A rate in force is an exact legal number; "about 100%", "大約100%" is an announced
# intention or an estimate.
_APPROXIMATE = re.compile(
    r"(?:\b(?:about|around|roughly|approximately|some|nearly|almost)\s+|"
    r"(?:大約|大约|約|约|近|逾)[「」\"']?)$",
    re.I,
)
_WOULD = re.compile(r"\bwould\b|將會|将会", re.I)
# Aims and asks are about the value sought, not the one in force: "seeks to lower the
# tariff to 15%" makes 15% a proposal, while "hopes its 20% tariff…" leaves 20% alone.
_TARGET_EN = re.compile(
    r"\b(?:seek\w*|sought|hope\w*|aim\w*|push\w*|lobby\w*|bid|wants?|wanted|"
    r"demand\w*|ask\w*|request\w*|urg\w*|press\w*|goal|target\w*|strive\w*|try|tries|trying)\b",
    re.I,
)
_TARGET_ZH = re.compile(
    r"爭取|争取|希望|盼|力拚|力拼|目標|目标|要求|尋求|寻求|力求|要讓|要让|可以讓|可以让"
)
_TARGET_SLOT_BEFORE = re.compile(
    r"(?:\b(?:to|at|below|under)\s+(?:\S+\s+){0,2}|(?:至|到|為|为|以下|降至|降到)\S{0,3})$", re.I
)
_OLD_BEFORE = re.compile(
    r"(?:\b(?P<cue>previous|previously|earlier|former|formerly|original|originally|prior|initial|"
    r"initially|had\s+been|had\s+faced|had\s+\w+ed|used\s+to\s+be|was\s+previously|"
    r"on\s+top\s+of|in\s+addition\s+to|besides|last\s+year's|old)\b(?:\s+\S+){0,3}\s*|"
    r"(?P<cue_zh>原本|原先|先前|此前|之前|原有|原來|原来|舊|旧|原訂|原订|過去|过去|原)[^⟨，,。]{0,6})$",
    re.I,
)
_OLD_FROM = re.compile(
    r"(?:\b(?P<cue>(?:down|up)\s+from)\s+(?:\S+\s+){0,3}|"
    r"\b(?P<cue_zh>from)\s+(?:(?:the|a|an|its|their|current|previous|earlier|prior|old)\s+){0,3})$",
    re.I,
)
# "compared with 20% previously", "versus 20% before the agreement"
_OLD_AFTER = re.compile(
    r"^\s*(?P<cue>previously|before\b(?!\s+(?:it|they|the\s+\w+\s+(?:takes?|goes?)))|earlier|"
    r"prior|a\s+year\s+(?:ago|earlier)|last\s+year)\b",
    re.I,
)
# A sentence that opens with "Earlier," or "此前，" tells what used to be.
_OLD_OPENING = re.compile(
    r"^\s*(?P<cue>earlier|previously|formerly|originally|at\s+first|此前|先前|之前|原本|原先|過去|"
    r"过去|早先|當時|当时)\s*$",
    re.I,
)
_CURRENT_BEFORE = re.compile(
    r"(?:\b(?:current|currently|existing|now|present|prevailing)\b(?:\s+\S+){0,3}\s*|"
    r"(?:現行|现行|目前|現在|现在|當前|当前)[^⟨，,。]{0,6})$",
    re.I,
)


def _threat_cue(s: _Sentence, i: int, is_target: bool, unsure_would: bool) -> str | None:
    start = s.slots[i][0]
    own_lo, hi = s.clause(start)
    lo = own_lo
    if s.cjk and lo:
        # Chinese runs a clause on with a comma: "川普揚言，將對晶片課徵100%關稅".
        lo = s.clause(lo - 1)[0]
    scopes = [s.text[lo:hi]]
    first_end = s.clause(0)[1]
    if first_end < own_lo and _OPENING_CONDITION.search(s.text[:first_end]):
        scopes.append(s.text[:first_end])
    money = s.numbers[i].is_money
    for scope in scopes:
        if money:
            m = _THREAT_MONEY_EN.search(scope) or _THREAT_MONEY_ZH.search(scope)
        else:
            m = _THREAT_EN.search(scope) or _THREAT_ZH.search(scope)
            m = m or _INTENT_EN.search(s.text[lo:start] if scope is scopes[0] else scope)
        if m is None and unsure_would:
            m = _WOULD.search(scope)
        if m:
            return m.group(0)
    before = s.text[own_lo:start]
    if not money:
        approx = _APPROXIMATE.search(before)
        if approx:
            return approx.group(0).strip()
    if is_target or money or _TARGET_SLOT_BEFORE.search(before):
        t = _TARGET_EN.search(before) or _TARGET_ZH.search(before)
        if t:
            return t.group(0)
    return None


def _single_status(s: _Sentence, i: int, unsure_would: bool) -> tuple[str, str | None]:
    start = s.slots[i][0]
    lo = s.clause(start)[0]
    before = s.text[lo:start]
    cue = _threat_cue(s, i, is_target=False, unsure_would=unsure_would)
    if cue:
        return THREAT, cue
    if _CURRENT_BEFORE.search(before):
        return CURRENT, None
    old = (
        _OLD_BEFORE.search(before)
        or _OLD_FROM.search(before)
        or _OLD_AFTER.search(s.text[s.slots[i][1] :])
    )
    first_end = s.clause(0)[1]
    if old is None and first_end <= lo:
        old = _OLD_OPENING.search(s.text[:first_end])
    if old:
        cue = old.groupdict().get("cue") or old.groupdict().get("cue_zh") or old.group(0)
        return OLD, " ".join(cue.split())
    return CURRENT, None


# An amount added ("an additional US$100 billion") and the total it makes ("bringing the
# total to US$165 billion"): the total is the figure, the addition only when alone.
_ADDITION_BEFORE = re.compile(
    r"(?:\b(?:additional|another|more(?!\s+than)|extra|further|fresh|new)\b(?:\s+\S+){0,2}\s*|"
    r"\bby\s+|"
    r"(?:新增|增加|追加|加碼|加码|再|額外|额外)[^⟨，,。]{0,6})$",
    re.I,
)
_ADDITION_AFTER = re.compile(r"^\s*(?:more|extra|in\s+additional|in\s+new)\b", re.I)
_TOTAL_BEFORE = re.compile(
    r"(?:\b(?:total|totals|totaling|totalling|total\s+of|in\s+all|altogether|overall|"
    r"cumulative|tally|bringing|brings|brought|raising|lifting|takes|taking)\b"
    r"(?:\s+\S+){0,8}\s*|"
    r"(?:總額|总额|總計|总计|合計|合计|累計|累计|總投資|总投资|達|达|共)[^⟨，,。]{0,8})$",
    re.I,
)


_TOTAL = "; amount=total"
_ADDITIONAL = "; amount=additional"


def _amount_tag(s: _Sentence, i: int) -> str:
    start, end = s.slots[i]
    before = s.text[s.clause(start)[0] : start]
    if _TOTAL_BEFORE.search(before):
        return _TOTAL
    if _ADDITION_BEFORE.search(before) or _ADDITION_AFTER.search(s.text[end:]):
        return _ADDITIONAL
    return ""


# --- attribution ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Anchor:
    span: tuple[int, int]
    alias: str


@lru_cache(maxsize=4096)
def _alias_pattern(alias: str) -> re.Pattern[str]:
    """Like :func:`monitor.relevance.term_pattern`, but a Latin alias also matches next to
    a Chinese character ("的232關稅", "對TSMC"), which counts as a word character there."""
    if _CJK.search(alias):
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
    s: _Sentence,
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
_LEVIED_BEFORE = re.compile(
    r"\b(?:face|faces|facing|faced|pay|pays|paying|paid|taxed\s+at|charged|levied\s+at|"
    r"subject\s+to|hit\s+with|capped\s+at|at\s+a\s+rate\s+of)\b(?:\s+\S+){0,3}\s*$|(?:課徵|课征|適用|适用|面臨|面临)\S{0,4}$",
    re.I,
)


# "the 15% tariff already granted to Japan": a rate's own phrase ends with whom it is for.
_BOUND_AFTER = re.compile(
    r"^\W*(?:[^\s,;]+\s+){0,4}?(?:already\s+)?(?:granted|given|applied|offered|extended|"
    r"awarded|secured|won|agreed|negotiated|imposed|levied|paid)\s+(?:\S+\s+){0,2}?"
    r"(?:to|for|by|with|on)\s",
    re.I,
)


def _bound_after(s: _Sentence, span: tuple[int, int], anchors: Sequence[_Anchor]) -> _Anchor | None:
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


# Words that point back to the subject of the sentence before ("Its goods…").
_POINTER = re.compile(r"\b(?:its|their|it|they|the\s+island)\b|其|該國|该国|該地|该地", re.I)


def _in_clauses(s: _Sentence, clauses: Sequence[tuple[int, int]], aliases: list[str]) -> bool:
    return any(_has_any(s.text[lo:hi], aliases) for lo, hi in clauses)


def _attribute(
    s: _Sentence,
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
        measure = _nearest(
            s, spans, _anchors(s.text, item.measure), behind=_BOUNDARY_COST, across=False
        )
        subject = _nearest(
            s, spans, _anchors(s.text, item.subject), behind=_BOUNDARY_COST, across=False
        )
        exclude_anchors = _anchors(s.text, item.exclude)
        excluded = _nearest(s, spans, exclude_anchors, behind=_BOUNDARY_COST, across=False)
        bound = _bound_after(s, spans[0], exclude_anchors)
        if bound is not None:
            excluded = (0.0, bound)
        # Borrowed words are weak: any cue in the number's clause, or before it in the
        # sentence, rules the item out.
        weakly_excluded = _in_clauses(s, clauses, item.exclude) or any(
            a.span[1] <= spans[0][0] and not s.separated(a.span, spans[0]) for a in exclude_anchors
        )
        levied = any(
            _LEVIED_BEFORE.search(s.text[s.clause(span[0])[0] : span[0]]) for span in spans
        )
        if measure is None:
            # "will face 15%, down from 20%" after a headline about the tariff: a stated
            # change, or a rate that Taiwan's goods "pay" or "face", may take its measure
            # from the sentences before; nothing else may.
            borrowed_measure = context.measures.get(item.id)
            # "Its goods continue to be taxed at the 10% baseline rate": both words may be
            # borrowed when the sentence just before names the subject.
            near_subject = context.subjects.get(item.id, (_CONTEXT_GAP + 1, ""))[0]
            pointed = near_subject <= _CONTEXT_GAP and any(
                _POINTER.search(s.text[s.clause(span[0])[0] : span[0]]) for span in spans
            )
            if not (
                (is_change or (levied and (subject is not None or pointed)))
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
        measured = True
        borrowed = context.subjects.get(item.id)
        if subject is not None and borrowed is not None and subject[0] > borrowed[0]:
            subject = None  # a far mention ("…, the cabinet in Taipei said") is weaker
        if subject is None:
            if (
                borrowed is None
                or weakly_excluded
                or not (measure_in_clause or is_change or levied)
            ):
                rejected.append(f"{item.id}: no subject")
                continue
            subject_gap, subject_word = borrowed[0], f"{borrowed[1]} (earlier sentence)"
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


def _context(tracked: Sequence[TrackedFigure], texts: Sequence[str], following: str) -> _Context:
    """``texts``: the nearest sentence first, the headline last; a word borrowed from
    farther back stands farther away. ``following``: the next sentence, which may lend a
    measure ("…will pay 20 per cent. … before agreeing on the broader tariff.")."""
    subjects: dict[str, tuple[float, str]] = {}
    measures: dict[str, tuple[float, str]] = {}
    for item in tracked:
        measure = _has_any(following, item.measure) if following else None
        if measure is not None:
            measures[item.id] = (_CONTEXT_GAP + _BOUNDARY_COST, measure)
        for n, text in enumerate(texts):
            gap = _CONTEXT_GAP + _BOUNDARY_COST * n
            subject = _has_any(text, item.subject)
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
    all_sentences = _sentences(text)
    unsure_would = bool(_UNNAMED_SOURCES.search(text))
    for no, raw in enumerate(all_sentences):
        s = _template(raw)
        if not s.numbers:
            continue
        earlier = [*reversed(all_sentences[max(1, no - 2) : no]), all_sentences[0]] if no else []
        following = all_sentences[no + 1] if no + 1 < len(all_sentences) else ""
        context = _context(tracked, earlier, following)
        pairs = _pairs(s)
        olds = set(pairs.values())
        ranges = _ranges(s)
        alternatives = _alternatives(s)
        for i, number in enumerate(s.numbers):
            if i in olds or i in ranges or _is_delta(s, i):
                continue
            old = pairs.get(i)
            amount = _amount_tag(s, i) if number.is_money else ""
            slots = [i] if old is None else [i, old]
            verdict = _attribute(s, slots, tracked, context, total=amount == _TOTAL)
            if verdict is None:
                continue
            item, reason = verdict.item, verdict.reason + amount
            if old is None:
                status, cue = _single_status(s, i, unsure_would)
                if i in alternatives and status == CURRENT:
                    status, cue = THREAT, "one of several values"
                if cue:
                    reason += f"; {status}={cue}"
                if number.value == 0 and item is not None:
                    # A zero rate stated alone is an exemption for some goods, not the rate.
                    item, reason = None, f"unattributed: a zero rate ({reason})"
                readings.append(
                    Reading(item, number.value, number.unit, status, None, no, raw, reason)
                )
                continue
            old_value = s.numbers[old].value
            reason += "; direction=from→to"
            cue = _threat_cue(s, i, is_target=True, unsure_would=unsure_would)
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

    A stated change ("from 20% to 15%") outranks a plain mention, and an amount added ("an
    additional US$100 billion") counts only when the article gives no other amount for
    the item ("bringing its total to US$165 billion"); otherwise the first mention
    (headline, lead) wins.
    """
    out: dict[str, Reading] = {}
    by_item: dict[str, list[Reading]] = {}
    for reading in readings:
        if reading.item is not None and reading.status == CURRENT:
            by_item.setdefault(reading.item, []).append(reading)
    for item, found in by_item.items():
        changes = [r for r in found if r.old_value is not None and r.old_value != r.value]
        plain = [r for r in found if _ADDITIONAL not in r.reason]
        out[item] = (changes or plain or found)[0]
    return out
