"""HTML listing pages: bytes of a section page in, FeedItems out, by CSS selectors or by article-link defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector
from lxml.etree import ParserError

from core.models import FeedItem, PageSelectors
from watchers.parse import SUMMARY_CHARS, ParsedFeed, ParseError, in_utc, plain_text

MAX_ITEMS = 200
MIN_TITLE_CHARACTERS = 12
WHITESPACE = re.compile(r"\s+")
# /2026/11/26/, /2026-11-26-, /20261126/ : a date in the path is the strongest sign of an article.
DATED_PATH = re.compile(r"/(20\d\d)[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:[/-]|$)")
NUMERIC_ID = re.compile(r"\d{5,}")
WORDS_IN_SLUG = re.compile(r"[-_]")
# Path segments of index pages, not articles (tags, sections, authors, paging, accounts).
INDEX_SEGMENTS = frozenset(
    [
        "tag",
        "tags",
        "category",
        "categories",
        "topic",
        "topics",
        "rubric",
        "rubrics",
        "section",
        "author",
        "authors",
        "page",
        "search",
        "login",
        "register",
        "account",
        "subscribe",
        "rss",
        "feed",
        "about",
        "contacts",
        "contact",
        "advertising",
        "privacy",
    ]
)
NOT_ARTICLE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".svg", ".pdf", ".mp3", ".mp4", ".zip", ".xml")
# Containers whose links are navigation, by tag or by a word in their class, id or role.
CHROME_TAGS = frozenset({"nav", "footer", "header", "aside", "menu"})
CHROME_WORDS = re.compile(r"\b(nav|navbar|menu|footer|breadcrumbs?|sidebar|share|social|tags?|pagination)\b")


def parse_page(
    body: bytes, base_url: str, selectors: PageSelectors = PageSelectors()
) -> ParsedFeed | ParseError:
    """The articles listed on an HTML page: by the outlet's CSS selectors, else by the defaults."""
    document = html_document(body, base_url)
    if document is None:
        return ParseError("not an HTML page")
    title = plain_text(document.findtext(".//title") or "")
    if selectors.is_empty():
        return ParsedFeed(title, tuple(default_items(document, base_url)), "page-defaults")
    try:
        items = tuple(selected_items(document, base_url, selectors))
    except SelectorError as error:
        return ParseError(f"a CSS selector of this outlet is not valid: {error}")
    return ParsedFeed(title, items, "page-selectors")


def html_document(body: bytes, base_url: str | None = None) -> lxml.html.HtmlElement | None:
    """The parsed page (libxml2 honours its <meta charset>), or None when it is not HTML at all."""
    try:
        document = lxml.html.document_fromstring(body, base_url=base_url)
    except (ParserError, ValueError):
        return None
    return document if isinstance(document, lxml.html.HtmlElement) else None


def selector_problem(selectors: PageSelectors) -> str | None:
    """Why one of the selectors is not valid CSS, or None (for checking config and OPML early)."""
    for name, css in (
        ("item", selectors.item),
        ("title", selectors.title),
        ("link", selectors.link),
        ("date", selectors.date),
    ):
        if css:
            try:
                CSSSelector(css)
            except SelectorError as error:
                return f"selector {name} = {css!r} is not valid CSS: {error}"
    return None


# ---- with selectors ----


def selected_items(
    document: lxml.html.HtmlElement, base_url: str, selectors: PageSelectors
) -> Iterator[FeedItem]:
    # No item selector: every element the link selector finds is one article.
    elements = select(CSSSelector(selectors.item or selectors.link or "a[href]"), document)
    title_of = CSSSelector(selectors.title) if selectors.title else None
    link_of = CSSSelector(selectors.link) if selectors.link and selectors.item else None
    date_of = CSSSelector(selectors.date) if selectors.date else None
    seen: set[str] = set()
    for element in elements[:MAX_ITEMS]:
        link_element = first(select(link_of, element)) if link_of else element
        url = absolute_link(link_element, base_url) if link_element is not None else None
        title_element = first(select(title_of, element)) if title_of else link_element
        title = element_text(title_element) if title_element is not None else ""
        if not title and link_element is not None:
            title = element_text(link_element)
        if not url or not title or url in seen:
            continue
        seen.add(url)
        date_element = first(select(date_of, element)) if date_of else first(element.iter("time"))
        summary = element_text(element)
        yield FeedItem(
            title=title,
            url=url,
            summary=summary[:SUMMARY_CHARS] if summary != title else "",
            published=element_date(date_element) if date_element is not None else date_in_path(url),
        )


