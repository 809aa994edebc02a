"""The outlet watcher: fetch an outlet, parse what came back, and say what happened as a value."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from core.models import Failed, FeedItem, FetchOutcome, Modified, NotModified, Outlet, OutletKind, Validators
from watchers.fetch import Fetcher, FetchError, Response
from watchers.freshness import feed_ttl
from watchers.parse import ParsedFeed, ParseError, charset_of
from watchers.sitemap import SitemapIndex
from watchers.telegram_channel import channel_in_path, preview_url
from watchers.workers import DocumentParser, Reader, Reading, reason_of

# A sitemap index can list thousands of children; today's articles are in the newest few.
SITEMAP_CHILDREN = 3


class FeedWatcher:
    """core.ports.Watcher for RSS, Atom and JSON Feed outlets."""

    def __init__(self, fetcher: Fetcher, parser: DocumentParser) -> None:
        self._fetcher = fetcher
        self._parser = parser

    async def fetch(self, outlet: Outlet) -> FetchOutcome:
        response = await self._fetcher.get(outlet.url, outlet.state.validators)
        if isinstance(response, FetchError):
            return Failed(response.reason)
        # Never parsed when unchanged: an unchanged outlet costs a request and nothing more.
        unread = unread_outcome(response, outlet)
        if unread is not None:
            return unread
        # Parsing is CPU work, and hostile input; it runs in a worker with a time limit.
        charset = charset_of(response.headers.get("content-type", ""))
        parsed = await self._parser.parse(response.body, Reading(charset=charset))
        if not isinstance(parsed, ParsedFeed):
            return Failed(reason_of(parsed))
        max_age = response.max_age(datetime.now(UTC))
        return Modified(parsed.items, response.validators, max_age, feed_ttl(response.body))


def refreshed(old: Validators, new: Validators) -> Validators:
    """A 304 may omit validators it does not change; keep the old ones then."""
    return Validators(new.etag or old.etag, new.last_modified or old.last_modified)


class OutletWatcher:
    """core.ports.Watcher for every kind of outlet: feeds go to the feed watcher, the rest are read here.

    Every kind is parsed by `parser` (in production a ParserPool: worker processes with a time limit).
    """

    def __init__(self, fetcher: Fetcher, parser: DocumentParser) -> None:
        self._fetcher = fetcher
        self._parser = parser
        self._feeds = FeedWatcher(fetcher, parser)

    async def fetch(self, outlet: Outlet) -> FetchOutcome:
        if outlet.kind is OutletKind.FEED:
            return await self._feeds.fetch(outlet)
        url = outlet.url
        if outlet.kind is OutletKind.TELEGRAM:
            url = preview_url(outlet.url) or outlet.url
        response = await self._fetcher.get(url, outlet.state.validators)
        if isinstance(response, FetchError):
            return Failed(response.reason)
        unread = unread_outcome(response, outlet)
        if unread is not None:
            return unread
        parsed = await self._parser.parse(response.body, reading_for(outlet, response.url))
        if isinstance(parsed, SitemapIndex):
            return await self._read_children(parsed, response)
        if isinstance(parsed, ParseError):
            return Failed(parsed.reason)
        return Modified(parsed.items, response.validators, response.max_age(datetime.now(UTC)))

    async def _read_children(self, index: SitemapIndex, response: Response) -> FetchOutcome:
        """Items of the newest child sitemaps; a child that fails is skipped unless all do."""
        items: list[FeedItem] = []
        problems: list[str] = []
        for child in index.newest(SITEMAP_CHILDREN):
            fetched = await self._fetcher.get(child.url)
            if isinstance(fetched, FetchError) or not fetched.is_ok():
                problems.append(
                    fetched.reason if isinstance(fetched, FetchError) else f"HTTP {fetched.status}"
                )
                continue
            parsed = await self._parser.parse(fetched.body, Reading(Reader.SITEMAP))
            if isinstance(parsed, ParsedFeed):
                items += parsed.items
            else:
                # An index of indexes is not followed further: one level keeps a poll bounded.
                problems.append(parsed.reason if isinstance(parsed, ParseError) else "a nested sitemap index")
        if problems and not items:
            return Failed(f"sitemap index: no child sitemap could be read ({problems[0]})")
        return Modified(tuple(items), response.validators)


def unread_outcome(response: Response, outlet: Outlet) -> FetchOutcome | None:
    """The outcome when there is no body to parse (an HTTP error, a rate limit, not modified), else None."""
    if response.is_rate_limited():
        return Failed(
            f"HTTP {response.status}: the outlet asks us to slow down",
            response.retry_after(datetime.now(UTC)),
        )
    if not response.is_ok() and response.status != 304:
        return Failed(f"HTTP {response.status}")
    if response.is_not_modified():
        validators = refreshed(outlet.state.validators, response.validators)
        return NotModified(validators, response.max_age(datetime.now(UTC)))
    return None


def reading_for(outlet: Outlet, final_url: str) -> Reading:
    """How to parse what an outlet that is not a feed sent from `final_url` (after redirects)."""
    if outlet.kind is OutletKind.PAGE:
        return Reading(Reader.PAGE, base_url=final_url, selectors=outlet.selectors)
    if outlet.kind is OutletKind.SITEMAP:
        return Reading(Reader.SITEMAP)
    channel = channel_in_path(urlsplit(preview_url(outlet.url) or outlet.url).path) or outlet.name
    return Reading(Reader.TELEGRAM, base_url=final_url, channel=channel)
