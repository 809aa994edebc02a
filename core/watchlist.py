"""Topic matching: every topic's terms in one Aho-Corasick search, then boolean logic per topic."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter

import ahocorasick_rs

from core.models import ArticleText, Snippet, Topic, TopicMatch
from core.names import expand_term
from core.normalize import FoldedText, fold, fold_keep_case, fold_mapped, prepare
from core.query import (
    All,
    Any,
    Expr,
    Lang,
    Match,
    Not,
    QuerySyntaxError,
    Scope,
    Term,
    TermKind,
    parse_alias,
    parse_query,
    query_terms,
)

SNIPPET_RADIUS = 100
# Pattern bytes up to which an automaton is a DFA (tables of about 25 MB at most).
DFA_MAX_PATTERN_BYTES = 100_000

_WORD = 0  # pattern " key ": whole word
_ACRONYM = 1  # pattern " key ": whole word, then the original letters must match the case
_PREFIX = 2  # pattern " key": word start

_TEXT_FIELDS = ("title", "body")
_SEPARATOR = re.compile(" +")
# Acronyms never fire inside a URL (a path segment, a host): a token is checked only after an
# acronym was found in its field, and these patterns cannot backtrack over a long token.
_TOKEN = re.compile(r"\S+")
_HOST_PATH = re.compile(r"[\w-]+(?:\.[\w-]+)+/")
_WWW = re.compile(r"www\.", re.IGNORECASE)

Span = tuple[int, int]
Hits = dict[int, list[Span]]


@dataclass(frozen=True, slots=True)
class _Atom:
    term: int
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Lang:
    code: str


@dataclass(frozen=True, slots=True)
class _Not:
    child: _Node


@dataclass(frozen=True, slots=True)
class _All:
    children: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Any:
    children: tuple[_Node, ...]


_Node = _Atom | _Lang | _Not | _All | _Any


@dataclass(frozen=True, slots=True)
class _CompiledTopic:
    name: str
    expr: _Node
    # Terms under an even number of NOTs, per field: the words worth showing.
    positives: Mapping[str, frozenset[int]]
    # A plain OR of title/body terms holds whenever one of its terms was found: no evaluation.
    is_disjunction: bool


class _Scan:
    """One field of one article: its folded form, the spans of every term found in it, and
    (computed once, shared by every topic that shows the term) each term's original words."""

    __slots__ = ("_found", "field", "hits", "mapped", "original")

    def __init__(self, field: str, original: str, mapped: FoldedText | None, hits: Hits) -> None:
        self.field = field
        self.original = original
        # The map from folded offsets back to the original; None when they are the same.
        self.mapped = mapped
        self.hits = hits
        self._found: dict[int, tuple[list[Span], tuple[str, ...]]] | None = None

    def found(self, term: int) -> tuple[list[Span], tuple[str, ...]]:
        """The term's sorted spans in the original text and the distinct words they cover."""
        if self._found is None:
            self._found = {}
        found = self._found.get(term)
        if found is not None:
            return found
        spans = self.hits[term]
        if self.mapped is not None:
            spans = [self.mapped.original_span(*span) for span in spans]
        original = self.original
        if len(spans) == 1:
            ((start, end),) = spans
            found = (spans, (original[start:end],))
        else:
            spans = sorted(set(spans))
            found = (spans, tuple(dict.fromkeys([original[start:end] for start, end in spans])))
        self._found[term] = found
        return found

    def explain(self, topic: str, term: int) -> TopicMatch:
        """The match of a topic that shows only `term`, found in this field."""
        original = self.original
        spans = self.hits[term]
        if len(spans) == 1 and self.mapped is None:
            # Written once in a text folded one-to-one (the common case): no mapping, no sorting.
            ((first, last),) = spans
            words: tuple[str, ...] = (original[first:last],)
        else:
            spans, words = self.found(term)
            if len(spans) > 1:
                return TopicMatch(topic, words, self.field, snippet_around(original, spans[0], spans))
            ((first, last),) = spans
        # Written once: the snippet's one highlight needs no sorting out.
        start, end = _window(original, first, last)
        snippet = Snippet(original[start:end], ((first - start, last - start),))
        return TopicMatch(topic, words, self.field, snippet)


