"""Delivery plans as tables: when a held alert is released, and how command arguments parse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.digest import (
    DeliveryPlan,
    DigestMode,
    QuietHours,
    parse_digest,
    parse_quiet,
    release_at,
)

INSTANT = DeliveryPlan()
HOURLY = DeliveryPlan(DigestMode.HOURLY)
DAILY_0830 = DeliveryPlan(DigestMode.DAILY, time(8, 30))
NIGHT = QuietHours(time(22, 0), time(7, 0))
LUNCH = QuietHours(time(12, 0), time(13, 30))
QUIET_NIGHTS = DeliveryPlan(quiet=NIGHT)
HOURLY_NIGHTS = DeliveryPlan(DigestMode.HOURLY, quiet=NIGHT)
DAILY_2300_NIGHTS = DeliveryPlan(DigestMode.DAILY, time(23, 0), NIGHT)
DAILY_0830_NIGHTS = DeliveryPlan(DigestMode.DAILY, time(8, 30), NIGHT)
HOURLY_LUNCH = DeliveryPlan(DigestMode.HOURLY, quiet=LUNCH)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
ALMATY = ZoneInfo("Asia/Almaty")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("plan", "tz", "queued", "expected"),
    [
        # Instant delivery outside quiet hours: at once.
        (INSTANT, UTC_ZONE, "2026-03-02 10:17", None),
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-02 10:17", None),
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-02 21:59", None),
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-02 07:00", None),  # the window's end is outside it
        # Hourly: the next top of the hour, strictly after.
        (HOURLY, UTC_ZONE, "2026-03-02 10:17", "2026-03-02 11:00"),
        (HOURLY, UTC_ZONE, "2026-03-02 10:00", "2026-03-02 11:00"),
        (HOURLY, UTC_ZONE, "2026-03-02 23:59:59", "2026-03-03 00:00"),
        (HOURLY, KOLKATA, "2026-03-02 10:17", "2026-03-02 10:30"),  # UTC+5:30: local hours
        # Daily: the next daily_at in the delivery timezone.
        (DAILY_0830, UTC_ZONE, "2026-03-02 06:00", "2026-03-02 08:30"),
        (DAILY_0830, UTC_ZONE, "2026-03-02 08:30", "2026-03-03 08:30"),
        (DAILY_0830, UTC_ZONE, "2026-03-02 09:00", "2026-03-03 08:30"),
        (DAILY_0830, ALMATY, "2026-03-02 01:00", "2026-03-02 03:30"),  # UTC+5: 06:00 → today 08:30
        (DAILY_0830, ALMATY, "2026-03-02 04:00", "2026-03-03 03:30"),  # 09:00 local → tomorrow
        (DAILY_0830, ALMATY, "2026-03-01 23:00", "2026-03-02 03:30"),  # 04:00 local on 03-02 → its 08:30
        # Quiet hours wrapping midnight hold instant alerts until their end.
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-02 23:00", "2026-03-03 07:00"),
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-02 22:00", "2026-03-03 07:00"),
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-03 03:00", "2026-03-03 07:00"),
        (QUIET_NIGHTS, UTC_ZONE, "2026-03-03 06:59", "2026-03-03 07:00"),
        (QUIET_NIGHTS, BERLIN, "2026-03-02 23:00", "2026-03-03 06:00"),  # 00:00 CET → 07:00 CET
        # A window inside one day.
        (DeliveryPlan(quiet=LUNCH), UTC_ZONE, "2026-03-02 12:10", "2026-03-02 13:30"),
        (DeliveryPlan(quiet=LUNCH), UTC_ZONE, "2026-03-02 13:30", None),
        # A digest time inside quiet hours moves to the end of the window.
        (HOURLY_NIGHTS, UTC_ZONE, "2026-03-02 20:10", "2026-03-02 21:00"),
        (HOURLY_NIGHTS, UTC_ZONE, "2026-03-02 21:10", "2026-03-03 07:00"),  # 22:00 is already quiet
        (HOURLY_NIGHTS, UTC_ZONE, "2026-03-02 22:10", "2026-03-03 07:00"),
        (HOURLY_NIGHTS, UTC_ZONE, "2026-03-03 06:30", "2026-03-03 07:00"),
        (HOURLY_NIGHTS, UTC_ZONE, "2026-03-03 07:30", "2026-03-03 08:00"),
        (HOURLY_LUNCH, UTC_ZONE, "2026-03-02 11:45", "2026-03-02 13:30"),
        (HOURLY_LUNCH, UTC_ZONE, "2026-03-02 13:40", "2026-03-02 14:00"),
        (DAILY_2300_NIGHTS, UTC_ZONE, "2026-03-02 10:00", "2026-03-03 07:00"),
        (DAILY_0830_NIGHTS, UTC_ZONE, "2026-03-02 23:00", "2026-03-03 08:30"),  # not earlier than daily
        # DST: Europe/Berlin springs forward on 2026-03-29 (02:00 CET → 03:00 CEST) and falls back
        # on 2026-10-25 (03:00 CEST → 02:00 CET): the daily digest stays at 08:30 local.
        (DAILY_0830, BERLIN, "2026-03-28 08:00", "2026-03-29 06:30"),  # 08:30 CEST = 06:30 UTC
        (DAILY_0830, BERLIN, "2026-10-24 08:00", "2026-10-25 07:30"),  # 08:30 CET = 07:30 UTC
        (QUIET_NIGHTS, BERLIN, "2026-03-28 23:00", "2026-03-29 05:00"),  # 07:00 CEST
        (QUIET_NIGHTS, BERLIN, "2026-10-24 23:00", "2026-10-25 06:00"),  # 07:00 CET
        # Hourly across the gap and the repeated hour: every UTC hour is one digest, none skipped.
        (HOURLY, BERLIN, "2026-03-29 00:30", "2026-03-29 01:00"),  # 01:30 CET → 03:00 CEST
        (HOURLY, BERLIN, "2026-10-25 00:30", "2026-10-25 01:00"),  # 02:30 CEST → 02:00 CET
        (HOURLY, BERLIN, "2026-10-25 01:30", "2026-10-25 02:00"),  # 02:30 CET → 03:00 CET
        # America/New_York: a daily time in the spring gap (02:30 does not exist on 2026-03-08)
        # goes out just past the gap, at 03:30 EDT; in the repeated hour, at its first occurrence.
        (DeliveryPlan(DigestMode.DAILY, time(2, 30)), NEW_YORK, "2026-03-08 06:00", "2026-03-08 07:30"),
        (DeliveryPlan(DigestMode.DAILY, time(1, 30)), NEW_YORK, "2026-11-01 04:00", "2026-11-01 05:30"),
        (DeliveryPlan(quiet=NIGHT), NEW_YORK, "2026-03-08 04:00", "2026-03-08 11:00"),  # 07:00 EDT
    ],
)
def test_release_at(plan: DeliveryPlan, tz: ZoneInfo, queued: str, expected: str | None) -> None:
    released = release_at(plan, at(queued), tz)
    assert released == (at(expected) if expected else None)
    if released is not None:
        assert released.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (time(21, 59), False),
        (time(22, 0), True),
        (time(0, 0), True),
        (time(6, 59), True),
        (time(7, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_wrapping_midnight(moment: time, inside: bool) -> None:
    assert NIGHT.contains(moment) is inside


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("off", (DigestMode.OFF, None)),
        ("hourly", (DigestMode.HOURLY, None)),
        ("HOURLY", (DigestMode.HOURLY, None)),
        ("daily 08:30", (DigestMode.DAILY, time(8, 30))),
        ("  daily   8:05 ", (DigestMode.DAILY, time(8, 5))),
        ("daily 00:00", (DigestMode.DAILY, time(0, 0))),
        ("daily 23:59", (DigestMode.DAILY, time(23, 59))),
    ],
)
def test_parse_digest(argument: str, expected: tuple[DigestMode, time | None]) -> None:
    assert parse_digest(argument) == expected


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("", "Which digest?"),
        ("weekly", 'Unknown digest mode "weekly"'),
        ("daily", "A daily digest needs its time"),
        ("daily 08:30 09:00", "A daily digest needs its time"),
        ("daily 8", '"8" is not a time'),
        ("daily 24:00", '"24:00" is not a time of day'),
        ("daily 12:60", '"12:60" is not a time of day'),
        ("daily ８:３０", '"８:３０" is not a time'),  # fullwidth digits are not taken as a time
        ("hourly 10:00", '"digest hourly" takes no time'),
        ("off now", '"digest off" takes no time'),
        ("w" * 4000, 'Unknown digest mode "' + "w" * 19 + '…"'),
    ],
)
def test_parse_digest_errors(argument: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        parse_digest(argument)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("22:00-07:00", NIGHT),
        ("22:00 - 07:00", NIGHT),
        ("22:00–07:00", NIGHT),  # an en dash, as phones type it
        ("22:00\n-\n07:00", NIGHT),
        ("12:00-13:30", LUNCH),
        ("off", None),
        ("OFF", None),
    ],
)
def test_parse_quiet(argument: str, expected: QuietHours | None) -> None:
    assert parse_quiet(argument) == expected


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("", "Which hours?"),
        ("22:00", '"22:00" is not a range of hours'),
        ("tonight", '"tonight" is not a range of hours'),
        ("22:00-25:00", '"25:00" is not a time of day'),
        ("22-07", '"22" is not a time'),
        ("07:00-07:00", "Quiet hours must start and end at different times"),
        ("22:00-07:00-09:00", '"07:00-09:00" is not a time'),
        ("-22:00", '"-22:00" is not a range of hours'),
        ("-" * 4000 + " x", '"' + "-" * 19 + '…" is not a range of hours'),  # echoed short
    ],
)
def test_parse_quiet_errors(argument: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        parse_quiet(argument)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


ZONES = [UTC_ZONE, BERLIN, NEW_YORK, KOLKATA, ALMATY]
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
quiet_hours = st.none() | st.builds(QuietHours, clocks, clocks).filter(lambda q: q.start != q.end)
plans = st.builds(DeliveryPlan, st.sampled_from(list(DigestMode)), st.none() | clocks, quiet_hours).filter(
    lambda plan: plan.digest is not DigestMode.DAILY or plan.daily_at is not None
)
moments = st.integers(0, 2 * 365 * 86400).map(
    lambda seconds: at("2026-01-01 00:00") + timedelta(seconds=seconds)
)


def is_real_wall_clock(moment: time, day: datetime, tz: ZoneInfo) -> bool:
    """False for a time skipped by a spring-forward gap on that day."""
    local = datetime.combine(day.astimezone(tz).date(), moment, tzinfo=tz)
    return local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)


@settings(max_examples=2000, deadline=None)
@given(plan=plans, queued=moments, tz=st.sampled_from(ZONES))
def test_release_is_later_outside_quiet_hours_and_on_the_plans_clock(
    plan: DeliveryPlan, queued: datetime, tz: ZoneInfo
) -> None:
    released = release_at(plan, queued, tz)
    wall = queued.astimezone(tz).time().replace(tzinfo=None)
    if released is None:
        # Only instant plans let an alert go at once, and only outside quiet hours.
        assert plan.digest is DigestMode.OFF
        assert plan.quiet is None or not plan.quiet.contains(wall)
        return
    assert released > queued
    assert released - queued <= timedelta(hours=48)  # a day to the digest, then at most a day of quiet
    local = released.astimezone(tz)
    if plan.quiet is not None:
        assert not plan.quiet.contains(local.time().replace(tzinfo=None))
        if plan.quiet.contains(wall) and plan.digest is DigestMode.OFF:
            assert local.time().replace(tzinfo=None) == plan.quiet.end or not is_real_wall_clock(
                plan.quiet.end, released, tz
            )
    if plan.digest is DigestMode.HOURLY:
        assert local.minute == 0 or (
            plan.quiet is not None and local.time().replace(tzinfo=None) == plan.quiet.end
        )
    if plan.digest is DigestMode.DAILY and plan.daily_at is not None and plan.quiet is None:
        assert released - queued <= timedelta(hours=25)
        if is_real_wall_clock(plan.daily_at, released, tz):
            assert local.time().replace(tzinfo=None) == plan.daily_at
