"""The archive's full-text index (SQLite FTS5, PostgreSQL tsvector + GIN) and body retention.

Triggers on `articles` queue every insert, change of title or summary, and delete in
`search_queue`; `refresh` folds the queued articles' text with core.normalize (the matcher's own
folding: NFKC, case folding, ё=е, Kazakh letters, look-alikes) and rewrites their index entries.
The insert path of the archive is untouched, and index tokens are exactly the matcher's words.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    column,
    delete,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from core.models import Article
from core.normalize import fold
from core.search import (
    AllOf,
    AnyOf,
    Candidates,
    Cursor,
    FromOutlets,
    InLanguage,
    Phrase,
    Token,
    is_text_only,
    sort_time,
)
from storage.archive import article_from_row, story_outlets
from storage.database import is_sqlite
from storage.tables import article_stories, articles, matches, outlets, search_queue, topics

REFRESH_BATCH = 1000
CLEAR_BATCH = 1000
# PostgreSQL refuses a tsvector over 1 MB; a summary is never near that, a hostile one may be.
MAX_POSTGRES_DOCUMENT = 200_000

published_or_seen = func.coalesce(articles.c.published_at, articles.c.first_seen_at)
article_search = table("article_search", column("rowid", Integer), column("article_id"), column("document"))


def document_text(title: str, summary: str) -> str:
    """What the index holds for an article: its folded title and summary."""
    return f"{fold(title)} {fold(summary)}"


def _fts5_string(words: str) -> str:
    return '"' + words.replace('"', '""') + '"'


def _tsquery_lexeme(token: Token) -> str:
    return "'" + token.text.replace("\\", "\\\\").replace("'", "''") + "'"


def fts5_query(plan: Candidates) -> str:
    """An FTS5 MATCH expression: https://www.sqlite.org/fts5.html#full_text_query_syntax"""
    if isinstance(plan, Token):
        return _fts5_string(plan.text) + ("*" if plan.is_prefix else "")
    if isinstance(plan, Phrase):
        # A `*` after a phrase makes its last token a prefix.
        words = " ".join(token.text for token in plan.tokens)
        return _fts5_string(words) + ("*" if plan.tokens[-1].is_prefix else "")
    if isinstance(plan, AllOf | AnyOf):
        joiner = " AND " if isinstance(plan, AllOf) else " OR "
        return "(" + joiner.join(fts5_query(child) for child in plan.children) + ")"
    raise ValueError(f"not a text plan: {plan!r}")


def tsquery(plan: Candidates) -> str:
    """A to_tsquery expression: https://www.postgresql.org/docs/current/datatype-textsearch.html#DATATYPE-TSQUERY

    Phrases become AND: tsvector positions stop at 16,383, so `<->` could miss a phrase far into
    a long summary; the matcher checks adjacency anyway.
    """
    if isinstance(plan, Token):
        return _tsquery_lexeme(plan) + (":*" if plan.is_prefix else "")
    if isinstance(plan, Phrase):
        return "(" + " & ".join(tsquery(token) for token in plan.tokens) + ")"
    if isinstance(plan, AllOf | AnyOf):
        joiner = " & " if isinstance(plan, AllOf) else " | "
        return "(" + joiner.join(tsquery(child) for child in plan.children) + ")"
    raise ValueError(f"not a text plan: {plan!r}")


