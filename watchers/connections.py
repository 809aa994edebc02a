"""Keep-alive HTTP/1.1 connections for the fetcher; every new one is resolved through the SSRF guard.

aiohttp's own protocol (ResponseHandler: the llhttp parser, its line and header limits, flow control)
reads every answer. What aiohttp's ClientSession adds around it (a connector with its own queues and
DNS cache, proxies, netrc, middlewares, traces, a request and a response object of many parts) is
work a poll does not need, and for 1,000 outlets on new connections it was most of a 304's cost.
The fetcher keeps its policy around this: the guard per hop, gates, the deadline, size caps.

ResponseHandler is not among aiohttp's documented names, hence the narrow aiohttp range in pyproject.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import aiohappyeyeballs
import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.client_proto import ResponseHandler
from multidict import CIMultiDictProxy
from yarl import URL

from watchers.guard import literal_address

# aiohttp's defaults, kept: how long an idle connection may wait for its next request, and how long
# an IPv6 attempt gets before IPv4 starts alongside it (RFC 8305).
KEEPALIVE_SECONDS = 15.0
HAPPY_EYEBALLS_DELAY = 0.25

AddrInfo = tuple[int, int, int, str, tuple[str, int] | tuple[str, int, int, int]]


class CannotConnect(Exception):
    """No connection could be opened to `host`:`port`; `cause` says why (RefusedAddress from the guard among them)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(f"{host}:{port}: {cause}")
        self.host = host
        self.port = port
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request's answer: status and headers read, the body still in `body` to be read."""

    protocol: ResponseHandler
    key: tuple[str, str, int]
    status: int
    headers: CIMultiDictProxy[str]
    body: aiohttp.StreamReader


