"""Use case: send each destination's due held alerts (digest mode, quiet hours) together as one digest.

Alerts are held by the destination's delivery plan (core.digest.release_at) when they are queued;
once their release time comes they are claimed together per destination and sent as one message
through a `DigestChannel`. A channel that cannot send digests gets them one by one, so nothing
held is ever stranded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.delivery import CLAIM_LEASE, error_delay, send_alert
from core.models import Alert, Platform, RetryLater, SendOutcome, Sent, Unreachable
from core.ports import Channel, DigestChannel, DigestOutbox

log = logging.getLogger(__name__)

DIGEST_BATCH = 500


@dataclass(frozen=True, slots=True)
class DigestReport:
    digests: int = 0  # messages that carried several alerts at once
    sent: int = 0  # alerts delivered, in digests or one by one
    retrying: int = 0
    paused: int = 0  # alerts waiting because their destination cannot be reached; none is dropped

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.paused


def group_by_destination(alerts: Sequence[Alert]) -> list[list[Alert]]:
    """The claimed alerts per destination, oldest first, in the order destinations first appear."""
    groups: dict[int, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(alert.destination.id, []).append(alert)
    return [sorted(group, key=lambda alert: alert.id) for group in groups.values()]


async def send_digest(channel: DigestChannel, alerts: Sequence[Alert]) -> SendOutcome:
    """Send one digest; an unexpected exception becomes a retry of all of it, never a lost alert."""
    try:
        return await channel.send_digest(alerts[0].destination, alerts)
    except Exception as error:
        log.exception("channel raised on digest", extra={"destination_id": alerts[0].destination.id})
        return RetryLater(error_delay(max(a.attempts for a in alerts)), f"{type(error).__name__}: {error}")


async def settle(outbox: DigestOutbox, alerts: Sequence[Alert], outcome: SendOutcome, now: datetime) -> str:
    """Record how a send went for these alerts; returns "sent", "retrying" or "paused".

    The rules are core.delivery's: a flood wait holds the whole destination, and an unreachable
    destination is paused with its alerts kept pending until it is enabled again.
    """
    alert_ids = [alert.id for alert in alerts]
    destination_id = alerts[0].destination.id
    if isinstance(outcome, Sent):
        await outbox.mark_digest_sent(alert_ids, outcome.ref, now)
        return "sent"
    if isinstance(outcome, RetryLater):
        await outbox.reschedule_digest(alert_ids, now + outcome.after, outcome.reason)
        if outcome.hold_destination:
            await outbox.hold_destination(destination_id, now + outcome.after)
        return "retrying"
    await outbox.reschedule_digest(alert_ids, now, outcome.reason)
    await outbox.pause_destination(destination_id, outcome.reason, now)
    return "paused"


def stops_destination(outcome: SendOutcome) -> bool:
    """True when nothing more may be sent to the destination now (a hold or a pause)."""
    return isinstance(outcome, Unreachable) or (isinstance(outcome, RetryLater) and outcome.hold_destination)


async def send_one_by_one(
    outbox: DigestOutbox, channel: Channel, group: Sequence[Alert], now: datetime, counts: dict[str, int]
) -> None:
    """A channel without digests: each alert alone, until the destination is held or paused."""
    for position, alert in enumerate(group):
        outcome = await send_alert(channel, alert)
        counts[await settle(outbox, [alert], outcome, now)] += 1
        rest = group[position + 1 :]
        if rest and stops_destination(outcome):
            # The rest go back untried, due when the hold ends (a paused destination waits anyway).
            after = outcome.after if isinstance(outcome, RetryLater) else timedelta(0)
            await outbox.reschedule_digest([a.id for a in rest], now + after, "not tried: destination waits")
            counts["retrying"] += len(rest)
            return


async def deliver_digests(
    outbox: DigestOutbox, channels: Mapping[Platform, Channel], now: datetime, limit: int = DIGEST_BATCH
) -> DigestReport:
    """Claim due held alerts for the platforms we have channels for and send each destination's as one."""
    alerts = await outbox.claim_digests(now, channels.keys(), limit, CLAIM_LEASE)
    counts = {"sent": 0, "retrying": 0, "paused": 0}
    digests = 0
    for group in group_by_destination(alerts):
        channel = channels[group[0].destination.platform]
        if isinstance(channel, DigestChannel):
            # At-least-once: the rows are marked sent only after the platform accepted the digest.
            result = await settle(outbox, group, await send_digest(channel, group), now)
            counts[result] += len(group)
            digests += result == "sent"
        else:
            await send_one_by_one(outbox, channel, group, now, counts)
    return DigestReport(digests, counts["sent"], counts["retrying"], counts["paused"])
