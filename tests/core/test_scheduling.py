"""Scheduling maths: adaptive pace, server hints, jitter, backoff, deactivation and health, as tables."""

from __future__ import annotations

from dataclasses import replace
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
    MAX_RETRY_AFTER,
    SchedulePolicy,
    adaptive_interval,
    backoff_delay,
    describe_health,
    next_poll_after_success,
    rate_from_dates,
    reactivated,
    requested_delay,
    state_after_poll,
    updated_rate,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=3)
FIVE_MINUTES = timedelta(minutes=5)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
TEN_YEARS = timedelta(days=3650)
POLICY = SchedulePolicy()  # 2 min .. 1 h, backoff capped at 6 h, deactivated after 50 failures
OLD = Validators(etag='"v1"', last_modified="Wed, 01 May 2024 09:00:00 GMT")
NEW = Validators(etag='"v2"')


def outlet_with(state: OutletState, interval: timedelta = FIVE_MINUTES) -> Outlet:
    return Outlet(7, "Eurasianet", "https://eurasianet.example/rss", OutletKind.FEED, interval, state)


def dated(*ages: timedelta | None) -> tuple[FeedItem, ...]:
    """Items published `age` before NOW (None: undated)."""
    return tuple(
        FeedItem(f"Story {n}", guid=f"g{n}", published=None if age is None else NOW - age)
        for n, age in enumerate(ages)
    )


def delay_after(state: OutletState) -> timedelta:
    assert state.next_poll_at is not None
    return state.next_poll_at - NOW


# ---- the publishing rate ----


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param(dated(*(MINUTE * 6 * n for n in range(1, 21))), 10.0, id="busy-20-in-2h"),
        pytest.param(dated(*(timedelta(days=n) for n in range(1, 11))), 10 / 240, id="quiet-10-in-10-days"),
        pytest.param(dated(HOUR, 2 * HOUR, 4 * HOUR), 0.75, id="three-dates-are-enough"),
        pytest.param(dated(HOUR, 2 * HOUR), None, id="two-dates-say-nothing"),
        pytest.param(dated(None, None, None, None), None, id="undated"),
        pytest.param(dated(HOUR, HOUR, HOUR, HOUR), None, id="all-stamped-alike"),
        pytest.param(dated(-TEN_YEARS, -HOUR, 4 * HOUR, None), 0.75, id="future-dates-count-as-now"),
        pytest.param((), None, id="empty-feed"),
    ],
)
def test_rate_from_dates(items: tuple[FeedItem, ...], expected: float | None) -> None:
    assert rate_from_dates(items, NOW) == (pytest.approx(expected) if expected is not None else None)


BASELINED = OutletState(last_success_at=NOW - 2 * HOUR, is_baselined=True)


