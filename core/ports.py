"""Ports: the interfaces core's use cases drive; adapters in watchers/, storage/ and bot/ implement them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Protocol

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
