"""Text folding for matching: NFKC, case folding, ё/Kazakh/look-alike folding, with an offset map."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
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
_MIXED_CYRILLIC = re.compile(f"[{_CYRILLIC_RANGE}]")
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


# Irregular characters translate to this marker, so one translate both folds and detects them.
_MARKER = "\x00"


class _FoldTable(dict[int, str]):
    """A str.translate table filled on first use, so every code point costs one computation."""

    def __missing__(self, code: int) -> str:
        value = _MARKER if code in _irregular_codes() else fold_character(chr(code))
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
def _composing_codes() -> frozenset[int]:
    """Characters that NFKC may merge with the character before them (combining marks etc.)."""
    seconds = _composes_second()
    composing: list[int] = []
    for code in range(0x110000):
        if 0x30000 <= code < 0xE0000:
            continue  # unassigned or ideographs: no composition
        char = chr(code)
        decomposed = unicodedata.normalize("NFKD", char)
        if unicodedata.combining(char) or char in seconds or unicodedata.combining(decomposed[0]):
            composing.append(code)
    return frozenset(composing)


@cache
def _irregular_codes() -> frozenset[int]:
    """Characters whose folding is not one-to-one or depends on their neighbours (and NUL)."""
    irregular = {0, *_composing_codes()}
    for code in range(0x30000):
        if len(fold_character(chr(code))) != 1:
            irregular.add(code)
    return frozenset(irregular)


def prepare() -> None:
    """Build the lazily computed tables now (the first compile of a watchlist calls this)."""
    _irregular_codes()


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A text in matching form (non-word runs are spaces) and the map back to the original.

    The map is piecewise: piece i starts at folded offset `folded_starts[i]` and original offset
    `original_starts[i]`; a one-to-one run has `original_ends[i] == -1`, an irregular cluster
    (soft hyphen, ß, combining marks) maps every folded character to its whole original span.
    No pieces means the folding was one-to-one everywhere.
    """

    original: str
    text: str
    folded_starts: tuple[int, ...] = ()
    original_starts: tuple[int, ...] = ()
    original_ends: tuple[int, ...] = ()

    def _original(self, position: int, *, end: bool) -> int:
        piece = bisect_right(self.folded_starts, position) - 1
        if piece < 0:
            return position + end
        cluster_end = self.original_ends[piece]
        if cluster_end < 0:
            return self.original_starts[piece] + position - self.folded_starts[piece] + end
        return cluster_end if end else self.original_starts[piece]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The [start, end) span of the original text that folded into text[start:end]."""
        if not self.folded_starts:
            return start, end
        if start >= end:
            if start >= len(self.text):
                return len(self.original), len(self.original)
            position = self._original(start, end=False)
            return position, position
        return self._original(start, end=False), self._original(end - 1, end=True)


# str.translate looks every non-ASCII character up in a dict, which costs more than the rest of
# matching; bytes.translate over a one-byte encoding is a C table lookup. ASCII text is translated as
# bytes. In other text the common typographic characters (’ “ ” —) are first replaced by the space
# they fold to, so most English, Portuguese, French and German text then fits Latin-1, whose encoder
# is a plain C loop (a charmap codec's costs about ten times as much per character). Text with a few
# other characters is encoded with "?" for them; text with many (Russian, Kazakh) goes through
# Kazakh Windows (kz1048: ASCII, Russian, Kazakh, typographic punctuation), or cp1252 when that suits
# better. Every "?" byte of such an encoding translates to the marker, and marker runs are then
# folded from the original text.
_ASCII = "ascii"
_LATIN_1 = "latin-1"
_CODECS = ("kz1048", "cp1252")
_REPLACEMENT = ord("?")
# The characters outside Latin-1 that English text uses most (corpus counts: ’ 13,296, ” 3,991,
# “ 3,253, — 1,239, … 1,170, ‘ 566, – 456); each folds to one space.
_TYPOGRAPHIC = "’”“—…‘–"


@cache
def _byte_table(codec: str, replaced: bool) -> bytes:
    """The fold table of one single-byte codec; a byte whose fold it cannot encode is the marker,
    and so is "?" when the encoding `replaced` unencodable characters with it."""
    table = bytearray(256)  # zero: the marker's byte in every codec used here
    for byte in range(256):
        if byte == _REPLACEMENT and replaced:
            continue
        try:
            folded = _TABLE[ord(bytes([byte]).decode(codec))].encode(codec)
        except UnicodeError:
            continue  # undefined in the codec, or folds to a character outside it
        if len(folded) == 1:
            table[byte] = folded[0]
    return bytes(table)


@cache
def _script_table(codec: str) -> bytes:
    """Each byte of a codec as its script: b"L" for a-z, b"C" for Cyrillic, b" " for the rest."""
    scripts = bytearray(b" " * 256)
    for byte in range(256):
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeError:
            continue
        if "a" <= char <= "z":
            scripts[byte] = ord("L")
        elif _MIXED_CYRILLIC.fullmatch(char):
            scripts[byte] = ord("C")
    return bytes(scripts)


def _touch(scripts: bytes) -> bool:
    """True when a Latin letter touches a Cyrillic one in a text's script bytes (_script_table).

    Looks for a b"C" first: a two-byte search tests its last byte at every position, so b"LC"
    over English text (mostly b"L", no b"C") costs far more than the memchr that settles it.
    """
    return b"C" in scripts and (b"LC" in scripts or b"CL" in scripts)


def _may_mix_scripts(folded: str) -> bool:
    """False when no Latin letter of a folded text touches a Cyrillic one (a byte search)."""
    try:
        folded.encode(_LATIN_1)  # a copy when every character is Latin-1, unlike a regex scan
    except UnicodeEncodeError:
        pass
    else:
        return False  # no Cyrillic letter
    if _MIXED_CYRILLIC.search(folded) is None:
        return False
    encoded = folded.encode(_CODECS[0], "replace")
    if _REPLACEMENT in encoded:
        return True  # a letter kz1048 lacks (folded text has no "?" of its own): ask the regex
    return _touch(encoded.translate(_script_table(_CODECS[0])))


def _translate(text: str) -> tuple[str, bool]:
    """`text.translate(_TABLE)` (one character for one character, markers for irregular ones)
    and whether the result may hold a word written in both scripts."""
    if not text.isascii():
        for char in _TYPOGRAPHIC:  # one C scan each; folded the same, and often all there is
            text = text.replace(char, " ")
    if text.isascii():
        return _translate_ascii(text), False  # a folded ASCII text has no Cyrillic
    try:
        encoded = text.encode(_LATIN_1)
    except UnicodeEncodeError as error:
        # Russian or Kazakh text (a Cyrillic letter comes first) goes straight to kz1048.
        return _translate_replaced(text, cyrillic=_MIXED_CYRILLIC.match(text, error.start) is not None)
    # "?" is a character of the text here, not a replacement. Latin-1 has no Cyrillic letter, but a
    # marker (µ folds to Greek μ, ß to ss) may stand for another script's letter.
    translated = encoded.translate(_byte_table(_LATIN_1, False)).decode(_LATIN_1)
    return _unmark(text, translated, mixed=False)


def _translate_ascii(text: str) -> str:
    """`_translate` for ASCII text: a table lookup per byte (NUL stays a marker)."""
    return text.encode(_ASCII).translate(_byte_table(_ASCII, False)).decode(_ASCII)


def _translate_replaced(text: str, *, cyrillic: bool) -> tuple[str, bool]:
    """`_translate` for a text with characters outside Latin-1, Cyrillic ones among them if so."""
    codec = _CODECS[0] if cyrillic else _LATIN_1
    encoded = text.encode(codec, "replace")
    if codec == _LATIN_1 and _many_unencodable(encoded):
        codec = _CODECS[0]
        encoded = text.encode(codec, "replace")
    if codec != _LATIN_1 and _many_unencodable(encoded):
        # Many characters outside kz1048 (Polish, Czech, ...): cp1252 when it suits better.
        other = text.encode(_CODECS[1], "replace")
        if other.count(_REPLACEMENT) < encoded.count(_REPLACEMENT):
            codec, encoded = _CODECS[1], other
        if _many_unencodable(encoded):
            return text.translate(_TABLE), True
    folded = encoded.translate(_byte_table(codec, True))
    # A Latin letter beside a Cyrillic one, found by byte searches instead of a regex; Latin-1
    # has no Cyrillic letter, so only its marker runs can bring one.
    mixed = codec != _LATIN_1 and _touch(folded.translate(_script_table(codec)))
    translated, mixed = _unmark(text, folded.decode(codec), mixed)
    return translated, mixed or codec != _LATIN_1


def _unmark(text: str, translated: str, mixed: bool) -> tuple[str, bool]:
    """`translated` with its marker runs folded from `text` (irregular characters stay markers),
    and whether that may have brought a word written in both scripts."""
    if _MARKER not in translated:
        return translated, mixed
    pieces: list[str] = []
    position = 0
    start = translated.find(_MARKER)
    while start >= 0:  # str.find: a regex search for the marker is many times slower
        end = start + 1
        while end < len(translated) and translated[end] == _MARKER:
            end += 1
        piece = text[start:end].translate(_TABLE)
        # Typographic characters fold to spaces; a piece with other letters may bring a script.
        mixed = mixed or not piece.isascii()
        pieces.append(translated[position:start])
        pieces.append(piece)
        position = end
        start = translated.find(_MARKER, end)
    pieces.append(translated[position:])
    return "".join(pieces), mixed


def _many_unencodable(encoded: bytes) -> bool:
    """True when a text's encoding replaced too many characters for marker runs to pay off."""
    return _REPLACEMENT in encoded and encoded.count(_REPLACEMENT) > len(encoded) // 32 + 8


