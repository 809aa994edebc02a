"""The SSRF guard: which URLs and addresses newsbot may fetch from, with reasons a user can read."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

ALLOWED_SCHEMES = frozenset({"http", "https"})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
METADATA = ipaddress.ip_address("169.254.169.254")
CACHED_URL_CHARS = 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A host made of DNS name characters with a letter no address literal can hold (hex digits and the
# "x" of 0x7f.1 can; g-w, y, z cannot, nor can "-"), so neither ipaddress nor inet_aton can read it
# as an address. Anything else (digits, hex-looking names, brackets, spaces, "%") takes the full check.
NAME_ONLY = re.compile(r"[a-z0-9.-]*[g-wyz-][a-z0-9.-]*", re.IGNORECASE)


class RefusedAddress(OSError):
    """Raised from the resolver so the connection is never made."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4), which is what gets reached."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def forbidden_range(address: IPAddress) -> str | None:
    """The kind of non-public network `address` is in (for the refusal message), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        return forbidden_range(inner)
    checks = (
        (address == METADATA, "the cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_link_local, "a link-local address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "a carrier-grade NAT address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private network address"),
        (not address.is_global, "a reserved address"),
    )
    return next((kind for hit, kind in checks if hit), None)


def is_public_address(address: IPAddress) -> bool:
    """False for loopback, private, link-local (incl. cloud metadata), CGNAT, multicast, reserved."""
    return forbidden_range(address) is None


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any form the C library would accept (0x7f.1, 2130706433)."""
    if NAME_ONLY.fullmatch(host):
        return None  # the common case, a DNS name, without two parsers raising on it
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None


@lru_cache(maxsize=4096)
def answer_refusal(address: str) -> str | None:
    """The forbidden range of a resolved address, by its text (cached: the same answers come back every poll)."""
    return forbidden_range(ipaddress.ip_address(address))


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str


def fetchable_url(url: str, allow_private_networks: bool) -> URL | Refusal:
    """`url` parsed as the fetcher will connect to it, or why it may not be fetched. Names are checked again when they resolve."""
    # The verdict depends on the text alone (names are judged again at every connection), so it can
    # be remembered; not for long URLs, which sitemaps and redirects choose and could fill memory with.
    if len(url) <= CACHED_URL_CHARS:
        return checked_url(url, allow_private_networks)
    return check_url(url, allow_private_networks)


@lru_cache(maxsize=4096)
def checked_url(url: str, allow_private_networks: bool) -> URL | Refusal:
    """check_url, remembered: the same outlets are polled by the same URLs all day."""
    return check_url(url, allow_private_networks)


def check_url(url: str, allow_private_networks: bool) -> URL | Refusal:
    try:
        # The fetcher's connections dial the host of this very URL object (yarl's reading, as
        # aiohttp's), so the host judged here is the host dialled: there is no second reading.
        parsed = URL(url)
        host = parsed.raw_host
    except (ValueError, TypeError):
        return Refusal("not a valid URL")
    scheme = parsed.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return Refusal(f"only http and https URLs can be fetched, not {scheme or 'a bare path'!r}")
    if not host:
        return Refusal("the URL has no host")
    address = literal_address(host)
    if address is not None and not allow_private_networks and (kind := forbidden_range(address)):
        return Refusal(f"{host} is {kind}")
    return parsed


def refusal_reason(url: str, allow_private_networks: bool) -> str | None:
    """Why `url` may not be fetched, or None. Names are checked again when they resolve."""
    checked = fetchable_url(url, allow_private_networks)
    return checked.reason if isinstance(checked, Refusal) else None


class GuardedResolver(AbstractResolver):
    """Refuses a name if any of its DNS answers is not public, so DNS cannot point us inward.

    The fetcher's connections dial only the addresses this returns, and resolve for every new
    connection, so this is also the check at connect time (no rebinding between check and use).
    """

    def __init__(self, dns: AbstractResolver, allow_private_networks: bool) -> None:
        self._dns = dns
        self._allow_private_networks = allow_private_networks

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._dns.resolve(host, port, family)
        if not self._allow_private_networks:
            # One inward answer refuses the name: a mixed answer lets the connector pick either.
            for answer in answers:
                kind = answer_refusal(answer["host"])
                if kind is not None:
                    raise RefusedAddress(f"{host} resolves to {answer['host']}, {kind}")
        return answers

    async def close(self) -> None:
        await self._dns.close()
