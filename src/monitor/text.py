"""Text normalization shared by every stage: Unicode NFC, plain quotes, clean whitespace,
sentences, and content hashes."""

from __future__ import annotations

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
