"""Parsing in worker processes: a document that takes too long is killed with its worker, not waited for."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import multiprocessing
import resource
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Protocol

from core.models import FeedItem, PageSelectors
from watchers.page import parse_page
from watchers.parse import ParsedFeed, ParseError, page_text, parse_feed
from watchers.sitemap import ChildSitemap, SitemapIndex, parse_sitemap
from watchers.telegram_channel import parse_channel_preview

log = logging.getLogger(__name__)

Parsed = ParsedFeed | SitemapIndex | ParseError
READY = b"ready"
STARTUP_SECONDS = 60.0


class Reader(StrEnum):
    """Which parser reads a document."""

    FEED = "feed"
    PAGE = "page"
    SITEMAP = "sitemap"
    TELEGRAM = "telegram"
    TEXT = "text"  # an article's title and visible text, as one item


@dataclass(frozen=True, slots=True)
class Reading:
    """A parse request: the reader, and what that reader needs besides the document's bytes."""

    reader: Reader = Reader.FEED
    charset: str | None = None  # feed: the charset the HTTP headers declare
    base_url: str = ""  # page, telegram: the address relative links resolve against
    selectors: PageSelectors = field(default_factory=PageSelectors)
    channel: str = ""  # telegram: the channel's name, for "missing" and "private" messages


FEED = Reading()


class DocumentParser(Protocol):
    async def parse(self, body: bytes, reading: Reading = FEED) -> Parsed: ...


def read_document(body: bytes, reading: Reading) -> Parsed:
    """Parse `body` with the reader `reading` names, in this process."""
    match reading.reader:
        case Reader.FEED:
            return parse_feed(body, reading.charset)
        case Reader.PAGE:
            return parse_page(body, reading.base_url, reading.selectors)
        case Reader.SITEMAP:
            return parse_sitemap(body)
        case Reader.TELEGRAM:
            return parse_channel_preview(body, reading.base_url, reading.channel)
        case Reader.TEXT:
            text = page_text(body)
            return ParsedFeed(text.title, (text,), "page-text")


def reason_of(parsed: SitemapIndex | ParseError) -> str:
    """Why a document that should have been one list of items (a feed, a page, a channel) is not."""
    return parsed.reason if isinstance(parsed, ParseError) else "a sitemap index, not a list of items"


class ThreadParser:
    """Parses in a thread of this process, without a time limit: for tests, not for hostile input."""

    async def parse(self, body: bytes, reading: Reading = FEED) -> Parsed:
        return await asyncio.to_thread(read_document, body, reading)


def serve(connection: Connection, memory_limit: int) -> None:
    """A worker's loop: a request and a document in, a parse result out, until the pipe closes."""
    if memory_limit:
        # Address space, not resident size: a parser that balloons fails here, not the machine.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    connection.send_bytes(READY)
    while True:
        try:
            request = connection.recv_bytes()
            body = connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            answer = encode_result(read_document(body, decode_reading(request)))
        except MemoryError:
            answer = encode_result(ParseError("the document needs too much memory to parse", "memory"))
        except RecursionError:
            answer = encode_result(ParseError("the document nests too deeply to parse", "nesting"))
        except Exception as error:  # a parser bug on one document must not take the worker down
            answer = encode_result(ParseError(f"the parser failed ({type(error).__name__})", "parser_error"))
        connection.send_bytes(answer)


# Requests and results cross the process boundary as JSON, not pickle: a worker that hostile input
# managed to subvert can then send wrong data at worst, never code for the main process to run.
def encode_reading(reading: Reading) -> bytes:
    selectors = reading.selectors
    document = {
        "reader": reading.reader.value,
        "charset": reading.charset,
        "base_url": reading.base_url,
        "selectors": [selectors.item, selectors.title, selectors.link, selectors.date],
        "channel": reading.channel,
    }
    return json.dumps(document, ensure_ascii=False).encode()