@pytest.mark.parametrize(
    ("state", "outcome", "new_items", "expected"),
    [
        pytest.param(
            OutletState(),
            Modified(dated(*(MINUTE * 6 * n for n in range(1, 21)))),
            20,
            10.0,
            id="new-outlet-baseline-seeds-from-dates",
        ),
        pytest.param(OutletState(), Modified(dated(None, None, None)), 3, None, id="new-outlet-undated"),
        pytest.param(OutletState(), NotModified(), 0, None, id="new-outlet-not-modified"),
        # The configured 5 minutes imply 6 articles an hour; two hours are one half-life.
        pytest.param(BASELINED, NotModified(), 0, 3.0, id="prior-from-interval-halves-when-quiet"),
        pytest.param(BASELINED, Modified(dated()), 24, 9.0, id="prior-from-interval-rises-when-busy"),
        pytest.param(replace(BASELINED, rate_per_hour=2.0), Modified(dated()), 4, 2.0, id="steady"),
        pytest.param(replace(BASELINED, rate_per_hour=2.0), NotModified(), 0, 1.0, id="quiet-halves"),
        pytest.param(
            replace(BASELINED, rate_per_hour=0.1), Modified(dated()), 40, 10.05, id="quiet-outlet-breaks-news"
        ),
        pytest.param(
            replace(BASELINED, last_success_at=NOW - 20 * HOUR, rate_per_hour=8.0),
            NotModified(),
            0,
            8.0 / 1024,
            id="long-silence-forgets",
        ),
        pytest.param(
            replace(BASELINED, last_success_at=NOW + HOUR, rate_per_hour=2.0),
            NotModified(),
            0,
            2.0,
            id="clock-went-back-keeps-rate",
        ),
    ],
)
def test_updated_rate(
    state: OutletState, outcome: FetchOutcome, new_items: int, expected: float | None
) -> None:
    rate = updated_rate(state, outcome, new_items, FIVE_MINUTES, NOW)
    assert rate == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("rate", "configured", "expected"),
    [
        pytest.param(None, FIVE_MINUTES, FIVE_MINUTES, id="unknown-rate-uses-configured"),
        pytest.param(None, timedelta(seconds=10), 2 * MINUTE, id="configured-below-min"),
        pytest.param(None, timedelta(hours=3), HOUR, id="configured-above-max"),
        pytest.param(3.0, FIVE_MINUTES, 10 * MINUTE, id="three-an-hour-every-10-min"),
        pytest.param(6.0, HOUR, FIVE_MINUTES, id="rate-wins-over-configured"),
        pytest.param(15.0, FIVE_MINUTES, 2 * MINUTE, id="busy-at-min"),
        pytest.param(500.0, FIVE_MINUTES, 2 * MINUTE, id="very-busy-bounded-by-min"),
        pytest.param(0.6, FIVE_MINUTES, 50 * MINUTE, id="slow"),
        pytest.param(0.1, FIVE_MINUTES, HOUR, id="quiet-bounded-by-max"),
        pytest.param(0.0, FIVE_MINUTES, HOUR, id="silent-at-max"),
        pytest.param(1e-300, FIVE_MINUTES, HOUR, id="tiny-rate-no-overflow"),
    ],
)
def test_adaptive_interval_is_bounded(rate: float | None, configured: timedelta, expected: timedelta) -> None:
    assert adaptive_interval(rate, configured, POLICY) == expected


def test_bounds_are_configurable() -> None:
    tight = SchedulePolicy(min_interval=timedelta(seconds=30), max_interval=timedelta(hours=6))
    assert adaptive_interval(500.0, FIVE_MINUTES, tight) == timedelta(seconds=30)
    assert adaptive_interval(0.0, FIVE_MINUTES, tight) == timedelta(hours=6)
    assert adaptive_interval(None, timedelta(hours=3), tight) == timedelta(hours=3)


def simulate(per_poll: int, hours: int, state: OutletState = BASELINED) -> list[timedelta]:
    """Poll an outlet that shows `per_poll` new articles at every poll; the interval after each hour."""
    at, intervals, next_hour = NOW, [], NOW + HOUR
    outlet = outlet_with(replace(state, last_success_at=NOW - FIVE_MINUTES))
    while len(intervals) < hours:
        outcome = Modified(dated()) if per_poll else NotModified()
        state = state_after_poll(outlet, outcome, at, jitter=0.0, new_items=per_poll)
        assert state.next_poll_at is not None
        outlet, interval, at = outlet_with(state), state.next_poll_at - at, state.next_poll_at
        if at >= next_hour:
            intervals.append(interval)
            next_hour += HOUR
    return intervals


def test_a_busy_outlet_converges_on_the_minimum_and_a_quiet_one_drifts_to_the_maximum() -> None:
    busy = simulate(per_poll=1, hours=4)  # a new article at every poll
    quiet = simulate(per_poll=0, hours=8)  # nothing new, ever

    assert busy[-1] == POLICY.min_interval
    assert busy == sorted(busy, reverse=True)
    assert busy[0] > POLICY.min_interval  # converges, does not jump
    assert quiet[-1] == POLICY.max_interval
    assert quiet == sorted(quiet)
    assert quiet[0] < POLICY.max_interval  # drifts, does not jump


