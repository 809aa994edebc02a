"""The outlet watcher: fetch an outlet, parse what came back, and say what happened as a value."""

from __future__ import annotations

from datetime import UTC, datetime

from core.models import Failed, FetchOutcome, Modified, NotModified, Outlet, Validators
from watchers.fetch import Fetcher, FetchError
from watchers.freshness import feed_ttl
from watchers.parse import ParseError, charset_of
from watchers.workers import FeedParser, ThreadParser


class FeedWatcher:
    """core.ports.Watcher for RSS, Atom and JSON Feed outlets."""

    def __init__(self, fetcher: Fetcher, parser: FeedParser | None = None) -> None:
        self._fetcher = fetcher
        self._parser = parser or ThreadParser()

    async def fetch(self, outlet: Outlet) -> FetchOutcome:
        response = await self._fetcher.get(outlet.url, outlet.state.validators)
        if isinstance(response, FetchError):
            return Failed(response.reason)
        if response.is_rate_limited():
            return Failed(
                f"HTTP {response.status}: the outlet asks us to slow down",
                response.retry_after(datetime.now(UTC)),
            )
        if not response.is_ok() and response.status != 304:
            return Failed(f"HTTP {response.status}")
        now = datetime.now(UTC)
        if response.is_not_modified():
            # Never parsed: an unchanged outlet costs a request and nothing more.
            validators = response.validators if response.status != 304 else outlet.state.validators
            return NotModified(validators, response.max_age(now))
        # Parsing is CPU work, and hostile input; it runs in a worker with a time limit.
        parsed = await self._parser.parse(response.body, charset_of(response.headers.get("content-type", "")))
        if isinstance(parsed, ParseError):
            return Failed(parsed.reason)
        return Modified(parsed.items, response.validators, response.max_age(now), feed_ttl(response.body))


def refreshed(old: Validators, new: Validators) -> Validators:
    """A 304 may omit validators it does not change; keep the old ones then."""
    return Validators(new.etag or old.etag, new.last_modified or old.last_modified)
