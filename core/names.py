"""Names across scripts: Latin/Cyrillic transliterations and Russian/Kazakh case endings."""

from __future__ import annotations

import re
from functools import cache

from core.normalize import fold

# A name shorter than this is not expanded: "Li" would otherwise also find the particle "ли".
MIN_NAME_LENGTH = 4
MAX_CYRILLIC_CANDIDATES = 4
MAX_LATIN_VARIANTS = 10

_VOWELS_CYRILLIC = frozenset("аеиоуыэюяё")
_VOWELS_LATIN = frozenset("aeiouy")
_LATIN_WORD = re.compile(r"[a-z]+")
_CYRILLIC_WORD = re.compile(r"[а-яё]+")

# Romanisation systems seen in Central Asian and Russian news (input is folded, so Kazakh letters
# already read as their Russian neighbours): BGN/PCGN, passport (ICAO 9303), the Ukrainian-style
# "ie/iu/ia" spelling (Tokaiev), and informal English spelling (h for х, j for ж).
_BASE = dict(
    zip(
        "абвгдезиклмнопрстуфчшэ",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "z",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "ch",
            "sh",
            "e",
        ],
        strict=True,
    )
)
_SYSTEMS: tuple[dict[str, str], ...] = (
    {
        "ж": "zh",
        "й": "y",
        "х": "kh",
        "ц": "ts",
        "щ": "shch",
        "ы": "y",
        "ю": "yu",
        "я": "ya",
        "е+": "ye",
        "ий$": "iy",
    },
    {
        "ж": "zh",
        "й": "i",
        "х": "kh",
        "ц": "ts",
        "щ": "shch",
        "ы": "y",
        "ю": "iu",
        "я": "ia",
        "е+": "e",
        "ий$": "ii",
    },
    {
        "ж": "zh",
        "й": "i",
        "х": "kh",
        "ц": "ts",
        "щ": "shch",
        "ы": "y",
        "ю": "iu",
        "я": "ia",
        "е+": "ie",
        "ий$": "iy",
    },
    {
        "ж": "j",
        "й": "y",
        "х": "h",
        "ц": "ts",
        "щ": "sch",
        "ы": "y",
        "ю": "yu",
        "я": "ya",
        "е+": "e",
        "ий$": "y",
    },
    {
        "ж": "zh",
        "й": "y",
        "х": "kh",
        "ц": "ts",
        "щ": "shch",
        "ы": "y",
        "ю": "yu",
        "я": "ya",
        "е+": "e",
        "ий$": "y",
    },
)

# Latin spellings read back into Cyrillic: (latin, cyrillic, cost); lower cost = likelier reading.
_LATIN_READINGS: tuple[tuple[str, str, int], ...] = (
    ("shch", "щ", 0),
    ("sch", "щ", 1),
    ("zh", "ж", 0),
    ("kh", "х", 0),
    ("ts", "ц", 0),
    ("ts", "тс", 1),
    ("ch", "ч", 0),
    ("sh", "ш", 0),
    ("yu", "ю", 0),
    ("ya", "я", 0),
    ("yo", "е", 0),
    ("ye", "е", 0),
    ("iu", "ю", 1),
    ("ia", "я", 1),
    ("ie", "е", 1),
    ("ju", "ю", 1),
    ("ja", "я", 1),
    ("a", "а", 0),
    ("b", "б", 0),
    ("c", "к", 1),
    ("c", "ц", 1),
    ("d", "д", 0),
    ("e", "е", 0),
    ("f", "ф", 0),
    ("g", "г", 0),
    ("h", "х", 1),
    ("i", "и", 0),
    ("i", "й", 1),
    ("j", "ж", 1),
    ("j", "дж", 1),
    ("j", "й", 2),
    ("k", "к", 0),
    ("l", "л", 0),
    ("m", "м", 0),
    ("n", "н", 0),
    ("o", "о", 0),
    ("p", "п", 0),
    ("q", "к", 1),
    ("r", "р", 0),
    ("s", "с", 0),
    ("t", "т", 0),
    ("u", "у", 0),
    ("v", "в", 0),
    ("w", "в", 1),
    ("x", "кс", 0),
    ("y", "й", 0),
    ("y", "ы", 0),
    ("y", "и", 1),
    ("z", "з", 0),
)

# Endings, folded (Kazakh ң/і/қ/ғ read as н/и/к/г). A name matches as stem + one of these, never
# as a free prefix, so "Tokayevsky" or "Токаевская улица" do not fire on Tokayev.
_RUSSIAN_AFTER_CONSONANT = ("а", "у", "ом", "ым", "е", "ой", "ы", "ых", "ыми")
_RUSSIAN_REPLACING = {
    "а": ("ы", "и", "е", "у", "ой", "ей"),
    "я": ("и", "е", "ю", "ей"),
    "й": ("я", "ю", "ем", "е", "и"),
    "ь": ("я", "ю", "ем", "е", "и"),
}
_KAZAKH_AFTER_CONSONANT = (
    "тын",
    "тин",
    "дын",
    "дин",
    "ка",
    "ке",
    "га",
    "ге",
    "ты",
    "ти",
    "ды",
    "ди",
    "та",
    "те",
    "да",
    "де",
    "тан",
    "тен",
    "дан",
    "ден",
    "пен",
    "бен",
    "мен",
)
_KAZAKH_AFTER_VOWEL = (
    "нын",
    "нин",
    "га",
    "ге",
    "ны",
    "ни",
    "да",
    "де",
    "дан",
    "ден",
    "нан",
    "нен",
    "мен",
)


