"""Text folding for matching: NFKC, case folding, ё/Kazakh/look-alike folding, with an offset map."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# Invisible characters that must not split or hide a word (soft hyphen, zero-width space/joiners,
# word joiner, BOM, Mongolian vowel separator): removed before matching.
REMOVED_CHARACTERS = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"

# Kazakh letters fold to their nearest Russian letter so Тоқаев, Тасмағамбетов and ШЫҰ match
# the Russian spelling; ё=е as the spec requires.
_LETTER_FOLDS_LOWER = {
    "ё": "е",
    "ә": "а",
    "ғ": "г",
    "қ": "к",
    "ң": "н",
    "ө": "о",
    "ұ": "у",
    "ү": "у",
    "һ": "х",
    "і": "и",
}
_LETTER_FOLDS = {
    **_LETTER_FOLDS_LOWER,
    **{key.upper(): value.upper() for key, value in _LETTER_FOLDS_LOWER.items()},
}

# Latin and Cyrillic letters that look alike (upper or lower case); a mixed-script word has its
# minority-script look-alikes replaced so "Тoкаев" with a Latin o still reads as Токаев.
_LATIN_TO_CYRILLIC = dict(zip("abcehkmoptxyABCEHKMOPTXY", "авсенкмортхуАВСЕНКМОРТХУ", strict=True))
_CYRILLIC_TO_LATIN = {cyrillic: latin for latin, cyrillic in _LATIN_TO_CYRILLIC.items()}
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CYRILLIC_RANGE = "\u0400-\u045f\u0490\u0491"
_MIXED_LOWER = re.compile(f"[a-z][{_CYRILLIC_RANGE}]|[{_CYRILLIC_RANGE}][a-z]")
_MIXED_ANY = re.compile(f"[a-zA-Z][{_CYRILLIC_RANGE}]|[{_CYRILLIC_RANGE}][a-zA-Z]")
_WORD = re.compile(r"\w+")


def is_word_character(char: str) -> bool:
    """True for the characters of a word: exactly what Python's `\\w` matches."""
    return char.isalnum() or char == "_"


def fold_character(char: str) -> str:
    """The matching form of one character: a non-word character becomes one space."""
    folded = unicodedata.normalize("NFKC", char).casefold()
    out = "".join(
        _LETTER_FOLDS.get(c, c) if is_word_character(c) else " "
        for c in folded
        if c not in REMOVED_CHARACTERS
    )
    if out and not out.strip():
        return " "
    return out


class _FoldTable(dict[int, str]):
    """A str.translate table filled on first use, so every code point costs one computation."""

    def __missing__(self, code: int) -> str:
        value = fold_character(chr(code))
        self[code] = value
        return value


_TABLE = _FoldTable()


def _composes_second() -> set[str]:
    """Characters that canonical composition can merge into the character before them."""
    seconds = {chr(c) for c in range(0x1161, 0x1176)} | {chr(c) for c in range(0x11A8, 0x11C3)}
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(chr(int(parts[1], 16)))
    return seconds


@cache
def _irregular_pattern() -> re.Pattern[str]:
    """Characters whose folding is not one-to-one or depends on their neighbours."""
    seconds = _composes_second()
    irregular: list[int] = []
    for code in range(0x110000):
        char = chr(code)
        if code >= 0x30000 and code < 0xE0000:
            continue  # unassigned or ideographs: always one character, no composition
        decomposed = unicodedata.normalize("NFKD", char)
        if (
            unicodedata.combining(char)
            or char in seconds
            or unicodedata.combining(decomposed[0])
            or len(fold_character(char)) != 1
        ):
            irregular.append(code)
    ranges: list[str] = []
    start = previous = irregular[0]
    for code in [*irregular[1:], -2]:
        if code != previous + 1:
            ranges.append(
                re.escape(chr(start)) + ("-" + re.escape(chr(previous)) if previous > start else "")
            )
            start = code
        previous = code
    cls = "".join(ranges)
    # A cluster is an irregular character with the character it may compose with.
    return re.compile(f"(?s).?[{cls}]+")


def prepare() -> None:
    """Build the lazily computed tables now (the first compile of a watchlist calls this)."""
    _irregular_pattern()


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A text in matching form; non-word runs are spaces and `starts`/`ends` map back."""

    original: str
    text: str
    starts: tuple[int, ...] | None = None  # None: folding was one-to-one, offsets are equal
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The [start, end) span of the original text that folded into text[start:end]."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]


def fold_text(text: str) -> FoldedText:
    """Fold a text for matching once; cheap str.translate unless the text has irregular letters."""
    irregular = _irregular_pattern()
    if unicodedata.is_normalized("NFKC", text) and irregular.search(text) is None:
        return FoldedText(text, _fold_lookalikes(text.translate(_TABLE), _MIXED_LOWER))
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for cluster in irregular.finditer(text):
        start, end = cluster.span()
        if start > position:
            pieces.append(text[position:start].translate(_TABLE))
            starts.extend(range(position, start))
            ends.extend(range(position + 1, start + 1))
        folded = "".join(fold_character(c) for c in unicodedata.normalize("NFKC", text[start:end]))
        if folded and not folded.strip():
            folded = " "
        pieces.append(folded)
        starts.extend([start] * len(folded))
        ends.extend([end] * len(folded))
        position = end
    if position < len(text):
        pieces.append(text[position:].translate(_TABLE))
        starts.extend(range(position, len(text)))
        ends.extend(range(position + 1, len(text) + 1))
    folded_text = _fold_lookalikes("".join(pieces), _MIXED_LOWER)
    return FoldedText(text, folded_text, tuple(starts), tuple(ends))


def fold(text: str) -> str:
    """The matching form of a text: folded letters, every non-word run a space."""
    return fold_text(text).text


def fold_words(text: str) -> tuple[str, ...]:
    """The folded words of a text, in order."""
    return tuple(fold_text(text).text.split())


def fold_keep_case(text: str) -> str:
    """The case-keeping twin of `fold` for acronyms: NFKC, ё/Kazakh/look-alikes, case kept."""
    normal = unicodedata.normalize("NFKC", text)
    kept = "".join(_LETTER_FOLDS.get(c, c) for c in normal if c not in REMOVED_CHARACTERS)
    return _fold_lookalikes(kept, _MIXED_ANY)


def _fold_lookalikes(text: str, mixed: re.Pattern[str]) -> str:
    """Replace minority-script look-alike letters inside words written in both scripts."""
    match = mixed.search(text)
    if match is None:
        return text
    pieces: list[str] = []
    position = 0
    while match is not None:
        start = match.start()
        end = match.end()
        # Word edges: non-word characters are spaces in folded text, any non-\w in kept text.
        while start > 0 and is_word_character(text[start - 1]):
            start -= 1
        while end < len(text) and is_word_character(text[end]):
            end += 1
        pieces.append(text[position:start])
        pieces.append(_fold_word_lookalikes(text[start:end]))
        position = end
        match = mixed.search(text, end)
    pieces.append(text[position:])
    return "".join(pieces)


def _fold_word_lookalikes(word: str) -> str:
    """One mixed-script word written in its majority script (Cyrillic on a tie)."""
    latin = sum(c in _LATIN for c in word)
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in word)
    table = _LATIN_TO_CYRILLIC if cyrillic >= latin else _CYRILLIC_TO_LATIN
    return "".join(table.get(c, c) for c in word)


def has_word_characters(text: str) -> bool:
    """True when the text has at least one word character."""
    return _WORD.search(text) is not None
