"""The clicks-per-day chart, drawn on the server as inline SVG so it needs no JavaScript."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 600
HEIGHT = 160
PLOT_TOP = 12
PLOT_BOTTOM = 136
LABEL_Y = 154
BAR_GAP = 2
MIN_BAR_HEIGHT = 1.0


def daily_chart_svg(days: Sequence[tuple[str, int]]) -> Markup:
    """One bar per (YYYY-MM-DD, clicks) in order; the tallest bar fills the plot height.

    Each bar carries its date and count as data attributes and a <title>, so the numbers
    are readable by screen readers, tooltips and tests alike.
    """
    peak = max((clicks for _, clicks in days), default=0)
    slot = WIDTH / len(days) if days else WIDTH
    plot_height = PLOT_BOTTOM - PLOT_TOP
    parts = [
        f'<svg id="daily-chart" class="chart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="Clicks per day, last {len(days)} days, peak {peak}">',
        f'<line class="axis" x1="0" y1="{PLOT_BOTTOM}" x2="{WIDTH}" y2="{PLOT_BOTTOM}"/>',
    ]
    for index, (day, clicks) in enumerate(days):
        # A day with any click keeps a visible sliver next to a huge peak.
        height = max(round(plot_height * clicks / peak, 2), MIN_BAR_HEIGHT) if clicks else 0
        x = round(index * slot + BAR_GAP / 2, 2)
        width = round(max(slot - BAR_GAP, 1), 2)
        y = round(PLOT_BOTTOM - height, 2)
        label = escape(f"{day}: {clicks} click{'' if clicks == 1 else 's'}")
        parts.append(
            f'<rect class="bar" x="{x}" y="{y}" width="{width}" height="{height}" '
            f'data-date="{escape(day)}" data-clicks="{clicks}"><title>{label}</title></rect>'
        )
    if days:
        parts.append(f'<text class="label" x="0" y="{LABEL_Y}">{escape(days[0][0])}</text>')
        parts.append(
            f'<text class="label" x="{WIDTH}" y="{LABEL_Y}" text-anchor="end">'
            f"{escape(days[-1][0])}</text>"
        )
    parts.append(f'<text class="label" x="4" y="{PLOT_TOP}">max {peak}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
