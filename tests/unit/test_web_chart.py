from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from web.chart import PLOT_BOTTOM, PLOT_TOP, daily_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("id") == "daily-chart"
    return root.findall(f"{SVG}rect")


def test_one_bar_per_day_in_order_scaled_to_the_peak() -> None:
    days = [("2026-11-23", 2), ("2026-11-24", 0), ("2026-11-25", 4)]
    bars = _bars(str(daily_chart_svg(days)))
    assert [(bar.get("data-date"), bar.get("data-clicks")) for bar in bars] == [
        ("2026-11-23", "2"),
        ("2026-11-24", "0"),
        ("2026-11-25", "4"),
    ]
    heights = [float(bar.get("height", "nan")) for bar in bars]
    assert heights[2] == PLOT_BOTTOM - PLOT_TOP
    assert heights[0] == heights[2] / 2
    assert heights[1] == 0
    xs = [float(bar.get("x", "nan")) for bar in bars]
    assert xs == sorted(xs)
    assert bars[0].findtext(f"{SVG}title") == "2026-11-23: 2 clicks"


def test_all_zero_days_draw_empty_bars_not_a_division_error() -> None:
    bars = _bars(str(daily_chart_svg([("2026-11-25", 0)] * 30)))
    assert len(bars) == 30
    assert {bar.get("height") for bar in bars} == {"0"}


def test_no_days_is_still_a_valid_svg() -> None:
    assert _bars(str(daily_chart_svg([]))) == []


def test_text_is_escaped() -> None:
    svg = str(daily_chart_svg([("<script>&", 1)]))
    assert "<script>" not in svg
    assert _bars(svg)[0].get("data-date") == "<script>&"


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=31))
def test_bars_stay_inside_the_plot(clicks: list[int]) -> None:
    days = [(f"2026-11-{index + 1:02d}", count) for index, count in enumerate(clicks)]
    for bar, count in zip(_bars(str(daily_chart_svg(days))), clicks, strict=True):
        y = float(bar.get("y", "nan"))
        height = float(bar.get("height", "nan"))
        assert PLOT_TOP - 0.01 <= y <= PLOT_BOTTOM
        assert abs(y + height - PLOT_BOTTOM) < 0.02
        assert (height > 0) == (count > 0)
