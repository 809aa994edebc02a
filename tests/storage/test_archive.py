"""Repository contract tests, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import (
    ArticleMatches,
    FeedItem,
    Outlet,
    OutletSpec,
    OutletState,
    Platform,
    Snippet,
    Topic,
    TopicMatch,
    Validators,
)
from core.scheduling import reactivated
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.database import create_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.outbox import SqlOutbox
from storage.tables import article_stories, metadata, outbox, topics

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CSTO_MATCH = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO summit", ((0, 4),)))
SCO_MATCH = TopicMatch("SCO", ("SCO",), "body", Snippet("the SCO met", ((4, 7),)))


def item(number: int, guid: str | None = None, url: str | None = None) -> FeedItem:
    return FeedItem(
        title=f"CSTO story {number}",
        url=url or f"https://Example.org/news/{number}?utm_source=rss#top",
        guid=guid if guid is not None else f"guid-{number}",
        summary="lead",
        published=NOW - timedelta(hours=1),
        language="en",
    )


async def new_outlet(archive: SqlArchive, name: str = "Outlet") -> Outlet:
    outlet = await archive.add_outlet(OutletSpec(name, f"https://{name.lower()}.example/feed"), NOW)
    assert outlet is not None
    return outlet


async def archive_items(archive: SqlArchive, outlet: Outlet, items: list[FeedItem]) -> list[int]:
    async with archive.poll_transaction() as tx:
        return [a.id for a in await tx.add_unseen_articles(outlet, items, NOW)]


async def test_migrations_reach_head_and_are_idempotent(engine: AsyncEngine) -> None:
    await upgrade(engine)
    # One linear history: head_revision() refuses a migration tree with several heads.
    assert await current_revision(engine) == head_revision() is not None


def is_described_by_tables(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """The search index is engine-specific (FTS5 or tsvector) and lives in the migration only."""
    table = getattr(obj, "table", obj)
    return not str(getattr(table, "name", name)).startswith("article_search")


async def test_migrations_build_the_schema_the_tables_describe(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        options = {"compare_type": True, "include_object": is_described_by_tables}
        context = MigrationContext.configure(connection, opts=options)
        with warnings.catch_warnings():
            # Neither reflection nor autogenerate can compare the expression index (newest first).
            warnings.filterwarnings("ignore", ".*expression-based index")
            return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_outlet_names_and_urls_are_unique(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    outlet = await new_outlet(archive, "Azattyq")
    assert outlet.state == OutletState(next_poll_at=NOW)
    assert await archive.add_outlet(OutletSpec("Azattyq", "https://other.example/feed"), NOW) is None
    assert await archive.add_outlet(OutletSpec("Other", outlet.url), NOW) is None
    assert [o.name for o in await archive.list_outlets()] == ["Azattyq"]


async def test_articles_are_archived_once_by_any_identity(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    first, second = await new_outlet(archive, "First"), await new_outlet(archive, "Second")

    new = await archive_items(archive, first, [item(1), item(2), item(1), item(2, guid="other-guid")])
    assert len(new) == 2  # an entry repeated inside one document (same GUID or same link) is one article

    again = [item(1), item(2, guid="churned-guid"), item(4, url="https://example.org/news/1")]
    assert await archive_items(archive, first, again) == []  # same GUID, same link, same canonical URL
    assert await archive_items(archive, second, [item(1, guid="syndicated")]) == []  # link seen elsewhere
    assert len(await archive_items(archive, second, [item(9)])) == 1
    assert await archive.count_articles() == 3


async def test_a_guid_reused_for_another_article_does_not_hide_it(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    outlet = await new_outlet(archive)
    assert len(await archive_items(archive, outlet, [item(1, guid="same"), item(2, guid="same")])) == 2
    assert len(await archive_items(archive, outlet, [item(3, guid="same")])) == 1  # in a later poll too
    assert await archive_items(archive, outlet, [item(2, guid="same"), item(3, guid="same")]) == []
    moved = FeedItem("CSTO story 1", url="https://example.org/news/1-csto-story", guid="same", summary="lead")
    assert await archive_items(archive, outlet, [moved]) == []  # same text under a new link: one article
    assert await archive.count_articles() == 3


async def test_a_failed_poll_transaction_keeps_nothing(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    outlet = await new_outlet(archive)

    async def crash_between_archive_and_outbox() -> None:
        async with archive.poll_transaction() as tx:
            await tx.add_unseen_articles(outlet, [item(1)], NOW)
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        await crash_between_archive_and_outbox()
    assert await archive.count_articles() == 0


async def test_outlet_state_round_trips_with_aware_times(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    outlet = await new_outlet(archive)
    state = OutletState(
        validators=Validators('"abc"', "Wed, 25 Nov 2026 10:00:00 GMT"),
        next_poll_at=NOW + timedelta(minutes=5),
        last_polled_at=NOW,
        last_success_at=NOW - timedelta(hours=1),
        last_error="HTTP 500",
        consecutive_failures=2,
        is_baselined=True,
    )
    async with archive.poll_transaction() as tx:
        await tx.save_outlet_state(outlet.id, state)
    (stored,) = await archive.list_outlets()
    assert stored.state == state
    assert await archive.due_outlets(NOW) == []
    assert [o.id for o in await archive.due_outlets(NOW + timedelta(minutes=5))] == [outlet.id]


HEALTHY = OutletState(
    validators=Validators('"abc"'),
    next_poll_at=NOW + timedelta(minutes=10),
    last_polled_at=NOW,
    last_success_at=NOW,
    is_baselined=True,
    rate_per_hour=2.718281828459045,
)
DEACTIVATED = OutletState(
    last_polled_at=NOW,
    last_success_at=NOW - timedelta(days=11),
    last_error="HTTP 404",
    consecutive_failures=50,
    is_baselined=True,
    rate_per_hour=0.041666666666666664,
    deactivated_at=NOW,
    deactivation_reason="50 failures in a row, the last: HTTP 404",
)


async def test_many_states_are_saved_in_one_statement(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    healthy = await new_outlet(archive, "Healthy")
    dead = await new_outlet(archive, "Dead")
    untouched = await new_outlet(archive, "Untouched")
    async with archive.poll_transaction() as tx:
        await tx.save_outlet_states([(healthy.id, HEALTHY), (dead.id, DEACTIVATED)])
        await tx.save_outlet_states([])

    stored = {o.name: o.state for o in await archive.list_outlets()}

    assert stored == {"Dead": DEACTIVATED, "Healthy": HEALTHY, "Untouched": untouched.state}


@pytest.mark.parametrize("state", [HEALTHY, DEACTIVATED], ids=["healthy", "deactivated"])
async def test_health_and_pace_round_trip(engine: AsyncEngine, state: OutletState) -> None:
    archive = SqlArchive(engine)
    outlet = await new_outlet(archive)
    async with archive.poll_transaction() as tx:
        await tx.save_outlet_state(outlet.id, state)

    (stored,) = await archive.list_outlets()

    assert stored.state == state


async def test_a_deactivated_outlet_is_listed_but_not_polled_until_enabled(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    dead = await new_outlet(archive, "Dead")
    await new_outlet(archive, "Alive")
    async with archive.poll_transaction() as tx:
        await tx.save_outlet_state(dead.id, DEACTIVATED)
    later = NOW + timedelta(days=30)

    assert [o.name for o in await archive.list_outlets()] == ["Alive", "Dead"]
    assert [o.name for o in await archive.list_outlets(enabled_only=True)] == ["Alive"]
    assert [o.name for o in await archive.due_outlets(later)] == ["Alive"]

    await archive.enable_outlet(dead.id, reactivated(DEACTIVATED, later))

    assert [o.name for o in await archive.due_outlets(later)] == ["Alive", "Dead"]
    (stored,) = [o for o in await archive.list_outlets(enabled_only=True) if o.name == "Dead"]
    assert stored.state == reactivated(DEACTIVATED, later)
    assert (stored.state.consecutive_failures, stored.state.last_error) == (0, "HTTP 404")


async def subscribed_setup(engine: AsyncEngine) -> tuple[SqlArchive, SqlCatalog, Outlet, list[int]]:
    """Two topics; a Telegram chat on CSTO, a Slack channel on SCO, a console on both."""
    archive, catalog = SqlArchive(engine), SqlCatalog(engine)
    await catalog.sync_topics([Topic("CSTO", "CSTO"), Topic("SCO", "SCO")], NOW)
    chat = await catalog.ensure_destination(Platform.TELEGRAM, "-100123", "desk", NOW)
    channel = await catalog.ensure_destination(Platform.SLACK, "C0NEWS", "#news", NOW)
    console = await catalog.ensure_destination(Platform.CONSOLE, "stdout", "console", NOW)
    assert await catalog.subscribe(chat.id, ["CSTO"], NOW) == 1
    assert await catalog.subscribe(channel.id, ["SCO", "unknown"], NOW) == 1
    assert await catalog.subscribe(console.id, ["CSTO", "SCO"], NOW) == 2
    assert await catalog.subscribe(console.id, ["CSTO"], NOW) == 0
    return archive, catalog, await new_outlet(archive), [chat.id, channel.id, console.id]


async def queue(
    archive: SqlArchive, outlet: Outlet, number: int, *matches: TopicMatch, alert: bool = True
) -> int:
    async with archive.poll_transaction() as tx:
        (article,) = await tx.add_unseen_articles(outlet, [item(number)], NOW)
        return await tx.add_matches([ArticleMatches(article, matches)], alert=alert, now=NOW)


async def test_matches_queue_one_alert_per_subscribed_destination(engine: AsyncEngine) -> None:
    archive, _catalog, outlet, _ids = await subscribed_setup(engine)
    assert await queue(archive, outlet, 1, CSTO_MATCH, alert=False) == 0
    assert await queue(archive, outlet, 2, CSTO_MATCH) == 2  # chat + console
    assert await queue(archive, outlet, 3, CSTO_MATCH, SCO_MATCH) == 3  # console once, not twice
    assert await SqlOutbox(engine).count_by_state() == {"pending": 5}


async def test_disabled_destinations_get_no_alerts(engine: AsyncEngine) -> None:
    archive, catalog, outlet, (_chat, _channel, console) = await subscribed_setup(engine)
    await catalog.set_enabled(console, False)
    assert await queue(archive, outlet, 1, CSTO_MATCH) == 1


async def test_outbox_claims_lease_and_settles(engine: AsyncEngine) -> None:
    archive, _catalog, outlet, (chat, channel, console) = await subscribed_setup(engine)
    await queue(archive, outlet, 1, CSTO_MATCH, SCO_MATCH)
    outbox = SqlOutbox(engine)
    lease = timedelta(minutes=2)

    (alert,) = await outbox.claim_due(NOW, [Platform.TELEGRAM], 10, lease)
    assert alert.destination.id == chat
    assert alert.topics == ("CSTO",)  # only the topics this chat follows
    assert alert.terms == ("CSTO",)
    assert alert.matches[0].snippet == CSTO_MATCH.snippet
    async with engine.connect() as connection:
        csto_id = (await connection.execute(select(topics.c.id).where(topics.c.name == "CSTO"))).scalar_one()
    assert alert.matches[0].topic_id == csto_id  # the Mute topic button needs it
    assert alert.article.outlet_name == outlet.name
    assert alert.article.url == "https://Example.org/news/1?utm_source=rss#top"
    assert alert.attempts == 1
    assert await outbox.claim_due(NOW, [Platform.TELEGRAM], 10, lease) == []  # leased

    (again,) = await outbox.claim_due(NOW + lease, [Platform.TELEGRAM], 10, lease)  # lease expired
    assert (again.id, again.attempts) == (alert.id, 2)
    await outbox.reschedule(again.id, NOW + timedelta(hours=1), "429 Too Many Requests")
    assert await outbox.claim_due(NOW + lease * 2, [Platform.TELEGRAM], 10, lease) == []

    both = await outbox.claim_due(NOW, [Platform.SLACK, Platform.CONSOLE], 10, lease)
    assert sorted(a.destination.id for a in both) == sorted([channel, console])
    assert {a.destination.id: a.topics for a in both}[console] == ("CSTO", "SCO")
    await outbox.mark_sent(both[0].id, "ts-1", NOW)
    gone = both[1]
    await outbox.requeue(
        [(gone.id, NOW, "channel_not_found")], {}, {gone.destination.id: "channel_not_found"}, NOW
    )
    assert await outbox.count_by_state() == {"pending": 2, "sent": 1}
    assert await outbox.claim_due(NOW, [Platform.SLACK, Platform.CONSOLE], 10, lease) == []  # paused


async def test_a_sent_message_leads_back_to_its_article(engine: AsyncEngine) -> None:
    archive, _catalog, outlet, _ids = await subscribed_setup(engine)
    await queue(archive, outlet, 1, CSTO_MATCH, SCO_MATCH)
    outbox = SqlOutbox(engine)
    (chat_alert,) = await outbox.claim_due(NOW, [Platform.TELEGRAM], 10, timedelta(minutes=1))
    (channel_alert,) = await outbox.claim_due(NOW, [Platform.SLACK], 10, timedelta(minutes=1))
    await outbox.mark_sent(chat_alert.id, "-100123:77", NOW)
    await outbox.mark_sent(channel_alert.id, "C0NEWS:77", NOW)

    assert await outbox.article_for_message(Platform.TELEGRAM, "-100123:77") == chat_alert.article.id
    assert await outbox.article_for_message(Platform.TELEGRAM, "-100123:78") is None  # not an alert
    # A reference is only looked up among the platform's own messages.
    assert await outbox.article_for_message(Platform.TELEGRAM, "C0NEWS:77") is None


async def test_concurrent_claims_never_share_an_alert(engine: AsyncEngine) -> None:
    archive, catalog, outlet, _ids = await subscribed_setup(engine)
    for number in range(57):  # with the chat and the console: 59 destinations on CSTO
        chat = await catalog.ensure_destination(Platform.TELEGRAM, str(1000 + number), "", NOW)
        await catalog.subscribe(chat.id, ["CSTO"], NOW)
    await queue(archive, outlet, 1, CSTO_MATCH)
    await queue(archive, outlet, 2, SCO_MATCH)  # Slack's and the console's second
    outbox = SqlOutbox(engine)
    platforms = [Platform.TELEGRAM, Platform.CONSOLE, Platform.SLACK]
    batches = await asyncio.gather(
        *(outbox.claim_due(NOW, platforms, 7, timedelta(minutes=1)) for _ in range(12))
    )
    claimed = [alert.id for batch in batches for alert in batch]
    # 61 alerts to 60 destinations: one each; the console's second waits for its first to be sent.
    assert len(claimed) == len(set(claimed)) == 60


async def test_oversized_identities_still_archive_once(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    outlet = await new_outlet(archive)
    huge = FeedItem(title="Long", url="https://example.org/" + "д" * 3000, guid="g" * 5000, language="x" * 99)
    assert len(await archive_items(archive, outlet, [huge])) == 1
    assert await archive_items(archive, outlet, [huge]) == []


async def test_upgrading_an_archive_makes_each_old_article_its_own_story(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0001")
        async with engine.begin() as connection:
            for statement in (
                "INSERT INTO outlets (name, url, kind, interval_seconds, enabled, consecutive_failures,"
                " is_baselined, created_at) VALUES ('Old', 'https://old.example/feed', 'feed', 300, true, 0,"
                " true, '2026-01-01 00:00:00')",
                "INSERT INTO articles (outlet_id, guid, canonical_url, title, summary, first_seen_at)"
                " SELECT id, 'g5', 'https://old.example/5', 'CSTO story 5', '', '2026-01-01 00:00:00' FROM outlets",
                "INSERT INTO destinations (platform, address, title, enabled, created_at)"
                " VALUES ('telegram', '-100123', 'desk', true, '2026-01-01 00:00:00')",
                "INSERT INTO outbox (article_id, destination_id, state, attempts, next_attempt_at, created_at)"
                " SELECT articles.id, destinations.id, 'sent', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00'"
                " FROM articles, destinations",
            ):
                await connection.execute(text(statement))
            old_id = (await connection.execute(text("SELECT id FROM articles"))).scalar_one()
        await upgrade(engine)

        async with engine.connect() as connection:
            assert (await connection.execute(select(outbox.c.story_id))).scalars().all() == [old_id]
        archive = SqlArchive(engine)
        (old,) = await archive.list_outlets()
        async with archive.poll_transaction() as tx:
            (article,) = await tx.add_unseen_articles(old, [item(6)], NOW)
            assert await tx.add_matches([ArticleMatches(article, (CSTO_MATCH,))], alert=True, now=NOW) == 0
            assert await tx.add_unseen_articles(old, [item(5, url="https://old.example/5")], NOW) == []
        async with engine.connect() as connection:
            stories = (await connection.execute(select(article_stories.c.story_id))).scalars().all()
        assert sorted(stories) == [old_id, article.id]
    finally:
        await engine.dispose()


async def test_downgrading_to_the_first_revision_keeps_the_articles(engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    archive = SqlArchive(engine)
    outlet = await new_outlet(archive)
    await archive_items(archive, outlet, [item(1)])
    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
    await upgrade(engine)
    assert await SqlArchive(engine).count_articles() == 1
