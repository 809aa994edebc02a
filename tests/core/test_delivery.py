"""Delivery use case: every channel outcome maps to one outbox transition, and nothing is lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.delivery import CLAIM_LEASE, MAX_ERROR_DELAY, DeliveryReport, deliver_due, error_delay, send_alert
from core.models import (
    Alert,
    Article,
    Destination,
    Platform,
    RetryLater,
    Sent,
    Snippet,
    TopicMatch,
    Unreachable,
)
from core.ports import Channel
from tests.fakes import ChannelStep, EditingChannel, InMemoryOutbox, OutboxEntry, RecordingChannel

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DESK = Destination(1, Platform.TELEGRAM, "-100200", "Editors' desk")
REPORTER = Destination(2, Platform.TELEGRAM, "4242", "Reporter")
SLACK_DESK = Destination(3, Platform.SLACK, "C0EDITORS", "#editors")
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO drills begin", ((0, 4),)))


def article(article_id: int = 1) -> Article:
    return Article(article_id, 1, "Tengrinews", f"CSTO drills begin ({article_id})", None, "", None, NOW)


def queue(outbox: InMemoryOutbox, destination: Destination, article_id: int = 1, at: datetime = NOW) -> int:
    entry = outbox.add(article(article_id), destination, (CSTO,), at)
    assert entry is not None
    return entry.id


def state_of(entry: OutboxEntry) -> tuple[str, int, datetime, str | None, str | None]:
    return (entry.state, entry.attempts, entry.next_attempt_at, entry.sent_ref, entry.last_error)


@pytest.mark.parametrize(
    ("step", "expected_state", "expected_report"),
    [
        pytest.param(Sent("msg-17"), ("sent", 1, NOW, "msg-17", None), DeliveryReport(sent=1), id="sent"),
        pytest.param(
            RetryLater(timedelta(seconds=30), "429 Too Many Requests"),
            ("pending", 1, NOW + timedelta(seconds=30), None, "429 Too Many Requests"),
            DeliveryReport(retrying=1),
            id="retry-later",
        ),
        pytest.param(
            Unreachable("bot was blocked by the user"),
            ("pending", 1, NOW, None, "bot was blocked by the user"),
            DeliveryReport(paused=1),
            id="unreachable",
        ),
        pytest.param(
            ConnectionResetError("connection reset"),
            ("pending", 1, NOW + error_delay(1), None, "ConnectionResetError: connection reset"),
            DeliveryReport(retrying=1),
            id="channel-raises",
        ),
    ],
)
async def test_each_outcome_moves_the_alert_to_its_state(
    step: ChannelStep,
    expected_state: tuple[str, int, datetime, str | None, str | None],
    expected_report: DeliveryReport,
) -> None:
    outbox = InMemoryOutbox()
    alert_id = queue(outbox, DESK)
    channel = RecordingChannel(step)

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert report == expected_report
    assert report.claimed == 1
    assert [(destination, alert.id, alert.attempts) for destination, alert in channel.sent] == [
        (DESK, alert_id, 1)
    ]
    entry = outbox.entry(alert_id)
    assert state_of(entry) == expected_state
    assert entry.lease_until is None


async def test_a_rescheduled_alert_waits_until_it_is_due_then_is_sent() -> None:
    outbox = InMemoryOutbox()
    alert_id = queue(outbox, DESK)
    channel = RecordingChannel(RetryLater(timedelta(seconds=30), "flood wait"))
    channels: dict[Platform, Channel] = {Platform.TELEGRAM: channel}
    await deliver_due(outbox, channels, NOW)

    early = await deliver_due(outbox, channels, NOW + timedelta(seconds=29))
    due = await deliver_due(outbox, channels, NOW + timedelta(seconds=30))

    assert (early.claimed, due.sent) == (0, 1)
    assert channel.alert_ids() == [alert_id, alert_id]
    assert state_of(outbox.entry(alert_id)) == (
        "sent",
        2,
        NOW + timedelta(seconds=30),
        f"{DESK.address}/{alert_id}",
        None,
    )


async def test_a_raising_channel_loses_nothing_and_does_not_stop_the_batch() -> None:
    outbox = InMemoryOutbox()
    first = queue(outbox, DESK, article_id=1)
    second = queue(outbox, REPORTER, article_id=1)
    channel = RecordingChannel(RuntimeError("boom"))

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert report == DeliveryReport(sent=1, retrying=1)
    assert channel.alert_ids() == [first, second]
    assert outbox.count_by_state() == {"pending": 1, "sent": 1}
    assert outbox.entry(first).next_attempt_at == NOW + error_delay(1)

    retry = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW + error_delay(1))

    assert retry == DeliveryReport(sent=1)
    assert outbox.count_by_state() == {"sent": 2}


async def test_only_platforms_with_a_channel_are_claimed() -> None:
    outbox = InMemoryOutbox()
    telegram_id = queue(outbox, DESK)
    slack_id = queue(outbox, SLACK_DESK)
    channel = RecordingChannel()

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert report == DeliveryReport(sent=1)
    assert channel.alert_ids() == [telegram_id]
    assert outbox.claimed_platforms == [frozenset({Platform.TELEGRAM})]
    assert state_of(outbox.entry(slack_id)) == ("pending", 0, NOW, None, None)


async def test_an_expired_lease_makes_a_sending_alert_due_again() -> None:
    outbox = InMemoryOutbox()
    alert_id = queue(outbox, DESK)
    # A sender claims the alert and dies before it can record the outcome.
    crashed = await outbox.claim_due(NOW, {Platform.TELEGRAM}, 10, CLAIM_LEASE)
    assert [alert.id for alert in crashed] == [alert_id]
    channel = RecordingChannel()
    channels: dict[Platform, Channel] = {Platform.TELEGRAM: channel}

    during_lease = await deliver_due(outbox, channels, NOW + CLAIM_LEASE - timedelta(seconds=1))
    after_lease = await deliver_due(outbox, channels, NOW + CLAIM_LEASE)

    assert (during_lease.claimed, after_lease.sent) == (0, 1)
    assert [alert.attempts for _, alert in channel.sent] == [2]
    assert outbox.entry(alert_id).state == "sent"


async def test_claims_respect_the_limit_and_take_the_oldest_first() -> None:
    outbox = InMemoryOutbox()
    newest = queue(outbox, DESK, article_id=1, at=NOW)
    oldest = queue(outbox, DESK, article_id=2, at=NOW - timedelta(minutes=2))
    middle = queue(outbox, DESK, article_id=3, at=NOW - timedelta(minutes=1))
    channel = RecordingChannel()

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW, limit=2, per_destination=3)

    assert report.sent == 2
    assert channel.alert_ids() == [oldest, middle]
    assert outbox.entry(newest).state == "pending"


async def test_nothing_due_sends_nothing() -> None:
    outbox = InMemoryOutbox()
    queue(outbox, DESK, at=NOW + timedelta(seconds=1))
    channel = RecordingChannel()

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert (report, channel.sent) == (DeliveryReport(), [])


async def test_send_alert_turns_an_exception_into_a_retry_with_the_error_delay() -> None:
    channel = RecordingChannel(TimeoutError("read timed out"))
    alert = Alert(9, DESK, article(), (CSTO,), attempts=3)

    outcome = await send_alert(channel, alert)

    assert outcome == RetryLater(error_delay(3), "TimeoutError: read timed out")
    assert outcome == RetryLater(timedelta(seconds=20), "TimeoutError: read timed out")


def test_the_outbox_keeps_one_row_per_story_and_destination() -> None:
    outbox = InMemoryOutbox()

    first = outbox.add(replace(article(1), story_id=7), DESK, (CSTO,), NOW)
    again = outbox.add(replace(article(1), story_id=7), DESK, (CSTO,), NOW)
    same_story = outbox.add(replace(article(2), story_id=7), DESK, (CSTO,), NOW)
    elsewhere = outbox.add(replace(article(2), story_id=7), REPORTER, (CSTO,), NOW)
    other_story = outbox.add(replace(article(3), story_id=8), DESK, (CSTO,), NOW)

    assert (first is not None, again, same_story) == (True, None, None)
    assert (elsewhere is not None, other_story is not None) == (True, True)
    assert len(outbox.entries) == 3


def sent_story_alert(outbox: InMemoryOutbox, destination: Destination) -> int:
    """An alert about story 7 from Tengrinews, already delivered as message `ref-1`."""
    entry = outbox.add(replace(article(1), story_id=7), destination, (CSTO,), NOW)
    assert entry is not None
    entry.state, entry.sent_ref, entry.attempts = "sent", "ref-1", 1
    return entry.id


async def test_a_later_outlet_edits_the_sent_alert_once_to_show_it() -> None:
    outbox = InMemoryOutbox()
    alert_id = sent_story_alert(outbox, DESK)
    channel = EditingChannel()
    outbox.join_story(7, "Kazinform", NOW)
    outbox.join_story(7, "Kazinform", NOW)  # a second copy from the same outlet changes nothing shown

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)
    again = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW + timedelta(minutes=5))

    assert (report, again) == (DeliveryReport(edited=1), DeliveryReport())
    assert channel.sent == []  # never a second alert
    ((destination, ref, alert),) = channel.edited
    assert (destination, ref, alert.id, alert.also_in) == (DESK, "ref-1", alert_id, ("Kazinform",))
    assert outbox.entry(alert_id).edit_due_at is None


async def test_a_channel_that_cannot_edit_gets_nothing_more() -> None:
    outbox = InMemoryOutbox()
    sent_story_alert(outbox, DESK)
    channel = RecordingChannel()
    outbox.join_story(7, "Kazinform", NOW)

    report = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert (report, channel.sent) == (DeliveryReport(), [])


@pytest.mark.parametrize(
    ("step", "due_after", "error"),
    [
        pytest.param(
            RetryLater(timedelta(seconds=30), "flood wait"),
            NOW + timedelta(seconds=30),
            "flood wait",
            id="retry",
        ),
        pytest.param(
            ConnectionResetError("reset"), NOW + error_delay(1), "ConnectionResetError: reset", id="raises"
        ),
        pytest.param(Unreachable("message to edit not found"), None, "message to edit not found", id="gone"),
    ],
)
async def test_a_failed_edit_is_retried_or_given_up_but_the_alert_stays_sent(
    step: ChannelStep, due_after: datetime | None, error: str
) -> None:
    outbox = InMemoryOutbox()
    alert_id = sent_story_alert(outbox, DESK)
    outbox.join_story(7, "Kazinform", NOW)

    report = await deliver_due(outbox, {Platform.TELEGRAM: EditingChannel().then_edit(step)}, NOW)

    entry = outbox.entry(alert_id)
    assert (report.edited, entry.state, entry.edit_due_at, entry.last_error) == (0, "sent", due_after, error)


async def test_an_edit_is_leased_and_a_stale_editor_cannot_clear_a_newer_claim() -> None:
    outbox = InMemoryOutbox()
    alert_id = sent_story_alert(outbox, DESK)
    outbox.join_story(7, "Kazinform", NOW)
    (claimed,) = await outbox.claim_edits(NOW, {Platform.TELEGRAM}, 10, CLAIM_LEASE)
    assert claimed.also_in == ("Kazinform",)

    # A crashed editor's lease expires; meanwhile no second editor may take the same edit.
    assert await outbox.claim_edits(NOW + CLAIM_LEASE / 2, {Platform.TELEGRAM}, 10, CLAIM_LEASE) == []
    (again,) = await outbox.claim_edits(NOW + CLAIM_LEASE, {Platform.TELEGRAM}, 10, CLAIM_LEASE)
    assert (again.id, again.ref) == (alert_id, "ref-1")
    # The stale editor finishing late must not clear the edit the newer claim holds.
    await outbox.finish_edit(alert_id, NOW + CLAIM_LEASE, None)
    assert outbox.entry(alert_id).edit_due_at == NOW + 2 * CLAIM_LEASE
    await outbox.finish_edit(alert_id, NOW + 2 * CLAIM_LEASE, None)
    assert outbox.entry(alert_id).edit_due_at is None


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        (0, timedelta(seconds=5)),
        (1, timedelta(seconds=5)),
        (2, timedelta(seconds=10)),
        (3, timedelta(seconds=20)),
        (7, timedelta(seconds=320)),
        (8, MAX_ERROR_DELAY),
        (16, MAX_ERROR_DELAY),
        (10_000, MAX_ERROR_DELAY),
    ],
)
def test_error_delay_doubles_and_is_capped(attempts: int, expected: timedelta) -> None:
    assert error_delay(attempts) == expected


async def test_a_batch_takes_one_alert_per_destination_by_default() -> None:
    outbox = InMemoryOutbox()
    desk = [queue(outbox, DESK, article_id=n) for n in (1, 2, 3)]
    reporter = [queue(outbox, REPORTER, article_id=n) for n in (1, 2, 3)]
    channel = RecordingChannel()

    first = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)
    second = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert (first.sent, second.sent) == (2, 2)
    assert channel.alert_ids() == [desk[0], reporter[0], desk[1], reporter[1]]


async def test_a_hold_puts_the_destinations_other_alerts_back_untried_and_others_go_on() -> None:
    outbox = InMemoryOutbox()
    desk = [queue(outbox, DESK, article_id=n) for n in (1, 2, 3)]
    reporter = queue(outbox, REPORTER, article_id=1)
    flood = RetryLater(timedelta(seconds=17), "429 retry after 17", hold_destination=True)
    channel = RecordingChannel(flood)
    channels: dict[Platform, Channel] = {Platform.TELEGRAM: channel}

    report = await deliver_due(outbox, channels, NOW, per_destination=3)

    assert report == DeliveryReport(sent=1, retrying=1, held=2)
    assert channel.alert_ids() == [desk[0], reporter]  # desk's 2nd and 3rd were never tried
    until = NOW + timedelta(seconds=17)
    assert outbox.held == {DESK.id: until}
    assert {outbox.entry(i).next_attempt_at for i in desk} == {until}
    assert {outbox.entry(i).state for i in desk} == {"pending"}

    assert (await deliver_due(outbox, channels, until - timedelta(seconds=1), per_destination=3)).claimed == 0
    resumed = await deliver_due(outbox, channels, until, per_destination=3)
    assert resumed.sent == 3
    assert channel.alert_ids()[2:] == desk


async def test_a_later_shorter_hold_does_not_cut_a_longer_one_short() -> None:
    outbox = InMemoryOutbox()
    await outbox.hold_destination(DESK.id, NOW + timedelta(seconds=30))
    await outbox.hold_destination(DESK.id, NOW + timedelta(seconds=1))
    assert outbox.held == {DESK.id: NOW + timedelta(seconds=30)}


async def test_an_unreachable_destination_is_paused_and_its_alerts_wait_for_it() -> None:
    outbox = InMemoryOutbox()
    desk = [queue(outbox, DESK, article_id=n) for n in (1, 2)]
    reporter = queue(outbox, REPORTER, article_id=1)
    channel = RecordingChannel(Unreachable("Forbidden: bot was kicked"))
    channels: dict[Platform, Channel] = {Platform.TELEGRAM: channel}

    report = await deliver_due(outbox, channels, NOW, per_destination=5)

    assert report == DeliveryReport(sent=1, paused=1, held=1)
    assert outbox.paused == {DESK.id: "Forbidden: bot was kicked"}
    assert [outbox.entry(i).state for i in desk] == ["pending", "pending"]  # nothing is dead
    assert outbox.entry(reporter).state == "sent"
    later = NOW + timedelta(hours=1)
    assert (await deliver_due(outbox, channels, later, per_destination=5)).claimed == 0

    outbox.enable(DESK.id)
    again = await deliver_due(outbox, channels, later, per_destination=5)
    assert again.sent == 2
    assert {outbox.entry(i).state for i in desk} == {"sent"}


async def test_a_destination_with_an_alert_in_flight_elsewhere_waits_for_it() -> None:
    outbox = InMemoryOutbox()
    first = queue(outbox, DESK, article_id=1)
    second = queue(outbox, DESK, article_id=2)
    (claimed,) = await outbox.claim_due(NOW, {Platform.TELEGRAM}, 10, CLAIM_LEASE)  # another sender
    assert claimed.id == first
    channel = RecordingChannel()

    during = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)
    await outbox.mark_sent(first, "ref-1", NOW)
    after = await deliver_due(outbox, {Platform.TELEGRAM: channel}, NOW)

    assert (during.claimed, after.sent, channel.alert_ids()) == (0, 1, [second])


async def test_a_hold_met_while_editing_holds_the_destination_too() -> None:
    outbox = InMemoryOutbox()
    sent_story_alert(outbox, DESK)
    outbox.join_story(7, "Kazinform", NOW)
    flood = RetryLater(timedelta(seconds=9), "429", hold_destination=True)

    await deliver_due(outbox, {Platform.TELEGRAM: EditingChannel().then_edit(flood)}, NOW)

    assert outbox.held == {DESK.id: NOW + timedelta(seconds=9)}
