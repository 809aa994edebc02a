"""Benchmark: CPU per poll for 1,000 outlets on loopback, all changed and then all 304, against a naive poller.

A server process (not measured) serves 1,000 feeds, one per host name `outletN.example`; a fake DNS
answers each name with a public address, the SSRF guard checks it, and a route table dials it on
loopback, so every poll pays for the guard, a fresh connection and a host of its own. Each round
opens a new session, as polls minutes apart would, and is measured 3 times: the round of median
CPU is printed, for both pollers, since one round swings with whatever else the machine does. "Changed" polls get a 200 and parse the body
(in the worker pool); "not modified" polls send the ETag back and get a 304, which never reaches a
parser. CPU is this process plus the parser workers (process time, /proc). The baseline, measured
in the same run, is the usual naive poller: one aiohttp session with its defaults (auto-decompress,
no guard) and feedparser with its defaults in the event loop, polling the same 1,000 host names
(a connection each) or the one host (keep-alive), so each row compares like with like.
A second table gives the database side of the not-modified cycle (each outlet's state saved) with
a watcher that answers at once: a transaction per outlet, as before, against poll_outlets.
Run: python bench/poll.py [--outlets N] [--corpus]   (--corpus: serve the 200 real feeds in rotation
instead of a typical 30-item news feed)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
import feedparser
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.parse import cpu_seconds  # noqa: E402
from core.models import (  # noqa: E402
    FetchOutcome,
    Modified,
    NotModified,
    Outlet,
    OutletKind,
    OutletSpec,
    OutletState,
)
from core.polling import poll_outlet, poll_outlets  # noqa: E402
from core.watchlist import compile_watchlist  # noqa: E402
from storage.archive import SqlArchive  # noqa: E402
from storage.database import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.fake_servers.dns import FakeDNS, LoopbackRoutes  # noqa: E402
from watchers.fetch import Fetcher, FetchPolicy  # noqa: E402
from watchers.guard import GuardedResolver  # noqa: E402
from watchers.watcher import FeedWatcher  # noqa: E402
from watchers.workers import ParserPool  # noqa: E402

PUBLIC = "93.184.215.14"
CORPUS = ROOT.parent / "shared" / "corpora" / "feeds"
GOAL_CHANGED_MS = 3.0
GOAL_NOT_MODIFIED_MS = 0.3
ROUNDS = 3  # each round is measured this many times (a new session each), the median reported


def news_feed(number: int, items: int = 30) -> bytes:
    """A typical outlet feed: 30 items with a title, link, GUID, date and a paragraph of summary."""
    published = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    entries = "".join(
        f"<item><title>Outlet {number}: report {n} on the Caspian summit and regional security</title>"
        f"<link>https://outlet{number}.example/news/{n}</link><guid>outlet{number}-{n}</guid>"
        f"<pubDate>{format_datetime(published - timedelta(minutes=n))}</pubDate>"
        f"<description>&lt;p&gt;Ministers of Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan and "
        f"Uzbekistan met in Astana on Tuesday to discuss water, energy and transport corridors, "
        f"the &lt;b&gt;{n}th&lt;/b&gt; meeting this year, officials said.&lt;/p&gt;</description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {number}</title>'
        f"<link>https://outlet{number}.example/</link><language>en</language>{entries}</channel></rss>"
    ).encode()


def serve(connection: Connection, outlets: int, use_corpus: bool) -> None:
    """The server process: 1,000 feeds with ETags until the pipe closes."""
    if use_corpus:
        corpus = sorted(p.read_bytes() for p in CORPUS.iterdir() if p.name != "index.tsv")
        feeds = [corpus[n % len(corpus)] for n in range(outlets)]
    else:
        feeds = [news_feed(n) for n in range(outlets)]

    async def handle(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        etag = f'"v{number}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=feeds[number], content_type="application/rss+xml", headers={"ETag": etag})

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/feed/{number}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        connection.send(runner.addresses[0][1])
        await asyncio.get_running_loop().run_in_executor(None, wait_for_close, connection)
        await runner.cleanup()

    asyncio.run(run())


def wait_for_close(connection: Connection) -> None:
    with contextlib.suppress(EOFError):
        connection.recv()


def outlets_for(count: int, etag: bool, one_host: bool) -> list[Outlet]:
    state = OutletState()
    return [
        Outlet(
            n,
            f"outlet {n}",
            f"http://{'outlets' if one_host else f'outlet{n}'}.example/feed/{n}",
            OutletKind.FEED,
            timedelta(minutes=5),
            OutletState(validators=type(state.validators)(f'"v{n}"')) if etag else state,
        )
        for n in range(count)
    ]


Round = tuple[float, float, list[str]]


def median(rounds: list[Round]) -> Round:
    """The round of median CPU: one round swings with whatever else the machine is doing."""
    return sorted(rounds, key=lambda measured: measured[0])[len(rounds) // 2]


async def measure(poll: Callable[[], Awaitable[list[str]]], pids: Callable[[], list[int]]) -> Round:
    """CPU seconds (this process + parser workers) and wall seconds of one round."""
    cpu_before = time.process_time() + cpu_seconds(pids())
    wall_before = time.perf_counter()
    kinds = await poll()
    wall = time.perf_counter() - wall_before
    return time.process_time() + cpu_seconds(pids()) - cpu_before, wall, kinds


def kind(outcome: FetchOutcome) -> str:
    return type(outcome).__name__


async def ours(count: int, port: int, one_host: bool) -> dict[str, Round]:
    dns = FakeDNS({f"outlet{n}.example": [PUBLIC] for n in range(count)} | {"outlets.example": [PUBLIC]})
    policy = FetchPolicy(user_agent="newsbot-bench")
    results = {}
    async with ParserPool(workers=2, timeout=timedelta(seconds=10)) as parsers:
        await parsers.parse(news_feed(0))  # start the workers outside the measurement
        for name, etag in (("changed", False), ("not modified", True)):
            rounds = []
            for _ in range(ROUNDS):
                resolver = LoopbackRoutes(GuardedResolver(dns, allow_private_networks=False), {PUBLIC: port})
                async with Fetcher(policy, resolver) as fetcher:
                    watcher = FeedWatcher(fetcher, parsers)
                    outlets = outlets_for(count, etag, one_host)

                    async def poll(
                        watcher: FeedWatcher = watcher, outlets: list[Outlet] = outlets
                    ) -> list[str]:
                        return [kind(o) for o in await asyncio.gather(*(watcher.fetch(o) for o in outlets))]

                    rounds.append(await measure(poll, lambda: parsers.worker_pids))
            results[name] = median(rounds)
    return results


async def naive(count: int, port: int, one_host: bool) -> dict[str, Round]:
    """The baseline: aiohttp defaults, feedparser defaults in the loop, no guard, no worker.

    With `one_host` it keeps connections alive to one host; otherwise it asks for 1,000 host names
    (the same fake DNS and loopback routes as ours, without the guard), so it too opens a connection
    per poll and the two "1000 hosts" figures compare like with like.
    """
    results = {}
    for name, etag in (("changed", False), ("not modified", True)):
        results[name] = median([await naive_round(count, port, one_host, etag) for _ in range(ROUNDS)])
    return results


async def naive_round(count: int, port: int, one_host: bool, etag: bool) -> Round:
    """One round of the naive poller, in a session of its own."""
    dns = FakeDNS({f"outlet{n}.example": [PUBLIC] for n in range(count)})
    connector = aiohttp.TCPConnector(resolver=LoopbackRoutes(dns, {PUBLIC: port}))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int, session: aiohttp.ClientSession = session, etag: bool = etag) -> str:
            headers = {"If-None-Match": f'"v{n}"'} if etag else {}
            url = f"http://127.0.0.1:{port}/feed/{n}" if one_host else f"http://outlet{n}.example/feed/{n}"
            async with session.get(url, headers=headers) as response:
                if response.status == 304:
                    return "NotModified"
                body = await response.read()
            feedparser.parse(io.BytesIO(body))
            return "Modified"

        async def poll(one: Callable[[int], Awaitable[str]] = one) -> list[str]:
            gate = asyncio.Semaphore(64)

            async def gated(n: int) -> str:
                async with gate:
                    return await one(n)

            return list(await asyncio.gather(*(gated(n) for n in range(count))))

        return await measure(poll, list)


class Unchanged:
    """A watcher whose every outlet answers 304 at once, so only the database side is measured."""

    async def fetch(self, outlet: Outlet) -> FetchOutcome:
        return NotModified(outlet.state.validators)


async def database_side(count: int) -> dict[str, float]:
    """CPU seconds of saving 1,000 not-modified polls' states (SQLite file), per outlet and shared."""
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    watchlist = compile_watchlist([])
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(engine)
        archive = SqlArchive(engine)
        for n in range(count):
            await archive.add_outlet(OutletSpec(f"outlet {n}", f"https://outlet{n}.example/feed/{n}"), now)
        outlets = await archive.list_outlets()
        gate = asyncio.Semaphore(16)  # poll_outlets' default concurrency

        async def one_by_one(outlet: Outlet) -> None:
            async with gate:
                await poll_outlet(outlet, Unchanged(), archive, watchlist, now, 0.0)

        before = time.process_time()
        await asyncio.gather(*(one_by_one(outlet) for outlet in outlets))
        results["a transaction per outlet"] = time.process_time() - before
        before = time.process_time()
        await poll_outlets(outlets, Unchanged(), archive, watchlist, now, lambda: 0.0)
        results["poll_outlets (shared transactions)"] = time.process_time() - before
        await engine.dispose()
    return results


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--outlets", type=int, default=1000)
    arguments.add_argument("--corpus", action="store_true")
    options = arguments.parse_args()
    count = options.outlets
    context = multiprocessing.get_context("spawn")
    ours_end, server_end = context.Pipe()
    server = context.Process(target=serve, args=(server_end, count, options.corpus), daemon=True)
    server.start()
    port = ours_end.recv()
    try:
        spread = asyncio.run(ours(count, port, one_host=False))
        shared = asyncio.run(ours(count, port, one_host=True))
        naive_spread = asyncio.run(naive(count, port, one_host=False))
        naive_shared = asyncio.run(naive(count, port, one_host=True))
        database = asyncio.run(database_side(count))
    finally:
        ours_end.close()
        server.join(10)
    feed = "the 200 corpus feeds in rotation" if options.corpus else "a 30-item news feed (~21 KB)"
    print(f"{count} outlets on loopback, each serving {feed}; CPU = this process + parser workers\n")
    print(
        "naive: one aiohttp session with its defaults, feedparser defaults in the loop, no guard, the same hosts\n"
    )
    print(
        "| round | hosts | newsbot CPU ms/poll | wall s | outcomes | naive CPU ms/poll | naive wall s | × naive | goal |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---|")
    for name, goal in (("changed", GOAL_CHANGED_MS), ("not modified", GOAL_NOT_MODIFIED_MS)):
        for hosts, measured, baseline in (
            (f"{count}, a new connection each", spread, naive_spread),
            ("one, keep-alive", shared, naive_shared),
        ):
            base_cpu, base_wall, _ = baseline[name]
            base_per_poll = base_cpu * 1000 / count
            cpu, wall, kinds = measured[name]
            per_poll = cpu * 1000 / count
            outcomes = ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))
            verdict = "met" if per_poll <= goal else "MISSED"
            print(
                f"| {name} | {hosts} | {per_poll:.2f} | {wall:.2f} | {outcomes} | {base_per_poll:.2f} | "
                f"{base_wall:.2f} | {base_per_poll / per_poll:.1f} | ≤ {goal:g} ms: {verdict} |"
            )
            expected = kind(Modified(())) if name == "changed" else kind(NotModified())
            assert all(k == expected for k in kinds), outcomes
    print("\nThe not-modified cycle's database side (saving each outlet's state, SQLite file), no network:\n")
    print("| state writes | CPU ms/poll |\n|---|---:|")
    for how, cpu in database.items():
        print(f"| {how} | {cpu * 1000 / count:.2f} |")


if __name__ == "__main__":
    main()