class SqlSearch:
    """core.ports.SearchIndex on the archive database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite = is_sqlite(engine)

    async def refresh(self) -> None:
        # A read first: searching an up-to-date index takes no write lock.
        async with self._engine.connect() as connection:
            if (await connection.execute(select(search_queue.c.id).limit(1))).first() is None:
                return
        while True:
            async with self._engine.begin() as connection:
                statement = (
                    select(search_queue.c.id, search_queue.c.article_id)
                    .order_by(search_queue.c.id)
                    .limit(REFRESH_BATCH)
                )
                if not self._sqlite:
                    # Several workers may refresh at once; each takes queue rows no other holds.
                    statement = statement.with_for_update(skip_locked=True)
                queued = (await connection.execute(statement)).all()
                if not queued:
                    return
                await self._reindex(connection, sorted({article_id for _, article_id in queued}))
                # Only the queue rows read here: a change queued meanwhile is indexed next time.
                await connection.execute(
                    delete(search_queue).where(search_queue.c.id.in_([row_id for row_id, _ in queued]))
                )
            if len(queued) < REFRESH_BATCH:
                return

    async def _reindex(self, connection: AsyncConnection, article_ids: list[int]) -> None:
        rows = await connection.execute(
            select(articles.c.id, articles.c.title, articles.c.summary).where(articles.c.id.in_(article_ids))
        )
        documents = [{"id": row.id, "document": document_text(row.title, row.summary)} for row in rows]
        # Every queued article loses its entry; those still in the archive get a fresh one.
        if self._sqlite:
            await connection.execute(
                text("DELETE FROM article_search WHERE rowid IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": article_ids},
            )
            if documents:
                await connection.execute(
                    text("INSERT INTO article_search (rowid, document) VALUES (:id, :document)"), documents
                )
            return
        await connection.execute(
            text("DELETE FROM article_search WHERE article_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": article_ids},
        )
        for entry in documents:
            entry["document"] = entry["document"][:MAX_POSTGRES_DOCUMENT]
        if documents:
            await connection.execute(
                text(
                    "INSERT INTO article_search (article_id, document) "
                    "VALUES (:id, to_tsvector('simple', :document)) "
                    "ON CONFLICT (article_id) DO UPDATE SET document = excluded.document"
                ),
                documents,
            )

    async def outlet_names(self) -> dict[int, str]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(outlets.c.id, outlets.c.name))
            return {row.id: row.name for row in rows}

    def _text_condition(self, plan: Candidates, names: Iterator[int]) -> ColumnElement[bool]:
        if self._sqlite:
            found: Any = select(article_search.c.rowid).where(
                literal_column("article_search").op("MATCH")(fts5_query(plan))
            )
        else:
            query = func.to_tsquery(literal_column("'simple'"), tsquery(plan))
            # Materialised, so PostgreSQL reads the GIN index once instead of walking the newest
            # articles and testing each (its estimate for an OR of a name's spellings is poor).
            hits = (
                select(article_search.c.article_id)
                .where(article_search.c.document.op("@@")(query))
                .cte(f"hits_{next(names)}")
                .prefix_with("MATERIALIZED")
            )
            found = select(hits.c.article_id)
        return articles.c.id.in_(found)

    def _condition(self, plan: Candidates, names: Iterator[int]) -> ColumnElement[bool]:
        """The plan as a WHERE clause; `names` numbers its CTEs the same way every time, so the
        statement stays cached (SQLAlchemy, and asyncpg's prepared statements)."""
        if is_text_only(plan):
            return self._text_condition(plan, names)
        if isinstance(plan, FromOutlets):
            if not plan.outlet_ids:
                return false()
            return articles.c.outlet_id.in_(sorted(plan.outlet_ids))
        if isinstance(plan, InLanguage):
            # A loose prefix test (also `rus` for `ru`); the matcher checks the exact rule.
            escaped = plan.code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return func.lower(articles.c.language).like(escaped + "%", escape="\\")
        if isinstance(plan, AllOf):
            return and_(*(self._condition(child, names) for child in plan.children))
        if isinstance(plan, AnyOf):
            return or_(*(self._condition(child, names) for child in plan.children))
        return self._text_condition(plan, names)

    async def candidates(
        self, plan: Candidates | None, oldest: datetime | None, after: Cursor | None, limit: int
    ) -> list[Article]:
        # The newest ids in a subquery, then their rows: sorting only (time, id) pairs keeps a
        # common word's thousands of candidates cheap to order.
        newest = select(articles.c.id)
        if plan is not None:
            newest = newest.where(self._condition(plan, count()))
        if oldest is not None:
            newest = newest.where(published_or_seen >= oldest)
        if after is not None:
            newest = newest.where(
                or_(
                    published_or_seen < after.time,
                    and_(published_or_seen == after.time, articles.c.id < after.article_id),
                )
            )
        newest = newest.order_by(published_or_seen.desc(), articles.c.id.desc()).limit(limit)
        statement = (
            select(articles, outlets.c.name.label("outlet_name"))
            .join(outlets, outlets.c.id == articles.c.outlet_id)
            .where(articles.c.id.in_(newest.scalar_subquery()))
        )
        async with self._engine.connect() as connection:
            if not self._sqlite and plan is not None:
                # PostgreSQL guesses that an OR of a name's spellings matches a sixth of the
                # archive and then reads every tsvector; the GIN index is always the better path.
                await connection.execute(text("SET LOCAL enable_seqscan = off"))
            rows = (await connection.execute(statement)).mappings().all()
        found = [article_from_row(row, row["outlet_name"]) for row in rows]
        return sorted(found, key=lambda article: (sort_time(article), article.id), reverse=True)

    async def topics_of(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not article_ids:
            return {}
        statement = (
            select(matches.c.article_id, topics.c.name)
            .join(topics, topics.c.id == matches.c.topic_id)
            .where(matches.c.article_id.in_(article_ids))
            .order_by(matches.c.article_id, topics.c.name)
        )
        found: dict[int, tuple[str, ...]] = {}
        async with self._engine.connect() as connection:
            for article_id, name in await connection.execute(statement):
                found[article_id] = (*found.get(article_id, ()), name)
        return found

    async def also_in(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not article_ids:
            return {}
        statement = (
            select(article_stories.c.article_id, article_stories.c.story_id, outlets.c.name)
            .join(articles, articles.c.id == article_stories.c.article_id)
            .join(outlets, outlets.c.id == articles.c.outlet_id)
            .where(article_stories.c.article_id.in_(article_ids))
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
            outlets_of = await story_outlets(connection, {story_id for _, story_id, _ in rows})
        return {
            article_id: tuple(name for name in outlets_of.get(story_id, []) if name != own)
            for article_id, story_id, own in rows
        }

    async def clear_bodies(self, seen_before: datetime, *, batch: int = CLEAR_BATCH) -> int:
        # Batches in id order, each its own short transaction: the first run after an upgrade may
        # clear millions of bodies, and one UPDATE would hold the write lock past polls' busy_timeout.
        cleared = 0
        after = 0  # article ids start at 1
        while True:
            chosen = (
                select(articles.c.id)
                .where(articles.c.id > after)
                .where(articles.c.first_seen_at < seen_before)
                .where(articles.c.summary != "")
                .order_by(articles.c.id)
                .limit(batch)
            )
            # One statement, so the transaction writes from its start (no read-then-write upgrade).
            statement = (
                update(articles)
                .where(articles.c.id.in_(chosen.scalar_subquery()))
                .values(summary="")
                .returning(articles.c.id)
            )
            async with self._engine.begin() as connection:
                ids = (await connection.execute(statement)).scalars().all()
            cleared += len(ids)
            if len(ids) < batch:
                break
            after = max(ids)
        await self.refresh()
        return cleared
