"""Outbox claims per destination: one alert each by default, none while held, paused or in flight elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import (
    ArticleMatches,
    Destination,
    FeedItem,
    OutletSpec,
    Platform,
    Snippet,
    Topic,
    TopicMatch,
)
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.outbox import SqlOutbox
from storage.tables import destinations, outbox, subscriptions

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO summit", ((0, 4),)))
TELEGRAM = [Platform.TELEGRAM]


async def setup(engine: AsyncEngine, chats: list[str], articles: int) -> tuple[SqlCatalog, list[Destination]]:
    """`articles` CSTO articles queued for each chat in `chats` (Telegram addresses)."""
    archive, catalog = SqlArchive(engine), SqlCatalog(engine)
    await catalog.sync_topics([Topic("CSTO", "CSTO")], NOW)
    found = []
    for address in chats:
        destination = await catalog.ensure_destination(Platform.TELEGRAM, address, f"chat {address}", NOW)
        await catalog.subscribe(destination.id, ["CSTO"], NOW)
        found.append(destination)
    outlet = await archive.add_outlet(OutletSpec("Outlet", "https://outlet.example/feed"), NOW)
    assert outlet is not None
    items = [FeedItem(f"CSTO story {n}", f"https://outlet.example/{n}", f"g{n}") for n in range(articles)]
    async with archive.poll_transaction() as tx:
        added = await tx.add_unseen_articles(outlet, items, NOW)
        await tx.add_matches([ArticleMatches(a, (CSTO,)) for a in added], alert=True, now=NOW)
    return catalog, found


def by_destination(alerts: list[object]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for alert in alerts:
        grouped.setdefault(alert.destination.address, []).append(alert.article.id)  # type: ignore[attr-defined]
    return grouped


async def test_a_claim_takes_at_most_per_destination_alerts_of_each_oldest_first(engine: AsyncEngine) -> None:
    await setup(engine, ["-100500", "42"], articles=5)
    sql = SqlOutbox(engine)

    one_each = await sql.claim_due(NOW, TELEGRAM, 100, LEASE)
    assert {address: len(ids) for address, ids in by_destination(one_each).items()} == {"-100500": 1, "42": 1}
    # The claimed ones are in flight: their destinations wait until they are sent.
    assert await sql.claim_due(NOW, TELEGRAM, 100, LEASE, per_destination=3) == []
    for alert in one_each:
        await sql.mark_sent(alert.id, "1:1", NOW)
    three_each = await sql.claim_due(NOW, TELEGRAM, 100, LEASE, per_destination=3)
    grouped = by_destination(three_each)
    assert {address: len(ids) for address, ids in grouped.items()} == {"-100500": 3, "42": 3}
    assert all(ids == sorted(ids) for ids in grouped.values())
    assert min(grouped["42"]) > by_destination(one_each)["42"][0]


async def test_requeue_puts_alerts_back_and_holds_in_one_go(engine: AsyncEngine) -> None:
    _catalog, (group, chat) = await setup(engine, ["-100500", "42"], articles=1)
    sql = SqlOutbox(engine)
    claimed = await sql.claim_due(NOW, TELEGRAM, 100, LEASE)
    until = NOW + timedelta(seconds=12)
    await sql.requeue([(a.id, until, "Telegram flood control") for a in claimed], {group.id: until}, {}, NOW)

    async with engine.connect() as connection:
        rows = (
            await connection.execute(select(outbox.c.state, outbox.c.next_attempt_at, outbox.c.last_error))
        ).all()
    assert set(rows) == {("pending", until, "Telegram flood control")}
    early = await sql.claim_due(NOW + timedelta(seconds=12), TELEGRAM, 100, LEASE)
    assert set(by_destination(early)) == {group.address, chat.address}
    # Only the group was held; the chat's alert was merely put back.
    async with engine.connect() as connection:
        held = dict((await connection.execute(select(destinations.c.id, destinations.c.held_until))).all())
    assert held == {group.id: until, chat.id: None}


async def test_a_held_destination_is_skipped_until_its_hold_ends(engine: AsyncEngine) -> None:
    _catalog, (held, other) = await setup(engine, ["-100500", "42"], articles=2)
    sql = SqlOutbox(engine)
    until = NOW + timedelta(seconds=25)
    await sql.hold_destination(held.id, until)
    await sql.hold_destination(held.id, NOW + timedelta(seconds=3))  # a shorter hold does not shorten it

    during = await sql.claim_due(NOW + timedelta(seconds=24), TELEGRAM, 100, LEASE, per_destination=5)
    assert set(by_destination(during)) == {other.address}
    after = await sql.claim_due(until, TELEGRAM, 100, LEASE, per_destination=5)
    assert set(by_destination(after)) == {held.address}


async def test_a_paused_destination_keeps_its_alerts_pending_until_enabled(engine: AsyncEngine) -> None:
    catalog, (paused, _other) = await setup(engine, ["-100500", "42"], articles=2)
    sql = SqlOutbox(engine)
    (first,) = [a for a in await sql.claim_due(NOW, TELEGRAM, 100, LEASE) if a.destination.id == paused.id]
    await sql.requeue(
        [(first.id, NOW, "Forbidden: bot was kicked")], {}, {paused.id: "Forbidden: bot was kicked"}, NOW
    )

    claimed = await sql.claim_due(NOW, TELEGRAM, 100, LEASE, per_destination=5)
    assert claimed == []  # the other chat's first alert is still in flight; this one is paused
    async with engine.connect() as connection:
        row = (
            (await connection.execute(select(destinations).where(destinations.c.id == paused.id)))
            .mappings()
            .one()
        )
    assert (row["enabled"], row["paused_reason"]) == (
        False,
        "2026-11-27T09:00:00+00:00 Forbidden: bot was kicked",
    )
    assert await sql.count_by_state() == {"pending": 3, "sending": 1}

    await catalog.set_enabled(paused.id, True)
    again = await sql.claim_due(NOW, TELEGRAM, 100, LEASE, per_destination=5)
    assert set(by_destination(again)) == {paused.address}
    async with engine.connect() as connection:
        row = (
            (await connection.execute(select(destinations).where(destinations.c.id == paused.id)))
            .mappings()
            .one()
        )
    assert (row["enabled"], row["paused_reason"], row["held_until"]) == (True, None, None)


async def test_enabling_a_chat_keeps_its_flood_wait(engine: AsyncEngine) -> None:
    catalog = SqlCatalog(engine)
    chat = await catalog.ensure_destination(Platform.TELEGRAM, "4242", "Reporter", NOW)
    await SqlOutbox(engine).hold_destination(chat.id, NOW + timedelta(seconds=30))

    await catalog.set_enabled(chat.id, True)  # e.g. /start inside Telegram's retry_after window

    async with engine.connect() as connection:
        held_until = (
            await connection.execute(select(destinations.c.held_until).where(destinations.c.id == chat.id))
        ).scalar_one()
    assert held_until is not None
    assert held_until.replace(tzinfo=UTC) == NOW + timedelta(seconds=30)


async def test_readdress_gives_a_migrated_group_its_new_chat_id(engine: AsyncEngine) -> None:
    catalog, (group,) = await setup(engine, ["-500"], articles=1)
    moved = await catalog.readdress(group.id, "-1001234567890")
    assert moved == Destination(group.id, Platform.TELEGRAM, "-1001234567890", "chat -500")
    (alert,) = await SqlOutbox(engine).claim_due(NOW, TELEGRAM, 10, LEASE)
    assert alert.destination == moved


async def test_readdress_onto_a_known_destination_moves_subscriptions_and_queue(engine: AsyncEngine) -> None:
    catalog, (group, supergroup) = await setup(engine, ["-500", "-1001234567890"], articles=2)
    # The supergroup already has article 1 queued (it subscribed on its own); article 2 is only the group's.
    async with engine.begin() as connection:
        await connection.execute(
            outbox.delete().where(outbox.c.destination_id == supergroup.id, outbox.c.article_id == 2)
        )
        await connection.execute(
            subscriptions.delete().where(subscriptions.c.destination_id == supergroup.id)
        )

    moved = await catalog.readdress(group.id, "-1001234567890")

    assert moved.id == supergroup.id
    async with engine.connect() as connection:
        queued = (await connection.execute(select(outbox.c.destination_id, outbox.c.article_id))).all()
        subscribed = (await connection.execute(select(subscriptions.c.destination_id))).scalars().all()
        old = (
            (await connection.execute(select(destinations).where(destinations.c.id == group.id)))
            .mappings()
            .one()
        )
    assert sorted(queued) == [(group.id, 1), (supergroup.id, 1), (supergroup.id, 2)]
    assert supergroup.id in subscribed
    assert (old["enabled"], old["paused_reason"]) == (False, "moved to -1001234567890")
