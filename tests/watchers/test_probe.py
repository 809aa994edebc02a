"""The outlet probe behind chat `addoutlet`, against a loopback feed server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.models import OutletFound, OutletKind, OutletRefused
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.fake_servers.outlet_pages import html
from watchers.fetch import Fetcher, FetchPolicy
from watchers.probe import OutletProber
from watchers.workers import ThreadParser

LOOPBACK = FetchPolicy(allow_private_networks=True, timeout=timedelta(seconds=5))


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


async def probe(url: str, allow_private_networks: bool = True) -> object:
    async with Fetcher(FetchPolicy(allow_private_networks, timeout=timedelta(seconds=5))) as fetcher:
        return await OutletProber(fetcher, ThreadParser(), allow_private_networks).probe(url)


async def test_a_feed_is_found_with_its_title_and_items(server: FeedServer) -> None:
    entries = [news_entry(n, f"CSTO story {n}") for n in range(3)]
    url = server.serve("/rss", Route(rss(entries, title="Tengrinews")))
    assert await probe(url) == OutletFound(url, OutletKind.FEED, "Tengrinews", 3)


async def test_a_page_announcing_a_feed_is_probed_through_the_feed(server: FeedServer) -> None:
    feed = server.serve("/feed/", Route(rss([news_entry(1, "CSTO drills")], title="Vlast.kz")))
    page = server.serve(
        "/news/",
        html(b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed/"></head></html>'),
    )
    found = await probe(page)
    assert isinstance(found, OutletFound)
    assert (found.url, found.kind, found.items) == (feed, OutletKind.FEED, 1)
    assert found.note


async def test_loopback_missing_and_non_news_urls_are_refused_with_a_reason(server: FeedServer) -> None:
    url = server.serve("/rss", Route(rss([news_entry(1, "One")])))
    refused = await probe(url, allow_private_networks=False)
    assert isinstance(refused, OutletRefused)
    assert "loopback" in refused.reason
    missing = await probe(server.url("/nothing"))
    assert isinstance(missing, OutletRefused)
    assert "404" in missing.reason
    text = await probe(server.serve("/text", Route(b"just text", content_type="text/plain")))
    assert isinstance(text, OutletRefused)
    ftp = await probe("ftp://example.org/feed")
    assert isinstance(ftp, OutletRefused)
    assert ftp.reason.startswith("refused: ")
