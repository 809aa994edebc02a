"""Delivery plans in storage, on SQLite and PostgreSQL: plans kept, alerts held, digests claimed and sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.delivery import deliver_due
from core.digest import DeliveryPlan, DigestMode, QuietHours
from core.digests import DigestReport, deliver_digests
from core.models import ArticleMatches, FeedItem, Outlet, OutletSpec, Platform, Snippet, Topic, TopicMatch
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.database import create_engine
from storage.migrate import upgrade
from storage.outbox import SqlOutbox
from storage.plans import SqlDeliveryPlans
from storage.tables import outbox
from tests.fakes import DigestingChannel, RecordingChannel
from tests.storage.test_stories import SYNDICATED, TITLE
from tests.storage.test_stories import Newsroom as StoryNewsroom

UTC_ZONE = ZoneInfo("UTC")
NIGHTS = QuietHours(time(22, 0), time(7, 0))
CSTO_MATCH = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO summit", ((0, 4),)))
LEASE = timedelta(minutes=2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


START = at("2026-03-02 09:00")


class Newsroom:
    """An archive with the CSTO topic, one outlet, and Telegram chats subscribed to it."""

    def __init__(self, engine: AsyncEngine, zone: ZoneInfo = UTC_ZONE) -> None:
        self.archive = SqlArchive(engine, zone)
        self.catalog = SqlCatalog(engine)
        self.plans = SqlDeliveryPlans(engine, zone)
        self.outbox = SqlOutbox(engine)
        self._engine = engine
        self._outlet: Outlet | None = None
        self._articles = 0

    async def chat(self, address: str) -> int:
        await self.catalog.sync_topics([Topic("CSTO", "CSTO")], START)
        destination = await self.catalog.ensure_destination(Platform.TELEGRAM, address, address, START)
        await self.catalog.subscribe(destination.id, ["CSTO"], START)
        return destination.id

    async def publish(self, now: datetime) -> int:
        """A CSTO article appears and is matched at `now`; returns the alerts queued."""
        if self._outlet is None:
            self._outlet = await self.archive.add_outlet(
                OutletSpec("Outlet", "https://outlet.example/f"), START
            )
        assert self._outlet is not None
        self._articles += 1
        number = self._articles
        item = FeedItem(
            title=f"CSTO story {number}", url=f"https://outlet.example/{number}", guid=f"g{number}"
        )
        async with self.archive.poll_transaction() as tx:
            (article,) = await tx.add_unseen_articles(self._outlet, [item], now)
            return await tx.add_matches([ArticleMatches(article, (CSTO_MATCH,))], alert=True, now=now)

    async def rows(self) -> list[tuple[int, int, str, bool, datetime]]:
        """(alert id, destination id, state, digest, next attempt) of every outbox row."""
        statement = select(
            outbox.c.id, outbox.c.destination_id, outbox.c.state, outbox.c.digest, outbox.c.next_attempt_at
        ).order_by(outbox.c.id)
        async with self._engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(statement)]  # type: ignore[misc]


async def test_plans_round_trip(engine: AsyncEngine) -> None:
    room = Newsroom(engine)
    chat, other = await room.chat("-1001"), await room.chat("-1002")
    assert await room.plans.plan_of(chat) == DeliveryPlan()
    assert await room.plans.plan_of(999) == DeliveryPlan()  # unknown: instant

    await room.plans.set_digest(chat, DigestMode.DAILY, time(8, 30))
    await room.plans.set_quiet(chat, NIGHTS)
    assert await room.plans.plan_of(chat) == DeliveryPlan(DigestMode.DAILY, time(8, 30), NIGHTS)
    assert await room.plans.plan_of(other) == DeliveryPlan()

    await room.plans.set_digest(chat, DigestMode.HOURLY, time(9, 0))  # an hourly digest keeps no time
    assert await room.plans.plan_of(chat) == DeliveryPlan(DigestMode.HOURLY, None, NIGHTS)
    await room.plans.set_quiet(chat, None)
    await room.plans.set_digest(chat, DigestMode.OFF, None)
    assert await room.plans.plan_of(chat) == DeliveryPlan()


async def test_alerts_for_a_digest_destination_are_held_and_instant_ones_are_not(engine: AsyncEngine) -> None:
    room = Newsroom(engine)
    instant, hourly, quiet = await room.chat("-1001"), await room.chat("-1002"), await room.chat("-1003")
    await room.plans.set_digest(hourly, DigestMode.HOURLY, None)
    await room.plans.set_quiet(quiet, NIGHTS)

    now = at("2026-03-02 23:10")
    assert await room.publish(now) == 3

    assert await room.rows() == [
        (1, instant, "pending", False, now),
        (2, hourly, "pending", True, at("2026-03-03 00:00")),
        (3, quiet, "pending", True, at("2026-03-03 07:00")),
    ]
    # Held rows are not claimed one by one, and digest rows only once due.
    (alert,) = await room.outbox.claim_due(at("2026-03-04 00:00"), [Platform.TELEGRAM], 10, LEASE)
    assert alert.destination.id == instant
    assert await room.outbox.claim_digests(at("2026-03-02 23:59"), [Platform.TELEGRAM], 10, LEASE) == []
    (due,) = await room.outbox.claim_digests(at("2026-03-03 00:00"), [Platform.TELEGRAM], 10, LEASE)
    assert due.destination.id == hourly


async def test_digest_claims_group_by_destination_and_never_overlap(engine: AsyncEngine) -> None:
    room = Newsroom(engine)
    chats = [await room.chat(f"-10{n}") for n in range(4)]
    for chat in chats:
        await room.plans.set_digest(chat, DigestMode.HOURLY, None)
    for minute in range(10):
        await room.publish(at("2026-03-02 10:00") + timedelta(minutes=minute))
    platforms = [Platform.TELEGRAM]
    release = at("2026-03-02 11:00")

    # The rows share their release time, so a claim of 10 takes one destination's ten.
    first = await room.outbox.claim_digests(release, platforms, 10, LEASE)
    assert {alert.destination.id for alert in first} == {chats[0]}
    batches = await asyncio.gather(
        *(room.outbox.claim_digests(release, platforms, 10, LEASE) for _ in range(6))
    )

    claimed = [alert.id for batch in [first, *batches] for alert in batch]
    assert len(claimed) == len(set(claimed)) == 40


async def test_changing_the_plan_replans_held_alerts(engine: AsyncEngine) -> None:
    room = Newsroom(engine)
    chat = await room.chat("-1001")
    await room.plans.set_digest(chat, DigestMode.DAILY, time(18, 0))
    await room.publish(at("2026-03-02 10:05"))
    await room.publish(at("2026-03-02 10:40"))
    assert [r[4] for r in await room.rows()] == [at("2026-03-02 18:00")] * 2

    # Hourly, as if it had been so when they were queued: the 10:00 hour's digest is due at 11:00.
    await room.plans.set_digest(chat, DigestMode.HOURLY, None)
    assert [r[4] for r in await room.rows()] == [at("2026-03-02 11:00")] * 2

    # Off: due at once (their queue time), still together as one digest.
    await room.plans.set_digest(chat, DigestMode.OFF, None)
    assert [r[2:] for r in await room.rows()] == [
        ("pending", True, at("2026-03-02 10:05")),
        ("pending", True, at("2026-03-02 10:40")),
    ]
    channel = DigestingChannel()
    report = await deliver_digests(room.outbox, {Platform.TELEGRAM: channel}, at("2026-03-02 10:45"))
    assert report == DigestReport(digests=1, sent=2)
    assert channel.digest_ids() == [[1, 2]]

    # New alerts are instant again.
    await room.publish(at("2026-03-02 10:50"))
    assert (await room.rows())[-1][2:] == ("pending", False, at("2026-03-02 10:50"))


async def test_quiet_off_releases_the_night_at_once(engine: AsyncEngine) -> None:
    room = Newsroom(engine)
    chat = await room.chat("-1001")
    await room.plans.set_quiet(chat, NIGHTS)
    await room.publish(at("2026-03-02 23:00"))
    await room.plans.set_quiet(chat, None)
    channel = DigestingChannel()
    report = await deliver_digests(room.outbox, {Platform.TELEGRAM: channel}, at("2026-03-02 23:30"))
    assert report == DigestReport(digests=1, sent=1)


async def test_a_retrying_digest_keeps_its_retry_time_when_the_plan_changes(engine: AsyncEngine) -> None:
    room = Newsroom(engine)
    chat = await room.chat("-1001")
    await room.plans.set_digest(chat, DigestMode.HOURLY, None)
    await room.publish(at("2026-03-02 10:05"))
    (alert,) = await room.outbox.claim_digests(at("2026-03-02 11:00"), [Platform.TELEGRAM], 10, LEASE)
    await room.outbox.reschedule_digest([alert.id], at("2026-03-02 11:05"), "429")

    await room.plans.set_digest(chat, DigestMode.OFF, None)

    assert [r[2:] for r in await room.rows()] == [("pending", True, at("2026-03-02 11:05"))]


async def test_held_alerts_survive_a_restart_and_go_out_as_one_digest(database_url: str) -> None:
    # Quiet 22:00-07:00 in Europe/Berlin (UTC+1 in March): an alert at 23:00 local waits till 07:00.
    berlin = ZoneInfo("Europe/Berlin")
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        room = Newsroom(engine, berlin)
        chat = await room.chat("-1001")
        await room.plans.set_quiet(chat, NIGHTS)
        await room.publish(at("2026-03-02 22:00"))  # 23:00 in Berlin
        await room.publish(at("2026-03-03 01:30"))
        plain = RecordingChannel()
        assert (
            await deliver_due(room.outbox, {Platform.TELEGRAM: plain}, at("2026-03-03 05:59"))
        ).claimed == 0
    finally:
        await engine.dispose()

    engine = create_engine(database_url)  # the process restarted
    try:
        room = Newsroom(engine, berlin)
        channel = DigestingChannel()
        channels = {Platform.TELEGRAM: channel}
        assert await deliver_digests(room.outbox, channels, at("2026-03-03 05:59")) == DigestReport()
        assert await deliver_digests(room.outbox, channels, at("2026-03-03 06:00")) == DigestReport(
            digests=1, sent=2
        )
        (destination, alerts) = channel.digests[0]
        assert destination.address == "-1001"
        assert [a.article.title for a in alerts] == ["CSTO story 1", "CSTO story 2"]
        assert await room.outbox.count_by_state() == {"sent": 2}
    finally:
        await engine.dispose()


async def test_upgrading_gives_existing_destinations_instant_delivery(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0006_rekey_identities")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO destinations (platform, address, title, enabled, created_at)"
                    " VALUES ('telegram', '-100123', 'desk', true, '2026-01-01 00:00:00')"
                )
            )
        await upgrade(engine)

        room = Newsroom(engine)
        chat = await room.chat("-100123")
        assert await room.plans.plan_of(chat) == DeliveryPlan()
        assert await room.publish(at("2026-03-02 23:00")) == 1
        assert [r[2:] for r in await room.rows()] == [("pending", False, at("2026-03-02 23:00"))]
    finally:
        await engine.dispose()


async def test_a_held_alert_shows_outlets_that_joined_while_it_waited_and_a_digest_is_never_edited(
    engine: AsyncEngine,
) -> None:
    room = await StoryNewsroom(engine).open()
    chat = await room.catalog.ensure_destination(Platform.TELEGRAM, "-100777", "-100777", room.now)
    plans = SqlDeliveryPlans(engine, UTC_ZONE)
    await plans.set_digest(chat.id, DigestMode.HOURLY, None)
    reuters, kazinform, tengrinews = (SYNDICATED[name][0] for name in ("Reuters", "Kazinform", "Tengrinews"))

    await room.publish("Reuters", reuters)
    await room.publish("Kazinform", kazinform)  # joins the story while the chat's alert is held
    await room.deliver()  # the console (instant) gets its alert; the chat's waits for the hour
    digests = DigestingChannel()
    release = room.now.replace(minute=0) + timedelta(hours=1)
    assert await deliver_digests(room.outbox, {Platform.TELEGRAM: digests}, release) == DigestReport(1, 1)
    ((_, (held,)),) = digests.digests
    assert (held.article.title, held.also_in) == (TITLE, ("Kazinform",))

    room.now = release
    await room.publish("Tengrinews", tengrinews)  # a later outlet: the console cannot edit, nor a digest
    assert await room.outbox.claim_edits(room.now, [Platform.TELEGRAM], 10, LEASE) == []
