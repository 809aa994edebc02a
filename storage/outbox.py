"""The outbox: alerts written with their match, claimed under a lease, marked sent only after delivery."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.models import Alert, Destination, Platform, Snippet, TopicMatch
from storage.archive import article_from_row, story_outlets
from storage.tables import (
    articles,
    destinations,
    matches,
    outbox,
    outlets,
    subscriptions,
    topics,
)


def topic_match_from_row(row: RowMapping) -> TopicMatch:
    highlights = tuple((int(start), int(end)) for start, end in row["highlights"])
    return TopicMatch(row["topic"], tuple(row["terms"]), row["field"], Snippet(row["snippet"], highlights))


class SqlOutbox:
    """core.ports.Outbox. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers claim safely."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_due(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        # Rows held for a digest go out together through claim_digests, never one by one.
        return await self._claim(now, platforms, limit, lease, digest=False)

    async def claim_digests(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        return await self._claim(now, platforms, limit, lease, digest=True)

    async def _claim(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta, *, digest: bool
    ) -> list[Alert]:
        is_due = or_(
            and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now),
            # A sender that died mid-send leaves its lease behind; once it expires the row is due again.
            and_(outbox.c.state == "sending", outbox.c.lease_until <= now),
        )
        due = (
            select(outbox.c.id)
            .join(destinations, destinations.c.id == outbox.c.destination_id)
            .where(
                is_due,
                outbox.c.digest.is_(digest),
                destinations.c.platform.in_([platform.value for platform in platforms]),
            )
            # A digest's rows share their release time, so ordering by destination next keeps each
            # destination's rows together within a batch.
            .order_by(outbox.c.next_attempt_at, outbox.c.destination_id, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=outbox)
        )
        claim = (
            update(outbox)
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(state="sending", lease_until=now + lease, attempts=outbox.c.attempts + 1)
            .returning(outbox.c.id)
        )
        async with self._engine.begin() as connection:
            claimed = list((await connection.execute(claim)).scalars())
            return await self._load_alerts(connection, claimed) if claimed else []

    async def claim_edits(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        due = (
            select(outbox.c.id)
            .join(destinations, destinations.c.id == outbox.c.destination_id)
            .where(
                outbox.c.state == "sent",
                outbox.c.edit_due_at <= now,
                outbox.c.sent_ref.is_not(None),
                destinations.c.platform.in_([platform.value for platform in platforms]),
            )
            .order_by(outbox.c.edit_due_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=outbox)
        )
        # The due time becomes the lease: an editor that dies leaves an edit that comes due again.
        claim = (
            update(outbox)
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(edit_due_at=now + lease)
            .returning(outbox.c.id)
        )
        async with self._engine.begin() as connection:
            claimed = list((await connection.execute(claim)).scalars())
            return await self._load_alerts(connection, claimed) if claimed else []

    async def finish_edit(self, alert_id: int, lease_until: datetime, error: str | None) -> None:
        values: dict[str, object] = {"edit_due_at": None}
        if error is not None:
            values["last_error"] = error[:2000]
        async with self._engine.begin() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id == alert_id, outbox.c.edit_due_at == lease_until)
                .values(**values)
            )

    async def reschedule_edit(self, alert_id: int, at: datetime, error: str) -> None:
        await self._set(alert_id, edit_due_at=at, last_error=error[:2000])

    async def _load_alerts(self, connection: AsyncConnection, ids: list[int]) -> list[Alert]:
        statement = (
            select(
                outbox.c.id.label("alert_id"),
                outbox.c.attempts,
                outbox.c.story_id,
                outbox.c.sent_ref,
                destinations.c.id.label("destination_id"),
                destinations.c.platform,
                destinations.c.address,
                destinations.c.title.label("destination_title"),
                outlets.c.name.label("outlet_name"),
                *articles.c,
            )
            .join(articles, articles.c.id == outbox.c.article_id)
            .join(outlets, outlets.c.id == articles.c.outlet_id)
            .join(destinations, destinations.c.id == outbox.c.destination_id)
            .where(outbox.c.id.in_(ids))
            .order_by(outbox.c.id)
        )
        rows = (await connection.execute(statement)).mappings().all()
        found = await self._matches_for(connection, {row["id"] for row in rows})
        wanted = await self._subscribed_topics(connection, {row["destination_id"] for row in rows})
        outlets_of = await story_outlets(connection, {row["story_id"] for row in rows})
        alerts = []
        for row in rows:
            article_matches = found.get(row["id"], [])
            # Show the topics this destination follows; if it unsubscribed meanwhile, say why it fired.
            shown = [m for m in article_matches if m.topic in wanted.get(row["destination_id"], set())]
            destination = Destination(
                row["destination_id"],
                Platform(row["platform"]),
                row["address"],
                row["destination_title"],
            )
            alerts.append(
                Alert(
                    id=row["alert_id"],
                    destination=destination,
                    article=article_from_row(row, row["outlet_name"]),
                    matches=tuple(shown or article_matches),
                    also_in=tuple(
                        name for name in outlets_of.get(row["story_id"], []) if name != row["outlet_name"]
                    ),
                    attempts=row["attempts"],
                    ref=row["sent_ref"] or "",
                )
            )
        return alerts

    async def _matches_for(
        self, connection: AsyncConnection, article_ids: set[int]
    ) -> dict[int, list[TopicMatch]]:
        statement = (
            select(matches, topics.c.name.label("topic"))
            .join(topics, topics.c.id == matches.c.topic_id)
            .where(matches.c.article_id.in_(article_ids))
            .order_by(matches.c.id)
        )
        found: dict[int, list[TopicMatch]] = {}
        for row in (await connection.execute(statement)).mappings():
            found.setdefault(row["article_id"], []).append(topic_match_from_row(row))
        return found

    async def _subscribed_topics(
        self, connection: AsyncConnection, destination_ids: set[int]
    ) -> dict[int, set[str]]:
        statement = (
            select(subscriptions.c.destination_id, topics.c.name)
            .join(topics, topics.c.id == subscriptions.c.topic_id)
            .where(subscriptions.c.destination_id.in_(destination_ids))
        )
        wanted: dict[int, set[str]] = {}
        for destination_id, name in await connection.execute(statement):
            wanted.setdefault(destination_id, set()).add(name)
        return wanted

    async def mark_sent(self, alert_id: int, ref: str, now: datetime) -> None:
        await self._set(alert_id, state="sent", sent_ref=ref, sent_at=now, lease_until=None, last_error=None)

    async def reschedule(self, alert_id: int, at: datetime, error: str) -> None:
        await self._set(
            alert_id, state="pending", next_attempt_at=at, lease_until=None, last_error=error[:2000]
        )

    async def mark_dead(self, alert_id: int, error: str, now: datetime) -> None:
        await self._set(alert_id, state="dead", lease_until=None, last_error=error[:2000], sent_at=now)

    async def mark_digest_sent(self, alert_ids: Sequence[int], ref: str, now: datetime) -> None:
        await self._set_many(
            alert_ids, state="sent", sent_ref=ref, sent_at=now, lease_until=None, last_error=None
        )

    async def reschedule_digest(self, alert_ids: Sequence[int], at: datetime, error: str) -> None:
        await self._set_many(
            alert_ids, state="pending", next_attempt_at=at, lease_until=None, last_error=error[:2000]
        )

    async def mark_digest_dead(self, alert_ids: Sequence[int], error: str, now: datetime) -> None:
        await self._set_many(alert_ids, state="dead", lease_until=None, last_error=error[:2000], sent_at=now)

    async def _set_many(self, alert_ids: Sequence[int], **values: object) -> None:
        # One transaction for the whole digest: a crash leaves all of its rows sent or all leased.
        async with self._engine.begin() as connection:
            await connection.execute(update(outbox).where(outbox.c.id.in_(list(alert_ids))).values(**values))

    async def _set(self, alert_id: int, **values: object) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(update(outbox).where(outbox.c.id == alert_id).values(**values))

    async def count_by_state(self) -> dict[str, int]:
        statement = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        async with self._engine.connect() as connection:
            return {state: int(count) for state, count in (await connection.execute(statement))}
