"""Stories and the analyst's view of dedup decisions: why an article was kept or
merged (``monitor explain``), and undoing a wrong merge (``monitor dedup undo``).

An unknown article is data, not an exception: the results carry ``found=False`` and the
CLI says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor import dedup, display, relevance
from monitor.config import Config
from monitor.storage import ArticleFacts, DedupStore, Store


@dataclass(frozen=True, slots=True)
class Explanation:
    found: bool
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UndoResult:
    status: str  # separated | not_found | not_merged
    message: str
    article_id: int | None = None
    new_story_id: int | None = None


def _dstore(store: Store, cfg: Config) -> DedupStore:
    return DedupStore(store, dedup.BandLayout.for_config(cfg.dedup))


def _matched_text(dstore: DedupStore, key: str) -> tuple[str, str] | None:
    """(label, text) of a matched document "article:12" / "seed:3"."""
    kind, _, raw_id = key.partition(":")
    if kind == "seed":
        seed = dstore.seed_title(int(raw_id))
        return None if seed is None else (f"seed #{raw_id} {seed[0]}: {seed[1]}", seed[2])
    other = dstore.article(int(raw_id))
    if other is None:
        return None
    return f"article #{other.id} {other.source}: {other.title} <{other.canonical_url}>", other.text


_DUPLICATE = re.compile(r"^duplicate \((\w+)\):\s*")


def _article_decision(a: ArticleFacts) -> str:
    """What happened to the article, then why, each said once: ``kept, relevant: …``,
    ``dropped, off-topic: …``, ``merged, near_duplicate: …``, ``separated by an analyst…``.
    The stored decision text starts with its own verdict ("kept: off-topic: …"), which
    is dropped here so "kept" never stands before "off-topic"."""
    reason = a.decision.removeprefix("kept: ")
    merged = _DUPLICATE.match(reason)
    if merged is not None:
        return f"merged, {merged.group(1)}: {reason[merged.end() :]}"
    if reason.startswith("separated"):
        return reason
    if reason.startswith("off-topic") or not a.relevant:
        return "dropped, " + reason
    return "kept, " + reason


def _entry_decision(state: str, decision: str | None) -> str:
    """A feed item's fate, said once (``merged, canonical_url: same URL as article #1``)."""
    if not decision:
        return state
    merged = _DUPLICATE.match(decision)
    if merged is not None:
        return f"merged, {merged.group(1)}: {decision[merged.end() :]}"
    if decision.startswith(state):
        return decision
    return f"{state}: {decision}"


def _article_lines(cfg: Config, dstore: DedupStore, a: ArticleFacts) -> list[str]:
    published = display.moment(a.published_at)
    lines = [
        f"article #{a.id}: {a.title}",
        f"  url         {a.canonical_url}",
        f"  outlet      {a.source}, published {published}, language {a.language or '-'}",
        f"  version     {a.version}",
        f"  decision    {_article_decision(a)}",
    ]
    if a.dedup_match:
        matched = _matched_text(dstore, a.dedup_match)
        if matched is not None:
            label, other_text = matched
            exact = dedup.exact_similarity(a.text, other_text, cfg.dedup.shingle_words)
            lines.append(f"  matched     {label}")
            estimate = f"{a.similarity:.2f}" if a.similarity is not None else "-"
            lines.append(
                f"  similarity  estimated {estimate} (MinHash), exact shingle Jaccard {exact:.2f}"
                f" (threshold {cfg.dedup.near_duplicate_threshold:g})"
            )
    terms = "; ".join(f"{facet}: {', '.join(t) or '-'}" for facet, t in a.matched_terms.items())
    verdict = "relevant" if a.relevant else "off-topic"
    lines.append(
        f"  relevance   {verdict}, score {a.relevance:g} (threshold {cfg.topic.threshold:g})"
    )
    lines.append(f"  terms       {terms}")
    # Scored again from the stored text with today's topic, so an analyst sees which
    # occurrences counted and which were discounted, and why.
    rescored = relevance.score(a.title, a.text, cfg.topic)
    if rescored.relevant != a.relevant:
        now = "relevant" if rescored.relevant else "off-topic"
        lines.append(
            f"  now         {now} with today's topic: {rescored.explain(cfg.topic.threshold)}"
        )
    lines += [f"  {line}" for line in relevance.explain_lines(rescored)]
    if a.story_id is not None:
        story = dstore.story(a.story_id)
        if story is not None:
            first = display.moment(story.first_published_at)
            origin = f", copy of seed {story.seed_name}" if story.seed_name else ""
            lines.append(
                f"  story       #{story.id}{origin}: {display.plural(story.copies, 'copy')}; "
                f"first {story.first_outlet or '-'} at {first}; canonical article "
                f"#{story.canonical_article_id}; outlets {', '.join(story.outlets) or '-'}"
            )
    for v in dstore.versions(a.id):
        lines.append(f"  version {v.version} (replaced {display.moment(v.replaced_at)}): {v.title}")
        lines += [f"      {line}" for line in v.diff.splitlines()]
    return lines


def explain(cfg: Config, ref: str) -> Explanation:
    """Why an article (id or URL) was kept or merged; for a feed item that made no
    article (an exact copy), the item's decision and the article it pointed at."""
    store = Store(cfg.db_url)
    try:
        dstore = _dstore(store, cfg)
        article = dstore.article_by_ref(ref)
        if article is not None:
            return Explanation(True, tuple(_article_lines(cfg, dstore, article)))
        lines: list[str] = []
        for e in dstore.entries_by_ref(ref):
            lines.append(f"feed item #{e.id} ({e.feed_name}): {e.title}")
            lines.append(f"  link        {e.link}")
            lines.append(f"  decision    {_entry_decision(e.state, e.decision)}")
            if e.article_id is not None:
                target = dstore.article(e.article_id)
                if target is not None:
                    lines += ["  " + line for line in _article_lines(cfg, dstore, target)]
        if lines:
            return Explanation(True, tuple(lines))
        return Explanation(False, (f"no article or feed item {ref!r}",))
    finally:
        store.close()


def undo(cfg: Config, ref: str) -> UndoResult:
    """Separate a merged article: its own story, back among kept articles, and never
    merged with that document again."""
    store = Store(cfg.db_url)
    try:
        dstore = _dstore(store, cfg)
        a = dstore.article_by_ref(ref)
        if a is None:
            return UndoResult("not_found", f"no article {ref!r}")
        if a.dedup_match is None or a.dedup_rule in ("kept", "separated"):
            return UndoResult(
                "not_merged", f"article #{a.id} is not merged with anything", a.id, a.story_id
            )
        other = a.dedup_match
        decision = f"kept: separated by an analyst from {other} (was: {a.decision})"
        dstore.separate(a.id, other, decision)
        fp = dedup.fingerprint(
            a.text, num_perm=cfg.dedup.num_perm, shingle_words=cfg.dedup.shingle_words
        )
        dstore.add_signature("article", a.id, a.published_at, fp)
        after = dstore.article(a.id)
        story_id = after.story_id if after is not None else None
        return UndoResult(
            "separated",
            f"article #{a.id} separated from {other}; now story #{story_id}",
            a.id,
            story_id,
        )
    finally:
        store.close()
