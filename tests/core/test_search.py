"""Search use case: query to index candidates (table), since/paging/order on a fake index, and the
candidate-superset property on the shared feed corpus."""

from __future__ import annotations

import html
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.models import Article, ArticleText, Topic
from core.query import QuerySyntaxError, parse_query
from core.search import (
    Cursor,
    SearchRequest,
    candidates,
    describe_candidates,
    parse_age,
    purge_old_bodies,
    search_archive,
    split_since,
)
from core.watchlist import compile_watchlist
from tests.fakes import InMemorySearchIndex, admits

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CORPUS = Path(__file__).parents[2].parent / "shared" / "corpora" / "feeds"
OUTLETS = {1: "Azattyq", 2: "Times of Central Asia", 3: "TASS"}


def article(
    number: int, title: str, summary: str = "", *, outlet: int = 1, age_hours: float = 0, **extra: object
) -> Article:
    seen = NOW - timedelta(hours=age_hours)
    return Article(
        id=number,
        outlet_id=outlet,
        outlet_name=OUTLETS[outlet],
        title=title,
        url=f"https://example.org/{number}",
        summary=summary,
        published=extra.get("published", seen),  # type: ignore[arg-type]
        first_seen_at=seen,
        language=extra.get("language", "en"),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("query", "plan"),
    [
        ("election", "election"),
        ("выборы", "выборы"),
        ("Тасмагамбетов*", "тасмагамбетов*"),
        ("SCO", "sco"),
        ("ШЫҰ", "шыу"),
        ("ёлка", "елка"),
        ('"Collective Security Treaty Organization"', '"collective security treaty organization"'),
        ('"central asia*"', '"central asia*"'),
        ('"centr* asia"', "(centr* AND asia)"),
        ("CSTO OR ОДКБ", "(csto OR одкб)"),
        ("CSTO summit", "(csto AND summit)"),
        ("CSTO -Armenia", "csto"),
        ("NOT CSTO", "everything"),
        ("CSTO OR NOT summit", "everything"),
        ("lang:ru", "lang:ru"),
        ("SCO lang:ru", "(sco AND lang:ru)"),
        ("source:Azattyq", "outlets[1]"),
        ("source:Times", "outlets[2]"),
        ("source:nowhere", "outlets[]"),
        ('source:"Central Asia"', "outlets[2]"),
        ("title:SCO body:summit", "(sco AND summit)"),
        ("_", "everything"),
    ],
)
def test_queries_become_index_candidates(query: str, plan: str) -> None:
    assert describe_candidates(candidates(parse_query(query), OUTLETS)) == plan


def test_names_become_their_spellings() -> None:
    plan = describe_candidates(candidates(parse_query("Tokayev"), OUTLETS))
    for spelling in ("tokayev", "tokaev", "токаев", "токаева", "токаевтын"):
        assert f" {spelling} " in f" {plan[1:-1].replace(' OR ', ' ')} "


@pytest.mark.parametrize(
    ("query", "rest", "since"),
    [
        ("SCO since:7d", "SCO         ", timedelta(days=7)),
        ("since:24h CSTO", "          CSTO", timedelta(hours=24)),
        ("SCO", "SCO", None),
        ("notsince:1d", "notsince:1d", None),
    ],
)
def test_since_is_taken_out_of_the_query(query: str, rest: str, since: timedelta | None) -> None:
    assert split_since(query) == (rest, since)


