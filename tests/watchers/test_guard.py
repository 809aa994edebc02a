"""The SSRF guard's decisions on URLs and addresses."""

from __future__ import annotations

import ipaddress

import pytest

from watchers.guard import is_public_address, literal_address, refusal_reason


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
