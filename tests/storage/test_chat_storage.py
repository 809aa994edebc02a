"""Contract tests of the repository methods the chat commands use, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import (
    ArticleMatches,
    Destination,
    FeedItem,
    ForwardRecord,
    Outlet,
    OutletSpec,
    OutletState,
    Platform,
    Snippet,
    Topic,
    TopicMatch,
)
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.forwards import SqlForwards
from storage.outbox import SqlOutbox

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TOPICS = [Topic("CSTO", "CSTO OR ОДКБ"), Topic("ОДКБ саммит", "ОДКБ AND саммит"), Topic("SCO", "SCO")]


def matched(topic: str) -> TopicMatch:
    return TopicMatch(topic, (topic,), "title", Snippet(f"{topic} news", ((0, len(topic)),)))


async def new_outlet(archive: SqlArchive, name: str) -> Outlet:
    outlet = await archive.add_outlet(OutletSpec(name, f"https://{name.lower()}.example/feed"), NOW)
    assert outlet is not None
    return outlet


async def archive_matched(
    archive: SqlArchive, outlet: Outlet, number: int, topics: list[str], published: datetime | None = NOW
) -> int:
    item = FeedItem(
        f"{' '.join(topics)} story {number}", f"https://x.example/{outlet.id}/{number}", published=published
    )
    async with archive.poll_transaction() as tx:
        (article,) = await tx.add_unseen_articles(outlet, [item], NOW)
        found = ArticleMatches(article, tuple(matched(topic) for topic in topics))
        await tx.add_matches([found], alert=True, now=NOW)
    return article.id


async def test_topics_are_found_by_name_whatever_the_case_and_added_once(engine: AsyncEngine) -> None:
    catalog = SqlCatalog(engine)
    await catalog.sync_topics(TOPICS, NOW)
    known = await catalog.known_topics()
    assert [topic.name for topic in known] == sorted(topic.name for topic in TOPICS)
    csto = await catalog.topic_named(" csto ")
    assert csto is not None
    assert csto.name == "CSTO"
    cyrillic = await catalog.topic_named("одкб САММИТ")
    assert cyrillic is not None
    assert cyrillic.query == "ОДКБ AND саммит"
    assert await catalog.topic_named("Nothing") is None
    assert await catalog.topic_by_id(csto.id) == csto
    assert await catalog.topic_by_id(10_000) is None

    added = await catalog.add_topic(Topic("Tokayev", "Tokayev"), NOW)
    assert await catalog.add_topic(Topic("Tokayev", "other query"), NOW) == added
    assert added.query == "Tokayev"


async def test_subscriptions_are_added_and_removed_once(engine: AsyncEngine) -> None:
    catalog = SqlCatalog(engine)
    await catalog.sync_topics(TOPICS, NOW)
    assert await catalog.find_destination(Platform.TELEGRAM, "-100") is None
    chat = await catalog.ensure_destination(Platform.TELEGRAM, "-100", "Desk", NOW)
    assert await catalog.find_destination(Platform.TELEGRAM, "-100") == chat
    assert await catalog.find_destination(Platform.SLACK, "-100") is None
    csto, sco = await catalog.topic_named("CSTO"), await catalog.topic_named("SCO")
    assert csto is not None
    assert sco is not None
    assert await catalog.subscribe_to(chat.id, sco.id, NOW)
    assert await catalog.subscribe_to(chat.id, csto.id, NOW)
    assert not await catalog.subscribe_to(chat.id, csto.id, NOW)
    assert await catalog.subscriptions_of(chat.id) == [csto, sco]
    assert await catalog.unsubscribe_from(chat.id, csto.id)
    assert not await catalog.unsubscribe_from(chat.id, csto.id)
    assert await catalog.subscriptions_of(chat.id) == [sco]


async def test_a_removed_outlet_stops_being_polled_and_comes_back_with_a_baseline(
    engine: AsyncEngine,
) -> None:
    archive = SqlArchive(engine)
    lenta, tass = await new_outlet(archive, "Lenta"), await new_outlet(archive, "TASS")
    async with archive.poll_transaction() as tx:
        state = OutletState(is_baselined=True, consecutive_failures=9, deactivated_at=NOW, last_polled_at=NOW)
        await tx.save_outlet_state(lenta.id, state)
    assert [o.name for o in await archive.watched_outlets()] == ["Lenta", "TASS"]  # deactivated included

    removed = await archive.remove_outlet("lenta")
    assert removed is not None
    assert removed.id == lenta.id
    assert await archive.remove_outlet("Lenta") is None
    assert [o.name for o in await archive.watched_outlets()] == ["TASS"]
    assert [o.id for o in await archive.due_outlets(NOW + timedelta(days=1))] == [tass.id]
    assert await archive.add_outlet(OutletSpec("Lenta", lenta.url), NOW) is None  # the row stays

    later = NOW + timedelta(hours=1)
    assert await archive.restore_outlet(tass.url, later) is None  # not removed
    restored = await archive.restore_outlet(lenta.url, later)
    assert restored is not None
    assert not restored.state.is_baselined
    assert not restored.state.is_deactivated
    assert restored.state.consecutive_failures == 0
    assert restored.state.next_poll_at == later
    assert sorted(o.id for o in await archive.due_outlets(later)) == [lenta.id, tass.id]


async def test_an_article_is_viewed_as_the_destination_would_see_its_alert(engine: AsyncEngine) -> None:
    archive, catalog, outbox = SqlArchive(engine), SqlCatalog(engine), SqlOutbox(engine)
    await catalog.sync_topics(TOPICS, NOW)
    chat = await catalog.ensure_destination(Platform.TELEGRAM, "-100", "Desk", NOW)
    await catalog.subscribe(chat.id, ["SCO"], NOW)
    outlet = await new_outlet(archive, "Reuters")
    article_id = await archive_matched(archive, outlet, 1, ["CSTO", "SCO"])

    seen = await outbox.alert_view(article_id, chat)
    assert seen is not None
    assert seen.id != 0  # the outbox row that was queued for this chat
    assert seen.topics == ("SCO",)
    assert seen.article.outlet_name == "Reuters"
    stranger = Destination(0, Platform.TELEGRAM, "1", "")
    unqueued = await outbox.alert_view(article_id, stranger)
    assert unqueued is not None
    assert (unqueued.id, unqueued.topics, unqueued.destination) == (0, ("CSTO", "SCO"), stranger)
    assert await outbox.alert_view(article_id + 1000, chat) is None


async def test_matches_are_counted_per_utc_day_of_publication(engine: AsyncEngine) -> None:
    archive, catalog, outbox = SqlArchive(engine), SqlCatalog(engine), SqlOutbox(engine)
    await catalog.sync_topics(TOPICS, NOW)
    outlet = await new_outlet(archive, "Kazinform")
    times = [
        NOW,
        NOW,
        NOW.replace(hour=23, minute=59),
        NOW - timedelta(days=2),
        NOW - timedelta(days=9),
        None,
    ]
    for number, published in enumerate(times):
        await archive_matched(archive, outlet, number, ["CSTO"], published)
    await archive_matched(archive, outlet, 99, ["SCO"])
    csto = await catalog.topic_named("CSTO")
    assert csto is not None
    since = datetime(2026, 11, 21, tzinfo=UTC)
    # The article without a date counts on the day it was first seen (NOW).
    assert await outbox.matches_per_day(csto.id, since) == {date(2026, 11, 27): 4, date(2026, 11, 25): 1}


async def test_an_article_is_forwarded_once_even_when_two_ask_at_once(engine: AsyncEngine) -> None:
    archive, forwards = SqlArchive(engine), SqlForwards(engine)
    article_id = await archive_matched(archive, await new_outlet(archive, "TASS"), 1, [])
    first = ForwardRecord(article_id, "Aigerim", "Politics desk", "note", NOW)
    second = ForwardRecord(article_id, "Dana", "Economy desk", "", NOW + timedelta(minutes=1))
    outcomes = await asyncio.gather(forwards.claim_forward(first), forwards.claim_forward(second))
    assert outcomes.count(None) == 1
    earlier = next(outcome for outcome in outcomes if outcome is not None)
    assert earlier in (first, second)

    await forwards.release_forward(article_id)
    assert await forwards.claim_forward(second) is None
    assert await forwards.claim_forward(first) == second
    long_name = ForwardRecord(article_id + 0, "N" * 500, "C" * 500, "", NOW)
    await forwards.release_forward(article_id)
    assert await forwards.claim_forward(long_name) is None
    stored = await forwards.claim_forward(first)
    assert stored is not None
    assert (len(stored.forwarded_by), len(stored.from_chat)) == (200, 200)