class _Compiler:
    """Collects the distinct terms of all topics and the automaton patterns that find them."""

    def __init__(self) -> None:
        self.term_ids: dict[tuple[object, ...], int] = {}
        self.terms: list[Term] = []
        self.patterns: dict[str, int] = {}
        self.refs: list[list[tuple[int, int, str]]] = []
        self.phrases: dict[int, tuple[int, ...]] = {}
        self.phrases_by_first: dict[int, list[int]] = {}
        self.scopes: set[str] = set()

    def add_pattern(self, pattern: str, term: int, mode: int, key: str) -> None:
        index = self.patterns.setdefault(pattern, len(self.patterns))
        if index == len(self.refs):
            self.refs.append([])
        self.refs[index].append((term, mode, key))

    def term_id(self, term: Term) -> int:
        identity = (term.kind, term.key, *(part.key for part in term.parts))
        existing = self.term_ids.get(identity)
        if existing is not None:
            return existing
        index = len(self.terms)
        self.term_ids[identity] = index
        self.terms.append(term)
        if term.kind is TermKind.PHRASE:
            parts = tuple(self.term_id(part) for part in term.parts)
            self.phrases[index] = parts
            self.phrases_by_first.setdefault(parts[0], []).append(index)
        elif term.kind is TermKind.NAME:
            for variant in expand_term(term.text):
                self.add_pattern(f" {variant} ", index, _WORD, variant)
        elif term.kind is TermKind.ACRONYM:
            self.add_pattern(f" {fold(term.key).strip()} ", index, _ACRONYM, term.key)
        elif term.kind is TermKind.PREFIX:
            self.add_pattern(f" {term.key}", index, _PREFIX, term.key)
        else:
            self.add_pattern(f" {term.key} ", index, _WORD, term.key)
        return index

    def node(self, expr: Expr) -> _Node:
        if isinstance(expr, Match):
            fields = _TEXT_FIELDS if expr.scope is None else (expr.scope.value,)
            self.scopes.update(fields)
            return _Atom(self.term_id(expr.term), fields)
        if isinstance(expr, Lang):
            return _Lang(expr.code)
        if isinstance(expr, Not):
            return _Not(self.node(expr.child))
        if isinstance(expr, All):
            return _All(tuple(self.node(child) for child in expr.children))
        return _Any(tuple(self.node(child) for child in expr.children))


def _positives(node: _Node, negated: bool = False) -> tuple[_Atom, ...]:
    if isinstance(node, _Atom):
        return () if negated else (node,)
    if isinstance(node, _Lang):
        return ()
    if isinstance(node, _Not):
        return _positives(node.child, not negated)
    return tuple(atom for child in node.children for atom in _positives(child, negated))


def _is_disjunction(node: _Node) -> bool:
    if isinstance(node, _Atom):
        return node.fields == _TEXT_FIELDS
    return isinstance(node, _Any) and all(_is_disjunction(child) for child in node.children)


def _has_lang(node: _Node) -> bool:
    if isinstance(node, _Lang):
        return True
    if isinstance(node, _Atom):
        return False
    if isinstance(node, _Not):
        return _has_lang(node.child)
    return any(_has_lang(child) for child in node.children)


def _evaluate(node: _Node, found: Mapping[str, Hits], lang: str) -> bool:
    if isinstance(node, _Atom):
        return any(node.term in found[field] for field in node.fields if field in found)
    if isinstance(node, _Lang):
        code = lang.casefold().replace("_", "-")
        return code == node.code or code.startswith(node.code + "-")
    if isinstance(node, _Not):
        return not _evaluate(node.child, found, lang)
    if isinstance(node, _All):
        return all(_evaluate(child, found, lang) for child in node.children)
    return any(_evaluate(child, found, lang) for child in node.children)


