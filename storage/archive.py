"""Repositories for outlets and articles, and the transaction one poll writes in."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.digest import release_at
from core.identity import article_key, canonical_url, content_fingerprint
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
from core.stories import (
    SIMILARITY_THRESHOLD,
    Signature,
    StoryAssignment,
    StoryCandidate,
    signature_of,
    similarity,
)
from storage.database import insert_ignoring_conflicts, is_sqlite
from storage.plans import plans_of
from storage.tables import (
    article_revisions,
    article_stories,
    articles,
    destinations,
    matches,
    outbox,
    outlets,
    stories,
    story_bands,
    subscriptions,
    topics,
)

# SQLite allows 32,766 bound parameters per statement; a few hundred rows stay well inside it.
ROWS_PER_STATEMENT = 500
KEYS_PER_STATEMENT = 5000
MAX_KEY_BYTES = 1024
MAX_URL_CHARACTERS = 2048
# The PostgreSQL advisory lock that serialises story clustering across polls ("news", "stry").
STORY_LOCK_KEY = 0x6E657773_73747279
# How far a story that gains an outlet moves an in-flight edit's due time off its lease.
EDIT_NUDGE = timedelta(microseconds=1)


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
        story_id=row.get("story_id"),
    )


async def story_outlets(connection: AsyncConnection, story_ids: Collection[int]) -> dict[int, list[str]]:
    """Each story's outlets, in the order they published it."""
    statement = (
        select(article_stories.c.story_id, outlets.c.name)
        .join(articles, articles.c.id == article_stories.c.article_id)
        .join(outlets, outlets.c.id == articles.c.outlet_id)
        .where(article_stories.c.story_id.in_(story_ids))
        .order_by(articles.c.first_seen_at, articles.c.id)
    )
    found: dict[int, list[str]] = {}
    for story_id, name in await connection.execute(statement):
        names = found.setdefault(story_id, [])
        if name not in names:
            names.append(name)
    return found


def pack_signature(signature: Signature) -> bytes:
    return struct.pack(f"<{len(signature)}I", *signature)


def unpack_signature(packed: bytes) -> Signature:
    return struct.unpack(f"<{len(packed) // 4}I", packed)


def bounded_key(key: str) -> str:
    """A key short enough for a unique index (PostgreSQL's B-tree rows end near 2,700 bytes)."""
    if len(key.encode()) <= MAX_KEY_BYTES:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def unique_items(items: Sequence[FeedItem]) -> list[tuple[str, str | None, FeedItem]]:
    """Items with their keys, dropping repeats inside one document (same link, or same GUID and no link).

    Two items that share a GUID but not a link are two articles under a reused GUID (a broken
    feed): the second is keyed by GUID and link together.
    """
    keys: set[str] = set()
    links: set[str] = set()
    kept: list[tuple[str, str | None, FeedItem]] = []
    for item in items:
        key = bounded_key(article_key(item))
        link = bounded_key(canonical_url(item.url)) if item.url else None
        if link is not None and link in links:
            continue
        if key in keys:
            if link is None:
                continue
            key = reused_guid_key(key, link)
            if key in keys:
                continue
        keys.add(key)
        if link is not None:
            links.add(link)
        kept.append((key, link, item))
    return kept


def reused_guid_key(key: str, link: str) -> str:
    return bounded_key(f"{key} {link}")


def is_reused_guid(item: FeedItem, link: str, known: RowMapping) -> bool:
    """A known GUID under another link with other text: a different article (a broken feed).

    The same GUID under another link with near-duplicate text is one article whose link changed.
    """
    return known["canonical_url"] != link and not is_same_text(item, known)


def is_same_text(item: FeedItem, known: RowMapping) -> bool:
    """Whether an entry is (a revision of) an archived article: near-duplicate text, else equal text."""
    signature = signature_of(item.title, item.summary)
    if signature is not None and known["signature"] is not None:
        return similarity(signature, unpack_signature(known["signature"])) >= SIMILARITY_THRESHOLD
    was = known["fingerprint"] or content_fingerprint(known["title"], known["summary"])
    return content_fingerprint(item.title, item.summary) == was


