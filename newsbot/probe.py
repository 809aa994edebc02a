"""Saying what a URL someone wants watched is: the guard, detection and one poll, for the CLI and chat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from core.models import (
    Failed,
    FetchOutcome,
    Modified,
    Outlet,
    OutletFound,
    OutletKind,
    OutletRefused,
    PageSelectors,
    ProbeResult,
)
from watchers.detect import Identified, Unidentified, identify_outlet
from watchers.fetch import Fetcher, FetchPolicy
from watchers.guard import refusal_reason
from watchers.watcher import OutletWatcher
from watchers.workers import ParserPool


@dataclass(frozen=True, slots=True)
class Probed:
    identified: Identified
    items: int  # what one poll reads from it now


class FetchingProbe:
    """core.ports.OutletProbe (the `addoutlet` chat command) and `newsbot outlets check`: one set of rules."""

    def __init__(self, policy: FetchPolicy, parsers: Callable[[], ParserPool]) -> None:
        self._policy = policy
        self._parsers = parsers

    async def identify(
        self, url: str, kind: OutletKind | None, selectors: PageSelectors
    ) -> Probed | OutletRefused:
        """What `url` is and how many items a poll reads from it now, or why it cannot be watched."""
        if not url.startswith("@") and (reason := refusal_reason(url, self._policy.allow_private_networks)):
            return OutletRefused(f"refused: {reason}")
        # The URL is user-supplied: everything it serves is parsed in workers with a time limit.
        async with Fetcher(self._policy) as fetcher, self._parsers() as parsers:
            identified = await identify_outlet(fetcher, parsers, url, kind)
            if isinstance(identified, Unidentified):
                return OutletRefused(f"{url}: {identified.reason}")
            if identified.kind is OutletKind.PAGE and not selectors.is_empty():
                identified = replace(identified, parser="page-selectors")
            # One poll through the same watcher `run` uses: what it reads now is what it will read.
            outlet = Outlet(
                0,
                identified.title,
                identified.url,
                identified.kind,
                timedelta(minutes=5),
                selectors=selectors,
            )
            outcome: FetchOutcome = await OutletWatcher(fetcher, parsers).fetch(outlet)
        if isinstance(outcome, Failed):
            return OutletRefused(f"{identified.url}: {outcome.reason}")
        return Probed(identified, len(outcome.items) if isinstance(outcome, Modified) else 0)

    async def probe(self, url: str) -> ProbeResult:
        probed = await self.identify(url, None, PageSelectors())
        if isinstance(probed, OutletRefused):
            return probed
        found = probed.identified
        name = found.title or urlsplit(found.url).hostname or found.url
        return OutletFound(found.url, found.kind, name, probed.items, found.note)
