"""monitor.signals: mentions of watched keywords, every alias counted. (Figures and their
units: tests/test_figures.py.)"""

from __future__ import annotations

from monitor.config import load_config
from monitor.signals import count_mentions

WATCH = load_config(env={}).watch


def test_count_mentions_counts_every_alias_per_keyword() -> None:
    text = "Tariffs and duties: the tariff, 關稅. TSMC (台積電) and MediaTek."
    assert count_mentions(text, WATCH) == {"tariff": 4, "TSMC": 2, "MediaTek": 1}
