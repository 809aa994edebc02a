"""Probing a URL someone asks newsbot to watch (chat `addoutlet`): guard, detection and one trial poll.

The same path as `newsbot outlets add`: what the probe reads now is what polling will read.
"""

from __future__ import annotations

from datetime import timedelta

from core.models import Failed, Modified, Outlet, OutletFound, OutletRefused, ProbeResult
from watchers.detect import Unidentified, identify_outlet
from watchers.fetch import Fetcher
from watchers.guard import refusal_reason
from watchers.watcher import OutletWatcher
from watchers.workers import DocumentParser


class OutletProber:
    """core.ports.OutletProbe over the fetcher and parser newsbot polls with."""

    def __init__(self, fetcher: Fetcher, parser: DocumentParser, allow_private_networks: bool) -> None:
        self._fetcher = fetcher
        self._parser = parser
        self._allow_private_networks = allow_private_networks

    async def probe(self, url: str) -> ProbeResult:
        # "@name" is a Telegram channel handle, not a URL; detection turns it into the preview URL.
        if not url.startswith("@") and (reason := refusal_reason(url, self._allow_private_networks)):
            return OutletRefused(f"refused: {reason}")
        identified = await identify_outlet(self._fetcher, self._parser, url)
        if isinstance(identified, Unidentified):
            return OutletRefused(identified.reason)
        trial = Outlet(0, identified.title, identified.url, identified.kind, timedelta(minutes=5))
        outcome = await OutletWatcher(self._fetcher, self._parser).fetch(trial)
        if isinstance(outcome, Failed):
            return OutletRefused(outcome.reason)
        items = len(outcome.items) if isinstance(outcome, Modified) else 0
        return OutletFound(identified.url, identified.kind, identified.title, items, identified.note)
