"""The SSRF guard: which URLs and addresses newsbot may fetch from."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp import ThreadedResolver
from aiohttp.abc import ResolveResult

ALLOWED_SCHEMES = frozenset({"http", "https"})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(OSError):
    """Raised from the resolver so aiohttp aborts the connection before it is made."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4), which is what gets reached."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def is_public_address(address: IPAddress) -> bool:
    """False for loopback, private, link-local (incl. cloud metadata), CGNAT, multicast, reserved."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        return is_public_address(inner)
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return False
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any form the C library would accept (0x7f.1, 2130706433)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def refusal_reason(url: str, allow_private_networks: bool) -> str | None:
    """Why `url` may not be fetched, or None. Names are checked again when they resolve."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}"
    if not host:
        return "the URL has no host"
    address = literal_address(host)
    if address is not None and not allow_private_networks and not is_public_address(address):
        return f"{host} is a private or reserved address"
    return None


class GuardedResolver(ThreadedResolver):
    """Refuses a name if any of its addresses is not public, so DNS cannot point us inward."""

    def __init__(self, allow_private_networks: bool) -> None:
        super().__init__()
        self._allow_private_networks = allow_private_networks

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await super().resolve(host, port, family)
        if not self._allow_private_networks:
            for answer in answers:
                if not is_public_address(ipaddress.ip_address(answer["host"])):
                    raise RefusedAddress(f"{host} resolves to a private or reserved address")
        return answers
