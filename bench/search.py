"""Benchmark: archive search latency over 100,000 articles on SQLite and on PostgreSQL, and index size.

Articles: the items of ../shared/corpora/feeds as plain text (feedparser, tags stripped), repeated
with variations until there are 100,000: every copy gets a new outlet (one of 60), a publication
time within the last year, a language, and — in a seeded share of them — a sentence naming people and
organisations of the coverage (Tokayev in its spellings and case forms, Tasmagambetov, SCO/ШЫҰ,
CSTO/ОДКБ, JICA), so that name, acronym and phrase queries have hits to page through. Rows are
inserted in bulk, then the triggers' queue is indexed with `SqlSearch.refresh` (timed).
Queries: the core use case `search_archive` (index candidates + matcher confirmation + topics),
first page of 20, each query run REPEATS times after one warm-up; latency is wall time per call.
The baseline row is a full scan: every article confirmed by the matcher with no index, one run.
PostgreSQL: 127.0.0.1:5432 (NEWSBOT_BENCH_POSTGRES to change), a database created and dropped here.
Run: python bench/search.py [--articles N] [--repeats N] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from match import load_items as corpus_items  # noqa: E402  (bench/ is the script's folder)

from core.models import ArticleText, Topic  # noqa: E402
from core.search import SearchRequest, search_archive  # noqa: E402
from core.watchlist import compile_watchlist  # noqa: E402
from storage.database import create_engine, is_sqlite  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.search import SqlSearch  # noqa: E402
from storage.tables import articles, outlets  # noqa: E402

POSTGRES_ADMIN_DSN = os.environ.get("NEWSBOT_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OUTLETS = 60
MAX_SUMMARY = 2000

# Sentences of the coverage, mixed into a share of the copies.
MENTIONS = (
    "President Tokayev met the SCO foreign ministers in Astana.",
    "Президент Токаев провёл переговоры с делегацией ОДКБ.",
    "Мемлекет басшысы Тоқаевтың ШЫҰ саммитіндегі сөзі.",
    "Имангали Тасмагамбетов назначен генеральным секретарём ОДКБ.",
    "Tasmagambetov said the CSTO would hold drills in Kyrgyzstan.",
    "JICA will fund a water project in the Fergana Valley.",
    "The Japan International Cooperation Agency opened an office in Tashkent.",
    "The Shanghai Cooperation Organisation summit ended with a joint declaration.",
    "Встреча с Тасмагамбетовым прошла в Москве.",
    "Collective Security Treaty Organization troops left Kazakhstan.",
)
LANGUAGES = ("en", "en-US", "ru", "ru-RU", "kk", "de")

QUERIES = (
    ("name", "Tokayev"),
    ("name", "Tasmagambetov"),
    ("name, Cyrillic", "Тасмагамбетов"),
    ("acronym", "SCO"),
    ("acronyms", "CSTO OR ОДКБ OR ҰҚШҰ"),
    ("acronym", "JICA"),
    ("prefix", "Тасмагамбетов*"),
    ("prefix", "Kazakh*"),
    ("phrase", '"Japan International Cooperation Agency"'),
    ("phrase", '"Shanghai Cooperation Organisation"'),
    ("words", "water project"),
    ("common word", "government"),
    ("name since:30d", "Tokayev since:30d"),
    ("acronym source:", "CSTO source:Outlet7"),
    ("acronym lang:", "SCO lang:ru"),
    ("since:7d", "election* since:7d"),
)


def load_items() -> list[ArticleText]:
    """The corpus items bench/match.py reads, white space collapsed and summaries cut as archived."""
    return [
        ArticleText(" ".join(item.title.split()), " ".join(item.body.split())[:MAX_SUMMARY])
        for item in corpus_items()
        if item.title.strip()
    ]


def generate(items: list[ArticleText], count: int, seed: int = 1) -> list[dict[str, object]]:
    """`count` article rows: corpus items with variations (see the module docstring)."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for number in range(count):
        base = items[number % len(items)]
        title, summary = base.title, base.body
        if rng.random() < 0.05:
            mention = rng.choice(MENTIONS)
            if rng.random() < 0.5:
                title = f"{title} — {mention}"
            else:
                summary = f"{mention} {summary}"
        if number >= len(items):
            title = f"{title} ({number // len(items)})"
        published = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        rows.append(
            {
                "outlet_id": number % OUTLETS + 1,
                "guid": f"bench-{number}",
                "canonical_url": f"https://outlet{number % OUTLETS}.example/news/{number}",
                "url": f"https://outlet{number % OUTLETS}.example/news/{number}",
                "title": title,
                "summary": summary,
                "language": LANGUAGES[number % len(LANGUAGES)],
                "published_at": published if rng.random() < 0.95 else None,
                "first_seen_at": published + timedelta(minutes=5),
            }
        )
    return rows