class SqlPollTransaction:
    """core.ports.PollTransaction on one open connection (one database transaction)."""

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection, zone: tzinfo = UTC) -> None:
        self._engine = engine
        self._connection = connection
        self._zone = zone  # [delivery] timezone: the wall clock of digest times and quiet hours

    async def add_unseen_articles(
        self, outlet: Outlet, items: Sequence[FeedItem], now: datetime
    ) -> list[Article]:
        entries = unique_items(items)
        inserted = await self._insert_articles(outlet, entries, now)
        # Idempotency lives in the database: an entry that hit a unique key was seen before, unless
        # all it shares is a GUID that the feed gave a different article too.
        inserted_keys = {row["guid"] for row in inserted}
        known = [(key, link, item) for key, link, item in entries if key not in inserted_keys]
        reused = await self._settle_known(outlet, known, now)
        inserted += await self._insert_articles(outlet, reused, now)
        return [article_from_row(row, outlet.name) for row in sorted(inserted, key=lambda row: row["id"])]

    async def _insert_articles(
        self, outlet: Outlet, entries: Sequence[tuple[str, str | None, FeedItem]], now: datetime
    ) -> list[RowMapping]:
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
            for key, link, item in entries
        ]
        statement = insert_ignoring_conflicts(self._engine, articles).returning(*articles.c)
        inserted: list[RowMapping] = []
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            result = await self._connection.execute(
                statement.values(rows[start : start + ROWS_PER_STATEMENT])
            )
            inserted += result.mappings().all()
        return inserted

    async def _settle_known(
        self, outlet: Outlet, known: Sequence[tuple[str, str | None, FeedItem]], now: datetime
    ) -> list[tuple[str, str | None, FeedItem]]:
        """Record changed text of this outlet's known articles as revisions; return reused-GUID entries."""
        revisions: list[dict[str, object]] = []
        reused: list[tuple[str, str | None, FeedItem]] = []
        for start in range(0, len(known), ROWS_PER_STATEMENT):
            chunk = known[start : start + ROWS_PER_STATEMENT]
            by_guid, by_link = await self._known_articles(outlet, chunk)
            for key, link, item in chunk:
                found = by_link.get(link) if link is not None else None
                if found is None:
                    found = by_guid.get(key)
                    if found is None:
                        continue  # the link belongs to another outlet's article: not this outlet's revision
                    if link is not None and is_reused_guid(item, link, found):
                        reused.append((reused_guid_key(key, link), link, item))
                        continue
                fingerprint = content_fingerprint(item.title, item.summary)
                was = found["fingerprint"] or content_fingerprint(found["title"], found["summary"])
                if fingerprint != was:
                    revisions.append(
                        {
                            "article_id": found["id"],
                            "fingerprint": fingerprint,
                            "title": item.title,
                            "summary": item.summary,
                            "seen_at": now,
                        }
                    )
        if revisions:
            # The same revision seen again is one row (unique per article and fingerprint).
            await self._connection.execute(
                insert_ignoring_conflicts(self._engine, article_revisions).values(revisions)
            )
        return reused

    async def _known_articles(
        self, outlet: Outlet, chunk: Sequence[tuple[str, str | None, FeedItem]]
    ) -> tuple[dict[str, RowMapping], dict[str, RowMapping]]:
        links = [link for _, link, _ in chunk if link is not None]
        statement = (
            select(
                articles.c.id,
                articles.c.guid,
                articles.c.canonical_url,
                articles.c.title,
                articles.c.summary,
                article_stories.c.fingerprint,
                article_stories.c.signature,
            )
            .outerjoin(article_stories, article_stories.c.article_id == articles.c.id)
            .where(
                articles.c.outlet_id == outlet.id,
                or_(articles.c.guid.in_([key for key, _, _ in chunk]), articles.c.canonical_url.in_(links)),
            )
        )
        rows = (await self._connection.execute(statement)).mappings().all()
        return {row["guid"]: row for row in rows}, {row["canonical_url"]: row for row in rows}

    async def story_candidates(self, band_keys: Sequence[str], since: datetime) -> list[StoryCandidate]:
        if not is_sqlite(self._engine):
            # Two polls carrying one story would each see no committed candidates, each found a
            # story and each queue an alert. The lock, held until commit, makes the later poll wait
            # and then read (READ COMMITTED: a fresh snapshot per statement) the story the earlier
            # one founded. One key, not one per band key: a big batch has thousands of band keys,
            # which would crowd PostgreSQL's shared lock table and need ordering against deadlocks;
            # what it serialises is only the database tail of a poll, as SQLite's BEGIN IMMEDIATE does.
            await self._connection.execute(select(func.pg_advisory_xact_lock(STORY_LOCK_KEY)))
        found: dict[int, StoryCandidate] = {}
        for start in range(0, len(band_keys), KEYS_PER_STATEMENT):
            recent = select(story_bands.c.article_id).where(
                story_bands.c.band_key.in_(band_keys[start : start + KEYS_PER_STATEMENT]),
                story_bands.c.created_at >= since,
            )
            statement = (
                select(
                    article_stories.c.article_id,
                    article_stories.c.story_id,
                    article_stories.c.signature,
                    articles.c.outlet_id,
                )
                .join(articles, articles.c.id == article_stories.c.article_id)
                .where(article_stories.c.article_id.in_(recent), article_stories.c.signature.is_not(None))
            )
            for article_id, story_id, packed, outlet_id in await self._connection.execute(statement):
                found[article_id] = StoryCandidate(article_id, story_id, unpack_signature(packed), outlet_id)
        return [found[article_id] for article_id in sorted(found)]

    async def join_stories(self, assignments: Sequence[StoryAssignment], now: datetime) -> None:
        if not assignments:
            return
        founded = [{"id": a.story_id, "created_at": now} for a in assignments if a.founds_story]
        await self._insert_all(stories, founded)
        # Judged against the stories as they were, before this batch's articles join them.
        await self._ask_for_edits([a for a in assignments if not a.founds_story], now)
        members = [
            {
                "article_id": a.article.id,
                "story_id": a.story_id,
                "fingerprint": content_fingerprint(a.article.title, a.article.summary),
                "signature": pack_signature(a.signature) if a.signature is not None else None,
                "created_at": now,
            }
            for a in assignments
        ]
        await self._insert_all(article_stories, members)
        bands = [
            {"band_key": key, "article_id": a.article.id, "story_id": a.story_id, "created_at": now}
            for a in assignments
            for key in a.band_keys
        ]
        await self._insert_all(story_bands, bands)

    async def _insert_all(self, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
        if rows:
            # executemany: SQLAlchemy batches the rows into a few statements it compiles once.
            await self._connection.execute(insert(table), list(rows))

    async def _ask_for_edits(self, joined: Sequence[StoryAssignment], now: datetime) -> None:
        """Mark sent (or in-flight) alerts of stories that gained an outlet for an edit that shows it."""
        if not joined:
            return
        statement = (
            select(article_stories.c.story_id, articles.c.outlet_id)
            .join(articles, articles.c.id == article_stories.c.article_id)
            .where(article_stories.c.story_id.in_({a.story_id for a in joined}))
        )
        known = {(story_id, outlet_id) for story_id, outlet_id in await self._connection.execute(statement)}
        gained = {a.story_id for a in joined if (a.story_id, a.article.outlet_id) not in known}
        if not gained:
            return
        # Locked (on PostgreSQL) so that an editor's finish_edit cannot clear a row read here.
        alerts = (
            select(outbox.c.id, outbox.c.edit_due_at)
            # A digest is one message for many stories: it is not edited to follow one of them.
            .where(
                outbox.c.story_id.in_(gained),
                outbox.c.state.in_(["sent", "sending"]),
                outbox.c.digest.is_(False),
            )
            .order_by(outbox.c.id)
            .with_for_update(of=outbox)
        )
        due = [
            # A later time is an edit's retry delay or lease. The edit claimed under that lease read
            # the story's outlets before this one joined, so the time moves off the lease: its
            # finish_edit then clears nothing, and the row comes due again when the lease ends.
            {"alert_id": alert_id, "due": now if at is None or at <= now else at + EDIT_NUDGE}
            for alert_id, at in await self._connection.execute(alerts)
        ]
        if due:
            await self._connection.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("alert_id"))
                .values(edit_due_at=bindparam("due")),
                due,
            )

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
        story_ids = await self._story_ids([entry.article for entry in found], now)
        rows: dict[tuple[int, int], dict[str, object]] = {}
        for entry in found:
            wanted = {
                destination_id
                for match in entry.matches
                for destination_id in subscribers.get(topic_ids.get(match.topic, -1), ())
            }
            story_id = story_ids[entry.article.id]
            for destination_id in sorted(wanted):
                # One alert per story and destination: the first article of the story to match shows.
                rows.setdefault(
                    (story_id, destination_id),
                    {
                        "article_id": entry.article.id,
                        "story_id": story_id,
                        "destination_id": destination_id,
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "digest": False,
                    },
                )
        if not rows:
            return 0
        # The destination's plan decides when: a digest or quiet hours hold the alert until release.
        plans = await plans_of(self._connection, {destination_id for _, destination_id in rows})
        for (_, destination_id), row in rows.items():
            plan = plans.get(destination_id)
            release = release_at(plan, now, self._zone) if plan is not None else None
            if release is not None:
                row.update(next_attempt_at=release, digest=True)
        statement = (
            insert_ignoring_conflicts(self._engine, outbox).values(list(rows.values())).returning(outbox.c.id)
        )
        return len((await self._connection.execute(statement)).all())

    async def _story_ids(self, found: Sequence[Article], now: datetime) -> dict[int, int]:
        """Each article's story; an article that was never clustered becomes a story of its own."""
        story_ids = {a.id: a.story_id for a in found if a.story_id is not None}
        unknown = [a for a in found if a.story_id is None]
        if unknown:
            statement = select(article_stories.c.article_id, article_stories.c.story_id).where(
                article_stories.c.article_id.in_([a.id for a in unknown])
            )
            for article_id, story_id in await self._connection.execute(statement):
                story_ids[article_id] = story_id
        alone = [StoryAssignment(article, article.id) for article in unknown if article.id not in story_ids]
        await self.join_stories(alone, now)
        story_ids.update((a.article.id, a.story_id) for a in alone)
        return story_ids

    async def _topic_ids(self) -> dict[str, int]:
        result = await self._connection.execute(select(topics.c.name, topics.c.id))
        return dict(result.all())

    async def _subscribers_by_topic(self) -> dict[int, list[int]]:
        statement = (
            select(subscriptions.c.topic_id, subscriptions.c.destination_id)
            .join(destinations, destinations.c.id == subscriptions.c.destination_id)
            # A paused destination (unreachable for now) still gets its alerts queued: they wait.
            .where(or_(destinations.c.enabled.is_(True), destinations.c.paused_reason.is_not(None)))
        )
        by_topic: dict[int, list[int]] = {}
        for topic_id, destination_id in await self._connection.execute(statement):
            by_topic.setdefault(topic_id, []).append(destination_id)
        return by_topic

    async def save_outlet_state(self, outlet_id: int, state: OutletState) -> None:
        await self._connection.execute(
            update(outlets).where(outlets.c.id == outlet_id).values(state_values(state))
        )

    async def save_outlet_states(self, states: Sequence[tuple[int, OutletState]]) -> None:
        if not states:
            return
        # One executemany: a cycle of 304s costs one statement, not a round trip per outlet.
        await self._connection.execute(
            update(outlets).where(outlets.c.id == bindparam("outlet_id")),
            [{"outlet_id": outlet_id, **state_values(state)} for outlet_id, state in states],
        )


