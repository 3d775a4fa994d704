"""Full-text search over kept articles (``v_articles``), on both databases.

SQLite: the FTS5 table ``articles_fts`` (trigram tokenizer: any string of three or more
characters, English or Chinese, is found as a substring; ranked by bm25 with the title
weighted 10 to 1 over the text); a shorter string (關稅) falls back to a plain
substring scan (``INSTR``), as the trigram index cannot look it up. PostgreSQL: the function
``search_articles`` of migration 0010 (a weighted English tsvector with a GIN index,
and trigram indexes for other strings). The SQL here is the SQL of
``sql/queries/search.sql`` and ``sql/queries/search.postgresql.sql``: the tests hold
them equal.

:func:`expand_terms` widens a query that names a watched keyword or one of its terms
into the whole group (台積電 → TSMC, 台積電, 台积电), as ``monitor search`` does by
default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text

from monitor.config import TopicConfig, WatchConfig
from monitor.storage.base import Queries

# Bound parameters: :q, :since (a day, YYYY-MM-DD, or NULL), :outlet (or NULL),
# :max_rows (or NULL for 20).
SEARCH_SQLITE = """
SELECT id, title, outlet, published_at, day, url, rank, snippet FROM (
  SELECT a.id, a.title, a.source AS outlet, a.published_at, a.day, a.url,
         -bm25(articles_fts, 10.0, 1.0) AS rank,
         snippet(articles_fts, 1, '[', ']', '…', 64) AS snippet
  FROM articles_fts
  JOIN v_articles AS a ON a.id = articles_fts.rowid
  WHERE :q IS NOT NULL AND articles_fts MATCH '"' || REPLACE(:q, '"', '""') || '"'
  UNION ALL
  SELECT a.id, a.title, a.source, a.published_at, a.day, a.url,
         (CASE WHEN INSTR(LOWER(a.title), LOWER(:q)) > 0 THEN 1 ELSE 0 END)
         + (CASE WHEN INSTR(LOWER(a.body), LOWER(:q)) > 0 THEN 0.1 ELSE 0 END),
         CASE WHEN INSTR(LOWER(a.body), LOWER(:q)) > 0 THEN
              (CASE WHEN INSTR(LOWER(a.body), LOWER(:q)) > 31 THEN '…' ELSE '' END)
              || SUBSTR(a.body, MAX(INSTR(LOWER(a.body), LOWER(:q)) - 30, 1),
                        MIN(INSTR(LOWER(a.body), LOWER(:q)) - 1, 30))
              || '[' || SUBSTR(a.body, INSTR(LOWER(a.body), LOWER(:q)), LENGTH(:q)) || ']'
              || SUBSTR(a.body, INSTR(LOWER(a.body), LOWER(:q)) + LENGTH(:q), 30)
              || '…'
         ELSE SUBSTR(a.body, 1, 60) END
  FROM v_articles AS a
  WHERE LENGTH(:q) < 3
    AND (INSTR(LOWER(a.title), LOWER(:q)) > 0 OR INSTR(LOWER(a.body), LOWER(:q)) > 0)
) AS hits
WHERE (:since IS NULL OR day >= :since)
  AND (:outlet IS NULL OR outlet = :outlet)
ORDER BY rank DESC, published_at DESC, id
LIMIT CAST(COALESCE(:max_rows, 20) AS INTEGER)
"""

SEARCH_POSTGRESQL = """
SELECT id, title, outlet, published_at, day, url, rank, snippet
FROM search_articles(CAST(:q AS text), CAST(:since AS date), CAST(:outlet AS text),
                     CAST(COALESCE(CAST(:max_rows AS integer), 20) AS integer))
"""


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
            sql = SEARCH_POSTGRESQL if s.get_bind().dialect.name == "postgresql" else SEARCH_SQLITE
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
