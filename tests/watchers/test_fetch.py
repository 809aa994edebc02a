"""Fetching against a local fake outlet server: conditional GET, caps, redirects, refusals."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import brotli
import pytest

from core.models import Failed, Modified, NotModified, Outlet, OutletKind, OutletState, Validators
from tests.fake_servers.dns import FakeDNS, LoopbackRoutes
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from watchers.fetch import Fetcher, FetchError, FetchPolicy, Gates, Response
from watchers.guard import GuardedResolver
from watchers.watcher import FeedWatcher
from watchers.workers import ThreadParser

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A loopback TCP server speaking through a handler: its port and the connections it took."""

    def __init__(self, port: int, handlers: list[asyncio.Task[None] | None]) -> None:
        self.port = port
        self._handlers = handlers

    @property
    def connections(self) -> int:
        return len(self._handlers)


@contextlib.asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[RawServer]:
    """A RawServer answering with `handle`. On exit every handler has finished and closed its
    connection, so no socket outlives the test's event loop."""
    handlers: list[asyncio.Task[None] | None] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())
        try:
            await handle(reader, writer)
        finally:
            writer.close()

    listener = await asyncio.start_server(tracked, "127.0.0.1", 0)
    async with listener:
        yield RawServer(listener.sockets[0].getsockname()[1], handlers)
        running = [task for task in handlers if task is not None]
        await asyncio.wait_for(asyncio.gather(*running, return_exceptions=True), timeout=5)


LOOPBACK = FetchPolicy(allow_private_networks=True, timeout=timedelta(seconds=2), max_bytes=100_000)
PUBLIC = "93.184.215.14"


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


def outlet(url: str, validators: Validators = Validators()) -> Outlet:
    return Outlet(1, "Fake", url, OutletKind.FEED, timedelta(minutes=5), OutletState(validators=validators))


async def test_conditional_get_turns_into_not_modified(server: FeedServer) -> None:
    url = server.serve("/feed", Route(rss([news_entry(1, "CSTO drills")]), etag='"v1"'))
    async with Fetcher(LOOPBACK) as fetcher:
        watcher = FeedWatcher(fetcher, ThreadParser())
        first = await watcher.fetch(outlet(url))
        assert isinstance(first, Modified)
        assert [i.title for i in first.items] == ["CSTO drills"]
        assert first.validators.etag == '"v1"'
        second = await watcher.fetch(outlet(url, first.validators))
    assert second == NotModified(Validators('"v1"', None))
    assert server.requests[1][1]["If-None-Match"] == '"v1"'


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(b"oops", status=500), "HTTP 500"),
        (Route(b"<html><body>a page</body></html>", content_type="text/html"), "not a feed"),
        (Route(b"x" * 100_001), "larger than 100000 bytes"),
        (Route(rss([]), delay=3), "no complete answer within 2 s"),
    ],
)
async def test_failures_are_values_with_reasons(server: FeedServer, route: Route, reason: str) -> None:
    url = server.serve("/feed", route)
    async with Fetcher(LOOPBACK) as fetcher:
        outcome = await FeedWatcher(fetcher, ThreadParser()).fetch(outlet(url))
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


async def test_rate_limit_carries_retry_after(server: FeedServer) -> None:
    url = server.serve("/feed", Route(b"", status=429, headers={"Retry-After": "120"}))
    async with Fetcher(LOOPBACK) as fetcher:
        outcome = await FeedWatcher(fetcher, ThreadParser()).fetch(outlet(url))
    assert outcome == Failed("HTTP 429: the outlet asks us to slow down", timedelta(seconds=120))


