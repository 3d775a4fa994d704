"""The digest's trend chart: daily story counts of the alerted keywords as a PNG.

matplotlib with the Agg backend (no display), imported when a chart is drawn so the
rest of the monitor does not pay for it. The figure is built with the object API
(``Figure``), not pyplot, so no global figure registry keeps it alive.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Trend:
    """Stories per day for some keywords over ``days`` (oldest first)."""

    days: tuple[date, ...]
    series: Mapping[str, tuple[int, ...]]

    @classmethod
    def from_counts(cls, counts: Mapping[str, Mapping[date, int]], end: date, length: int) -> Trend:
        days = tuple(end - timedelta(days=back) for back in range(length - 1, -1, -1))
        return cls(days, {k: tuple(c.get(d, 0) for d in days) for k, c in counts.items()})

    def alt_text(self) -> str:
        """What the chart shows, for readers who do not see images."""
        parts = [
            f"{name}: {sum(values)} stories, {values[-1]} on the last day, peak {max(values)}"
            for name, values in self.series.items()
        ]
        span = f"{self.days[0].isoformat()} to {self.days[-1].isoformat()}"
        return f"Stories per day, {span}. " + "; ".join(parts) + "."


PALETTE: Sequence[str] = ("#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#be123c", "#0e7490")
# Each series differs in more than colour, so two keywords with the same counts stay
# apart (and the chart reads in grey): its own marker and dash, and a small sideways shift.
MARKERS: Sequence[str] = ("o", "s", "^", "D", "v", "P")
DASHES: Sequence[str | tuple[int, tuple[int, ...]]] = (
    "-",
    "--",
    "-.",
    ":",
    (0, (5, 1, 1, 1)),
    (0, (3, 2)),
)
# Below this many days a line says little (two points make a slope from nothing): bars.
BARS_BELOW_DAYS = 8


def render_png(trend: Trend, title: str) -> bytes:
    """The trend as a PNG (about 640×260 pixels): bars per day and keyword on a short
    history, lines with distinct markers and dashes on a longer one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.4, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    count = max(len(trend.series), 1)
    bars = len(trend.days) < BARS_BELOW_DAYS
    for i, (name, values) in enumerate(trend.series.items()):
        color = PALETTE[i % len(PALETTE)]
        if bars:
            width = 0.8 / count
            xs = [d - 0.4 + width * (i + 0.5) for d in range(len(trend.days))]
            axes.bar(xs, list(values), width=width * 0.92, color=color, label=name)
            continue
        shift = (i - (count - 1) / 2) * min(0.12, 0.5 / count)
        axes.plot(
            [d + shift for d in range(len(trend.days))],
            list(values),
            marker=MARKERS[i % len(MARKERS)],
            markersize=4,
            linewidth=1.6,
            linestyle=DASHES[i % len(DASHES)],
            color=color,
            label=name,
        )
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylabel("stories / day", fontsize=8)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if bars:
        axes.set_xlim(-0.6, len(trend.days) - 0.4)
    step = max(len(trend.days) // 6, 1)
    ticks = list(range(len(trend.days) - 1, -1, -step))[::-1]
    axes.set_xticks(ticks, [trend.days[i].strftime("%m-%d") for i in ticks])
    axes.tick_params(labelsize=7)
    axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if trend.series:
        axes.legend(fontsize=7, frameon=False, loc="upper left")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