def fold_text(text: str) -> FoldedText:
    """Fold a text for matching once; one table translation unless it has irregular letters."""
    folded, mapped = fold_mapped(text)
    return FoldedText(text, folded) if mapped is None else mapped


def fold_mapped(text: str) -> tuple[str, FoldedText | None]:
    """`fold_text` for the matcher: the folded text, and the map back to `text` only when the
    folding moved offsets (None: every character folded to one)."""
    if text.isascii():  # the common case, in as few steps as can be
        folded = _translate_ascii(text)
        if _MARKER not in folded:
            return folded, None
    return _fold_translated(text, *_translate(text))


def fold_text_generally(text: str) -> FoldedText:
    """`fold_text` without the one-byte fast paths: the reference they must agree with."""
    folded, mapped = _fold_translated(text, text.translate(_TABLE), True)
    return FoldedText(text, folded) if mapped is None else mapped


def _fold_translated(text: str, fast: str, mixed: bool) -> tuple[str, FoldedText | None]:
    """The folded text given `text.translate(_TABLE)` (computed any way) and whether it may mix
    scripts (True is always safe: the exact check then decides), with its map when offsets moved."""
    # Without irregular characters whole-text NFKC equals per-character NFKC, so one translate
    # does it all and offsets are unchanged.
    if _MARKER not in fast:
        if mixed and not fast.isascii() and _may_mix_scripts(fast):
            fast = _fold_lookalikes(fast, _MIXED_LOWER)
        return fast, None
    pieces: list[str] = []
    folded_starts: list[int] = []
    original_starts: list[int] = []
    original_ends: list[int] = []
    length = 0
    position = 0

    def add(folded: str, start: int, end: int) -> None:
        nonlocal length
        folded_starts.append(length)
        original_starts.append(start)
        original_ends.append(end)
        pieces.append(folded)
        length += len(folded)

    # `fast` is one-to-one with `text`: every irregular character became one marker.
    marker = fast.find(_MARKER)
    while marker >= 0:
        start = marker
        end = marker + 1
        while end < len(fast) and fast[end] == _MARKER:
            end += 1
        # A composing mark is folded together with the character it may merge with.
        if start > position and ord(text[start]) in _composing_codes():
            start -= 1
        if start > position:
            add(fast[position:start], position, -1)
        folded = "".join(fold_character(c) for c in unicodedata.normalize("NFKC", text[start:end]))
        if folded and not folded.strip():
            folded = " "
        add(folded, start, end)
        position = end
        marker = fast.find(_MARKER, position)
    if position < len(text):
        add(fast[position:], position, -1)
    folded_text = "".join(pieces)
    if not folded_text.isascii() and _may_mix_scripts(folded_text):
        folded_text = _fold_lookalikes(folded_text, _MIXED_LOWER)
    mapped = FoldedText(text, folded_text, tuple(folded_starts), tuple(original_starts), tuple(original_ends))
    return folded_text, mapped


def fold(text: str) -> str:
    """The matching form of a text: folded letters, every non-word run a space."""
    return fold_mapped(text)[0]


def fold_words(text: str) -> tuple[str, ...]:
    """The folded words of a text, in order."""
    return tuple(fold_mapped(text)[0].split())


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
