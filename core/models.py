"""Frozen values of the news domain: outlets, articles, topics, matches, alerts and outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple


class OutletKind(StrEnum):
    FEED = "feed"
    PAGE = "page"
    SITEMAP = "sitemap"
    TELEGRAM = "telegram"


class Platform(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    SLACK = "slack"


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators an outlet answered with, sent back on the next conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class PageSelectors:
    """CSS selectors that read an HTML listing page; None means "find it by the defaults"."""

    item: str | None = None
    title: str | None = None
    link: str | None = None
    date: str | None = None

    def is_empty(self) -> bool:
        return not (self.item or self.title or self.link or self.date)


@dataclass(frozen=True, slots=True)
class OutletSpec:
    """An outlet as configured, before the archive has given it an id."""

    name: str
    url: str
    kind: OutletKind = OutletKind.FEED
    interval: timedelta = timedelta(minutes=5)
    group: str = ""
    selectors: PageSelectors = PageSelectors()


@dataclass(frozen=True, slots=True)
class OutletState:
    """What the archive remembers about polling one outlet."""

    validators: Validators = Validators()
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    is_baselined: bool = False
    # Health and pace (core.scheduling): new articles per hour, exponentially weighted; None until known.
    rate_per_hour: float | None = None
    deactivated_at: datetime | None = None
    deactivation_reason: str | None = None

    @property
    def is_deactivated(self) -> bool:
        """True when too many failures in a row stopped the polling until an admin enables it again."""
        return self.deactivated_at is not None

    @property
    def backoff_until(self) -> datetime | None:
        """When a failing outlet will be tried again; None when it is not failing."""
        return self.next_poll_at if self.consecutive_failures and not self.is_deactivated else None


@dataclass(frozen=True, slots=True)
class Outlet:
    id: int
    name: str
    url: str
    kind: OutletKind
    interval: timedelta
    state: OutletState = OutletState()
    group: str = ""
    selectors: PageSelectors = PageSelectors()


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry as a watcher read it from an outlet: plain text, nothing stored yet."""

    title: str
    url: str | None = None
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """An archived article: a feed item with its identity in the archive."""

    id: int
    outlet_id: int
    outlet_name: str
    title: str
    url: str | None
    summary: str
    published: datetime | None
    first_seen_at: datetime
    language: str | None = None
    story_id: int | None = None  # the cluster of near-duplicates it joined; None until clustered


@dataclass(frozen=True, slots=True)
class ArticleText:
    """The fields a watchlist looks at: `title:`, `body:`, `source:` and `lang:` scopes."""

    title: str
    body: str = ""
    source: str = ""
    lang: str = ""


@dataclass(frozen=True, slots=True)
class Topic:
    """A named watchlist: a query in the query language plus extra spellings (aliases)."""

    name: str
    query: str
    aliases: tuple[str, ...] = ()


# Snippet and TopicMatch are named tuples, not frozen dataclasses: the matcher builds one of each
# for every match, and a frozen dataclass takes twice as long to build (each field is set through
# object.__setattr__), which was a tenth of matching time.
class Snippet(NamedTuple):
    """An excerpt of the original text; highlights are [start, end) offsets into `text`."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


class TopicMatch(NamedTuple):
    """Why an article matched a topic: the exact words that fired, where, and in what context."""

    topic: str
    terms: tuple[str, ...]
    field: str
    snippet: Snippet
    topic_id: int = 0  # the archive's id of the topic (buttons such as Mute need it); 0 before archiving


@dataclass(frozen=True, slots=True)
class Destination:
    id: int
    platform: Platform
    address: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """One article to tell one destination about, as claimed from the outbox."""

    id: int
    destination: Destination
    article: Article
    matches: tuple[TopicMatch, ...]
    also_in: tuple[str, ...] = ()
    attempts: int = 0
    ref: str = ""  # the platform's id of the message already sent, when this claim is an edit of it

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(match.topic for match in self.matches))

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(term for match in self.matches for term in match.terms))


# What a watcher returns: errors are values, never exceptions. The server's pacing hints ride along:
# `max_age` from Cache-Control max-age (less Age) or Expires, `ttl` from RSS <ttl>, `retry_after`
# from Retry-After on 429/503. core.scheduling never polls sooner than they ask, within caps.
@dataclass(frozen=True, slots=True)
class Modified:
    items: tuple[FeedItem, ...]
    validators: Validators = Validators()
    max_age: timedelta | None = None
    ttl: timedelta | None = None


@dataclass(frozen=True, slots=True)
class NotModified:
    validators: Validators = Validators()
    max_age: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    retry_after: timedelta | None = None


FetchOutcome = Modified | NotModified | Failed


# What a channel returns for one alert.
@dataclass(frozen=True, slots=True)
class Sent:
    ref: str = ""


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Try again after `after`; with `hold_destination`, nothing goes to that destination until then.

    A hold is what a platform's flood control (Telegram 429 `retry_after`) or the chat's own pace
    asks for: the destination's other alerts wait too, without a request, while other destinations go on.
    """

    after: timedelta
    reason: str = ""
    hold_destination: bool = False


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The destination cannot be reached (blocked, removed, gone): it is paused and its alerts wait."""

    reason: str


SendOutcome = Sent | RetryLater | Unreachable


@dataclass(frozen=True, slots=True)
class ArticleMatches:
    """A newly archived article and the topics it matched."""

    article: Article
    matches: tuple[TopicMatch, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class KnownTopic:
    """A topic as the archive holds it: its id (what buttons carry), name and query."""

    id: int
    name: str
    query: str


@dataclass(frozen=True, slots=True)
class Forward:
    """An article sent to the editors' desk: the alert as subscribers saw it, who sent it, and why."""

    alert: Alert
    forwarded_by: str
    from_chat: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ForwardRecord:
    """That an article went to the editors: by whom, from which chat, when (one per article)."""

    article_id: int
    forwarded_by: str
    from_chat: str
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class OutletFound:
    """What a probed URL turned out to be: the URL to poll, its kind, a name and the items read now."""

    url: str
    kind: OutletKind
    name: str
    items: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class OutletRefused:
    """Why a probed URL cannot be watched (refused by the fetch guard, unreachable, not a source)."""

    reason: str


ProbeResult = OutletFound | OutletRefused
