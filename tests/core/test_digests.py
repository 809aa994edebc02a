"""Digest use case: held alerts go out together per destination at their release, and none is lost."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.delivery import CLAIM_LEASE, error_delay
from core.digest import DeliveryPlan, DigestMode, QuietHours
from core.digests import DigestReport, deliver_digests
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
from tests.fakes import ChannelStep, DigestingChannel, InMemoryDigestOutbox, RecordingChannel

DESK = Destination(1, Platform.TELEGRAM, "-100200", "Editors' desk")
REPORTER = Destination(2, Platform.TELEGRAM, "4242", "Reporter")
SLACK_DESK = Destination(3, Platform.SLACK, "C0EDITORS", "#editors")
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO drills begin", ((0, 4),)))
HOURLY = DeliveryPlan(DigestMode.HOURLY)
NIGHTS = DeliveryPlan(quiet=QuietHours(time(22, 0), time(7, 0)))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def alert(alert_id: int, destination: Destination, when: datetime) -> Alert:
    article = Article(alert_id, 1, "Tengrinews", f"CSTO drills ({alert_id})", None, "", None, when)
    return Alert(alert_id, destination, article, (CSTO,))


async def test_a_chat_on_hourly_digest_gets_the_hours_alerts_in_one_digest_and_nothing_before() -> None:
    outbox, channel = InMemoryDigestOutbox(), DigestingChannel()
    channels = {Platform.TELEGRAM: channel}
    for alert_id, minute in ((1, 5), (2, 20), (3, 50)):
        queued = at(f"2026-03-02 10:{minute:02d}")
        assert outbox.queue(alert(alert_id, DESK, queued), HOURLY, queued)

    assert await deliver_digests(outbox, channels, at("2026-03-02 10:59:59")) == DigestReport()
    assert channel.sent == channel.digests == []

    report = await deliver_digests(outbox, channels, at("2026-03-02 11:00"))
    assert report == DigestReport(digests=1, sent=3)
    assert channel.digest_ids() == [[1, 2, 3]]
    assert channel.digests[0][0] == DESK
    assert channel.sent == []  # never one by one
    assert outbox.states() == {1: "sent", 2: "sent", 3: "sent"}
    assert outbox.held(2).sent_ref == "-100200/d"
    assert await deliver_digests(outbox, channels, at("2026-03-02 12:00")) == DigestReport()


async def test_quiet_hours_hold_an_alert_at_23_and_deliver_it_at_07_as_a_digest() -> None:
    outbox, channel = InMemoryDigestOutbox(), DigestingChannel()
    channels = {Platform.TELEGRAM: channel}
    assert not outbox.queue(alert(1, DESK, at("2026-03-02 21:30")), NIGHTS, at("2026-03-02 21:30"))
    assert outbox.queue(alert(2, DESK, at("2026-03-02 23:00")), NIGHTS, at("2026-03-02 23:00"))
    assert outbox.queue(alert(3, DESK, at("2026-03-03 04:10")), NIGHTS, at("2026-03-03 04:10"))

    for moment in ("2026-03-02 23:00", "2026-03-03 03:00", "2026-03-03 06:59:59"):
        assert await deliver_digests(outbox, channels, at(moment)) == DigestReport()
    report = await deliver_digests(outbox, channels, at("2026-03-03 07:00"))

    assert report == DigestReport(digests=1, sent=2)
    assert channel.digest_ids() == [[2, 3]]


async def test_quiet_hours_follow_the_delivery_timezone() -> None:
    # 22:00-07:00 in Almaty (UTC+5) is 17:00-02:00 UTC.
    outbox, channel = InMemoryDigestOutbox(ZoneInfo("Asia/Almaty")), DigestingChannel()
    assert outbox.queue(alert(1, DESK, at("2026-03-02 18:00")), NIGHTS, at("2026-03-02 18:00"))
    assert (
        await deliver_digests(outbox, {Platform.TELEGRAM: channel}, at("2026-03-03 01:59")) == DigestReport()
    )
    assert (await deliver_digests(outbox, {Platform.TELEGRAM: channel}, at("2026-03-03 02:00"))).sent == 1


async def test_each_destination_gets_its_own_digest() -> None:
    outbox, telegram, slack = InMemoryDigestOutbox(), DigestingChannel(), DigestingChannel()
    queued = at("2026-03-02 10:30")
    for alert_id, destination in ((1, DESK), (2, REPORTER), (3, DESK), (4, SLACK_DESK), (5, REPORTER)):
        outbox.queue(alert(alert_id, destination, queued), HOURLY, queued)

    report = await deliver_digests(
        outbox, {Platform.TELEGRAM: telegram, Platform.SLACK: slack}, at("2026-03-02 11:00")
    )

    assert report == DigestReport(digests=3, sent=5)
    assert {d.id: [a.id for a in alerts] for d, alerts in telegram.digests} == {1: [1, 3], 2: [2, 5]}
    assert slack.digest_ids() == [[4]]


async def test_a_channel_without_digests_gets_the_held_alerts_one_by_one() -> None:
    outbox = InMemoryDigestOutbox()
    plain = RecordingChannel(Sent("m-1"), RetryLater(timedelta(seconds=30), "429"), Sent("m-3"))
    queued = at("2026-03-02 10:30")
    for alert_id in (1, 2, 3):
        outbox.queue(alert(alert_id, DESK, queued), HOURLY, queued)

    report = await deliver_digests(outbox, {Platform.TELEGRAM: plain}, at("2026-03-02 11:00"))

    assert report == DigestReport(digests=0, sent=2, retrying=1)
    assert plain.alert_ids() == [1, 2, 3]
    assert outbox.states() == {1: "sent", 2: "pending", 3: "sent"}
    assert outbox.held(2).release == at("2026-03-02 11:00:30")


@pytest.mark.parametrize(
    ("step", "state", "release", "error", "report"),
    [
        pytest.param(
            RetryLater(timedelta(seconds=30), "429 Too Many Requests"),
            "pending",
            at("2026-03-02 11:00:30"),
            "429 Too Many Requests",
            DigestReport(retrying=2),
            id="retry-later",
        ),
        pytest.param(
            ConnectionResetError("reset"),
            "pending",
            at("2026-03-02 11:00") + error_delay(1),
            "ConnectionResetError: reset",
            DigestReport(retrying=2),
            id="channel-raises",
        ),
        pytest.param(
            Unreachable("bot was kicked"),
            "pending",
            at("2026-03-02 11:00"),
            "bot was kicked",
            DigestReport(paused=2),
            id="unreachable",
        ),
    ],
)
async def test_a_digest_that_fails_settles_all_its_alerts_alike(
    step: ChannelStep, state: str, release: datetime, error: str, report: DigestReport
) -> None:
    outbox, channel = InMemoryDigestOutbox(), DigestingChannel().then_digest(step)
    queued = at("2026-03-02 10:30")
    for alert_id in (1, 2):
        outbox.queue(alert(alert_id, DESK, queued), HOURLY, queued)

    assert await deliver_digests(outbox, {Platform.TELEGRAM: channel}, at("2026-03-02 11:00")) == report

    for alert_id in (1, 2):
        held = outbox.held(alert_id)
        assert (held.state, held.release, held.last_error) == (state, release, error)
    if isinstance(step, Unreachable):
        # Paused, not dropped: the alerts wait until the chat is enabled again.
        assert outbox.paused == {DESK.id: "bot was kicked"}
        assert await deliver_digests(outbox, {Platform.TELEGRAM: channel}, release) == DigestReport()
    else:
        retried = await deliver_digests(outbox, {Platform.TELEGRAM: channel}, release)
        assert retried == DigestReport(digests=1, sent=2)
        assert channel.digest_ids() == [[1, 2], [1, 2]]


async def test_a_flood_wait_holds_the_destination_and_puts_the_rest_back_untried() -> None:
    outbox = InMemoryDigestOutbox()
    flood = RetryLater(timedelta(seconds=20), "429", hold_destination=True)
    plain = RecordingChannel(Sent("m-1"), flood, Sent("m-3"), Sent("m-4"))
    queued = at("2026-03-02 10:30")
    for alert_id in (1, 2, 3, 4):
        outbox.queue(alert(alert_id, DESK, queued), HOURLY, queued)

    report = await deliver_digests(outbox, {Platform.TELEGRAM: plain}, at("2026-03-02 11:00"))

    assert report == DigestReport(sent=1, retrying=3)
    assert plain.alert_ids() == [1, 2]
    assert outbox.holds == {DESK.id: at("2026-03-02 11:00:20")}
    assert (
        await deliver_digests(outbox, {Platform.TELEGRAM: plain}, at("2026-03-02 11:00:19")) == DigestReport()
    )
    later = await deliver_digests(outbox, {Platform.TELEGRAM: plain}, at("2026-03-02 11:00:20"))
    assert later == DigestReport(sent=3)
    assert plain.alert_ids() == [1, 2, 2, 3, 4]


async def test_a_digest_whose_sender_died_comes_back_after_the_lease() -> None:
    outbox, channel = InMemoryDigestOutbox(), DigestingChannel()
    queued, release = at("2026-03-02 10:30"), at("2026-03-02 11:00")
    outbox.queue(alert(1, DESK, queued), HOURLY, queued)
    assert len(await outbox.claim_digests(release, [Platform.TELEGRAM], 10, CLAIM_LEASE)) == 1  # then crashed

    during = await deliver_digests(outbox, {Platform.TELEGRAM: channel}, release + CLAIM_LEASE / 2)
    after = await deliver_digests(outbox, {Platform.TELEGRAM: channel}, release + CLAIM_LEASE)

    assert (during, after) == (DigestReport(), DigestReport(digests=1, sent=1))
    assert channel.digests[0][1][0].attempts == 2


async def test_only_platforms_with_a_channel_are_claimed() -> None:
    outbox, channel = InMemoryDigestOutbox(), DigestingChannel()
    queued = at("2026-03-02 10:30")
    outbox.queue(alert(1, SLACK_DESK, queued), HOURLY, queued)
    assert (
        await deliver_digests(outbox, {Platform.TELEGRAM: channel}, at("2026-03-02 11:00")) == DigestReport()
    )
    assert outbox.states() == {1: "pending"}
