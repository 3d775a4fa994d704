"""Sentence structure for the figure reader: sentences, clauses, stated changes and the
status words around a number, in English and Chinese.

Only language is written here: how a change is phrased ("from 20% to 15%", "to 15%, from
20%", "由20%調降為15%"), what makes a number the size of a change, a share or a range rather
than a rate, which words make a figure a threat ("could", "揚言"), an old value
("previously", "此前") or an amount added ("an additional US$100 billion"). What a number
measures is decided in :mod:`monitor.detect.figures`, from config.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from monitor.detect.numbers import PERCENT, POINTS, Number, numbers_in
from monitor.text import normalize_text, sentences

CURRENT = "current"
THREAT = "threat"
OLD = "old"

# --- sentences -------------------------------------------------------------------------

# text.sentences splits after any full stop before a capital; "the U.S. Commerce
# Department" is one sentence, so pieces ending in these abbreviations are joined again.
_ABBREVIATION_END = re.compile(
    r"(?:\b(?:U\.S|U\.K|U\.N|Mr|Ms|Mrs|Dr|St|Inc|Corp|Co|Ltd|No|Gov|Sen|Rep|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|vs|approx)\.|\b[A-Z]\.)$"
)


# An explainer's question and its short answer are one statement: "What will Taiwanese
# exports pay now? Fifteen percent." / "稅率多少？15%。"
_QUESTION_END = re.compile(r"[?？]\s*$")
_SHORT_ANSWER_WORDS = 5
_SHORT_ANSWER_CJK = 12


def _short_answer(piece: str) -> bool:
    latin = len(re.findall(r"[A-Za-z0-9]+", piece))
    return latin <= _SHORT_ANSWER_WORDS and len(CJK.findall(piece)) <= _SHORT_ANSWER_CJK


def split_sentences(text: str) -> list[str]:
    """The text's sentences (``Reading.sentence_no`` counts these), headline first."""
    out: list[str] = []
    for piece in sentences(normalize_text(text)):
        if out and (
            _ABBREVIATION_END.search(out[-1])
            or (_QUESTION_END.search(out[-1]) and _short_answer(piece))
        ):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


# --- the templated sentence --------------------------------------------------------------

