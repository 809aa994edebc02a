"""A fake chat platform on loopback that accepts every message, records each acceptance and can hold one open."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One message the platform accepted: the n-th overall, for which alert, from which sender process."""

    number: int
    destination: str
    alert_id: int
    article_id: int
    sender: int
    ref: str
    accepted_at: datetime


class RecorderServer:
    """Start with `async with RecorderServer() as server`; senders POST JSON to `server.url`.

    A message is accepted (recorded, given a ref) before the answer is written, as a real platform
    commits before replying. `hold(n, accept=True)` records the n-th message and keeps its answer back
    until `release()`, so a test can kill the sender between the platform's acceptance and the sender's
    own commit; `hold(n, accept=False)` keeps the n-th message waiting before it is accepted.
    """

    def __init__(self) -> None:
        self.accepted: list[Acceptance] = []
        self.holding = asyncio.Event()
        self._changed = asyncio.Condition()
        self._hold_at: int | None = None
        self._accept_held = True
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    async def __aenter__(self) -> RecorderServer:
        app = web.Application()
        app.router.add_post("/send", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    def hold(self, number: int, *, accept: bool) -> None:
        """Hold the `number`-th message, accepted or not yet; `holding` is set once it is held."""
        self._hold_at = number
        self._accept_held = accept
        self.holding.clear()
        self._released.clear()

    def release(self) -> None:
        self._hold_at = None
        self._released.set()

    async def wait_for_count(self, count: int) -> None:
        """Return once at least `count` messages have been accepted."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.accepted) >= count)

    async def _handle(self, request: web.Request) -> web.Response:
        message = await request.json()
        number = len(self.accepted) + 1
        if number == self._hold_at and not self._accept_held:
            self.holding.set()
            await self._released.wait()
            # Let go without accepting: to the sender (if it still listens) the platform was unavailable.
            return web.json_response({"ok": False}, status=503)
        async with self._changed:
            number = len(self.accepted) + 1
            acceptance = Acceptance(
                number=number,
                destination=str(message["destination"]),
                alert_id=int(message["alert"]),
                article_id=int(message["article"]),
                sender=int(message["sender"]),
                ref=f"m{number}",
                accepted_at=datetime.now(UTC),
            )
            self.accepted.append(acceptance)
            self._changed.notify_all()
        if number == self._hold_at:
            self.holding.set()
            await self._released.wait()
        return web.json_response({"ok": True, "ref": acceptance.ref})
