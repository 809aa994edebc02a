"""Every kind of document parsed in worker processes: the same result as in this process, within a time limit.

The limit is small here (0.5 s) and the pathological documents take seconds: the point is the limit.
"""

from __future__ import annotations

import asyncio
import errno
import gzip
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from core.models import Failed, Modified, Outlet, OutletKind, PageSelectors
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.fake_servers.outlet_pages import html, sample, serve_sitemap_index
from watchers.fetch import Fetcher, FetchPolicy
from watchers.parse import ParsedFeed, ParseError
from watchers.sitemap import ChildSitemap, SitemapIndex
from watchers.watcher import OutletWatcher
from watchers.workers import (
    FEED,
    ParserPool,
    Reader,
    Reading,
    Worker,
    decode_reading,
    decode_result,
    encode_reading,
    encode_result,
    read_document,
)

PARSE_TIMEOUT = timedelta(seconds=0.5)
TIMED_OUT = "parsing took longer than 0.5 s and was stopped"
# Big enough for the pathological documents; the fetch limits are not what these tests are about.
LOOPBACK = FetchPolicy(allow_private_networks=True, max_bytes=64 << 20, timeout=timedelta(seconds=30))
SECTION = "https://vlast.kz/novosti/"
NO_WORKER = ParseError("no parser worker could be started", "no_worker")
# Only a guard against a hang failing the run; not a timing assertion.
HANG_GUARD = 60.0
T = TypeVar("T")


def huge_page(links: int = 50_000) -> bytes:
    """A section page with tens of thousands of dated article links: seconds of work for the page reader."""
    items = "".join(
        f'<li><a href="/2026/11/{n % 28 + 1:02d}/events-in-the-region-number-{n}/">'
        f"Events in the region, number {n}</a></li>"
        for n in range(links)
    )
    return f"<html><head><title>Everything</title></head><body><ul>{items}</ul></body></html>".encode()


def huge_sitemap(urls: int = 200_000) -> bytes:
    """A gzipped sitemap: under a megabyte on the wire, tens of megabytes of XML once unpacked."""
    entries = "".join(
        f"<url><loc>https://example.org/2026/11/27/events-number-{n}/</loc>"
        "<lastmod>2026-11-27T10:00:00Z</lastmod></url>"
        for n in range(urls)
    )
    return gzip.compress(
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'.encode()
    )


CASES: list[tuple[bytes, Reading, type]] = [
    (
        rss([news_entry(1, "Новости Бишкека")]).decode().encode("cp1251"),
        Reading(charset="windows-1251"),
        ParsedFeed,
    ),
    (sample("section.html"), Reading(Reader.PAGE, base_url=SECTION), ParsedFeed),
    (
        sample("section.html"),
        Reading(Reader.PAGE, base_url=SECTION, selectors=PageSelectors(item="li.news-item", title="h3")),
        ParsedFeed,
    ),
    (sample("news_sitemap.xml"), Reading(Reader.SITEMAP), ParsedFeed),
    (sample("sitemap.xml"), Reading(Reader.SITEMAP), ParsedFeed),
    (
        sample("sitemap_index.xml").replace(b"{base}", b"https://timesca.com"),
        Reading(Reader.SITEMAP),
        SitemapIndex,
    ),
    (
        sample("telegram_channel.html"),
        Reading(Reader.TELEGRAM, base_url="https://t.me/s/ordakz", channel="ordakz"),
        ParsedFeed,
    ),
    (
        sample("telegram_private.html"),
        Reading(Reader.TELEGRAM, base_url="https://t.me/secret_kz", channel="secret_kz"),
        ParseError,
    ),
    (sample("section.html"), Reading(Reader.TEXT), ParsedFeed),
    (b"<p>not a feed</p>", FEED, ParseError),
]


@pytest.fixture
async def parsers() -> AsyncIterator[ParserPool]:
    async with ParserPool(workers=1, timeout=PARSE_TIMEOUT) as pool:
        yield pool


async def test_every_kind_parses_in_a_worker_as_it_does_in_process(parsers: ParserPool) -> None:
    in_process = [read_document(body, reading) for body, reading, _ in CASES]
    assert [type(result) for result in in_process] == [kind for _, _, kind in CASES]
    assert [await parsers.parse(body, reading) for body, reading, _ in CASES] == in_process


def test_requests_and_results_survive_the_trip_to_a_worker() -> None:
    for _, reading, _ in CASES:
        assert decode_reading(encode_reading(reading)) == reading
    index = SitemapIndex(
        (
            ChildSitemap("https://x.org/a.xml", datetime(2026, 11, 26, 7, 12, tzinfo=UTC)),
            ChildSitemap("https://x.org/b.xml"),
        )
    )
    assert decode_result(encode_result(index)) == index
    text = read_document(sample("section.html"), Reading(Reader.TEXT))
    assert decode_result(encode_result(text)) == text


