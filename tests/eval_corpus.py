"""The evaluation corpora under tests/eval/: files that carry their own labels.

``relevance/*.txt``: a header (``label: relevant|off_topic``, ``kind``, ``language``,
``title``), a blank line, then the article body.

``pairs/*.txt``: a header (``label: duplicate|distinct``, ``kind``) and two documents,
each given as ``a: <relevance file>`` / ``b: <relevance file>``, or inline after
``--- a ---`` / ``--- b ---`` lines, or as ``b_from: <relevance file>`` with edits
(``b_title:``, ``b_prefix:``, ``b_suffix:``, ``b_replace: old => new``, repeatable) that
turn a stored article into its copy (a syndicated copy with an outlet's boilerplate).

``realnews/<lang>_<NNN>_<slug>.txt``: items modelled on real reporting (format in
``realnews/README.md``): a header of ``key: value`` lines (outlet, published, language,
on_topic, kind, figures, old, threat, event, optional scenario_day), a blank line, the
headline, a blank line, then the paragraphs. ``load_realnews()`` reads them into
``RealNewsItem`` records and raises ``RealNewsFormatError`` naming the file on a bad header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

EVAL = Path(__file__).resolve().parent / "eval"
RELEVANCE_DIR = EVAL / "relevance"
PAIRS_DIR = EVAL / "pairs"
REALNEWS_DIR = EVAL / "realnews"
# Written after the reader was tuned on realnews/, never used to tune it: an estimate of
# how the reader does on reporting it has not seen (same format, same label rules).
REALNEWS_HELDOUT_DIR = EVAL / "realnews_heldout"


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


# --- realnews -------------------------------------------------------------------------

REALNEWS_KEYS = (
    "outlet",
    "published",
    "language",
    "source_hint",
    "on_topic",
    "kind",
    "figures",
    "old",
    "threat",
    "event",
)
REALNEWS_OPTIONAL_KEYS = ("scenario_day",)
REALNEWS_LANGUAGES = ("en", "zh-Hant", "zh-Hans")
REALNEWS_KINDS = (
    "deal",
    "talks",
    "chip-threat",
    "section232",
    "tsmc-invest",
    "tsmc-earnings",
    "other-country",
    "taiwan-own-tariff",
    "exemption",
    "offtopic-nearmiss",
    "other",
)
# Each tracked figure and the units its value may be given in.
TRACKED_UNITS: dict[str, tuple[str, ...]] = {
    "us_tariff_taiwan": ("%",),
    "section232_chips": ("%",),
    "tsmc_us_investment": ("US$ billion", "NT$ billion"),
    "taiwan_us_investment": ("US$ billion", "NT$ billion"),
}
UNITS = ("%", "US$ billion", "NT$ billion")
_NAME = re.compile(r"^(en|zh)_(\d{3})_[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_FIGURE = re.compile(r"^(?P<id>[A-Za-z0-9_.\- ]+?)=(?P<value>-?\d+(?:\.\d+)?) (?P<unit>.+)$")
_EVENT = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Figures = dict[str, tuple[float, str]]


class RealNewsFormatError(ValueError):
    """A realnews file whose name or header does not follow the format."""


@dataclass(frozen=True, slots=True)
class RealNewsItem:
    name: str
    outlet: str
    published: datetime
    language: str
    on_topic: bool
    kind: str
    figures: Figures
    old: Figures
    threat: Figures
    event: str
    scenario_day: int | None
    title: str
    body: str


def _figures(path: Path, key: str, raw: str, *, tracked_only: bool) -> Figures:
    if raw == "none":
        return {}
    out: Figures = {}
    for part in raw.split(","):
        match = _FIGURE.match(part.strip())
        if match is None:
            raise RealNewsFormatError(f"{path.name}: {key}: cannot read {part.strip()!r}")
        fid, unit = match["id"].strip(), match["unit"].strip()
        if unit not in UNITS:
            raise RealNewsFormatError(f"{path.name}: {key}: unknown unit {unit!r}")
        if fid in TRACKED_UNITS:
            if unit not in TRACKED_UNITS[fid]:
                raise RealNewsFormatError(f"{path.name}: {key}: {fid} cannot be in {unit!r}")
        elif tracked_only:
            raise RealNewsFormatError(f"{path.name}: {key}: unknown id {fid!r}")
        if fid in out:
            raise RealNewsFormatError(f"{path.name}: {key}: {fid} given twice")
        out[fid] = (float(match["value"]), unit)
    return out


def load_realnews_item(path: Path) -> RealNewsItem:
    """Read one item; a bad name or header raises ``RealNewsFormatError`` naming the file."""
    if _NAME.match(path.stem) is None:
        raise RealNewsFormatError(f"{path.name}: name is not <en|zh>_<NNN>_<slug>.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    header: dict[str, str] = {}
    start = len(lines)
    for i, line in enumerate(lines):
        if not line.strip():
            start = i + 1
            break
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in REALNEWS_KEYS + REALNEWS_OPTIONAL_KEYS:
            raise RealNewsFormatError(f"{path.name}: bad header line {line!r}")
        if key in header:
            raise RealNewsFormatError(f"{path.name}: header key {key!r} given twice")
        header[key] = value.strip()
    missing = [k for k in REALNEWS_KEYS if not header.get(k)]
    if missing:
        raise RealNewsFormatError(f"{path.name}: header lacks {', '.join(missing)}")
    try:
        published = datetime.fromisoformat(header["published"])
    except ValueError as exc:
        raise RealNewsFormatError(f"{path.name}: published: {exc}") from None
    if published.tzinfo is None:
        raise RealNewsFormatError(f"{path.name}: published has no time zone")
    language = header["language"]
    if language not in REALNEWS_LANGUAGES:
        raise RealNewsFormatError(f"{path.name}: unknown language {language!r}")
    if (language == "en") != path.name.startswith("en_"):
        raise RealNewsFormatError(f"{path.name}: language {language} does not match the name")
    if header["on_topic"] not in ("yes", "no"):
        raise RealNewsFormatError(f"{path.name}: on_topic must be yes or no")
    if header["kind"] not in REALNEWS_KINDS:
        raise RealNewsFormatError(f"{path.name}: unknown kind {header['kind']!r}")
    if _EVENT.match(header["event"]) is None:
        raise RealNewsFormatError(f"{path.name}: event must be a slug")
    day = header.get("scenario_day")
    if day is not None and day not in ("1", "2"):
        raise RealNewsFormatError(f"{path.name}: scenario_day must be 1 or 2")
    text = [line.rstrip() for line in lines[start:]]
    while text and not text[0]:
        text.pop(0)
    if not text:
        raise RealNewsFormatError(f"{path.name}: no headline")
    return RealNewsItem(
        name=path.stem,
        outlet=header["outlet"],
        published=published,
        language=language,
        on_topic=header["on_topic"] == "yes",
        kind=header["kind"],
        figures=_figures(path, "figures", header["figures"], tracked_only=True),
        old=_figures(path, "old", header["old"], tracked_only=True),
        threat=_figures(path, "threat", header["threat"], tracked_only=False),
        event=header["event"],
        scenario_day=int(day) if day is not None else None,
        title=text[0],
        body="\n".join(text[1:]).strip(),
    )


def load_realnews(directory: Path | None = None) -> list[RealNewsItem]:
    """Every en_ and zh_ item under ``directory`` (default tests/eval/realnews), sorted by
    file name."""
    folder = REALNEWS_DIR if directory is None else directory
    return [load_realnews_item(p) for p in sorted(folder.glob("*.txt"))]
