"""When to poll an outlet next: pure functions of the outlet, the outcome, the policy and `now`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.models import Failed, FeedItem, FetchOutcome, Modified, Outlet, OutletState

HOUR = timedelta(hours=1)
JITTER_SHARE = 0.1  # spread polls of outlets added together so they do not stay in lockstep
# Poll about twice per expected gap between articles: half an article found per poll on average.
ITEMS_PER_POLL = 0.5
# The publishing-rate estimate forgets: evidence two hours old weighs half as much as fresh evidence,
# so a quiet outlet that starts breaking news is polled faster within an hour or two.
RATE_HALF_LIFE = timedelta(hours=2)
MIN_DATED_ITEMS = 3  # fewer publication dates than this say nothing about a rate
MAX_BACKOFF_EXPONENT = 20  # an outlet down for weeks must not overflow timedelta
# The longest Retry-After honoured: a hostile "ten years" would otherwise silence an outlet for good.
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    """The bounds every outlet's schedule keeps (`[schedule]` in the config)."""

    min_interval: timedelta = timedelta(minutes=2)
    max_interval: timedelta = timedelta(hours=1)
    max_backoff: timedelta = timedelta(hours=6)
    deactivate_after: int = 50

    def bounded(self, interval: timedelta) -> timedelta:
        return min(max(interval, self.min_interval), self.max_interval)


DEFAULT_POLICY = SchedulePolicy()
MAX_BACKOFF = DEFAULT_POLICY.max_backoff


def rate_from_dates(items: Sequence[FeedItem], now: datetime) -> float | None:
    """Articles per hour the feed shows, from its oldest dated item to `now`; None without enough dates."""
    # A date in the future (clock skew, a scheduled post) counts as published now.
    dates = [min(item.published, now) for item in items if item.published is not None]
    if len(dates) < MIN_DATED_ITEMS or min(dates) == max(dates):
        return None  # all items stamped alike is a feed's build time, not publication times
    return len(dates) / ((now - min(dates)) / HOUR)


def rate_implied_by(interval: timedelta) -> float:
    """The publishing rate for which `interval` would be the right poll interval."""
    return ITEMS_PER_POLL / (interval / HOUR)


def updated_rate(
    state: OutletState, outcome: FetchOutcome, new_items: int, interval: timedelta, now: datetime
) -> float | None:
    """The outlet's publishing rate after a successful poll that found `new_items` new articles."""
    if isinstance(outcome, Modified) and not state.is_baselined:
        # The first read finds everything as new; the items' dates tell the pace instead.
        seeded = rate_from_dates(outcome.items, now)
        return seeded if seeded is not None else state.rate_per_hour
    if state.last_success_at is None or now <= state.last_success_at:
        return state.rate_per_hour
    # Until the outlet has shown its pace, its configured interval is the estimate to start from.
    prior = state.rate_per_hour if state.rate_per_hour is not None else rate_implied_by(interval)
    elapsed = now - state.last_success_at
    # Weighting by elapsed time makes the estimate independent of how often the outlet is polled.
    weight = 1 - math.pow(0.5, elapsed / RATE_HALF_LIFE)
    return prior + weight * (new_items / (elapsed / HOUR) - prior)


def adaptive_interval(
    rate_per_hour: float | None, configured: timedelta, policy: SchedulePolicy
) -> timedelta:
    """The poll interval for an outlet's publishing rate, within the policy's bounds."""
    if rate_per_hour is None:
        return policy.bounded(configured)
    if rate_per_hour <= rate_implied_by(policy.max_interval):
        return policy.max_interval  # also avoids dividing by a rate of zero
    return policy.bounded(HOUR * (ITEMS_PER_POLL / rate_per_hour))


def requested_delay(outcome: FetchOutcome, policy: SchedulePolicy) -> timedelta | None:
    """How long the server asked us to wait, capped; None when it did not ask."""
    if isinstance(outcome, Failed):
        asked, cap = outcome.retry_after, MAX_RETRY_AFTER
    else:
        hints = [outcome.max_age] + ([outcome.ttl] if isinstance(outcome, Modified) else [])
        asked = max((hint for hint in hints if hint is not None), default=None)
        # Cache lifetimes are hints, not demands: no longer than the slowest regular poll.
        cap = policy.max_interval
    if asked is None or asked <= timedelta(0):
        return None
    return min(asked, cap)


