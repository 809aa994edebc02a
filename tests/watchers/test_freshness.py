"""Cache lifetimes from response headers: the `max_age` hint a watcher hands to core.scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import (
    Failed,
    FeedItem,
    FetchOutcome,
    Modified,
    NotModified,
    Outlet,
    OutletKind,
    OutletState,
    Validators,
)
from tests.fake_servers.feeds import FeedServer, Route, rss
from watchers.fetch import Fetcher, FetchPolicy
from watchers.freshness import LONGEST, cache_lifetime, feed_ttl
from watchers.watcher import FeedWatcher
from watchers.workers import ThreadParser

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
DATE = "Fri, 27 Nov 2026 04:00:00 GMT"
HALF_HOUR = timedelta(minutes=30)
HOUR = timedelta(hours=1)
LOOPBACK = FetchPolicy(allow_private_networks=True, timeout=timedelta(seconds=5))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, None, id="no-headers"),
        pytest.param({"cache-control": "max-age=600"}, timedelta(minutes=10), id="max-age"),
        pytest.param(
            {"cache-control": "public, MAX-AGE=600, must-revalidate"}, timedelta(minutes=10), id="list"
        ),
        pytest.param({"cache-control": 'max-age="600"'}, timedelta(minutes=10), id="quoted"),
        pytest.param({"cache-control": "max-age=600", "age": "120"}, timedelta(minutes=8), id="less-age"),
        pytest.param({"cache-control": "max-age=600", "age": "900"}, None, id="already-stale"),
        pytest.param({"cache-control": "max-age=0"}, None, id="max-age-zero"),
        pytest.param({"cache-control": "max-age=-5"}, None, id="max-age-negative"),
        pytest.param({"cache-control": "max-age=soon"}, None, id="max-age-garbage"),
        pytest.param({"cache-control": "max-age=٣٠٠"}, None, id="max-age-non-ascii-digits"),
        pytest.param({"cache-control": "max-age=315360000000"}, LONGEST, id="hostile-max-age"),
        pytest.param({"cache-control": "max-age=" + "9" * 5000}, LONGEST, id="five-thousand-digits"),
        pytest.param({"cache-control": "no-cache, max-age=600"}, None, id="no-cache"),
        pytest.param({"cache-control": "no-store"}, None, id="no-store"),
        pytest.param(
            {"cache-control": "max-age=60", "expires": "Fri, 27 Nov 2026 05:00:00 GMT"},
            timedelta(minutes=1),
            id="max-age-beats-expires",
        ),
        pytest.param(
            {"expires": "Fri, 27 Nov 2026 04:30:00 GMT", "date": DATE}, timedelta(minutes=30), id="expires"
        ),
        pytest.param(
            {"expires": "Fri, 27 Nov 2026 04:30:00 GMT", "date": "Fri, 27 Nov 2026 04:20:00 GMT"},
            timedelta(minutes=10),
            id="expires-less-server-date",
        ),
        pytest.param(
            {"expires": "Fri, 27 Nov 2026 04:15:00 GMT"}, timedelta(minutes=15), id="expires-no-date"
        ),
        pytest.param({"expires": "0", "date": DATE}, None, id="expires-zero"),
        pytest.param({"expires": "Thu, 01 Jan 1970 00:00:00 GMT"}, None, id="expires-past"),
        pytest.param({"expires": "Fri, 31 Dec 9999 23:59:59 GMT"}, LONGEST, id="expires-far-future"),
    ],
)
def test_cache_lifetime(headers: dict[str, str], expected: timedelta | None) -> None:
    assert cache_lifetime(headers, NOW) == expected


def channel(head: str, items: str = "<item><title>a</title></item>") -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{head}{items}</channel></rss>'.encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(channel("<ttl>30</ttl>"), timedelta(minutes=30), id="ttl"),
        pytest.param(channel("<ttl> 60 </ttl>"), HOUR, id="spaces"),
        pytest.param(channel(""), None, id="none"),
        pytest.param(channel("<ttl>0</ttl>"), None, id="zero"),
        pytest.param(channel("<ttl>-5</ttl>"), None, id="negative"),
        pytest.param(channel("<ttl>soon</ttl>"), None, id="garbage"),
        pytest.param(channel("<ttl>999999999</ttl>"), LONGEST, id="hostile"),
        pytest.param(channel("<ttl>99999999999999</ttl>"), None, id="too-many-digits"),
        pytest.param(channel("", "<item><title>a</title><ttl>30</ttl></item>"), None, id="inside-an-item"),
        pytest.param(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', None, id="json-feed"),
    ],
)
def test_feed_ttl(body: bytes, expected: timedelta | None) -> None:
    assert feed_ttl(body) == expected


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        pytest.param(
            Route(rss([]), headers={"Cache-Control": "max-age=1800"}), Modified((), max_age=HALF_HOUR)
        ),
        pytest.param(
            Route(rss([]), etag='"v1"', headers={"Cache-Control": "max-age=1800"}),
            NotModified(Validators('"v1"'), max_age=HALF_HOUR),
        ),
        pytest.param(Route(rss([]), headers={"Cache-Control": "no-cache"}), Modified(())),
        pytest.param(Route(channel("<ttl>45</ttl>")), Modified((FeedItem("a"),), ttl=timedelta(minutes=45))),
    ],
)
async def test_the_watcher_hands_the_lifetime_to_core(route: Route, expected: FetchOutcome) -> None:
    async with FeedServer() as server, Fetcher(LOOPBACK) as fetcher:
        url = server.serve("/feed", route)
        known = Outlet(
            1, "Fake", url, OutletKind.FEED, timedelta(minutes=5), OutletState(validators=Validators('"v1"'))
        )
        outcome = await FeedWatcher(fetcher, ThreadParser()).fetch(known)
    assert outcome == expected


@pytest.mark.parametrize("value", ["99999999999999999", "9" * 5000])
async def test_a_hostile_retry_after_is_a_long_wait_not_a_crash(value: str) -> None:
    async with FeedServer() as server, Fetcher(LOOPBACK) as fetcher:
        url = server.serve("/feed", Route(b"", status=429, headers={"Retry-After": value}))
        outcome = await FeedWatcher(fetcher, ThreadParser()).fetch(
            Outlet(1, "Fake", url, OutletKind.FEED, timedelta(minutes=5))
        )
    assert outcome == Failed("HTTP 429: the outlet asks us to slow down", LONGEST)
