"""Telegram delivery through the real outbox and catalog: a blocked chat pauses and resumes, a migrated group moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.telegram.channel import TelegramChannel
from core.delivery import DeliveryReport, deliver_due
from core.models import ArticleMatches, FeedItem, OutletSpec, Platform, Snippet, Topic, TopicMatch
from core.ports import Channel
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.outbox import SqlOutbox
from storage.tables import destinations
from tests.fake_servers.telegram_api import DEFAULT_TOKEN, TelegramApiServer, blocked, migrated
from tests.fakes import VirtualClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ADMIN = 777
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO", ((0, 4),)))


@pytest.fixture
async def bot(telegram_api: TelegramApiServer) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=f"{telegram_api.url}/bot") as bot:
        yield bot


async def queue(engine: AsyncEngine, address: str, articles: int) -> int:
    """A chat subscribed to CSTO with `articles` alerts queued; returns the destination id."""
    archive, catalog = SqlArchive(engine), SqlCatalog(engine)
    await catalog.sync_topics([Topic("CSTO", "CSTO")], START)
    destination = await catalog.ensure_destination(Platform.TELEGRAM, address, "Desk", START)
    await catalog.subscribe(destination.id, ["CSTO"], START)
    outlet = await archive.add_outlet(OutletSpec("Outlet", "https://outlet.example/feed"), START)
    assert outlet is not None
    items = [FeedItem(f"CSTO item {n}", f"https://outlet.example/{n}", f"g{n}") for n in range(articles)]
    async with archive.poll_transaction() as tx:
        added = await tx.add_unseen_articles(outlet, items, START)
        await tx.add_matches([ArticleMatches(a, (CSTO,)) for a in added], alert=True, now=START)
    return destination.id


async def test_a_chat_that_blocked_the_bot_is_paused_and_gets_its_alerts_once_enabled(
    engine: AsyncEngine, bot: Bot, telegram_api: TelegramApiServer
) -> None:
    destination_id = await queue(engine, "4242", articles=2)
    clock = VirtualClock(START)
    catalog, outbox = SqlCatalog(engine), SqlOutbox(engine)
    channels: dict[Platform, Channel] = {Platform.TELEGRAM: TelegramChannel(bot, catalog, [ADMIN], clock)}
    telegram_api.script("sendMessage", blocked(), chat_id=4242)

    first = await deliver_due(outbox, channels, clock.now)
    clock.advance(timedelta(minutes=5))
    while_paused = await deliver_due(outbox, channels, clock.now)

    assert (first, while_paused) == (DeliveryReport(paused=1), DeliveryReport())
    assert await outbox.count_by_state() == {"pending": 2}
    assert len(telegram_api.calls_of("sendMessage", chat_id=ADMIN)) == 1
    assert len(telegram_api.calls_of("sendMessage", chat_id=4242)) == 1

    await catalog.set_enabled(destination_id, True)  # the chat came back
    resumed = await deliver_due(outbox, channels, clock.now)
    clock.advance(timedelta(seconds=2))
    rest = await deliver_due(outbox, channels, clock.now)

    assert (resumed.sent, rest.sent) == (1, 1)
    assert await outbox.count_by_state() == {"sent": 2}


async def test_a_migrated_group_is_followed_and_its_next_alerts_go_to_the_supergroup(
    engine: AsyncEngine, bot: Bot, telegram_api: TelegramApiServer
) -> None:
    destination_id = await queue(engine, "-555", articles=2)
    clock = VirtualClock(START)
    outbox = SqlOutbox(engine)
    channels: dict[Platform, Channel] = {
        Platform.TELEGRAM: TelegramChannel(bot, SqlCatalog(engine), (), clock)
    }
    telegram_api.script("sendMessage", migrated(-1001234567890), chat_id=-555)

    first = await deliver_due(outbox, channels, clock.now)
    clock.advance(timedelta(seconds=3))
    second = await deliver_due(outbox, channels, clock.now)

    assert (first.sent, second.sent) == (1, 1)
    assert [c.chat_id for c in telegram_api.calls_of("sendMessage")] == [-555, -1001234567890, -1001234567890]
    async with engine.connect() as connection:
        address = (
            await connection.execute(
                select(destinations.c.address).where(destinations.c.id == destination_id)
            )
        ).scalar_one()
    assert address == "-1001234567890"
