"""Search index contract tests, run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import ArticleMatches, ArticleText, FeedItem, Outlet, OutletSpec, Snippet, Topic, TopicMatch
from core.query import QuerySyntaxError, parse_query
from core.search import (
    Cursor,
    SearchRequest,
    candidates,
    describe_candidates,
    purge_old_bodies,
    search_archive,
)
from core.watchlist import compile_watchlist
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.migrate import alembic_config, upgrade
from storage.search import SqlSearch
from storage.tables import articles
from tests.core.test_search import corpus_items, sample_queries

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def item(number: int, title: str, summary: str = "", *, hours_ago: float = 0, lang: str = "en") -> FeedItem:
    return FeedItem(
        title=title,
        url=f"https://example.org/news/{number}",
        guid=f"guid-{number}",
        summary=summary,
        published=NOW - timedelta(hours=hours_ago),
        language=lang,
    )


async def new_outlet(archive: SqlArchive, name: str) -> Outlet:
    outlet = await archive.add_outlet(
        OutletSpec(name, f"https://{name.lower().replace(' ', '-')}.example/feed"), NOW
    )
    assert outlet is not None
    return outlet


async def archive_items(
    archive: SqlArchive, outlet: Outlet, items: list[FeedItem], now: datetime = NOW
) -> list[int]:
    async with archive.poll_transaction() as tx:
        return [a.id for a in await tx.add_unseen_articles(outlet, items, now)]


async def ids(search: SqlSearch, query: str, **options: object) -> list[int]:
    page = await search_archive(search, SearchRequest(query, **options), NOW)  # type: ignore[arg-type]
    return [hit.article.id for hit in page.hits]


async def test_search_finds_words_names_acronyms_prefixes_and_phrases(engine: AsyncEngine) -> None:
    archive, search = SqlArchive(engine), SqlSearch(engine)
    azattyq = await new_outlet(archive, "Azattyq")
    tass = await new_outlet(archive, "TASS")
    a, b, c, d, e = await archive_items(
        archive,
        azattyq,
        [
            item(1, "Тоқаевтың ШЫҰ саммитіндегі сөзі", "Астанада", hours_ago=1, lang="kk"),
            item(2, "Scotland and the disco", "SCOTUS ruling", hours_ago=2),
            item(
                3,
                "Tasmagambetov meets JICA",
                "The Japan International Cooperation Agency signed…",
                hours_ago=3,
            ),
            item(4, "Королёв", "Ёлка в Астане", hours_ago=4, lang="ru"),
            item(5, "Ta\u00adsmagambetov", "soft hyphen inside the name", hours_ago=5),
        ],
    )
    (f,) = await archive_items(
        archive, tass, [item(6, "Встреча с Тасмагамбетовым", "ОДКБ", hours_ago=6, lang="ru")]
    )

    assert await ids(search, "Tokayev") == [a]
    assert await ids(search, "ШЫҰ OR SCO") == [a]
    assert await ids(search, "SCO") == []
    assert await ids(search, "Tasmagambetov") == [c, e, f]
    assert await ids(search, "Тасмагамбетов*") == [f]
    assert await ids(search, '"Japan International Cooperation"') == [c]
    assert await ids(search, '"international cooperation agency"') == [c]
    assert await ids(search, '"cooperation japan"') == []
    assert await ids(search, "королев OR елка") == [d]
    assert await ids(search, "Tasmagambetov source:TASS") == [f]
    assert await ids(search, "Tasmagambetov lang:ru") == [f]
    assert await ids(search, "title:JICA") == [c]
    assert await ids(search, "body:JICA") == []
    assert await ids(search, "NOT Tasmagambetov") == [a, b, d]


async def test_since_limits_and_pages(engine: AsyncEngine) -> None:
    archive, search = SqlArchive(engine), SqlSearch(engine)
    outlet = await new_outlet(archive, "Kazinform")
    items = [item(n, f"CSTO report {n}", hours_ago=n) for n in range(1, 26)]
    items.append(FeedItem(title="CSTO undated", url="https://example.org/undated", guid="undated"))
    created = await archive_items(archive, outlet, items, now=NOW - timedelta(hours=30))
    undated = created[-1]
    assert await ids(search, "CSTO since:12h") == created[:12]
    assert await ids(search, "CSTO", since=timedelta(hours=3)) == created[:3]

    seen: list[int] = []
    cursor: Cursor | None = None
    while True:
        page = await search_archive(search, SearchRequest("CSTO", limit=4, after=cursor), NOW)
        seen += [hit.article.id for hit in page.hits]
        if page.next is None:
            break
        cursor = page.next
    # The undated article sorts by when it was first seen, 30 hours ago: after every dated one.
    assert seen == [*created[:25], undated]


async def test_hits_carry_their_topics(engine: AsyncEngine) -> None:
    archive, search, catalog = SqlArchive(engine), SqlSearch(engine), SqlCatalog(engine)
    await catalog.sync_topics([Topic("CSTO", "CSTO")], NOW)
    outlet = await new_outlet(archive, "Azattyq")
    async with archive.poll_transaction() as tx:
        (found,) = await tx.add_unseen_articles(outlet, [item(1, "CSTO drills")], NOW)
        match = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO drills", ((0, 4),)))
        await tx.add_matches([ArticleMatches(found, (match,))], alert=False, now=NOW)
    page = await search_archive(search, SearchRequest("drills"), NOW)
    assert [(hit.topics, hit.terms, hit.also_in) for hit in page.hits] == [(("CSTO",), ("drills",), ())]


async def test_the_index_follows_changes_and_deletes(engine: AsyncEngine) -> None:
    archive, search = SqlArchive(engine), SqlSearch(engine)
    outlet = await new_outlet(archive, "Reuters")
    first, second = await archive_items(archive, outlet, [item(1, "Before", "old words"), item(2, "Other")])
    assert await ids(search, "old") == [first]
    async with engine.begin() as connection:
        await connection.execute(update(articles).where(articles.c.id == first).values(summary="new words"))
        await connection.execute(delete(articles).where(articles.c.id == second))
    assert await ids(search, "old") == []
    assert await ids(search, "new") == [first]
    assert await ids(search, "Other") == []


async def test_retention_clears_old_bodies_but_keeps_identity(engine: AsyncEngine) -> None:
    archive, search = SqlArchive(engine), SqlSearch(engine)
    outlet = await new_outlet(archive, "Tengrinews")
    old_item = item(1, "Old title", "old body words")
    (old,) = await archive_items(archive, outlet, [old_item], now=NOW - timedelta(days=200))
    (new,) = await archive_items(archive, outlet, [item(2, "New title", "new body words")])
    assert await ids(search, "body") == [new, old]

    assert await purge_old_bodies(search, timedelta(days=180), NOW) == 1
    assert await purge_old_bodies(search, timedelta(days=180), NOW) == 0
    assert await ids(search, "body") == [new]
    assert await ids(search, "Old") == [old]  # the title stays searchable
    # The old article shows up in its feed again: it is known, so nothing new is archived or alerted.
    assert await archive_items(archive, outlet, [old_item]) == []


async def test_retention_clears_in_batches_until_every_old_body_is_gone(engine: AsyncEngine) -> None:
    archive, search = SqlArchive(engine), SqlSearch(engine)
    outlet = await new_outlet(archive, "Azattyq")
    old_items = [item(number, f"Old {number}", "old body words") for number in range(1, 8)]
    old_items[3] = item(4, "Old 4")  # no body to clear: not counted
    old = await archive_items(archive, outlet, old_items, now=NOW - timedelta(days=200))
    (new,) = await archive_items(archive, outlet, [item(8, "New", "new body words")])

    # Six bodies in batches of two: three full batches, then an empty one ends the run.
    assert await search.clear_bodies(NOW - timedelta(days=180), batch=2) == 6
    assert await search.clear_bodies(NOW - timedelta(days=180), batch=2) == 0
    assert await ids(search, "body") == [new]
    assert sorted(await ids(search, "Old")) == old


async def test_the_migration_goes_down_and_up_again(engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0004_stories")  # the revision before the search index

    archive = SqlArchive(engine)
    outlet = await new_outlet(archive, "Reuters")
    (first,) = await archive_items(archive, outlet, [item(1, "JICA grant")])
    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
    await upgrade(engine)
    assert await ids(SqlSearch(engine), "JICA") == [first]  # articles from before are queued


async def test_a_malformed_query_names_its_position(engine: AsyncEngine) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        await search_archive(SqlSearch(engine), SearchRequest('"unclosed'), NOW)
    assert raised.value.position == 9


async def test_index_candidates_contain_every_matcher_hit_on_the_corpus(engine: AsyncEngine) -> None:
    archive, search = SqlArchive(engine), SqlSearch(engine)
    outlet = await new_outlet(archive, "Corpus")
    texts = corpus_items(400)
    created = await archive_items(
        archive, outlet, [item(n, text.title or "untitled", text.body) for n, text in enumerate(texts)]
    )
    by_id = dict(zip(created, texts, strict=True))
    await search.refresh()
    queries = []
    for query in sample_queries(texts, 120, seed=7):
        try:
            parse_query(query)
        except QuerySyntaxError:
            continue
        queries.append(query)
    watchlist = compile_watchlist([Topic(str(n), query) for n, query in enumerate(queries)])
    wanted: dict[int, set[int]] = {}
    for article_id, text in by_id.items():
        for match in watchlist.match(ArticleText(text.title or "untitled", text.body, "Corpus", "en")):
            wanted.setdefault(int(match.topic), set()).add(article_id)
    assert sum(map(len, wanted.values())) > 100
    for number, hits in wanted.items():
        plan = candidates(parse_query(queries[number]), {outlet.id: outlet.name})
        found = {a.id for a in await search.candidates(plan, None, None, 100_000)}
        assert hits <= found, (queries[number], describe_candidates(plan))
