"""Ports: the interfaces core's use cases drive; adapters in watchers/, storage/ and bot/ implement them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from core.digest import DeliveryPlan, DigestMode, QuietHours
from core.models import (
    Alert,
    Article,
    ArticleMatches,
    Destination,
    FeedItem,
    FetchOutcome,
    Forward,
    ForwardRecord,
    KnownTopic,
    Outlet,
    OutletSpec,
    OutletState,
    Platform,
    ProbeResult,
    SendOutcome,
    Topic,
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


@runtime_checkable
class DigestChannel(Channel, Protocol):
    """A channel that can send many alerts to one destination as one message (a digest)."""

    async def send_digest(self, destination: Destination, alerts: Sequence[Alert]) -> SendOutcome:
        """Send `alerts` (oldest first) together; the outcome stands for all of them."""
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

    async def save_outlet_states(self, states: Sequence[tuple[int, OutletState]]) -> None:
        """Save many outlets' states in one statement (the polls of a cycle that archived nothing)."""
        ...


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


class SentAlerts(Protocol):
    """Which article a sent chat message announced, so a reply to an alert can act on the article."""

    async def article_for_message(self, platform: Platform, ref: str) -> int | None:
        """The article of the alert sent as message `ref` (the Channel's `Sent.ref`); None otherwise."""
        ...


class Destinations(Protocol):
    """Where alerts go, as the chat platforms name them."""

    async def readdress(self, destination_id: int, address: str) -> Destination:
        """The platform renamed the destination (a Telegram group became a supergroup): use `address` now.

        Returns the destination alerts go to from now on; when `address` is already a destination of
        its own, that one, with the old one's subscriptions and queued alerts moved to it.
        """
        ...


class DigestOutbox(Protocol):
    """Alerts held for a digest (a destination's delivery plan), claimed together per destination."""

    async def claim_digests(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        """Due held alerts, at most `limit`, leased until `now + lease`; a destination's come together."""
        ...

    async def mark_digest_sent(self, alert_ids: Sequence[int], ref: str, now: datetime) -> None: ...

    async def reschedule_digest(self, alert_ids: Sequence[int], at: datetime, error: str) -> None: ...

    async def hold_destination(self, destination_id: int, until: datetime) -> None:
        """Claim nothing for the destination before `until` (a later hold never shortens an earlier one)."""
        ...

    async def pause_destination(self, destination_id: int, reason: str, now: datetime) -> None:
        """Claim nothing for the destination until it is enabled again; its alerts keep waiting."""
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


# ---- what the chat commands (bot.commands) drive ----


class Catalog(Protocol):
    """Topics, destinations (chats) and their subscriptions."""

    async def find_destination(self, platform: Platform, address: str) -> Destination | None: ...

    async def ensure_destination(
        self, platform: Platform, address: str, title: str, now: datetime
    ) -> Destination: ...

    async def set_enabled(self, destination_id: int, enabled: bool) -> None:
        """A disabled destination gets no new alerts queued (a chat that removed the bot)."""
        ...

    async def known_topics(self) -> list[KnownTopic]: ...

    async def topic_named(self, name: str) -> KnownTopic | None:
        """The topic of that name, compared case-insensitively."""
        ...

    async def topic_by_id(self, topic_id: int) -> KnownTopic | None: ...

    async def add_topic(self, topic: Topic, now: datetime) -> KnownTopic:
        """Create the topic, or return the one that already has its name."""
        ...

    async def subscribe_to(self, destination_id: int, topic_id: int, now: datetime) -> bool:
        """Subscribe; False when the destination already was."""
        ...

    async def unsubscribe_from(self, destination_id: int, topic_id: int) -> bool:
        """Unsubscribe; False when the destination was not subscribed."""
        ...

    async def subscriptions_of(self, destination_id: int) -> list[KnownTopic]: ...


class OutletRegistry(Protocol):
    """The outlets that are watched, as chat admins manage them (SPEC: outlets, addoutlet, removeoutlet)."""

    async def watched_outlets(self) -> list[Outlet]:
        """Outlets not removed (deactivated ones included, they need attention), by name."""
        ...

    async def add_outlet(self, spec: OutletSpec, now: datetime) -> Outlet | None:
        """Add an outlet unless one with the same name or URL exists; None when it did."""
        ...

    async def restore_outlet(self, url: str, now: datetime) -> Outlet | None:
        """Watch a removed outlet with this URL again; None when there is no removed one."""
        ...

    async def remove_outlet(self, name: str) -> Outlet | None:
        """Stop polling the outlet of that name (case-insensitive); its archive stays searchable."""
        ...


class ArticleViews(Protocol):
    """Archived articles as a chat sees them, and the archive's counts (summary, forward, trend, status)."""

    async def alert_view(self, article_id: int, destination: Destination) -> Alert | None:
        """The article as an alert to `destination` shows it (its matches, "also in"); None if unknown."""
        ...

    async def matches_per_day(self, topic_id: int, since: datetime) -> dict[date, int]:
        """How many articles matched the topic each UTC day (by publication, else first-seen time)."""
        ...

    async def count_by_state(self) -> dict[str, int]:
        """Outbox rows by state: pending, sending, sent, dead."""
        ...


class Forwards(Protocol):
    """Which articles went to the editors' desk; at most once per article."""

    async def claim_forward(self, record: ForwardRecord) -> ForwardRecord | None:
        """Record the forward; None when this call recorded it, else the earlier forward of the article."""
        ...

    async def release_forward(self, article_id: int) -> None:
        """Forget a forward whose posting failed, so that it can be sent again."""
        ...


class EditorsDesk(Protocol):
    """The editors' chat(s) or channel(s) where forwarded articles are posted."""

    async def post(self, forward: Forward) -> int:
        """Post to every desk; returns how many got it."""
        ...


class OutletProbe(Protocol):
    """Says what a URL is (the fetch guard and detection of `newsbot outlets add`), or why it is refused."""

    async def probe(self, url: str) -> ProbeResult: ...
