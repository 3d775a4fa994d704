"""Number grammar for figures: percentages and amounts of money in English and Chinese.

Every amount of money is normalized to billions of one currency ("US$ billion",
"NT$ billion"), so "$250bln", "US$250 billion", "250 billion dollars", "2,500億美元" and
"2500亿美元" are all 250 US$ billion and "NT$1.2 trillion" and "新台幣1.2兆元" are both
1200 NT$ billion. Percentage points ("5 percentage points", "5個百分點") are kept apart
as ``points``: the size of a change, never a rate. Amounts in other currencies (yen, won,
HK$) and bare Chinese amounts without a currency ("3億") are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PERCENT = "%"
POINTS = "points"
USD = "US$ billion"
NTD = "NT$ billion"

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "兩": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

_PERCENT = re.compile(
    rf"(?<![A-Za-z0-9.,])(?P<num>{_NUM})\s*-?\s*"
    r"(?:(?P<points>percentage[\s-]+points?\b|per\s*cent(?:age)?[\s-]+points?\b|"
    r"basis\s+points?\b|個百分點|个百分点|百分點|百分点)"
    r"|%|％|percent\b|per\s*cent\b|pct\b|pc\b)",
    re.I,
)
# Rates written out in words, as explainers and quotes do: "fifteen percent", "twenty-five
# per cent", "one hundred percent", "five percentage points".
_WORD_UNITS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_WORD_TENS = {
    w: 10 * n
    for n, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
}
_WORD_NUMBER = (
    rf"(?:(?:one|a)\s+hundred|(?:{'|'.join(_WORD_TENS)})(?:[\s-](?:{'|'.join(list(_WORD_UNITS)[1:10])}))?"
    rf"|{'|'.join(sorted(_WORD_UNITS, key=len, reverse=True))})"
)
_PERCENT_WORDS = re.compile(
    rf"(?<![A-Za-z0-9.,-])(?P<num>{_WORD_NUMBER})\s+"
    r"(?:(?P<points>percentage[\s-]+points?\b|per\s*cent(?:age)?[\s-]+points?\b)|percent\b|"
    r"per\s*cent\b)",
    re.I,
)


def _word_number(text: str) -> float:
    """fifteen → 15, twenty-five → 25, one hundred → 100."""
    words = re.split(r"[\s-]+", text.lower())
    if words[-1] == "hundred":
        return 100.0
    return float(sum(_WORD_TENS.get(w, 0) + _WORD_UNITS.get(w, 0) for w in words))


_PERCENT_CN = re.compile(r"百分之(?P<num>\d+(?:\.\d+)?|[零〇一二兩两三四五六七八九十百廿卅卌]+)")
_SCALE_EN = {
    "trillion": 1000.0,
    "tn": 1000.0,
    "trn": 1000.0,
    "tln": 1000.0,
    "billion": 1.0,
    "bn": 1.0,
    "bln": 1.0,
    "b": 1.0,
    "million": 0.001,
    "mn": 0.001,
    "mln": 0.001,
    "m": 0.001,
}
_SCALE_CN = {
    "兆": 1000.0,
    "萬億": 1000.0,
    "万亿": 1000.0,
    "千億": 100.0,
    "千亿": 100.0,
    "億": 0.1,
    "亿": 0.1,
    "萬": 0.00001,
    "万": 0.00001,
}
_SCALE_EN_RE = r"trillion|billion|million|bln|mln|trn|tln|bn|mn|tn|b|m"
# US$165 billion, $250bln, NT$1.2 trillion, USD 6.6 billion, $100-billion
_MONEY_PREFIX = re.compile(
    rf"(?<![A-Za-z0-9$])(?P<cur>U\.?S\.?\s?\$|NT\$|USD|NTD|TWD|\$)\s?(?P<num>{_NUM})\s*-?\s*"
    rf"(?P<scale>{_SCALE_EN_RE})\b",
    re.I,
)
# 250 billion dollars, 165 billion US dollars, 1.2 trillion New Taiwan dollars
_MONEY_SUFFIX = re.compile(
    rf"(?<![A-Za-z0-9.,$])(?P<num>{_NUM})\s*-?\s*(?P<scale>trillion|billion|million)\s+"
    r"(?P<cur>U\.S\.\s+dollars?|US\s+dollars?|American\s+dollars?|New\s+Taiwan\s+dollars?|"
    r"NT\s+dollars?|Taiwan\s+dollars?|dollars?|USD|NTD|TWD)\b",
    re.I,
)
# 2,500億美元, 2500亿美元, 新台幣1.2兆元, 1.2兆新台幣, 美金6000億
_CUR_CN = r"新台幣|新臺幣|新台币|台幣|臺幣|台币|美元|美金"
_MONEY_CJK = re.compile(
    rf"(?:(?P<cur1>{_CUR_CN})\s*)?(?P<num>{_NUM})\s*(?P<scale>萬億|万亿|千億|千亿|兆|億|亿|萬|万)"
    rf"\s*(?P<cur2>{_CUR_CN}|元)?"
)

# Amounts written in Chinese numerals: 千億美元 (one hundred billion dollars), 五千億美元
# (500), 兩千五百億美元 (250), 新台幣一兆元. A currency must be named, as for digits.
_CN_NUMERAL = "零〇一二兩两三四五六七八九十百千"
_MONEY_CJK_WORDS = re.compile(
    rf"(?<![\d,.{_CN_NUMERAL}])(?:(?P<cur1>{_CUR_CN})\s*)?(?P<num>[{_CN_NUMERAL}]+)\s*"
    rf"(?P<scale>萬億|万亿|兆|億|亿)\s*(?P<cur2>{_CUR_CN}|元)?"
)


@dataclass(frozen=True, slots=True)
class Number:
    """A number with its unit as it stands in a sentence (``start``/``end``: its span)."""

    start: int
    end: int
    value: float
    unit: str  # PERCENT, POINTS, USD or NTD

    @property
    def is_money(self) -> bool:
        return self.unit in (USD, NTD)


def _float(text: str) -> float:
    return float(text.replace(",", ""))


_CN_TENS = {"廿": "二十", "卅": "三十", "卌": "四十"}


def _chinese_int(text: str) -> float | None:
    """十五 → 15, 二十 → 20, 一百 → 100; None when it is not a plain small numeral."""
    if text.isdigit() or re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    # 廿, 卅, 卌: one character for twenty, thirty, forty ("百分之廿", "百分之卅二").
    if text[:1] in _CN_TENS:
        text = _CN_TENS[text[0]] + text[1:]
    if text == "一百" or text == "百":
        return 100.0
    if "十" in text:
        tens, _, ones = text.partition("十")
        if len(tens) > 1 or len(ones) > 1:
            return None
        t = _CN_DIGITS.get(tens, -1) if tens else 1
        o = _CN_DIGITS.get(ones, -1) if ones else 0
        return None if t < 0 or o < 0 else float(10 * t + o)
    if len(text) == 1 and text in _CN_DIGITS:
        return float(_CN_DIGITS[text])
    return None


def _chinese_number(text: str) -> float | None:
    """千 → 1000, 五千 → 5000, 兩千五百 → 2500, 一百二十 → 120; None when it is no
    numeral below ten thousand."""
    total = 0
    digit: int | None = None
    last_unit = 10_000
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None:
                return None  # "五五" is no number
            digit = _CN_DIGITS[ch]
            continue
        unit = {"十": 10, "百": 100, "千": 1000}.get(ch)
        if unit is None or unit >= last_unit:
            return None
        total += (1 if digit is None else digit) * unit
        digit, last_unit = None, unit
    if digit is not None:
        total += digit
    return float(total) if total else None


def _currency(text: str | None) -> str | None:
    if text is None:
        return None
    folded = re.sub(r"[\s.]", "", text.lower())
    if folded.startswith(("nt", "newtaiwan", "taiwan", "twd")) or folded in (
        "新台幣",
        "新臺幣",
        "新台币",
        "台幣",
        "臺幣",
        "台币",
    ):
        return NTD
    if folded in ("元",):
        return None
    return USD


def numbers_in(sentence: str) -> list[Number]:
    """Every percentage, percentage-point change and amount of money, in text order;
    where two readings overlap the longer one stands."""
    found: list[Number] = []
    for m in _PERCENT.finditer(sentence):
        unit = POINTS if m.group("points") else PERCENT
        found.append(Number(m.start(), m.end(), _float(m.group("num")), unit))
    for m in _PERCENT_WORDS.finditer(sentence):
        unit = POINTS if m.group("points") else PERCENT
        found.append(Number(m.start(), m.end(), _word_number(m.group("num")), unit))
    for m in _PERCENT_CN.finditer(sentence):
        value = _chinese_int(m.group("num"))
        if value is not None:
            found.append(Number(m.start(), m.end(), value, PERCENT))
    for m in _MONEY_PREFIX.finditer(sentence):
        scale = m.group("scale").lower()
        if scale in ("b", "m") and m.group("scale") not in ("b", "B", "m", "M"):
            continue
        unit = _currency(m.group("cur")) or USD
        found.append(Number(m.start(), m.end(), _float(m.group("num")) * _SCALE_EN[scale], unit))
    for m in _MONEY_SUFFIX.finditer(sentence):
        unit = _currency(m.group("cur")) or USD
        scale = _SCALE_EN[m.group("scale").lower()]
        found.append(Number(m.start(), m.end(), _float(m.group("num")) * scale, unit))
    for m in _MONEY_CJK_WORDS.finditer(sentence):
        cjk_unit = _currency(m.group("cur1")) or _currency(m.group("cur2"))
        words = _chinese_number(m.group("num"))
        if cjk_unit is None or words is None:
            continue
        found.append(Number(m.start(), m.end(), words * _SCALE_CN[m.group("scale")], cjk_unit))
    for m in _MONEY_CJK.finditer(sentence):
        cjk_unit = _currency(m.group("cur1")) or _currency(m.group("cur2"))
        if cjk_unit is None:
            continue  # 3億 alone: people, chips or dollars? not a figure we can label
        value = _float(m.group("num")) * _SCALE_CN[m.group("scale")]
        found.append(Number(m.start(), m.end(), value, cjk_unit))
    found.sort(key=lambda n: (n.start, -(n.end - n.start)))
    kept: list[Number] = []
    for number in found:
        if kept and number.start < kept[-1].end:
            continue
        kept.append(Number(number.start, number.end, round(number.value, 6), number.unit))
    return kept