class Connections:
    """The open connections of one fetcher; idle ones are reused for the same scheme, host and port."""

    def __init__(
        self, resolver: AbstractResolver, connect_timeout: float, headers: Mapping[str, str]
    ) -> None:
        """`headers` go with every request (the request's own follow them)."""
        self._resolver = resolver
        self._connect_timeout = connect_timeout
        self._loop = asyncio.get_running_loop()
        self._headers = "".join(header_lines({"Accept": "*/*", **headers}))
        self._idle: dict[tuple[str, str, int], list[tuple[ResponseHandler, float]]] = {}
        self._open: set[ResponseHandler] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._tls: ssl.SSLContext | None = None
        # Cookies an outlet sets are sent back to it, as aiohttp's session did (some sites redirect
        # to themselves with a cookie and loop without it).
        self._cookies = aiohttp.CookieJar()

    async def send(self, url: URL, headers: Mapping[str, str]) -> Exchange:
        """GET `url` and read the answer's head. `url` has passed the guard; its host is resolved (and
        every answer judged) here for each new connection."""
        request = self._request(url, headers)
        host, port = url.raw_host or "", url.port or 0
        key = (url.scheme, host, port)
        protocol = self._take_idle(key)
        if protocol is not None:
            try:
                return await self._exchange(protocol, key, url, request)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                pass  # the server closed the idle connection first: once more on a new one, as aiohttp does
        return await self._exchange(await self._connect(url.scheme, host, port), key, url, request)

    def release(self, exchange: Exchange) -> None:
        """Keep the connection for the next request if its answer was read to the end, else close it."""
        protocol = exchange.protocol
        if protocol.should_close or not protocol.is_connected():
            self._close(protocol)
            return
        self._idle.setdefault(exchange.key, []).append((protocol, self._loop.time()))
        if self._expiry is None:
            self._expiry = self._loop.call_later(KEEPALIVE_SECONDS, self._expire)

    async def close(self) -> None:
        """Close every connection, idle or in use, and wait until each has closed (as aiohttp did)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._idle.clear()
        closing = []
        for protocol in list(self._open):
            self._close(protocol)
            if (closed := protocol.closed) is not None:
                closing.append(closed)
        await asyncio.gather(*closing, return_exceptions=True)

    def _request(self, url: URL, headers: Mapping[str, str]) -> bytes:
        lines = [f"GET {url.raw_path_qs} HTTP/1.1\r\nHost: {url.host_port_subcomponent}\r\n{self._headers}"]
        if url.raw_user or url.raw_password:
            # Credentials in the URL are sent to its host, each hop's own, as aiohttp's session sent them.
            lines.append(
                f"Authorization: {aiohttp.encode_basic_auth(url.user or '', url.password or '')}\r\n"
            )
        cookies = self._cookies.filter_cookies(url)
        if cookies:
            lines.append(f"Cookie: {cookies.output(header='', sep=';').strip()}\r\n")
        lines += header_lines(headers)
        lines.append("\r\n")
        # surrogateescape: a validator the parser decoded that way goes back as the server's own bytes.
        return "".join(lines).encode("utf-8", "surrogateescape")

    async def _exchange(
        self, protocol: ResponseHandler, key: tuple[str, str, int], url: URL, request: bytes
    ) -> Exchange:
        try:
            # aiohttp's session defaults: no decompression (the fetcher inflates, capped), 64 KiB reads.
            protocol.set_response_params(read_until_eof=True, auto_decompress=False)
            if protocol.transport is None:
                raise aiohttp.ServerDisconnectedError()
            protocol.transport.write(request)
            while True:
                message, body = await protocol.read()
                # 1xx answers are interim; 101 would switch protocols, which we never ask for: it is final.
                if not 100 <= message.code < 200 or message.code == 101:
                    break
        except BaseException:
            self._close(protocol)
            raise
        if set_cookies := message.headers.getall("Set-Cookie", ()):
            self._cookies.update_cookies_from_headers(set_cookies, url)
        return Exchange(protocol, key, message.code, message.headers, body)

    async def _connect(self, scheme: str, host: str, port: int) -> ResponseHandler:
        try:
            async with asyncio.timeout(self._connect_timeout):
                sock = await aiohappyeyeballs.start_connection(
                    await self._addresses(host, port),
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                    loop=self._loop,
                )
                tls = self._tls_context() if scheme == "https" else None
                _, protocol = await self._loop.create_connection(
                    lambda: ResponseHandler(self._loop),
                    sock=sock,
                    ssl=tls,
                    # Certificates name hosts without the root's trailing dot.
                    server_hostname=host.rstrip(".") if tls else None,
                )
        except OSError as error:  # TimeoutError, socket.gaierror, ssl.SSLError and RefusedAddress among them
            raise CannotConnect(host, port, error) from error
        self._open.add(protocol)
        return protocol

    async def _addresses(self, host: str, port: int) -> list[AddrInfo]:
        """Where to dial: an address the URL names (which the guard judged in every form it can take),
        else every answer of the resolver, which refuses the name if any answer is not public."""
        literal = literal_address(host)
        if literal is not None:
            answers = [(str(literal), port)]
        else:
            if host.endswith(".."):
                host = host.rstrip(".") + "."  # as aiohttp: a fully qualified name keeps one trailing dot
            resolved = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
            answers = [(answer["host"], answer["port"]) for answer in resolved]
            if not answers:
                raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, to, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, to))
            for address, to in answers
        ]

    def _take_idle(self, key: tuple[str, str, int]) -> ResponseHandler | None:
        idle = self._idle.get(key)
        while idle:
            protocol, since = idle.pop()
            if not idle:
                del self._idle[key]
            # An answer the server sent while the connection sat idle (a 408 before hanging up)
            # marks it should_close; reused, it would be read as the answer to the next request.
            fresh = self._loop.time() - since <= KEEPALIVE_SECONDS
            if protocol.is_connected() and not protocol.should_close and fresh:
                return protocol
            self._close(protocol)
        return None

    def _expire(self) -> None:
        """Close connections idle longer than KEEPALIVE_SECONDS; look again while any are idle."""
        self._expiry = None
        oldest = self._loop.time() - KEEPALIVE_SECONDS
        for key, idle in list(self._idle.items()):
            kept = []
            for protocol, since in idle:
                if since > oldest and protocol.is_connected():
                    kept.append((protocol, since))
                else:
                    self._close(protocol)
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]
        if self._idle:
            self._expiry = self._loop.call_later(KEEPALIVE_SECONDS, self._expire)

    def _close(self, protocol: ResponseHandler) -> None:
        self._open.discard(protocol)
        protocol.close()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()  # verified, by the system's trust store, as aiohttp's
        return self._tls


def header_lines(headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in headers.items():
        # Validators come from earlier answers: a line break in one would add headers of the server's choosing.
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"a line break in the {name} header")
        lines.append(f"{name}: {value}\r\n")
    return lines
