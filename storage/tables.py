"""Table definitions, shared by the repositories and the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every dialect (so SQLite compares correctly), read back as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC)


outlets = Table(
    "outlets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("etag", String(1024)),
    Column("last_modified", String(200)),
    Column("next_poll_at", UtcDateTime, index=True),
    Column("last_polled_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("is_baselined", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Health and pace (core.scheduling); a deactivated outlet is not polled until enabled again.
    Column("rate_per_hour", Float),
    Column("deactivated_at", UtcDateTime),
    Column("deactivation_reason", Text),
    # Outlet management (issue 6): an OPML folder, and CSS selectors for an HTML listing page.
    Column("group_name", String(200), nullable=False, default="", server_default=""),
    Column("selectors", JSON),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outlet_id", ForeignKey("outlets.id", ondelete="CASCADE"), nullable=False),
    # The outlet-scoped identity (GUID, else canonical link, else title hash): core.identity.article_key.
    Column("guid", String(2048), nullable=False),
    Column("canonical_url", String(2048), unique=True),
    Column("url", String(2048)),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("language", String(35)),
    Column("published_at", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False, index=True),
    UniqueConstraint("outlet_id", "guid"),
)

# A story's id is the id of the article that founded it, so a batch creates its stories without
# asking the database for ids.
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Each archived article's story and what clustering and revision checks compare it by.
article_stories = Table(
    "article_stories",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, index=True),
    # core.identity.content_fingerprint of the title and lead as first seen (NULL for old rows).
    Column("fingerprint", String(64)),
    # core.stories signature packed as little-endian uint32; NULL when the text is too short.
    Column("signature", LargeBinary),
    Column("created_at", UtcDateTime, nullable=False),
)

# LSH band keys of recent articles: a new article's keys find its candidate stories by index,
# in every worker process and after restarts.
story_bands = Table(
    "story_bands",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("band_key", String(24), nullable=False),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("story_id", ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Index("ix_story_bands_band_key_created_at", "band_key", "created_at"),
)

# Later versions of an article's title or lead: recorded, never alerted.
article_revisions = Table(
    "article_revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    UniqueConstraint("article_id", "fingerprint"),
)

topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("query", Text, nullable=False),
    Column("aliases", JSON, nullable=False, default=list),
    Column("created_at", UtcDateTime, nullable=False),
)

destinations = Table(
    "destinations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(20), nullable=False),
    Column("address", String(200), nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    # Nothing is claimed for the destination before this (platform flood control, the chat's pace).
    Column("held_until", UtcDateTime),
    # Why delivery found it unreachable and disabled it (blocked, removed); cleared when enabled again.
    Column("paused_reason", Text),
    # The delivery plan (core.digest.DeliveryPlan): digest off|hourly|daily and quiet hours, wall
    # clock times in [delivery] timezone.
    Column("digest_mode", String(10), nullable=False, default="off", server_default="off"),
    Column("digest_daily_at", Time),
    Column("quiet_start", Time),
    Column("quiet_end", Time),
    UniqueConstraint("platform", "address"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("destination_id", ForeignKey("destinations.id", ondelete="CASCADE"), nullable=False),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    Column("mode", String(20), nullable=False, default="instant"),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("destination_id", "topic_id"),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    Column("terms", JSON, nullable=False),
    Column("field", String(20), nullable=False),
    Column("snippet", Text, nullable=False),
    Column("highlights", JSON, nullable=False),
    UniqueConstraint("article_id", "topic_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("destination_id", ForeignKey("destinations.id", ondelete="CASCADE"), nullable=False),
    # pending -> sending (leased) -> sent; an expired lease makes the row due again. A failed send
    # goes back to pending; one to a paused destination waits there until it is enabled again.
    Column("state", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    # The platform's message id ("<chat_id>:<message_id>" on Telegram): a reply to an alert finds it.
    Column("sent_ref", String(200), index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    # One alert per story and destination: later outlets of the story update it, never add one.
    Column("story_id", ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    # Set when a sent alert should be edited to show a later outlet ("also in"); while an edit is
    # in flight it holds the edit's lease, so a crashed editor's edit comes due again.
    Column("edit_due_at", UtcDateTime, index=True),
    # Held for a digest (the destination's plan): goes out with the others due at next_attempt_at
    # in one message, never on its own and never edited.
    Column("digest", Boolean, nullable=False, default=False, server_default=false()),
    UniqueConstraint("article_id", "destination_id"),
    UniqueConstraint("story_id", "destination_id"),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_destination_state", "destination_id", "state"),
)

# Newest first means by publication time, else first seen: one index serves search order and `since`.
Index(
    "ix_articles_sort_time",
    func.coalesce(articles.c.published_at, articles.c.first_seen_at),
    articles.c.id,
)

# Articles whose search entry is stale, queued by triggers on `articles` (insert, change of title
# or summary, delete); storage.search folds their text and rewrites the entry. The entries live in
# `article_search`, which is engine-specific (an FTS5 table on SQLite, a tsvector column with a
# GIN index on PostgreSQL) and so is created by migration 0005_search only.
search_queue = Table(
    "search_queue",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, nullable=False),
)

# Articles sent to the editors' desk (chat commands `forward` and the To editors button): one per
# article, so a second journalist forwarding the same item is told instead of posting it again.
forwards = Table(
    "forwards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("forwarded_by", String(200), nullable=False),
    Column("from_chat", String(200), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)
