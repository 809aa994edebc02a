"""Folding text for matching: what becomes equal, and how offsets map back to the original."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.normalize import fold, fold_character, fold_keep_case, fold_text, fold_text_generally


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
        ("It’s “Tokayev” — ‘SCO’? Yes… ", "it s  tokayev     sco   yes  "),
        ("Tokayev said “Тоқаев” " + "x" * 400, "tokayev said  токаев  " + "x" * 400),
        ("Tokayev said Tоқаев " + "x" * 400, "tokayev said токаев " + "x" * 400),  # Latin T
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize("codec", ["latin-1", "kz1048", "cp1252"])
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


# Letters and signs of every path: ASCII, Latin-1, typographic punctuation, Cyrillic and Kazakh,
# look-alikes, irregular characters (NUL, soft hyphen, zero-width, ß, ﬁ, combining marks), others;
# then alphabets that keep a text on one fast path (ASCII, Latin-1 once the typographic characters
# are spaces, kz1048, cp1252) without marker runs.
_ALPHABETS = [
    "aoceTKxy ?.-'Zéãçß\u00a0’“”‘–—…МоскваТокаевёЁқҚңҰі\x00\u00ad\u200b\u0301ﬁµ😉Ђђ",
    "aoceTKxyZ ?.-'_09",
    "aoceTKxyZ ?.-'éãçÉÃ\u00a0’“”‘–—…",
    "aoceTKxyZ ?.-«»—МоскваТОКАЕВёЁқҚңҰіӘ",
    "aoceTKxyZ ?.-ŒœŠšŽž’“”",
]


@pytest.mark.parametrize("alphabet", _ALPHABETS, ids=["every-path", "ascii", "latin-1", "kz1048", "cp1252"])
def test_the_fast_paths_fold_like_the_general_one(alphabet: str) -> None:
    @given(st.text(alphabet=alphabet, max_size=300))
    def agree(text: str) -> None:
        assert fold_text(text) == fold_text_generally(text)

    agree()


@given(st.text(alphabet=_ALPHABETS[0], max_size=300))
def test_folded_text_has_no_nul(text: str) -> None:
    # The matcher's sentinel patterns end in NUL: they must never match folded text.
    assert "\x00" not in fold(text)