def next_poll_after_success(interval: timedelta, now: datetime, jitter: float) -> datetime:
    """`jitter` in [0, 1) stretches the interval by up to JITTER_SHARE."""
    return now + interval * (1 + JITTER_SHARE * jitter)


def backoff_delay(
    interval: timedelta, failures: int, retry_after: timedelta | None, cap: timedelta = MAX_BACKOFF
) -> timedelta:
    """Exponential backoff from the outlet's interval, capped, never sooner than the server asked."""
    # The exponent is capped before multiplying: an outlet down for weeks must not overflow timedelta.
    exponent = min(max(0, failures - 1), MAX_BACKOFF_EXPONENT)
    delay: timedelta = min(interval * 2**exponent, cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def state_after_poll(
    outlet: Outlet,
    outcome: FetchOutcome,
    now: datetime,
    jitter: float,
    new_items: int = 0,
    policy: SchedulePolicy = DEFAULT_POLICY,
) -> OutletState:
    """The outlet's health, pace, validators and next poll time after one fetch."""
    state = outlet.state
    if isinstance(outcome, Failed):
        return state_after_failure(outlet, outcome, now, jitter, policy)
    rate = updated_rate(state, outcome, new_items, outlet.interval, now)
    interval = adaptive_interval(rate, outlet.interval, policy)
    asked = requested_delay(outcome, policy)
    if asked is not None:
        interval = max(interval, asked)
    return replace(
        state,
        validators=outcome.validators,
        next_poll_at=next_poll_after_success(interval, now, jitter),
        last_polled_at=now,
        last_success_at=now,
        last_error=None,
        consecutive_failures=0,
        # The first successful read of an outlet is its baseline: what it already shows is not news.
        is_baselined=state.is_baselined or isinstance(outcome, Modified),
        rate_per_hour=rate,
        # An outlet that answers again is healthy again, whoever polled it.
        deactivated_at=None,
        deactivation_reason=None,
    )


def state_after_failure(
    outlet: Outlet, outcome: Failed, now: datetime, jitter: float, policy: SchedulePolicy
) -> OutletState:
    state = outlet.state
    failures = state.consecutive_failures + 1
    delay = backoff_delay(policy.bounded(outlet.interval), failures, outcome.retry_after, policy.max_backoff)
    failed = replace(
        state,
        next_poll_at=now + delay * (1 + JITTER_SHARE * jitter),
        last_polled_at=now,
        last_error=outcome.reason,
        consecutive_failures=failures,
    )
    if state.is_deactivated:
        return replace(failed, next_poll_at=None)  # polled by hand while deactivated: stays so
    if failures < policy.deactivate_after:
        return failed
    return replace(
        failed,
        next_poll_at=None,
        deactivated_at=now,
        deactivation_reason=f"{counted(failures, 'failure')} in a row, the last: {outcome.reason}",
    )


def reactivated(state: OutletState, now: datetime) -> OutletState:
    """The state of an outlet an admin enables again: due now, with a clean failure count."""
    return replace(
        state, next_poll_at=now, consecutive_failures=0, deactivated_at=None, deactivation_reason=None
    )


def describe_health(state: OutletState, now: datetime) -> str:
    """One phrase for `outlets list` and `status`: never polled, ok, failing, backing off, deactivated."""
    if state.deactivated_at is not None:
        return f"deactivated {state.deactivated_at:%Y-%m-%d %H:%M} UTC"
    if state.last_polled_at is None:
        return "never polled"
    failures = state.consecutive_failures
    if not failures:
        # Only `reactivated` leaves an error with no failure counted: the last poll failed.
        return "ok" if state.last_error is None else "enabled again, not polled since"
    until = state.backoff_until
    if until is not None and until > now:
        return f"backing off until {until:%Y-%m-%d %H:%M} UTC ({counted(failures, 'failure')})"
    return f"failing ({failures})"


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
