"""Hostile outlets: each ends within the configured limits, and healthy outlets in the same cycle deliver.

Limits are small here (1 MiB body, 2 s fetch, 1 s parse) because the point is the limit, not its default.
"""

from __future__ import annotations

import asyncio
import resource
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.models import Failed, FetchOutcome, Modified, Outlet, OutletKind
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from watchers.fetch import Fetcher, FetchPolicy
from watchers.parse import ParsedFeed, ParseError, parse_feed
from watchers.watcher import FeedWatcher
from watchers.workers import ParserPool, decode_result, encode_result

CAP = 1 << 20
POLICY = FetchPolicy(allow_private_networks=True, max_bytes=CAP, timeout=timedelta(seconds=2))
PARSE_TIMEOUT = timedelta(seconds=1)
MEMORY_BUDGET = 64 << 20


def billion_laughs() -> bytes:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(levels)}]>'
        "<rss version='2.0'><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>"
    ).encode()


def parameter_laughs() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % a "aaaaaaaaaa"><!ENTITY % b "%a;%a;%a;%a;">'
        b'<!ENTITY c "%b;%b;%b;%b;">]><rss><channel><title>&c;</title></channel></rss>'
    )


def laughs_after_padding() -> bytes:
    """The DOCTYPE may follow any amount of comments; a scan of the first kilobytes would miss it."""
    padding = b"<!--" + b"x" * 200_000 + b"-->"
    return b'<?xml version="1.0"?>' + padding + billion_laughs().split(b"?>", 1)[1]


def external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><item><title>&xxe;</title></item></channel></rss>"
    )


def quadratic_blowup(size: int) -> bytes:
    """One long entity referenced many times: no nesting, so naive depth limits let it through."""
    value = "a" * (size // 20)
    references = "&a;" * ((size - len(value)) // 3 - 40)
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{value}">]>'
        f"<rss><channel><item><title>{references}</title></item></channel></rss>"
    ).encode()[:size]


def author_email_redos() -> bytes:
    """feedparser's author e-mail regex is quadratic in a long address-like run; 50k characters take minutes.

    No items, so the fast parser finds nothing and the document reaches feedparser.
    """
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<managingEditor>{'a' * 50_000}</managingEditor></channel></rss>"
    ).encode()


def deep_nesting(depth: int = 10_000) -> bytes:
    return (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>deep</title>'
        + b"<x>" * depth
        + b"</x>" * depth
        + b"</item></channel></rss>"
    )