def select(selector: CSSSelector, element: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    found = selector(element)
    return (
        [match for match in found if isinstance(match, lxml.html.HtmlElement)]
        if isinstance(found, list)
        else []
    )


def first(
    elements: list[lxml.html.HtmlElement] | Iterator[lxml.html.HtmlElement],
) -> lxml.html.HtmlElement | None:
    return next(iter(elements), None)


def absolute_link(element: lxml.html.HtmlElement, base_url: str) -> str | None:
    """The href of the element, or of the first link inside it, made absolute and without a fragment."""
    href = element.get("href")
    if href is None:
        inner = first(element.iterfind(".//a[@href]"))
        href = str(inner.get("href")) if inner is not None else None
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
        return None
    parts = urlsplit(urljoin(base_url, href.strip()))
    if parts.scheme not in ("http", "https"):
        return None
    return str(urlunsplit(parts._replace(fragment="")))


def element_text(element: lxml.html.HtmlElement) -> str:
    text = "".join(str(piece) for piece in element.itertext())
    return WHITESPACE.sub(" ", text).strip() or (element.get("title") or "").strip()


def element_date(element: lxml.html.HtmlElement) -> datetime | None:
    """A date from `datetime=` (HTML <time>), `content=` (meta, schema.org), or the text."""
    for value in (element.get("datetime"), element.get("content"), element_text(element)):
        if value and (moment := parse_date(value)) is not None:
            return moment
    return None


def parse_date(value: str) -> datetime | None:
    """ISO 8601 or RFC 2822; a time without a zone is taken as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return in_utc(moment)


def date_in_path(url: str) -> datetime | None:
    found = DATED_PATH.search(urlsplit(url).path)
    if found is None:
        return None
    try:
        return datetime(int(found[1]), int(found[2]), int(found[3]), tzinfo=UTC)
    except ValueError:
        return None


# ---- defaults: article links on a section page ----


def default_items(document: lxml.html.HtmlElement, base_url: str) -> Iterator[FeedItem]:
    """Links on the same site whose path looks like an article, titled by their anchor text.

    A headline is often linked twice (image and text); the longest anchor text wins.
    """
    site = site_of(base_url)
    found: dict[str, tuple[str, lxml.html.HtmlElement]] = {}
    for anchor in document.iterfind(".//a[@href]"):
        url = absolute_link(anchor, base_url)
        if url is None or site_of(url) != site or not is_article_path(url) or is_in_chrome(anchor):
            continue
        image = first(anchor.iterfind(".//img[@alt]"))
        title = element_text(anchor) or (str(image.get("alt", "")).strip() if image is not None else "")
        if url not in found or len(title) > len(found[url][0]):
            found[url] = (title, anchor)
    count = 0
    for url, (title, anchor) in found.items():
        if len(title) < MIN_TITLE_CHARACTERS or count >= MAX_ITEMS:
            continue
        count += 1
        time = nearby_time(anchor)
        yield FeedItem(
            title=title,
            url=url,
            published=(element_date(time) if time is not None else None) or date_in_path(url),
        )


def site_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def is_article_path(url: str) -> bool:
    """True for dated paths, numeric ids and long slugs; False for sections, tags and files."""
    path = urlsplit(url).path.lower()
    segments = [segment for segment in path.split("/") if segment]
    if not segments or path.endswith(NOT_ARTICLE_EXTENSIONS):
        return False
    if any(segment in INDEX_SEGMENTS for segment in segments):
        return False
    if DATED_PATH.search(path):
        return True
    last = segments[-1].rsplit(".", 1)[0] if "." in segments[-1] else segments[-1]
    return bool(NUMERIC_ID.search(last)) or len(WORDS_IN_SLUG.split(last)) >= 4


def is_in_chrome(element: lxml.html.HtmlElement) -> bool:
    """Inside navigation, header, footer, sidebar or a tag cloud."""
    for ancestor in element.iterancestors():
        if ancestor.tag in CHROME_TAGS or ancestor.get("role") == "navigation":
            return True
        marks = f"{ancestor.get('class', '')} {ancestor.get('id', '')}".lower()
        if CHROME_WORDS.search(marks):
            return True
    return False


def nearby_time(anchor: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The <time> of a teaser: inside the link, or in one of its nearest three enclosing elements.

    An element holding several <time>s is a list of teasers, whose dates belong to other links.
    """
    element: lxml.html.HtmlElement | None = anchor
    for _level in range(4):
        if element is None:
            return None
        times = list(element.iter("time"))
        if len(times) == 1:
            return times[0]
        if times:
            return None
        element = element.getparent()
    return None
