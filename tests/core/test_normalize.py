"""Folding text for matching: what becomes equal, and how offsets map back to the original."""

from __future__ import annotations

import pytest

from core.normalize import fold, fold_character, fold_keep_case, fold_text


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Всё", "все"),
        ("ЁЛКА", "елка"),
        ("Тоқаев", "токаев"),
        ("Тасмағамбетов", "тасмагамбетов"),
        ("ӘҒҚҢӨҰҮҺІ", "агкноуухи"),
        ("Тасмагам\u00adбетова", "тасмагамбетова"),  # soft hyphen
        ("Тока\u200bев", "токаев"),  # zero-width space
        ("Тoкаев", "токаев"),  # Latin o inside a Cyrillic word
        ("Tokаyev", "tokayev"),  # Cyrillic а inside a Latin word
        ("Straße", "strasse"),
        ("ﬁnance", "finance"),
        ("ＳＣＯ", "sco"),  # full-width letters (NFKC)
        ("SCO, disco!", "sco  disco "),  # every non-word character is one space
        ("е\u0308ж", "еж"),  # decomposed ё composes, then folds
        ("a\u00a0b", "a b"),
        # Characters outside the one-byte fast paths (kz1048, cp1252) fold the same way.
        ("Тоқаев — café 😉", "токаев   café  "),
        ("µ? №5", "μ  no5"),
        ("Ђoрђе", "ђорђе"),  # a Latin o among Serbian letters
        ("Tokаyev 😉", "tokayev  "),
        ("São Paulo: ação " * 40, "são paulo  ação " * 40),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize("codec", ["kz1048", "cp1252"])
def test_every_character_of_the_fast_codecs_folds_like_alone(codec: str) -> None:
    characters = bytes(range(256)).decode(codec, "ignore")
    for char in characters:
        assert fold(char) == fold_character(char), repr(char)
        assert fold(f"0{char}0") == f"0{fold_character(char)}0", repr(char)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("SCO", "SCO"),
        ("sco", "sco"),
        ("ШЫҰ", "ШЫУ"),
        ("ҰҚШҰ", "УКШУ"),
        ("ШOС", "ШОС"),  # Latin O inside a Cyrillic acronym
        ("ОДК\u00adБ", "ОДКБ"),
    ],
)
def test_fold_keep_case(text: str, kept: str) -> None:
    assert fold_keep_case(text) == kept


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Встреча с Тасмагам\u00adбетова в Астане", "Тасмагам\u00adбетова"),
        ("Die Straße nach Astana", "Straße"),
        ("ﬁnance ministers", "ﬁnance"),
        ("Всё о Тоқаевтың", "Тоқаевтың"),
        ("Cafe\u0301 Tokayev", "Cafe\u0301"),
    ],
)
def test_offsets_map_back_to_the_original(text: str, word: str) -> None:
    folded = fold_text(text)
    key = fold(word).strip()
    start = folded.text.index(key)
    begin, end = folded.original_span(start, start + len(key))
    assert text[begin:end] == word


def test_one_to_one_text_has_no_offset_map() -> None:
    folded = fold_text("Tokayev met the SCO — «ШОС»")
    assert folded.folded_starts == ()
    assert len(folded.text) == len(folded.original)