async def fill(url: str, rows: list[dict[str, object]]) -> tuple[SqlSearch, float, float]:
    engine = create_engine(url)
    await upgrade(engine)
    start = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(
            insert(outlets),
            [
                {
                    "name": f"Outlet{n}",
                    "url": f"https://outlet{n}.example/feed",
                    "kind": "feed",
                    "interval_seconds": 300,
                    "enabled": True,
                    "consecutive_failures": 0,
                    "is_baselined": True,
                    "created_at": NOW,
                }
                for n in range(1, OUTLETS + 1)
            ],
        )
        for start_row in range(0, len(rows), 5000):
            await connection.execute(insert(articles), rows[start_row : start_row + 5000])
    inserted = time.perf_counter() - start
    search = SqlSearch(engine)
    start = time.perf_counter()
    await search.refresh()
    indexed = time.perf_counter() - start
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return search, inserted, indexed


async def index_bytes(search: SqlSearch) -> int:
    engine = search._engine  # the bench reads the engine it built
    async with engine.connect() as connection:
        if is_sqlite(engine):
            statement = "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'article_search%'"
        else:
            statement = "SELECT pg_total_relation_size('article_search')"
        return int((await connection.execute(text(statement))).scalar_one())


async def measure(search: SqlSearch, repeats: int) -> list[tuple[str, str, list[float], int]]:
    results = []
    for label, query in QUERIES:
        await search_archive(search, SearchRequest(query), NOW)  # warm-up
        times = []
        hits = 0
        for _ in range(repeats):
            start = time.perf_counter()
            page = await search_archive(search, SearchRequest(query), NOW)
            times.append(time.perf_counter() - start)
            hits = len(page.hits)
        results.append((label, query, times, hits))
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def full_scan_seconds(rows: list[dict[str, object]], query: str) -> float:
    """The baseline: the matcher over every article, newest first, no index."""
    watchlist = compile_watchlist([Topic("q", query)])
    start = time.perf_counter()
    for row in rows:
        watchlist.match(ArticleText(str(row["title"]), str(row["summary"]), "", str(row["language"])))
    return time.perf_counter() - start


async def admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def run_engine(
    name: str, url: str, rows: list[dict[str, object]], repeats: int, baseline: float
) -> None:
    search, inserted, indexed = await fill(url, rows)
    size = await index_bytes(search)
    results = await measure(search, repeats)
    await search._engine.dispose()
    every = [t for _, _, times, _ in results for t in times]
    print(f"\n{name}: {len(rows):,} articles inserted in {inserted:.1f} s, indexed in {indexed:.1f} s, "
          f"index {size / 1e6:.1f} MB")  # fmt: skip
    print(f"{'query':<44} {'kind':<18} {'hits':>4} {'p50 ms':>8} {'p95 ms':>8}")
    for label, query, times, hits in results:
        print(
            f"{query:<44} {label:<18} {hits:>4} {percentile(times, 0.5) * 1000:>8.1f} "
            f"{percentile(times, 0.95) * 1000:>8.1f}"
        )
    print(
        f"{'all queries':<44} {'':<18} {'':>4} {percentile(every, 0.5) * 1000:>8.1f} "
        f"{percentile(every, 0.95) * 1000:>8.1f}   (goal: p95 < 50 ms)"
    )
    print(f"p50 is {baseline / percentile(every, 0.5):,.0f}× faster than the full-scan baseline")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    items = load_items()
    rows = generate(items, args.articles)
    print(
        f"{len(items):,} corpus items → {len(rows):,} articles generated in {time.perf_counter() - start:.1f} s"
    )
    baseline = full_scan_seconds(rows, "Tokayev")
    print(f"baseline, matcher over every article (no index) for 'Tokayev': {baseline * 1000:,.0f} ms")

    with tempfile.TemporaryDirectory() as directory:
        await run_engine(
            "SQLite (FTS5)", f"sqlite+aiosqlite:///{directory}/bench.db", rows, args.repeats, baseline
        )
    if args.sqlite_only:
        return
    database = f"newsbot_bench_{uuid.uuid4().hex[:12]}"
    try:
        await admin(f'CREATE DATABASE "{database}"')
    except (OSError, asyncpg.PostgresError) as error:
        print(f"\nPostgreSQL skipped: not reachable at {POSTGRES_ADMIN_DSN}: {error}")
        return
    try:
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        await run_engine("PostgreSQL (tsvector + GIN)", f"{base}/{database}", rows, args.repeats, baseline)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
