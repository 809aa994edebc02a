"""Article identity: canonical URLs and the key that says two feed entries are one article."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.models import FeedItem

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PARAMETERS = frozenset({"fbclid", "gclid", "yclid", "dclid", "mc_cid", "mc_eid", "igshid"})


def is_tracking_parameter(name: str) -> bool:
    return name.lower().startswith("utm_") or name.lower() in TRACKING_PARAMETERS


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, fragment or tracking parameters.

    A link too broken to take apart (a port that is not a number, say) is kept as written:
    it still identifies the article, and one bad link must not fail a whole feed.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
        host = (parts.hostname or "").lower()
    except ValueError:
        return url.strip()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literals keep their brackets
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_parameter(k)]
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def article_key(item: FeedItem) -> str:
    """The outlet-scoped identity of an entry: its GUID, else its link, else a hash of its title."""
    if item.guid:
        return item.guid.strip()
    if item.url:
        return canonical_url(item.url)
    title = " ".join(item.title.split()).casefold()
    return "title:" + hashlib.sha256(title.encode()).hexdigest()
