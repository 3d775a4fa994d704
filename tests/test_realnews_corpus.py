"""Self-check of the real-news evaluation sets (tests/eval/realnews and the held-out
tests/eval/realnews_heldout): every file parses and its header agrees with its text; the main
set as a whole keeps the hard cases it exists for."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from eval_corpus import (
    REALNEWS_DIR,
    REALNEWS_HELDOUT_DIR,
    TRACKED_UNITS,
    UNITS,
    RealNewsFormatError,
    RealNewsItem,
    load_realnews,
    load_realnews_item,
)

TAIPEI = ZoneInfo("Asia/Taipei")
# The US-Taiwan deal was announced on 15 January 2026 in Washington, which was already
# 16 January in Taipei: scenario day 2 is that Taipei date, day 1 the day before.
DEAL_DAY = date(2026, 1, 16)
FILES = sorted(REALNEWS_DIR.glob("*.txt"))
ITEMS = load_realnews()
ENGLISH = [i for i in ITEMS if i.language == "en"]
HELDOUT_FILES = sorted(REALNEWS_HELDOUT_DIR.glob("*.txt"))
HELDOUT = load_realnews(REALNEWS_HELDOUT_DIR)
# Per-file checks run on both sets; the totals below are the main set's only.
EVERY_ITEM = [(REALNEWS_DIR, i) for i in ITEMS] + [(REALNEWS_HELDOUT_DIR, i) for i in HELDOUT]
INVESTMENT_IDS = ("tsmc_us_investment", "taiwan_us_investment")

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Characters written differently in the two Chinese scripts, to tell the scripts apart.
_SIMPLIFIED_ONLY = set("关税湾经贸这国发对协议电积总统门领长为与时会实现据业")
_TRADITIONAL_ONLY = set("關稅灣經貿這國發對協議電積總統門領長為與時會實現據業")


def _paragraphs(item: RealNewsItem) -> list[str]:
    return [p.strip() for p in item.body.split("\n\n") if p.strip()]


@pytest.mark.parametrize(("files", "items"), [(FILES, ITEMS), (HELDOUT_FILES, HELDOUT)])
def test_every_file_is_loaded(files: list[Path], items: list[RealNewsItem]):
    assert [i.name for i in items] == [p.stem for p in files]
    numbers = Counter(i.name.split("_")[0] + i.name.split("_")[1] for i in items)
    assert [n for n, count in numbers.items() if count > 1] == []


@pytest.mark.parametrize(
    ("folder", "item"), EVERY_ITEM, ids=[f"{d.name}/{i.name}" for d, i in EVERY_ITEM]
)
def test_item(folder: Path, item: RealNewsItem):
    header = (folder / f"{item.name}.txt").read_text(encoding="utf-8").split("\n\n")[0]
    assert re.search(r"^source_hint: \S.{5,}$", header, re.M), "source_hint too short"
    assert item.published.tzinfo is not None
    assert date(2024, 11, 1) <= item.published.astimezone(TAIPEI).date() <= date(2026, 1, 31)
    for figures in (item.figures, item.old):
        for fid, (_value, unit) in figures.items():
            assert fid in TRACKED_UNITS and unit in TRACKED_UNITS[fid]
    for _key, (_value, unit) in item.threat.items():
        assert unit in UNITS
    if item.kind == "offtopic-nearmiss":
        assert not item.on_topic
    paragraphs = _paragraphs(item)
    assert 2 <= len(paragraphs) <= 6, f"{len(paragraphs)} paragraphs"
    text = item.title + "\n" + item.body
    if item.language == "en":
        assert not _CJK.search(text), "CJK characters in an English item"
        words = sum(len(_LATIN_WORD.findall(p)) for p in paragraphs)
        assert 60 <= words <= 250, f"{words} words"
    else:
        cjk = len(_CJK.findall(item.body))
        assert cjk > len(_LATIN_WORD.findall(item.body)), "not written in Chinese"
        chars = sum(len(re.sub(r"\s", "", p)) for p in paragraphs)
        assert 100 <= chars <= 400, f"{chars} characters"
        simplified = sum(ch in _SIMPLIFIED_ONLY for ch in text)
        traditional = sum(ch in _TRADITIONAL_ONLY for ch in text)
        if item.language == "zh-Hant":
            assert traditional > simplified
        else:
            assert simplified > traditional
    if item.scenario_day is not None:
        day = DEAL_DAY - timedelta(days=2 - item.scenario_day)
        assert item.published.astimezone(TAIPEI).date() == day


def test_a_bad_header_names_the_file(tmp_path: Path):
    good = FILES[0].read_text(encoding="utf-8")
    bad = tmp_path / "en_999_bad-header.txt"
    bad.write_text(good.replace("on_topic: ", "on_topic: maybe-", 1), encoding="utf-8")
    with pytest.raises(RealNewsFormatError, match="en_999_bad-header.txt"):
        load_realnews_item(bad)
    bad.write_text(re.sub(r"^figures: .*$", "figures: tariff=15 %", good, flags=re.M))
    with pytest.raises(RealNewsFormatError, match="en_999_bad-header.txt.*unknown id"):
        load_realnews_item(bad)
    bad.write_text(re.sub(r"^event: .*\n", "", good, flags=re.M))
    with pytest.raises(RealNewsFormatError, match="en_999_bad-header.txt.*event"):
        load_realnews_item(bad)


def test_english_totals_keep_the_hard_cases():
    assert len(ENGLISH) >= 95
    assert sum(not i.on_topic for i in ENGLISH) >= 20
    assert sum("us_tariff_taiwan" in i.figures for i in ENGLISH) >= 30
    assert sum(i.figures == {} for i in ENGLISH) >= 30
    assert sum(any(k in i.figures for k in INVESTMENT_IDS) for i in ENGLISH) >= 25
    assert sum(i.on_topic and i.figures == {} for i in ENGLISH) >= 10
    assert sum(bool(i.threat) and i.figures == {} for i in ENGLISH) >= 5
    assert {i.kind for i in ENGLISH if i.on_topic} >= {
        "deal",
        "talks",
        "chip-threat",
        "section232",
        "tsmc-invest",
        "tsmc-earnings",
        "taiwan-own-tariff",
        "exemption",
    }
    events = {i.event for i in ENGLISH}
    widely_reported = [e for e in events if len({i.outlet for i in ENGLISH if i.event == e}) >= 3]
    assert len(widely_reported) >= 4, "at least four events reported by three or more outlets"


def test_the_readme_counts_are_current():
    readme = (REALNEWS_DIR / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"^\| all English items \| (\d+) \|$", readme, re.M)
    assert stated is not None and int(stated[1]) == len(ENGLISH)
    on, off = re.search(r"^\| on topic / off topic \| (\d+) / (\d+) \|$", readme, re.M).groups()
    assert (int(on), int(off)) == (
        sum(i.on_topic for i in ENGLISH),
        sum(not i.on_topic for i in ENGLISH),
    )
    none = re.search(r"^\| `figures: none` \| (\d+) ", readme, re.M)
    assert none is not None and int(none[1]) == sum(i.figures == {} for i in ENGLISH)


def test_the_two_day_scenario():
    for language_items in (ENGLISH,):
        day1 = [i for i in language_items if i.scenario_day == 1]
        day2 = [i for i in language_items if i.scenario_day == 2]
        assert len(day1) >= 6 and len(day2) >= 6
        assert len({i.outlet for i in day2 if i.on_topic}) >= 4
        assert any(not i.on_topic for i in day1) and any(not i.on_topic for i in day2)
        # Day 1: the 20% rate in force; day 2: the cut to 15% and the US$250 billion pledge.
        assert any(i.figures.get("us_tariff_taiwan") == (20.0, "%") for i in day1)
        assert any(i.figures.get("us_tariff_taiwan") == (15.0, "%") for i in day2)
        assert any(i.figures.get("taiwan_us_investment") == (250.0, "US$ billion") for i in day2)


def test_the_heldout_set_is_its_own():
    """The held-out set is at least 50 items in both languages, with off-topic near-misses,
    and none is modelled on a report the main set already used."""
    assert len(HELDOUT) >= 50
    languages = Counter(i.language for i in HELDOUT)
    assert languages["en"] >= 30 and languages["zh-Hant"] + languages["zh-Hans"] >= 15
    assert languages["zh-Hans"] >= 5
    assert sum(not i.on_topic for i in HELDOUT) >= 10
    assert sum(i.figures == {} for i in HELDOUT) >= 10
    main_hints = {_source_hint(REALNEWS_DIR, i) for i in ITEMS}
    assert [i.name for i in HELDOUT if _source_hint(REALNEWS_HELDOUT_DIR, i) in main_hints] == []


def _source_hint(folder: Path, item: RealNewsItem) -> str:
    text = (folder / f"{item.name}.txt").read_text(encoding="utf-8")
    match = re.search(r"^source_hint: (.*)$", text, re.M)
    assert match is not None
    return match[1].strip()