def _topic_expr(topic: Topic) -> Expr:
    """The topic's query OR-ed with its aliases; errors name the topic."""
    alternatives: list[Expr] = []
    for label, text, parse in (
        ("query", topic.query, parse_query),
        *((f"alias {alias!r}", alias, parse_alias) for alias in topic.aliases),
    ):
        if label == "query" and not text.strip() and topic.aliases:
            continue  # a topic may be defined by its aliases alone
        try:
            alternatives.append(parse(text))
        except QuerySyntaxError as error:
            where = topic.name if label == "query" else f"{topic.name}, {label}"
            raise QuerySyntaxError(error.message, error.position, where) from error
    return alternatives[0] if len(alternatives) == 1 else Any(tuple(alternatives))


class Watchlist:
    """All topics compiled once; `match` is called for every new article."""

    __slots__ = (
        "_always",
        "_automaton",
        "_phrases",
        "_phrases_by_first",
        "_refs",
        "_scopes",
        "_topics",
        "_topics_by_term",
        "_word_terms",
        "topics",
    )

    def __init__(self, topics: Sequence[Topic]) -> None:
        prepare()
        self.topics = tuple(topics)
        compiler = _Compiler()
        compiled: list[_CompiledTopic] = []
        for topic in self.topics:
            node = compiler.node(_topic_expr(topic))
            positives = _positives(node)
            by_field = {
                field: frozenset(a.term for a in positives if field in a.fields)
                for field in (*_TEXT_FIELDS, Scope.SOURCE.value)
            }
            compiled.append(_CompiledTopic(topic.name, node, by_field, _is_disjunction(node)))
        self._topics = tuple(compiled)
        # ASCII patterns first (_Automaton searches ASCII text for them alone).
        patterns = sorted(compiler.patterns, key=lambda pattern: not pattern.isascii())
        self._refs = tuple(tuple(compiler.refs[compiler.patterns[pattern]]) for pattern in patterns)
        # Most patterns are one whole word of one term: their hits skip the general loop.
        self._word_terms = tuple(
            refs[0][0] if len(refs) == 1 and refs[0][1] == _WORD else -1 for refs in self._refs
        )
        self._phrases = compiler.phrases
        self._phrases_by_first = compiler.phrases_by_first
        self._scopes = tuple(f for f in (*_TEXT_FIELDS, Scope.SOURCE.value) if f in compiler.scopes)
        # Every term of every topic searched at once; overlapping search sees nested terms.
        self._automaton = _Automaton(patterns) if patterns else None
        # Per field and term: the topics that show the term when it is found there (it is not
        # negated), and the other topics it can affect. Only these topics are evaluated.
        shown: dict[str, dict[int, list[int]]] = {field: {} for field in self._scopes}
        affected: dict[str, dict[int, list[int]]] = {field: {} for field in self._scopes}
        always: list[int] = []
        for index, entry in enumerate(compiled):
            for field in self._scopes:
                terms = {atom.term for atom in _atoms(entry.expr) if field in atom.fields}
                for term in terms:
                    showing = term in entry.positives[field]
                    (shown if showing else affected)[field].setdefault(term, []).append(index)
            # Topics that can hold without any term found ("NOT x", "lang:ru") are always checked.
            if _has_lang(entry.expr) or _evaluate(entry.expr, {}, ""):
                always.append(index)
        self._topics_by_term = {
            field: {
                term: (tuple(shown[field].get(term, ())), tuple(affected[field].get(term, ())))
                for term in shown[field].keys() | affected[field].keys()
            }
            for field in self._scopes
        }
        self._always = tuple(always)

    def match(self, text: ArticleText) -> tuple[TopicMatch, ...]:
        """Every topic the text satisfies, with its terms and a highlighted snippet."""
        scans: list[_Scan] = []
        # Per topic, the (field, term) pairs it shows, in field order: collected once per term.
        shown: dict[int, list[tuple[_Scan, int]]] = {}
        # Topics to evaluate that show no term found (NOT x, lang:ru, a negated term was found).
        candidates = set(self._always)
        for field in self._scopes:
            scan = self._scan(field, getattr(text, field))
            if scan is None:
                continue
            scans.append(scan)
            topics_by_term = self._topics_by_term[field]
            for term in scan.hits:
                topics = topics_by_term.get(term)
                if topics is None:
                    continue
                showing, affected = topics
                for index in showing:
                    pairs = shown.get(index)
                    if pairs is None:
                        shown[index] = [(scan, term)]
                    else:
                        pairs.append((scan, term))
                if affected:
                    candidates.update(affected)
        found: dict[str, Hits] | None = None
        matches: list[TopicMatch] = []
        compiled = self._topics
        for index in sorted(candidates.union(shown) if candidates else shown):
            topic = compiled[index]
            # A disjunction is a candidate only through a title/body term it contains: it holds.
            if not topic.is_disjunction:
                if found is None:
                    found = {scan.field: scan.hits for scan in scans}
                if not _evaluate(topic.expr, found, text.lang):
                    continue
            pairs = shown.get(index)
            if pairs is not None and len(pairs) == 1:  # the common case: one term in one field
                scan, term = pairs[0]
                matches.append(scan.explain(topic.name, term))
            else:
                matches.append(_topic_match(topic.name, pairs or (), text.title))
        return tuple(matches)

    def _scan(self, field: str, value: str) -> _Scan | None:
        """Fold one field once, run the automaton once, keep the hits that are whole words;
        None when no term is found in the field."""
        if not value or self._automaton is None:
            return None
        text, mapped = fold_mapped(value)
        raw = self._automaton.find(f" {text} ")
        if not raw:
            return None
        hits: Hits = {}
        refs = self._refs
        word_terms = self._word_terms
        urls: _Urls | None = None
        for pattern, start, end in raw:
            # Offsets are in the padded text: the pattern's leading space sits at `start`.
            term = word_terms[pattern]
            if term >= 0:
                spans = hits.get(term)
                if spans is None:
                    hits[term] = [(start, end - 2)]
                else:
                    spans.append((start, end - 2))
                continue
            for term, mode, key in refs[pattern]:
                if mode == _PREFIX:
                    word_end = text.find(" ", end - 1)
                    span = (start, len(text) if word_end < 0 else word_end)
                else:
                    span = (start, end - 2)
                    if mode == _ACRONYM:
                        begin, finish = span if mapped is None else mapped.original_span(*span)
                        written = value[begin:finish]
                        if written != key and fold_keep_case(written) != key:
                            continue
                        if urls is None:
                            urls = _Urls(value)
                        if urls.contain(begin, finish):
                            continue
                hits.setdefault(term, []).append(span)
        if self._phrases_by_first:
            for first in [term for term in hits if term in self._phrases_by_first]:
                for phrase in self._phrases_by_first[first]:
                    spans = _phrase_spans(self._phrases[phrase], hits, text)
                    if spans:
                        hits[phrase] = spans
        return _Scan(field, value, mapped, hits) if hits else None


