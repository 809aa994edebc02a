"""In-memory fakes of core's ports that behave like the real adapters and record what was done to them."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import deque
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache
from itertools import islice

from core.digest import DeliveryPlan, DigestMode, QuietHours, release_at
from core.identity import article_key, canonical_url
from core.models import (
    Alert,
    Article,
    ArticleMatches,
    Destination,
    FeedItem,
    FetchOutcome,
    Forward,
    Outlet,
    OutletKind,
    OutletRefused,
    OutletState,
    Platform,
    ProbeResult,
    SendOutcome,
    Sent,
    TopicMatch,
)
from core.normalize import fold
from core.search import AllOf, AnyOf, Candidates, Cursor, FromOutlets, InLanguage, Phrase, sort_time
from core.stories import Signature, StoryAssignment, StoryCandidate

WatcherStep = FetchOutcome | Exception
ChannelStep = SendOutcome | Exception


class FakeWatcher:
    """core.ports.Watcher answering from a script keyed by outlet id or URL; records every fetch.

    Scripted steps are used in order and the last one repeats; an Exception step is raised.
    """

    def __init__(self) -> None:
        self._script: dict[int | str, deque[WatcherStep]] = {}
        self.fetched: list[Outlet] = []

    def script(self, key: int | str, *steps: WatcherStep) -> FakeWatcher:
        self._script.setdefault(key, deque()).extend(steps)
        return self

    async def fetch(self, outlet: Outlet) -> FetchOutcome:
        self.fetched.append(outlet)
        steps = self._script.get(outlet.id) or self._script.get(outlet.url)
        if not steps:
            raise LookupError(f"no outcome scripted for outlet {outlet.id} ({outlet.url})")
        step = steps.popleft() if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        return step

    def fetched_ids(self) -> list[int]:
        return [outlet.id for outlet in self.fetched]


@dataclass
class OutboxEntry:
    """One outbox row: an article to deliver to one destination, and how delivery went so far."""

    id: int
    article: Article
    destination: Destination
    matches: tuple[TopicMatch, ...]
    next_attempt_at: datetime
    story_id: int = 0
    state: str = "pending"
    attempts: int = 0
    lease_until: datetime | None = None
    last_error: str | None = None
    sent_ref: str | None = None
    sent_at: datetime | None = None
    edit_due_at: datetime | None = None
    edits: int = 0

    def is_due(self, now: datetime) -> bool:
        if self.state == "pending":
            return self.next_attempt_at <= now
        # A sender that died mid-send leaves its lease behind; once it expires the row is due again.
        return self.state == "sending" and self.lease_until is not None and self.lease_until <= now


def story_of(article: Article) -> int:
    """The article's story; an unclustered article stands for a story of its own (same id)."""
    return article.story_id if article.story_id is not None else article.id


