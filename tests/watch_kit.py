"""What the watch-rule tests share (test_changes.py, test_figure_change.py): a monitor
initialised on the test database, kept stories stored straight into it (no fetching),
and rows read back with SQL."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from monitor import pipeline
from monitor.config import Config, load_config
from monitor.storage import Store

_IDS = count(1)


def monitor_on(tmp_path: Path, db_url: str, extra: str = "") -> Config:
    """The shipped config (its watch list and seeds) on ``db_url``, plus the YAML
    ``extra``; initialised, so the seeds are loaded (one says "a 20 percent tariff")."""
    path = tmp_path / "monitor.yaml"
    path.write_text(f"data_dir: {tmp_path / 'var'}\n{extra}", encoding="utf-8")
    cfg = load_config(path, env={"MONITOR_DATABASE_URL": db_url})
    pipeline.init(cfg)
    return cfg


def kept_story(
    cfg: Config, body: str, *, published: datetime, run_date: date, source: str, title: str
) -> int:
    """Store one kept (relevant, not a copy) article; ``{n}`` in ``title`` becomes a
    number unique to the story. Returns the article id."""
    n = next(_IDS)
    store = Store(cfg.db_url)
    try:
        return store.add_article(
            canonical_url=f"https://news.example.org/{n}",
            title=title.format(n=n),
            source=source,
            published_at=published,
            run_date=run_date,
            language="en",
            text=body,
            text_source="page",
            content_hash=f"{n:064d}",
            signature=None,
            relevance=9.0,
            relevant=True,
            duplicate_of=None,
            duplicate_of_seed=None,
            similarity=None,
            decision="kept",
        )
    finally:
        store.close()


def rows(db_url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of one query, as tuples."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params or {})]
    finally:
        engine.dispose()