class _Automaton:
    """Every term's patterns in Aho-Corasick automata over UTF-8 bytes.

    The str interface of ahocorasick_rs maps every byte of every text to a character offset in
    advance, which costs more than the search. Folded text is nearly always ASCII, where byte and
    character offsets agree, and where only ASCII patterns can match: they have an automaton of
    their own, whose tables (a state per pattern byte times the distinct bytes of the patterns)
    are a third the size of one for all patterns, and whose search is about 15% faster. Other
    text is searched for the other patterns too.
    """

    __slots__ = ("_ascii", "_ascii_count", "_lengths", "_other")

    def __init__(self, patterns: Sequence[str]) -> None:
        """`patterns`: the ASCII ones first; a match reports its index in this sequence."""
        encoded = [pattern.encode() for pattern in patterns]
        self._ascii_count = sum(1 for pattern in patterns if pattern.isascii())
        self._ascii = _search(encoded[: self._ascii_count])
        self._other = _search(encoded[self._ascii_count :])
        self._lengths = tuple(len(pattern) for pattern in patterns)

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """Every (pattern, start, end) in `text`, overlapping, with offsets in characters.

        `text` is folded, so it holds no NUL and the sentinel patterns never match.
        """
        if text.isascii():
            return (
                []
                if self._ascii is None
                else self._ascii.find_matches_as_indexes(text.encode(), overlapping=True)
            )
        encoded = text.encode()
        found = [] if self._ascii is None else self._ascii.find_matches_as_indexes(encoded, overlapping=True)
        if self._other is not None:
            count = self._ascii_count
            found += [
                (pattern + count, start, end)
                for pattern, start, end in self._other.find_matches_as_indexes(encoded, overlapping=True)
            ]
        if not found:
            return found
        # A character offset is the byte offset less the UTF-8 continuation bytes before it.
        # Each automaton reports its matches in order of their ends, so the continuation bytes are
        # counted about once; a match's characters are its pattern's.
        continuations = encoded.translate(_CONTINUATION_BYTES)
        lengths = self._lengths
        mapped = []
        counted = skipped = 0
        for pattern, _, end in found:
            if end < counted:  # the other automaton's matches: count from the start again
                counted = skipped = 0
            skipped += continuations.count(1, counted, end)
            counted = end
            mapped.append((pattern, end - skipped - lengths[pattern], end - skipped))
        return mapped


