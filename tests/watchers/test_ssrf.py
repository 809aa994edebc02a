"""The SSRF suite: every way to point newsbot inward is refused, and a loopback sentinel hears nothing.

A sentinel server listens on 127.0.0.1; every forbidden URL names it (directly, through a fake DNS
answer, or through a redirect), so a single request reaching it would show a hole in the guard.
Public controls go through the same guard: a fake DNS answers with public addresses, and a route
table dials those at a second loopback server, standing in for the internet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.fake_servers.dns import FakeDNS, LoopbackRoutes
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from watchers.fetch import Fetcher, FetchError, FetchPolicy, Response
from watchers.guard import GuardedResolver

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700::6810:85e5"
RECORDS = {
    "news.example": [PUBLIC_V4],
    "news6.example": [PUBLIC_V6],
    "localhost": ["127.0.0.1"],
    "loopback.example": ["127.0.0.1"],
    "loopback6.example": ["::1"],
    "private10.example": ["10.1.2.3"],
    "private172.example": ["172.20.0.5"],
    "private192.example": ["192.168.1.10"],
    "ula.example": ["fd00::1"],
    "linklocal.example": ["169.254.1.1"],
    "linklocal6.example": ["fe80::1"],
    "metadata.example": ["169.254.169.254"],
    "cgnat.example": ["100.100.100.100"],
    "multicast.example": ["239.1.1.1"],
    "multicast6.example": ["ff02::1"],
    "reserved.example": ["240.0.0.5"],
    "broadcast.example": ["255.255.255.255"],
    "unspecified.example": ["0.0.0.0"],  # noqa: S104 - a DNS answer under test, not a bind address
    "mapped.example": ["::ffff:10.0.0.1"],
    "nat64.example": ["64:ff9b::7f00:1"],
    "6to4.example": ["2002:a9fe:a9fe::"],
    "mixed.example": [PUBLIC_V4, "127.0.0.1"],
    "mixed-order.example": ["10.0.0.7", PUBLIC_V4],
    "mixed6.example": [PUBLIC_V6, "::1"],
}


@dataclass
class Internet:
    sentinel: FeedServer
    public: FeedServer
    dns: FakeDNS
    fetcher: Fetcher


@pytest.fixture
async def internet() -> AsyncIterator[Internet]:
    async with FeedServer() as sentinel, FeedServer() as public:
        sentinel.serve("/", Route(b"secret"))
        public.serve("/feed", Route(rss([news_entry(1, "CSTO summit")])))
        dns = FakeDNS(RECORDS)
        routes = {PUBLIC_V4: public.port, PUBLIC_V6: public.port}
        resolver = LoopbackRoutes(GuardedResolver(dns, allow_private_networks=False), routes)
        async with Fetcher(FetchPolicy(), resolver) as fetcher:
            yield Internet(sentinel, public, dns, fetcher)
        assert sentinel.requests == [], "a forbidden request reached the loopback sentinel"


LITERALS = [
    "http://127.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://0x7f.0.0.1:{port}/",
    "http://017700000001:{port}/",
    "http://127.0.0.1.:{port}/",
    "http://①②⑦.0.0.1:{port}/",
    "http://0.0.0.0:{port}/",
    "http://0:{port}/",
    "http://[::1]:{port}/",
    "http://[::]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[64:ff9b::7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://10.0.0.1:{port}/",
    "http://172.16.0.1:{port}/",
    "http://192.168.0.1:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.64.0.1:{port}/",
    "http://224.0.0.1:{port}/",
    "http://240.0.0.1:{port}/",
    "http://[fe80::1]:{port}/",
    "http://[fc00::1]:{port}/",
    "http://[ff02::1]:{port}/",
    "https://127.0.0.1:{port}/",
    "http://user:pass@127.0.0.1:{port}/",
]
NAMES = [f"http://{name}:{{port}}/" for name in RECORDS if not name.startswith("news")]
SCHEMES = [
    "file:///etc/passwd",
    "ftp://news.example/feed",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "dict://127.0.0.1:{port}/",
    "ws://127.0.0.1:{port}/",
    "data:text/plain,hello",
    "javascript:alert(1)",
    "jar:http://news.example/feed!/",
    "//127.0.0.1:{port}/",
    "/feed",
]


@pytest.mark.parametrize("template", LITERALS + NAMES + SCHEMES)
async def test_forbidden_targets_are_refused_with_a_reason(internet: Internet, template: str) -> None:
    result = await internet.fetcher.get(template.format(port=internet.sentinel.port))
    assert isinstance(result, FetchError)
    assert result.reason.startswith("refused:"), result.reason


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/",
        "http://loopback.example:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://mixed.example:{port}/",
        "file:///etc/passwd",
    ],
)
async def test_redirects_to_forbidden_targets_are_refused(
    internet: Internet, status: int, target: str
) -> None:
    location = target.format(port=internet.sentinel.port)
    internet.public.serve("/moved", Route(status=status, headers={"Location": location}))
    result = await internet.fetcher.get(f"http://news.example:{internet.public.port}/moved")
    assert isinstance(result, FetchError)
    assert result.reason.startswith("refused:"), result.reason


async def test_a_forbidden_hop_deep_in_a_chain_is_refused(internet: Internet) -> None:
    internet.public.serve("/a", Route(status=301, headers={"Location": "/b"}))
    internet.public.serve("/b", Route(status=302, headers={"Location": "http://news6.example/c"}))
    internet.public.serve(
        "/c", Route(status=307, headers={"Location": f"http://2130706433:{internet.sentinel.port}/"})
    )
    result = await internet.fetcher.get("http://news.example/a")
    assert result == FetchError("refused: 2130706433 is a loopback address")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://metadata.example/",
            "refused: metadata.example resolves to 169.254.169.254, the cloud metadata address",
        ),
        ("http://mixed.example/", "refused: mixed.example resolves to 127.0.0.1, a loopback address"),
        ("http://10.0.0.1/", "refused: 10.0.0.1 is a private network address"),
        ("http://100.64.0.1/", "refused: 100.64.0.1 is a carrier-grade NAT address"),
        ("file:///etc/passwd", "refused: only http and https URLs can be fetched, not 'file'"),
    ],
)
async def test_refusals_read_as_sentences(internet: Internet, url: str, reason: str) -> None:
    assert await internet.fetcher.get(url) == FetchError(reason)


@pytest.mark.parametrize("url", ["http://news.example/feed", "http://news6.example/feed"])
async def test_public_controls_are_fetched(internet: Internet, url: str) -> None:
    result = await internet.fetcher.get(url)
    assert isinstance(result, Response)
    assert result.status == 200
    assert b"CSTO summit" in result.body


async def test_a_public_redirect_is_followed(internet: Internet) -> None:
    internet.public.serve("/old", Route(status=308, headers={"Location": "http://news6.example/feed"}))
    result = await internet.fetcher.get("http://news.example/old")
    assert isinstance(result, Response)
    assert b"CSTO summit" in result.body


async def test_a_name_that_turns_inward_is_refused_at_the_next_connection(internet: Internet) -> None:
    # DNS rebinding: the first answer is public, the next one loopback. Each new connection asks the
    # guard again, so the second fetch is refused rather than served from a cached public answer.
    internet.public.serve("/once", Route(rss([]), headers={"Connection": "close"}))
    url = f"http://rebinding.example:{internet.sentinel.port}/once"
    internet.dns.records["rebinding.example"] = [PUBLIC_V4]
    first = await internet.fetcher.get(url)
    assert isinstance(first, Response)
    assert first.status == 200
    internet.dns.records["rebinding.example"] = ["127.0.0.1"]
    second = await internet.fetcher.get(url)
    assert second == FetchError("refused: rebinding.example resolves to 127.0.0.1, a loopback address")
    assert internet.dns.questions.count("rebinding.example") == 2
