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
            "chip_tariff": ("對晶片課關稅",),
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


# --- passing mentions: the failure kinds seen on real reporting -------------------------


def _discounted(result: Relevance, facet: str) -> list[tuple[str, str]]:
    return [(o.found, o.reason or "") for o in result.occurrences if o.facet == facet and o.reason]


def test_a_listing_abroad_is_not_us_trade():
    # A results-day market story: the chipmaker's New York receipts moved, nothing more
    # about the United States.
    body = (
        "Taiwan Semiconductor Manufacturing's American depositary receipts jumped 5% "
        "before the opening bell on Friday after the contract chipmaker beat profit "
        "forecasts for the quarter. Revenue from its most advanced process technologies "
        "made up more than two thirds of wafer sales, and the company said demand for "
        "chips used in AI servers remained strong. It expects sales to rise about a "
        "quarter this year and will raise spending on new capacity. Chip equipment "
        "makers also gained in early trading."
    )
    result = relevance.score(
        "TSMC receipts rise before the bell on strong results", body, CFG.topic
    )
    assert not result.relevant and result.missing == ("us_trade",)
    assert _discounted(result, "us_trade") == [
        ("American", "boilerplate ('American depositary receipts')")
    ]


def test_a_boilerplate_phrase_cut_by_the_end_of_the_lead_is_still_boilerplate():
    # The lead ends inside "American depositary receipts": the whole phrase stays in the
    # lead and is discounted there, so "American" does not count as US trade.
    body = "x" * 380 + " TSMC, whose American depositary receipts fell 2%, led the index."
    lead, rest = relevance.split_lead(body, CFG.topic)
    assert lead.endswith("American depositary receipts")
    result = relevance.score("Taiex closes lower", body, CFG.topic)
    assert ("us_trade", "American") not in [
        (o.facet, o.term) for o in result.occurrences if o.reason is None
    ]


def test_us_listed_shares_and_dollar_figures_are_boilerplate():
    body = (
        "TSMC's U.S.-listed shares closed at a record on Thursday, a day after the "
        "chipmaker lifted its outlook. Analysts raised their price targets and pointed "
        "to capital spending of as much as US$56 billion this year. The foundry holds "
        "about two thirds of the contract chipmaking market. Shares in Taipei are "
        "expected to follow on Friday."
    )
    result = relevance.score("TSMC shares hit a record as chip stocks rally", body, CFG.topic)
    assert not result.relevant
    assert [reason for _, reason in _discounted(result, "us_trade")] == [
        "boilerplate ('U.S.-listed')",
        "boilerplate ('US$')",
    ]


def test_an_earnings_story_about_arizona_and_tariffs_is_on_topic():
    body = (
        "TSMC reported a record quarterly profit on Thursday and said it would speed up "
        "construction in Arizona, where it plans six chip plants. Chief executive C.C. Wei "
        "said customers had not changed orders because of US tariffs. The results come "
        "as Taipei and Washington negotiate over the 20% tariff on goods from Taiwan."
    )
    result = relevance.score(
        "TSMC profit beats forecasts, Arizona build-out speeds up", body, CFG.topic
    )
    assert result.relevant, result.explain(CFG.topic.threshold)


def test_another_companys_us_fab_with_an_aside_about_tsmc_is_off_topic():
    # Samsung's Texas plant and its Tesla contract; TSMC turns up once, as the rival.
    body = (
        "Samsung Electronics chairman Lee Jae-yong showed Tesla chief Elon Musk around the "
        "company's chip plant in Taylor, Texas, on Monday, as the two firms deepen a "
        "$16.5 billion contract for Tesla's next self-driving processors. Tesla's current "
        "chips are made by Taiwan's TSMC, which also builds processors for Apple and "
        "Nvidia. Samsung has spent more than $37 billion on the Texas site and hopes to "
        "win more US customers for its foundry business once output starts next year."
    )
    result = relevance.score(
        "Musk tours Samsung's Texas chip plant as Tesla deal grows", body, CFG.topic
    )
    assert not result.relevant and "taiwan" in result.missing
    assert _discounted(result, "taiwan") == [
        ("Taiwan", "aside about another party ('Taiwan's TSMC')"),
        ("TSMC", "aside about another party ('Taiwan's TSMC')"),
    ]


def test_a_taiwan_based_supplier_in_passing_is_not_taiwan():
    body = (
        "Micron Technology broke ground on a memory chip plant in upstate New York on "
        "Wednesday, backed by a federal CHIPS Act grant of more than $6 billion. The company "
        "said the site would employ 9,000 people when finished. Equipment will come from "
        "suppliers in the United States, Japan and Europe, and a Taiwan-based firm will "
        "handle some of the cleanroom construction. Officials said the project was the "
        "largest private investment in the state's history."
    )
    result = relevance.score("Micron starts building New York memory plant", body, CFG.topic)
    assert not result.relevant and result.facet_scores["taiwan"] == 0
    assert _discounted(result, "taiwan") == [
        ("Taiwan", "aside about another party ('Taiwan-based')")
    ]