def _search(patterns: Sequence[bytes]) -> ahocorasick_rs.BytesAhoCorasick | None:
    """One automaton for `patterns`: a DFA while its tables stay small, else a contiguous NFA.

    The DFA searches about a quarter faster, but its tables grow with states times byte classes:
    5,000 ASCII words (50 KB of patterns) take 4 MB, 14 MB with 160 words of other letters among
    them (twice the byte classes), 140,000 name spellings 260 MB. Each of the two automata is
    bounded alone, so together they may take twice the memory of one.
    """
    if not patterns:
        return None
    implementation = (
        ahocorasick_rs.Implementation.DFA
        if sum(len(pattern) for pattern in patterns) <= DFA_MAX_PATTERN_BYTES
        else ahocorasick_rs.Implementation.ContiguousNFA
    )
    if len(patterns) > 1:
        patterns = [*patterns, *_SENTINELS]
    return ahocorasick_rs.BytesAhoCorasick(patterns, implementation=implementation)


# Every pattern starts with a space, so aho-corasick would skip ahead to each next space with
# memchr before stepping the automaton: a call per word, which makes the search 20-50% slower
# whenever there are two patterns or more (one pattern is found by memmem, which pays). Patterns
# with three other first bytes turn that prefilter off (ahocorasick_rs has no option for it); they
# never match, as folded text has no NUL, and add one byte class.
_SENTINELS = (b"q\x00", b"j\x00", b"x\x00")


# A bytes.translate table: 1 for a UTF-8 continuation byte (0b10xxxxxx), 0 for any other.
_CONTINUATION_BYTES = bytes(int(0x80 <= byte < 0xC0) for byte in range(256))


def _atoms(node: _Node) -> tuple[_Atom, ...]:
    if isinstance(node, _Atom):
        return (node,)
    if isinstance(node, _Lang):
        return ()
    if isinstance(node, _Not):
        return _atoms(node.child)
    return tuple(atom for child in node.children for atom in _atoms(child))


def _phrase_spans(parts: tuple[int, ...], hits: Hits, text: str) -> list[Span]:
    """Spans where the parts follow one another separated only by non-word characters."""
    if any(part not in hits for part in parts):
        return []
    following = [dict(hits[part]) for part in parts[1:]]
    spans: list[Span] = []
    for start, end in hits[parts[0]]:
        position = end
        for ends_by_start in following:
            gap = _SEPARATOR.match(text, position)
            next_end = ends_by_start.get(gap.end()) if gap else None
            if next_end is None:
                break
            position = next_end
        else:
            spans.append((start, position))
    return spans


def _topic_match(name: str, shown: Sequence[tuple[_Scan, int]], title: str) -> TopicMatch:
    """The words that fired (as written in the article) and a snippet of the first field, for a
    topic that shows no term or several (one term is `_Scan.explain`)."""
    if not shown:
        return TopicMatch(name, (), "title", snippet_around(title, None))
    terms: dict[str, None] = {}
    fields: list[tuple[_Scan, list[Span]]] = []
    for scan, pairs in groupby(shown, key=itemgetter(0)):
        fired = [term for _, term in pairs]
        if len(fired) == 1:
            spans, words = scan.found(fired[0])
        else:
            spans = sorted({span for term in fired for span in scan.found(term)[0]})
            words = tuple(scan.original[start:end] for start, end in spans)
        terms.update(dict.fromkeys(words))
        fields.append((scan, spans))
    scan, spans = fields[0]
    return TopicMatch(name, tuple(terms), scan.field, snippet_around(scan.original, spans[0], spans))


