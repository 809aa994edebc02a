"""Names across scripts: transliterations and case endings a name term matches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.names import MIN_NAME_LENGTH, case_forms, expand_term, is_name_word
from core.normalize import fold


@pytest.mark.parametrize(
    ("word", "spelling"),
    [
        ("Tasmagambetov", "тасмагамбетов"),
        ("Tasmagambetov", "тасмагамбетова"),
        ("Tasmagambetov", "тасмагамбетову"),
        ("Tasmagambetov", "тасмагамбетовым"),
        ("Tasmagambetov", "тасмагамбетове"),
        ("Tasmagambetov", "тасмагамбетовтын"),  # Kazakh -тың, folded
        ("Тасмагамбетов", "tasmagambetov"),
        ("Tokayev", "tokaev"),
        ("Tokayev", "tokaiev"),
        ("Tokayev", "токаев"),
        ("Tokayev", "токаевтын"),
        ("Tokayev", "токаевка"),
        ("Tokayev", "токаевпен"),
        ("Tokaev", "tokayev"),
        ("Тоқаев", "tokayev"),
        ("Тоқаев", "токаевга"),
        ("Imangali", "имангали"),
        ("Mukhtar", "мухтар"),
        ("Mukhtar", "muhtar"),
        ("Zhaksybekov", "жаксыбеков"),
        ("Zhaksybekov", "jaksybekov"),
        ("Казахстан", "kazakhstan"),
        ("Ирина", "ирины"),  # -а replaced by the case ending
        ("Николай", "николая"),
    ],
)
def test_expansion_contains(word: str, spelling: str) -> None:
    assert spelling in expand_term(word)


@pytest.mark.parametrize(
    ("word", "spelling"),
    [
        ("Tokayev", "tokayevsky"),  # endings are a finite set, not a free prefix
        ("Tokayev", "токаевская"),
        ("Tasmagambetov", "тасмагамбетовщина"),
    ],
)
def test_expansion_excludes(word: str, spelling: str) -> None:
    assert spelling not in expand_term(word)


@pytest.mark.parametrize("word", ["Tasmagambetov", "Tokayev", "Tokaiev", "Токаев", "Imangali"])
def test_expansion_is_bounded(word: str) -> None:
    assert 1 < len(expand_term(word)) <= 60


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Tokayev", True),
        ("Токаев", True),
        ("tokayev", False),  # lowercase: a plain word
        ("SCO", False),  # ALL-CAPS: an acronym
        ("Li", False),  # shorter than MIN_NAME_LENGTH
        ("Ελλάδα", False),  # neither Latin nor Cyrillic
    ],
)
def test_is_name_word(word: str, expected: bool) -> None:
    assert is_name_word(word) is expected


def test_short_words_take_no_endings() -> None:
    assert case_forms("ли"[: MIN_NAME_LENGTH - 1]) == ()


@pytest.mark.parametrize("word", ["Cccc", "Circumcircles", "Concurrentmodificationexception"])
def test_a_name_without_cyrillic_reading_matches_as_written(word: str) -> None:
    assert expand_term(word) == (word.casefold(),)


@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщъыьэюяёәғқңөұүһі",
        min_size=1,
        max_size=40,
    )
)
def test_every_capitalised_word_expands_to_itself_and_a_bounded_set(word: str) -> None:
    spellings = expand_term(word.capitalize())
    assert spellings[0] == fold(word).strip()
    assert len(spellings) <= 60
