"""Precision and recall of near-duplicate detection on tests/eval/pairs, through the
persisted LSH (a SQLite index of every pair's first document; each second document must
find its own first document), with the similarity of every pair.

    PYTHONPATH=src python bench/eval_dedup.py
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from eval_corpus import pairs, precision_recall  # noqa: E402

from monitor import dedup  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.storage import DedupStore, Store  # noqa: E402


def main() -> None:
    cfg = load_config(env={}).dedup
    items = pairs()

    def fp(text: str) -> dedup.Fingerprint:
        return dedup.fingerprint(text, num_perm=cfg.num_perm, shingle_words=cfg.shingle_words)

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/eval.db")
        try:
            store.migrate()
            dstore = DedupStore(store, dedup.BandLayout.for_config(cfg))
            ids: dict[str, int] = {}
            for p in items:
                if p.a not in ids:
                    ids[p.a] = len(ids) + 1
                    dstore.add_signature("article", ids[p.a], None, fp(p.a))
            predicted = []
            by_kind: dict[str, list[float]] = defaultdict(list)
            for p in items:
                q = fp(p.b)
                other = dedup.from_bytes(fp(p.a).to_bytes(), cfg.num_perm)
                assert other is not None
                jaccard, _c = dedup.compare(q.signature, q.size, other, fp(p.a).size)
                by_kind[f"{p.label}/{p.kind}"].append(jaccard)
                own = [c for c in dstore.candidates(q, None) if c.id == ids[p.a]]
                hit = dedup.best_match(q, own, cfg) is not None
                predicted.append(hit)
                if hit != (p.label == "duplicate"):
                    print(f"  wrong: {p.name} ({p.label}/{p.kind}) Jaccard {jaccard:.2f}")
        finally:
            store.close()
    precision, recall = precision_recall(predicted, [p.label == "duplicate" for p in items])
    print(
        f"duplicate pairs: {len(items)} labelled "
        f"({sum(p.label == 'duplicate' for p in items)} duplicate)"
    )
    print(f"  precision {precision:.3f}  recall {recall:.3f}  (goal P ≥ 0.99, R ≥ 0.95)")
    print(
        f"  threshold Jaccard ≥ {cfg.near_duplicate_threshold} or containment ≥ "
        f"{cfg.containment_threshold} with Jaccard ≥ {cfg.candidate_threshold}"
    )
    for kind, values in sorted(by_kind.items()):
        print(
            f"  {kind:28} n={len(values):2}  estimated Jaccard {min(values):.2f}–{max(values):.2f}"
        )


if __name__ == "__main__":
    main()
