"""Delivery plans: a destination's digest mode and quiet hours, which decide when its alerts go out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
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


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    digest: DigestMode = DigestMode.OFF
    daily_at: time | None = None  # the time of day of a daily digest
    quiet: QuietHours | None = None