# ---- the server's hints ----


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        pytest.param(NotModified(), None, id="no-hint"),
        pytest.param(NotModified(max_age=10 * MINUTE), 10 * MINUTE, id="max-age"),
        pytest.param(Modified((), max_age=10 * MINUTE), 10 * MINUTE, id="max-age-modified"),
        pytest.param(Modified((), ttl=30 * MINUTE), 30 * MINUTE, id="rss-ttl"),
        pytest.param(Modified((), max_age=10 * MINUTE, ttl=30 * MINUTE), 30 * MINUTE, id="longest-hint"),
        pytest.param(NotModified(max_age=timedelta(0)), None, id="max-age-zero"),
        pytest.param(NotModified(max_age=-HOUR), None, id="max-age-negative"),
        pytest.param(NotModified(max_age=TEN_YEARS), HOUR, id="hostile-max-age-capped-at-max-interval"),
        pytest.param(Modified((), ttl=TEN_YEARS), HOUR, id="hostile-ttl-capped-at-max-interval"),
        pytest.param(Failed("HTTP 429"), None, id="no-retry-after"),
        pytest.param(Failed("HTTP 429", retry_after=3 * HOUR), 3 * HOUR, id="retry-after"),
        pytest.param(Failed("HTTP 503", retry_after=TEN_YEARS), MAX_RETRY_AFTER, id="hostile-retry-after"),
        pytest.param(Failed("HTTP 503", retry_after=-HOUR), None, id="retry-after-in-the-past"),
    ],
)
def test_requested_delay(outcome: FetchOutcome, expected: timedelta | None) -> None:
    assert requested_delay(outcome, POLICY) == expected


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        pytest.param(NotModified(max_age=MINUTE), FIVE_MINUTES, id="shorter-hint-does-not-hurry"),
        pytest.param(NotModified(max_age=20 * MINUTE), 20 * MINUTE, id="longer-hint-is-honoured"),
        pytest.param(Modified((), ttl=90 * MINUTE), HOUR, id="ttl-beyond-max-interval"),
        pytest.param(NotModified(max_age=TEN_YEARS), HOUR, id="hostile-max-age"),
        pytest.param(Failed("HTTP 429", retry_after=3 * HOUR), 3 * HOUR, id="retry-after-beats-backoff"),
        pytest.param(Failed("HTTP 429", retry_after=MINUTE), FIVE_MINUTES, id="backoff-beats-retry-after"),
        pytest.param(Failed("HTTP 503", retry_after=TEN_YEARS), timedelta(days=1), id="hostile-retry-after"),
    ],
)
def test_the_next_poll_is_never_sooner_than_the_server_asked_within_caps(
    outcome: FetchOutcome, expected: timedelta
) -> None:
    state = state_after_poll(outlet_with(OutletState(is_baselined=True)), outcome, NOW, jitter=0.0)
    assert delay_after(state) == expected


# ---- jitter ----


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
@pytest.mark.parametrize(
    ("outcome", "base"),
    [
        pytest.param(NotModified(), FIVE_MINUTES, id="success"),
        pytest.param(NotModified(max_age=20 * MINUTE), 20 * MINUTE, id="success-with-hint"),
        pytest.param(Failed("timeout"), FIVE_MINUTES, id="failure"),
        pytest.param(Failed("HTTP 429", retry_after=HOUR), HOUR, id="retry-after"),
    ],
)
def test_jitter_only_ever_stretches_by_up_to_ten_percent(
    jitter: float, outcome: FetchOutcome, base: timedelta
) -> None:
    state = state_after_poll(outlet_with(OutletState(is_baselined=True)), outcome, NOW, jitter)
    assert base <= delay_after(state) < base * 1.1


# ---- backoff ----


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
        pytest.param(FIVE_MINUTES, 10**9, None, MAX_BACKOFF, id="no-overflow"),
        pytest.param(timedelta(hours=1), 4, None, MAX_BACKOFF, id="long-interval-capped"),
        pytest.param(FIVE_MINUTES, 1, timedelta(hours=1), timedelta(hours=1), id="retry-after-longer"),
        pytest.param(FIVE_MINUTES, 3, timedelta(minutes=1), timedelta(minutes=20), id="retry-after-shorter"),
        pytest.param(FIVE_MINUTES, 8, timedelta(hours=10), timedelta(hours=10), id="retry-after-beyond-cap"),
        pytest.param(FIVE_MINUTES, 1, TEN_YEARS, MAX_RETRY_AFTER, id="hostile-retry-after"),
    ],
)
def test_backoff_delay(
    interval: timedelta, failures: int, retry_after: timedelta | None, expected: timedelta
) -> None:
    assert backoff_delay(interval, failures, retry_after) == expected


