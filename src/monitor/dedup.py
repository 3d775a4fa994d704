"""Near-duplicate detection: MinHash signatures over normalized shingles, looked up
through LSH band hashes that persist in the database.

Exact rules (same canonical URL, same GUID, same content hash, same title) are storage
lookups made by the store stage; this module holds what decides a near-copy:

- :func:`fingerprint` signs a text: word 3-grams for Latin scripts, character 3-grams
  for Chinese and Japanese (see :func:`monitor.text.shingles`), plus the set's size.
  The signature is datasketch's ``MinHash(num_perm, seed=1, scheme="affine32")`` bit for
  bit (SHA-1's first 4 bytes per shingle, the MurmurHash3 finalizer, then ``a·h + b``
  wrapping at 2³²), computed here in one batch of numpy operations: the stored
  signatures stay valid, and the command line does not import datasketch (nor the
  SciPy it pulls in).
- :class:`BandLayout` splits a signature into ``bands`` × ``rows``; each band hashes to a
  64-bit key stored in ``lsh_bands`` with an index, so a lookup is one indexed
  ``key IN (...)`` query whose cost does not grow with the corpus the way a rebuilt
  in-memory index does.
- :func:`compare` estimates Jaccard similarity and containment (how much of the shorter
  text the longer one holds, which keeps a copy with added paragraphs close), and
  :func:`best_match` picks the closest candidate that passes the configured thresholds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from monitor.config import DedupConfig
from monitor.text import shingles

_SEED = 1
_MAX = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True, slots=True, eq=False)
class Signature:
    """A MinHash signature: the minimum of each permutation over a set's hashes
    (uint32, datasketch's ``affine32`` scheme)."""

    hashvalues: np.ndarray


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int = _SEED) -> tuple[np.ndarray, np.ndarray]:
    """The ``a`` (odd) and ``b`` of every permutation, drawn as datasketch draws them."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 32-bit finalizer (wrapping uint32 arithmetic)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    out: np.ndarray = h ^ (h >> np.uint32(16))
    return out


def sign(items: Iterable[str], num_perm: int = 128) -> Signature:
    """The MinHash signature of a set of strings."""
    digest = b"".join(hashlib.sha1(item.encode("utf-8")).digest()[:4] for item in items)
    if not digest:
        return Signature(np.full(num_perm, _MAX, dtype=np.uint32))
    hashes = _fmix32(np.frombuffer(digest, dtype="<u4").astype(np.uint32))
    a, b = _permutations(num_perm)
    with np.errstate(over="ignore"):
        permuted = hashes[:, None] * a + b  # (shingles, permutations), wrapping at 2**32
    return Signature(permuted.min(axis=0))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A text's MinHash signature and the number of distinct shingles it was made of."""

    signature: Signature
    size: int

    def to_bytes(self) -> bytes:
        return to_bytes(self.signature)


def signature(text: str, *, num_perm: int = 128, shingle_words: int = 3) -> Signature:
    return fingerprint(text, num_perm=num_perm, shingle_words=shingle_words).signature


def fingerprint(text: str, *, num_perm: int = 128, shingle_words: int = 3) -> Fingerprint:
    grams = shingles(text, shingle_words)
    return Fingerprint(sign(grams, num_perm), len(grams))


def to_bytes(m: Signature) -> bytes:
    return np.asarray(m.hashvalues, dtype=np.uint32).tobytes()


def from_bytes(data: bytes, num_perm: int) -> Signature | None:
    values = np.frombuffer(data, dtype=np.uint32)
    if len(values) != num_perm:
        return None  # signed with other settings: ignore rather than compare wrongly
    return Signature(values)


def _collision_error(threshold: float, bands: int, rows: int) -> float:
    """Weighted false-positive plus false-negative area of the LSH S-curve."""
    below = np.linspace(0.0, threshold, 200)
    above = np.linspace(threshold, 1.0, 200)
    p_below = 1 - (1 - below**rows) ** bands
    p_above = 1 - (1 - above**rows) ** bands
    return float(np.trapezoid(p_below, below) + np.trapezoid(1 - p_above, above))


