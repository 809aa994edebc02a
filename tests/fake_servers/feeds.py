"""A fake outlet server: serves scripted documents on 127.0.0.1, honours ETags, records requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    charset: str | None = None
    etag: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0  # seconds between single bytes of the body: a server stalling us on purpose
    stream: Callable[[], AsyncIterator[bytes]] | None = None  # a body generated while it is sent


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    guid: str | None = None
    description: str = ""
    published: datetime | None = None


def rss(entries: list[Entry], title: str = "Fake outlet", language: str = "en") -> bytes:
    """An RSS 2.0 document with the given entries."""
    items = []
    for entry in entries:
        published = entry.published or datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        guid = f"<guid isPermaLink='false'>{escape(entry.guid)}</guid>" if entry.guid else ""
        items.append(
            f"<item><title>{escape(entry.title)}</title><link>{escape(entry.link)}</link>{guid}"
            f"<description>{escape(entry.description)}</description>"
            f"<pubDate>{format_datetime(published)}</pubDate></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://example.org/</link><language>{language}</language>{''.join(items)}</channel></rss>"
    ).encode()


def news_entry(number: int, title: str, minutes_ago: int = 0) -> Entry:
    return Entry(
        title=title,
        link=f"https://example.org/news/{number}",
        guid=f"example-{number}",
        description=f"Report number {number}: {title}.",
        published=datetime(2026, 11, 26, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago),
    )


class FeedServer:
    """Start with `async with FeedServer() as server`; `server.url("/path")` gives a loopback URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    def serve(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.headers)))
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
            if request.headers.get("If-None-Match") == route.etag:
                return web.Response(status=304, headers=headers)
        if route.trickle or route.stream:
            return await self._stream(request, route, headers)
        return web.Response(
            status=route.status,
            body=route.body,
            content_type=route.content_type,
            charset=route.charset,
            headers=headers,
        )

    async def _stream(
        self, request: web.Request, route: Route, headers: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=route.status, headers=headers)
        response.content_type = route.content_type
        await response.prepare(request)
        try:
            if route.stream is not None:
                async for chunk in route.stream():
                    await response.write(chunk)
            for index in range(len(route.body)):
                await response.write(route.body[index : index + 1])
                await asyncio.sleep(route.trickle)
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client gave up, as it should
        return response
