"""Migration 0006 re-keys archives written with the previous canonical URL form, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from core.models import FeedItem
from storage.archive import SqlArchive
from storage.database import create_engine
from storage.migrate import upgrade
from storage.tables import articles

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OUTLET = (
    "INSERT INTO outlets (name, url, kind, interval_seconds, enabled, consecutive_failures,"
    " is_baselined, created_at) VALUES ('Old', 'https://old.example/feed', 'feed', 300, true, 0,"
    " true, '2026-01-01 00:00:00')"
)
ARTICLE = (
    "INSERT INTO articles (outlet_id, guid, canonical_url, url, title, summary, first_seen_at)"
    " SELECT id, :guid, :canonical_url, :url, :title, 'lead', '2026-01-01 00:00:00' FROM outlets"
)
# (guid or None, link as the feed gives it, the key the previous release's canonical_url made of it)
OLD_ENTRIES = (
    (None, "https://m.example.org/news/1/?b=2&a=1&utm_source=rss", "https://m.example.org/news/1/?b=2&a=1"),
    (None, "https://Example.org/news/2/?amp&fbclid=x", "https://example.org/news/2/?amp="),
    (
        "guid-3",
        "https://example.org/news/3.amp?z=1&y=2&msclkid=q",
        "https://example.org/news/3.amp?z=1&y=2&msclkid=q",
    ),
    (None, "https://amp.example.org/news/4/amp/", "https://amp.example.org/news/4/amp/"),
)


def feed_item(guid: str | None, url: str, number: int) -> FeedItem:
    return FeedItem(title=f"Story {number}", url=url, guid=guid, summary="lead")


async def old_archive(database_url: str, entries: list[tuple[str | None, str, str]]) -> None:
    """An archive at 0005_search holding entries keyed as the previous release keyed them."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0005_search")
        async with engine.begin() as connection:
            await connection.execute(text(OUTLET))
            rows = [
                {"guid": guid or old_key, "canonical_url": old_key, "url": url, "title": f"Story {number}"}
                for number, (guid, url, old_key) in enumerate(entries, start=1)
            ]
            await connection.execute(text(ARTICLE), rows)
    finally:
        await engine.dispose()


async def test_upgrading_keeps_archived_entries_known_under_the_new_canonical_form(database_url: str) -> None:
    await old_archive(database_url, list(OLD_ENTRIES))
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        archive = SqlArchive(engine)
        (outlet,) = await archive.list_outlets()
        polled = [feed_item(guid, url, number) for number, (guid, url, _) in enumerate(OLD_ENTRIES, start=1)]
        async with archive.poll_transaction() as tx:
            assert await tx.add_unseen_articles(outlet, polled, NOW) == []
        async with engine.connect() as connection:
            keys = (
                await connection.execute(
                    select(articles.c.guid, articles.c.canonical_url).order_by(articles.c.id)
                )
            ).all()
        assert [tuple(row) for row in keys] == [
            ("https://example.org/news/1?a=1&b=2", "https://example.org/news/1?a=1&b=2"),
            ("https://example.org/news/2", "https://example.org/news/2"),
            ("guid-3", "https://example.org/news/3?y=2&z=1"),
            ("https://example.org/news/4", "https://example.org/news/4"),
        ]
        assert await archive.count_articles() == len(OLD_ENTRIES)
    finally:
        await engine.dispose()


async def test_two_old_keys_of_one_new_key_keep_both_rows_and_the_first_takes_it(database_url: str) -> None:
    mobile = (None, "https://m.example.org/news/5/", "https://m.example.org/news/5/")
    desktop = (None, "https://example.org/news/5/", "https://example.org/news/5/")
    await old_archive(database_url, [mobile, desktop])
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            keys = (
                await connection.execute(
                    select(articles.c.guid, articles.c.canonical_url).order_by(articles.c.id)
                )
            ).all()
        assert [tuple(row) for row in keys] == [
            ("https://example.org/news/5", "https://example.org/news/5"),
            ("https://example.org/news/5/", "https://example.org/news/5/"),
        ]
        archive = SqlArchive(engine)
        (outlet,) = await archive.list_outlets()
        for number, (guid, url, _) in enumerate([mobile, desktop], start=1):
            async with archive.poll_transaction() as tx:
                assert await tx.add_unseen_articles(outlet, [feed_item(guid, url, number)], NOW) == []
    finally:
        await engine.dispose()


async def test_rekeying_works_through_more_rows_than_one_batch(database_url: str) -> None:
    entries = [
        (None, f"https://m.example.org/news/{n}/", f"https://m.example.org/news/{n}/") for n in range(1, 1203)
    ]
    await old_archive(database_url, entries)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        archive = SqlArchive(engine)
        (outlet,) = await archive.list_outlets()
        polled = [feed_item(guid, url, number) for number, (guid, url, _) in enumerate(entries, start=1)]
        async with archive.poll_transaction() as tx:
            assert await tx.add_unseen_articles(outlet, polled, NOW) == []
        async with engine.connect() as connection:
            links = (await connection.execute(select(articles.c.canonical_url))).scalars().all()
        assert all(link.startswith("https://example.org/news/") and not link.endswith("/") for link in links)
    finally:
        await engine.dispose()