@lru_cache(maxsize=32)
def _optimal_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    best = (num_perm, 1)
    best_error = float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = _collision_error(threshold, bands, rows)
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


@dataclass(frozen=True, slots=True)
class BandLayout:
    """How signatures are cut into LSH bands; ``name`` is stored beside every band key."""

    num_perm: int
    bands: int
    rows: int

    @classmethod
    def for_config(cls, cfg: DedupConfig) -> BandLayout:
        bands, rows = _optimal_layout(cfg.candidate_threshold, cfg.num_perm)
        return cls(cfg.num_perm, bands, rows)

    @property
    def name(self) -> str:
        return f"{self.num_perm}x{self.bands}x{self.rows}"

    def keys(self, m: Signature) -> list[int]:
        """One signed 64-bit key per band (fits a BIGINT column)."""
        values = np.asarray(m.hashvalues, dtype=np.uint32)
        out: list[int] = []
        for band in range(self.bands):
            chunk = values[band * self.rows : (band + 1) * self.rows].tobytes()
            digest = hashlib.blake2b(
                chunk, digest_size=8, person=f"b{band}".encode().ljust(16, b"\0")
            ).digest()
            out.append(int.from_bytes(digest, "big", signed=True))
        return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored document whose band keys collided with the query's."""

    kind: str  # "seed" | "article"
    id: int
    signature: bytes
    size: int

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class NearMatch:
    kind: str  # "seed" | "article"
    id: int
    similarity: float  # estimated Jaccard of the shingle sets
    containment: float  # estimated share of the smaller set found in the larger

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def compare(a: Signature, a_size: int, b: Signature, b_size: int) -> tuple[float, float]:
    """Estimated (Jaccard, containment) of two signed shingle sets."""
    jaccard = float(np.mean(np.asarray(a.hashvalues) == np.asarray(b.hashvalues)))
    smaller = min(a_size, b_size)
    if smaller == 0:
        return jaccard, 0.0
    # |A∩B| = J(|A|+|B|)/(1+J); containment = |A∩B| / min(|A|,|B|)
    containment = jaccard * (a_size + b_size) / ((1 + jaccard) * smaller)
    return jaccard, min(1.0, containment)


def is_near_duplicate(jaccard: float, containment: float, cfg: DedupConfig) -> bool:
    """The near-duplicate rule: similar enough overall, or one text mostly inside the
    other (a copy with paragraphs added) while still sharing a fair part overall."""
    return jaccard >= cfg.near_duplicate_threshold or (
        containment >= cfg.containment_threshold and jaccard >= cfg.candidate_threshold
    )


def best_match(
    fp: Fingerprint,
    candidates: Iterable[Candidate],
    cfg: DedupConfig,
    exclude: frozenset[str] = frozenset(),
) -> NearMatch | None:
    """The most similar candidate that passes :func:`is_near_duplicate`; seeds win ties.

    ``exclude`` holds keys ("article:12") an analyst separated from this document.
    """
    best: NearMatch | None = None
    for cand in candidates:
        if cand.key in exclude:
            continue
        other = from_bytes(cand.signature, cfg.num_perm)
        if other is None:
            continue
        jaccard, containment = compare(fp.signature, fp.size, other, cand.size)
        if not is_near_duplicate(jaccard, containment, cfg):
            continue
        match = NearMatch(cand.kind, cand.id, round(jaccard, 4), round(containment, 4))
        if (
            best is None
            or (match.similarity, match.containment) > (best.similarity, best.containment)
            or (match.similarity == best.similarity and cand.kind == "seed")
        ):
            best = match
    return best


def exact_similarity(a: str, b: str, shingle_words: int = 3) -> float:
    """Exact Jaccard of two texts' shingle sets (for explanations, not for lookups)."""
    sa, sb = shingles(a, shingle_words), shingles(b, shingle_words)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)
