"""Repositories for topics, destinations and subscriptions: who wants to hear about what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from core.models import Destination, KnownTopic, Platform, Topic
from storage.database import insert_ignoring_conflicts
from storage.tables import destinations, outbox, subscriptions, topics

MAX_TOPIC_NAME = 200  # topics.name


def destination_from_row(row: RowMapping) -> Destination:
    return Destination(row["id"], Platform(row["platform"]), row["address"], row["title"])


class SqlCatalog:
    """core.ports.Catalog and core.ports.Destinations, plus the topic sync and console subscriptions of start-up."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def sync_topics(self, wanted: Sequence[Topic], now: datetime) -> None:
        """Make the configured topics exist with their current query and aliases."""
        async with self._engine.begin() as connection:
            existing = dict((await connection.execute(select(topics.c.name, topics.c.id))).all())
            for topic in wanted:
                values = {"query": topic.query, "aliases": list(topic.aliases)}
                if topic.name in existing:
                    await connection.execute(
                        update(topics).where(topics.c.id == existing[topic.name]).values(values)
                    )
                else:
                    await connection.execute(
                        topics.insert().values(name=topic.name, created_at=now, **values)
                    )

    async def watched_topics(self, configured: Sequence[str]) -> list[Topic]:
        """The topics to match: the configured ones and any other a destination subscribes to."""
        subscribed = (
            select(subscriptions.c.topic_id)
            .join(destinations, destinations.c.id == subscriptions.c.destination_id)
            .where(destinations.c.enabled.is_(True))
        )
        statement = (
            select(topics.c.name, topics.c.query, topics.c.aliases)
            .where(or_(topics.c.name.in_(configured), topics.c.id.in_(subscribed)))
            .order_by(topics.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [Topic(name, query, tuple(aliases)) for name, query, aliases in rows]

    async def ensure_destination(
        self, platform: Platform, address: str, title: str, now: datetime
    ) -> Destination:
        """The destination for (platform, address), created on first use."""
        async with self._engine.begin() as connection:
            await connection.execute(
                insert_ignoring_conflicts(self._engine, destinations).values(
                    platform=platform.value,
                    address=address,
                    title=title,
                    enabled=True,
                    created_at=now,
                )
            )
            row = (
                (
                    await connection.execute(
                        select(destinations).where(
                            destinations.c.platform == platform.value,
                            destinations.c.address == address,
                        )
                    )
                )
                .mappings()
                .one()
            )
        return destination_from_row(row)

    async def find_destination(self, platform: Platform, address: str) -> Destination | None:
        statement = select(destinations).where(
            destinations.c.platform == platform.value, destinations.c.address == address
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).mappings().first()
        return destination_from_row(row) if row is not None else None

    async def set_enabled(self, destination_id: int, enabled: bool) -> None:
        """Enable or disable delivery on purpose; either way the destination is no longer "paused".

        Enabling lets its queued alerts flow again, but keeps a platform's flood wait (held_until):
        that is the platform's rule, not the chat's choice. Disabling (the bot was removed) stops
        queueing for it, unlike a pause, which keeps queueing so nothing is lost.
        """
        values: dict[str, object] = {"enabled": enabled, "paused_reason": None}
        async with self._engine.begin() as connection:
            await connection.execute(
                update(destinations).where(destinations.c.id == destination_id).values(values)
            )

    async def readdress(self, destination_id: int, address: str) -> Destination:
        """core.ports.Destinations: the platform gave the destination a new address (group → supergroup)."""
        async with self._engine.begin() as connection:
            old = (
                (await connection.execute(select(destinations).where(destinations.c.id == destination_id)))
                .mappings()
                .one()
            )
            taken = (
                (
                    await connection.execute(
                        select(destinations).where(
                            destinations.c.platform == old["platform"], destinations.c.address == address
                        )
                    )
                )
                .mappings()
                .one_or_none()
            )
            if taken is None:
                await connection.execute(
                    update(destinations).where(destinations.c.id == destination_id).values(address=address)
                )
                return Destination(old["id"], Platform(old["platform"]), address, old["title"])
            if taken["id"] != destination_id:
                await self._merge(connection, destination_id, taken["id"], address)
            return Destination(taken["id"], Platform(taken["platform"]), address, taken["title"])

    async def _merge(self, connection: AsyncConnection, old_id: int, new_id: int, address: str) -> None:
        """The new address is a destination already: it takes the old one's subscriptions and queue."""
        old_subscriptions = select(
            subscriptions.c.topic_id, subscriptions.c.mode, subscriptions.c.created_at
        ).where(subscriptions.c.destination_id == old_id)
        rows = [
            {**row, "destination_id": new_id}
            for row in (await connection.execute(old_subscriptions)).mappings()
        ]
        if rows:
            await connection.execute(insert_ignoring_conflicts(self._engine, subscriptions).values(rows))
        await connection.execute(delete(subscriptions).where(subscriptions.c.destination_id == old_id))
        # Unsent alerts move unless the new destination has the same story queued or sent already.
        known = aliased(outbox)
        await connection.execute(
            update(outbox)
            .where(
                outbox.c.destination_id == old_id,
                outbox.c.state.in_(["pending", "sending"]),
                ~exists().where(
                    known.c.destination_id == new_id,
                    or_(known.c.story_id == outbox.c.story_id, known.c.article_id == outbox.c.article_id),
                ),
            )
            .values(destination_id=new_id)
        )
        # What stayed behind the new destination has already: settled, so it never waits forever.
        await connection.execute(
            update(outbox)
            .where(outbox.c.destination_id == old_id, outbox.c.state.in_(["pending", "sending"]))
            .values(state="sent", lease_until=None, last_error=f"merged into {address}"[:2000])
        )
        # The old row stays (sent alerts keep their history) but is never delivered to again.
        await connection.execute(
            update(destinations)
            .where(destinations.c.id == old_id)
            .values(enabled=False, paused_reason=f"moved to {address}"[:2000])
        )

    async def subscribe(self, destination_id: int, topic_names: Sequence[str], now: datetime) -> int:
        """Subscribe a destination to topics (unknown names ignored); returns how many are new."""
        async with self._engine.begin() as connection:
            topic_ids = (
                await connection.execute(select(topics.c.id).where(topics.c.name.in_(topic_names)))
            ).scalars()
            rows = [
                {
                    "destination_id": destination_id,
                    "topic_id": topic_id,
                    "mode": "instant",
                    "created_at": now,
                }
                for topic_id in topic_ids
            ]
            if not rows:
                return 0
            statement = (
                insert_ignoring_conflicts(self._engine, subscriptions)
                .values(rows)
                .returning(subscriptions.c.id)
            )
            return len((await connection.execute(statement)).all())

    async def unsubscribe_all(self, destination_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(subscriptions).where(subscriptions.c.destination_id == destination_id)
            )

    async def known_topics(self) -> list[KnownTopic]:
        statement = select(topics.c.id, topics.c.name, topics.c.query).order_by(topics.c.name)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [KnownTopic(topic_id, name, query) for topic_id, name, query in rows]

    async def topic_named(self, name: str) -> KnownTopic | None:
        # Compared in Python: SQLite's lower() folds ASCII only, and topic names are Cyrillic too.
        wanted = name.strip().casefold()
        found = [topic for topic in await self.known_topics() if topic.name.casefold() == wanted]
        exact = [topic for topic in found if topic.name == name.strip()]
        return next(iter(exact or found), None)

    async def topic_by_id(self, topic_id: int) -> KnownTopic | None:
        statement = select(topics.c.id, topics.c.name, topics.c.query).where(topics.c.id == topic_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return KnownTopic(row[0], row[1], row[2]) if row is not None else None

    async def add_topic(self, topic: Topic, now: datetime) -> KnownTopic:
        insert = insert_ignoring_conflicts(self._engine, topics).values(
            name=topic.name[:MAX_TOPIC_NAME], query=topic.query, aliases=list(topic.aliases), created_at=now
        )
        statement = select(topics.c.id, topics.c.name, topics.c.query).where(
            topics.c.name == topic.name[:MAX_TOPIC_NAME]
        )
        async with self._engine.begin() as connection:
            await connection.execute(insert)
            row = (await connection.execute(statement)).one()
        return KnownTopic(row[0], row[1], row[2])

    async def subscribe_to(self, destination_id: int, topic_id: int, now: datetime) -> bool:
        statement = (
            insert_ignoring_conflicts(self._engine, subscriptions)
            .values(destination_id=destination_id, topic_id=topic_id, mode="instant", created_at=now)
            .returning(subscriptions.c.id)
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).first() is not None

    async def unsubscribe_from(self, destination_id: int, topic_id: int) -> bool:
        statement = delete(subscriptions).where(
            subscriptions.c.destination_id == destination_id, subscriptions.c.topic_id == topic_id
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def subscriptions_of(self, destination_id: int) -> list[KnownTopic]:
        statement = (
            select(topics.c.id, topics.c.name, topics.c.query)
            .join(subscriptions, subscriptions.c.topic_id == topics.c.id)
            .where(subscriptions.c.destination_id == destination_id)
            .order_by(topics.c.name)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [KnownTopic(topic_id, name, query) for topic_id, name, query in rows]