@pytest.mark.parametrize(("query", "position"), [("SCO since:soon", 10), ("since: SCO", 6), ("since:0d", 6)])
def test_a_bad_since_names_its_position(query: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        split_since(query)
    assert raised.value.position == position


def test_ages() -> None:
    assert parse_age("30m") == timedelta(minutes=30)
    assert parse_age("2w") == timedelta(days=14)
    with pytest.raises(ValueError, match="24h, 7d"):
        parse_age("7 days")
    with pytest.raises(ValueError, match="at most 100 years"):
        parse_age("999999w")  # would reach before year 1 when subtracted from now


def test_a_cursor_outside_the_calendar_is_not_a_cursor() -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        Cursor.decode("0001-01-01T00:00:00+05:00~1")


async def test_hits_are_confirmed_by_the_matcher_newest_first() -> None:
    index = InMemorySearchIndex(
        [
            article(1, "SCO summit opens in Astana", age_hours=5),
            article(2, "Scotland votes; sco is not an acronym here", age_hours=1),
            article(3, "Тоқаевтың ШЫҰ саммитіндегі сөзі", outlet=3, age_hours=2, language="kk"),
            article(4, "Disco night", "the SCO met again", age_hours=3, published=None),
        ],
        topics={1: ("SCO",)},
    )
    page = await search_archive(index, SearchRequest("SCO OR ШЫҰ"), NOW)
    assert [hit.article.id for hit in page.hits] == [3, 4, 1]
    assert [hit.terms for hit in page.hits] == [("ШЫҰ",), ("SCO",), ("SCO",)]
    assert page.hits[2].topics == ("SCO",)
    assert page.next is None
    assert index.refreshed == 1

    names = await search_archive(index, SearchRequest("Tokayev"), NOW)
    assert [(hit.article.id, hit.terms) for hit in names.hits] == [(3, ("Тоқаевтың",))]


async def test_since_source_and_lang_filter() -> None:
    index = InMemorySearchIndex(
        [
            article(1, "CSTO drills", age_hours=30),
            article(2, "CSTO drills", outlet=3, age_hours=2, language="ru-RU"),
            article(3, "CSTO drills", outlet=2, age_hours=1),
        ]
    )

    async def ids(query: str, since: timedelta | None = None) -> list[int]:
        page = await search_archive(index, SearchRequest(query, since=since), NOW)
        return [hit.article.id for hit in page.hits]

    assert await ids("CSTO") == [3, 2, 1]
    assert await ids("CSTO since:1d") == [3, 2]
    assert await ids("CSTO", since=timedelta(hours=3)) == [3, 2]
    assert await ids("CSTO source:TASS") == [2]
    assert await ids("CSTO -source:TASS") == [3, 1]
    assert await ids("CSTO lang:ru") == [2]


async def test_pages_follow_one_another_without_gaps_or_repeats() -> None:
    rows = [
        article(n, f"Story {n} on JICA" if n % 3 else f"Story {n}", age_hours=n // 2) for n in range(1, 1001)
    ]
    index = InMemorySearchIndex(rows)
    seen: list[int] = []
    cursor: Cursor | None = None
    while True:
        page = await search_archive(index, SearchRequest("JICA", limit=7, after=cursor), NOW)
        seen += [hit.article.id for hit in page.hits]
        assert len(page.hits) <= 7
        if page.next is None:
            break
        assert Cursor.decode(page.next.encode()) == page.next
        cursor = page.next
    wanted = sorted((a for a in rows if a.id % 3), key=lambda a: (a.first_seen_at, a.id), reverse=True)
    assert seen == [a.id for a in wanted]


async def test_a_page_stops_after_a_bounded_scan_and_hands_back_a_cursor() -> None:
    # "us" is in every text but never as the acronym: the index cannot tell, the matcher can.
    index = InMemorySearchIndex([article(n, f"tell us {n}", age_hours=n) for n in range(1, 22_001)])
    page = await search_archive(index, SearchRequest("US"), NOW)
    assert page.hits == ()
    assert page.next is not None
    assert sum(index.requested) <= 21_000


async def test_a_malformed_query_raises_with_its_position() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        await search_archive(InMemorySearchIndex(), SearchRequest("SCO AND (CSTO"), NOW)
    assert raised.value.position == 13


async def test_purge_clears_old_bodies_only_when_retention_is_set() -> None:
    index = InMemorySearchIndex([article(1, "old", "body", age_hours=24 * 200), article(2, "new", "body")])
    assert await purge_old_bodies(index, None, NOW) == 0
    assert await purge_old_bodies(index, timedelta(days=180), NOW) == 1
    assert [a.summary for a in index.articles] == ["", "body"]


# ---- the property: the index never hides a hit of the matcher ----

_TAG = re.compile(r"<[^>]*>")


def corpus_items(limit: int) -> list[ArticleText]:
    feedparser = pytest.importorskip("feedparser")
    if not CORPUS.is_dir():
        pytest.skip(f"feed corpus not found at {CORPUS}")
    items: list[ArticleText] = []
    for path in sorted(CORPUS.iterdir()):
        if path.name == "index.tsv":
            continue
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        for entry in parsed.entries[:8]:
            title = html.unescape(_TAG.sub(" ", str(entry.get("title", ""))))
            body = html.unescape(_TAG.sub(" ", str(entry.get("summary", ""))))
            items.append(ArticleText(title, body))
        if len(items) >= limit:
            break
    return items[:limit]


def sample_queries(items: list[ArticleText], count: int, seed: int) -> list[str]:
    """Words, prefixes, capitalised names, acronyms and two-word phrases drawn from the texts."""
    rng = random.Random(seed)
    words = [w for item in items for w in re.findall(r"\w+", f"{item.title} {item.body}") if len(w) > 1]
    queries: list[str] = []
    while len(queries) < count:
        word = rng.choice(words)
        form = rng.randrange(6)
        if form == 0:
            queries.append(word.lower())
        elif form == 1:
            queries.append(word[: max(2, len(word) // 2)] + "*")
        elif form == 2:
            queries.append(word[:1].upper() + word[1:].lower())
        elif form == 3:
            queries.append(word.upper())
        else:
            item = rng.choice(items)
            pair = re.findall(r"\w+", item.title)[:2]
            if len(pair) == 2:
                queries.append('"' + " ".join(pair) + ('*"' if form == 5 else '"'))
    return queries


def test_index_candidates_contain_every_matcher_hit_on_the_corpus() -> None:
    items = corpus_items(800)
    rows = [article(n, item.title, item.body) for n, item in enumerate(items)]
    queries = []
    for query in sample_queries(items, 300, seed=4):
        try:
            parse_query(query)
        except QuerySyntaxError:
            continue  # a drawn word that is an operator (AND, OR, NOT)
        queries.append(query)
    # One watchlist with a topic per query: one matcher pass per text answers every query.
    watchlist = compile_watchlist([Topic(str(n), query) for n, query in enumerate(queries)])
    plans = [candidates(parse_query(query), OUTLETS) for query in queries]
    checked = 0
    for row in rows:
        for match in watchlist.match(ArticleText(row.title, row.summary, row.outlet_name, "en")):
            plan = plans[int(match.topic)]
            checked += 1
            assert plan is None or admits(plan, row), (queries[int(match.topic)], describe_candidates(plan))
    assert checked > 500
