"""One table style and one way to write a time, as a user reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from monitor import display


def test_times_are_minutes_in_utc_whatever_form_they_arrive_in():
    taipei = timezone(timedelta(hours=8))
    assert display.moment(datetime(2026, 11, 2, 11, 0, tzinfo=taipei)) == "2026-11-02 03:00 UTC"
    assert display.moment(datetime(2026, 11, 2, 3, 0, 59)) == "2026-11-02 03:00 UTC"
    assert display.moment("2026-11-02 03:00:00.000000") == "2026-11-02 03:00 UTC"
    assert display.moment(date(2026, 11, 2)) == "2026-11-02"
    assert display.moment(None) == "-"
    assert display.moment(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01 00:00 UTC"


def test_counted_nouns():
    assert [display.plural(n, "copy") for n in (0, 1, 2)] == ["0 copies", "1 copy", "2 copies"]
    assert display.plural(1, "story") == "1 story"
    assert display.plural(3, "alert") == "3 alerts"
    assert display.plural(2, "exact copy") == "2 exact copies"
    assert display.plural(2, "day") == "2 days"


def test_table_aligns_chinese_titles_by_display_width():
    lines = display.table(
        ["id", "title", "outlet"],
        [["6", "台美關稅協議出爐", "台灣科技日報"], ["12", "Tariff cut", "Formosa Wire"]],
    )
    assert lines == [
        "id  title             outlet",
        "--  ----------------  ------------",
        "6   台美關稅協議出爐  台灣科技日報",
        "12  Tariff cut        Formosa Wire",
    ]


def test_long_cells_are_cut_but_never_unlabelled():
    long = "word " * 40
    assert display.cell(long).endswith("…") and display.width(display.cell(long)) <= 72
    assert display.cell(long, cut=False) == long.strip()
    assert display.cell(None) == "-"
