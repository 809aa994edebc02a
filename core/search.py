"""Archive search: a watchlist-language query narrowed by the full-text index and confirmed by the matcher.

The index holds `core.normalize.fold`-ed text, so a query term becomes index tokens by the same
folding the matcher applies; the candidates it yields are therefore a superset of the matcher's hits
(acronym case, word order across fields and field scopes are left to the matcher to check).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.models import Article, ArticleText, Snippet, Topic, TopicMatch
from core.names import expand_term
from core.normalize import fold
from core.ports import SearchIndex
from core.query import All, Expr, Lang, Match, Not, QuerySyntaxError, Scope, Term, TermKind, parse_query
from core.watchlist import Watchlist, compile_watchlist

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Candidates are read in batches that start at the page size and double up to MAX_BATCH (most
# candidates are hits, and confirming one costs a matcher pass); after MAX_SCANNED a query whose
# index terms are common but whose matches are rare (an acronym that is also an everyday word)
# returns a shorter page with a cursor instead of reading the whole archive at once.
MAX_BATCH = 1000
MAX_SCANNED = 20_000

# Older than any archive; `now - age` must stay inside the calendar.
MAX_AGE = timedelta(days=100 * 365)
_AGE = re.compile(r"^(\d{1,6})(m|h|d|w)$")
_AGE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SINCE = re.compile(r"(?<!\S)since:(\S*)")


# ---- what the index is asked for ----


@dataclass(frozen=True, slots=True)
class Token:
    """One folded word of the index, or (prefix) the beginning of one."""

    text: str
    is_prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Tokens that follow one another (only the last may be a prefix)."""

    tokens: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class FromOutlets:
    """Articles of these outlets (a `source:` scope resolved against the outlet names)."""

    outlet_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class InLanguage:
    """Articles whose language code starts with `code` (the matcher checks `ru` against `ru-RU`)."""

    code: str


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Candidates, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Candidates, ...]


Candidates = Token | Phrase | FromOutlets | InLanguage | AllOf | AnyOf
TextCandidates = (Token, Phrase)


