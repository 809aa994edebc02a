"""Safe HTTP GET for outlets: conditional, size- and time-capped, rate-limited, redirects checked hop by hop."""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Protocol
from urllib.parse import urljoin

import aiohttp
import brotli
from aiohttp.abc import AbstractResolver
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from core.models import Validators
from watchers.connections import CannotConnect, Connections
from watchers.freshness import cache_lifetime, delta_seconds
from watchers.guard import GuardedResolver, Refusal, RefusedAddress, fetchable_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate, br"


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_private_networks: bool = False
    max_bytes: int = 10 * 1024 * 1024
    timeout: timedelta = timedelta(seconds=20)
    connect_timeout: timedelta = timedelta(seconds=10)
    user_agent: str = "newsbot"
    max_redirects: int = 5
    per_host_limit: int = 4
    global_limit: int = 64


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))

    def max_age(self, now: datetime) -> timedelta | None:
        """How long the server says the answer stays fresh (Cache-Control max-age, else Expires)."""
        return cache_lifetime(self.headers, now)

    def is_not_modified(self) -> bool:
        """304, or a 200 with nothing in it (some servers answer that way to a conditional GET)."""
        return self.status == 304 or (self.status == 200 and not self.body.strip())

    def is_rate_limited(self) -> bool:
        return self.status in (429, 503)

    def is_ok(self) -> bool:
        return 200 <= self.status < 300

    def retry_after(self, now: datetime) -> timedelta | None:
        """The server's Retry-After, in seconds or as an HTTP date (RFC 9110 §10.2.3)."""
        value = self.headers.get("retry-after", "").strip()
        if value.isdigit():
            return delta_seconds(value)  # capped: a hostile "9" * 5000 must not raise
        try:
            return max(parsedate_to_datetime(value) - now, timedelta(0))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class FetchError:
    reason: str


class TooLarge(Exception):
    """The body (after decompression) passed the size cap."""


class Decoder(Protocol):
    def decode(self, chunk: bytes, room: int) -> bytes:
        """Decoded bytes of `chunk`; raises TooLarge rather than produce more than `room` bytes."""
        ...


class Identity:
    def decode(self, chunk: bytes, room: int) -> bytes:
        if len(chunk) > room:
            raise TooLarge
        return chunk


class Inflate:
    """gzip and deflate, inflated at most `room + 1` bytes at a time so a bomb never fills memory."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # zlib or gzip header
        self._started = False

    def decode(self, chunk: bytes, room: int) -> bytes:
        if not self._started:
            self._started = True
            try:
                return self._inflate(chunk, room)
            except zlib.error:
                # Some servers send "deflate" without the zlib header (RFC 9110 §8.4.1.2 notes this).
                self._inflater = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
        return self._inflate(chunk, room)

    def _inflate(self, chunk: bytes, room: int) -> bytes:
        output = self._inflater.decompress(chunk, room + 1)
        while self._inflater.unconsumed_tail and len(output) <= room:
            output += self._inflater.decompress(self._inflater.unconsumed_tail, room + 1 - len(output))
        if len(output) > room:
            raise TooLarge
        return output


class Unbrotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, chunk: bytes, room: int) -> bytes:
        output: bytes = self._decompressor.process(chunk, output_buffer_limit=room + 1)
        while not self._decompressor.can_accept_more_data() and len(output) <= room:
            output += self._decompressor.process(b"", output_buffer_limit=room + 1 - len(output))
        if len(output) > room:
            raise TooLarge
        return output


def decoder_for(content_encoding: str) -> Decoder | None:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return Identity()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return Inflate()
    if encoding == "br":
        return Unbrotli()
    return None


class Gates:
    """Concurrency limits: at most `per_host` requests to one host and `total` in all at once."""

    def __init__(self, per_host: int, total: int) -> None:
        self._per_host = per_host
        self._total = asyncio.Semaphore(total)
        self._hosts: dict[str, HostGate] = {}

    def slot(self, host: str) -> Slot:
        return Slot(self, host)

    @property
    def hosts_in_use(self) -> int:
        """Hosts with a request in flight or queued (an idle host keeps no entry)."""
        return len(self._hosts)

    async def acquire(self, host: str) -> HostGate:
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = HostGate(asyncio.Semaphore(self._per_host))
        gate.users += 1
        try:
            # The host's gate first, so a request queued behind a slow host holds no global slot.
            await gate.semaphore.acquire()
            try:
                await self._total.acquire()
            except BaseException:
                gate.semaphore.release()
                raise
        except BaseException:
            self._leave(host, gate)
            raise
        return gate

    def release(self, host: str, gate: HostGate) -> None:
        self._total.release()
        gate.semaphore.release()
        self._leave(host, gate)

    def _leave(self, host: str, gate: HostGate) -> None:
        gate.users -= 1
        if not gate.users:
            del self._hosts[host]


@dataclass(slots=True)
class HostGate:
    semaphore: asyncio.Semaphore
    users: int = 0


class Slot:
    """One request's place in the gates (a class, not a generator: one is entered for every request)."""

    __slots__ = ("_gate", "_gates", "_host")

    def __init__(self, gates: Gates, host: str) -> None:
        self._gates = gates
        self._host = host

    async def __aenter__(self) -> None:
        self._gate = await self._gates.acquire(self._host)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._gates.release(self._host, self._gate)


