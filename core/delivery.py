"""Use case: deliver due alerts from the outbox through channels, applying the retry policy.

An alert goes out once per story and destination; when a later outlet joins the story, the sent
message is edited to list it under "also in" where the platform can edit, and left alone where it
cannot (the console): never a second alert.

Nothing is dropped here: a failed send is retried later, a destination the platform asks us to
leave alone for a while (flood control) is held, and an unreachable one is paused with its alerts
kept pending until it is enabled again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.models import Alert, Platform, RetryLater, SendOutcome, Sent, Unreachable
from core.ports import Channel, EditableChannel, Outbox

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
MAX_ERROR_DELAY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # the channel said "later"
    paused: int = 0  # the channel found the destination unreachable; it is paused, the alert waits
    edited: int = 0
    held: int = 0  # put back untried: an earlier alert of the batch found its destination held or paused

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.paused + self.held


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


async def edit_alert(channel: EditableChannel, alert: Alert) -> SendOutcome:
    """Edit a sent alert; an unexpected exception becomes a retry, like a send."""
    try:
        return await channel.update(alert.destination, alert.ref, alert)
    except Exception as error:
        log.exception("channel raised on edit", extra={"alert_id": alert.id})
        return RetryLater(error_delay(1), f"{type(error).__name__}: {error}")


async def deliver_edits(
    outbox: Outbox, channels: Mapping[Platform, Channel], now: datetime, limit: int = 100
) -> int:
    """Edit sent alerts whose story gained outlets, on the platforms that can edit; returns edits made."""
    editors = {p: channel for p, channel in channels.items() if isinstance(channel, EditableChannel)}
    if not editors:
        return 0
    alerts = await outbox.claim_edits(now, editors.keys(), limit, CLAIM_LEASE)
    lease_until = now + CLAIM_LEASE
    edited = 0
    for alert in alerts:
        outcome = await edit_alert(editors[alert.destination.platform], alert)
        if isinstance(outcome, Sent):
            await outbox.finish_edit(alert.id, lease_until, None)
            edited += 1
        elif isinstance(outcome, RetryLater):
            await outbox.reschedule_edit(alert.id, now + outcome.after, outcome.reason)
            if outcome.hold_destination:
                await outbox.hold_destination(alert.destination.id, now + outcome.after)
        elif isinstance(outcome, Unreachable):
            # The message is gone or no longer editable: the alert itself was delivered, so stop here.
            await outbox.finish_edit(alert.id, lease_until, outcome.reason)
    return edited


async def deliver_due(
    outbox: Outbox,
    channels: Mapping[Platform, Channel],
    now: datetime,
    limit: int = 100,
    per_destination: int = 1,
) -> DeliveryReport:
    """Claim due alerts for the platforms we have channels for and send each once.

    A hold or a pause found by one alert applies to the rest of its destination's alerts in the
    batch at once: they go back to the queue without a request, and other destinations go on.
    """
    alerts = await outbox.claim_due(now, channels.keys(), limit, CLAIM_LEASE, per_destination)
    back: list[tuple[int, datetime, str]] = []  # alerts to put back: (id, due again at, why)
    holds: dict[int, datetime] = {}
    pauses: dict[int, str] = {}
    stopped: dict[int, tuple[datetime, str]] = {}  # destination -> (due again at, why), for this batch
    sent = retrying = paused = held = 0
    for alert in alerts:
        destination_id = alert.destination.id
        if destination_id in stopped:
            back.append((alert.id, *stopped[destination_id]))
            held += 1
            continue
        outcome = await send_alert(channels[alert.destination.platform], alert)
        # At-least-once: an alert is marked sent only after the platform accepted it, and at once,
        # so a crash re-sends at most the alert in hand.
        if isinstance(outcome, Sent):
            await outbox.mark_sent(alert.id, outcome.ref, now)
            sent += 1
        elif isinstance(outcome, RetryLater):
            due_at = now + outcome.after
            back.append((alert.id, due_at, outcome.reason))
            if outcome.hold_destination:
                holds[destination_id] = due_at
                stopped[destination_id] = (due_at, outcome.reason)
            retrying += 1
        elif isinstance(outcome, Unreachable):
            # Paused, not dead: the alert stays due and goes out once the destination is enabled again.
            pauses[destination_id] = outcome.reason
            back.append((alert.id, now, outcome.reason))
            stopped[destination_id] = (now, outcome.reason)
            paused += 1
    # Unsent alerts are still leased, so writing them back together after the batch loses nothing
    # if we die first: the lease expires and they are due again.
    if back:
        await outbox.requeue(back, holds, pauses, now)
    edited = await deliver_edits(outbox, channels, now, limit)
    return DeliveryReport(sent, retrying, paused, edited, held)
