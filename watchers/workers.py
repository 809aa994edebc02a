"""Parsing in worker processes: a document that takes too long is killed with its worker, not waited for."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import resource
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Protocol

from core.models import FeedItem
from watchers.parse import ParsedFeed, ParseError, parse_feed

log = logging.getLogger(__name__)

ParseResult = ParsedFeed | ParseError
READY = b"ready"
STARTUP_SECONDS = 60.0


class FeedParser(Protocol):
    async def parse(self, body: bytes, charset: str | None = None) -> ParseResult: ...


class ThreadParser:
    """Parses in a thread of this process: for one-off commands and tests, not for hostile input at scale."""

    async def parse(self, body: bytes, charset: str | None = None) -> ParseResult:
        return await asyncio.to_thread(parse_feed, body, charset)


def serve(connection: Connection, memory_limit: int) -> None:
    """A worker's loop: a document in, a parse result out, until the pipe closes."""
    if memory_limit:
        # Address space, not resident size: a parser that balloons fails here, not the machine.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    connection.send_bytes(READY)
    while True:
        try:
            charset = connection.recv_bytes().decode() or None
            body = connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            answer = encode_result(parse_feed(body, charset))
        except MemoryError:
            answer = encode_result(ParseError("the document needs too much memory to parse", "memory"))
        except RecursionError:
            answer = encode_result(ParseError("the document nests too deeply to parse", "nesting"))
        except Exception as error:  # a parser bug on one document must not take the worker down
            answer = encode_result(ParseError(f"the parser failed ({type(error).__name__})", "parser_error"))
        connection.send_bytes(answer)


# Results cross the process boundary as JSON, not pickle: a worker that hostile input managed to
# subvert can then send wrong data at worst, never code for the main process to run.
def encode_result(result: ParseResult) -> bytes:
    if isinstance(result, ParseError):
        return json.dumps({"error": result.reason, "code": result.code}).encode()
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


def decode_result(data: bytes) -> ParseResult:
    """The result a worker sent; raises ValueError, TypeError or KeyError if it is malformed."""
    document = json.loads(data)
    if "error" in document:
        return ParseError(str(document["error"]), str(document["code"]))
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

    Each parse gets `timeout`; past it the worker is killed and replaced, so a pathological feed
    (entity expansion that slipped through, feedparser's e-mail regex) costs seconds, not the bot.
    """

    def __init__(
        self, workers: int = 2, timeout: timedelta = timedelta(seconds=10), memory_limit: int = 1 << 30
    ) -> None:
        self._size = workers
        self._timeout = timeout
        self._memory_limit = memory_limit
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._all: list[Worker] = []
        self._starting = asyncio.Lock()
        self._started = False
        # forkserver: fork() from a process with threads (aiohttp's resolver) is unsafe.
        self._context = multiprocessing.get_context("forkserver")

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (benchmarks read their CPU time)."""
        return [worker.process.pid for worker in self._all if worker.process.pid is not None]

    async def __aenter__(self) -> ParserPool:
        return self

    async def _ensure_started(self) -> None:
        """Workers start with the first parse, so commands that never parse never start them."""
        async with self._starting:
            if self._started:
                return
            # Workers fork from a server that has imported the parsers once: a restart takes milliseconds.
            self._context.set_forkserver_preload(["watchers.parse"])
            for _ in range(self._size):
                self._idle.put_nowait(await asyncio.to_thread(self._start))
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

    async def parse(self, body: bytes, charset: str | None = None) -> ParseResult:
        """Parse `body` in a worker within the time limit; every failure is a ParseError value."""
        await self._ensure_started()
        worker = await self._idle.get()
        try:
            result = await self._run(worker, body, charset)
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
        self._idle.put_nowait(worker)
        return result

    async def _run(self, worker: Worker, body: bytes, charset: str | None) -> ParseResult:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        descriptor = worker.connection.fileno()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(descriptor, wake)
        try:
            worker.connection.send_bytes((charset or "").encode())
            worker.connection.send_bytes(body)  # the idle worker is already reading
            async with asyncio.timeout(self._timeout.total_seconds()):
                await readable
        finally:
            loop.remove_reader(descriptor)
        return decode_result(worker.connection.recv_bytes())

    async def _replace(self, worker: Worker) -> None:
        if worker in self._all:
            self._all.remove(worker)
        worker.connection.close()
        worker.process.kill()
        await asyncio.to_thread(worker.process.join)
        log.warning("parser worker replaced", extra={"pid": worker.process.pid})
        self._idle.put_nowait(await asyncio.to_thread(self._start))

    def _start(self) -> Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(theirs, self._memory_limit), name="newsbot-parser", daemon=True
        )
        process.start()
        theirs.close()
        # A parse's time limit must not be spent on a worker still starting up (on a busy machine).
        if not ours.poll(STARTUP_SECONDS) or ours.recv_bytes() != READY:
            process.kill()
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