class Fetcher:
    """One set of keep-alive connections for all outlets; use as `async with Fetcher(policy) as fetcher`.

    `resolver` is what connections resolve names with: by default the system resolver behind the
    guard. Tests pass the guard over a fake DNS, inside a table that routes public-looking
    addresses to loopback servers. No proxy or credentials come from the environment: nothing here
    reads it, so nothing can route around the guard.
    """

    def __init__(self, policy: FetchPolicy, resolver: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver
        self._connections: Connections | None = None
        self._gates = Gates(policy.per_host_limit, policy.global_limit)

    async def __aenter__(self) -> Fetcher:
        resolver = self._resolver or GuardedResolver(
            aiohttp.ThreadedResolver(), self.policy.allow_private_networks
        )
        self._connections = Connections(
            resolver,
            self.policy.connect_timeout.total_seconds(),
            {"User-Agent": self.policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connections is not None:
            await self._connections.close()
            self._connections = None

    async def get(self, url: str, validators: Validators = Validators()) -> Response | FetchError:
        """GET `url`, following at most `max_redirects` redirects, each hop checked by the guard.

        The total timeout covers all hops and starts once the first hop has its concurrency slot.
        """
        headers = conditional_headers(validators)
        deadline: float | None = None
        for _hop in range(self.policy.max_redirects + 1):
            target = fetchable_url(url, self.policy.allow_private_networks)
            if isinstance(target, Refusal):
                return FetchError(f"refused: {target.reason}")
            async with self._gates.slot(target.raw_host or ""):
                deadline = deadline or asyncio.get_running_loop().time() + self.policy.timeout.total_seconds()
                try:
                    async with asyncio.timeout_at(deadline):
                        response = await self._get_once(target, headers)
                except TimeoutError:
                    return FetchError(f"no complete answer within {self.policy.timeout.total_seconds():g} s")
            if isinstance(response, FetchError) or response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("location")
            if not location:
                return FetchError(f"HTTP {response.status} redirect without a Location")
            try:
                url = urljoin(url, location)
            except ValueError:
                return FetchError(f"HTTP {response.status} redirect to an invalid URL")
        return FetchError(f"more than {self.policy.max_redirects} redirects")

    async def _get_once(self, url: URL, headers: Mapping[str, str]) -> Response | FetchError:
        if self._connections is None:
            raise RuntimeError("Fetcher used outside `async with`")
        try:
            exchange = await self._connections.send(url, headers)
            try:
                body = b""
                if 200 <= exchange.status < 300:
                    capped = await self._read_capped(exchange.headers, exchange.body)
                    if isinstance(capped, FetchError):
                        return capped
                    body = capped
            finally:
                self._connections.release(exchange)
            # The URL asked for, without fragment or credentials: it is the base of relative links,
            # which are archived and posted to chats, so a password in an outlet URL stays here.
            final_url = str(url.with_user(None).with_fragment(None))
            return Response(final_url, exchange.status, body, lowercase_headers(exchange.headers))
        except CannotConnect as error:
            if isinstance(error.cause, RefusedAddress):
                return FetchError(f"refused: {error.cause}")
            return FetchError(
                f"cannot connect to {error.host}:{error.port}: {connection_problem(error.cause)}"
            )
        except HttpProcessingError as error:
            return FetchError(f"bad HTTP response: {error.message}")
        except (aiohttp.ClientError, UnicodeError, ValueError) as error:
            return FetchError(f"fetch failed: {type(error).__name__}: {error}")

    async def _read_capped(
        self, headers: Mapping[str, str], content: aiohttp.StreamReader
    ) -> bytes | FetchError:
        """The decoded body, abandoned as soon as it would pass max_bytes (gzip bombs stop here)."""
        limit = self.policy.max_bytes
        too_large = FetchError(f"response larger than {limit} bytes")
        encoding = headers.get("Content-Encoding", "")
        decoder = decoder_for(encoding)
        if decoder is None:
            return FetchError(f"unsupported Content-Encoding {encoding!r}")
        length = headers.get("Content-Length", "")
        # Digits first: int() refuses thousands of them (the parser refuses them before this anyway).
        if not encoding and length.isdigit() and (len(length) > 18 or int(length) > limit):
            return too_large
        body = bytearray()
        try:
            async for chunk in content.iter_chunked(CHUNK_BYTES):
                body += decoder.decode(chunk, limit - len(body))
        except TooLarge:
            return too_large
        except (zlib.error, brotli.error):
            return FetchError(f"the {encoding} body is corrupt")
        return bytes(body)


def conditional_headers(validators: Validators) -> dict[str, str]:
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def connection_problem(error: OSError) -> str:
    """A few words a journalist can act on, rather than the socket library's phrasing."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, socket.gaierror):
        return "no such host"
    return error.strerror or type(error).__name__