class SqlArchive:
    """core.ports.Archive plus the outlet and article queries the CLI and bot need."""

    def __init__(self, engine: AsyncEngine, delivery_zone: tzinfo = UTC) -> None:
        self._engine = engine
        self._delivery_zone = delivery_zone

    @asynccontextmanager
    async def poll_transaction(self) -> AsyncIterator[SqlPollTransaction]:
        async with self._engine.begin() as connection:
            yield SqlPollTransaction(self._engine, connection, self._delivery_zone)

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

    async def watched_outlets(self) -> list[Outlet]:
        """Outlets not removed by an admin, deactivated ones included, by name."""
        statement = select(outlets).where(outlets.c.enabled.is_(True)).order_by(outlets.c.name)
        async with self._engine.connect() as connection:
            return [outlet_from_row(row) for row in (await connection.execute(statement)).mappings()]

    async def remove_outlet(self, name: str) -> Outlet | None:
        """Stop polling the outlet of that name (exact, else case-insensitive); None when none is watched.

        The row stays (disabled): its articles remain searchable and keep their identities, so
        adding the outlet again does not alert its old articles.
        """
        wanted = name.strip()
        found = [o for o in await self.watched_outlets() if o.name.casefold() == wanted.casefold()]
        outlet = next((o for o in found if o.name == wanted), found[0] if found else None)
        if outlet is None:
            return None
        async with self._engine.begin() as connection:
            await connection.execute(update(outlets).where(outlets.c.id == outlet.id).values(enabled=False))
        return outlet

    async def restore_outlet(self, url: str, now: datetime) -> Outlet | None:
        """Watch a removed outlet with this URL again; None when there is no removed one.

        Its next poll is a baseline, so what it published while removed does not flood the chats.
        """
        statement = (
            update(outlets)
            .where(outlets.c.url == url, outlets.c.enabled.is_(False))
            .values(
                enabled=True,
                is_baselined=False,
                next_poll_at=now,
                consecutive_failures=0,
                deactivated_at=None,
                deactivation_reason=None,
            )
            .returning(*outlets.c)
        )
        async with self._engine.begin() as connection:
            row = (await connection.execute(statement)).mappings().first()
        return outlet_from_row(row) if row is not None else None

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

    async def forget_story_bands(self, before: datetime) -> int:
        """Delete band keys older than the story window: they can no longer join anything."""
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(story_bands).where(story_bands.c.created_at < before))
            return int(result.rowcount)

    async def count_articles(self) -> int:
        async with self._engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(articles))).scalar_one())
