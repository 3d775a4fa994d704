"""Relevance and language on the labelled evaluation set (tests/eval/relevance): every
file carries its label; one parametrized test checks each file, one the P/R floors."""

from __future__ import annotations

import pytest
from eval_corpus import articles, precision_recall

from monitor import language, relevance
from monitor.config import load_config
from monitor.records import Relevance

CFG = load_config(env={})
ARTICLES = articles()
# The floors measured on this set with the shipped profile (python bench/eval_relevance.py).
RELEVANCE_PRECISION_FLOOR = 1.0
RELEVANCE_RECALL_FLOOR = 1.0


def test_the_set_is_large_and_has_the_hard_cases():
    kinds = {a.kind for a in ARTICLES}
    assert len(ARTICLES) >= 60
    assert sum(a.label == "relevant" for a in ARTICLES) >= 25
    assert {"taiwan-no-chips", "chips-no-taiwan", "us-china-no-taiwan"} <= kinds
    assert sum(a.language.startswith("zh") for a in ARTICLES) >= 10


@pytest.mark.parametrize("article", ARTICLES, ids=[a.name for a in ARTICLES])
def test_labelled_article(article):
    assert article.label in ("relevant", "off_topic")
    result = relevance.score(article.title, article.body, CFG.topic)
    assert result.relevant == (article.label == "relevant"), result.explain(CFG.topic.threshold)
    assert language.detect(article.body) == article.language


def test_precision_and_recall_floors():
    predicted = [relevance.score(a.title, a.body, CFG.topic).relevant for a in ARTICLES]
    expected = [a.label == "relevant" for a in ARTICLES]
    precision, recall = precision_recall(predicted, expected)
    assert precision >= RELEVANCE_PRECISION_FLOOR and recall >= RELEVANCE_RECALL_FLOOR


def test_chinese_aliases_are_reported_under_the_english_term():
    result = relevance.score(
        "台積電赴美設廠", "美國對台灣半導體課徵關稅，台積電表示將擴大投資。", CFG.topic
    )
    assert result == Relevance(
        score=result.score,
        relevant=True,
        matched={
            "taiwan": ("Taiwan", "TSMC"),
            "us_trade": ("United States", "tariff"),
            "trade_terms": ("tariff",),
            "chip_tariff": ("晶片關稅", "對晶片課關稅"),
            "semiconductors": ("semiconductor", "TSMC"),
        },
        facet_scores=result.facet_scores,
        missing=(),
    )


def test_a_passing_mention_of_taiwan_is_not_enough():
    body = (
        "US chip designers reported strong sales of processors for data centers this "
        "quarter, and said export controls had cut their China revenue. "
        + "Analysts expect demand for servers to keep rising next year. " * 6
        + "Some packaging work is done by suppliers in Taiwan."
    )
    result = relevance.score("Chip designers beat forecasts", body, CFG.topic)
    assert result.matched["taiwan"] == ("Taiwan",)
    assert not result.relevant and result.missing == ("taiwan",)


def test_title_and_lead_weigh_more_than_the_body():
    filler = "Officials spoke about the weather and the calendar for the week. " * 12
    said = "Taiwan chip tariff talks with US."
    in_title = relevance.score("Taiwan chip tariff talks with US", filler, CFG.topic)
    # Said twice in the body (two sentences), each hit weighs 1 against 3 in the title.
    in_body = relevance.score("Weekly notes", filler + said + " " + filler + said, CFG.topic)
    assert in_title.score == 3 * in_body.score / 2
    # Said once in the body only, it is a passing mention and counts for nothing.
    once = relevance.score("Weekly notes", filler + said, CFG.topic)
    assert once.score == 0 and not once.relevant


def test_blue_chip_is_not_a_chip():
    result = relevance.score(
        "Taiwan blue-chip stocks rise",
        "Taiwan blue-chip shares gained as US rates held.",
        CFG.topic,
    )
    assert result.matched["semiconductors"] == ()
    assert not result.relevant


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        (
            "台積電表示，將擴大在美國的投資，經濟部樂觀其成。這是台灣半導體產業的重要一步。",
            None,
            "zh-Hant",
        ),
        (
            "台积电表示，将扩大在美国的投资，经济部乐观其成。这是台湾半导体产业的重要一步。",
            None,
            "zh-Hans",
        ),
        ("Taiwan and the US agreed to cut the chip tariff to 15 percent on Tuesday.", None, "en"),
        ("Short", "zh-TW", "zh-Hant"),
        ("Short", "en-US", "en"),
        ("Short", None, None),
    ],
)
def test_language_detection(text, declared, expected):
    assert language.detect(text, declared) == expected
