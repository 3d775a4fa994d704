"""Language of an article's text, stored per article: an ISO 639-1 code from py3langid,
with Chinese told apart by script ("zh-Hant" for Traditional, "zh-Hans" for Simplified),
since the topic's aliases are written in Traditional Chinese."""

from __future__ import annotations

import threading

import py3langid

from monitor.text import is_cjk_text

# Frequent characters whose Traditional and Simplified forms differ (pairs in order).
_TRADITIONAL = set("國灣體導關們這說來會時對發經與為從於將產業貿資總統實際電報價術億萬與後進區")
_SIMPLIFIED = set("国湾体导关们这说来会时对发经与为从于将产业贸资总统实际电报价术亿万与后进区")
_TRADITIONAL -= _SIMPLIFIED
_SIMPLIFIED -= _TRADITIONAL
MIN_CHARS = 40  # below this the classifier guesses; trust the declared language instead
# py3langid keeps one model per process, loaded by the first classify(); threads that
# get there together each load a copy (16 extraction threads: 800 MB more at once, the
# peak of a whole run). The first load is made one at a time. Process-wide, like the
# model they guard.
_MODEL_LOCK = threading.Lock()
_MODEL_READY = threading.Event()


def _model_loaded() -> None:
    """Have py3langid's model loaded, by one thread at a time."""
    if _MODEL_READY.is_set():
        return
    with _MODEL_LOCK:
        if not _MODEL_READY.is_set():
            py3langid.classify("language")
            _MODEL_READY.set()


def chinese_script(text: str) -> str | None:
    trad = sum(1 for c in text if c in _TRADITIONAL)
    simp = sum(1 for c in text if c in _SIMPLIFIED)
    if trad == simp:
        return None
    return "Hant" if trad > simp else "Hans"


def _declared(declared: str | None) -> str | None:
    if not declared:
        return None
    code = declared.replace("_", "-").split("-")[0].lower()
    return code or None


def detect(text: str, declared: str | None = None) -> str | None:
    """The text's language: "en", "zh-Hant", "zh-Hans", "ja"…; the declared one (a feed's
    or page's ``lang``) when the text is too short to tell."""
    sample = text[:800]  # a paragraph or two tells the language; the rest costs CPU
    if len(sample.strip()) < MIN_CHARS and not (is_cjk_text(sample) and len(sample) >= 15):
        code = _declared(declared)
    else:
        _model_loaded()
        code, _score = py3langid.classify(sample)
        code = str(code)
        if is_cjk_text(sample) and code not in ("zh", "ja", "ko"):
            code = "zh"  # short CJK text with Latin names can fool the classifier
    if code == "zh":
        script = chinese_script(sample)
        if script is None and declared and "hant" in declared.lower():
            script = "Hant"
        if script is None and declared and declared.lower() in ("zh-tw", "zh-hk"):
            script = "Hant"
        return f"zh-{script}" if script else "zh"
    return code
