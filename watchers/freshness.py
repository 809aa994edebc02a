"""How long a response says it stays fresh (RFC 9111 §4.2.1, RSS <ttl>), hints core.scheduling waits out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Larger numbers are as good as "forever" and would overflow timedelta; core caps hints far lower.
LONGEST = timedelta(days=3650)
# RSS 2.0 <ttl> is minutes, in <channel> before the items: https://www.rssboard.org/rss-specification#ltttlgtSubelementOfLtchannelgt
RSS_TTL = re.compile(rb"<ttl>\s*(\d{1,9})\s*</ttl>")
FIRST_ITEM = re.compile(rb"<item[\s>]")
CHANNEL_HEAD_BYTES = 64 * 1024


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """Cache-Control max-age less Age, else Expires less Date; None when the response gives no lifetime.

    `headers` have lowercase names. `no-store` and `no-cache` mean "ask again every time": no hint.
    """
    directives = cache_directives(headers.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return None
    if "max-age" in directives:
        max_age = delta_seconds(directives["max-age"])
        if max_age is None:
            return None
        return positive(max_age - (delta_seconds(headers.get("age", "")) or timedelta(0)))
    expires = http_date(headers.get("expires", ""))
    if expires is None:
        return None
    return positive(expires - (http_date(headers.get("date", "")) or now))


def cache_directives(value: str) -> dict[str, str]:
    """`max-age=300, must-revalidate` as {"max-age": "300", "must-revalidate": ""}."""
    directives = {}
    for part in value.split(","):
        name, _, argument = part.partition("=")
        if name.strip():
            directives[name.strip().lower()] = argument.strip().strip('"')
    return directives


def delta_seconds(value: str) -> timedelta | None:
    """An RFC 9110 delta-seconds value (max-age, Age, Retry-After), at most LONGEST; None if malformed."""
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        return None
    # Compare digit counts first: int() refuses strings of thousands of digits.
    if len(text) > 12 or int(text) > LONGEST.total_seconds():
        return LONGEST
    return timedelta(seconds=int(text))


def http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def positive(lifetime: timedelta) -> timedelta | None:
    return min(lifetime, LONGEST) if lifetime > timedelta(0) else None


def feed_ttl(body: bytes) -> timedelta | None:
    """The RSS channel's <ttl> (how many minutes it may be cached); None without one.

    Read from the channel head here because neither parser reports it alike (fastfeedparser drops it).
    """
    head = body[:CHANNEL_HEAD_BYTES]
    item = FIRST_ITEM.search(head)
    found = RSS_TTL.search(head, 0, item.start() if item else len(head))
    if found is None:
        return None
    return positive(min(timedelta(minutes=int(found[1])), LONGEST))
