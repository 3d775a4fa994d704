"""Text normalization shared by every stage: Unicode NFC, plain quotes, clean whitespace,
sentences, and content hashes."""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u00ad": None,
        "\u200b": None,
        "\ufeff": None,
    }
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(
    r"(?<=[.!?。！？])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9\u4e00-\u9fff])|(?<=[。！？])"
)
_WORDS = re.compile(r"\w+", re.UNICODE)


def normalize_text(text: str) -> str:
    """NFC, typographic quotes and dashes made plain, runs of spaces folded, one
    paragraph per line, no leading or trailing blanks."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return text.strip()


def normalize_line(text: str) -> str:
    """Like :func:`normalize_text`, folded onto one line (titles, summaries)."""
    return " ".join(normalize_text(text).split())


def content_hash(text: str) -> str:
    """SHA-256 of the text's lower-cased word sequence: blind to spacing and punctuation."""
    words = " ".join(_WORDS.findall(normalize_text(text).lower()))
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def sentences(text: str) -> list[str]:
    """Split normalized text into sentences (Latin and CJK punctuation)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s and s.strip())
    return out


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


_CJK_CHAR = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SHINGLE_TOKENS = re.compile(rf"[{_CJK_CHAR}]|[^\W{_CJK_CHAR}]+", re.UNICODE)
_CJK_RE = re.compile(rf"[{_CJK_CHAR}]")


def is_cjk_text(text: str) -> bool:
    """True when at least 30 % of the text's non-space characters are CJK."""
    visible = sum(1 for c in text if not c.isspace())
    return visible > 0 and len(_CJK_RE.findall(text)) >= 0.3 * visible


def shingle_tokens(text: str) -> list[str]:
    """Comparison tokens: NFKC, case-folded; each CJK character is a token of its own,
    Latin words and numbers are whole tokens (so "TSMC" in Chinese text is one token)."""
    folded = unicodedata.normalize("NFKC", normalize_text(text)).casefold()
    return _SHINGLE_TOKENS.findall(folded)


def shingles(text: str, size: int = 3) -> set[str]:
    """Word ``size``-grams, or token trigrams (mostly characters) for CJK text."""
    tokens = shingle_tokens(text)
    n = 3 if is_cjk_text(text) else size
    if len(tokens) < n:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def normalize_title(title: str) -> str:
    """A title reduced for comparison: case-folded tokens, outlet suffix dropped
    ("… - Focus Taiwan", "… | Taipei Times")."""
    head = re.split(r"\s+[|\-–—]\s+(?=[^|\-–—]{2,40}$)", normalize_line(title))[0]
    return " ".join(shingle_tokens(head))


def short_diff(old: str, new: str, limit: int = 600) -> str:
    """Sentences removed ("- …") and added ("+ …") between two versions of a text,
    cut to ``limit`` characters; "(no sentence changed)" when only spacing moved."""
    a, b = sentences(normalize_text(old)), sentences(normalize_text(new))
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lines += [f"- {s}" for s in a[i1:i2]]
        lines += [f"+ {s}" for s in b[j1:j2]]
    if not lines:
        return "(no sentence changed)"
    out = "\n".join(lines)
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"
