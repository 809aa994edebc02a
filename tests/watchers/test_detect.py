"""Kind detection from URL and content, feed discovery, and identifying an outlet against a loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.models import OutletKind
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.fake_servers.outlet_pages import (
    html,
    sample,
    serve_channel,
    serve_channel_without_preview,
)
from watchers.detect import (
    Identified,
    Unidentified,
    discover_feeds,
    identify_outlet,
    kind_from_content,
    kind_from_url,
)
from watchers.fetch import Fetcher, FetchPolicy
from watchers.workers import ThreadParser

LOOPBACK = FetchPolicy(allow_private_networks=True, timeout=timedelta(seconds=5))
JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}'


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://t.me/ordakz", OutletKind.TELEGRAM),
        ("https://t.me/s/ordakz", OutletKind.TELEGRAM),
        ("t.me/s/ordakz", OutletKind.TELEGRAM),
        ("@ordakz", OutletKind.TELEGRAM),
        ("https://t.me/joinchat/AbCd", OutletKind.TELEGRAM),  # reported as not watchable later
        ("https://www.inform.kz/sitemap-news.xml", OutletKind.SITEMAP),
        ("https://timesca.com/sitemap_index.xml", OutletKind.SITEMAP),
        ("https://example.org/sitemaps/sitemap.xml.gz", OutletKind.SITEMAP),
        ("https://tengrinews.kz/news.rss", None),
        ("https://vlast.kz/novosti/", None),
        ("https://example.org/t.me/ordakz", None),
    ],
)
def test_kind_from_url(url: str, kind: OutletKind | None) -> None:
    assert kind_from_url(url) is kind


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (rss([news_entry(1, "One")]), "application/rss+xml", OutletKind.FEED),
        (rss([]), "text/xml", OutletKind.FEED),
        (
            b'<?xml version="1.0"?>\n<!-- generator --><feed xmlns="http://www.w3.org/2005/Atom">',
            "",
            OutletKind.FEED,
        ),
        (b'\xef\xbb\xbf<?xml version="1.0"?><rdf:RDF xmlns:rdf="x">', "application/xml", OutletKind.FEED),
        (JSON_FEED, "application/json", OutletKind.FEED),
        (b'{"not": "a feed"}', "application/json", None),
        (sample("news_sitemap.xml"), "application/xml", OutletKind.SITEMAP),
        (sample("sitemap_index.xml"), "text/xml", OutletKind.SITEMAP),
        (sample("section.html"), "text/html", OutletKind.PAGE),
        (b"<!DOCTYPE html>\n<html><head>", "application/octet-stream", OutletKind.PAGE),
        (b"<div>fragment</div>", "text/html; charset=utf-8", OutletKind.PAGE),
        (b"just text", "text/plain", None),
        (b"<whatever/>", "application/atom+xml", OutletKind.FEED),
    ],
)
def test_kind_from_content(body: bytes, content_type: str, kind: OutletKind | None) -> None:
    assert kind_from_content(body, content_type) is kind


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (
            '<link rel="alternate" type="application/rss+xml" href="/rss.xml">',
            ("https://example.org/rss.xml",),
        ),
        (
            '<link rel="alternate" type="application/atom+xml" href="https://example.org/atom">',
            ("https://example.org/atom",),
        ),
        (
            '<link rel="alternate" type="application/feed+json" href="feed.json">',
            ("https://example.org/news/feed.json",),
        ),
        (
            '<link rel="Alternate Home" type="Application/RSS+XML; charset=utf-8" href="/a">',
            ("https://example.org/a",),
        ),
        (
            '<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">'
            '<link rel="alternate" type="application/rss+xml" title="Posts" href="/feed/">',
            ("https://example.org/feed/", "https://example.org/comments/feed/"),
        ),
        ('<link rel="stylesheet" type="text/css" href="/site.css">', ()),
        ('<link rel="alternate" hreflang="kk" href="/kz/">', ()),
        ('<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">', ()),
        (
            '<link rel="alternate" type="application/rss+xml" href="/rss">'
            '<link rel="alternate" type="application/rss+xml" href="/rss">',
            ("https://example.org/rss",),
        ),
    ],
)
def test_discover_feeds(head: str, found: tuple[str, ...]) -> None:
    page = f"<html><head><title>t</title>{head}</head><body></body></html>".encode()
    assert discover_feeds(page, "https://example.org/news/") == found


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


async def identify(url: str, kind: OutletKind | None = None) -> Identified | Unidentified:
    async with Fetcher(LOOPBACK) as fetcher:
        return await identify_outlet(fetcher, ThreadParser(), url, kind)


async def test_a_page_announcing_a_feed_is_watched_through_the_feed(server: FeedServer) -> None:
    feed = server.serve("/feed/", Route(rss([news_entry(1, "CSTO drills")], title="Vlast.kz")))
    page = server.serve(
        "/news/",
        html(
            b'<html><head><title>News</title><link rel="alternate" type="application/rss+xml" '
            b'href="/broken.rss"><link rel="alternate" type="application/rss+xml" href="/feed/">'
            b"</head><body></body></html>"
        ),
    )
    assert await identify(page) == Identified(
        OutletKind.FEED, feed, "Vlast.kz", note="announced by the page", parser="fastfeedparser"
    )
    # --kind page keeps the page itself, even though it announces a feed.
    forced = await identify(page, OutletKind.PAGE)
    assert isinstance(forced, Identified)
    assert (forced.kind, forced.url) == (OutletKind.PAGE, page)


async def test_each_kind_is_identified(server: FeedServer) -> None:
    page = server.serve("/novosti/", html(sample("section.html")))
    sitemap = server.serve("/news.xml", Route(sample("news_sitemap.xml"), content_type="application/xml"))
    channel = serve_channel(server, "ordakz", "telegram_channel.html")
    # On loopback the channel is not at t.me, so the kind is given; t.me URLs are detected (above).
    identified = [await identify(page), await identify(sitemap), await identify(channel, OutletKind.TELEGRAM)]
    assert [(i.kind, i.url) for i in identified if isinstance(i, Identified)] == [
        (OutletKind.PAGE, page),
        (OutletKind.SITEMAP, sitemap),
        (OutletKind.TELEGRAM, server.url("/s/ordakz")),
    ]


async def test_unidentifiable_urls_say_why(server: FeedServer) -> None:
    missing = serve_channel_without_preview(server, "no_such_channel_kz", "telegram_missing.html")
    text = server.serve("/notes.txt", Route(b"plain words", content_type="text/plain"))
    assert await identify(missing, OutletKind.TELEGRAM) == Unidentified(
        "Telegram channel @no_such_channel_kz does not exist or is private"
    )
    assert await identify(text) == Unidentified("not a feed, an HTML page, a sitemap or a Telegram channel")
    assert await identify(server.url("/gone")) == Unidentified("HTTP 404")
    async with Fetcher(FetchPolicy(allow_private_networks=False)) as guarded:
        refused = await identify_outlet(guarded, ThreadParser(), server.url("/notes.txt"))
    assert refused == Unidentified("refused: 127.0.0.1 is a loopback address")
    assert [path for path, _headers in server.requests].count("/notes.txt") == 1


async def test_invite_links_are_not_channels() -> None:
    result = await identify("https://t.me/joinchat/AbCdEfGh")
    assert isinstance(result, Unidentified)
    assert "invite links cannot be watched" in result.reason


def test_every_real_feed_in_the_corpora_is_detected_as_a_feed(corpora: Path) -> None:
    documents = [
        path
        for folder in ("feeds", "feedparser/wellformed", "feedparser/json")
        for path in sorted((corpora / folder).rglob("*"))
        if path.is_file() and path.name != "index.tsv"
    ]
    missed = [path for path in documents if kind_from_content(path.read_bytes()) is not OutletKind.FEED]
    assert len(documents) > 1900
    assert missed == []