async def test_decompressed_size_is_capped(server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros in about 50 KB
    url = server.serve("/bomb", Route(bomb, headers={"Content-Encoding": "gzip"}))
    async with Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(url)
    assert result == FetchError("response larger than 100000 bytes")


async def test_redirects_are_followed_and_limited(server: FeedServer) -> None:
    server.serve("/old", Route(status=301, headers={"Location": "/new"}))
    server.serve("/new", Route(rss([news_entry(2, "SCO summit")])))
    server.serve("/loop", Route(status=302, headers={"Location": "/loop"}))
    async with Fetcher(LOOPBACK) as fetcher:
        moved = await fetcher.get(server.url("/old"))
        looping = await fetcher.get(server.url("/loop"))
    assert isinstance(moved, Response)
    assert moved.url.endswith("/new")
    assert looping == FetchError("more than 5 redirects")


async def test_a_redirect_to_garbage_is_a_value(server: FeedServer) -> None:
    url = server.serve("/odd", Route(status=302, headers={"Location": "http://[not-an-address/"}))
    async with Fetcher(LOOPBACK) as fetcher:
        assert await fetcher.get(url) == FetchError("HTTP 302 redirect to an invalid URL")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_private_networks_are_refused_before_any_request(server: FeedServer, host: str) -> None:
    server.serve("/feed", Route(rss([])))
    async with Fetcher(FetchPolicy()) as fetcher:
        result = await fetcher.get(f"http://{host}:{server.port}/feed")
    assert isinstance(result, FetchError)
    assert result.reason.startswith("refused:")
    assert server.requests == []


async def test_every_redirect_hop_is_checked(server: FeedServer) -> None:
    server.serve("/evil", Route(status=307, headers={"Location": "file:///etc/passwd"}))
    async with Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(server.url("/evil"))
    assert result == FetchError("refused: only http and https URLs can be fetched, not 'file'")


def test_retry_after_as_an_http_date() -> None:
    response = Response("https://example.org/", 503, b"", {"retry-after": "Thu, 01 Jan 2026 00:02:00 GMT"})
    assert response.retry_after(datetime(2026, 1, 1, tzinfo=UTC)) == timedelta(minutes=2)


FEED = rss([news_entry(3, "Caspian pipeline")])


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(FEED)),
        ("deflate", zlib.compress(FEED)),
        ("deflate", zlib.compress(FEED)[2:-4]),  # raw deflate, as some servers send it
        ("br", brotli.compress(FEED)),
        ("identity", FEED),
    ],
    ids=["gzip", "zlib", "raw-deflate", "br", "identity"],
)
async def test_compressed_bodies_are_decoded(server: FeedServer, encoding: str, body: bytes) -> None:
    url = server.serve("/feed", Route(body, headers={"Content-Encoding": encoding}))
    async with Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(url)
    assert isinstance(result, Response)
    assert result.body == FEED
    assert server.requests[0][1]["Accept-Encoding"] == "gzip, deflate, br"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("br", brotli.compress(b"\0" * 5_000_000, quality=5)),
        ("deflate", zlib.compress(b"\0" * 5_000_000)),
        ("identity", b"x" * 100_001),
    ],
    ids=["br", "deflate", "identity"],
)
async def test_the_cap_holds_for_every_encoding(server: FeedServer, encoding: str, body: bytes) -> None:
    url = server.serve("/bomb", Route(body, headers={"Content-Encoding": encoding}))
    async with Fetcher(LOOPBACK) as fetcher:
        assert await fetcher.get(url) == FetchError("response larger than 100000 bytes")


async def test_exactly_at_the_cap_is_accepted(server: FeedServer) -> None:
    url = server.serve("/full", Route(gzip.compress(b" " * 100_000), headers={"Content-Encoding": "gzip"}))
    async with Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(url)
    assert isinstance(result, Response)
    assert len(result.body) == 100_000