def test_a_facet_repeated_in_the_body_counts():
    lead = "Officials spoke about the weather and the calendar for the week. " * 7
    once = lead + "Chip tariff talks with the US went on. Taiwan sent a delegation."
    twice = once + " The delegation from Taiwan will report back next week."
    passing = relevance.score("Weekly notes", once, CFG.topic)
    repeated = relevance.score("Weekly notes", twice, CFG.topic)
    assert passing.facet_scores["taiwan"] == 0
    assert ("Taiwan", "passing mention: body only, in 1 sentence") in _discounted(passing, "taiwan")
    assert repeated.facet_scores["taiwan"] == 2


def test_discounts_come_from_the_config():
    body = (
        "Taiwan Semiconductor Manufacturing's American depositary receipts jumped 5% "
        "after the chipmaker beat forecasts; Taiwan's largest company said AI demand "
        "stayed strong."
    )
    title = "TSMC receipts rise on strong results"
    assert not relevance.score(title, body, CFG.topic).relevant
    no_boilerplate = CFG.topic.model_copy(update={"boilerplate": []})
    assert relevance.score(title, body, no_boilerplate).relevant
    stricter = CFG.topic.model_copy(update={"min_body_sentences": 3})
    text = "Weekly notes. " * 40 + "Taiwan chip tariffs in the US. Taiwan chip tariffs again."
    assert relevance.score("Notes", text, CFG.topic).facet_scores["taiwan"] == 2
    assert relevance.score("Notes", text, stricter).facet_scores["taiwan"] == 0


@pytest.mark.parametrize(
    ("title", "body", "relevant"),
    [
        # The tariff on goods from Taiwan, chips never named.
        (
            "Taiwan exporters welcome lower US tariff",
            "Taiwanese exporters of machine tools said the trade agreement with Washington, "
            "which cut the US tariff on goods from Taiwan to 15%, would win back orders.",
            True,
        ),
        # A US tariff on chips, Taiwan never named.
        (
            "White House sets 25% duty on some advanced chips",
            "President Trump imposed a 25% tariff on imports of certain high-end "
            "semiconductors under Section 232, with exemptions for US data centers.",
            True,
        ),
        # The same in Chinese: a levy on chips, the rate between chip and tariff.
        (
            "川普：進口晶片將課徵100%關稅",
            "美國總統川普表示，外國製造的晶片將課徵約100%的關稅，在美國設廠的企業可以豁免。",
            True,
        ),
        # Another country's chips, and a tariff that does not fall on them.
        (
            "南韓晶片出口創新高",
            "南韓半導體出口10月大增，輸往美國的晶片出口不受關稅影響，三星與SK海力士受惠。",
            False,
        ),
        # China's probe into US chips is not a US chip tariff.
        (
            "Beijing opens probe into US analog chips",
            "China's commerce ministry began an anti-dumping investigation into analog "
            "chips imported from the United States, ahead of trade talks with Washington.",
            False,
        ),
        # Another country's deal, Taiwan named once in passing.
        (
            "US and South Korea agree 15% tariff",
            "The United States and South Korea agreed a trade deal setting a 15% tariff on "
            "Korean goods in return for $350 billion of investment. "
            + "Officials in Seoul called the terms fair. " * 8
            + "Taiwan is still negotiating.",
            False,
        ),
        # A memory maker's US plant; the chip tariff is named once, as background.
        (
            "Hynix adds a second line at its Indiana site",
            "SK hynix will build a second packaging line in Indiana, a move analysts tied "
            "to Washington's talk of a tariff on imported chips. "
            + "The plant will employ about 1,000 people once both lines run. " * 4,
            False,
        ),
        # The US reciprocal levy on Taiwanese goods, the US itself named only in passing.
        (
            "Bicycle makers cheer 15% cap",
            "Taiwan's bicycle makers said the cap on reciprocal duties on Taiwanese goods "
            "at 15% puts them level with rivals in Vietnam. Taiwanese exporters had paid "
            "20% since August on top of existing duties.",
            True,
        ),
        # Another country's first fab; Taiwan is one name in a list of chip places.
        (
            "Malaysia opens its first front-end fab",
            "The new plant is small beside the fabs of Taiwan, South Korea or Arizona, "
            "but officials hope it will keep chip work at home as US tariffs of 19% weigh "
            "on exports. " + "Output of the plant is due to start in 2028. " * 4,
            False,
        ),
    ],
    ids=[
        "taiwan-tariff-no-chips",
        "chip-tariff-no-taiwan",
        "chip-tariff-zh",
        "korea-chip-exports-zh",
        "china-probe",
        "korea-deal",
        "chip-tariff-once-as-background",
        "reciprocal-duties-on-taiwan",
        "taiwan-in-a-list-of-places",
    ],
)
def test_ways_to_be_on_topic(title, body, relevant):
    result = relevance.score(title, body, CFG.topic)
    assert result.relevant == relevant, result.explain(CFG.topic.threshold)


def test_explain_lines_show_what_counted_and_what_did_not():
    result = relevance.score(
        "TSMC shares climb",
        "TSMC's U.S.-listed shares rose 3% on Friday as chip stocks gained.",
        CFG.topic,
    )
    assert relevance.explain_lines(result) == [
        "counted     taiwan 5: TSMC title 3, lead 2",
        "counted     semiconductors 7: TSMC title 3, lead 2; chip lead 2",
        "discounted  us_trade: 'U.S.' in lead (s1): boilerplate ('U.S.-listed')",
    ]
