"""The query language of topics and search: a bounded recursive-descent parser into a small AST."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.names import is_name_word
from core.normalize import fold, fold_character, fold_keep_case, fold_words

MAX_QUERY_LENGTH = 10_000
MAX_TERMS = 500
MAX_DEPTH = 50

OPERATORS = frozenset({"AND", "OR", "NOT"})


class QuerySyntaxError(ValueError):
    """A malformed query: what was expected and at which 0-based character position."""

    def __init__(self, message: str, position: int, topic: str | None = None) -> None:
        self.message = message
        self.position = position
        self.topic = topic
        prefix = f"topic {topic!r}: " if topic else ""
        super().__init__(f"{prefix}{message} at position {position}")


class Scope(StrEnum):
    TITLE = "title"
    BODY = "body"
    SOURCE = "source"
    LANG = "lang"


class TermKind(StrEnum):
    WORD = "word"  # whole word, case-insensitive
    NAME = "name"  # whole word in any of its transliterations and case forms
    ACRONYM = "acronym"  # whole word, case-sensitive (SCO never fires on "sco" or Scotland)
    PREFIX = "prefix"  # word beginning, case-insensitive
    PHRASE = "phrase"  # consecutive words separated only by non-word characters


@dataclass(frozen=True, slots=True)
class Term:
    """One searchable unit; `key` is its folded form (case kept for acronyms)."""

    kind: TermKind
    key: str
    text: str
    parts: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """A term that must occur in the given scope (None: title or body)."""

    term: Term
    scope: Scope | None = None


@dataclass(frozen=True, slots=True)
class Lang:
    """`lang:xx`: the article's language code is xx or starts with xx- (ru matches ru-RU)."""

    code: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Expr


@dataclass(frozen=True, slots=True)
class All:
    children: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Any:
    children: tuple[Expr, ...]


Expr = Match | Lang | Not | All | Any


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, phrase, scope, lparen, rparen, and, or, not, minus, end
    text: str
    position: int


_SCOPES = tuple(f"{scope.value}:" for scope in Scope)
_STOP = frozenset('()"')


def _tokenise(query: str) -> list[_Token]:
    """Split a query into tokens, each with its 0-based position."""
    tokens: list[_Token] = []
    i = 0
    length = len(query)
    while i < length:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token("lparen" if char == "(" else "rparen", char, i))
            i += 1
        elif char == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("unterminated phrase: expected a closing '\"'", length)
            tokens.append(_Token("phrase", query[i + 1 : close], i))
            i = close + 1
        elif char == "-" and i + 1 < length and not query[i + 1].isspace() and query[i + 1] != ")":
            tokens.append(_Token("minus", "-", i))
            i += 1
        else:
            start = i
            while i < length and not query[i].isspace() and query[i] not in _STOP:
                i += 1
            word = query[start:i]
            if "*" not in word and not fold(word).strip():
                continue  # a lone dash or symbol between words cannot match anything
            scope = next((s for s in _SCOPES if word.startswith(s)), None)
            if scope is not None:
                tokens.append(_Token("scope", scope[:-1], start))
                word = word[len(scope) :]
                start += len(scope)
                if not word:
                    continue
            if word in OPERATORS:
                tokens.append(_Token(word.lower(), word, start))
            else:
                tokens.append(_Token("word", word, start))
    tokens.append(_Token("end", "", length))
    return tokens


def _describe(token: _Token) -> str:
    return "the end of the query" if token.kind == "end" else repr(token.text)


class _Parser:
    """Recursive descent over: or := and (OR and)*; and := unary ([AND] unary)*; unary := ..."""

    def __init__(self, query: str) -> None:
        self.tokens = _tokenise(query)
        self.index = 0
        self.terms = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise QuerySyntaxError("empty query: expected a word, phrase or '('", 0)
        expr = self.parse_or(0)
        token = self.peek()
        if token.kind == "rparen":
            raise QuerySyntaxError("unexpected ')': no '(' to close", token.position)
        if token.kind != "end":
            raise QuerySyntaxError(f"unexpected {_describe(token)}", token.position)
        return expr

    def parse_or(self, depth: int) -> Expr:
        children = [self.parse_and(depth)]
        while self.peek().kind == "or":
            self.take()
            children.append(self.parse_and(depth))
        return children[0] if len(children) == 1 else Any(tuple(children))

    def parse_and(self, depth: int) -> Expr:
        children = [self.parse_unary(depth)]
        while True:
            kind = self.peek().kind
            if kind == "and":
                self.take()
            elif kind not in ("word", "phrase", "lparen", "not", "minus", "scope"):
                break
            children.append(self.parse_unary(depth))
        return children[0] if len(children) == 1 else All(tuple(children))

    def parse_unary(self, depth: int) -> Expr:
        negated = False
        scope: Scope | None = None
        scope_token: _Token | None = None
        # Prefix operators are read in a loop, so "NOT NOT … x" cannot exhaust the stack.
        while self.peek().kind in ("not", "minus", "scope"):
            token = self.take()
            if token.kind == "scope":
                scope = Scope(token.text)
                scope_token = token
            else:
                negated = not negated
        expr = self.parse_primary(depth, scope_token)
        if scope is not None:
            expr = _scoped(expr, scope)
        return Not(expr) if negated else expr

    def parse_primary(self, depth: int, scope_token: _Token | None) -> Expr:
        token = self.peek()
        if token.kind == "lparen":
            if depth >= MAX_DEPTH:
                raise QuerySyntaxError(f"parentheses nested deeper than {MAX_DEPTH}", token.position)
            self.take()
            expr = self.parse_or(depth + 1)
            close = self.peek()
            if close.kind != "rparen":
                raise QuerySyntaxError(
                    f"expected ')', found {_describe(close)}",
                    close.position,
                )
            self.take()
            return expr
        if token.kind in ("word", "phrase"):
            self.take()
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise QuerySyntaxError(f"more than {MAX_TERMS} terms", token.position)
            term = _phrase_term(token) if token.kind == "phrase" else _word_term(token)
            return Match(term)
        after = f" after '{scope_token.text}:'" if scope_token is not None else ""
        raise QuerySyntaxError(
            f"expected a word, phrase or '('{after}, found {_describe(token)}", token.position
        )


