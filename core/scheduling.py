"""When to poll an outlet next: pure functions of the outlet, the outcome and `now`."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.models import Failed, FetchOutcome, Modified, Outlet, OutletState

MAX_BACKOFF = timedelta(hours=6)
JITTER_SHARE = 0.1  # spread polls of outlets added together so they do not stay in lockstep


def next_poll_after_success(interval: timedelta, now: datetime, jitter: float) -> datetime:
    """`jitter` in [0, 1) stretches the interval by up to JITTER_SHARE."""
    return now + interval * (1 + JITTER_SHARE * jitter)


def backoff_delay(interval: timedelta, failures: int, retry_after: timedelta | None) -> timedelta:
    """Exponential backoff from the outlet's interval, capped, never sooner than the server asked."""
    # The exponent is capped before multiplying: an outlet down for weeks must not overflow timedelta.
    delay: timedelta = min(interval * (2 ** min(max(0, failures - 1), 20)), MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def state_after_poll(outlet: Outlet, outcome: FetchOutcome, now: datetime, jitter: float) -> OutletState:
    """The outlet's health, validators and next poll time after one fetch."""
    state = outlet.state
    if isinstance(outcome, Failed):
        failures = state.consecutive_failures + 1
        return OutletState(
            validators=state.validators,
            next_poll_at=now + backoff_delay(outlet.interval, failures, outcome.retry_after),
            last_polled_at=now,
            last_success_at=state.last_success_at,
            last_error=outcome.reason,
            consecutive_failures=failures,
            is_baselined=state.is_baselined,
        )
    return OutletState(
        validators=outcome.validators,
        next_poll_at=next_poll_after_success(outlet.interval, now, jitter),
        last_polled_at=now,
        last_success_at=now,
        last_error=None,
        consecutive_failures=0,
        # The first successful read of an outlet is its baseline: what it already shows is not news.
        is_baselined=state.is_baselined or isinstance(outcome, Modified),
    )
