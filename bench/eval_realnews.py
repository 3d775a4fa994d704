"""The tracked-figure reader and the topic profile on the real-news set (tests/eval/realnews):
relevance precision and recall, the current figure read right per tracked item, false
readings (a current figure read from an item that states none for that id), and every miss
with the item, the expected and the read value.

    PYTHONPATH=src python bench/eval_realnews.py                 # the main set
    PYTHONPATH=src python bench/eval_realnews.py --set heldout   # tests/eval/realnews_heldout
    PYTHONPATH=src python bench/eval_realnews.py --dir PATH      # any folder in that format
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from eval_corpus import (  # noqa: E402
    REALNEWS_DIR,
    REALNEWS_HELDOUT_DIR,
    RealNewsItem,
    load_realnews,
    precision_recall,
)

from monitor import relevance  # noqa: E402
from monitor.config import Config, load_config  # noqa: E402
from monitor.detect.figures import Reading, current_figures, read_figures  # noqa: E402


@dataclass(frozen=True, slots=True)
class Miss:
    item: str  # the evaluation item's file name
    figure: str  # tracked id
    expected: str  # "15%" or "none"
    read: str  # "20%" or "none"
    sentence: str  # the sentence the wrong value came from ("" when nothing was read)
    reason: str


@dataclass
class ItemScore:
    figure: str
    name: str
    right: int = 0
    total: int = 0
    false_readings: int = 0

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass
class Evaluation:
    items: int
    precision: float
    recall: float
    relevance_wrong: list[str]
    scores: dict[str, ItemScore]
    misses: list[Miss] = field(default_factory=list)
    # Threatened or proposed values in the labels: (read as a threat, total); a value
    # labelled under a free-text name counts when any reading of it is a threat.
    threats: tuple[int, int] = (0, 0)
    threat_misses: list[str] = field(default_factory=list)

    def combined(self, *figures: str) -> float:
        right = sum(self.scores[f].right for f in figures)
        total = sum(self.scores[f].total for f in figures)
        return right / total if total else 1.0


def _show(value: float, unit: str) -> str:
    number = f"{value:g}"
    return f"{number}%" if unit == "%" else f"{number} {unit}"


def article_text(item: RealNewsItem) -> str:
    """What the pipeline reads: the headline as the first paragraph, then the body."""
    return f"{item.title}\n\n{item.body}"


def read_item(item: RealNewsItem, cfg: Config) -> list[Reading]:
    return read_figures(article_text(item), cfg.watch.tracked)


SETS = {"main": REALNEWS_DIR, "heldout": REALNEWS_HELDOUT_DIR}


def evaluate(cfg: Config | None = None, directory: Path | None = None) -> Evaluation:
    cfg = cfg or load_config(env={})
    items = load_realnews(directory)
    predicted, expected, wrong = [], [], []
    scores = {t.id: ItemScore(t.id, t.name) for t in cfg.watch.tracked}
    misses: list[Miss] = []
    threats_right = threats_total = 0
    threat_misses: list[str] = []
    for item in items:
        result = relevance.score(item.title, item.body, cfg.topic)
        predicted.append(result.relevant)
        expected.append(item.on_topic)
        if result.relevant != item.on_topic:
            wrong.append(f"{item.name} ({item.kind}): {result.explain(cfg.topic.threshold)}")
        readings = read_item(item, cfg)
        current = current_figures(readings)
        for name, (value, unit) in item.threat.items():
            threats_total += 1
            if any(
                r.status == "threat"
                and (r.value, r.unit) == (value, unit)
                and (r.item == name or name not in scores)
                for r in readings
            ):
                threats_right += 1
            else:
                threat_misses.append(f"{item.name}: {name}={_show(value, unit)}")
        for fid, score in scores.items():
            got = current.get(fid)
            want = item.figures.get(fid)
            if want is not None:
                score.total += 1
                if got is not None and (got.value, got.unit) == want:
                    score.right += 1
                    continue
            elif got is None:
                continue
            else:
                score.false_readings += 1
            misses.append(
                Miss(
                    item.name,
                    fid,
                    _show(*want) if want else "none",
                    _show(got.value, got.unit) if got else "none",
                    got.sentence if got else "",
                    got.reason if got else "",
                )
            )
    precision, recall = precision_recall(predicted, expected)
    return Evaluation(
        len(items),
        precision,
        recall,
        wrong,
        scores,
        misses,
        (threats_right, threats_total),
        threat_misses,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--set", choices=sorted(SETS), default="main", help="a shipped set")
    which.add_argument("--dir", type=Path, help="a folder of items in the realnews format")
    args = parser.parse_args(argv)
    directory = args.dir if args.dir is not None else SETS[args.set]
    ev = evaluate(directory=directory)
    on_topic = sum(1 for i in load_realnews(directory) if i.on_topic)
    print(f"real-news set {directory.name}: {ev.items} items ({on_topic} on topic)")
    print(f"relevance: precision {ev.precision:.3f}  recall {ev.recall:.3f}")
    for line in ev.relevance_wrong:
        print(f"  wrong: {line}")
    print("figures (current value read right / items stating one; false readings):")
    for score in ev.scores.values():
        print(
            f"  {score.figure:22} {score.right:3}/{score.total:<3} = {score.accuracy:.3f}"
            f"   false readings {score.false_readings}   ({score.name})"
        )
    print(
        "  investment (tsmc_us_investment + taiwan_us_investment) "
        f"{ev.combined('tsmc_us_investment', 'taiwan_us_investment'):.3f}"
    )
    right, total = ev.threats
    print(f"threats/proposals read as such: {right}/{total}")
    for line in ev.threat_misses:
        print(f"  not read as a threat: {line}")
    print(f"misses ({len(ev.misses)}):")
    for miss in ev.misses:
        print(f"  {miss.item}: {miss.figure} expected {miss.expected}, read {miss.read}")
        if miss.sentence:
            print(f"      from: {miss.sentence[:200]}")
            print(f"      why:  {miss.reason}")
    # The scenario items through the whole pipeline: its alerts (bench/eval_scenario.py).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from eval_scenario import print_scenario, run_scenario

    print_scenario(run_scenario())


if __name__ == "__main__":
    main()