def _scoped(expr: Expr, scope: Scope) -> Expr:
    """Push a field scope down to the terms of a group; an inner scope wins over an outer one."""
    if isinstance(expr, Match):
        if expr.scope is not None:
            return expr
        if scope is Scope.LANG:
            return Lang("-".join(fold(expr.term.text.rstrip("*")).split()))
        return Match(expr.term, scope)
    if isinstance(expr, Lang):
        return expr
    if isinstance(expr, Not):
        return Not(_scoped(expr.child, scope))
    if isinstance(expr, All):
        return All(tuple(_scoped(child, scope) for child in expr.children))
    return Any(tuple(_scoped(child, scope) for child in expr.children))


def _is_acronym(word: str) -> bool:
    """ALL-CAPS with at least two letters: SCO, CSTO, ОДКБ, ШЫҰ."""
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _part(word: str) -> Term:
    """A single word of a phrase: exact (no name expansion), acronyms kept case-sensitive."""
    if word.endswith("*") and len(word) > 1:
        return Term(TermKind.PREFIX, fold(word[:-1]).strip(), word)
    if _is_acronym(word):
        return Term(TermKind.ACRONYM, fold_keep_case(word), word)
    return Term(TermKind.WORD, fold(word).strip(), word)


def _split_words(text: str) -> list[str]:
    """Typed words of a text split where folding sees a non-word character; `*` stays attached."""
    words: list[str] = []
    current: list[str] = []
    for char in text:
        folded = fold_character(char)
        if char == "*" or folded.strip():
            current.append(char)
        elif folded and current:  # a separator; removed characters (soft hyphen) join
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return [word for word in words if fold(word.replace("*", "")).strip()]


def _phrase_of(text: str, position: int) -> Term:
    """Split text on non-word characters into a phrase (or one word if that is all it is)."""
    for word in _split_words(text):
        star = word.find("*")
        if star >= 0 and star != len(word) - 1:
            raise QuerySyntaxError(
                "'*' is only allowed at the end of a word", position + text.find(word) + star
            )
    parts = [_part(word) for word in _split_words(text)]
    if not parts:
        raise QuerySyntaxError("empty phrase: expected a word inside the quotes", position)
    if len(parts) == 1:
        return parts[0]
    key = " ".join(fold(part.text.rstrip("*")).strip() for part in parts)
    return Term(TermKind.PHRASE, key, text, tuple(parts))


def _phrase_term(token: _Token) -> Term:
    return _phrase_of(token.text, token.position)


def _word_term(token: _Token) -> Term:
    """A bare word: a prefix, an acronym, a name, a plain word, or a phrase if it has dashes etc."""
    word = token.text
    star = word.find("*")
    if star >= 0 and star != len(word) - 1:
        raise QuerySyntaxError("'*' is only allowed at the end of a word", token.position + star)
    if word == "*":
        raise QuerySyntaxError("expected a word before '*'", token.position)
    folded = fold_words(word.rstrip("*"))
    if not folded:
        raise QuerySyntaxError(f"expected a word, found {word!r}", token.position)
    if len(folded) > 1:
        return _phrase_of(word, token.position)
    if star >= 0:
        return Term(TermKind.PREFIX, folded[0], word)
    if _is_acronym(word):
        return Term(TermKind.ACRONYM, fold_keep_case(word), word)
    if is_name_word(word):
        return Term(TermKind.NAME, folded[0], word)
    return Term(TermKind.WORD, folded[0], word)


def parse_query(query: str) -> Expr:
    """Parse a query into an expression, or raise QuerySyntaxError naming the position."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"query longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH)
    return _Parser(query).parse()


def query_terms(expr: Expr) -> tuple[Term, ...]:
    """Every term of an expression, in query order."""
    if isinstance(expr, Match):
        return (expr.term,)
    if isinstance(expr, Lang):
        return ()
    if isinstance(expr, Not):
        return query_terms(expr.child)
    return tuple(term for child in expr.children for term in query_terms(child))


def parse_alias(alias: str) -> Expr:
    """An alias is a literal spelling: one word follows the word rules, several words a phrase."""
    if len(alias.split()) <= 1:
        return parse_query(alias)
    return Match(_phrase_of(alias.replace('"', " "), 0))