def test_backoff_cap_is_configurable_and_the_base_is_bounded() -> None:
    policy = SchedulePolicy(min_interval=10 * MINUTE, max_backoff=HOUR)
    state = OutletState(is_baselined=True)
    delays = []
    for _ in range(6):
        state = state_after_poll(outlet_with(state), Failed("timeout"), NOW, jitter=0.0, policy=policy)
        delays.append(delay_after(state))
    # The configured 5 minutes are below the 10-minute floor, so backoff starts from the floor.
    assert delays == [10 * MINUTE, 20 * MINUTE, 40 * MINUTE, HOUR, HOUR, HOUR]


def test_failures_keep_backing_off_until_a_success_resets_them() -> None:
    state = OutletState(is_baselined=True)
    delays = []
    for _ in range(9):
        state = state_after_poll(outlet_with(state), Failed("timeout"), NOW, jitter=0.0)
        delays.append(delay_after(state))

    recovered = state_after_poll(outlet_with(state), NotModified(), NOW, jitter=0.0)

    assert delays == [FIVE_MINUTES * n for n in (1, 2, 4, 8, 16, 32, 64)] + [MAX_BACKOFF] * 2
    assert (recovered.consecutive_failures, recovered.last_error, recovered.next_poll_at) == (
        0,
        None,
        NOW + FIVE_MINUTES,
    )


# ---- state after each outcome ----

UNBASELINED = OutletState(
    validators=OLD,
    next_poll_at=EARLIER,
    last_polled_at=EARLIER,
    last_success_at=EARLIER,
    last_error="HTTP 503",
    consecutive_failures=2,
    is_baselined=False,
)
SETTLED = OutletState(
    validators=OLD,
    next_poll_at=EARLIER,
    last_polled_at=EARLIER,
    last_success_at=EARLIER,
    last_error=None,
    consecutive_failures=0,
    is_baselined=True,
    rate_per_hour=6.0 * 2**1.5,  # three quiet hours (1.5 half-lives) bring it to 6 an hour: 5 min
)


def succeeded(validators: Validators, is_baselined: bool, rate: float | None = None) -> OutletState:
    return OutletState(validators, NOW + FIVE_MINUTES, NOW, NOW, None, 0, is_baselined, rate)


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
            replace(UNBASELINED, rate_per_hour=SETTLED.rate_per_hour),
            NotModified(OLD),
            succeeded(OLD, is_baselined=False, rate=6.0),
            id="not-modified-no-baseline",
        ),
        pytest.param(SETTLED, Modified((), NEW), succeeded(NEW, True, 6.0), id="modified-keeps-baseline"),
        pytest.param(SETTLED, NotModified(NEW), succeeded(NEW, True, 6.0), id="not-modified-keeps-baseline"),
        pytest.param(
            UNBASELINED,
            Failed("HTTP 502"),
            OutletState(OLD, NOW + timedelta(minutes=20), NOW, EARLIER, "HTTP 502", 3, False),
            id="failed-counts-and-backs-off",
        ),
        pytest.param(
            SETTLED,
            Failed("HTTP 429", retry_after=timedelta(minutes=30)),
            replace(
                SETTLED,
                next_poll_at=NOW + timedelta(minutes=30),
                last_polled_at=NOW,
                last_error="HTTP 429",
                consecutive_failures=1,
            ),
            id="failed-honours-retry-after-keeps-baseline-and-rate",
        ),
    ],
)
def test_state_after_poll(before: OutletState, outcome: FetchOutcome, expected: OutletState) -> None:
    after = state_after_poll(outlet_with(before), outcome, NOW, jitter=0.0)
    assert replace(after, rate_per_hour=None) == replace(expected, rate_per_hour=None)
    assert after.rate_per_hour == pytest.approx(expected.rate_per_hour)


# ---- deactivation ----

THREE_STRIKES = SchedulePolicy(deactivate_after=3)