@pytest.mark.parametrize(
    "data",
    [b"", b"{}", b'{"reader": "pickle", "charset": null, "base_url": "", "selectors": [], "channel": ""}'],
)
def test_a_malformed_request_is_refused(data: bytes) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        decode_reading(data)


@pytest.mark.parametrize(
    ("path", "route", "kind"),
    [
        ("/everything/", html(huge_page()), OutletKind.PAGE),
        (
            "/sitemap-everything.xml.gz",
            Route(huge_sitemap(), content_type="application/x-gzip"),
            OutletKind.SITEMAP,
        ),
    ],
)
async def test_a_pathological_document_is_stopped_and_its_worker_replaced(
    parsers: ParserPool, path: str, route: Route, kind: OutletKind
) -> None:
    async with FeedServer() as server, Fetcher(LOOPBACK) as fetcher:
        url = server.serve(path, route)
        healthy = server.serve("/novosti/", html(sample("section.html")))
        watcher = OutletWatcher(fetcher, parsers)
        await watcher.fetch(Outlet(2, "Healthy", healthy, OutletKind.PAGE, timedelta(minutes=5)))
        before = parsers.worker_pids
        outcome = await watcher.fetch(Outlet(1, "Hostile", url, kind, timedelta(minutes=5)))
        assert outcome == Failed(TIMED_OUT)
        assert parsers.worker_pids != before
        after = await watcher.fetch(Outlet(2, "Healthy", healthy, OutletKind.PAGE, timedelta(minutes=5)))
    assert isinstance(after, Modified)
    assert after.items


async def test_a_pathological_child_sitemap_fails_the_index_with_the_reason(parsers: ParserPool) -> None:
    async with FeedServer() as server, Fetcher(LOOPBACK) as fetcher:
        index_url = serve_sitemap_index(server)
        for month in ("09", "10", "11"):  # the three newest children
            server.serve(
                f"/sitemaps/posts-2026-{month}.xml", Route(huge_sitemap(), content_type="application/x-gzip")
            )
        outcome = await OutletWatcher(fetcher, parsers).fetch(
            Outlet(1, "Index", index_url, OutletKind.SITEMAP, timedelta(minutes=5))
        )
    assert outcome == Failed(f"sitemap index: no child sitemap could be read ({TIMED_OUT})")


class FlakyStartPool(ParserPool):
    """A pool whose workers cannot start while `failure` is set: fork refused, or not ready in time."""

    def __init__(self, failure: Exception | None, workers: int = 1) -> None:
        super().__init__(workers=workers, timeout=PARSE_TIMEOUT)
        self.failure = failure

    def start_worker(self) -> Worker:
        if self.failure is not None:
            raise self.failure
        return super().start_worker()


async def guarded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, HANG_GUARD)


def healthy_feed(title: str) -> bytes:
    return rss([news_entry(1, title)])


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.EAGAIN, "Resource temporarily unavailable"),
        RuntimeError("a parser worker did not start"),
    ],
)
async def test_a_worker_that_cannot_start_fails_that_parse_and_a_later_one_starts(failure: Exception) -> None:
    async with FlakyStartPool(failure) as pool:
        # More parses than the pool has workers: once, these waited forever on an empty pool.
        for _ in range(3):
            assert await guarded(pool.parse(healthy_feed("During the outage"))) == NO_WORKER
        assert pool.live_workers == 0
        pool.failure = None
        parsed = await guarded(pool.parse(healthy_feed("After the outage")))
        assert pool.live_workers == 1
    assert isinstance(parsed, ParsedFeed)
    assert parsed.items[0].title == "After the outage"


async def test_a_killed_worker_that_cannot_be_replaced_leaves_no_parse_waiting() -> None:
    async with FlakyStartPool(None) as pool:
        assert isinstance(await guarded(pool.parse(healthy_feed("Before"))), ParsedFeed)
        pool.failure = OSError(errno.EAGAIN, "Resource temporarily unavailable")
        # The hostile document holds the only worker; the healthy one waits for it to come back.
        hostile, waiting = await guarded(
            asyncio.gather(
                pool.parse(huge_page(), Reading(Reader.PAGE, base_url=SECTION)),
                pool.parse(healthy_feed("Queued behind the hostile one")),
            )
        )
        assert hostile == ParseError(TIMED_OUT, "timeout")
        assert waiting == NO_WORKER
        assert pool.live_workers == 0
        pool.failure = None
        again = await guarded(pool.parse(healthy_feed("After the outage")))
        assert pool.live_workers == 1
    assert isinstance(again, ParsedFeed)
    assert again.items[0].title == "After the outage"


async def test_an_idle_worker_is_used_before_a_slot_whose_worker_cannot_start() -> None:
    async with FlakyStartPool(None, workers=2) as pool:
        assert isinstance(await guarded(pool.parse(healthy_feed("Before"))), ParsedFeed)
        pool.failure = OSError(errno.EAGAIN, "Resource temporarily unavailable")
        for number in range(3):
            assert isinstance(await guarded(pool.parse(healthy_feed(f"Report {number}"))), ParsedFeed)
        assert pool.live_workers == 1
