"""Duplicate detection: exact (canonical URL, content hash) is done by storage lookups;
this module finds near-copies with MinHash signatures and an LSH index (datasketch).

Shingles are word n-grams for Latin scripts and character trigrams for Chinese and
Japanese, so a copy with a new headline, added boilerplate or a changed sentence still
scores high against its original.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from monitor.text import normalize_text

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKENS = re.compile(r"\w+", re.UNICODE)
_SEED = 1
_SCHEME = "affine32"  # datasketch ≥ 2 names its hashing scheme; stored signatures use this


def shingles(text: str, size: int = 3) -> set[str]:
    """Word ``size``-grams, or character trigrams when the text is mostly CJK."""
    text = normalize_text(text).lower()
    cjk = len(_CJK.findall(text))
    if cjk > 0.3 * max(1, len(text.replace(" ", ""))):
        chars = [c for c in text if _CJK.match(c) or c.isalnum()]
        return {"".join(chars[i : i + 3]) for i in range(max(1, len(chars) - 2))}
    tokens = _TOKENS.findall(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def signature(text: str, *, num_perm: int = 128, shingle_words: int = 3) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=_SEED, scheme=_SCHEME)
    m.update_batch([s.encode("utf-8") for s in shingles(text, shingle_words)])
    return m


def to_bytes(m: MinHash) -> bytes:
    return np.asarray(m.hashvalues, dtype=np.uint32).tobytes()


def from_bytes(data: bytes, num_perm: int) -> MinHash | None:
    values = np.frombuffer(data, dtype=np.uint32)
    if len(values) != num_perm:
        return None  # signed with other settings: ignore rather than compare wrongly
    return MinHash(num_perm=num_perm, seed=_SEED, hashvalues=values, scheme=_SCHEME)


@dataclass(frozen=True, slots=True)
class NearMatch:
    kind: str  # "seed" | "article"
    id: int
    similarity: float


class NearDuplicateIndex:
    """LSH over the signatures of seeds and kept articles; grows as articles are kept."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._sigs: dict[str, MinHash] = {}

    def add(self, kind: str, doc_id: int, sig: MinHash) -> None:
        key = f"{kind}:{doc_id}"
        if key not in self._sigs:
            self._lsh.insert(key, sig)
            self._sigs[key] = sig

    def add_stored(self, rows: Iterable[tuple[str, int, bytes]]) -> None:
        for kind, doc_id, data in rows:
            sig = from_bytes(data, self.num_perm)
            if sig is not None:
                self.add(kind, doc_id, sig)

    def best_match(self, sig: MinHash) -> NearMatch | None:
        """The most similar indexed document at or above the threshold; seeds win ties."""
        best: NearMatch | None = None
        for key in self._lsh.query(sig):
            similarity = float(sig.jaccard(self._sigs[key]))
            kind, _, doc_id = key.partition(":")
            candidate = NearMatch(kind, int(doc_id), round(similarity, 4))
            if similarity < self.threshold:
                continue
            if (
                best is None
                or similarity > best.similarity
                or (similarity == best.similarity and kind == "seed")
            ):
                best = candidate
        return best