@pytest.mark.parametrize(
    ("failures_before", "deactivated"),
    [(0, False), (1, False), (2, True), (10, True)],
)
def test_deactivation_after_the_configured_number_of_failures(
    failures_before: int, deactivated: bool
) -> None:
    before = OutletState(consecutive_failures=failures_before, last_success_at=EARLIER, is_baselined=True)

    after = state_after_poll(outlet_with(before), Failed("HTTP 404"), NOW, 0.0, policy=THREE_STRIKES)

    assert after.is_deactivated == deactivated
    assert after.consecutive_failures == failures_before + 1
    if deactivated:
        assert (after.deactivated_at, after.next_poll_at, after.backoff_until) == (NOW, None, None)
        assert after.deactivation_reason == f"{failures_before + 1} failures in a row, the last: HTTP 404"
    else:
        assert (after.deactivated_at, after.deactivation_reason) == (None, None)
        assert after.backoff_until == after.next_poll_at


def test_the_default_policy_deactivates_after_50_failures_about_eleven_days_on() -> None:
    state, at, failures = OutletState(is_baselined=True), NOW, 0
    while not state.is_deactivated:
        state = state_after_poll(outlet_with(state), Failed("timeout"), at, jitter=0.0)
        failures += 1
        at = state.next_poll_at or at
    assert failures == 50
    assert timedelta(days=10) < at - NOW < timedelta(days=12)


DEACTIVATED = OutletState(
    next_poll_at=None,
    last_polled_at=EARLIER,
    last_success_at=EARLIER - timedelta(days=10),
    last_error="HTTP 404",
    consecutive_failures=50,
    is_baselined=True,
    rate_per_hour=0.5,
    deactivated_at=EARLIER,
    deactivation_reason="50 failures in a row, the last: HTTP 404",
)


def test_a_deactivated_outlet_polled_by_hand_stays_deactivated_when_it_fails() -> None:
    after = state_after_poll(outlet_with(DEACTIVATED), Failed("HTTP 410"), NOW, jitter=0.0)
    assert (after.deactivated_at, after.deactivation_reason) == (EARLIER, DEACTIVATED.deactivation_reason)
    assert (after.consecutive_failures, after.last_error, after.next_poll_at) == (51, "HTTP 410", None)


def test_a_deactivated_outlet_that_answers_again_is_active_again() -> None:
    after = state_after_poll(outlet_with(DEACTIVATED), NotModified(), NOW, jitter=0.0)
    assert not after.is_deactivated
    assert (after.consecutive_failures, after.deactivation_reason, after.last_success_at) == (0, None, NOW)


def test_reactivated_is_due_now_with_a_clean_count_and_keeps_the_rest() -> None:
    again = reactivated(DEACTIVATED, NOW)

    assert again == replace(
        DEACTIVATED,
        next_poll_at=NOW,
        consecutive_failures=0,
        deactivated_at=None,
        deactivation_reason=None,
    )
    after = state_after_poll(outlet_with(again), Failed("HTTP 404"), NOW, 0.0, policy=THREE_STRIKES)
    assert not after.is_deactivated  # the full allowance of failures again


# ---- health ----


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param(OutletState(next_poll_at=NOW), "never polled", id="new"),
        pytest.param(succeeded(NEW, True), "ok", id="ok"),
        pytest.param(replace(UNBASELINED, next_poll_at=NOW), "failing (2)", id="failing-due"),
        pytest.param(
            replace(UNBASELINED, next_poll_at=NOW + timedelta(minutes=20)),
            "backing off until 2024-05-01 12:20 UTC (2 failures)",
            id="backing-off",
        ),
        pytest.param(
            replace(UNBASELINED, next_poll_at=NOW + HOUR, consecutive_failures=1),
            "backing off until 2024-05-01 13:00 UTC (1 failure)",
            id="backing-off-once",
        ),
        pytest.param(DEACTIVATED, "deactivated 2024-05-01 09:00 UTC", id="deactivated"),
        pytest.param(reactivated(DEACTIVATED, NOW), "enabled again, not polled since", id="enabled-again"),
    ],
)
def test_describe_health(state: OutletState, expected: str) -> None:
    assert describe_health(state, NOW) == expected
