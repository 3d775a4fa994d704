"""The figure-change rule: a tracked figure's new value, announced once outlets agree.

Its config is ``watch.figure_change`` (:class:`monitor.config.FigureChangeRule`, kept in
config.py beside the other rules' models so config.py needs no import from here) and
``primary: true`` on a feed. Detection replays one tracked item's readings (each
document's current figure, seeds first) day by day, as of the run date:

* the **established value** starts at the seed corpus's figure (or the first report)
  and moves only when a new value is **corroborated**: reported within
  ``window_days`` by ``min_outlets`` different outlets, or by one story from a primary
  feed. That move is a ``change`` event ("20% → 15%, reported by 3 outlets"), whose
  "Before" is the latest report of the old value before that day;
* two or more new values corroborated on the same day are a ``conflict``: the digest
  lists each value with its outlets and the established value stays;
* a report of another value that is not (yet) corroborated is ``unconfirmed``, and so
  is a report going back to the established value right after one (a flap): listed in
  the digest, never sent on its own, starting no cool-down (within the cool-down of a
  sent figure alert it is recorded as suppressed).

The replay sees only readings published by the end of the run's day, so rerunning an
earlier day finds the value as of that day; events carry natural keys, so a rerun or a
backfill raises nothing twice. The cool-down never applies to a change or a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

from monitor.changes import Candidate
from monitor.config import FigureChangeRule
from monitor.records import StoredReading, display_value
from monitor.storage import Evidence

RULE = "figure_change"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FigureEvent:
    """What the replay found on one day for one tracked item.

    ``kind``: ``change`` (``new`` holds the reports of the new value, first first),
    ``conflict`` (``new`` holds the reports of every disputed value) or ``unconfirmed``
    (``new`` holds the day's reports of one value). ``old`` is the report the new value
    is compared with: the latest report of the established value, or for a flap back to
    it, the last report before the day.
    """

    kind: str
    item: str
    day: date
    old: StoredReading | None
    new: tuple[StoredReading, ...]

    @property
    def outlets(self) -> tuple[str, ...]:
        return outlets_of(self.new)


def outlets_of(reports: Iterable[StoredReading]) -> tuple[str, ...]:
    """Distinct outlets in the order they first reported (case and spacing ignored)."""
    seen: dict[str, str] = {}
    for r in reports:
        seen.setdefault(" ".join(r.source.casefold().split()), r.source)
    return tuple(seen.values())


def corroborated(reports: Sequence[StoredReading], rule: FigureChangeRule) -> bool:
    return any(r.primary for r in reports) or len(outlets_of(reports)) >= rule.min_outlets


def replay(readings: Sequence[StoredReading], rule: FigureChangeRule) -> list[FigureEvent]:
    """Every event of one item's history: seed readings (``day`` None) set the starting
    value, then articles' readings are taken day by day."""
    established: StoredReading | None = None  # latest report of the established value
    last: StoredReading | None = None  # latest report of any value
    for seed in (r for r in readings if r.day is None):
        established = last = seed
    pending: list[StoredReading] = []  # reports of other values within the window
    events: list[FigureEvent] = []
    dated = sorted(
        (r for r in readings if r.day is not None),
        key=lambda r: (r.day, r.published_at or _EARLIEST, r.id),
    )
    for day, group in groupby(dated, key=lambda r: r.day):
        assert day is not None
        today = list(group)
        item = today[0].item
        if established is None:
            # Nothing known yet: the value most outlets give on the first day is taken
            # as it is, without an alert (ties: the earliest reported).
            first = max(
                today, key=lambda r: len(outlets_of(x for x in today if x.value == r.value))
            )
            established = last = [r for r in today if r.value == first.value][-1]
        old = established
        horizon = day - timedelta(days=rule.window_days - 1)
        pending = [
            r
            for r in [*pending, *(r for r in today if r.value != old.value)]
            if r.day is not None and r.day >= horizon
        ]
        values = sorted({r.value for r in today})
        agreed = [
            v
            for v in values
            if v != old.value and corroborated([r for r in pending if r.value == v], rule)
        ]
        if len(agreed) == 1:
            reports = tuple(r for r in pending if r.value == agreed[0])
            events.append(FigureEvent("change", item, day, old, reports))
            established = [r for r in today if r.value == agreed[0]][-1]
            pending = []
        elif agreed:
            disputed = tuple(r for r in pending if r.value in agreed)
            events.append(FigureEvent("conflict", item, day, old, disputed))
        else:
            same = [r for r in today if r.value == old.value]
            established = same[-1] if same else old
        # One outlet's new value is unconfirmed (compared with the established value);
        # so is a report going back to the established value right after one (a flap).
        # On the day the value moved, a report still giving the old value is nothing.
        for value in values:
            if value in agreed or (agreed and value == old.value):
                continue
            reports = tuple(r for r in today if r.value == value)
            if value != established.value:
                events.append(FigureEvent("unconfirmed", item, day, established, reports))
            elif last is not None and value != last.value:
                events.append(FigureEvent("unconfirmed", item, day, last, reports))
        last = today[-1]
    return events


def candidate(event: FigureEvent, *, name: str, keyword: str, title: str) -> Candidate:
    """The alert card for an event: ``title`` is the headline of the first new report."""
    first = event.new[0]
    new_text = display_value(first.value, first.unit)
    old = event.old
    old_text = display_value(old.value, old.unit) if old is not None else None
    outlets = event.outlets
    details: dict[str, object] = {
        "item": event.item,
        "unit": first.unit,
        "old": old.value if old is not None else None,
        "new": first.value,
        "outlets": list(outlets),
        "corroboration": event.kind,
    }
    evidence = [
        Evidence("new" if r is first else "support", r.doc_key, r.sentence) for r in event.new
    ]
    if old is not None:
        evidence.append(Evidence("old", old.doc_key, old.sentence))
    reported = f"reported by {len(outlets)} outlet{'s' if len(outlets) != 1 else ''}"
    primary = outlets_of(r for r in event.new if r.primary)
    if primary:
        details["primary"] = list(primary)
        reported += f" (primary source: {', '.join(primary)})"
    if event.kind == "conflict":
        values = sorted({r.value for r in event.new})
        parts = []
        for value in values:
            sources = outlets_of(r for r in event.new if r.value == value)
            parts.append(f"{display_value(value, first.unit)} ({', '.join(sources)})")
        details["values"] = {
            display_value(v, first.unit): list(outlets_of(r for r in event.new if r.value == v))
            for v in values
        }
        summary = f"{keyword}: outlets disagree on {name}: {'; '.join(parts)}"
        new_value = " / ".join(display_value(v, first.unit) for v in values)
        key_values = ",".join(f"{v:g}" for v in values)
        key = f"{RULE}:{event.item}:conflict:{key_values}:{event.day.isoformat()}"
    else:
        arrow = f"{old_text} → {new_text}" if old_text else f"now {new_text}"
        lead = f"{keyword} {arrow} ({name}), {reported}"
        if event.kind == "unconfirmed":
            lead = f"{keyword} {arrow} ({name}), unconfirmed: only {', '.join(outlets)}"
        summary = f"{lead}: {title}" if title else lead
        new_value = new_text
        key = f"{RULE}:{event.item}:{old_text}->{new_text}:{event.day.isoformat()}" + (
            ":unconfirmed" if event.kind == "unconfirmed" else ""
        )
    return Candidate(
        key=key,
        rule=RULE,
        keyword=keyword,
        day=event.day,
        summary=summary,
        old_value=old_text,
        new_value=new_value,
        sentence=first.sentence,
        old_sentence=old.sentence if old is not None else None,
        article_id=first.article_id,
        old_article_id=old.article_id if old is not None else None,
        old_seed_id=old.seed_id if old is not None else None,
        reported_by=len(outlets),
        confirmed=event.kind != "unconfirmed",
        evidence=tuple(evidence),
        details=details,
    )
