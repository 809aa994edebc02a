"""Feed parsing: bytes in, FeedItems out; fastfeedparser first, feedparser when it fails or finds nothing."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import fastfeedparser
import feedparser
import lxml.html
from lxml.etree import ParserError

from core.models import FeedItem

SUMMARY_CHARS = 4000
# A feed shows its newest entries first; past this many the rest is old news (the largest real feed
# in the corpus has 1,046), and storing 200,000 entries of a hostile 10 MB feed would hold the
# archive's write lock for minutes.
MAX_ENTRIES = 5000
# Markup is read only this far for a summary: enough for SUMMARY_CHARS of text in all but odd pages.
SUMMARY_MARKUP_CHARS = 8 * SUMMARY_CHARS
DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
XML_ENCODING = re.compile(rb"\s*<\?xml[^>]*\bencoding\s*=")
CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
# Tags that separate words when removed; other tags (b, a, span…) sit inside words' text.
BREAKING_TAG = re.compile(
    r"<(?:script|style)\b.*?</(?:script|style)\s*>|<!--.*?-->"
    r"|</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|figure|figcaption|img|hr|dd|dt)\b[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
TAG = re.compile(r"<[^>]*>")
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    items: tuple[FeedItem, ...]
    parser: str
    degraded: bool = False  # the tolerant parser had to recover from a malformed document

    @property
    def outcome(self) -> str:
        return "ok_degraded" if self.degraded else "ok"


@dataclass(frozen=True, slots=True)
class ParseError:
    reason: str
    code: str = "not_a_feed"

    @property
    def outcome(self) -> str:
        return f"rejected:{self.code}"


def parse_feed(body: bytes, charset: str | None = None) -> ParsedFeed | ParseError:
    """Parse RSS, Atom or JSON Feed bytes (never a URL or a path: feedparser would fetch those).

    `charset` is the one HTTP declared; it counts only for a document that names no encoding itself.
    """
    body = in_declared_charset(body, charset)
    if declares_entities(body):
        # Entity expansion ("billion laughs", quadratic blowup) is refused before any parser sees it.
        return ParseError("the document declares XML entities, which are refused", "entities")
    fast = parse_with_fastfeedparser(body)
    if fast is not None and fast.items:
        return fast
    slow = parse_with_feedparser(body)
    if slow is not None and (slow.items or fast is None):
        return slow
    if fast is not None:
        return fast
    return ParseError("not a feed (no RSS, Atom or JSON Feed found)")


def charset_of(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    found = CHARSET.search(content_type)
    return found[1] if found else None


def in_declared_charset(body: bytes, charset: str | None) -> bytes:
    """The document as UTF-8 when only HTTP says how it is encoded (old Cyrillic sites: windows-1251).

    Text that is valid UTF-8 stays as it is: servers often claim ISO-8859-1 by default, and
    Cyrillic in a single-byte encoding is almost never valid UTF-8.
    """
    if not charset or body.startswith((b"\xef\xbb\xbf", *WIDE_BOMS)) or XML_ENCODING.match(body):
        return body
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    try:
        return body.decode(charset, "replace").encode("utf-8")
    except LookupError:
        return body


def declares_entities(body: bytes) -> bool:
    """True when a DOCTYPE declares entities, in whatever encoding the document is written."""
    if body.startswith(WIDE_BOMS) or b"\x00" in body[:4]:
        # UTF-16 and UTF-32 hide the markup from a byte search; look at the text instead.
        for codec in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if "<!" in text:
                body = text.encode("utf-8", "replace")
                break
    return DOCTYPE.search(body) is not None and ENTITY_DECLARATION.search(body) is not None


def parse_with_fastfeedparser(body: bytes) -> ParsedFeed | None:
    try:
        document = fastfeedparser.parse(body)
    except Exception:  # any failure sends the document to the tolerant parser instead
        return None
    feed = document.get("feed", {})
    language = feed.get("language")
    items = tuple(
        item_from_entry(entry, language) for entry in islice(document.get("entries", []), MAX_ENTRIES)
    )
    return ParsedFeed(plain_text(feed.get("title", "")), items, "fastfeedparser")


def parse_with_feedparser(body: bytes) -> ParsedFeed | None:
    document = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    if not document.get("version") and not document.entries:
        return None
    language = document.feed.get("language")
    items = tuple(item_from_entry(entry, language) for entry in islice(document.entries, MAX_ENTRIES))
    return ParsedFeed(
        plain_text(document.feed.get("title", "")), items, "feedparser", degraded=bool(document.get("bozo"))
    )


def item_from_entry(entry: Any, feed_language: str | None) -> FeedItem:
    link = entry.get("link") or None
    identity = entry.get("id") or None
    if link is None and isinstance(identity, str) and identity.startswith(("https://", "http://")):
        link = identity  # an entry identified by its URL is at that URL (feedparser reads it so too)
    title = plain_text(entry.get("title", "")) or plain_text(entry.get("description", ""))[:120]
    return FeedItem(
        title=title or (link or "untitled"),
        url=link,
        guid=identity,
        summary=plain_text(clipped(entry_summary(entry)))[:SUMMARY_CHARS],
        published=entry_date(entry),
        language=entry.get("language") or feed_language,
    )


def clipped(markup: str) -> str:
    """The head of long markup, without a tag cut in half at the end."""
    if len(markup) <= SUMMARY_MARKUP_CHARS:
        return markup
    head = markup[:SUMMARY_MARKUP_CHARS]
    cut = head.rfind("<")
    return head[:cut] if cut > head.rfind(">") else head


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
        try:
            if parsed:
                year, month, day, hour, minute, second = parsed[:6]
                return in_utc(datetime(year, month, day, hour, minute, second, tzinfo=UTC))
            value = entry.get(key)
            if isinstance(value, str) and value:
                return in_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except (ValueError, TypeError):
            continue
    return None


def in_utc(moment: datetime) -> datetime | None:
    """The moment in UTC (naive taken as UTC); None at the calendar's edges, where converting fails.

    One item dated 9999-12-31T23:59-12:00 must not fail the whole poll when it is stored.
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def plain_text(markup: object) -> str:
    """Text of an HTML fragment with entities decoded and white space collapsed.

    Regular expressions rather than an HTML parser: this runs for every entry of every poll, and
    a tree costs ten times more for text that only feeds matching and a snippet.
    """
    text = str(markup or "")
    if "<" in text:
        text = TAG.sub("", BREAKING_TAG.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())


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
