"""The tracked-figure reader on the real-news set (tests/eval/realnews): the targets of
issue 9, measured the way bench/eval_realnews.py prints them."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import ROOT

from monitor.config import load_config

_SPEC = importlib.util.spec_from_file_location("eval_realnews", ROOT / "bench" / "eval_realnews.py")
assert _SPEC is not None and _SPEC.loader is not None
eval_realnews = importlib.util.module_from_spec(_SPEC)
sys.modules["eval_realnews"] = eval_realnews  # dataclasses look their module up
_SPEC.loader.exec_module(eval_realnews)


@pytest.fixture(scope="module")
def evaluation():
    return eval_realnews.evaluate(load_config(env={}))


def test_the_us_tariff_on_taiwan_is_read_right(evaluation) -> None:
    score = evaluation.scores["us_tariff_taiwan"]
    assert score.total >= 30
    assert score.accuracy >= 0.95, [m for m in evaluation.misses if m.figure == score.figure]


def test_no_tariff_rate_is_read_from_items_that_state_none(evaluation) -> None:
    assert evaluation.scores["us_tariff_taiwan"].false_readings == 0, [
        m for m in evaluation.misses if m.figure == "us_tariff_taiwan" and m.expected == "none"
    ]


def test_investment_figures_are_read_right(evaluation) -> None:
    investment = ("tsmc_us_investment", "taiwan_us_investment")
    assert sum(evaluation.scores[f].total for f in investment) >= 20
    assert evaluation.combined(*investment) >= 0.90, [
        m for m in evaluation.misses if m.figure in investment
    ]
