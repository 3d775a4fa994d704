"""Exact-day accuracy of publication dates on tests/eval/dates (pages written for it,
each with its gold day in gold.tsv), for the pipeline's extraction and for bare htmldate
side by side. A page with no date is right when nothing is returned.

    PYTHONPATH=src python bench/eval_dates.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATES = ROOT / "tests" / "eval" / "dates"
sys.path.insert(0, str(ROOT / "src"))

from htmldate import find_date  # noqa: E402

from monitor.extract import extract_page  # noqa: E402


@dataclass(frozen=True, slots=True)
class Labelled:
    file: str
    url: str
    gold: date | None

    @property
    def kind(self) -> str:
        return self.file.split("-", 1)[1].removesuffix(".html")


def labelled() -> list[Labelled]:
    rows = (DATES / "gold.tsv").read_text(encoding="utf-8").splitlines()[1:]
    out = []
    for row in rows:
        file, url, gold = row.split("\t")
        out.append(Labelled(file, url, None if gold == "-" else date.fromisoformat(gold)))
    return out


def pipeline_day(item: Labelled) -> date | None:
    html = (DATES / "pages" / item.file).read_text(encoding="utf-8")
    return extract_page(html, item.url).published_date


def htmldate_day(item: Labelled) -> date | None:
    html = (DATES / "pages" / item.file).read_text(encoding="utf-8")
    found = find_date(html, url=item.url, original_date=True)
    return date.fromisoformat(found) if found else None


def accuracy(predict: object) -> tuple[float, list[tuple[Labelled, date | None]]]:
    items = labelled()
    misses = []
    for item in items:
        got = predict(item)  # type: ignore[operator]
        if got != item.gold:
            misses.append((item, got))
    return 1 - len(misses) / len(items), misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="List every wrong page.")
    args = parser.parse_args()
    items = labelled()
    ours, our_misses = accuracy(pipeline_day)
    theirs, their_misses = accuracy(htmldate_day)
    print(f"{len(items)} labelled pages, {sum(i.gold is None for i in items)} without a date")
    print(f"exact-day accuracy  pipeline {ours:.3f}   htmldate (original_date) {theirs:.3f}")
    by_kind = Counter(i.kind for i in items)
    ours_by = Counter(i.kind for i, _ in our_misses)
    theirs_by = Counter(i.kind for i, _ in their_misses)
    print(f"{'kind':18} pages  pipeline  htmldate")
    for kind, n in by_kind.items():
        print(f"{kind:18} {n:5}  {1 - ours_by[kind] / n:8.3f}  {1 - theirs_by[kind] / n:8.3f}")
    if args.misses:
        for item, got in our_misses:
            print(f"  pipeline miss {item.file}: gold {item.gold} got {got}")
        for item, got in their_misses:
            print(f"  htmldate miss {item.file}: gold {item.gold} got {got}")


if __name__ == "__main__":
    main()
