"""The 429 storm: 10,000 alerts to 200 chats while Telegram answers half the requests with a flood wait.

Everything runs on one virtual clock — the fake Bot API stamps its calls with it, the channel paces
chats by it, and delivery is handed it as `now` — so the storm's minutes of flood waits take seconds.
PTB's own rate limiter runs on real time and is left out here; test_channel.py checks it.
"""

from __future__ import annotations

import random
import re
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.telegram.channel import GROUP_SPACING, PRIVATE_SPACING, TelegramChannel
from core.delivery import deliver_due
from core.models import ArticleMatches, FeedItem, OutletSpec, Platform, Snippet, Topic, TopicMatch
from core.ports import Channel
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.database import create_engine
from storage.migrate import upgrade
from storage.outbox import SqlOutbox
from storage.tables import outbox
from tests.fake_servers.telegram_api import DEFAULT_TOKEN, Call, Fault, TelegramApiServer, too_many_requests
from tests.fakes import VirtualClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CHATS = 200
ARTICLES = 50  # to every chat: 10,000 alerts
TICK = timedelta(seconds=2)  # newsbot.runtime.DELIVERY_TICK
BATCH = 250
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO storm", ((0, 4),)))
ARTICLE_IN_TEXT = re.compile(r"Storm article (\d+)")


def storm_chats() -> list[str]:
    """Half private chats, half supergroups: the two paces Telegram asks for."""
    return [str(10_000 + n) if n % 2 else str(-1_001_000_000_000 - n) for n in range(CHATS)]


async def queue_storm(url: str) -> dict[int, int]:
    """Queue the alerts through the archive as a poll would; returns article id -> storm number."""
    engine = create_engine(url)
    await upgrade(engine)
    archive, catalog = SqlArchive(engine), SqlCatalog(engine)
    await catalog.sync_topics([Topic("CSTO", "CSTO")], START)
    for address in storm_chats():
        destination = await catalog.ensure_destination(Platform.TELEGRAM, address, address, START)
        await catalog.subscribe(destination.id, ["CSTO"], START)
    outlet = await archive.add_outlet(OutletSpec("Storm", "https://storm.example/feed"), START)
    assert outlet is not None
    items = [FeedItem(f"Storm article {n}", f"https://storm.example/{n}", f"s{n}") for n in range(ARTICLES)]
    async with archive.poll_transaction() as tx:
        added = await tx.add_unseen_articles(outlet, items, START)
        queued = await tx.add_matches([ArticleMatches(a, (CSTO,)) for a in added], alert=True, now=START)
    await engine.dispose()
    assert queued == CHATS * ARTICLES
    return {a.id: int(a.title.rsplit(" ", 1)[1]) for a in added}


def half_flood(seed: int) -> Callable[[Call], Fault | None]:
    """Half the sendMessage requests, drawn at random, get a 429 with retry_after of 1 to 30 s."""
    chance = random.Random(seed)

    def respond(call: Call) -> Fault | None:
        if call.method == "sendMessage" and chance.random() < 0.5:
            return too_many_requests(chance.randint(1, 30))
        return None

    return respond


async def test_a_429_storm_loses_nothing_duplicates_nothing_and_holds_only_the_flooded_chat(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'storm.db'}"
    await queue_storm(url)
    engine = create_engine(url)
    clock = VirtualClock(START)
    started = time.monotonic()
    async with TelegramApiServer(clock=clock) as server:
        server.responder = half_flood(seed=5)
        async with Bot(DEFAULT_TOKEN, base_url=f"{server.url}/bot") as bot:
            channel = TelegramChannel(bot, SqlCatalog(engine), clock=clock)
            channels: dict[Platform, Channel] = {Platform.TELEGRAM: channel}
            sql = SqlOutbox(engine)
            while clock.now < START + timedelta(hours=3):
                report = await deliver_due(sql, channels, clock.now, limit=BATCH)
                if report.claimed == 0 and await pending(engine) == 0:
                    break
                clock.advance(TICK)
        counts = await sql.count_by_state()
        await engine.dispose()
    real_seconds = time.monotonic() - started
    virtual = clock.now - START

    calls = server.calls_of("sendMessage")
    delivered = [(c.chat_id, article_number(c)) for c in calls if c.ok]
    floods = [c for c in calls if c.status == 429]
    expected = {(int(chat), n) for chat in storm_chats() for n in range(ARTICLES)}

    # 0 lost, 0 duplicated: every (chat, article) exactly once at Telegram, and sent in the outbox.
    assert counts == {"sent": CHATS * ARTICLES}
    assert len(delivered) == len(set(delivered)) == CHATS * ARTICLES
    assert set(delivered) == expected

    # No request to a chat inside its retry_after window, nor closer than its pace.
    by_chat: dict[object, list[Call]] = defaultdict(list)
    for call in calls:
        by_chat[call.chat_id].append(call)
    for chat, chat_calls in by_chat.items():
        spacing = GROUP_SPACING if str(chat).startswith("-") else PRIVATE_SPACING
        for before, after in pairwise(chat_calls):
            wait = timedelta(seconds=before.retry_after) if before.status == 429 else spacing
            assert after.at >= before.at + wait, (chat, before, after)

    # Other chats keep being served while one waits: successes elsewhere inside each flood window,
    # counted while at least half the chats still have alerts to get.
    finished = sorted(chat_calls[-1].at for chat_calls in by_chat.values())
    busy_until = finished[len(finished) // 2]
    windows = served = 0
    successes = sorted((c.at, str(c.chat_id)) for c in calls if c.ok)
    for flood in floods:
        end = flood.at + timedelta(seconds=flood.retry_after)
        if end > busy_until:
            continue
        windows += 1
        inside = successes[bisect_left(successes, (flood.at, "")) : bisect_left(successes, (end, ""))]
        served += any(chat != str(flood.chat_id) for _, chat in inside)
    assert windows > 1000
    assert served == windows

    print(
        f"\n429 storm: {CHATS * ARTICLES} alerts to {CHATS} chats; {len(calls)} sendMessage requests, "
        f"{len(floods)} answered 429 ({len(floods) / len(calls):.0%}), {len(delivered)} delivered; "
        f"0 lost, 0 duplicated; {served}/{windows} flood windows saw other chats served; "
        f"virtual duration {virtual.total_seconds():.0f} s, real {real_seconds:.1f} s"
    )


def article_number(call: Call) -> int:
    found = ARTICLE_IN_TEXT.search(str(call.params["text"]))
    assert found is not None, call.params["text"]
    return int(found.group(1))


async def pending(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        result = await connection.execute(select(func.count()).where(outbox.c.state != "sent"))
        return int(result.scalar_one())
