"""Sitemaps: Google News and plain `urlset`s become FeedItems; a `sitemapindex` names child sitemaps."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote, urlsplit

from lxml import etree

from core.models import FeedItem
from watchers.page import parse_date
from watchers.parse import ParsedFeed, ParseError

# Protocol: https://www.sitemaps.org/protocol.html; news: https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
MAX_ITEMS = 1000
MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024  # the protocol's own limit for one sitemap
ENTITY_SCAN_BYTES = 64 * 1024
ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
SLUG_SEPARATORS = re.compile(r"[-_+]+")
DATE_IN_NAME = re.compile(r"(20\d\d)\D?([01]\d)(?:\D?([0-3]\d))?")
# Entities are never resolved and nothing is fetched: a sitemap is data, not a program.
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class ChildSitemap:
    url: str
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class SitemapIndex:
    children: tuple[ChildSitemap, ...]

    def newest(self, count: int) -> tuple[ChildSitemap, ...]:
        """The `count` children most likely to hold today's articles.

        By <lastmod> when the index gives it, else by a date in the file name
        (sitemap-2026-11.xml), else the first ones listed.
        """

        def when(child: ChildSitemap) -> str:
            if child.modified is not None:
                return child.modified.isoformat()
            found = DATE_IN_NAME.search(child.url.rsplit("/", 1)[-1])
            return f"{found[1]}-{found[2]}-{found[3] or '00'}" if found else ""

        if not any(when(child) for child in self.children):
            return self.children[:count]
        return tuple(sorted(self.children, key=when, reverse=True)[:count])


def parse_sitemap(body: bytes) -> ParsedFeed | SitemapIndex | ParseError:
    """A `urlset` as items (newest first, at most MAX_ITEMS) or a `sitemapindex` as its children."""
    if body[:2] == b"\x1f\x8b":
        # sitemap.xml.gz is often served as a file, not with Content-Encoding: unpack it, capped.
        unpacked = gunzip_capped(body)
        if isinstance(unpacked, ParseError):
            return unpacked
        body = unpacked
    if ENTITY_DECLARATION.search(body[:ENTITY_SCAN_BYTES]):
        return ParseError("the document declares XML entities, which are refused")
    try:
        root = etree.fromstring(body, SAFE_XML)
    except etree.XMLSyntaxError as error:
        return ParseError(f"not a sitemap (XML error: {error})")
    name = etree.QName(root).localname
    if name == "sitemapindex":
        children = tuple(
            ChildSitemap(loc, parse_date(child_text(entry, "lastmod") or ""))
            for entry in root
            if isinstance(entry.tag, str) and (loc := child_text(entry, "loc"))
        )
        return SitemapIndex(children)
    if name != "urlset":
        return ParseError(f"not a sitemap (the document is <{name}>)")
    items = [item for entry in root if isinstance(entry.tag, str) and (item := item_from_url(entry))]
    items.sort(key=lambda item: item.published.timestamp() if item.published else float("-inf"), reverse=True)
    return ParsedFeed("", tuple(items[:MAX_ITEMS]), "sitemap")


def item_from_url(entry: etree._Element) -> FeedItem | None:
    loc = child_text(entry, "loc")
    if not loc:
        return None
    news = next((child for child in entry if child.tag == f"{NEWS}news"), None)
    title = published = language = None
    if news is not None:
        title = text_of(news.find(f"{NEWS}title"))
        published = parse_date(text_of(news.find(f"{NEWS}publication_date")) or "")
        language = text_of(news.find(f"{NEWS}publication/{NEWS}language"))
    return FeedItem(
        title=title or title_from_slug(loc),
        url=loc,
        published=published or parse_date(child_text(entry, "lastmod") or ""),
        language=language,
    )


def child_text(element: etree._Element, name: str) -> str | None:
    """Text of a direct child by local name: sitemaps come with and without the namespace."""
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return text_of(child)
    return None


def text_of(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def title_from_slug(url: str) -> str:
    """A plain sitemap has no titles; the slug (`sco-summit-opens-in-astana`) is the next best text."""
    path = unquote(urlsplit(url).path).rstrip("/")
    last = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = SLUG_SEPARATORS.sub(" ", last).strip()
    return words or url


def gunzip_capped(body: bytes) -> bytes | ParseError:
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        unpacked = unpacker.decompress(body, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error:
        return ParseError("the sitemap looks gzipped but does not unpack")
    if len(unpacked) > MAX_DECOMPRESSED_BYTES:
        return ParseError(f"the gzipped sitemap unpacks to more than {MAX_DECOMPRESSED_BYTES} bytes")
    return unpacked