def _window(text: str, first: int, last: int) -> Span:
    """About SNIPPET_RADIUS characters either side of text[first:last], starting and ending on a
    space so the snippet does not open or close mid-word."""
    start = first - SNIPPET_RADIUS
    if start > 0:
        space = text.find(" ", start, first)
        if space >= 0:
            start = space + 1
    else:
        start = 0
    end = last + SNIPPET_RADIUS
    if end < len(text):
        space = text.rfind(" ", last, end)
        if space >= 0:
            end = space
    else:
        end = len(text)
    return start, end


def snippet_around(text: str, span: Span | None, highlights: Sequence[Span] = ()) -> Snippet:
    """About SNIPPET_RADIUS characters either side of `span`; sorted `highlights` inside marked."""
    if span is None:
        return Snippet(text[: 2 * SNIPPET_RADIUS])
    first, last = span
    start, end = _window(text, first, last)
    if not highlights or (len(highlights) == 1 and highlights[0] == span):
        # The one highlight is `span`, always inside the snippet (the common case).
        return Snippet(text[start:end], ((first - start, last - start),))
    marks: list[Span] = []
    # Highlights are sorted: skip those before the snippet, stop at the first one after it.
    for begin, finish in islice(highlights, bisect_left(highlights, (start, start)), None):
        if begin >= end:
            break
        if finish > end:
            continue
        begin, finish = begin - start, finish - start
        if marks and begin < marks[-1][1]:
            marks[-1] = (marks[-1][0], max(marks[-1][1], finish))
        else:
            marks.append((begin, finish))
    return Snippet(text[start:end], tuple(marks))


class _Urls:
    """The URLs written in a text (whitespace-free tokens with a scheme, www. or host/path)."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, text: str) -> None:
        spans: list[Span] = []
        # Every URL has a slash or starts with www.: most texts are not tokenised at all.
        if "/" in text or _WWW.search(text):
            spans = [token.span() for token in _TOKEN.finditer(text) if _is_url(token.group())]
        self._starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]

    def contain(self, start: int, end: int) -> bool:
        """True when text[start:end] lies inside one of the URLs."""
        index = bisect_right(self._starts, start) - 1
        return index >= 0 and end <= self._ends[index]


def _is_url(token: str) -> bool:
    return "://" in token or token[:4].casefold() == "www." or _HOST_PATH.match(token) is not None


def compile_watchlist(topics: Sequence[Topic]) -> Watchlist:
    """Compile topics into one watchlist; a bad query raises QuerySyntaxError naming the topic."""
    return Watchlist(topics)


def recompile(watchlist: Watchlist, topics: Sequence[Topic]) -> Watchlist:
    """The watchlist for `topics` now (e.g. re-read from the archive before a poll): the same
    object while they are unchanged, else a fresh compile. A bad query raises QuerySyntaxError
    naming the topic, so the caller can keep matching with the watchlist it has."""
    if watchlist.topics == tuple(topics):
        return watchlist
    return Watchlist(topics)


def explain(query: str, text: ArticleText) -> TopicMatch | None:
    """How a query matches a text (for `newsbot topics test`); None when it does not."""
    matches = Watchlist([Topic(query, query)]).match(text)
    return matches[0] if matches else None


def expansions(query: str) -> dict[str, tuple[str, ...]]:
    """Each term of a query as typed, with the folded spellings it matches (names expanded)."""
    result: dict[str, tuple[str, ...]] = {}
    for term in query_terms(parse_query(query)):
        for unit in term.parts or (term,):
            if unit.kind is TermKind.NAME:
                result[unit.text] = expand_term(unit.text)
            elif unit.kind is TermKind.PREFIX:
                result[unit.text] = (unit.key + "*",)
            else:
                result[unit.text] = (unit.key,)
    return result
