"""The evaluation corpora under tests/eval/: files that carry their own labels.

``relevance/*.txt``: a header (``label: relevant|off_topic``, ``kind``, ``language``,
``title``), a blank line, then the article body.

``pairs/*.txt``: a header (``label: duplicate|distinct``, ``kind``) and two documents,
each given as ``a: <relevance file>`` / ``b: <relevance file>``, or inline after
``--- a ---`` / ``--- b ---`` lines, or as ``b_from: <relevance file>`` with edits
(``b_title:``, ``b_prefix:``, ``b_suffix:``, ``b_replace: old => new``, repeatable) that
turn a stored article into its copy (a syndicated copy with an outlet's boilerplate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EVAL = Path(__file__).resolve().parent / "eval"
RELEVANCE_DIR = EVAL / "relevance"
PAIRS_DIR = EVAL / "pairs"


@dataclass(frozen=True)
class LabelledArticle:
    name: str
    label: str
    kind: str
    language: str
    title: str
    body: str


@dataclass(frozen=True)
class LabelledPair:
    name: str
    label: str
    kind: str
    a_title: str
    a: str
    b_title: str
    b: str


def _header(lines: list[str]) -> tuple[dict[str, list[str]], int]:
    header: dict[str, list[str]] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            return header, i + 1
        key, _, value = line.partition(":")
        header.setdefault(key.strip(), []).append(value.strip())
    return header, len(lines)


def load_article(path: Path) -> LabelledArticle:
    lines = path.read_text(encoding="utf-8").splitlines()
    header, start = _header(lines)
    body = "\n".join(lines[start:]).strip()
    return LabelledArticle(
        path.stem,
        header["label"][0],
        header["kind"][0],
        header["language"][0],
        header["title"][0],
        body,
    )


def articles() -> list[LabelledArticle]:
    return [load_article(p) for p in sorted(RELEVANCE_DIR.glob("*.txt"))]


def load_pair(path: Path) -> LabelledPair:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    header, start = _header(lines)
    inline: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[start:]:
        if line.strip() in ("--- a ---", "--- b ---"):
            current = line.strip()[4]
            inline[current] = []
        elif current is not None:
            inline[current].append(line)

    def doc(side: str) -> tuple[str, str]:
        if side in header:
            ref = load_article(RELEVANCE_DIR / f"{header[side][0]}.txt")
            return ref.title, ref.body
        if side in inline:
            sub, body_at = _header(inline[side])
            return sub["title"][0], "\n".join(inline[side][body_at:]).strip()
        base = load_article(RELEVANCE_DIR / f"{header[f'{side}_from'][0]}.txt")
        title, body = base.title, base.body
        for edit in header.get(f"{side}_replace", []):
            old, _, new = edit.partition(" => ")
            assert old in body, f"{path.name}: {old!r} not in {base.name}"
            body = body.replace(old, new)
        title = header.get(f"{side}_title", [title])[0]
        prefix = header.get(f"{side}_prefix", [""])[0]
        suffix = header.get(f"{side}_suffix", [""])[0]
        return title, "\n".join(part for part in (prefix, body, suffix) if part)

    a_title, a = doc("a")
    b_title, b = doc("b")
    return LabelledPair(path.stem, header["label"][0], header["kind"][0], a_title, a, b_title, b)


def pairs() -> list[LabelledPair]:
    return [load_pair(p) for p in sorted(PAIRS_DIR.glob("*.txt"))]


def precision_recall(predicted: list[bool], expected: list[bool]) -> tuple[float, float]:
    tp = sum(p and e for p, e in zip(predicted, expected, strict=True))
    fp = sum(p and not e for p, e in zip(predicted, expected, strict=True))
    fn = sum(e and not p for p, e in zip(predicted, expected, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall
