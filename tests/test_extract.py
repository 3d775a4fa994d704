"""Tests for the decoding part of monitor.extract: which charset wins, in which order
of trust, and CJK / UTF-16 pages that come out as correct text."""

from __future__ import annotations

import codecs

import pytest

from monitor.extract import decode_html, parse_datetime, sniff_charset

ZH_TW = "台積電在亞利桑那州的第二座晶圓廠將於明年量產，美國關稅談判仍在進行。"
ZH_CN = "台积电在亚利桑那州的第二座晶圆厂将于明年量产，美国关税谈判仍在进行。镕"
JA = "台湾の半導体メーカーは米国の関税について協議を続けている。"
KO = "대만 반도체 업체들은 미국의 관세에 대해 협의를 계속하고 있다."


def _page(text: str, meta: str | None) -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    return (
        f"<!doctype html><html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"
    )


@pytest.mark.parametrize(
    ("text", "codec", "http", "meta"),
    [
        (ZH_TW, "big5", "text/html; charset=big5", None),
        (ZH_TW, "big5", None, "big5"),
        (ZH_CN, "gb18030", "text/html; charset=gb2312", None),  # labelled GB2312, uses GBK
        (ZH_CN, "gbk", None, "gb2312"),
        (JA, "shift_jis", "text/html; charset=Shift_JIS", None),
        (JA, "cp932", None, "shift_jis"),
        (KO, "euc-kr", "text/html; charset=euc-kr", None),
        (ZH_TW, "utf-16-le", "text/html; charset=utf-16le", None),
        (ZH_TW, "utf-8", "text/html", None),
    ],
)
def test_cjk_pages_decode_to_the_right_text(text, codec, http, meta):
    body = _page(text, meta).encode(codec)
    assert text in decode_html(body, http)


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8])
def test_bom_beats_a_wrong_http_charset(bom):
    codec = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}.get(bom, "utf-8")
    body = bom + _page(ZH_TW, None).encode(codec)
    assert decode_html(body, "text/html; charset=iso-8859-1").startswith("<!doctype html>")
    assert ZH_TW in decode_html(body, "text/html; charset=iso-8859-1")


def test_utf16_without_bom_is_recognised():
    body = _page(ZH_TW, None).encode("utf-16-be")
    assert ZH_TW in decode_html(body, "text/html")


def test_http_charset_beats_meta():
    body = _page(ZH_TW, "utf-8").encode("big5")
    assert ZH_TW in decode_html(body, "text/html; charset=big5")


def test_a_default_latin1_header_yields_to_the_document():
    # Servers that send "ISO-8859-1" for everything (the trafilatura #541 case).
    assert ZH_TW in decode_html(
        _page(ZH_TW, "big5").encode("big5"), "text/html; charset=ISO-8859-1"
    )
    assert ZH_TW in decode_html(_page(ZH_TW, None).encode("utf-8"), "text/html; charset=ISO-8859-1")
    assert "café" in decode_html(
        _page("café", None).encode("cp1252"), "text/html; charset=ISO-8859-1"
    )


def test_wrong_http_charset_that_cannot_decode_falls_back():
    body = _page(ZH_TW, "big5").encode("big5")
    assert ZH_TW in decode_html(body, "text/html; charset=utf-8")


def test_xml_declaration_is_read():
    body = ('<?xml version="1.0" encoding="big5"?>' + _page(ZH_TW, None)).encode("big5")
    assert sniff_charset(body) == "big5hkscs"
    assert ZH_TW in decode_html(body)


def test_no_declaration_at_all_is_detected():
    body = _page(ZH_TW * 5, None).encode("big5")
    assert ZH_TW in decode_html(body)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 02 Nov 2026 08:00:00 EST", "2026-11-02T13:00:00+00:00"),
        ("2026-11-02 09:30 JST", "2026-11-02T00:30:00+00:00"),
        ("2026-11-02T23:30:00+08:00", "2026-11-02T15:30:00+00:00"),
        ("2026-11-02 10:00 CET", "2026-11-02T10:00:00+00:00"),  # unknown zone: read as UTC
        ("not a date", None),
    ],
)
def test_page_dates_come_out_in_utc(raw: str, expected: str | None) -> None:
    parsed = parse_datetime(raw)
    assert (parsed.isoformat() if parsed else None) == expected