def decode_reading(data: bytes) -> Reading:
    document = json.loads(data)
    item, title, link, date = (optional_text(value) for value in document["selectors"])
    return Reading(
        Reader(document["reader"]),
        optional_text(document["charset"]),
        str(document["base_url"]),
        PageSelectors(item, title, link, date),
        str(document["channel"]),
    )


def encode_result(result: Parsed) -> bytes:
    document: dict[str, Any]
    if isinstance(result, ParseError):
        document = {"error": result.reason, "code": result.code}
    elif isinstance(result, SitemapIndex):
        document = {
            "children": [
                [child.url, child.modified.isoformat() if child.modified else None]
                for child in result.children
            ]
        }
    else:
        items = [
            [
                item.title,
                item.url,
                item.guid,
                item.summary,
                item.published.isoformat() if item.published else None,
                item.language,
            ]
            for item in result.items
        ]
        document = {
            "title": result.title,
            "parser": result.parser,
            "degraded": result.degraded,
            "items": items,
        }
    return json.dumps(document, ensure_ascii=False).encode()


def decode_result(data: bytes) -> Parsed:
    """The result a worker sent; raises ValueError, TypeError or KeyError if it is malformed."""
    document = json.loads(data)
    if "error" in document:
        return ParseError(str(document["error"]), str(document["code"]))
    if "children" in document:
        return SitemapIndex(
            tuple(
                ChildSitemap(str(url), datetime.fromisoformat(modified) if modified else None)
                for url, modified in document["children"]
            )
        )
    items = tuple(
        FeedItem(
            title=str(title),
            url=optional_text(url),
            guid=optional_text(guid),
            summary=str(summary),
            published=datetime.fromisoformat(published) if published else None,
            language=optional_text(language),
        )
        for title, url, guid, summary, published, language in document["items"]
    )
    return ParsedFeed(
        str(document["title"]),
        items,
        str(document["parser"]),
        bool(document["degraded"]),
    )


def optional_text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(slots=True)
class Worker:
    process: BaseProcess
    connection: Connection


