"""Extraction cost and quality on the 181 real pages of
../shared/corpora/article-extraction-benchmark: the pipeline's extraction (one parse:
text, date, headline, canonical link, language) against bare ``trafilatura.extract``,
side by side in one run. CPU milliseconds per page (process time, median and mean) and
body F1 by the corpus's scoring method: word 4-gram multisets of ``\\w+`` tokens per page,
precision averaged over pages that produced text, recall over pages with ground truth.

    PYTHONPATH=src python bench/bench_extract.py [--repeat 3] [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import trafilatura  # noqa: E402

from monitor.pages import read_page  # noqa: E402

CORPUS_PLACES = (
    ROOT.parent / "shared" / "corpora" / "article-extraction-benchmark",
    Path("/work/shared/corpora/article-extraction-benchmark"),
)
TOKEN = re.compile(r"\w+")


def corpus() -> list[tuple[str, bytes, str, str]]:
    """(id, body, url, ground-truth text) per page."""
    place = next((p for p in CORPUS_PLACES if (p / "ground-truth.json").exists()), None)
    if place is None:
        raise SystemExit("article-extraction-benchmark corpus not found")
    truth = json.loads((place / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for path in sorted((place / "html").glob("*.html.gz")):
        key = path.name.split(".")[0]
        out.append(
            (key, gzip.decompress(path.read_bytes()), truth[key]["url"], truth[key]["articleBody"])
        )
    return out


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + 4]) for i in range(max(len(tokens) - 3, 0)))


def f1(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(F1, precision, recall) over (predicted, expected) texts, the corpus's way."""
    precisions, recalls = [], []
    for predicted, expected in pairs:
        p, e = _shingles(predicted), _shingles(expected)
        tp = sum((p & e).values())
        if p:
            precisions.append(tp / sum(p.values()))
        if e:
            recalls.append(tp / sum(e.values()))
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    return 2 * precision * recall / (precision + recall or 1), precision, recall


def measure(
    pages: list[tuple[str, bytes, str, str]],
    runs: list[Callable[[bytes, str], str]],
    repeat: int,
) -> list[tuple[list[float], list[tuple[str, str]]]]:
    """Each extractor on each page in turn (so a busy moment of the machine hits both
    alike), the fastest of ``repeat`` runs counting."""
    out: list[tuple[list[float], list[tuple[str, str]]]] = [([], []) for _ in runs]
    for _key, body, url, expected in pages:
        best = [float("inf")] * len(runs)
        texts = [""] * len(runs)
        for _ in range(repeat):
            for i, run in enumerate(runs):
                start = time.process_time()
                texts[i] = run(body, url)
                best[i] = min(best[i], time.process_time() - start)
        for i in range(len(runs)):
            out[i][0].append(best[i] * 1000)
            out[i][1].append((texts[i], expected))
    return out


def pipeline(body: bytes, url: str) -> str:
    return read_page(body, {"content-type": "text/html; charset=utf-8"}, url).text


def bare(body: bytes, url: str) -> str:
    return (
        trafilatura.extract(body.decode("utf-8", "replace"), url=url, include_comments=False) or ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per page; the fastest counts.")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N pages.")
    args = parser.parse_args()
    pages = corpus()[: args.limit or None]
    bare(pages[0][1], pages[0][2])  # warm imports and caches for both
    pipeline(pages[0][1], pages[0][2])
    rows = []
    names = ("bare trafilatura.extract", "pipeline (text + metadata)")
    for name, (costs, pairs) in zip(
        names, measure(pages, [bare, pipeline], args.repeat), strict=True
    ):
        score, precision, recall = f1(pairs)
        rows.append(
            (name, statistics.median(costs), statistics.fmean(costs), score, precision, recall)
        )
    print(
        f"{len(pages)} pages of article-extraction-benchmark, CPU ms/page (best of {args.repeat})"
    )
    print(f"{'extractor':28} {'median':>7} {'mean':>7} {'F1':>6} {'prec':>6} {'recall':>6}")
    for name, median, mean, score, precision, recall in rows:
        print(f"{name:28} {median:7.1f} {mean:7.1f} {score:6.3f} {precision:6.3f} {recall:6.3f}")
    median_ratio, mean_ratio = rows[1][1] / rows[0][1], rows[1][2] / rows[0][2]
    print(f"pipeline / bare: {median_ratio:.2f}x median, {mean_ratio:.2f}x mean")


if __name__ == "__main__":
    main()
