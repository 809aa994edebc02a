"""OPML subscription lists: read exports of other readers into OutletSpecs, write newsbot's outlets back out.

Folders become outlet groups (nested folders joined with " / "). newsbot's own export keeps
each outlet's kind, interval and selectors in attributes of its own namespace, so an export
imported again gives the same outlets; other readers ignore those attributes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from core.models import OutletKind, OutletSpec, PageSelectors
from watchers.detect import kind_from_url

# OPML 2.0: http://opml.org/spec2.opml
NEWSBOT = "https://github.com/newsbot/newsbot/opml"
NEWSBOT_ATTRIBUTE = "{" + NEWSBOT + "}"
FRESHRSS = "{https://freshrss.org/opml}"
MAX_INTERVAL_SECONDS = 365 * 86400  # as in the config: a longer interval is a typo
DEFAULT_INTERVAL = timedelta(minutes=5)
ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
SELECTOR_NAMES = ("item", "title", "link", "date")
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class OpmlError:
    reason: str


def read_opml(body: bytes) -> tuple[OutletSpec, ...] | OpmlError:
    """Every outline with an `xmlUrl` as an OutletSpec, grouped by the folders it sits in."""
    if ENTITY_DECLARATION.search(body):
        return OpmlError("the file declares XML entities, which are refused")
    try:
        root = etree.fromstring(body, SAFE_XML)
    except etree.XMLSyntaxError as error:
        return OpmlError(f"not an OPML file (XML error: {error})")
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        return OpmlError("not an OPML file (no <opml> element)")
    body_element = next((child for child in root if child.tag == "body"), None)
    if body_element is None:
        return OpmlError("not an OPML file (no <body> element)")
    return tuple(outlines(body_element, ()))


def outlines(parent: etree._Element, folders: tuple[str, ...]) -> Iterator[OutletSpec]:
    for outline in parent:
        if outline.tag != "outline":
            continue
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url:
            yield spec_from_outline(outline, label, url, " / ".join(folders))
        # An outline without a feed is a folder; one with children and a feed is both (rare).
        yield from outlines(outline, (*folders, label) if not url and label else folders)


def spec_from_outline(outline: etree._Element, label: str, url: str, group: str) -> OutletSpec:
    kind = outline.get(f"{NEWSBOT_ATTRIBUTE}kind")
    seconds = outline.get(f"{NEWSBOT_ATTRIBUTE}interval") or ""
    selectors = PageSelectors(
        **{name: value for name in SELECTOR_NAMES if (value := outline.get(f"{NEWSBOT_ATTRIBUTE}{name}"))}
    )
    return OutletSpec(
        name=label or urlsplit(url).hostname or url,
        url=url,
        kind=outlet_kind(kind, outline.get("type") or "", url),
        interval=interval_of(seconds),
        group=group,
        selectors=selectors,
    )


def interval_of(seconds: str) -> timedelta:
    """newsbot's own interval attribute (seconds); the default for anything else or beyond a year."""
    if seconds.isascii() and seconds.isdigit() and 0 < int(seconds) <= MAX_INTERVAL_SECONDS:
        return timedelta(seconds=int(seconds))
    return DEFAULT_INTERVAL


def outlet_kind(declared: str | None, outline_type: str, url: str) -> OutletKind:
    """newsbot's own attribute first; FreshRSS's scraped HTML feeds are pages; else by the URL, else feed."""
    if declared in {kind.value for kind in OutletKind}:
        return OutletKind(declared)
    if outline_type.upper().startswith("HTML+"):
        return OutletKind.PAGE
    return kind_from_url(url) or OutletKind.FEED


def write_opml(outlets: Sequence[OutletSpec], now: datetime, title: str = "newsbot outlets") -> bytes:
    """An OPML 2.0 document of the outlets, one folder per group, in the order given."""
    root = etree.Element("opml", nsmap={"newsbot": NEWSBOT}, version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for spec in outlets:
        parent = body
        if spec.group:
            if spec.group not in folders:
                folders[spec.group] = etree.SubElement(body, "outline", text=spec.group, title=spec.group)
            parent = folders[spec.group]
        outline = etree.SubElement(
            parent, "outline", type="rss", text=spec.name, title=spec.name, xmlUrl=spec.url
        )
        outline.set(f"{NEWSBOT_ATTRIBUTE}kind", spec.kind.value)
        outline.set(f"{NEWSBOT_ATTRIBUTE}interval", str(int(spec.interval.total_seconds())))
        for name in SELECTOR_NAMES:
            if value := getattr(spec.selectors, name):
                outline.set(f"{NEWSBOT_ATTRIBUTE}{name}", value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
