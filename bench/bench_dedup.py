"""Near-duplicate lookup cost with 1k, 10k and 100k stored signatures: the persisted LSH
(band keys in an indexed table, what the pipeline uses) beside, in the same process, a
brute-force pairwise baseline (every stored signature compared with numpy) and the
per-run rebuild of an in-memory datasketch MinHashLSH the pipeline used before.

    PYTHONPATH=src python bench/bench_dedup.py [--sizes 1000,10000,100000] [--queries 200]
                                               [--db sqlite|postgresql]

Texts are synthetic: 120 words drawn from a 20,000-word vocabulary (Zipf-like), so
stored documents are unrelated; each query is a planted copy (a stored text with a new
first sentence and an added line), which the lookup must find. Prints per-lookup
median and p95, the Python memory the lookups allocate (tracemalloc peak), the
database size per signature, and the baseline's matrix size.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

from monitor import dedup
from monitor.config import DedupConfig
from monitor.storage import DedupStore, Store

CFG = DedupConfig()


def synthetic_texts(n: int, rng: random.Random) -> list[str]:
    vocab = [f"w{i}" for i in range(20000)]
    weights = [1 / (i + 1) ** 0.8 for i in range(len(vocab))]
    return [" ".join(rng.choices(vocab, weights, k=120)) for _ in range(n)]


def planted_copy(text: str, rng: random.Random) -> str:
    words = text.split()
    return " ".join(["breaking", "news", "from", "the", "wire", *words[8:]]) + " reporting by staff"


def _minhash(sig: dedup.Signature) -> MinHash:
    return MinHash(CFG.num_perm, seed=1, hashvalues=sig.hashvalues, scheme="affine32")


def signing_cost(texts: list[str]) -> None:
    """MinHash cost per article: the pipeline's numpy signing against datasketch's
    ``MinHash.update_batch`` on the same shingles, and whether the signatures agree."""
    from monitor.text import shingles

    grams = [shingles(t, CFG.shingle_words) for t in texts]
    t0 = time.process_time()
    ours = [
        dedup.fingerprint(t, num_perm=CFG.num_perm, shingle_words=CFG.shingle_words) for t in texts
    ]
    ours_ms = (time.process_time() - t0) * 1000 / len(texts)
    t0 = time.process_time()
    theirs = []
    for g in grams:
        m = MinHash(CFG.num_perm, seed=1, scheme="affine32")
        m.update_batch([s.encode("utf-8") for s in g])
        theirs.append(m)
    theirs_ms = (time.process_time() - t0) * 1000 / len(texts)
    t0 = time.process_time()
    for t in texts:
        shingles(t, CFG.shingle_words)
    shingle_ms = (time.process_time() - t0) * 1000 / len(texts)
    same = sum(
        np.array_equal(a.signature.hashvalues, np.asarray(b.hashvalues, dtype=np.uint32))
        for a, b in zip(ours, theirs, strict=True)
    )
    words = statistics.fmean(len(t.split()) for t in texts)
    print(
        f"MinHash per article ({len(texts)} texts, {words:.0f} words): "
        f"pipeline {ours_ms:.2f} ms (shingling {shingle_ms:.2f} ms included) vs "
        f"datasketch update_batch {theirs_ms:.2f} ms + shingling; "
        f"identical signatures {same}/{len(texts)}"
    )


def fingerprint(text: str) -> dedup.Fingerprint:
    return dedup.fingerprint(text, num_perm=CFG.num_perm, shingle_words=CFG.shingle_words)


def _db_url(kind: str, tmp: Path) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get(
        "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin.url.set(database=name).render_as_string(hide_password=False), (admin, name)


def _drop(handle: object) -> None:
    if handle is None:
        return
    from sqlalchemy import text

    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(
    size: int, fps: list[dedup.Fingerprint], queries: list[tuple[int, dedup.Fingerprint]], db: str
) -> dict[str, float]:
    layout = dedup.BandLayout.for_config(CFG)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        url, handle = _db_url(db, Path(tmpdir))
        store = Store(url)
        try:
            store.migrate()
            dstore = DedupStore(store, layout)
            t0 = time.perf_counter()
            dstore.add_signatures(("article", i + 1, None, fp) for i, fp in enumerate(fps[:size]))
            out["load_s"] = time.perf_counter() - t0
            if db == "sqlite":
                out["db_bytes_per_sig"] = (Path(tmpdir) / "bench.db").stat().st_size / size

            # Persisted LSH: what each new article costs in store_articles.
            for _target, fp in queries[:20]:  # warm the connection pool and caches
                dstore.candidates(fp, None)
            found = 0
            times = []
            tracemalloc.start()
            for target, fp in queries:
                t = time.perf_counter()
                match = dedup.best_match(fp, dstore.candidates(fp, None), CFG)
                times.append(time.perf_counter() - t)
                found += match is not None and match.id == target + 1
            out["lsh_peak_kib"] = tracemalloc.get_traced_memory()[1] / 1024
            tracemalloc.stop()
            out["lsh_ms"] = statistics.median(times) * 1000
            out["lsh_p95_ms"] = sorted(times)[int(0.95 * len(times))] * 1000
            out["lsh_found"] = found / len(queries)
        finally:
            store.close()
            _drop(handle)

    # Brute force: all signatures in one matrix, each query compared with every row.
    matrix = np.stack([np.asarray(fp.signature.hashvalues, dtype=np.uint32) for fp in fps[:size]])
    sizes = np.array([fp.size for fp in fps[:size]])
    times, found = [], 0
    for target, fp in queries:
        t = time.perf_counter()
        q = np.asarray(fp.signature.hashvalues, dtype=np.uint32)
        jac = (matrix == q).mean(axis=1)
        cont = jac * (fp.size + sizes) / ((1 + jac) * np.minimum(fp.size, sizes))
        ok = (jac >= CFG.near_duplicate_threshold) | (
            (cont >= CFG.containment_threshold) & (jac >= CFG.candidate_threshold)
        )
        best = int(np.argmax(np.where(ok, jac, -1)))
        times.append(time.perf_counter() - t)
        found += bool(ok[best]) and best == target
    out["brute_ms"] = statistics.median(times) * 1000
    out["brute_found"] = found / len(queries)
    out["brute_matrix_mib"] = matrix.nbytes / 2**20

    # What the pipeline did before: rebuild an in-memory LSH from every stored signature.
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=CFG.near_duplicate_threshold, num_perm=CFG.num_perm)
    with lsh.insertion_session() as session:
        for i, fp in enumerate(fps[:size]):
            session.insert(i, _minhash(fp.signature))
    out["rebuild_s"] = time.perf_counter() - t0
    return out


def _real_articles() -> list[str]:
    """The article bodies of ../shared/corpora/article-extraction-benchmark, if present."""
    import json

    for place in (
        Path(__file__).resolve().parents[2] / "shared" / "corpora",
        Path("/work/shared/corpora"),
    ):
        truth = place / "article-extraction-benchmark" / "ground-truth.json"
        if truth.exists():
            data = json.loads(truth.read_text(encoding="utf-8"))
            return [v["articleBody"] for v in data.values()]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(4)
    t0 = time.perf_counter()
    texts = synthetic_texts(max(sizes), rng)
    signing_cost(_real_articles() or texts[:500])
    fps = [fingerprint(t) for t in texts]
    print(
        f"signed {len(fps)} synthetic texts in {time.perf_counter() - t0:.0f} s; "
        f"LSH layout {dedup.BandLayout.for_config(CFG).name} (perms x bands x rows), "
        f"db {args.db}",
        file=sys.stderr,
    )
    header = (
        f"{'stored':>7} | {'LSH ms/lookup':>13} {'p95':>6} {'found':>5} {'peak KiB':>8} "
        f"{'DB B/sig':>8} {'load s':>6} | {'brute ms':>8} {'found':>5} {'matrix MiB':>10} | "
        f"{'rebuild s':>9}"
    )
    print(header)
    print("-" * len(header))
    base = None
    for size in sizes:
        targets = [rng.randrange(size) for _ in range(args.queries)]
        queries = [(t, fingerprint(planted_copy(texts[t], rng))) for t in targets]
        r = run(size, fps, queries, args.db)
        base = base or r["lsh_ms"]
        print(
            f"{size:>7} | {r['lsh_ms']:>13.2f} {r['lsh_p95_ms']:>6.2f} {r['lsh_found']:>5.2f} "
            f"{r['lsh_peak_kib']:>8.0f} {r.get('db_bytes_per_sig', float('nan')):>8.0f} "
            f"{r['load_s']:>6.1f} | {r['brute_ms']:>8.2f} {r['brute_found']:>5.2f} "
            f"{r['brute_matrix_mib']:>10.1f} | {r['rebuild_s']:>9.2f}"
        )
        sys.stdout.flush()
    print(f"LSH lookup at the largest size / at the smallest: {r['lsh_ms'] / base:.2f}x")


if __name__ == "__main__":
    main()