class InMemoryOutbox:
    """core.ports.Outbox: unique per (story, destination), claimed with a lease, attempts counted."""

    def __init__(self) -> None:
        self._entries: dict[int, OutboxEntry] = {}
        self._story_outlets: dict[int, list[str]] = {}
        self.claimed_platforms: list[frozenset[Platform]] = []
        self.held: dict[int, datetime] = {}  # destination -> nothing claimed before this
        self.paused: dict[int, str] = {}  # destination -> why it was paused

    def add(
        self,
        article: Article,
        destination: Destination,
        matches: Sequence[TopicMatch],
        now: datetime,
    ) -> OutboxEntry | None:
        """Queue a row; None when this article's story is already queued for this destination."""
        story_id = story_of(article)
        if self.has(story_id, destination.id):
            return None
        entry = OutboxEntry(len(self._entries) + 1, article, destination, tuple(matches), now, story_id)
        self._entries[entry.id] = entry
        self._story_outlets.setdefault(story_id, [article.outlet_name])
        return entry

    def has(self, story_id: int, destination_id: int) -> bool:
        return any(
            e.story_id == story_id and e.destination.id == destination_id for e in self._entries.values()
        )

    def join_story(self, story_id: int, outlet_name: str, now: datetime) -> None:
        """A story gained an article: a new outlet asks for edits of the story's sent alerts."""
        names = self._story_outlets.setdefault(story_id, [])
        if outlet_name in names:
            return
        names.append(outlet_name)
        for entry in self._entries.values():
            is_due_later = entry.edit_due_at is not None and entry.edit_due_at > now
            if entry.story_id == story_id and entry.state in ("sent", "sending") and not is_due_later:
                entry.edit_due_at = now

    def _alert(self, entry: OutboxEntry, ref: str = "") -> Alert:
        others = tuple(
            n for n in self._story_outlets.get(entry.story_id, []) if n != entry.article.outlet_name
        )
        return Alert(entry.id, entry.destination, entry.article, entry.matches, others, entry.attempts, ref)

    def entry(self, alert_id: int) -> OutboxEntry:
        return self._entries[alert_id]

    @property
    def entries(self) -> list[OutboxEntry]:
        return list(self._entries.values())

    def count_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self._entries.values():
            counts[entry.state] = counts.get(entry.state, 0) + 1
        return counts

    async def claim_due(
        self,
        now: datetime,
        platforms: Collection[Platform],
        limit: int,
        lease: timedelta,
        per_destination: int = 1,
    ) -> list[Alert]:
        self.claimed_platforms.append(frozenset(platforms))
        in_flight = {
            e.destination.id
            for e in self._entries.values()
            if e.state == "sending" and e.lease_until is not None and e.lease_until > now
        }
        taken: dict[int, int] = {}
        candidates = []
        for entry in sorted(self._entries.values(), key=lambda e: e.id):
            destination_id = entry.destination.id
            if (
                not entry.is_due(now)
                or entry.destination.platform not in platforms
                or destination_id in self.paused
                or self.held.get(destination_id, now) > now
                or destination_id in in_flight
                or taken.get(destination_id, 0) >= per_destination
            ):
                continue
            taken[destination_id] = taken.get(destination_id, 0) + 1
            candidates.append(entry)
        due = sorted(candidates, key=lambda e: (e.next_attempt_at, e.id))[:limit]
        for entry in due:
            entry.state = "sending"
            entry.lease_until = now + lease
            entry.attempts += 1
        return [self._alert(entry) for entry in due]

    async def hold_destination(self, destination_id: int, until: datetime) -> None:
        self.held[destination_id] = max(until, self.held.get(destination_id, until))

    async def requeue(
        self,
        alerts: Sequence[tuple[int, datetime, str]],
        holds: Mapping[int, datetime],
        pauses: Mapping[int, str],
        now: datetime,
    ) -> None:
        for alert_id, at, error in alerts:
            await self.reschedule(alert_id, at, error)
        for destination_id, until in holds.items():
            await self.hold_destination(destination_id, until)
        self.paused.update(pauses)

    def enable(self, destination_id: int) -> None:
        """What an admin (or the chat coming back) does: the destination's queued alerts flow again."""
        self.paused.pop(destination_id, None)
        self.held.pop(destination_id, None)

    async def mark_sent(self, alert_id: int, ref: str, now: datetime) -> None:
        entry = self._entries[alert_id]
        entry.state, entry.sent_ref, entry.sent_at = "sent", ref, now
        entry.lease_until, entry.last_error = None, None

    async def reschedule(self, alert_id: int, at: datetime, error: str) -> None:
        entry = self._entries[alert_id]
        entry.state, entry.next_attempt_at, entry.lease_until, entry.last_error = "pending", at, None, error

    async def claim_edits(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        due = sorted(
            (
                e
                for e in self._entries.values()
                if e.state == "sent"
                and e.edit_due_at is not None
                and e.edit_due_at <= now
                and e.sent_ref is not None
                and e.destination.platform in platforms
            ),
            key=lambda e: (e.edit_due_at, e.id),
        )[:limit]
        for entry in due:
            entry.edit_due_at = now + lease
        return [self._alert(entry, entry.sent_ref or "") for entry in due]

    async def finish_edit(self, alert_id: int, lease_until: datetime, error: str | None) -> None:
        entry = self._entries[alert_id]
        if entry.edit_due_at == lease_until:
            entry.edit_due_at = None
            entry.edits += error is None
            if error is not None:
                entry.last_error = error

    async def reschedule_edit(self, alert_id: int, at: datetime, error: str) -> None:
        entry = self._entries[alert_id]
        entry.edit_due_at, entry.last_error = at, error


@dataclass
class _Tables:
    """Everything a poll transaction may change; copied at BEGIN, swapped in at COMMIT."""

    outlets: dict[int, Outlet] = field(default_factory=dict)
    articles: dict[int, Article] = field(default_factory=dict)
    keys: dict[tuple[int, str], int] = field(default_factory=dict)  # (outlet id, article_key) -> article
    links: dict[str, int] = field(default_factory=dict)  # canonical URL -> article, across outlets
    matches: dict[tuple[int, str], TopicMatch] = field(default_factory=dict)  # (article, topic)
    next_article_id: int = 1
    stories: dict[int, int] = field(default_factory=dict)  # article -> story
    signatures: dict[int, Signature] = field(default_factory=dict)  # article -> signature
    bands: dict[str, list[tuple[int, datetime]]] = field(default_factory=dict)  # key -> (article, when)

    def copy(self) -> _Tables:
        return _Tables(
            dict(self.outlets),
            dict(self.articles),
            dict(self.keys),
            dict(self.links),
            dict(self.matches),
            self.next_article_id,
            dict(self.stories),
            dict(self.signatures),
            {key: list(rows) for key, rows in self.bands.items()},
        )


class InMemoryPollTransaction:
    """core.ports.PollTransaction over a private copy of the archive's tables."""

    def __init__(self, archive: InMemoryArchive, tables: _Tables) -> None:
        self._archive = archive
        self.tables = tables
        self.queued: list[tuple[Article, Destination, tuple[TopicMatch, ...], datetime]] = []
        self.joined: list[tuple[int, str, datetime]] = []  # (story, outlet name, when)

    async def add_unseen_articles(
        self, outlet: Outlet, items: Sequence[FeedItem], now: datetime
    ) -> list[Article]:
        added: list[Article] = []
        for item in items:
            key = (outlet.id, article_key(item))
            link = canonical_url(item.url) if item.url else None
            if key in self.tables.keys or (link is not None and link in self.tables.links):
                continue
            article = Article(
                id=self.tables.next_article_id,
                outlet_id=outlet.id,
                outlet_name=outlet.name,
                title=item.title,
                url=item.url,
                summary=item.summary,
                published=item.published,
                first_seen_at=now,
                language=item.language,
            )
            self.tables.next_article_id += 1
            self.tables.articles[article.id] = article
            self.tables.keys[key] = article.id
            if link is not None:
                self.tables.links[link] = article.id
            added.append(article)
        return added

    async def story_candidates(self, band_keys: Sequence[str], since: datetime) -> list[StoryCandidate]:
        found = {
            article_id
            for key in band_keys
            for article_id, created_at in self.tables.bands.get(key, [])
            if created_at >= since
        }
        return [
            StoryCandidate(
                article_id,
                self.tables.stories[article_id],
                self.tables.signatures[article_id],
                self.tables.articles[article_id].outlet_id,
            )
            for article_id in sorted(found)
        ]

    async def join_stories(self, assignments: Sequence[StoryAssignment], now: datetime) -> None:
        for assignment in assignments:
            article_id = assignment.article.id
            self.tables.stories[article_id] = assignment.story_id
            if assignment.signature is not None:
                self.tables.signatures[article_id] = assignment.signature
            for key in assignment.band_keys:
                self.tables.bands.setdefault(key, []).append((article_id, now))
            self.joined.append((assignment.story_id, assignment.article.outlet_name, now))

    async def add_matches(self, found: Sequence[ArticleMatches], *, alert: bool, now: datetime) -> int:
        for entry in found:
            for match in entry.matches:
                self.tables.matches.setdefault((entry.article.id, match.topic), match)
        if not alert:
            return 0
        queued = 0
        for entry in found:
            for destination in self._archive.subscribers_of(match.topic for match in entry.matches):
                if self._is_queued(story_of(entry.article), destination.id):
                    continue
                wanted = self._archive.topics_of(destination)
                shown = tuple(m for m in entry.matches if m.topic in wanted)
                self.queued.append((entry.article, destination, shown, now))
                queued += 1
        return queued

    async def save_outlet_state(self, outlet_id: int, state: OutletState) -> None:
        if outlet_id in self._archive.broken_outlets:
            raise RuntimeError(f"database is locked (outlet {outlet_id})")
        self.tables.outlets[outlet_id] = replace(self.tables.outlets[outlet_id], state=state)

    async def save_outlet_states(self, states: Sequence[tuple[int, OutletState]]) -> None:
        for outlet_id, state in states:
            await self.save_outlet_state(outlet_id, state)

    def _is_queued(self, story_id: int, destination_id: int) -> bool:
        staged = any(story_of(a) == story_id and d.id == destination_id for a, d, _, _ in self.queued)
        return staged or self._archive.outbox.has(story_id, destination_id)


class InMemoryArchive:
    """core.ports.Archive whose poll transactions are serialised and all-or-nothing, like SQLite's."""

    def __init__(self, outbox: InMemoryOutbox | None = None) -> None:
        self.outbox = outbox if outbox is not None else InMemoryOutbox()
        self._tables = _Tables()
        self._lock = asyncio.Lock()
        self._subscriptions: dict[int, tuple[Destination, set[str]]] = {}
        self.broken_outlets: set[int] = set()
        self.commits = 0
        self.rollbacks = 0

    # ---- setting the scene ----

    def add_outlet(
        self,
        name: str,
        url: str,
        interval: timedelta = timedelta(minutes=5),
        state: OutletState | None = None,
    ) -> Outlet:
        outlet_id = len(self._tables.outlets) + 1
        outlet = Outlet(outlet_id, name, url, OutletKind.FEED, interval, state or OutletState())
        self._tables.outlets[outlet.id] = outlet
        return outlet

    def subscribe(self, destination: Destination, *topics: str) -> None:
        self._subscriptions.setdefault(destination.id, (destination, set()))[1].update(topics)

    def break_outlet(self, outlet_id: int) -> None:
        """Make saving this outlet's state fail, as a database error would, to test rollback."""
        self.broken_outlets.add(outlet_id)

    # ---- reading what happened ----

    def outlet(self, outlet_id: int) -> Outlet:
        return self._tables.outlets[outlet_id]

    @property
    def articles(self) -> list[Article]:
        return list(self._tables.articles.values())

    def titles(self) -> list[str]:
        return [article.title for article in self._tables.articles.values()]

    @property
    def matches(self) -> dict[tuple[int, str], TopicMatch]:
        return dict(self._tables.matches)

    def subscribers_of(self, topics: Iterable[str]) -> list[Destination]:
        wanted = set(topics)
        return [d for d, names in self._subscriptions.values() if names & wanted]

    def topics_of(self, destination: Destination) -> set[str]:
        return self._subscriptions.get(destination.id, (destination, set()))[1]

    # ---- core.ports.Archive ----

    @asynccontextmanager
    async def poll_transaction(self) -> AsyncIterator[InMemoryPollTransaction]:
        async with self._lock:
            tx = InMemoryPollTransaction(self, self._tables.copy())
            try:
                yield tx
            except BaseException:
                self.rollbacks += 1
                raise
            self._tables = tx.tables
            for story_id, outlet_name, joined_at in tx.joined:
                self.outbox.join_story(story_id, outlet_name, joined_at)
            for article, destination, shown, queued_at in tx.queued:
                self.outbox.add(article, destination, shown, queued_at)
            self.commits += 1


class RecordingChannel:
    """core.ports.Channel that answers with scripted outcomes (default Sent) and records each send."""

    def __init__(self, *steps: ChannelStep) -> None:
        self._script: deque[ChannelStep] = deque(steps)
        self.sent: list[tuple[Destination, Alert]] = []

    def then(self, *steps: ChannelStep) -> RecordingChannel:
        self._script.extend(steps)
        return self

    async def send(self, destination: Destination, alert: Alert) -> SendOutcome:
        self.sent.append((destination, alert))
        step = self._script.popleft() if self._script else Sent(f"{destination.address}/{alert.id}")
        if isinstance(step, Exception):
            raise step
        return step

    def alert_ids(self) -> list[int]:
        return [alert.id for _, alert in self.sent]


class EditingChannel(RecordingChannel):
    """core.ports.EditableChannel: a RecordingChannel whose platform can also edit a sent message."""

    def __init__(self, *steps: ChannelStep) -> None:
        super().__init__(*steps)
        self.edited: list[tuple[Destination, str, Alert]] = []
        self._edit_script: deque[ChannelStep] = deque()

    def then_edit(self, *steps: ChannelStep) -> EditingChannel:
        self._edit_script.extend(steps)
        return self

    async def update(self, destination: Destination, ref: str, alert: Alert) -> SendOutcome:
        self.edited.append((destination, ref, alert))
        step = self._edit_script.popleft() if self._edit_script else Sent(ref)
        if isinstance(step, Exception):
            raise step
        return step

    def shown(self) -> dict[str, tuple[str, ...]]:
        """What each sent message (by ref) shows under "also in" now, after every edit."""
        shown = {f"{d.address}/{a.id}": a.also_in for d, a in self.sent}
        shown.update({ref: alert.also_in for _, ref, alert in self.edited})
        return shown


class InMemorySearchIndex:
    """core.ports.SearchIndex over a list of articles, tokenised by core.normalize like the real index."""

    def __init__(
        self, articles: Iterable[Article] = (), topics: dict[int, tuple[str, ...]] | None = None
    ) -> None:
        self.articles: list[Article] = list(articles)
        self.topics = topics or {}
        self.refreshed = 0
        self.requested: list[int] = []  # the limit of every candidates() call

    async def refresh(self) -> None:
        self.refreshed += 1

    async def outlet_names(self) -> dict[int, str]:
        return {article.outlet_id: article.outlet_name for article in self.articles}

    async def candidates(
        self, plan: Candidates | None, oldest: datetime | None, after: Cursor | None, limit: int
    ) -> list[Article]:
        self.requested.append(limit)
        ordered = sorted(self.articles, key=lambda a: (sort_time(a), a.id), reverse=True)
        keys = [(sort_time(a), a.id) for a in reversed(ordered)]  # ascending, for bisect
        start = len(ordered) - bisect_left(keys, (after.time, after.article_id)) if after else 0
        found = (
            article
            for article in ordered[start:]
            if (plan is None or admits(plan, article)) and (oldest is None or sort_time(article) >= oldest)
        )
        return list(islice(found, limit))

    async def topics_of(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        return {i: self.topics[i] for i in article_ids if i in self.topics}

    async def also_in(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        return {}

    async def clear_bodies(self, seen_before: datetime) -> int:
        old = [a for a in self.articles if a.first_seen_at < seen_before and a.summary]
        self.articles = [replace(a, summary="") if a in old else a for a in self.articles]
        return len(old)


@cache
def _index_words(title: str, summary: str) -> tuple[str, ...]:
    return tuple(fold(f"{title} {summary}").split())


def admits(plan: Candidates, article: Article) -> bool:
    """Whether an index plan admits an article: the semantics the SQL renderings must have."""
    if isinstance(plan, FromOutlets):
        return article.outlet_id in plan.outlet_ids
    if isinstance(plan, InLanguage):
        return (article.language or "").casefold().startswith(plan.code)
    if isinstance(plan, AllOf):
        return all(admits(child, article) for child in plan.children)
    if isinstance(plan, AnyOf):
        return any(admits(child, article) for child in plan.children)
    words = _index_words(article.title, article.summary)
    tokens = plan.tokens if isinstance(plan, Phrase) else (plan,)
    return any(
        all(
            words[start + i] == token.text or (token.is_prefix and words[start + i].startswith(token.text))
            for i, token in enumerate(tokens)
        )
        for start in range(len(words) - len(tokens) + 1)
    )


class InMemoryDestinations:
    """core.ports.Destinations that keeps destinations by id and records every readdress."""

    def __init__(self, *known: Destination) -> None:
        self.known: dict[int, Destination] = {destination.id: destination for destination in known}
        self.readdressed: list[tuple[int, str]] = []

    async def readdress(self, destination_id: int, address: str) -> Destination:
        self.readdressed.append((destination_id, address))
        old = self.known.get(destination_id, Destination(destination_id, Platform.TELEGRAM, address))
        self.known[destination_id] = replace(old, address=address)
        return self.known[destination_id]


class VirtualClock:
    """A clock tests move by hand; pass the instance where a `Callable[[], datetime]` clock is wanted."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


class DigestingChannel(RecordingChannel):
    """core.ports.DigestChannel: a RecordingChannel that also takes digests, with their own script."""

    def __init__(self, *steps: ChannelStep) -> None:
        super().__init__(*steps)
        self.digests: list[tuple[Destination, tuple[Alert, ...]]] = []
        self._digest_script: deque[ChannelStep] = deque()

    def then_digest(self, *steps: ChannelStep) -> DigestingChannel:
        self._digest_script.extend(steps)
        return self

    async def send_digest(self, destination: Destination, alerts: Sequence[Alert]) -> SendOutcome:
        self.digests.append((destination, tuple(alerts)))
        step = self._digest_script.popleft() if self._digest_script else Sent(f"{destination.address}/d")
        if isinstance(step, Exception):
            raise step
        return step

    def digest_ids(self) -> list[list[int]]:
        return [[alert.id for alert in alerts] for _, alerts in self.digests]


@dataclass
class HeldAlert:
    """An outbox row held for a digest until `release`, and how its delivery went."""

    alert: Alert
    release: datetime
    state: str = "pending"
    attempts: int = 0
    lease_until: datetime | None = None
    sent_ref: str | None = None
    last_error: str | None = None

    def is_due(self, now: datetime) -> bool:
        if self.state == "pending":
            return self.release <= now
        return self.state == "sending" and self.lease_until is not None and self.lease_until <= now


class InMemoryDigestOutbox:
    """core.ports.DigestOutbox: alerts held by their destination's plan (core.digest.release_at)."""

    def __init__(self, zone: tzinfo = UTC) -> None:
        self._zone = zone
        self._held: dict[int, HeldAlert] = {}
        self.holds: dict[int, datetime] = {}  # destination id: claim nothing for it before
        self.paused: dict[int, str] = {}  # destination id: why nothing is claimed for it

    def queue(self, alert: Alert, plan: DeliveryPlan, now: datetime) -> bool:
        """Hold the alert if the plan says so, like the archive does when it queues; False if instant."""
        release = release_at(plan, now, self._zone)
        if release is not None:
            self._held[alert.id] = HeldAlert(alert, release)
        return release is not None

    def held(self, alert_id: int) -> HeldAlert:
        return self._held[alert_id]

    def states(self) -> dict[int, str]:
        return {alert_id: held.state for alert_id, held in self._held.items()}

    async def claim_digests(
        self, now: datetime, platforms: Collection[Platform], limit: int, lease: timedelta
    ) -> list[Alert]:
        due = sorted(
            (
                h
                for h in self._held.values()
                if h.is_due(now)
                and h.alert.destination.platform in platforms
                and h.alert.destination.id not in self.paused
                and self.holds.get(h.alert.destination.id, now) <= now
            ),
            key=lambda h: (h.release, h.alert.destination.id, h.alert.id),
        )[:limit]
        for held in due:
            held.state, held.lease_until, held.attempts = "sending", now + lease, held.attempts + 1
        return [replace(held.alert, attempts=held.attempts) for held in due]

    async def mark_digest_sent(self, alert_ids: Sequence[int], ref: str, now: datetime) -> None:
        for alert_id in alert_ids:
            held = self._held[alert_id]
            held.state, held.sent_ref, held.lease_until = "sent", ref, None

    async def reschedule_digest(self, alert_ids: Sequence[int], at: datetime, error: str) -> None:
        for alert_id in alert_ids:
            held = self._held[alert_id]
            held.state, held.release, held.lease_until, held.last_error = "pending", at, None, error

    async def hold_destination(self, destination_id: int, until: datetime) -> None:
        self.holds[destination_id] = max(until, self.holds.get(destination_id, until))

    async def pause_destination(self, destination_id: int, reason: str, now: datetime) -> None:
        self.paused[destination_id] = reason


class InMemoryDeliveryPlans:
    """core.ports.DeliveryPlans: each destination's plan, the default until set."""

    def __init__(self) -> None:
        self.plans: dict[int, DeliveryPlan] = {}

    async def plan_of(self, destination_id: int) -> DeliveryPlan:
        return self.plans.get(destination_id, DeliveryPlan())

    async def set_digest(self, destination_id: int, mode: DigestMode, daily_at: time | None) -> None:
        plan = self.plans.get(destination_id, DeliveryPlan())
        self.plans[destination_id] = replace(plan, digest=mode, daily_at=daily_at)

    async def set_quiet(self, destination_id: int, quiet: QuietHours | None) -> None:
        plan = self.plans.get(destination_id, DeliveryPlan())
        self.plans[destination_id] = replace(plan, quiet=quiet)


class RecordingDesk:
    """core.ports.EditorsDesk: records what was posted; `desks` of them get each post (0: all fail)."""

    def __init__(self, desks: int = 1, error: Exception | None = None) -> None:
        self.desks = desks
        self.error = error
        self.posted: list[Forward] = []

    async def post(self, forward: Forward) -> int:
        if self.error is not None:
            raise self.error
        if self.desks:
            self.posted.append(forward)
        return self.desks


class FakeOutletProbe:
    """core.ports.OutletProbe answering from a table of URLs; unknown URLs are refused."""

    def __init__(self, results: dict[str, ProbeResult] | None = None) -> None:
        self.results = dict(results or {})
        self.probed: list[str] = []

    async def probe(self, url: str) -> ProbeResult:
        self.probed.append(url)
        return self.results.get(url, OutletRefused("no feed or article list found there"))
