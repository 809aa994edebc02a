"""Delivery plans: a destination's digest mode and quiet hours, which decide when its alerts go out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum


class DigestMode(StrEnum):
    OFF = "off"  # every alert as it comes
    HOURLY = "hourly"
    DAILY = "daily"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Alerts arriving between `start` and `end` (which may wrap midnight) wait and go out as one digest."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a wall-clock time falls in [start, end), the window wrapping midnight when start > end."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    digest: DigestMode = DigestMode.OFF
    daily_at: time | None = None  # the time of day of a daily digest
    quiet: QuietHours | None = None


_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DASHES = str.maketrans({"–": "-", "—": "-"})  # phones turn "-" into en or em dashes


def _shown(text: str) -> str:
    """User input echoed in an error message: one line, at most 20 characters."""
    text = " ".join(text.split())
    return text if len(text) <= 20 else text[:19] + "…"


def parse_clock(text: str) -> time:
    """`"08:30"` → 08:30; anything else is a ValueError with a one-line message."""
    found = _CLOCK.fullmatch(text.strip())
    if found is None:
        raise ValueError(f'"{_shown(text)}" is not a time: use HH:MM, e.g. 08:30')
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        raise ValueError(f'"{_shown(text)}" is not a time of day: use 00:00 to 23:59')
    return time(hour, minute)


def parse_digest(argument: str) -> tuple[DigestMode, time | None]:
    """The argument of `digest off|hourly|daily HH:MM` → (mode, daily time)."""
    words = argument.split()
    usage = 'use "digest off", "digest hourly" or "digest daily HH:MM"'
    if not words:
        raise ValueError(f"Which digest? {usage}")
    try:
        mode = DigestMode(words[0].lower())
    except ValueError:
        raise ValueError(f'Unknown digest mode "{_shown(words[0])}": {usage}') from None
    if mode is DigestMode.DAILY:
        if len(words) != 2:
            raise ValueError('A daily digest needs its time: e.g. "digest daily 08:30"')
        return mode, parse_clock(words[1])
    if len(words) != 1:
        raise ValueError(f'"digest {mode}" takes no time: {usage}')
    return mode, None


def parse_quiet(argument: str) -> QuietHours | None:
    """The argument of `quiet HH:MM-HH:MM` → the window; `off` → None (no quiet hours)."""
    text = argument.strip()
    usage = 'use "quiet HH:MM-HH:MM" (e.g. quiet 22:00-07:00) or "quiet off"'
    if not text:
        raise ValueError(f"Which hours? {usage}")
    if text.lower() == "off":
        return None
    start_text, dash, end_text = "".join(text.translate(_DASHES).split()).partition("-")
    if not dash or not start_text or not end_text:
        raise ValueError(f'"{_shown(text)}" is not a range of hours: {usage}')
    start, end = parse_clock(start_text), parse_clock(end_text)
    if start == end:
        raise ValueError("Quiet hours must start and end at different times")
    return QuietHours(start, end)


def release_at(plan: DeliveryPlan, queued_at: datetime, tz: tzinfo) -> datetime | None:
    """When an alert queued at `queued_at` may go out under `plan`, in UTC; None for at once.

    Hourly digests go at the next top of the hour, daily ones at the next `daily_at`; a release
    that falls in quiet hours waits for their end. Wall-clock times are read in `tz`, so a daily
    digest stays at 08:30 local across a DST change.
    """
    if plan.digest is DigestMode.HOURLY:
        release = _next_top_of_hour(queued_at, tz)
    elif plan.digest is DigestMode.DAILY and plan.daily_at is not None:
        release = _next_wall_clock(plan.daily_at, queued_at, tz)
    else:
        release = queued_at
    if plan.quiet is not None and plan.quiet.contains(_wall_clock(release, tz)):
        release = _next_wall_clock(plan.quiet.end, release, tz)
    if release == queued_at:
        return None
    return release.astimezone(UTC)


def _wall_clock(moment: datetime, tz: tzinfo) -> time:
    return moment.astimezone(tz).time().replace(tzinfo=None)


def _next_top_of_hour(after: datetime, tz: tzinfo) -> datetime:
    # The hour is truncated in local time (zones such as Asia/Kolkata are offset by half an hour),
    # then advanced in UTC so a DST change never skips or repeats a digest.
    local = after.astimezone(tz)
    hour_start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return hour_start + timedelta(hours=1)


def _next_wall_clock(moment: time, after: datetime, tz: tzinfo) -> datetime:
    """The first instant strictly after `after` whose wall clock in `tz` reads `moment`.

    A time skipped by a spring-forward gap resolves to the instant just past the gap (fold=0
    keeps the earlier offset); a time repeated in the autumn resolves to its first occurrence.
    """
    day = after.astimezone(tz).date()
    candidate = datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)
    while candidate <= after:
        day += timedelta(days=1)
        candidate = datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)
    return candidate
