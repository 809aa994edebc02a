"""The outbox: alerts written with their match, claimed under a lease, marked sent only after delivery."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.models import Alert, Destination, Platform, Snippet, TopicMatch
from storage.archive import article_from_row, story_outlets
from storage.tables import (
    article_stories,
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
    snippet = Snippet(row["snippet"], highlights)
    return TopicMatch(row["topic"], tuple(row["terms"]), row["field"], snippet, int(row["topic_id"]))


class SqlOutbox:
    """core.ports.Outbox. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers claim safely."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_due(
        self,
        now: datetime,
        platforms: Collection[Platform],
        limit: int,
        lease: timedelta,
        per_destination: int = 1,
    ) -> list[Alert]:
        # Rows held for a digest go out together through claim_digests, never one by one.
        return await self._claim(now, platforms, limit, lease, digest=False, per_destination=per_destination)

    async def claim_digests(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        # A destination's held alerts are one digest: all of them in the batch, not one at a time.
        return await self._claim(now, platforms, limit, lease, digest=True, per_destination=limit)

    async def _claim(
        self,
        now: datetime,
        platforms: Collection[Platform],
        limit: int,
        lease: timedelta,
        *,
        digest: bool,
        per_destination: int,
    ) -> list[Alert]:
        is_due = or_(
            and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now),
            # A sender that died mid-send leaves its lease behind; once it expires the row is due again.
            and_(outbox.c.state == "sending", outbox.c.lease_until <= now),
        )
        # A destination with an alert under a live lease is being served by a sender already; a
        # second one would break its pace, so its queue waits.
        in_flight = select(outbox.c.destination_id).where(
            outbox.c.state == "sending", outbox.c.lease_until > now
        )
        # PostgreSQL refuses FOR UPDATE next to a window function, so the ranking is a subquery and
        # the locking select around it picks by id.
        ranked = (
            select(
                outbox.c.id,
                func.row_number()
                .over(partition_by=outbox.c.destination_id, order_by=outbox.c.id)
                .label("place"),
            )
            .join(destinations, destinations.c.id == outbox.c.destination_id)
            .where(
                is_due,
                outbox.c.digest.is_(digest),
                destinations.c.platform.in_([platform.value for platform in platforms]),
                destinations.c.enabled.is_(True),
                or_(destinations.c.held_until.is_(None), destinations.c.held_until <= now),
                outbox.c.destination_id.not_in(in_flight),
            )
            .subquery()
        )
        due = (
            select(outbox.c.id)
            # `is_due` again here: PostgreSQL re-checks a row it had to wait for against this
            # select's own conditions only, and a row another sender just claimed is no longer due.
            .where(is_due, outbox.c.id.in_(select(ranked.c.id).where(ranked.c.place <= per_destination)))
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

    async def hold_destination(self, destination_id: int, until: datetime) -> None:
        # A shorter hold arriving late (e.g. the chat's pace after a 429) must not cut the longer one short.
        statement = (
            update(destinations)
            .where(
                destinations.c.id == destination_id,
                or_(destinations.c.held_until.is_(None), destinations.c.held_until < until),
            )
            .values(held_until=until)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def requeue(
        self,
        alerts: Sequence[tuple[int, datetime, str]],
        holds: Mapping[int, datetime],
        pauses: Mapping[int, str],
        now: datetime,
    ) -> None:
        # One executemany per kind of change: a 429 storm puts hundreds of alerts back per batch.
        # Only rows still being sent: if our lease ran out and another sender delivered the alert
        # meanwhile, putting it back would send it again.
        put_back = (
            update(outbox)
            .where(outbox.c.id == bindparam("alert_id"), outbox.c.state == "sending")
            .values(
                state="pending",
                next_attempt_at=bindparam("due_at"),
                lease_until=None,
                last_error=bindparam("error"),
            )
        )
        hold = (
            update(destinations)
            .where(
                destinations.c.id == bindparam("destination_id"),
                or_(destinations.c.held_until.is_(None), destinations.c.held_until < bindparam("until")),
            )
            .values(held_until=bindparam("until"))
        )
        pause = (
            update(destinations)
            .where(destinations.c.id == bindparam("destination_id"))
            .values(enabled=False, paused_reason=bindparam("reason"))
        )
        async with self._engine.begin() as connection:
            if alerts:
                rows = [{"alert_id": i, "due_at": at, "error": error[:2000]} for i, at, error in alerts]
                await connection.execute(put_back, rows)
            if holds:
                await connection.execute(hold, [{"destination_id": d, "until": u} for d, u in holds.items()])
            if pauses:
                stamp = now.isoformat(timespec="seconds")
                rows = [{"destination_id": d, "reason": f"{stamp} {r}"[:2000]} for d, r in pauses.items()]
                await connection.execute(pause, rows)

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

    async def mark_digest_sent(self, alert_ids: Sequence[int], ref: str, now: datetime) -> None:
        await self._set_many(
            alert_ids, state="sent", sent_ref=ref, sent_at=now, lease_until=None, last_error=None
        )

    async def reschedule_digest(self, alert_ids: Sequence[int], at: datetime, error: str) -> None:
        # Like requeue: a row another sender delivered after our lease ran out stays delivered.
        async with self._engine.begin() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(alert_ids)), outbox.c.state == "sending")
                .values(state="pending", next_attempt_at=at, lease_until=None, last_error=error[:2000])
            )

    async def pause_destination(self, destination_id: int, reason: str, now: datetime) -> None:
        await self.requeue([], {}, {destination_id: reason}, now)

    async def _set_many(self, alert_ids: Sequence[int], **values: object) -> None:
        # One transaction for the whole digest: a crash leaves all of its rows sent or all leased.
        async with self._engine.begin() as connection:
            await connection.execute(update(outbox).where(outbox.c.id.in_(list(alert_ids))).values(**values))

    async def _set(self, alert_id: int, **values: object) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(update(outbox).where(outbox.c.id == alert_id).values(**values))

    async def article_for_message(self, platform: Platform, ref: str) -> int | None:
        """The article of the alert sent as message `ref` on `platform`; None for any other message."""
        statement = (
            select(outbox.c.article_id)
            .join(destinations, destinations.c.id == outbox.c.destination_id)
            # A digest is one message for many articles: a reply to it names none of them.
            .where(
                outbox.c.sent_ref == ref,
                outbox.c.digest.is_(False),
                destinations.c.platform == platform.value,
            )
            .limit(1)
        )
        async with self._engine.connect() as connection:
            found: int | None = (await connection.execute(statement)).scalar()
        return found

    async def alert_view(self, article_id: int, destination: Destination) -> Alert | None:
        """The article as an alert to `destination` shows it; the outbox row's id when it was queued there."""
        statement = (
            select(outlets.c.name.label("outlet_name"), article_stories.c.story_id, *articles.c)
            .join(outlets, outlets.c.id == articles.c.outlet_id)
            .outerjoin(article_stories, article_stories.c.article_id == articles.c.id)
            .where(articles.c.id == article_id)
        )
        queued = select(outbox.c.id).where(
            outbox.c.article_id == article_id, outbox.c.destination_id == destination.id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).mappings().first()
            if row is None:
                return None
            alert_id = (await connection.execute(queued)).scalar() or 0
            found = (await self._matches_for(connection, {article_id})).get(article_id, [])
            wanted = (await self._subscribed_topics(connection, {destination.id})).get(destination.id, set())
            story_id = row["story_id"]
            outlets_of = await story_outlets(connection, {story_id}) if story_id is not None else {}
        shown = [match for match in found if match.topic in wanted]
        return Alert(
            id=alert_id,
            destination=destination,
            article=article_from_row(row, row["outlet_name"]),
            matches=tuple(shown or found),
            also_in=tuple(name for name in outlets_of.get(story_id, []) if name != row["outlet_name"]),
        )

    async def matches_per_day(self, topic_id: int, since: datetime) -> dict[date, int]:
        """Articles that matched the topic per UTC day of their publication (else first-seen) time."""
        when = func.coalesce(articles.c.published_at, articles.c.first_seen_at)
        # Times are stored as naive UTC, so date() gives the UTC day on both engines.
        day = func.date(when)
        statement = (
            select(day, func.count())
            .select_from(matches.join(articles, articles.c.id == matches.c.article_id))
            .where(matches.c.topic_id == topic_id, when >= since)
            .group_by(day)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        # SQLite's date() is text, PostgreSQL's a date.
        return {value if isinstance(value, date) else date.fromisoformat(value): int(n) for value, n in rows}

    async def count_by_state(self) -> dict[str, int]:
        statement = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        async with self._engine.connect() as connection:
            return {state: int(count) for state, count in (await connection.execute(statement))}
