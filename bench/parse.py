"""Benchmark: feed parsing throughput over the feed corpus against feedparser, measured in the same run.

Corpus: the 200 real feeds in ../shared/corpora/feeds (45 MB). MB means 10^6 bytes of feed as
published. Rows: `parse_feed` in this process (what a worker runs), the same through the worker
pool (2 processes; CPU counts the main process and the workers), feedparser with its defaults, and
feedparser with sanitising and relative-URI resolution off. CPU time is process time, so other
load on the machine does not flatter or punish a row.
Run: python bench/parse.py [--quick]   (--quick: every fourth feed)
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watchers.parse import ParsedFeed, parse_feed  # noqa: E402
from watchers.workers import ParserPool  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "feeds"
GOAL = 30.0


def load_feeds(quick: bool) -> list[bytes]:
    paths = sorted(path for path in CORPUS.iterdir() if path.name != "index.tsv")
    return [path.read_bytes() for path in (paths[::4] if quick else paths)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of other processes, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / ticks


def measure(parse: Callable[[bytes], int], feeds: list[bytes]) -> tuple[float, int]:
    started = time.process_time()
    entries = sum(parse(body) for body in feeds)
    return time.process_time() - started, entries


def ours(body: bytes) -> int:
    result = parse_feed(body)
    return len(result.items) if isinstance(result, ParsedFeed) else 0


def feedparser_defaults(body: bytes) -> int:
    return len(feedparser.parse(io.BytesIO(body)).entries)


def feedparser_unsanitised(body: bytes) -> int:
    document = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    return len(document.entries)


async def through_pool(feeds: list[bytes]) -> tuple[float, float, int]:
    """Wall time, CPU (this process + workers) and entries for the corpus through the worker pool."""
    async with ParserPool(workers=2, timeout=timedelta(seconds=10)) as pool:
        await pool.parse(feeds[0])  # start the workers outside the measurement
        pids = pool.worker_pids
        cpu_before = time.process_time() + cpu_seconds(pids)
        wall_before = time.perf_counter()
        results = await asyncio.gather(*(pool.parse(body) for body in feeds))
        wall = time.perf_counter() - wall_before
        cpu = time.process_time() + cpu_seconds(pids) - cpu_before
    return wall, cpu, sum(len(r.items) for r in results if isinstance(r, ParsedFeed))


def main() -> None:
    feeds = load_feeds("--quick" in sys.argv)
    megabytes = sum(map(len, feeds)) / 1e6
    print(f"{len(feeds)} feeds, {megabytes:.1f} MB; CPU seconds (process time)\n")
    rows = [
        ("parse_feed (fastfeedparser → feedparser)", *measure(ours, feeds)),
        ("feedparser, defaults", *measure(feedparser_defaults, feeds)),
        ("feedparser, sanitize_html=False", *measure(feedparser_unsanitised, feeds)),
    ]
    wall, pool_cpu, pool_entries = asyncio.run(through_pool(feeds))
    rows.insert(1, ("parse_feed in 2 worker processes", pool_cpu, pool_entries))
    baseline_defaults, baseline_unsanitised = rows[2][1], rows[3][1]
    print("| parser | CPU s | MB/s | entries | × feedparser defaults | × feedparser unsanitised |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, entries in rows:
        print(
            f"| {name} | {seconds:.2f} | {megabytes / seconds:.1f} | {entries} | "
            f"{baseline_defaults / seconds:.1f} | {baseline_unsanitised / seconds:.1f} |"
        )
    ratio = baseline_defaults / rows[0][1]
    print(f"\nworker pool wall time: {wall:.2f} s ({megabytes / wall:.1f} MB/s on 2 workers)")
    print(f"goal: ≥ {GOAL:g}× feedparser defaults — {'met' if ratio >= GOAL else 'MISSED'} ({ratio:.1f}×)")


if __name__ == "__main__":
    main()