async def test_unknown_or_corrupt_encodings_fail_with_a_reason(server: FeedServer) -> None:
    server.serve("/zstd", Route(b"...", headers={"Content-Encoding": "zstd"}))
    server.serve("/corrupt", Route(b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    async with Fetcher(LOOPBACK) as fetcher:
        assert await fetcher.get(server.url("/zstd")) == FetchError("unsupported Content-Encoding 'zstd'")
        assert await fetcher.get(server.url("/corrupt")) == FetchError("the gzip body is corrupt")


async def test_an_honest_user_agent_is_sent(server: FeedServer) -> None:
    url = server.serve("/feed", Route(FEED))
    policy = FetchPolicy(allow_private_networks=True, user_agent="newsbot/0.1 (+https://example.org/bot)")
    async with Fetcher(policy) as fetcher:
        await fetcher.get(url)
    assert server.requests[0][1]["User-Agent"] == "newsbot/0.1 (+https://example.org/bot)"


async def test_an_empty_200_to_a_conditional_get_is_not_modified(server: FeedServer) -> None:
    url = server.serve("/feed", Route(b"  \n", headers={"Cache-Control": "max-age=600"}))
    async with Fetcher(LOOPBACK) as fetcher:
        outcome = await FeedWatcher(fetcher, ThreadParser()).fetch(
            outlet(url, Validators(last_modified="yesterday"))
        )
    # Validators the answer does not repeat are kept for the next conditional GET.
    assert outcome == NotModified(Validators(last_modified="yesterday"), timedelta(minutes=10))
    assert server.requests[0][1]["If-Modified-Since"] == "yesterday"


async def test_freshness_hints_reach_the_outcome(server: FeedServer) -> None:
    body = FEED.replace(b"<language>", b"<ttl>45</ttl><language>")
    headers = {"Cache-Control": "public, max-age=300", "Expires": "Thu, 26 Nov 2026 12:00:00 GMT"}
    url = server.serve("/feed", Route(body, headers=headers))
    async with Fetcher(LOOPBACK) as fetcher:
        outcome = await FeedWatcher(fetcher, ThreadParser()).fetch(outlet(url))
    assert isinstance(outcome, Modified)
    # Cache-Control wins over Expires (RFC 9111 §4.2.1); the <ttl> is in minutes.
    assert (outcome.max_age, outcome.ttl) == (timedelta(minutes=5), timedelta(minutes=45))


async def test_gates_limit_requests_per_host_and_in_all() -> None:
    gates = Gates(per_host=2, total=3)
    release = asyncio.Event()
    inside: list[str] = []

    async def hold(host: str) -> None:
        async with gates.slot(host):
            inside.append(host)
            await release.wait()

    tasks = [asyncio.create_task(hold(host)) for host in ["a", "a", "a", "b", "b", "c"]]
    for _ in range(10):
        await asyncio.sleep(0)  # let every task that can enter do so
    assert sorted(inside) == ["a", "a", "b"]
    release.set()
    await asyncio.gather(*tasks)
    assert sorted(inside) == ["a", "a", "a", "b", "b", "c"]


async def test_a_request_cancelled_in_the_queue_gives_its_place_back() -> None:
    gates = Gates(per_host=1, total=1)
    release = asyncio.Event()
    entered: list[str] = []

    async def hold(host: str) -> None:
        async with gates.slot(host):
            entered.append(host)
            await release.wait()

    holder = asyncio.create_task(hold("a"))
    queued_on_host = asyncio.create_task(hold("a"))
    queued_on_total = asyncio.create_task(hold("b"))
    for _ in range(10):
        await asyncio.sleep(0)
    queued_on_host.cancel()
    queued_on_total.cancel()
    await asyncio.gather(queued_on_host, queued_on_total, return_exceptions=True)
    release.set()
    await holder
    assert entered == ["a"]
    # Nothing leaked: the host's gate and the global one are free again (a leak would hang here).
    async with asyncio.timeout(2):
        for host in ("a", "b"):
            async with gates.slot(host):
                entered.append(host)
    assert entered == ["a", "a", "b"]
    assert gates.hosts_in_use == 0


async def test_a_validator_with_a_line_break_is_never_sent(server: FeedServer) -> None:
    # Validators are the server's own words from an earlier answer; a line break would smuggle headers.
    url = server.serve("/feed", Route(rss([]), etag='"v1"'))
    async with Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(url, Validators('"v1"\r\nX-Smuggled: yes'))
    assert isinstance(result, FetchError)
    assert server.requests == []


async def test_cookies_an_outlet_sets_go_back_to_it(server: FeedServer) -> None:
    # Some outlets set a cookie and redirect to themselves; without it they would redirect forever.
    server.serve("/gate", Route(status=302, headers={"Location": "/feed", "Set-Cookie": "seen=1; Path=/"}))
    server.serve("/feed", Route(rss([news_entry(1, "CSTO drills")])))
    dns = FakeDNS({"outlet.example": [PUBLIC]})
    resolver = LoopbackRoutes(GuardedResolver(dns, allow_private_networks=False), {PUBLIC: server.port})
    async with Fetcher(FetchPolicy(), resolver) as fetcher:
        result = await fetcher.get("http://outlet.example/gate")
    assert isinstance(result, Response)
    assert result.status == 200
    assert "Cookie" not in server.requests[0][1]
    assert server.requests[1][1]["Cookie"] == "seen=1"


async def test_interim_answers_are_skipped() -> None:
    # A 103 Early Hints comes before the real answer on the same connection.
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
            b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: "e"\r\n\r\nok'
        )
        await writer.drain()

    async with raw_server(answer) as server, Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(f"http://127.0.0.1:{server.port}/feed")
    assert isinstance(result, Response)
    assert (result.status, result.body, result.headers["etag"]) == (200, b"ok", '"e"')


async def test_a_name_without_addresses_is_a_value() -> None:
    resolver = GuardedResolver(FakeDNS({"empty.example": []}), allow_private_networks=False)
    async with Fetcher(FetchPolicy(), resolver) as fetcher:
        result = await fetcher.get("http://empty.example/feed")
    assert result == FetchError("cannot connect to empty.example:80: no such host")


async def test_an_idle_connection_the_server_dropped_is_replaced_once() -> None:
    # The server answers one request per connection and hangs up on the next, as a server whose
    # keep-alive ran out just as we reused the connection: the request goes again on a new one.
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")

    async with raw_server(answer_once) as server, Fetcher(LOOPBACK) as fetcher:
        url = f"http://127.0.0.1:{server.port}/feed"
        results = [await fetcher.get(url), await fetcher.get(url)]
    assert [(r.status, r.body) for r in results if isinstance(r, Response)] == [(200, b"ok"), (200, b"ok")]
    assert server.connections == 2


async def test_credentials_in_the_url_are_sent_to_its_host(server: FeedServer) -> None:
    server.serve("/feed", Route(rss([])))
    async with Fetcher(LOOPBACK) as fetcher:
        result = await fetcher.get(f"http://reader:s3cret@127.0.0.1:{server.port}/feed")
    assert isinstance(result, Response)
    assert server.requests[0][1]["Authorization"] == "Basic cmVhZGVyOnMzY3JldA=="
    # The response URL is the base of the links archived and posted to chats: no password in it.
    assert result.url == f"http://127.0.0.1:{server.port}/feed"


async def test_an_answer_sent_to_an_idle_connection_is_not_taken_for_the_next_request() -> None:
    # The server answers, then writes an unrequested 408 while the connection sits idle: the next
    # request must go on a new connection and get its own answer.
    async def answer_then_time_out(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.02)  # the first answer has been read and the connection put aside
        writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 5\r\n\r\nstale")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")

    async with raw_server(answer_then_time_out) as server, Fetcher(LOOPBACK) as fetcher:
        url = f"http://127.0.0.1:{server.port}/feed"
        first = await fetcher.get(url)
        await asyncio.sleep(0.1)  # the stale answer arrives while the connection is idle
        second = await fetcher.get(url)
    assert [(r.status, r.body) for r in (first, second) if isinstance(r, Response)] == [
        (200, b"ok"),
        (200, b"ok"),
    ]
    assert server.connections == 2
