"""The SSRF guard's decisions on URLs and addresses."""

from __future__ import annotations

import ipaddress

import pytest
from yarl import URL

from watchers.guard import (
    NAME_ONLY,
    Refusal,
    answer_refusal,
    checked_url,
    fetchable_url,
    forbidden_range,
    is_public_address,
    literal_address,
    refusal_reason,
)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/feed",
        "gopher://example.org/",
        "/relative/path",
        "http://127.0.0.1/feed",
        "http://127.1/feed",
        "http://2130706433/feed",
        "http://0x7f000001/feed",
        "http://0177.0.0.1/feed",
        "http://10.0.0.8/feed",
        "http://192.168.1.1/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/feed",
        "http://[::ffff:127.0.0.1]/feed",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http:///no-host",
    ],
)
def test_refuses_non_public_targets(url: str) -> None:
    assert refusal_reason(url, allow_private_networks=False) is not None


@pytest.mark.parametrize(
    "url", ["https://rus.azattyq.org/api/feed", "http://93.184.215.14/feed", "https://[2606:4700::1]/"]
)
def test_allows_public_targets(url: str) -> None:
    assert refusal_reason(url, allow_private_networks=False) is None


def test_loopback_only_when_explicitly_allowed() -> None:
    assert refusal_reason("http://127.0.0.1:8080/feed", allow_private_networks=True) is None
    assert refusal_reason("file:///etc/passwd", allow_private_networks=True) is not None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("example.org", None),
    ],
)
def test_literal_addresses_in_every_form(host: str, expected: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found else None) == expected


def test_public_address_predicate() -> None:
    assert is_public_address(ipaddress.ip_address("8.8.8.8"))
    assert not is_public_address(ipaddress.ip_address("::ffff:10.0.0.1"))


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "0x7f.1", "0X7F.0.0.1", "0177.1", "2130706433", "[::1]", "[::ffff:7f00:1]", "127.1."],
)
def test_the_name_shortcut_never_skips_a_literal(host: str) -> None:
    # Hex digits and "x" can spell an address; the shortcut must leave these to the parsers.
    assert not NAME_ONLY.fullmatch(host)
    assert literal_address(host) is not None


@pytest.mark.parametrize(
    "host", ["outlet7.example", "rus.azattyq.org", "xn--80ak6aa92e.com", "cafe.de", "a-b.cd"]
)
def test_names_are_not_addresses(host: str) -> None:
    assert literal_address(host) is None


def test_fetchable_url_is_the_url_aiohttp_connects_to() -> None:
    checked = fetchable_url("HTTP://Outlet.Example:8080/feed?x=1", allow_private_networks=False)
    assert isinstance(checked, URL)
    assert (checked.raw_host, checked.port, checked.path_qs) == ("outlet.example", 8080, "/feed?x=1")
    assert fetchable_url("http://10.1.2.3/", allow_private_networks=False) == Refusal(
        "10.1.2.3 is a private network address"
    )


def test_answers_are_judged_like_addresses() -> None:
    for text in ("93.184.215.14", "10.0.0.1", "::ffff:127.0.0.1", "169.254.169.254", "2606:4700::1"):
        assert answer_refusal(text) == forbidden_range(ipaddress.ip_address(text))


def test_verdicts_are_remembered_for_usual_urls_only() -> None:
    url = "http://outlet.example/feed"
    assert fetchable_url(url, allow_private_networks=False) is fetchable_url(
        url, allow_private_networks=False
    )
    remembered = checked_url.cache_info().currsize
    long_url = "http://10.0.0.1/" + "a" * 5000
    assert fetchable_url(long_url, allow_private_networks=False) == Refusal(
        "10.0.0.1 is a private network address"
    )
    assert checked_url.cache_info().currsize == remembered