# ---- the request and the answer ----


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: results continue strictly after this (time, id) in newest-first order."""

    time: datetime
    article_id: int

    def encode(self) -> str:
        return f"{self.time.isoformat()}~{self.article_id}"

    @staticmethod
    def decode(text: str) -> Cursor:
        """The cursor `encode` wrote; ValueError for anything else."""
        time, _, article_id = text.rpartition("~")
        try:
            parsed = datetime.fromisoformat(time)
            if parsed.tzinfo is not None:
                return Cursor(parsed.astimezone(UTC), int(article_id))
        except (ValueError, OverflowError):
            pass
        raise ValueError(f"not a cursor from a previous page: {text!r}")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str
    since: timedelta | None = None
    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    article: Article
    terms: tuple[str, ...]
    snippet: Snippet
    topics: tuple[str, ...] = ()
    also_in: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    next: Cursor | None = None


# ---- query to candidates ----


def parse_age(text: str) -> timedelta:
    """`30m`, `24h`, `7d` or `2w`; ValueError otherwise."""
    found = _AGE.match(text.strip())
    if found is None or int(found[1]) == 0:
        raise ValueError(f"expected an age such as 24h, 7d or 2w, got {text!r}")
    age = timedelta(seconds=int(found[1]) * _AGE_UNITS[found[2]])
    if age > MAX_AGE:
        raise ValueError(f"an age of at most {MAX_AGE.days // 365} years, got {text!r}")
    return age


def split_since(query: str) -> tuple[str, timedelta | None]:
    """Take `since:AGE` out of a query (blanked, so error positions still point into the original)."""
    since: timedelta | None = None
    for found in _SINCE.finditer(query):
        try:
            since = parse_age(found[1])
        except ValueError as error:
            raise QuerySyntaxError(str(error), found.start(1)) from None
    return _SINCE.sub(lambda found: " " * len(found[0]), query), since


def _token(text: str, is_prefix: bool = False) -> Token | None:
    """An index token; None for a word of underscores alone, which tokenizers drop."""
    return Token(text, is_prefix) if any(char.isalnum() for char in text) else None


def term_candidates(term: Term) -> Candidates | None:
    """Index tokens that every text the matcher finds this term in contains (None: any text)."""
    if term.kind is TermKind.PHRASE:
        parts = [term_candidates(part) for part in term.parts]
        tokens = [part for part in parts if isinstance(part, Token)]
        if len(tokens) == len(parts) and not any(token.is_prefix for token in tokens[:-1]):
            return Phrase(tuple(tokens))
        narrowing = tuple(part for part in parts if part is not None)
        if not narrowing:
            return None
        return narrowing[0] if len(narrowing) == 1 else AllOf(narrowing)
    if term.kind is TermKind.NAME:
        variants = [_token(variant) for variant in expand_term(term.text)]
        if any(variant is None for variant in variants):
            return None
        found = tuple(variant for variant in variants if variant is not None)
        return found[0] if len(found) == 1 else AnyOf(found)
    if term.kind is TermKind.PREFIX:
        return _token(term.key, is_prefix=True)
    if term.kind is TermKind.ACRONYM:
        # The index is case-folded; the matcher checks the capitals.
        return _token(fold(term.key).strip())
    return _token(term.key)


def _term_in_name(term: Term, folded_name: str) -> bool:
    """A loose test that holds whenever the matcher finds the term in an outlet name."""
    if term.kind is TermKind.PHRASE:
        return all(_term_in_name(part, folded_name) for part in term.parts)
    if term.kind is TermKind.NAME:
        return any(variant in folded_name for variant in expand_term(term.text))
    key = fold(term.key).strip() if term.kind is TermKind.ACRONYM else term.key
    return key in folded_name


def candidates(expr: Expr, outlet_names: Mapping[int, str]) -> Candidates | None:
    """What to ask the index for; None when the query can hold without any term (NOT x, lang:…)."""
    if isinstance(expr, Match):
        if expr.scope is Scope.SOURCE:
            folded = {outlet_id: fold(name) for outlet_id, name in outlet_names.items()}
            return FromOutlets(
                frozenset(outlet_id for outlet_id, name in folded.items() if _term_in_name(expr.term, name))
            )
        return term_candidates(expr.term)
    if isinstance(expr, Lang):
        return InLanguage(expr.code)
    if isinstance(expr, Not):
        return None
    children = [candidates(child, outlet_names) for child in expr.children]
    if isinstance(expr, All):
        narrowing = tuple(child for child in children if child is not None)
        if not narrowing:
            return None
        return narrowing[0] if len(narrowing) == 1 else AllOf(narrowing)
    if any(child is None for child in children):
        return None
    return AnyOf(tuple(child for child in children if child is not None))


def _has_source(expr: Expr) -> bool:
    if isinstance(expr, Match):
        return expr.scope is Scope.SOURCE
    if isinstance(expr, Lang):
        return False
    if isinstance(expr, Not):
        return _has_source(expr.child)
    return any(_has_source(child) for child in expr.children)


def is_text_only(plan: Candidates) -> bool:
    """True when the whole plan is answered by the full-text index alone."""
    if isinstance(plan, AllOf | AnyOf):
        return all(is_text_only(child) for child in plan.children)
    return isinstance(plan, TextCandidates)


# ---- the use cases ----


def sort_time(article: Article) -> datetime:
    """Newest first means by publication time, else by when newsbot first saw the article."""
    return article.published or article.first_seen_at


async def search_archive(index: SearchIndex, request: SearchRequest, now: datetime) -> SearchPage:
    """Newest archived articles that satisfy the query, a page at a time; QuerySyntaxError if malformed."""
    text, since_in_query = split_since(request.query)
    expr = parse_query(text)
    since = since_in_query or request.since
    await index.refresh()
    plan = candidates(expr, await index.outlet_names() if _has_source(expr) else {})
    page, following = await _confirmed(
        index,
        plan,
        compile_watchlist([Topic("search", text)]),
        now - since if since is not None else None,
        request.after,
        max(1, min(request.limit, MAX_LIMIT)),
    )
    ids = [article.id for article, _ in page]
    topics = await index.topics_of(ids)
    also_in = await index.also_in(ids)
    hits = tuple(
        SearchHit(
            article, match.terms, match.snippet, topics.get(article.id, ()), also_in.get(article.id, ())
        )
        for article, match in page
    )
    return SearchPage(hits, following)


async def _confirmed(
    index: SearchIndex,
    plan: Candidates | None,
    watchlist: Watchlist,
    oldest: datetime | None,
    after: Cursor | None,
    limit: int,
) -> tuple[list[tuple[Article, TopicMatch]], Cursor | None]:
    """Up to `limit` candidates the matcher confirms, and the cursor of the next page (None: no more)."""
    found: list[tuple[Article, TopicMatch]] = []
    scanned = 0
    size = limit + 1
    while scanned < MAX_SCANNED:
        batch = await index.candidates(plan, oldest, after, size)
        for article in batch:
            after = Cursor(sort_time(article), article.id)
            text = ArticleText(article.title, article.summary, article.outlet_name, article.language or "")
            matched = watchlist.match(text)
            if not matched:
                continue
            if len(found) == limit:  # one more hit proves there is a next page
                last = found[-1][0]
                return found, Cursor(sort_time(last), last.id)
            found.append((article, matched[0]))
        if len(batch) < size:
            return found, None
        scanned += len(batch)
        size = min(2 * size, MAX_BATCH)
    return found, after


async def purge_old_bodies(index: SearchIndex, retention: timedelta | None, now: datetime) -> int:
    """Clear the summaries of articles first seen longer ago than `retention` (None keeps them).

    Identity (GUID, canonical URL, title) stays, so an old article reappearing is still known.
    """
    if retention is None:
        return 0
    return await index.clear_bodies(now - retention)


def describe_candidates(plan: Candidates | None) -> str:
    """A readable form of a plan, for logs and test failures."""
    if plan is None:
        return "everything"
    if isinstance(plan, Token):
        return plan.text + ("*" if plan.is_prefix else "")
    if isinstance(plan, Phrase):
        return '"' + " ".join(describe_candidates(token) for token in plan.tokens) + '"'
    if isinstance(plan, FromOutlets):
        return f"outlets{sorted(plan.outlet_ids)}"
    if isinstance(plan, InLanguage):
        return f"lang:{plan.code}"
    joiner = " AND " if isinstance(plan, AllOf) else " OR "
    return "(" + joiner.join(describe_candidates(child) for child in plan.children) + ")"