async def gzip_bomb() -> AsyncIterator[bytes]:
    """1 GiB of zeros, gzip-compressed while it is sent: never held in memory on either side."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    for _ in range(1024):
        # A sync flush per mebibyte sends about a kilobyte at once instead of waiting to fill a buffer.
        yield packer.compress(zeros) + packer.flush(zlib.Z_SYNC_FLUSH)
        await asyncio.sleep(0)  # let the loop see the client hang up; small writes never wait to drain
    yield packer.flush()


def outlet(number: int, url: str) -> Outlet:
    return Outlet(number, f"outlet {number}", url, OutletKind.FEED, timedelta(minutes=5))


HOSTILE = {
    "/billion-laughs": (Route(billion_laughs()), "declares XML entities"),
    "/parameter-laughs": (Route(parameter_laughs()), "declares XML entities"),
    "/laughs-utf16": (Route(billion_laughs().decode().encode("utf-16")), "declares XML entities"),
    "/laughs-after-padding": (Route(laughs_after_padding()), "declares XML entities"),
    "/external-entity": (Route(external_entity()), "declares XML entities"),
    "/quadratic-200k": (Route(quadratic_blowup(200_000)), "declares XML entities"),
    "/quadratic-1m": (Route(quadratic_blowup(1_000_000)), "declares XML entities"),
    "/author-redos": (Route(author_email_redos()), "parsing took longer than 1 s"),
    "/gzip-bomb": (
        Route(stream=gzip_bomb, headers={"Content-Encoding": "gzip"}),
        f"response larger than {CAP} bytes",
    ),
    "/one-byte-over": (Route(b" " * (CAP + 1)), f"response larger than {CAP} bytes"),
    "/one-byte-a-second": (Route(rss([news_entry(9, "slow")]), trickle=1.0), "no complete answer within 2 s"),
}


@pytest.fixture
async def parsers() -> AsyncIterator[ParserPool]:
    async with ParserPool(workers=2, timeout=PARSE_TIMEOUT) as pool:
        yield pool


async def test_hostile_outlets_end_within_limits_and_healthy_ones_deliver(parsers: ParserPool) -> None:
    async with FeedServer() as server:
        healthy = [
            server.serve(f"/healthy/{n}", Route(rss([news_entry(n, f"Healthy report {n}")])))
            for n in range(3)
        ]
        healthy.append(server.serve("/deep", Route(deep_nesting())))
        hostile = {server.serve(path, route): reason for path, (route, reason) in HOSTILE.items()}
        urls = healthy + list(hostile)
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tracemalloc.start()
        try:
            async with Fetcher(POLICY) as fetcher:
                watcher = FeedWatcher(fetcher, parsers)
                outcomes: list[FetchOutcome] = await asyncio.gather(
                    *(watcher.fetch(outlet(n, url)) for n, url in enumerate(urls))
                )
            _, traced_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before
    by_url = dict(zip(urls, outcomes, strict=True))
    for number, url in enumerate(healthy[:3]):
        outcome = by_url[url]
        assert isinstance(outcome, Modified), outcome
        assert [item.title for item in outcome.items] == [f"Healthy report {number}"]
    # Ten thousand levels are refused or read, but either way answered.
    assert isinstance(by_url[healthy[3]], Modified | Failed)
    for url, reason in hostile.items():
        outcome = by_url[url]
        assert isinstance(outcome, Failed), (url, outcome)
        assert reason in outcome.reason, (url, outcome.reason)
    assert traced_peak < MEMORY_BUDGET
    assert peak_growth < MEMORY_BUDGET


async def test_the_pool_keeps_working_after_a_worker_is_killed(parsers: ParserPool) -> None:
    assert isinstance(await parsers.parse(rss([news_entry(1, "Before the kill")])), ParsedFeed)
    before = set(parsers.worker_pids)
    assert before  # workers start with the parses that need them
    killed = await parsers.parse(author_email_redos())
    assert killed == ParseError("parsing took longer than 1 s and was stopped", "timeout")
    assert set(parsers.worker_pids) != before
    again = await parsers.parse(rss([news_entry(1, "After the kill")]))
    assert isinstance(again, ParsedFeed)
    assert again.items[0].title == "After the kill"


@pytest.mark.parametrize(
    "body",
    [
        billion_laughs(),
        parameter_laughs(),
        billion_laughs().decode().encode("utf-16"),
        billion_laughs().decode().encode("utf-16-be"),
        laughs_after_padding(),
        external_entity(),
        quadratic_blowup(200_000),
        billion_laughs().replace(b"<!DOCTYPE", b"<!doctype").replace(b"<!ENTITY", b"<!entity"),
    ],
)
def test_entity_declarations_are_refused_before_parsing(body: bytes) -> None:
    assert parse_feed(body) == ParseError("the document declares XML entities, which are refused", "entities")


async def test_a_worker_decodes_with_the_http_charset(parsers: ParserPool) -> None:
    document = "<rss><channel><item><title>Новости Бишкека</title></item></channel></rss>"
    async with FeedServer() as server:
        url = server.serve("/feed", Route(document.encode("cp1251"), charset="windows-1251"))
        async with Fetcher(POLICY) as fetcher:
            outcome = await FeedWatcher(fetcher, parsers).fetch(outlet(1, url))
    assert isinstance(outcome, Modified)
    assert outcome.items[0].title == "Новости Бишкека"


def test_results_survive_the_trip_from_a_worker() -> None:
    result = parse_feed(rss([news_entry(1, "Саммит ШОС"), news_entry(2, "CSTO drills")]))
    assert decode_result(encode_result(result)) == result
    refusal = ParseError("parsing took longer than 1 s and was stopped", "timeout")
    assert decode_result(encode_result(refusal)) == refusal


@pytest.mark.parametrize("data", [b"", b"[]", b'{"title": 1}', b'{"items": [[1, 2]]}', b"\x80pickle"])
def test_a_malformed_answer_from_a_worker_is_refused(data: bytes) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        decode_result(data)
