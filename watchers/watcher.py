"""The outlet watcher: fetch an outlet, parse what came back, and say what happened as a value."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from core.models import Failed, FetchOutcome, Modified, NotModified, Outlet, Validators
from watchers.fetch import Fetcher, FetchError
from watchers.freshness import cache_lifetime, feed_ttl
from watchers.parse import ParseError, parse_feed


class FeedWatcher:
    """core.ports.Watcher for RSS, Atom and JSON Feed outlets."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

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
        max_age = cache_lifetime(response.headers, datetime.now(UTC))
        if response.is_not_modified():
            validators = response.validators if response.status != 304 else outlet.state.validators
            return NotModified(validators, max_age)
        # Parsing is CPU work; keep the event loop free for other outlets and the chat front-ends.
        parsed = await asyncio.get_running_loop().run_in_executor(None, parse_feed, response.body)
        if isinstance(parsed, ParseError):
            return Failed(parsed.reason)
        return Modified(parsed.items, response.validators, max_age, feed_ttl(response.body))


def refreshed(old: Validators, new: Validators) -> Validators:
    """A 304 may omit validators it does not change; keep the old ones then."""
    return Validators(new.etag or old.etag, new.last_modified or old.last_modified)
