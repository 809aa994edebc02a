"""Feed parsing: bytes in, FeedItems out; fastfeedparser first, feedparser when it fails or finds nothing."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fastfeedparser
import feedparser
import lxml.html
from lxml.etree import ParserError

from core.models import FeedItem

SUMMARY_CHARS = 4000
ENTITY_SCAN_BYTES = 64 * 1024
WHITESPACE = re.compile(r"\s+")
ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: tuple[FeedItem, ...]
    parser: str


@dataclass(frozen=True, slots=True)
class ParseError:
    reason: str


def parse_feed(body: bytes) -> ParsedFeed | ParseError:
    """Parse RSS, Atom or JSON Feed bytes (never a URL or a path: feedparser would fetch those)."""
    if ENTITY_DECLARATION.search(body[:ENTITY_SCAN_BYTES]):
        # Entity expansion ("billion laughs") is refused before any parser sees the document.
        return ParseError("the document declares XML entities, which are refused")
    fast = parse_with_fastfeedparser(body)
    if fast is not None and fast.items:
        return fast
    slow = parse_with_feedparser(body)
    if slow is not None and (slow.items or fast is None):
        return slow
    if fast is not None:
        return fast
    return ParseError("not a feed (no RSS, Atom or JSON Feed found)")


def parse_with_fastfeedparser(body: bytes) -> ParsedFeed | None:
    try:
        document = fastfeedparser.parse(body)
    except Exception:  # any failure sends the document to the tolerant parser instead
        return None
    feed = document.get("feed", {})
    language = feed.get("language")
    items = tuple(item_from_entry(entry, language) for entry in document.get("entries", []))
    return ParsedFeed(plain_text(feed.get("title", "")), items, "fastfeedparser")


def parse_with_feedparser(body: bytes) -> ParsedFeed | None:
    document = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    if not document.get("version") and not document.entries:
        return None
    language = document.feed.get("language")
    items = tuple(item_from_entry(entry, language) for entry in document.entries)
    return ParsedFeed(plain_text(document.feed.get("title", "")), items, "feedparser")


def item_from_entry(entry: Any, feed_language: str | None) -> FeedItem:
    link = entry.get("link") or None
    title = plain_text(entry.get("title", "")) or plain_text(entry.get("description", ""))[:120]
    return FeedItem(
        title=title or (link or "untitled"),
        url=link,
        guid=entry.get("id") or None,
        summary=plain_text(entry_summary(entry))[:SUMMARY_CHARS],
        published=entry_date(entry),
        language=entry.get("language") or feed_language,
    )


def entry_summary(entry: Any) -> str:
    summary = entry.get("summary") or entry.get("description")
    if summary:
        return str(summary)
    for content in entry.get("content") or ():
        if content.get("value"):
            return str(content["value"])
    return ""


def entry_date(entry: Any) -> datetime | None:
    for key in ("published", "updated"):
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        value = entry.get(key)
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def plain_text(markup: object) -> str:
    """Text of an HTML fragment with entities decoded and white space collapsed."""
    text = str(markup or "")
    if "<" in text:
        try:
            text = "".join(str(piece) for piece in lxml.html.fromstring(text).itertext())
        except (ParserError, ValueError):
            text = re.sub(r"<[^>]*>", " ", text)
    elif "&" in text:
        text = html.unescape(text)
    return WHITESPACE.sub(" ", text).strip()


def page_text(body: bytes) -> FeedItem:
    """The title and visible text of an HTML page, as one item (for testing a query on an article)."""
    try:
        document = lxml.html.fromstring(body)
    except (ParserError, ValueError):
        return FeedItem(title="", summary="")
    for unwanted in document.iter("script", "style", "noscript"):
        # Their code is not text; the text after them is. (lxml-stubs predate keep_tail, lxml 4.4.)
        unwanted.clear(keep_tail=True)  # type: ignore[call-arg]
    title = plain_text(document.findtext(".//title") or "")
    body_element = document.find(".//body")
    text = "".join(
        str(piece) for piece in (body_element if body_element is not None else document).itertext()
    )
    return FeedItem(title=title, summary=WHITESPACE.sub(" ", text).strip())
