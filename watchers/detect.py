"""Outlet kind detection: what a URL is (feed, page, sitemap, Telegram channel), and feeds a page announces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import ParserError

from core.models import OutletKind
from watchers.fetch import Fetcher, FetchError, Response
from watchers.parse import ParsedFeed, ParseError, plain_text
from watchers.telegram_channel import channel_in_path, is_telegram_url, preview_url
from watchers.workers import FEED, DocumentParser, Reader, Reading, reason_of

SNIFF_BYTES = 4096
MAX_DISCOVERED = 3
# Feed autodiscovery: https://www.rssboard.org/rss-autodiscovery and JSON Feed 1.1 §"Discovery".
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")
SITEMAP_NAME = re.compile(r"sitemap[\w.-]*\.xml(\.gz)?$", re.IGNORECASE)
PROLOGUE = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>", re.IGNORECASE | re.DOTALL)
FIRST_TAG = re.compile(rb"<([A-Za-z][\w:.-]*)")
# By local name, so a prefixed root (<r:rss>, <rdf:RDF>) counts too; <CHANNEL> is Microsoft's CDF.
FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf", b"channel"})
SITEMAP_ROOTS = frozenset({b"urlset", b"sitemapindex"})


@dataclass(frozen=True, slots=True)
class Identified:
    """What to poll for a URL someone gave: the kind, the address to poll, and a name for it."""

    kind: OutletKind
    url: str
    title: str
    note: str = ""
    parser: str = ""


@dataclass(frozen=True, slots=True)
class Unidentified:
    reason: str


def kind_from_url(url: str) -> OutletKind | None:
    """The kind a URL's shape tells alone: t.me links are channels, sitemap*.xml are sitemaps."""
    if is_telegram_url(url):
        return OutletKind.TELEGRAM
    if SITEMAP_NAME.search(urlsplit(url).path):
        return OutletKind.SITEMAP
    return None


def kind_from_content(body: bytes, content_type: str = "") -> OutletKind | None:
    """The kind the document's first element (or, failing that, its Content-Type) says it is."""
    head = body[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"{"):
        return OutletKind.FEED if b"jsonfeed.org/version" in head else None
    tag = FIRST_TAG.search(PROLOGUE.sub(b"", head))
    root = tag[1].lower().rsplit(b":", 1)[-1] if tag else b""
    if root in FEED_ROOTS:
        return OutletKind.FEED
    if root in SITEMAP_ROOTS:
        return OutletKind.SITEMAP
    if root in (b"html", b"head", b"body") or "html" in content_type.lower():
        return OutletKind.PAGE
    if any(kind in content_type.lower() for kind in ("rss", "atom", "feed+json")):
        return OutletKind.FEED
    return None


def discover_feeds(body: bytes, base_url: str) -> tuple[str, ...]:
    """Feeds a page names in `<link rel="alternate" type="application/rss+xml" href=…>`, in page order.

    Comment feeds (WordPress lists one next to the posts feed) come last.
    """
    try:
        document = lxml.html.document_fromstring(body)
    except (ParserError, ValueError):
        return ()
    found: list[tuple[bool, str]] = []
    for link in document.iterfind(".//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = urljoin(base_url, (link.get("href") or "").strip())
        if urlsplit(url).scheme in ("http", "https") and url not in (u for _, u in found):
            found.append(("comment" in (link.get("title") or "").lower(), url))
    return tuple(url for _, url in sorted(found, key=lambda entry: entry[0]))


def page_title(body: bytes) -> str:
    try:
        return plain_text(lxml.html.document_fromstring(body).findtext(".//title") or "")
    except (ParserError, ValueError):
        return ""


async def identify_outlet(
    fetcher: Fetcher, parser: DocumentParser, url: str, kind: OutletKind | None = None
) -> Identified | Unidentified:
    """Fetch `url` and say what it is; a page that announces a feed is watched through the feed.

    `kind` forces the kind (the `--kind` option) and turns feed discovery off. Documents are parsed
    by `parser`: the URL is user-supplied, so in production that is a ParserPool with a time limit.
    """
    if kind is OutletKind.TELEGRAM or (kind is None and kind_from_url(url) is OutletKind.TELEGRAM):
        return await identify_channel(fetcher, parser, url)
    response = await fetch_ok(fetcher, url)
    if isinstance(response, Unidentified):
        return response
    found = (
        kind
        or kind_from_content(response.body, response.headers.get("content-type", ""))
        or kind_from_url(url)
    )
    if found is OutletKind.FEED:
        feed = await parser.parse(response.body, FEED)
        if not isinstance(feed, ParsedFeed):
            return Unidentified(reason_of(feed))
        return Identified(OutletKind.FEED, url, feed.title, parser=feed.parser)
    if found is OutletKind.SITEMAP:
        sitemap = await parser.parse(response.body, Reading(Reader.SITEMAP))
        if isinstance(sitemap, ParseError):
            return Unidentified(sitemap.reason)
        return Identified(OutletKind.SITEMAP, url, urlsplit(url).hostname or url, parser="sitemap")
    if found is OutletKind.PAGE:
        if kind is None:
            candidates = discover_feeds(response.body, response.url)
            discovered = await first_working_feed(fetcher, parser, candidates)
            if discovered is not None:
                return discovered
        page = await parser.parse(response.body, Reading(Reader.PAGE, base_url=response.url))
        if not isinstance(page, ParsedFeed):
            return Unidentified(reason_of(page))
        return Identified(OutletKind.PAGE, url, page.title, parser=page.parser)
    return Unidentified("not a feed, an HTML page, a sitemap or a Telegram channel")


async def identify_channel(fetcher: Fetcher, parser: DocumentParser, url: str) -> Identified | Unidentified:
    preview = preview_url(url)
    if preview is None:
        return Unidentified(
            "not a public Telegram channel address (expected t.me/<channel>; invite links cannot be watched)"
        )
    response = await fetch_ok(fetcher, preview)
    if isinstance(response, Unidentified):
        return response
    channel = channel_in_path(urlsplit(preview).path) or preview
    parsed = await parser.parse(
        response.body, Reading(Reader.TELEGRAM, base_url=response.url, channel=channel)
    )
    if not isinstance(parsed, ParsedFeed):
        return Unidentified(reason_of(parsed))
    return Identified(OutletKind.TELEGRAM, preview, parsed.title, parser=parsed.parser)


async def first_working_feed(
    fetcher: Fetcher, parser: DocumentParser, candidates: tuple[str, ...]
) -> Identified | None:
    """The first announced feed that fetches and parses (each fetch passes the SSRF guard)."""
    for candidate in candidates[:MAX_DISCOVERED]:
        response = await fetch_ok(fetcher, candidate)
        if isinstance(response, Unidentified):
            continue
        feed = await parser.parse(response.body, FEED)
        if isinstance(feed, ParsedFeed):
            return Identified(
                OutletKind.FEED, candidate, feed.title, note="announced by the page", parser=feed.parser
            )
    return None


async def fetch_ok(fetcher: Fetcher, url: str) -> Response | Unidentified:
    response = await fetcher.get(url)
    if isinstance(response, FetchError):
        return Unidentified(response.reason)
    if not response.is_ok() or not response.body:
        return Unidentified(f"HTTP {response.status}")
    return response
