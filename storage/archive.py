"""Repositories for outlets and articles, and the transaction one poll writes in."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.identity import article_key, canonical_url
from core.models import (
    Article,
    ArticleMatches,
    FeedItem,
    Outlet,
    OutletKind,
    OutletSpec,
    OutletState,
    PageSelectors,
    Validators,
)
from storage.database import insert_ignoring_conflicts
from storage.tables import articles, destinations, matches, outbox, outlets, subscriptions, topics

# SQLite allows 32,766 bound parameters per statement; a few hundred rows stay well inside it.
ROWS_PER_STATEMENT = 500
MAX_KEY_BYTES = 1024
MAX_URL_CHARACTERS = 2048


def outlet_from_row(row: RowMapping) -> Outlet:
    return Outlet(
        id=row["id"],
        name=row["name"],
        url=row["url"],
        kind=OutletKind(row["kind"]),
        interval=timedelta(seconds=row["interval_seconds"]),
        state=OutletState(
            validators=Validators(row["etag"], row["last_modified"]),
            next_poll_at=row["next_poll_at"],
            last_polled_at=row["last_polled_at"],
            last_success_at=row["last_success_at"],
            last_error=row["last_error"],
            consecutive_failures=row["consecutive_failures"],
            is_baselined=row["is_baselined"],
            rate_per_hour=row["rate_per_hour"],
            deactivated_at=row["deactivated_at"],
            deactivation_reason=row["deactivation_reason"],
        ),
        group=row["group_name"],
        selectors=selectors_from_json(row["selectors"]),
    )


def selectors_to_json(selectors: PageSelectors) -> dict[str, str] | None:
    if selectors.is_empty():
        return None
    fields = {
        "item": selectors.item,
        "title": selectors.title,
        "link": selectors.link,
        "date": selectors.date,
    }
    return {name: value for name, value in fields.items() if value}


def selectors_from_json(value: object) -> PageSelectors:
    if not isinstance(value, dict):
        return PageSelectors()
    return PageSelectors(
        **{name: str(value[name]) for name in ("item", "title", "link", "date") if value.get(name)}
    )


def state_values(state: OutletState) -> dict[str, object]:
    """The outlets columns that hold an OutletState."""
    return {
        "etag": state.validators.etag,
        "last_modified": state.validators.last_modified,
        "next_poll_at": state.next_poll_at,
        "last_polled_at": state.last_polled_at,
        "last_success_at": state.last_success_at,
        "last_error": state.last_error,
        "consecutive_failures": state.consecutive_failures,
        "is_baselined": state.is_baselined,
        "rate_per_hour": state.rate_per_hour,
        "deactivated_at": state.deactivated_at,
        "deactivation_reason": state.deactivation_reason,
    }


def article_from_row(row: RowMapping, outlet_name: str) -> Article:
    return Article(
        id=row["id"],
        outlet_id=row["outlet_id"],
        outlet_name=outlet_name,
        title=row["title"],
        url=row["url"],
        summary=row["summary"],
        published=row["published_at"],
        first_seen_at=row["first_seen_at"],
        language=row["language"],
    )


def bounded_key(key: str) -> str:
    """A key short enough for a unique index (PostgreSQL's B-tree rows end near 2,700 bytes)."""
    if len(key.encode()) <= MAX_KEY_BYTES:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def unique_items(items: Sequence[FeedItem]) -> list[tuple[str, str | None, FeedItem]]:
    """Items with their keys, dropping repeats inside one document (same GUID or same link)."""
    seen: set[str] = set()
    kept: list[tuple[str, str | None, FeedItem]] = []
    for item in items:
        key = bounded_key(article_key(item))
        link = bounded_key(canonical_url(item.url)) if item.url else None
        if key in seen or (link is not None and link in seen):
            continue
        seen.update(k for k in (key, link) if k is not None)
        kept.append((key, link, item))
    return kept


class SqlPollTransaction:
    """core.ports.PollTransaction on one open connection (one database transaction)."""

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection) -> None:
        self._engine = engine
        self._connection = connection

    async def add_unseen_articles(
        self, outlet: Outlet, items: Sequence[FeedItem], now: datetime
    ) -> list[Article]:
        rows = [
            {
                "outlet_id": outlet.id,
                "guid": key,
                "canonical_url": link,
                "url": item.url if item.url is None or len(item.url) <= MAX_URL_CHARACTERS else None,
                "title": item.title,
                "summary": item.summary,
                "language": item.language[:35] if item.language else None,
                "published_at": item.published,
                "first_seen_at": now,
            }
            for key, link, item in unique_items(items)
        ]
        if not rows:
            return []
        # Idempotency lives in the database: a row that hits any unique key was seen before.
        statement = insert_ignoring_conflicts(self._engine, articles).returning(*articles.c)
        inserted: list[RowMapping] = []
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            result = await self._connection.execute(
                statement.values(rows[start : start + ROWS_PER_STATEMENT])
            )
            inserted += result.mappings().all()
        return [article_from_row(row, outlet.name) for row in sorted(inserted, key=lambda row: row["id"])]

    async def add_matches(self, found: Sequence[ArticleMatches], *, alert: bool, now: datetime) -> int:
        if not found:
            return 0
        topic_ids = await self._topic_ids()
        match_rows = [
            {
                "article_id": entry.article.id,
                "topic_id": topic_ids[match.topic],
                "terms": list(match.terms),
                "field": match.field,
                "snippet": match.snippet.text,
                "highlights": [list(span) for span in match.snippet.highlights],
            }
            for entry in found
            for match in entry.matches
            if match.topic in topic_ids
        ]
        if match_rows:
            await self._connection.execute(
                insert_ignoring_conflicts(self._engine, matches).values(match_rows)
            )
        if not alert:
            return 0
        return await self._queue_alerts(found, topic_ids, now)

    async def _queue_alerts(
        self, found: Sequence[ArticleMatches], topic_ids: dict[str, int], now: datetime
    ) -> int:
        subscribers = await self._subscribers_by_topic()
        rows = []
        for entry in found:
            wanted = {
                destination_id
                for match in entry.matches
                for destination_id in subscribers.get(topic_ids.get(match.topic, -1), ())
            }
            rows += [
                {
                    "article_id": entry.article.id,
                    "destination_id": destination_id,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for destination_id in sorted(wanted)
            ]
        if not rows:
            return 0
        statement = insert_ignoring_conflicts(self._engine, outbox).values(rows).returning(outbox.c.id)
        return len((await self._connection.execute(statement)).all())

    async def _topic_ids(self) -> dict[str, int]:
        result = await self._connection.execute(select(topics.c.name, topics.c.id))
        return dict(result.all())

    async def _subscribers_by_topic(self) -> dict[int, list[int]]:
        statement = (
            select(subscriptions.c.topic_id, subscriptions.c.destination_id)
            .join(destinations, destinations.c.id == subscriptions.c.destination_id)
            .where(destinations.c.enabled.is_(True))
        )
        by_topic: dict[int, list[int]] = {}
        for topic_id, destination_id in await self._connection.execute(statement):
            by_topic.setdefault(topic_id, []).append(destination_id)
        return by_topic

    async def save_outlet_state(self, outlet_id: int, state: OutletState) -> None:
        await self._connection.execute(
            update(outlets).where(outlets.c.id == outlet_id).values(state_values(state))
        )


class SqlArchive:
    """core.ports.Archive plus the outlet and article queries the CLI and bot need."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def poll_transaction(self) -> AsyncIterator[SqlPollTransaction]:
        async with self._engine.begin() as connection:
            yield SqlPollTransaction(self._engine, connection)

    async def add_outlet(self, spec: OutletSpec, now: datetime) -> Outlet | None:
        """Add an outlet unless one with the same name or URL exists; None when it did."""
        statement = (
            insert_ignoring_conflicts(self._engine, outlets)
            .values(
                name=spec.name,
                url=spec.url,
                kind=spec.kind.value,
                interval_seconds=int(spec.interval.total_seconds()),
                group_name=spec.group,
                selectors=selectors_to_json(spec.selectors),
                enabled=True,
                consecutive_failures=0,
                is_baselined=False,
                next_poll_at=now,
                created_at=now,
            )
            .returning(*outlets.c)
        )
        async with self._engine.begin() as connection:
            row = (await connection.execute(statement)).mappings().first()
        return outlet_from_row(row) if row is not None else None

    async def list_outlets(self, *, enabled_only: bool = False) -> list[Outlet]:
        """All outlets by name; `enabled_only` leaves out those disabled or deactivated."""
        statement = select(outlets).order_by(outlets.c.name)
        if enabled_only:
            statement = statement.where(outlets.c.enabled.is_(True), outlets.c.deactivated_at.is_(None))
        async with self._engine.connect() as connection:
            result = await connection.execute(statement)
            return [outlet_from_row(row) for row in result.mappings()]

    async def enable_outlet(self, outlet_id: int, state: OutletState) -> None:
        """Poll an outlet again (after deactivation), from `state` (core.scheduling.reactivated)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(outlets).where(outlets.c.id == outlet_id).values(enabled=True, **state_values(state))
            )

    async def due_outlets(self, now: datetime) -> list[Outlet]:
        statement = (
            select(outlets)
            .where(outlets.c.enabled.is_(True), outlets.c.deactivated_at.is_(None))
            .where(or_(outlets.c.next_poll_at.is_(None), outlets.c.next_poll_at <= now))
            .order_by(outlets.c.next_poll_at)
        )
        async with self._engine.connect() as connection:
            return [outlet_from_row(row) for row in (await connection.execute(statement)).mappings()]

    async def count_articles(self) -> int:
        async with self._engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(articles))).scalar_one())
