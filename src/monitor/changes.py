"""Change detection: the watch rules that turn stored counts and figures into alerts.

Rules (per keyword group, configured under ``watch:``):

    first_mention   the keyword is in today's stories and in no story of the
                    ``lookback_days`` before (a seed counts as seen)
    spike / drop    today's story count against the trailing baseline: a minimum count,
                    a ratio and/or σ test, and never before ``min_baseline_days`` of data
    figure_change   a tracked figure (watch.tracked, fed to its keyword) moves to a new
                    value that independent outlets agree on: its own module,
                    monitor.detect.rules.figure_change
    co_occurrence   the keyword and a listed partner (a company) in one story, never
                    together before

Counting is on stories (see :data:`monitor.storage.STORY_KEY`) per calendar day in the
configured time zone. Every candidate carries a natural key, so a rerun or a backfill
raises nothing twice; :func:`raise_alerts` applies the cool-down (debounce) per keyword
and rule, recording a repeat as ``suppressed`` instead of sending it. A corroborated
figure change is never held back by the cool-down; an unconfirmed figure is recorded as
``unconfirmed`` (listed in the digest, never sent alone, starting no cool-down).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.config import Config, DropRule, SpikeRule, WatchKeyword
from monitor.relevance import count_term
from monitor.storage import Evidence, Store
from monitor.text import sentences

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert a rule wants to raise, with its natural key and provenance."""

    key: str
    rule: str
    keyword: str
    day: date
    summary: str
    old_value: str | None = None
    new_value: str | None = None
    sentence: str | None = None
    old_sentence: str | None = None
    article_id: int | None = None
    old_article_id: int | None = None
    evidence: tuple[Evidence, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    # Figure changes (monitor.detect.rules.figure_change): the seed the old value came
    # from, how many outlets reported the new one, and whether they agree enough to send
    # it. None for the other rules, which the cool-down debounces.
    old_seed_id: int | None = None
    reported_by: int | None = None
    confirmed: bool | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a spike or drop test, with the numbers it used."""

    fired: bool
    count: int
    mean: float
    std: float
    baseline_days: int
    reason: str


def spike_test(count: int, baseline: Sequence[int], rule: SpikeRule) -> Verdict:
    """Is ``count`` a spike over ``baseline`` (one story count per day, oldest first)?"""
    mean = statistics.fmean(baseline) if baseline else 0.0
    std = statistics.pstdev(baseline) if len(baseline) > 1 else 0.0

    def verdict(fired: bool, reason: str) -> Verdict:
        return Verdict(fired, count, mean, std, len(baseline), reason)

    if len(baseline) < rule.min_baseline_days:
        return verdict(False, f"only {len(baseline)} days of baseline")
    if count < rule.min_count:
        return verdict(False, f"{count} < min_count {rule.min_count}")
    if rule.ratio is not None and count < rule.ratio * mean:
        return verdict(False, f"{count} < {rule.ratio:g} × mean {mean:.2f}")
    if rule.sigma is not None and count <= mean + rule.sigma * std:
        return verdict(False, f"{count} ≤ mean + {rule.sigma:g}σ ({mean + rule.sigma * std:.2f})")
    return verdict(True, "spike")


def drop_test(count: int, baseline: Sequence[int], rule: DropRule) -> Verdict:
    """Is ``count`` a drop against ``baseline``?"""
    mean = statistics.fmean(baseline) if baseline else 0.0
    std = statistics.pstdev(baseline) if len(baseline) > 1 else 0.0

    def verdict(fired: bool, reason: str) -> Verdict:
        return Verdict(fired, count, mean, std, len(baseline), reason)

    if len(baseline) < rule.min_baseline_days:
        return verdict(False, f"only {len(baseline)} days of baseline")
    if mean < rule.min_baseline_mean:
        return verdict(False, f"mean {mean:.2f} < min_baseline_mean {rule.min_baseline_mean:g}")
    if count > rule.ratio * mean:
        return verdict(False, f"{count} > {rule.ratio:g} × mean {mean:.2f}")
    return verdict(True, "drop")


def _baseline(
    counts: Mapping[date, int], day: date, days: int, first_day: date | None
) -> list[int]:
    """Daily counts of the ``days`` before ``day``, from the first day with data on."""
    out: list[int] = []
    for back in range(days, 0, -1):
        d = day - timedelta(days=back)
        if first_day is not None and d >= first_day:
            out.append(counts.get(d, 0))
    return out


def _first_sentence_with(text: str, terms: Sequence[str]) -> str | None:
    for sentence in sentences(text):
        if any(count_term(t, sentence) for t in terms):
            return sentence
    return None


def _article_id(doc_key: str) -> int | None:
    kind, _, number = doc_key.partition(":")
    return int(number) if kind == "article" else None


def detect(store: Store, cfg: Config, run_date: date) -> list[Candidate]:
    """First mentions, spikes, drops and co-occurrences for the run's day, from the
    stored counts (figure changes are found per article by the pipeline)."""
    watch = cfg.watch
    found: list[Candidate] = []
    run_mentions = store.run_mentions(run_date)
    texts: dict[int, tuple[str, str]] = {}

    def text_of(doc_key: str) -> tuple[str, str]:
        article_id = _article_id(doc_key)
        if article_id is None:
            return "", ""
        if article_id not in texts:
            for a in store.articles([article_id]):
                texts[a.id] = (a.title, f"{a.title}\n{a.text}")
        return texts.get(article_id, ("", ""))

    # first mention
    for keyword in watch.keywords:
        if "first_mention" not in watch.rules_of(keyword) or keyword.name not in run_mentions:
            continue
        first_day, doc_key = run_mentions[keyword.name][0]
        lookback = (keyword.first_mention or watch.first_mention).lookback_days
        if store.seen_before(
            keyword.name, run_date, first_day - timedelta(days=lookback), run_date
        ):
            continue
        title, text = text_of(doc_key)
        sentence = _first_sentence_with(text, keyword.terms)
        found.append(
            Candidate(
                key=f"first_mention:{keyword.name}:{first_day.isoformat()}",
                rule="first_mention",
                keyword=keyword.name,
                day=first_day,
                summary=f"First mention of {keyword.name!r} in {lookback} days: {title}",
                sentence=sentence,
                article_id=_article_id(doc_key),
                evidence=tuple(
                    Evidence("new" if k == doc_key else "support", k, None)
                    for _, k in run_mentions[keyword.name]
                ),
                details={"lookback_days": lookback},
            )
        )

    # spike and drop on the run's day
    timed = [k for k in watch.keywords if {"spike", "drop"} & set(watch.rules_of(k))]
    if timed:
        widest = max(
            max((k.spike or watch.spike).baseline_days, (k.drop or watch.drop).baseline_days)
            for k in timed
        )
        counts = store.daily_story_counts(
            [k.name for k in timed], run_date - timedelta(days=widest), run_date
        )
        data_start = store.first_data_day()
        for keyword in timed:
            series = counts[keyword.name]
            today = series.get(run_date, 0)
            rules = watch.rules_of(keyword)
            if "spike" in rules:
                spike = keyword.spike or watch.spike
                v = spike_test(
                    today, _baseline(series, run_date, spike.baseline_days, data_start), spike
                )
                if v.fired:
                    found.append(_timed(store, "spike", keyword, run_date, v))
            if "drop" in rules:
                drop = keyword.drop or watch.drop
                v = drop_test(
                    today, _baseline(series, run_date, drop.baseline_days, data_start), drop
                )
                if v.fired:
                    found.append(_timed(store, "drop", keyword, run_date, v))

    # co-occurrence
    pairs = sorted(
        {
            tuple(sorted((k.name, p)))
            for k in watch.keywords
            if "co_occurrence" in watch.rules_of(k)
            for p in k.co_occurs_with
        }
    )
    if pairs:
        docs = store.docs_with(sorted({name for pair in pairs for name in pair}))
        for a, b in pairs:
            both = sorted(docs[a] & docs[b], key=lambda k: (k.split(":")[0], int(k.split(":")[1])))
            if not both:
                continue
            runs = store.doc_run_dates(both)
            today_docs = [k for k in both if runs[k] == run_date]
            earlier = [k for k in both if (d := runs[k]) is None or d < run_date]
            if not today_docs or earlier:
                continue
            title, text = text_of(today_docs[0])
            terms = [*_terms(cfg, a), *_terms(cfg, b)]
            sentence = next(
                (
                    s
                    for s in sentences(text)
                    if any(count_term(t, s) for t in _terms(cfg, a))
                    and any(count_term(t, s) for t in _terms(cfg, b))
                ),
                None,
            ) or _first_sentence_with(text, terms)
            found.append(
                Candidate(
                    key=f"co_occurrence:{a}+{b}",
                    rule="co_occurrence",
                    keyword=f"{a} + {b}",
                    day=run_date,
                    summary=f"{a} and {b} together for the first time: {title}",
                    sentence=sentence,
                    article_id=_article_id(today_docs[0]),
                    evidence=tuple(
                        Evidence("new" if k == today_docs[0] else "support", k, None)
                        for k in today_docs
                    ),
                    details={"pair": [a, b], "stories": len(today_docs)},
                )
            )
    return found


def _terms(cfg: Config, name: str) -> list[str]:
    keyword = cfg.watch.keyword(name)
    return keyword.terms if keyword is not None else [name]


def _timed(store: Store, rule: str, keyword: WatchKeyword, day: date, v: Verdict) -> Candidate:
    docs = store.stories_on(keyword.name, day)
    verb = "spiking" if rule == "spike" else "dropping"
    summary = (
        f"{keyword.name} {verb}: {v.count} stor{'y' if v.count == 1 else 'ies'} on "
        f"{day.isoformat()} against {v.mean:.1f} a day over the {v.baseline_days} days before"
    )
    return Candidate(
        key=f"{rule}:{keyword.name}:{day.isoformat()}",
        rule=rule,
        keyword=keyword.name,
        day=day,
        summary=summary,
        old_value=f"{v.mean:.1f}/day",
        new_value=str(v.count),
        article_id=_article_id(docs[0]) if docs else None,
        evidence=tuple(Evidence("support", k, None) for k in docs),
        details={
            "count": v.count,
            "mean": round(v.mean, 3),
            "std": round(v.std, 3),
            "baseline_days": v.baseline_days,
        },
    )


def raise_alerts(
    store: Store, candidates: Sequence[Candidate], run_date: date, cooldown_days: int
) -> list[int]:
    """Store each candidate once (natural key); repeats within the cool-down of an alert
    of the same rule and keyword are stored as ``suppressed``, except corroborated figure
    changes, which always go out; unconfirmed figures are stored as ``unconfirmed`` (or
    ``suppressed`` within the cool-down). Returns the new ids of alerts to send."""
    raised: list[int] = []
    for c in candidates:
        status, note = "pending" if c.confirmed is not False else "unconfirmed", None
        if cooldown_days > 0 and not c.confirmed:
            earlier = store.recent_alert(
                c.rule, c.keyword, c.day - timedelta(days=cooldown_days), c.day
            )
            if earlier is not None:
                status = "suppressed"
                note = (
                    f"cool-down: alert #{earlier} ({c.rule}, {c.keyword}) "
                    f"within {cooldown_days} days"
                )
        alert_id = store.add_alert(
            c.key,
            run_date,
            evidence=c.evidence,
            rule=c.rule,
            keyword=c.keyword,
            summary=c.summary,
            old_value=c.old_value,
            new_value=c.new_value,
            sentence=c.sentence,
            old_sentence=c.old_sentence,
            article_id=c.article_id,
            old_article_id=c.old_article_id,
            old_seed_id=c.old_seed_id,
            reported_by=c.reported_by,
            day=c.day,
            status=status,
            note=note,
            details=dict(c.details),
        )
        if alert_id is None:
            continue
        if status == "pending":
            raised.append(alert_id)
        elif status == "unconfirmed":
            LOGGER.info("figure %s unconfirmed: one outlet so far", c.key)
        else:
            LOGGER.info("alert %s suppressed: %s", c.key, note)
    return raised