# Each number is replaced by ⟨i⟩ so that change patterns and cue windows read the
# sentence's words around numbers of any notation alike.
_SLOT = re.compile(r"⟨(\d+)⟩")
_TOKEN = r"[^\s⟨⟩]+"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['.][A-Za-z0-9]+)*|⟨\d+⟩")
# Clause boundaries: punctuation, and words that start another clause.
_BOUNDARY = re.compile(
    r"[,;:，；：、()（）\[\]]|\s-\s|\b(?:while|whereas|but|although|though|however|"
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
BOUNDARY_COST = 8.0


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence with its numbers replaced by ⟨i⟩ slots and its clause boundaries."""

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
        words = len(_LATIN_WORD.findall(between)) + 0.5 * len(CJK.findall(between))
        crossed = bisect.bisect_left(self.boundaries, hi) - bisect.bisect_left(self.boundaries, lo)
        return words + BOUNDARY_COST * crossed

    def separated(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """True when a strong boundary (";", "while", "but", "而") stands between."""
        lo, hi = (a[1], b[0]) if a[1] <= b[0] else (b[1], a[0])
        return lo < hi and bisect.bisect_left(self.strong, hi) > bisect.bisect_left(self.strong, lo)


def template(raw: str) -> Sentence:
    """Read the numbers of a sentence and mark its clauses."""
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
    cjk = len(CJK.findall(raw)) > 0.3 * max(1, len(raw.replace(" ", "")))
    return Sentence(raw, text, numbers, tuple(slots), boundaries, strong, cjk)


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
    # a 32% tariff, later reduced to 20% / a 32% tariff in April, which was cut to 20%
    (
        re.compile(
            rf"⟨(\d+)⟩[^⟨.;,]{{0,40}},\s*(?:later|then|subsequently|since|before\s+being|"
            rf"(?:which|that)\s+(?:was|were|has\s+been|had\s+been|is|will\s+be)(?:\s+later)?)\s+"
            rf"{_CHANGE_VERB_EN}\s+{_W}{{0,2}}?to\s+{_W}{{0,2}}?⟨(\d+)⟩",
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
    # 20%的關稅調降至15% / 課徵32%對等關稅，後調降為20%
    (
        re.compile(
            rf"⟨(\d+)⟩(?:[^⟨，,。；]{{0,10}}?|[^⟨，,。；]{{0,8}}[，,]\s*(?:後|后|再|隨後|随后|之後|之后|"
            rf"其後|其后|稍後|稍后|最終|最终|隨即|随即)[^⟨，,。；]{{0,4}}?){_CHANGE_VERB_ZH}"
            rf"(?:為|为|至|到|成)[^⟨，,。；]{{0,4}}?⟨(\d+)⟩"
        ),
        True,
    ),
)
# "cut by 5%", "a 5% cut", "5% lower": the size of a change, not a rate.
_DELTA_BEFORE = re.compile(
    r"(?:\bby|\b(?:(?:grow|rise|jump|climb|fall|drop|decline|slide|surge|soar|gain|increase|"
    r"decrease|expand|contract|shrink|plunge|plummet|tumble|slump|spike|rebound|advance|"
    r"retreat|dip|slip|rally)(?:s|d|ed|ing)?|grew|grown|rose|risen|fell|fallen|slid|shrank|"
    r"up|down)|成長|成长|增長|增长|上漲|上涨|下跌|衰退|減少|减少|年增|年減|年减|大增|暴增)"
    r"\s*(?:about\s+|around\s+|some\s+|nearly\s+|almost\s+|約|约)?$",
    re.I,
)
_DELTA_AFTER = re.compile(
    r"^[\s-]*(?:(?:tariff|tax|duty|rate)\s+)?(?:cut|cuts|reduction|reductions|decrease|"
    r"increase|increases|hike|hikes|drop|discount|lower|higher|less|more|gain|rise|fall|"
    r"jump|slide|decline)\b",
    re.I,
)


def change_pairs(s: Sentence) -> dict[int, int]:
    """new slot → old slot for every change the sentence states."""
    found: dict[int, int] = {}
    used: set[int] = set()
    # "從20%調降5個百分點至15%": the size of the cut stands between the two values.
    text = s.text
    for i, (lo, hi) in enumerate(s.slots):
        if is_delta(s, i):
            text = text[:lo] + "△" * (hi - lo) + text[hi:]
    ranges = range_slots(s)
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


# "between 0% and 6%", "0%至6%之間": a range, no single rate;
# "duties of 5.5% to 11%", "ranging from 5% to 11%" (but "from 20% to 15%" is a change).
_RANGE = re.compile(
    r"\bbetween\s+⟨(\d+)⟩\s+and\s+⟨(\d+)⟩|"
    r"\b(?:of|ranging\s+(?:from\s+)?|range\s+from|(?:anywhere|somewhere)\s+(?:from|between))\s+"
    r"⟨(\d+)⟩\s+(?:to|and)\s+⟨(\d+)⟩|⟨(\d+)⟩\s*(?:至|到|-|–|~|～)\s*⟨(\d+)⟩\s*(?:之間|之间|間|间)",
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


def range_slots(s: Sentence) -> set[int]:
    """Slots of numbers that bound a range ("between 0% and 6%")."""
    found: set[int] = set()
    for m in _RANGE.finditer(s.text):
        found.update(int(g) for g in m.groups() if g is not None)
    return found


# "25%, 30%, 50% or whatever the number is": a list of values left open.
_OPEN_LIST = re.compile(
    r"⟨\d+⟩(?:\s*,\s*⟨\d+⟩)+\s*,?\s*(?:or|and)\s+(?:whatever|so|more|higher|beyond|"
    r"even\s+more|anything)\b|⟨\d+⟩(?:\s*[、,，]\s*⟨\d+⟩)+\s*(?:甚至更高|或更高|之類|之类)",
    re.I,
)


def alternative_slots(s: Sentence) -> set[int]:
    """Slots of numbers given as alternatives ("25%, 50% or even 100%")."""
    found: set[int] = set()
    for m in _OPEN_LIST.finditer(s.text):
        found.update(int(g) for g in _SLOT.findall(m.group(0)))
    for m in _ALTERNATIVES.finditer(s.text):
        found.update(int(g) for g in _SLOT.findall(m.group(0)))
    return found


_MONEY_DIFFERENCE_AFTER = re.compile(
    r"^\s*(?:more|less|fewer|higher|lower|above|below)\s+than\b|^\s*(?:above|over|below)\s+"
    r"(?:the|its|their)\s+(?:previous|earlier|original|prior)\b",
    re.I,
)


def is_delta(s: Sentence, i: int) -> bool:
    """True for a number that is no rate or amount of anything tracked: the size of a
    change ("cut by 5 points", "a 5% cut") or a share ("23% of its exports")."""
    number = s.numbers[i]
    if number.unit == POINTS:
        return True
    if number.is_money:
        # "US$85 billion more than it had promised": a difference between two amounts.
        return bool(_MONEY_DIFFERENCE_AFTER.search(s.text[s.slots[i][1] :]))
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
    r"up\s+to|as\s+high\s+as|as\s+much\s+as|or\s+more|or\s+higher|probably|likely|perhaps|"
    r"being\s+discussed|under\s+discussion|on\s+the\s+table|otherwise|whatever)\b",
    re.I,
)
# Intentions count only before the number ("Trump plans a 100% tariff"); after it they
# usually describe a rate already announced ("the 32% tariff Washington plans to impose").
_INTENT_EN = re.compile(
    r"\b(?:expected|expects?|plans?|planning\s+to|intends?\s+to|vow\w*|suggest\w*|envisag\w*|"
    r"draft)\b",
    re.I,
)
_THREAT_ZH = re.compile(
    r"揚言|扬言|可能|擬|拟|威脅|威胁|考慮|考虑|恐將|恐将|恐|若|如果|倘若|研擬|研拟|警告|或將|或将|"
    r"有望|可望|除非|拋出|抛出|準備|准备|或許|或许|也許|也许|預計|预计|提議|提议|最高|上看|高達|高达|計畫對|计划对|打算|構想|构想|設想|设想|大概|恐怕"
)
# Pledges are how investment is reported ("plans to invest", "擬投資"): for money only
# a threat or a condition makes a figure less than stated.
_THREAT_MONEY_EN = re.compile(
    rf"\b(?:threat\w*|could|may|might|propos\w*|{_CONSIDERING}|unless|if|offer(?:s|ed|ing)?\s+to|"
    r"would\s+(?:require|need|take)|requires?|needs?\s+to|"
    r"being\s+discussed|under\s+discussion)\b",
    re.I,
)
# (…的說法, 傳言: an amount someone claims, not one agreed: "未否認台灣將投資5000億美元的說法".)
_THREAT_MONEY_ZH = re.compile(
    r"揚言|扬言|可能|威脅|威胁|考慮|考虑|若|如果|倘若|或將|或将|的說法|的说法|傳言|传言|傳聞|传闻"
)
# A sentence-opening clause that makes the rest of the sentence conditional or proposed:
# "Under the terms being discussed, Washington would…", "If talks fail, …".
_OPENING_CONDITION = re.compile(
    r"^\s*(?:under(?!\s+(?:the|this|its|their)\s+(?:(?:new|agreed|signed|final|trade|"
    r"executive)\s+){0,2}(?:deal|agreement|pact|accord|terms|order|proclamation|arrangement)"
    r"\s*,)|if|unless|should|once|pending|until|according\s+to\s+(?:a|the)\s+draft)\b",
    re.I,
)
# ("Under the deal, …" states what was agreed; "Under the proposal, …" does not.)
# "would" is a proposal in a story sourced to unnamed people (the deal is not public yet)
# and an agreed term in a story about the signed deal.
UNNAMED_SOURCES = re.compile(
    r"\bpeople\s+(?:familiar|briefed|with\s+knowledge)|\bthe\s+people\s+said|"
    r"\bsources?\s+(?:said|say|familiar)|according\s+to\s+(?:people|sources|officials\s+who)|"
    r"知情人士|消息人士|據悉|据悉|據了解|据了解|傳出|传出",
    re.I,
)
# A story about a deal reported as not yet made: its "will" and "將" are the proposal.
PENDING_DEAL = re.compile(
    r"\b(?:nearly|almost)\s+(?:done|complete|finali[sz]ed)|\bnear(?:ing)?\s+(?:a\s+)?"
    r"(?:trade\s+)?(?:deal|agreement|pact|completion)|\bclose\s+to\s+(?:a\s+)?(?:trade\s+)?"
    r"(?:deal|agreement|pact|completion|finali[sz]ing)|\bon\s+the\s+(?:verge|cusp)\s+of|"
    r"(?:即將|即将|接近|將近|将近|可望)[^，,。；;：:]{0,8}?(?:達成|达成|完成|簽署|签署|敲定)|"
    r"近(?:達成|达成|完成|簽署|签署|敲定)|近在咫尺",
    re.I,
)
# A deal reported as made: a story that says so up front is about the signed deal, and a
# pending cue beside it ("signed …, months after they were near a deal", "已簽署，可望下週
# 完成審查") is background or a later step. Read with the pending cues taken out, so that
# "即將敲定" is no "敲定"; "to be signed", "希望達成協議" are not done.
_NOT_YET_EN = (
    r"(?<!\bbe\s)(?<!\bbeen\s)(?<!\bis\s)(?<!\bare\s)(?<!\bget\s)(?<!\bonce\s)(?<!\bnot\s)"
)
_NOT_YET_ZH = r"(?<![盼望若未將将])(?<!希望|爭取|争取|能否|如果|尚未|未能|沒有|没有|何時|何时)"
DEAL_DONE = re.compile(
    rf"{_NOT_YET_EN}\b(?:signed|sealed|finali[sz]ed|inked|clinched)\b|"
    rf"{_NOT_YET_EN}\b(?:reached|struck)\s+(?:a|the|an)\s+(?:\w+\s+){{0,2}}(?:deal|agreement|pact|accord)\b|"
    rf"{_NOT_YET_ZH}(?:簽署|签署|簽訂|签订)(?:了|的)|已[^，,。；;]{{0,8}}?(?:簽署|签署|簽訂|签订)|完成(?:簽署|签署)|"
    rf"{_NOT_YET_ZH}(?:達成|达成)(?:\S{{0,4}}?)(?:協議|协议|共識|共识)|拍板|底定|{_NOT_YET_ZH}敲定",
    re.I,
)


def deal_done(text: str) -> bool:
    """True when the text reports the deal as made (pending cues read out first)."""
    return bool(DEAL_DONE.search(PENDING_DEAL.sub(" ", text)))


# An analyst's "would" is a scenario, not a term: "analysts said a 15% tariff deal would
# support the currency".
ANALYSTS = re.compile(
    r"\b(?:analysts?|economists?|strategists?|observers?)\b|分析師|分析师|分析人士|經濟學家|经济学家|"
    r"專家|专家|學者|学者",
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
# In a story about a deal not yet made, a scheduled change is the proposal too: "duties are
# due to come down to 15%", "關稅將降至15%".
_WILL_PENDING = re.compile(
    r"\b(?:is|are|was|were)\s+(?:due|set|poised|slated|expected)\s+to\b|\bwill\b|將|将|"
    r"(?:會|会)(?![議议談谈員员長长計计面晤所])",
    re.I,
)
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
# The value an aim is for: "lower the tariff to 15%", "pressing for a rate of 15 percent".
_TARGET_SLOT_BEFORE = re.compile(
    r"(?:\b(?:to|at|below|under|for|of)\s+(?:(?:the|a|an|about|around|just|only|roughly|some)\s+)?|(?:至|到|為|为|以下|降至|降到)\S{0,3})$",
    re.I,
)
_OLD_BEFORE = re.compile(
    r"(?:\b(?P<cue>previous|previously|earlier|former|formerly|original|originally|prior|initial|"
    r"initially|had\s+been|had\s+faced|"
    # "said Taiwan had secured a 15% rate" reports a result that holds
    r"had\s+(?!(?:obtained|secured|gained|achieved|reached|negotiated|clinched|agreed|landed|"
    r"locked|nailed)\b)\w+ed|used\s+to\s+be|was\s+previously|"
    r"on\s+top\s+of|in\s+addition\s+to|besides|last\s+year's|old|replac\w*|supersed\w*|"
    r"instead\s+of)\b(?:\s+\S+){0,3}\s*|"
    r"(?P<cue_zh>原本|原先|先前|此前|之前|原有|原來|原来|舊|旧|原訂|原订|過去|过去|取代|原)"
    r"[^⟨，,。]{0,6})$",
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
    r"^\s*(?P<cue>earlier|previously|formerly|originally|at\s+first|before|in\s+the\s+past|until\s+now|"
    r"此前|先前|之前|原本|原先|過去|"
    r"过去|早先|當時|当时)\s*$",
    re.I,
)
_CURRENT_BEFORE = re.compile(
    r"(?:\b(?:current|currently|existing|now|present|prevailing)\b(?:\s+\S+){0,3}\s*|"
    r"(?:現行|现行|目前|現在|现在|當前|当前)[^⟨，,。]{0,6})$",
    re.I,
)


# A rate lifted for whoever meets a condition is announced, not levied: "所有晶片都要課
# 100%關稅，但只要在美國設廠就能免稅".
_CONDITIONAL_EXEMPTION_ZH = re.compile(r"只要[^。；]{0,40}?(?:免稅|免税|豁免|免徵|免征)")


# "would build on the $165 billion TSMC has already committed": the figure's own clause
# states it as done, whatever the sentence proposes around it.
_ALREADY_AFTER = re.compile(
    r"^[^⟨,;:，；：]{0,40}?\b(?:has|have|had)\s+already\b|^[^⟨，；：]{0,12}?已(?:經|经)?"
    r"(?:承諾|承诺|宣布|投入|投資|投资)",
    re.I,
)


def threat_cue(
    s: Sentence, i: int, is_target: bool, unsure_would: bool, pending: bool = False
) -> str | None:
    """The words that make number ``i`` a threat or proposal, or None. ``is_target``: the
    number is the new value of a stated change (aims and asks apply to it);
    ``unsure_would``: the article is sourced to unnamed people ("would" is a proposal);
    ``pending``: the article reports a deal not yet made ("will", "將" are the proposal)."""
    start = s.slots[i][0]
    if _ALREADY_AFTER.search(s.text[s.slots[i][1] :]):
        return None
    own_lo, hi = s.clause(start)
    lo = own_lo
    if s.cjk and not _CURRENT_BEFORE.search(s.text[own_lo:start]):
        # Chinese runs one statement on over commas: "川普揚言，將對晶片課徵100%關稅"; a
        # cue before the number counts back to the last ";" or "而" unless the number's
        # own clause says it is the current value ("目前…").
        lo = s.clause(start, strong=True)[0]
    scopes = [s.text[lo:hi]]
    first_end = s.clause(0)[1]
    if first_end <= own_lo and _OPENING_CONDITION.search(s.text[:first_end]):
        scopes.append(s.text[:first_end])
    money = s.numbers[i].is_money
    for scope in scopes:
        if money:
            m = _THREAT_MONEY_EN.search(scope) or _THREAT_MONEY_ZH.search(scope)
        else:
            m = _THREAT_EN.search(scope) or _THREAT_ZH.search(scope)
            m = m or _INTENT_EN.search(s.text[lo:start] if scope is scopes[0] else scope)
        if m is None and (unsure_would or pending):
            m = _WOULD.search(scope)
        if m is None and pending:
            m = _WILL_PENDING.search(scope)
        if m:
            return m.group(0)
    before = s.text[own_lo:start]
    if not money:
        exemption = _CONDITIONAL_EXEMPTION_ZH.search(s.text[start:])
        if exemption:
            return exemption.group(0)[:2]
        approx = _APPROXIMATE.search(before)
        if approx:
            return approx.group(0).strip()
    if is_target or money or _TARGET_SLOT_BEFORE.search(before):
        t = _TARGET_EN.search(before) or _TARGET_ZH.search(before)
        if t:
            return t.group(0)
    return None


def single_status(
    s: Sentence, i: int, unsure_would: bool, pending: bool = False
) -> tuple[str, str | None]:
    """(current | threat | old, the cue words) for a number that is no stated change."""
    start = s.slots[i][0]
    lo = s.clause(start)[0]
    before = s.text[lo:start]
    cue = threat_cue(s, i, is_target=False, unsure_would=unsure_would, pending=pending)
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


# "falls to 15%", "降至15%": the number is the value after a change the sentence states.
_NEW_VALUE_BEFORE = re.compile(
    rf"(?:\b{_CHANGE_VERB_EN}\s+(?:[^\s⟨⟩]+\s+){{0,4}}?(?:to|at)\s+(?:(?:the|a|an|just)\s+)?|"
    # any change verb with any of 至/到/為/为: 降至, 下修到, 調降為, 減為, 擴大到, 上調至
    r"(?:(?:調降|调降|下調|下调|下修|調整|调整|降低|擴大|扩大|增加|提高|加碼|加码|上調|上调|"
    r"調升|调升|降|減|减|增|升)(?:至|到|為|为)|定為|定为|改為|改为|改採|改采|改成)\s*)$",
    re.I,
)


def is_new_value(s: Sentence, i: int) -> bool:
    """True when the number is what something was changed to ("cut to 15%", "降至15%")."""
    start = s.slots[i][0]
    return bool(_NEW_VALUE_BEFORE.search(s.text[s.clause(start)[0] : start]))


# An amount added ("an additional US$100 billion") and the total it makes ("bringing the
# total to US$165 billion"): the total is the figure, the addition only when alone.
_ADDITION_BEFORE = re.compile(
    r"(?:\b(?:additional|another|more(?!\s+than)|extra|further|fresh|new)\b(?:\s+\S+){0,2}\s*|"
    r"\bby\s+|"
    r"(?:新增|增加|追加|加碼|加码|再|額外|额外)[^⟨，,。]{0,6})$",
    re.I,
)
# "US$100 billion more", "US$100 billion in new investment" (but "in new plants" is where
# the money goes).
_ADDITION_AFTER = re.compile(
    r"^\s*(?:more|extra|in\s+additional|in\s+new\s+(?:investments?|spending|commitments?|"
    r"money|funds?|funding|capital|pledges?))\b",
    re.I,
)
_TOTAL_BEFORE = re.compile(
    r"(?:\b(?:total|totals|totaling|totalling|total\s+of|in\s+all|altogether|overall|"
    r"cumulative|tally|bringing|brings|brought|raising|lifting|takes|taking)\b"
    r"(?:\s+\S+){0,8}\s*|"
    r"(?:總額|总额|總計|总计|合計|合计|累計|累计|總投資|总投资|達|达|共)[^⟨，,。]{0,8})$",
    re.I,
)


_TOTAL_AFTER = re.compile(r"^\s*(?:in\s+total|in\s+all|altogether|all\s+told)\b", re.I)
# "some US$500 billion", "約5000億美元": a rounded summary, below an exact amount.
_APPROXIMATE_MONEY = re.compile(
    r"(?:\b(?:some|about|around|roughly|approximately|nearly|almost|close\s+to)\s+|(?:約|约|近)\s*)$",
    re.I,
)

TOTAL_TAG = "; amount=total"
APPROXIMATE_TAG = "; amount=approximate"
ADDITIONAL_TAG = "; amount=additional"


def amount_tag(s: Sentence, i: int) -> str:
    """The reason tag of an amount of money: a total, an amount added, or neither."""
    start, end = s.slots[i]
    before = s.text[s.clause(start)[0] : start]
    if _TOTAL_BEFORE.search(before) or _TOTAL_AFTER.search(s.text[end:]):
        return TOTAL_TAG
    if _ADDITION_BEFORE.search(before) or _ADDITION_AFTER.search(s.text[end:]):
        return ADDITIONAL_TAG
    if _APPROXIMATE_MONEY.search(before):
        return APPROXIMATE_TAG
    return ""