class ParserPool:
    """A few long-lived parser processes; use as `async with ParserPool(...) as parsers`.

    Every kind of document (feed, page, sitemap, Telegram preview, article text) is parsed here.
    Each parse gets `timeout`; past it the worker is killed and replaced, so a pathological document
    (entity expansion that slipped through, feedparser's e-mail regex, a huge page) costs seconds,
    not the bot. A worker that cannot start (fork refused, not ready in time on a loaded machine)
    fails that one parse; its slot stays in the pool and the next parse starts a worker again.
    """

    def __init__(
        self, workers: int = 2, timeout: timedelta = timedelta(seconds=10), memory_limit: int = 1 << 30
    ) -> None:
        self._size = workers
        self._timeout = timeout
        self._memory_limit = memory_limit
        # One entry per slot: an idle worker, or None for a slot whose worker is yet to start.
        # Waiters then always wake, even when no worker is left to hand back; idle workers come
        # first, so a slot whose start keeps failing is tried only when every worker is busy.
        self._idle: asyncio.PriorityQueue[tuple[bool, int, Worker | None]] = asyncio.PriorityQueue()
        self._returns = itertools.count()
        for _ in range(workers):
            self._give_back(None)  # started by the parses that need them
        self._all: list[Worker] = []
        self._starting = asyncio.Lock()
        self._started = False
        # forkserver: fork() from a process with threads (aiohttp's resolver) is unsafe.
        self._context = multiprocessing.get_context("forkserver")

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (benchmarks read their CPU time)."""
        return [worker.process.pid for worker in self._all if worker.process.pid is not None]

    @property
    def live_workers(self) -> int:
        """How many workers are running; slots without one start theirs on the next parse."""
        return len(self._all)

    async def __aenter__(self) -> ParserPool:
        return self

    async def _ensure_started(self) -> None:
        """Workers start with the parses that need them, so commands that never parse start none."""
        async with self._starting:
            if self._started:
                return
            # Workers fork from a server that has imported the parsers once: a restart takes milliseconds.
            self._context.set_forkserver_preload(["watchers.workers"])
            self._started = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        workers, self._all = self._all, []
        for worker in workers:
            worker.connection.close()  # the worker reads EOF and returns
        await asyncio.to_thread(stop_all, workers)

    async def parse(self, body: bytes, reading: Reading = FEED) -> Parsed:
        """Parse `body` in a worker within the time limit; every failure is a ParseError value."""
        await self._ensure_started()
        _, _, worker = await self._idle.get()
        if worker is None:
            worker = await self._try_start()
            if worker is None:
                self._give_back(None)
                return ParseError("no parser worker could be started", "no_worker")
        try:
            result = await self._run(worker, body, reading)
        except TimeoutError:
            await self._replace(worker)
            seconds = self._timeout.total_seconds()
            return ParseError(f"parsing took longer than {seconds:g} s and was stopped", "timeout")
        except (EOFError, OSError, ValueError, TypeError, KeyError):
            await self._replace(worker)
            return ParseError("the parser process died on this document", "crashed")
        except BaseException:
            # Cancelled mid-parse: the worker may still be busy, so it cannot go back to the pool.
            await asyncio.shield(self._replace(worker))
            raise
        self._give_back(worker)
        return result

    async def _run(self, worker: Worker, body: bytes, reading: Reading) -> Parsed:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        descriptor = worker.connection.fileno()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(descriptor, wake)
        try:
            worker.connection.send_bytes(encode_reading(reading))
            worker.connection.send_bytes(body)  # the idle worker is already reading
            async with asyncio.timeout(self._timeout.total_seconds()):
                await readable
        finally:
            loop.remove_reader(descriptor)
        return decode_result(worker.connection.recv_bytes())

    async def _replace(self, worker: Worker) -> None:
        """Stop `worker` and give its slot back, with a new worker in it if one starts."""
        if worker in self._all:
            self._all.remove(worker)
        worker.connection.close()
        worker.process.kill()
        await asyncio.to_thread(worker.process.join)
        # INFO: the document's outlet already fails with the reason; a one-off command prints one line.
        log.info("parser worker replaced", extra={"pid": worker.process.pid})
        self._give_back(await self._try_start())

    async def _try_start(self) -> Worker | None:
        """A new worker, or None (logged) if it cannot start; the caller owns the slot either way."""
        starting = asyncio.ensure_future(asyncio.to_thread(self.start_worker))
        try:
            # Shielded: a cancelled caller must not lose the worker its thread goes on starting.
            return await asyncio.shield(starting)
        except (RuntimeError, OSError) as error:
            log.warning("parser worker did not start", extra={"error": str(error)})
            return None
        except asyncio.CancelledError:
            starting.add_done_callback(self._put_back)
            raise

    def _put_back(self, starting: asyncio.Future[Worker]) -> None:
        """The slot of a parse cancelled while its worker started: the worker, or an empty slot."""
        if starting.cancelled() or starting.exception() is not None:
            self._give_back(None)
        else:
            self._give_back(starting.result())

    def _give_back(self, worker: Worker | None) -> None:
        self._idle.put_nowait((worker is None, next(self._returns), worker))

    def start_worker(self) -> Worker:
        """One worker process, ready to parse; raises RuntimeError or OSError if it cannot start."""
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(theirs, self._memory_limit), name="newsbot-parser", daemon=True
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        # A parse's time limit must not be spent on a worker still starting up (on a busy machine).
        try:
            ready = ours.poll(STARTUP_SECONDS) and ours.recv_bytes() == READY
        except (EOFError, OSError):  # the worker died before it was ready
            ready = False
        if not ready:
            ours.close()
            process.kill()
            process.join()
            raise RuntimeError("a parser worker did not start")
        worker = Worker(process, ours)
        self._all.append(worker)
        return worker


def stop_all(workers: list[Worker], grace: float = 2.0) -> None:
    for worker in workers:
        worker.process.join(grace)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
