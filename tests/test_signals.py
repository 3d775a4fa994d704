"""monitor.signals: keyword mentions and the figures attached to them, with units."""

from __future__ import annotations

import pytest

from monitor.config import load_config
from monitor.signals import count_mentions, find_figures

WATCH = load_config(env={}).watch


def figures(text: str) -> list[tuple[str, float, str]]:
    return [(f.figure.keyword, f.figure.value, f.figure.unit) for f in find_figures(text, WATCH)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Exporters face a 20 percent tariff on chips.", [("tariff", 20.0, "%")]),
        ("Chips will carry tariffs of 15% from May.", [("tariff", 15.0, "%")]),
        ("美國關稅降至15%。", [("tariff", 15.0, "%")]),
        ("美國對台灣半導體的關稅從20%降至15%。", [("tariff", 15.0, "%")]),
        ("The tariff falls from 20 percent to 15 percent.", [("tariff", 15.0, "%")]),
        ("The levy of 12.5 per cent stays.", [("tariff", 12.5, "%")]),
        (
            "The company put its investment at US$165 billion.",
            [("investment", 165.0, "US$ billion")],
        ),
        (
            "Taiwan pledged NT$1.2 trillion of investment in new plants.",
            [("investment", 1.2, "NT$ trillion")],
        ),
        (
            "An investment of 165 billion US dollars was announced.",
            [("investment", 165.0, "US$ billion")],
        ),
        ("台積電宣布投資150億美元。", [("TSMC", 150.0, "US$ 億"), ("investment", 150.0, "US$ 億")]),
        (
            "The tariff talks resumed in Geneva on Monday after a long pause, and separately "
            "the city's retail sales rose 30 percent.",
            [],
        ),
        (
            "A 20 percent tariff and an investment of US$5 billion.",
            [
                ("tariff", 20.0, "%"),
                ("investment", 5.0, "US$ billion"),
            ],
        ),
    ],
)
def test_figures_with_units(sentence: str, expected: list[tuple[str, float, str]]) -> None:
    assert figures(sentence) == expected


def test_figure_display_keeps_the_unit() -> None:
    shown = [
        f.figure.display()
        for f in find_figures(
            "Tariffs of 15% apply. The investment is US$165 billion. 台灣投資新台幣1.2兆元。",
            WATCH,
        )
    ]
    assert shown == ["15%", "US$165 billion", "NT$1.2兆"]


def test_count_mentions_counts_every_alias_per_keyword() -> None:
    text = "Tariffs and duties: the tariff, 關稅. TSMC (台積電) and MediaTek."
    assert count_mentions(text, WATCH) == {"tariff": 4, "TSMC": 2, "MediaTek": 1}
