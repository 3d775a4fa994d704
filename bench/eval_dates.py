"""Exact-day accuracy of publication dates, for the pipeline's extraction and for bare
htmldate side by side. A page with no date is right when nothing is returned.

Two labelled sets:

- ``--set generated`` (default): tests/eval/dates, pages written for it, each with its
  gold day in gold.tsv.
- ``--set real``: the 181 real news pages of ../shared/corpora/article-extraction-benchmark,
  labelled by reading each page (tests/eval/dates_real/labels.json holds only the labels;
  the pages are read from ../shared). htmldate runs with ``extensive_search`` on and off.

    PYTHONPATH=src python bench/eval_dates.py [--set real] [--misses]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATES = ROOT / "tests" / "eval" / "dates"
REAL_LABELS = ROOT / "tests" / "eval" / "dates_real" / "labels.json"
sys.path.insert(0, str(ROOT / "src"))

from htmldate import find_date  # noqa: E402

from monitor.extract import extract_page  # noqa: E402


def real_corpus() -> Path | None:
    """../shared/corpora/article-extraction-benchmark (a worktree sits one level deeper)."""
    for candidate in (
        ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark",
        Path("/work/shared/corpora/article-extraction-benchmark"),
    ):
        if (candidate / "html").is_dir():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Labelled:
    file: str
    url: str
    gold: date | None
    kind: str
    path: Path

    def html(self) -> str:
        if self.path.suffix == ".gz":
            return gzip.decompress(self.path.read_bytes()).decode("utf-8", "replace")
        return self.path.read_text(encoding="utf-8")


def labelled() -> list[Labelled]:
    """The generated set (tests/eval/dates)."""
    rows = (DATES / "gold.tsv").read_text(encoding="utf-8").splitlines()[1:]
    out = []
    for row in rows:
        file, url, gold = row.split("\t")
        out.append(
            Labelled(
                file,
                url,
                None if gold == "-" else date.fromisoformat(gold),
                file.split("-", 1)[1].removesuffix(".html"),
                DATES / "pages" / file,
            )
        )
    return out


_KINDS = (
    # (kind, words in a label's note), first match wins
    ("zone shift", ("UTC", "EST", "CST", "PST", "HST", " ET", "local")),
    ("non-English", ("Indonesian", "German", "Portuguese", "Russian", "Italian", "day-first")),
    ("update shown", ("update", "modified")),
    ("other dates", ("comment", "sidebar", "masthead", "nav ")),
)


def _real_kind(gold: date | None, note: str) -> str:
    if gold is None:
        return "none"
    return next((kind for kind, words in _KINDS if any(w in note for w in words)), "plain")


def real(corpus: Path | None = None) -> list[Labelled]:
    """The real-page set; its kind is read from the label's note (what makes it hard)."""
    corpus = corpus or real_corpus()
    if corpus is None:
        raise SystemExit("../shared/corpora/article-extraction-benchmark not found")
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    labels = json.loads(REAL_LABELS.read_text(encoding="utf-8"))["pages"]
    out = []
    for label in labels:
        key = label["file"].removesuffix(".html.gz")
        gold = date.fromisoformat(label["date"]) if label["date"] else None
        kind = _real_kind(gold, label["where"])
        out.append(
            Labelled(label["file"], truth[key]["url"], gold, kind, corpus / "html" / label["file"])
        )
    return out


def pipeline_day(item: Labelled) -> date | None:
    return extract_page(item.html(), item.url).published_date


def htmldate_day(item: Labelled, *, extensive: bool = True) -> date | None:
    found = find_date(item.html(), url=item.url, original_date=True, extensive_search=extensive)
    return date.fromisoformat(found) if found else None


Predict = Callable[[Labelled], date | None]


def accuracy(
    predict: Predict, items: list[Labelled] | None = None
) -> tuple[float, list[tuple[Labelled, date | None]]]:
    """Share of ``items`` (default: the generated set) right, and the misses."""
    items = labelled() if items is None else items
    misses = []
    for item in items:
        got = predict(item)
        if got != item.gold:
            misses.append((item, got))
    return 1 - len(misses) / len(items), misses


def invented(misses: list[tuple[Labelled, date | None]]) -> int:
    """Pages with no publication date that were given one."""
    return sum(item.gold is None and got is not None for item, got in misses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=("generated", "real"), default="generated")
    parser.add_argument("--misses", action="store_true", help="List every wrong page.")
    args = parser.parse_args()
    items = real() if args.set == "real" else labelled()
    runs: list[tuple[str, Predict]] = [("pipeline", pipeline_day)]
    if args.set == "real":
        runs += [
            ("htmldate ext", lambda i: htmldate_day(i, extensive=True)),
            ("htmldate fast", lambda i: htmldate_day(i, extensive=False)),
        ]
    else:
        runs.append(("htmldate", htmldate_day))
    results = {name: accuracy(predict, items) for name, predict in runs}
    undated = sum(i.gold is None for i in items)
    print(f"set {args.set}: {len(items)} labelled pages, {undated} without a date")
    print(
        "exact-day accuracy  "
        + "   ".join(f"{name} {acc:.3f}" for name, (acc, _) in results.items())
    )
    print(
        "date where none     "
        + "   ".join(f"{name} {invented(m)}" for name, (_, m) in results.items())
    )
    by_kind = Counter(i.kind for i in items)
    print(f"{'kind':18} pages  " + "  ".join(f"{name:>13}" for name in results))
    for kind, n in by_kind.most_common():
        cells = []
        for _, misses in results.values():
            wrong = sum(i.kind == kind for i, _ in misses)
            cells.append(f"{1 - wrong / n:13.3f}")
        print(f"{kind:18} {n:5}  " + "  ".join(cells))
    if args.misses:
        for name, (_, misses) in results.items():
            for item, got in misses:
                print(f"  {name} miss {item.file[:12]} {item.url[:80]}: gold {item.gold} got {got}")


if __name__ == "__main__":
    main()
