"""Ports: the interfaces core's use cases drive; adapters in watchers/, storage/ and bot/ implement them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from core.models import (
    Alert,
    Article,
    ArticleMatches,
    Destination,
    FeedItem,
    FetchOutcome,
    Outlet,
    OutletState,
    Platform,
    SendOutcome,
)

if TYPE_CHECKING:  # core.search imports this module for SearchIndex
    from core.search import Candidates, Cursor


class Watcher(Protocol):
    """Looks at one outlet; expected network and parse failures come back as `Failed`."""

    async def fetch(self, outlet: Outlet) -> FetchOutcome: ...


class Channel(Protocol):
    """Delivers one alert to one destination and says how it went."""

    async def send(self, destination: Destination, alert: Alert) -> SendOutcome: ...


class PollTransaction(Protocol):
    """What one poll writes, all in one database transaction."""

    async def add_unseen_articles(
        self, outlet: Outlet, items: Sequence[FeedItem], now: datetime
    ) -> list[Article]:
        """Archive items never seen before (by any identity) and return just those."""
        ...

    async def add_matches(self, found: Sequence[ArticleMatches], *, alert: bool, now: datetime) -> int:
        """Record matches; with `alert`, queue an outbox row per subscribed destination. Returns rows queued."""
        ...

    async def save_outlet_state(self, outlet_id: int, state: OutletState) -> None: ...


class Archive(Protocol):
    def poll_transaction(self) -> AbstractAsyncContextManager[PollTransaction]: ...


class Outbox(Protocol):
    """Alerts waiting for delivery; claimed with a lease so a crashed sender's rows come back."""

    async def claim_due(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]: ...

    async def mark_sent(self, alert_id: int, ref: str, now: datetime) -> None: ...

    async def reschedule(self, alert_id: int, at: datetime, error: str) -> None: ...

    async def mark_dead(self, alert_id: int, error: str, now: datetime) -> None: ...


class SearchIndex(Protocol):
    """The archive's full-text index: candidates for a query plan, newest first (core.search)."""

    async def refresh(self) -> None:
        """Index the articles added, changed or removed since the last refresh."""
        ...

    async def outlet_names(self) -> dict[int, str]: ...

    async def candidates(
        self, plan: Candidates | None, oldest: datetime | None, after: Cursor | None, limit: int
    ) -> list[Article]:
        """Articles the plan admits (all for None), newest first, strictly after the cursor."""
        ...

    async def topics_of(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]: ...

    async def also_in(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """The other outlets of each article's story."""
        ...

    async def clear_bodies(self, seen_before: datetime) -> int:
        """Empty the summaries of articles first seen before the time; returns how many."""
        ...
