"""The trend chart: one slot per day, heights proportional to the busiest day, a readable PNG."""

from __future__ import annotations

import io
import itertools
from datetime import date, timedelta

from PIL import Image

from bot.chart import HEIGHT, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_TOP, WIDTH, bar_layout, draw_bar_chart

FIRST = date(2026, 11, 1)


def days(*counts: int) -> list[tuple[date, int]]:
    return [(FIRST + timedelta(days=n), count) for n, count in enumerate(counts)]


def test_every_day_gets_a_slot_and_zero_days_stay_on_the_axis() -> None:
    bars = bar_layout(days(4, 0, 2, 0, 1))
    assert [bar.day for bar in bars] == [day for day, _ in days(4, 0, 2, 0, 1)]
    bottom = HEIGHT - MARGIN_BOTTOM
    heights = [bar.bottom - bar.top for bar in bars]
    assert heights[0] == bottom - MARGIN_TOP  # the busiest day fills the plot
    assert heights[1] == heights[3] == 0
    assert heights[2] == heights[0] // 2
    assert all(MARGIN_LEFT <= bar.left <= bar.right < WIDTH for bar in bars)
    assert all(left.right < right.left for left, right in itertools.pairwise(bars))


def test_a_year_of_days_fits_and_no_matches_at_all_draws_an_empty_chart() -> None:
    year = bar_layout(days(*range(365)))
    assert len(year) == 365
    assert year[-1].right < WIDTH
    assert all(bar.top == bar.bottom for bar in bar_layout(days(0, 0, 0)))
    assert bar_layout([]) == []


def test_the_chart_is_a_png_with_bars_where_days_have_matches() -> None:
    series = days(0, 5, 0)
    png = Image.open(io.BytesIO(draw_bar_chart("CSTO: matches per day", series))).convert("RGB")
    assert png.size == (WIDTH, HEIGHT)
    empty, busy, _ = bar_layout(series)
    middle_row = HEIGHT - MARGIN_BOTTOM - 5
    assert png.getpixel(((busy.left + busy.right) // 2, middle_row)) == (44, 110, 178)
    assert png.getpixel(((empty.left + empty.right) // 2, middle_row)) == (255, 255, 255)
