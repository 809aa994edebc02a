"""Ports: the interfaces core's use cases drive; adapters in watchers/, storage/ and bot/ implement them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from core.digest import DeliveryPlan, DigestMode, QuietHours
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
from core.stories import StoryAssignment, StoryCandidate

if TYPE_CHECKING:  # core.search imports this module for SearchIndex
    from core.search import Candidates, Cursor


class Watcher(Protocol):
    """Looks at one outlet; expected network and parse failures come back as `Failed`."""

    async def fetch(self, outlet: Outlet) -> FetchOutcome: ...


class Channel(Protocol):
    """Delivers one alert to one destination and says how it went."""

    async def send(self, destination: Destination, alert: Alert) -> SendOutcome: ...


@runtime_checkable
class EditableChannel(Channel, Protocol):
    """A channel whose platform can change a sent message (Telegram editMessageText, Slack chat.update)."""

    async def update(self, destination: Destination, ref: str, alert: Alert) -> SendOutcome:
        """Replace the message `ref` with `alert` rendered anew."""
        ...


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

    async def story_candidates(self, band_keys: Sequence[str], since: datetime) -> list[StoryCandidate]:
        """Articles archived since `since` that share a band key, with their stories and signatures."""
        ...

    async def join_stories(self, assignments: Sequence[StoryAssignment], now: datetime) -> None:
        """Record each new article's story (creating the stories new articles found) and band keys.

        When an article brings an outlet its story did not have, the story's alerts that were
        already sent are marked for an edit, so they come to show it under "also in".
        """
        ...

    async def save_outlet_state(self, outlet_id: int, state: OutletState) -> None: ...


class Archive(Protocol):
    def poll_transaction(self) -> AbstractAsyncContextManager[PollTransaction]: ...


class Outbox(Protocol):
    """Alerts waiting for delivery; claimed with a lease so a crashed sender's rows come back."""

    async def claim_due(
        self,
        now: datetime,
        platforms: Collection[Platform],
        limit: int,
        lease: timedelta,
        per_destination: int = 1,
    ) -> list[Alert]:
        """Lease up to `limit` due alerts, oldest first, at most `per_destination` for each destination.

        Destinations that are paused, held (until a time after `now`) or have an alert in flight
        under another live lease are skipped, so one chat's backlog never holds a lease it cannot use.
        """
        ...

    async def mark_sent(self, alert_id: int, ref: str, now: datetime) -> None: ...

    async def reschedule(self, alert_id: int, at: datetime, error: str) -> None: ...

    async def hold_destination(self, destination_id: int, until: datetime) -> None:
        """Claim nothing for the destination before `until` (a later hold never shortens an earlier one)."""
        ...

    async def requeue(
        self,
        alerts: Sequence[tuple[int, datetime, str]],
        holds: Mapping[int, datetime],
        pauses: Mapping[int, str],
        now: datetime,
    ) -> None:
        """What a delivery batch could not send, in one transaction: each (alert id, due again at, why)
        back to pending, destinations held until a time, and destinations paused for a reason."""
        ...

    async def claim_edits(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        """Sent alerts whose story gained an outlet, each with `ref` set; leased until `now + lease`."""
        ...

    async def finish_edit(self, alert_id: int, lease_until: datetime, error: str | None) -> None:
        """Clear the edit claimed with this lease, unless another outlet asked for a new one meanwhile."""
        ...

    async def reschedule_edit(self, alert_id: int, at: datetime, error: str) -> None: ...


class Destinations(Protocol):
    """Where alerts go, as the chat platforms name them."""

    async def readdress(self, destination_id: int, address: str) -> Destination:
        """The platform renamed the destination (a Telegram group became a supergroup): use `address` now.

        Returns the destination alerts go to from now on; when `address` is already a destination of
        its own, that one, with the old one's subscriptions and queued alerts moved to it.
        """
        ...


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


class DeliveryPlans(Protocol):
    """Each destination's digest mode and quiet hours (SPEC "Chat commands": digest, quiet)."""

    async def plan_of(self, destination_id: int) -> DeliveryPlan: ...

    async def set_digest(self, destination_id: int, mode: DigestMode, daily_at: time | None) -> None: ...

    async def set_quiet(self, destination_id: int, quiet: QuietHours | None) -> None: ...
