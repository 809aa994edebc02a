"""The query parser: what each query means, and where a malformed one is wrong."""

from __future__ import annotations

import pytest

from core.query import (
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    All,
    Any,
    Lang,
    Match,
    Not,
    QuerySyntaxError,
    Scope,
    TermKind,
    parse_alias,
    parse_query,
    query_terms,
)


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        ("sco", [TermKind.WORD]),
        ("SCO", [TermKind.ACRONYM]),
        ("ОДКБ", [TermKind.ACRONYM]),
        ("Tasmagambetov", [TermKind.NAME]),
        ("Тасмагамбетов*", [TermKind.PREFIX]),
        ('"Shanghai Cooperation Organisation"', [TermKind.PHRASE]),
        ('"Tokayev"', [TermKind.WORD]),  # quotes: exact word, no name expansion
        ("Kassym-Jomart", [TermKind.PHRASE]),
        ("Li", [TermKind.WORD]),  # too short to expand as a name
        ("a OR b c", [TermKind.WORD] * 3),
    ],
)
def test_term_kinds(query: str, kinds: list[TermKind]) -> None:
    assert [term.kind for term in query_terms(parse_query(query))] == kinds


def test_implicit_and_or_precedence() -> None:
    expr = parse_query("a b OR c")
    assert isinstance(expr, Any)
    assert isinstance(expr.children[0], All)
    assert isinstance(expr.children[1], Match)


@pytest.mark.parametrize("query", ["a -b", "a NOT b", "a AND NOT b", "a AND -b"])
def test_negation_forms(query: str) -> None:
    expr = parse_query(query)
    assert isinstance(expr, All)
    assert isinstance(expr.children[1], Not)


def test_double_negation_cancels() -> None:
    assert isinstance(parse_query("NOT NOT x"), Match)


def test_scope_applies_to_group_and_inner_scope_wins() -> None:
    expr = parse_query("title:(a OR body:b)")
    assert isinstance(expr, Any)
    scopes = [child.scope for child in expr.children if isinstance(child, Match)]
    assert scopes == [Scope.TITLE, Scope.BODY]


def test_lang_scope_becomes_language_check() -> None:
    assert parse_query("lang:ru") == Lang("ru")
    assert parse_query("lang:RU") == Lang("ru")
    assert parse_query("lang:ru-RU") == Lang("ru-ru")
    assert parse_query("lang:(ru OR kk)") == Any((Lang("ru"), Lang("kk")))


def test_lone_dash_between_words_is_ignored() -> None:
    assert len(query_terms(parse_query("Tokayev - Putin"))) == 2


def test_alias_with_spaces_is_a_phrase() -> None:
    expr = parse_alias("Шанхайск* организаци* сотрудничества")
    assert isinstance(expr, Match)
    assert expr.term.kind is TermKind.PHRASE
    assert [part.kind for part in expr.term.parts] == [
        TermKind.PREFIX,
        TermKind.PREFIX,
        TermKind.WORD,
    ]


@pytest.mark.parametrize(
    ("query", "position", "expected"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("(Tokayev OR SCO", 15, "expected ')'"),
        ("Tokayev OR (SCO", 15, "expected ')'"),
        ("(a OR b) AND (c", 15, "expected ')'"),
        ("Tokayev)", 7, "unexpected ')'"),
        (")", 0, "expected a word"),
        ("a OR", 4, "expected a word"),
        ("OR a", 0, "expected a word"),
        ("a AND AND b", 6, "expected a word"),
        ("a NOT", 5, "expected a word"),
        ("()", 1, "expected a word"),
        ("title:", 6, "after 'title:'"),
        ("title:)", 6, "after 'title:'"),
        ('"Shanghai Cooperation', 21, "expected a closing '\"'"),
        ('a ""', 2, "empty phrase"),
        ("a*b", 1, "'*' is only allowed at the end"),
        ("*", 0, "expected a word before '*'"),
        ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, "nested deeper"),
        ("x " * (MAX_QUERY_LENGTH // 2 + 1), MAX_QUERY_LENGTH, "longer than"),
        (
            " ".join(f"w{i}" for i in range(MAX_TERMS + 1)),
            len(" ".join(f"w{i}" for i in range(MAX_TERMS))) + 1,
            "more than",
        ),
    ],
)
def test_malformed_queries_name_the_position(query: str, position: int, expected: str) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query(query)
    assert raised.value.position == position
    assert expected in raised.value.message
    assert str(raised.value).endswith(f"at position {position}")


def test_deep_but_allowed_nesting_parses() -> None:
    query = "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH
    assert isinstance(parse_query(query), Match)


def test_long_not_chain_does_not_recurse() -> None:
    assert isinstance(parse_query("NOT " * 2001 + "x"), Not)


def test_error_names_the_topic() -> None:
    error = QuerySyntaxError("expected ')'", 14, "CSTO")
    assert str(error) == "topic 'CSTO': expected ')' at position 14"
