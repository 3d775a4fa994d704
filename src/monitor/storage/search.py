"""Full-text search over kept articles (``v_articles``), on both databases.

SQLite: the FTS5 table ``articles_fts`` (trigram tokenizer: any string of three or more
characters, English or Chinese, is found as a substring; ranked by bm25 with the title
weighted 10 to 1 over the text); a shorter string (關稅) falls back to a plain
substring scan (``INSTR``), as the trigram index cannot look it up. PostgreSQL: the function
``search_articles`` of migrations 0010 and 0012 (a weighted English tsvector with a GIN
index, and trigram indexes for other strings; a string of one or two characters is found
by one read of the table). The SQL is not written here: it is read from
``sql/queries/search.sql`` and ``sql/queries/search.postgresql.sql``, the files analysts
run with ``monitor sql``.

:func:`expand_terms` widens a query that names a watched keyword or one of its terms
into the whole group (台積電 → TSMC, 台積電, 台积电), as ``monitor search`` does by
default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text

from monitor.config import DEFAULT_QUERIES_DIR, TopicConfig, WatchConfig
from monitor.storage.analyst import query_file, without_comments
from monitor.storage.base import Queries

SEARCH_FILE = DEFAULT_QUERIES_DIR / "search.sql"


def search_sql(dialect: str) -> str:
    """The query ``monitor search`` runs on ``dialect``: the analysts' own file,
    ``sql/queries/search.sql`` (or its ``search.postgresql.sql`` twin), read as
    ``monitor sql`` reads it, so the two can never drift apart. Bound parameters:
    :q, :since (a day, YYYY-MM-DD, or NULL), :outlet (or NULL), :max_rows (or NULL
    for 20)."""
    path = query_file(SEARCH_FILE, dialect)
    return without_comments(path.read_text(encoding="utf-8")).strip().removesuffix(";")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One kept article found by a search; ``snippet`` marks the match with [brackets]."""

    id: int
    title: str
    outlet: str
    published_at: datetime | None
    day: date | None
    url: str
    rank: float
    snippet: str
    term: str  # the query term (or watched alias) that found it


def expand_terms(
    query: str, watch: WatchConfig | None, topic: TopicConfig | None = None
) -> list[str]:
    """The query, then every other term of the watched keyword group it names, then the
    other spellings the topic's aliases give it (TSMC: 台積電, 台积电)."""
    terms = [query]
    groups: list[list[str]] = []
    if watch is not None:
        groups += [[k.name, *k.terms] for k in watch.keywords]
    if topic is not None:
        groups += [[t, *a] for f in topic.facets.values() for t, a in f.aliases.items()]
    for group in groups:
        # Against every term found so far: 台積電 → TSMC (watch) → 台积电 (topic).
        if {t.casefold() for t in group} & {t.casefold() for t in terms}:
            for term in group:
                if term.casefold() not in {x.casefold() for x in terms}:
                    terms.append(term)
    return terms


class SearchQueries(Queries):
    """Full-text search over ``v_articles``."""

    def search(
        self,
        terms: Sequence[str],
        *,
        since: date | None = None,
        outlet: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Articles matching any of ``terms``, best first: each article once, with the
        rank and snippet of the term that ranked it highest."""
        best: dict[int, SearchHit] = {}
        with self.session() as s:
            sql = search_sql(s.get_bind().dialect.name)
            for term in terms:
                if not term.strip():
                    continue
                rows = s.execute(
                    text(sql),
                    {
                        "q": term,
                        "since": None if since is None else since.isoformat(),
                        "outlet": outlet,
                        "max_rows": limit,
                    },
                )
                for r in rows:
                    hit = SearchHit(
                        id=r.id,
                        title=r.title,
                        outlet=r.outlet,
                        published_at=_when(r.published_at),
                        day=_day(r.day),
                        url=r.url,
                        rank=float(r.rank),
                        snippet=r.snippet or "",
                        term=term,
                    )
                    if hit.id not in best or hit.rank > best[hit.id].rank:
                        best[hit.id] = hit
        ordered = sorted(best.values(), key=_order)
        return ordered[:limit]


def _order(hit: SearchHit) -> tuple[float, float, int]:
    """Best rank first, then the newest, then the lowest id."""
    stamp = hit.published_at.timestamp() if hit.published_at else float("-inf")
    return (-hit.rank, -stamp, hit.id)


def _when(value: object) -> datetime | None:
    """A timestamp column read through raw SQL: a datetime (PostgreSQL) or ISO text."""
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp


def _day(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
