"""Bar charts as PNG (the `trend` command): one bar per day, zero days drawn as gaps on the axis."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from PIL import Image, ImageDraw, ImageFont

WIDTH = 800
HEIGHT = 400
MARGIN_LEFT = 50
MARGIN_RIGHT = 20
MARGIN_TOP = 40
MARGIN_BOTTOM = 40
BACKGROUND = (255, 255, 255)
BAR = (44, 110, 178)
AXIS = (90, 90, 90)
TEXT = (30, 30, 30)


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    left: int
    top: int
    right: int
    bottom: int  # top == bottom for a day without matches


def daily_series(counts: Mapping[date, int], first: date, last: date) -> list[tuple[date, int]]:
    """Every day from `first` to `last`, with zero for the days missing from `counts`."""
    return [
        (first + timedelta(days=n), counts.get(first + timedelta(days=n), 0))
        for n in range((last - first).days + 1)
    ]


def bar_layout(days: Sequence[tuple[date, int]], width: int = WIDTH, height: int = HEIGHT) -> list[Bar]:
    """Where each day's bar goes: equal slots across the plot, heights proportional to the busiest day."""
    if not days:
        return []
    plot_width = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = height - MARGIN_TOP - MARGIN_BOTTOM
    bottom = height - MARGIN_BOTTOM
    highest = max(max(count for _, count in days), 1)
    slot = plot_width / len(days)
    gap = max(1, int(slot * 0.2)) if slot >= 3 else 0
    bars = []
    for index, (day, count) in enumerate(days):
        left = MARGIN_LEFT + int(index * slot)
        right = max(left, MARGIN_LEFT + int((index + 1) * slot) - gap - 1)
        top = bottom - round(plot_height * count / highest)
        bars.append(Bar(day, count, left, top, right, bottom))
    return bars


def chart_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where installed (it has Cyrillic and Kazakh letters; Pillow's bundled font has not)."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", 14)
    except OSError:
        return ImageFont.load_default(size=14)


def draw_bar_chart(title: str, days: Sequence[tuple[date, int]]) -> bytes:
    """A PNG of the daily counts, the busiest day's count on the axis and the first and last dates."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = chart_font()
    bottom = HEIGHT - MARGIN_BOTTOM
    draw.text((MARGIN_LEFT, 10), title, fill=TEXT, font=font)
    for bar in bar_layout(days):
        if bar.count:
            draw.rectangle((bar.left, bar.top, bar.right, bar.bottom), fill=BAR)
    draw.line((MARGIN_LEFT, MARGIN_TOP, MARGIN_LEFT, bottom), fill=AXIS)
    draw.line((MARGIN_LEFT, bottom, WIDTH - MARGIN_RIGHT, bottom), fill=AXIS)
    if days:
        highest = max(count for _, count in days)
        draw.text((5, MARGIN_TOP - 7), str(highest), fill=TEXT, font=font)
        draw.text((5, bottom - 7), "0", fill=TEXT, font=font)
        draw.text((MARGIN_LEFT, bottom + 8), f"{days[0][0]:%d %b}", fill=TEXT, font=font)
        last = f"{days[-1][0]:%d %b}"
        draw.text((WIDTH - MARGIN_RIGHT - 50, bottom + 8), last, fill=TEXT, font=font)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()