def is_name_word(word: str) -> bool:
    """True for a capitalised Latin or Cyrillic word long enough to expand as a name."""
    letters = fold(word).strip()
    return (
        len(letters) >= MIN_NAME_LENGTH
        and word[:1].isupper()
        and any(c.islower() for c in word)
        and (_LATIN_WORD.fullmatch(letters) is not None or _CYRILLIC_WORD.fullmatch(letters) is not None)
    )


@cache
def expand_term(word: str) -> tuple[str, ...]:
    """The folded spellings a name matches: itself, transliterations and case forms (bounded)."""
    base = fold(word).strip()
    if len(base) < MIN_NAME_LENGTH or " " in base:
        return (base,) if base else ()
    if _CYRILLIC_WORD.fullmatch(base):
        cyrillic = [base]
    elif _LATIN_WORD.fullmatch(base):
        cyrillic = cyrillic_readings(base)
    else:
        return (base,)
    if not cyrillic:
        # No likely Cyrillic reading (Circumcircles, Cccc): the name matches as written.
        return (base,)
    primary = cyrillic[0]
    latin = [base] if _LATIN_WORD.fullmatch(base) else []
    for reading in cyrillic[:2]:
        latin.extend(romanise(reading))
    variants = [
        base,
        *dict.fromkeys(latin).keys(),
        *cyrillic,
        *case_forms(primary),
    ]
    return tuple(dict.fromkeys(variants))


def romanise(word: str) -> tuple[str, ...]:
    """Latin spellings of a folded Cyrillic word under the common romanisation systems."""
    spellings: list[str] = []
    for system in _SYSTEMS:
        out: list[str] = []
        for index, char in enumerate(word):
            previous = word[index - 1] if index else ""
            if char == "и" and word[index:] == "ий" and "ий$" in system:
                out.append(system["ий$"])
                break
            if char == "е" and (not previous or previous in _VOWELS_CYRILLIC or previous in "ъь"):
                out.append(system["е+"])
            elif char in "ъь":
                continue
            else:
                out.append(system.get(char) or _BASE.get(char, char))
        spellings.append("".join(out))
    return tuple(dict.fromkeys(spellings))[:MAX_LATIN_VARIANTS]


def cyrillic_readings(word: str) -> list[str]:
    """Likely Cyrillic spellings of a folded Latin word, likeliest first (a handful at most)."""
    found: dict[str, int] = {}

    def walk(position: int, built: str, cost: int) -> None:
        if len(found) >= 64 or cost > 3:
            return
        if position == len(word):
            found[built] = min(cost, found.get(built, cost))
            return
        previous = word[position - 1] if position else ""
        for latin, cyrillic, extra in _LATIN_READINGS:
            if not word.startswith(latin, position):
                continue
            # "ie" reads as е only after a vowel (Tokaiev); "y" before a vowel starts я/ю/е.
            if latin == "ie" and previous not in _VOWELS_LATIN:
                continue
            # "i"/"y" read as й only after a vowel (Imangali, Tokayev), else as и/ы (Zhaksybekov).
            after_vowel = previous in _VOWELS_LATIN
            if cyrillic == "й" and latin in "iy" and not after_vowel:
                continue
            if cyrillic == "ы" and after_vowel:
                continue
            walk(position + len(latin), built + cyrillic, cost + extra)

    walk(0, "", 0)
    ranked = sorted(found.items(), key=lambda item: item[1])
    return [spelling for spelling, _ in ranked[:MAX_CYRILLIC_CANDIDATES]]


def case_forms(word: str) -> tuple[str, ...]:
    """A folded Cyrillic name with the Russian and Kazakh case endings it can take."""
    if len(word) < MIN_NAME_LENGTH:
        return ()
    last = word[-1]
    forms: list[str] = []
    if last in _RUSSIAN_REPLACING:
        forms.extend(word[:-1] + ending for ending in _RUSSIAN_REPLACING[last])
    elif last not in _VOWELS_CYRILLIC:
        forms.extend(word + ending for ending in _RUSSIAN_AFTER_CONSONANT)
    kazakh = _KAZAKH_AFTER_VOWEL if last in _VOWELS_CYRILLIC else _KAZAKH_AFTER_CONSONANT
    forms.extend(word + ending for ending in kazakh)
    return tuple(dict.fromkeys(forms))
