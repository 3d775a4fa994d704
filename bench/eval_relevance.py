"""Precision and recall of the shipped topic profile on tests/eval/relevance and on the
real-news set (tests/eval/realnews), with every misclassified article and the language
accuracy.

    PYTHONPATH=src python bench/eval_relevance.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from eval_corpus import articles, load_realnews, precision_recall  # noqa: E402

from monitor import language, relevance  # noqa: E402
from monitor.config import load_config  # noqa: E402


def main() -> None:
    cfg = load_config(env={})
    items = articles()
    predicted, expected, lang_ok = [], [], 0
    for a in items:
        result = relevance.score(a.title, a.body, cfg.topic)
        predicted.append(result.relevant)
        expected.append(a.label == "relevant")
        lang_ok += language.detect(a.body) == a.language
        if result.relevant != (a.label == "relevant"):
            print(f"  wrong: {a.name} ({a.kind}): {result.explain(cfg.topic.threshold)}")
    precision, recall = precision_recall(predicted, expected)
    kinds = Counter(a.kind for a in items)
    print(
        f"relevance: {len(items)} labelled articles ({sum(expected)} relevant), {len(kinds)} kinds"
    )
    print(f"  precision {precision:.3f}  recall {recall:.3f}  (goal ≥ 0.95 each)")
    print(f"  language  {lang_ok}/{len(items)} detected as labelled")
    real = load_realnews()
    got = []
    for item in real:
        result = relevance.score(item.title, item.body, cfg.topic)
        got.append(result.relevant)
        if result.relevant != item.on_topic:
            print(f"  wrong: {item.name} ({item.kind}): {result.explain(cfg.topic.threshold)}")
    precision, recall = precision_recall(got, [item.on_topic for item in real])
    on = sum(item.on_topic for item in real)
    print(f"real news: {len(real)} items ({on} on topic)")
    print(f"  precision {precision:.3f}  recall {recall:.3f}  (goal ≥ 0.97 each)")


if __name__ == "__main__":
    main()
