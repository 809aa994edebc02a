"""Safe HTTP GET for outlets: conditional, size- and time-capped, redirects checked hop by hop."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin

import aiohttp

from core.models import Validators
from watchers.freshness import delta_seconds
from watchers.guard import GuardedResolver, RefusedAddress, refusal_reason

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_private_networks: bool = False
    max_bytes: int = 10 * 1024 * 1024
    timeout: timedelta = timedelta(seconds=20)
    user_agent: str = "newsbot"
    max_redirects: int = 5
    per_host_connections: int = 4
    connections: int = 64


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag"), self.headers.get("last-modified"))

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


class Fetcher:
    """One aiohttp session for all outlets; use as `async with Fetcher(policy) as fetcher`."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.policy.allow_private_networks),
            limit=self.policy.connections,
            limit_per_host=self.policy.per_host_connections,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.policy.timeout.total_seconds(), sock_connect=10),
            headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,  # no proxy from the environment may route around the guard
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, validators: Validators = Validators()) -> Response | FetchError:
        """GET `url`, following at most `max_redirects` redirects, each hop checked by the guard."""
        headers = conditional_headers(validators)
        for _hop in range(self.policy.max_redirects + 1):
            reason = refusal_reason(url, self.policy.allow_private_networks)
            if reason is not None:
                return FetchError(f"refused: {reason}")
            response = await self._get_once(url, headers)
            if isinstance(response, FetchError) or response.status not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("location")
            if not location:
                return FetchError(f"HTTP {response.status} redirect without a Location")
            url = urljoin(url, location)
        return FetchError(f"more than {self.policy.max_redirects} redirects")

    async def _get_once(self, url: str, headers: Mapping[str, str]) -> Response | FetchError:
        if self._session is None:
            raise RuntimeError("Fetcher used outside `async with`")
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in REDIRECT_STATUSES or not 200 <= response.status < 300:
                    body = b""
                else:
                    capped = await self._read_capped(response)
                    if isinstance(capped, FetchError):
                        return capped
                    body = capped
                return Response(str(response.url), response.status, body, lowercase_headers(response.headers))
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, RefusedAddress):
                return FetchError(f"refused: {error.os_error}")
            return FetchError(
                f"cannot connect to {error.host}:{error.port}: {connection_problem(error.os_error)}"
            )
        except TimeoutError:
            return FetchError(f"no complete answer within {self.policy.timeout.total_seconds():g} s")
        except aiohttp.InvalidURL:
            return FetchError("not a valid URL")
        except aiohttp.ClientResponseError as error:
            return FetchError(f"bad HTTP response: {error.message}")
        except (aiohttp.ClientError, UnicodeError, ValueError) as error:
            return FetchError(f"fetch failed: {type(error).__name__}: {error}")

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes | FetchError:
        """The decompressed body, abandoned as soon as it passes max_bytes (gzip bombs stop here)."""
        limit = self.policy.max_bytes
        if response.content_length is not None and response.content_length > limit:
            return FetchError(f"response larger than {limit} bytes")
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                return FetchError(f"response larger than {limit} bytes")
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
