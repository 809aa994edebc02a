"""Scheduling maths: next poll time, exponential backoff and outlet state after each fetch outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import (
    Failed,
    FeedItem,
    FetchOutcome,
    Modified,
    NotModified,
    Outlet,
    OutletKind,
    OutletState,
    Validators,
)
from core.scheduling import (
    JITTER_SHARE,
    MAX_BACKOFF,
    backoff_delay,
    next_poll_after_success,
    state_after_poll,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=3)
FIVE_MINUTES = timedelta(minutes=5)
OLD = Validators(etag='"v1"', last_modified="Wed, 01 May 2024 09:00:00 GMT")
NEW = Validators(etag='"v2"')


def outlet_with(state: OutletState, interval: timedelta = FIVE_MINUTES) -> Outlet:
    return Outlet(7, "Eurasianet", "https://eurasianet.example/rss", OutletKind.FEED, interval, state)


@pytest.mark.parametrize(
    ("interval", "failures", "retry_after", "expected"),
    [
        pytest.param(FIVE_MINUTES, 0, None, FIVE_MINUTES, id="no-failures-yet"),
        pytest.param(FIVE_MINUTES, 1, None, FIVE_MINUTES, id="first-failure"),
        pytest.param(FIVE_MINUTES, 2, None, timedelta(minutes=10), id="doubles"),
        pytest.param(FIVE_MINUTES, 3, None, timedelta(minutes=20), id="doubles-again"),
        pytest.param(FIVE_MINUTES, 7, None, timedelta(minutes=320), id="just-under-cap"),
        pytest.param(FIVE_MINUTES, 8, None, MAX_BACKOFF, id="capped"),
        pytest.param(FIVE_MINUTES, 30, None, MAX_BACKOFF, id="stays-capped"),
        pytest.param(timedelta(hours=1), 4, None, MAX_BACKOFF, id="long-interval-capped"),
        pytest.param(FIVE_MINUTES, 1, timedelta(hours=1), timedelta(hours=1), id="retry-after-longer"),
        pytest.param(FIVE_MINUTES, 3, timedelta(minutes=1), timedelta(minutes=20), id="retry-after-shorter"),
        pytest.param(FIVE_MINUTES, 8, timedelta(hours=10), timedelta(hours=10), id="retry-after-beyond-cap"),
    ],
)
def test_backoff_delay(
    interval: timedelta, failures: int, retry_after: timedelta | None, expected: timedelta
) -> None:
    assert backoff_delay(interval, failures, retry_after) == expected


@pytest.mark.parametrize("failures", [40, 1_000])
def test_backoff_delay_stays_capped_after_many_failures(failures: int) -> None:
    assert backoff_delay(FIVE_MINUTES, failures, None) == MAX_BACKOFF


@pytest.mark.parametrize(
    ("jitter", "expected"),
    [
        (0.0, NOW + FIVE_MINUTES),
        (0.5, NOW + FIVE_MINUTES * (1 + JITTER_SHARE / 2)),
        (0.999, NOW + FIVE_MINUTES * (1 + JITTER_SHARE * 0.999)),
    ],
)
def test_next_poll_after_success_stretches_the_interval_by_the_jitter(
    jitter: float, expected: datetime
) -> None:
    assert next_poll_after_success(FIVE_MINUTES, NOW, jitter) == expected


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.75, 0.999_999])
def test_jitter_keeps_the_next_poll_within_ten_percent_of_the_interval(jitter: float) -> None:
    at = next_poll_after_success(FIVE_MINUTES, NOW, jitter)

    assert NOW + FIVE_MINUTES <= at < NOW + FIVE_MINUTES * 1.1


UNBASELINED = OutletState(
    validators=OLD,
    next_poll_at=EARLIER,
    last_polled_at=EARLIER,
    last_success_at=EARLIER,
    last_error="HTTP 503",
    consecutive_failures=2,
    is_baselined=False,
)
BASELINED = OutletState(
    validators=OLD,
    next_poll_at=EARLIER,
    last_polled_at=EARLIER,
    last_success_at=EARLIER,
    last_error=None,
    consecutive_failures=0,
    is_baselined=True,
)


def succeeded(validators: Validators, is_baselined: bool) -> OutletState:
    return OutletState(validators, NOW + FIVE_MINUTES, NOW, NOW, None, 0, is_baselined)


@pytest.mark.parametrize(
    ("before", "outcome", "expected"),
    [
        pytest.param(
            UNBASELINED,
            Modified((FeedItem("CSTO summit"),), NEW),
            succeeded(NEW, is_baselined=True),
            id="modified-sets-baseline-and-clears-failures",
        ),
        pytest.param(UNBASELINED, Modified((), NEW), succeeded(NEW, True), id="empty-modified-is-a-baseline"),
        pytest.param(
            UNBASELINED, NotModified(OLD), succeeded(OLD, is_baselined=False), id="not-modified-no-baseline"
        ),
        pytest.param(BASELINED, Modified((), NEW), succeeded(NEW, True), id="modified-keeps-baseline"),
        pytest.param(BASELINED, NotModified(NEW), succeeded(NEW, True), id="not-modified-keeps-baseline"),
        pytest.param(
            UNBASELINED,
            Failed("HTTP 502"),
            OutletState(OLD, NOW + timedelta(minutes=20), NOW, EARLIER, "HTTP 502", 3, False),
            id="failed-counts-and-backs-off",
        ),
        pytest.param(
            BASELINED,
            Failed("HTTP 429", retry_after=timedelta(minutes=30)),
            OutletState(OLD, NOW + timedelta(minutes=30), NOW, EARLIER, "HTTP 429", 1, True),
            id="failed-honours-retry-after-and-keeps-baseline",
        ),
    ],
)
def test_state_after_poll(before: OutletState, outcome: FetchOutcome, expected: OutletState) -> None:
    assert state_after_poll(outlet_with(before), outcome, NOW, jitter=0.0) == expected


def test_failures_keep_backing_off_until_a_success_resets_them() -> None:
    state = OutletState(is_baselined=True)
    delays = []
    for _ in range(4):
        state = state_after_poll(outlet_with(state), Failed("timeout"), NOW, jitter=0.0)
        assert state.next_poll_at is not None
        delays.append(state.next_poll_at - NOW)

    recovered = state_after_poll(outlet_with(state), NotModified(), NOW, jitter=0.0)

    assert delays == [FIVE_MINUTES * n for n in (1, 2, 4, 8)]
    assert (recovered.consecutive_failures, recovered.last_error, recovered.next_poll_at) == (
        0,
        None,
        NOW + FIVE_MINUTES,
    )
