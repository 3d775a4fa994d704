"""The trend chart of the web view as inline SVG: stories per day per keyword as
grouped bars (readable from two days to a few months), each alert marked above its
keyword's bar on its day. No JavaScript, no image files: the page carries the chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from monitor.charts import PALETTE
from monitor.storage.browse import DayAlert

WIDTH = 900
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 40


@dataclass(frozen=True, slots=True)
class Legend:
    keyword: str
    color: str
    stories: int


def colors(keywords: Sequence[str]) -> dict[str, str]:
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keywords)}


def trend_svg(
    days: Sequence[date],
    series: Mapping[str, Sequence[int]],
    alerts: Sequence[DayAlert],
) -> str:
    """An ``<svg>`` element: one group of bars per day, one bar per keyword, a ▼ with a
    tooltip over a bar whose keyword had an alert that day."""
    keywords = list(series)
    palette = colors(keywords)
    peak = max((max(v) for v in series.values() if v), default=0)
    top = max(peak, 1)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(min((slot * 0.8) / max(len(keywords), 1), 28), 1.5)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" class="trend" aria-label="stories per day">'
    ]
    step = 1 if top <= 6 else max(round(top / 5), 1)
    for tick in range(0, top + 1, step):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick}</text>'
        )
    label_every = max(len(days) // 12, 1)
    marked = {(a.keyword, a.day): a for a in alerts}
    for i, day in enumerate(days):
        group = LEFT + slot * i + (slot - bar * len(keywords)) / 2
        for j, keyword in enumerate(keywords):
            count = series[keyword][i]
            x = group + bar * j
            h = plot_h * count / top
            y = TOP + plot_h - h
            title = escape(f"{keyword}, {day.isoformat()}: {count} stories")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                f'fill="{palette[keyword]}"><title>{title}</title></rect>'
            )
            alert = marked.get((keyword, day))
            if alert is not None:
                cx = x + (bar - 1) / 2
                tip = escape(f"alert #{alert.alert_id} ({alert.rule}): {alert.summary}")
                parts.append(
                    f'<path d="M{cx - 6:.1f},{y - 14:.1f} L{cx + 6:.1f},{y - 14:.1f} '
                    f'L{cx:.1f},{y - 3:.1f} Z" class="alert-mark" fill="{palette[keyword]}" '
                    f'stroke="#111827" stroke-width="1"><title>{tip}</title></path>'
                )
        if i % label_every == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'class="tick" text-anchor="middle">{day.strftime("%m-%d")}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'class="axis"/>'
    )
    parts.append(
        f'<text x="{LEFT}" y="{TOP - 12}" class="tick">stories per day (local days) · '
        "▼ = alert</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def legend(series: Mapping[str, Sequence[int]]) -> list[Legend]:
    palette = colors(list(series))
    return [Legend(k, palette[k], sum(v)) for k, v in series.items()]
