"""Use case: deliver due alerts from the outbox through channels, applying the retry policy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.models import Alert, Platform, RetryLater, SendOutcome, Sent, Unreachable
from core.ports import Channel, Outbox

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
MAX_ERROR_DELAY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.dead


def error_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th try failed: 5 s, 10 s, 20 s … capped at MAX_ERROR_DELAY."""
    delay: timedelta = min(timedelta(seconds=5) * (2 ** min(max(attempts - 1, 0), 16)), MAX_ERROR_DELAY)
    return delay


async def send_alert(channel: Channel, alert: Alert) -> SendOutcome:
    """Send through the channel; an unexpected exception becomes a retry, never a lost alert."""
    try:
        return await channel.send(alert.destination, alert)
    except Exception as error:
        log.exception("channel raised", extra={"alert_id": alert.id})
        return RetryLater(error_delay(alert.attempts), f"{type(error).__name__}: {error}")


async def deliver_due(
    outbox: Outbox, channels: Mapping[Platform, Channel], now: datetime, limit: int = 100
) -> DeliveryReport:
    """Claim due alerts for the platforms we have channels for and send each once."""
    alerts = await outbox.claim_due(now, channels.keys(), limit, CLAIM_LEASE)
    sent = retrying = dead = 0
    for alert in alerts:
        outcome = await send_alert(channels[alert.destination.platform], alert)
        # At-least-once: an alert is marked sent only after the platform accepted it.
        if isinstance(outcome, Sent):
            await outbox.mark_sent(alert.id, outcome.ref, now)
            sent += 1
        elif isinstance(outcome, RetryLater):
            await outbox.reschedule(alert.id, now + outcome.after, outcome.reason)
            retrying += 1
        elif isinstance(outcome, Unreachable):
            await outbox.mark_dead(alert.id, outcome.reason, now)
            dead += 1
    return DeliveryReport(sent, retrying, dead)
