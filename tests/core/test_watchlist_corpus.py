"""Property test: on real feed items a plain lowercase word matches exactly where a regex does.

The oracle is the simplest correct regex, `(?<!\\w)word(?!\\w)` with re.IGNORECASE, run on the
casefolded title and summary of every item of ../shared/corpora/feeds (read, never copied). Words
are drawn from the corpus vocabulary: lowercase, 3+ letters, all ASCII or all Cyrillic, so name
expansion (capitalised words) and the acronym rule (ALL-CAPS) do not apply.

Where the spec deliberately differs from the oracle the comparison would not be meaningful, so
such words are left out of the draw: a word is excluded when some field's words under our folding
differ from its words under plain casefolding (ё=е, Kazakh letters, soft hyphens and zero-width
characters, NFKC compatibility letters, mixed-script look-alikes). Those rules have table tests.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import ArticleText, Topic
from core.normalize import fold
from core.watchlist import compile_watchlist

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpora" / "feeds"
ELIGIBLE = re.compile(r"[a-z]{3,}|[а-я]{3,}")
SEPARATOR = "\n\x00\n"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"feed corpus not found at {CORPUS} (../shared/corpora/feeds)"
)


@dataclass(frozen=True)
class Corpus:
    items: tuple[ArticleText, ...]
    casefolded: str  # every field casefolded, joined by SEPARATOR
    field_starts: tuple[int, ...]  # where field i starts in `casefolded`; item = i // 2
    words: tuple[str, ...]  # the eligible vocabulary


def load_corpus() -> Corpus:
    feedparser = pytest.importorskip("feedparser")
    items: list[ArticleText] = []
    for path in sorted(CORPUS.iterdir()):
        if path.name == "index.tsv":
            continue
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        for entry in parsed.entries:
            items.append(ArticleText(str(entry.get("title", "")), str(entry.get("summary", ""))))
    fields = [field for item in items for field in (item.title, item.body)]
    vocabulary: set[str] = set()
    differing: set[str] = set()
    starts: list[int] = []
    position = 0
    for field in fields:
        starts.append(position)
        position += len(field.casefold()) + len(SEPARATOR)
        plain = re.findall(r"\w+", field.casefold())
        ours = fold(field).split()
        vocabulary.update(plain)
        if plain != ours:
            differing.update(set(plain).symmetric_difference(ours))
    words = sorted(w for w in vocabulary - differing if ELIGIBLE.fullmatch(w))
    casefolded = SEPARATOR.join(field.casefold() for field in fields)
    return Corpus(tuple(items), casefolded, tuple(starts), tuple(words))


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


def oracle(corpus: Corpus, word: str) -> set[int]:
    """Items where the word occurs as a whole word, by the simplest regex."""
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    return {
        (bisect_right(corpus.field_starts, hit.start()) - 1) // 2
        for hit in pattern.finditer(corpus.casefolded)
    }


def test_corpus_has_a_vocabulary(corpus: Corpus) -> None:
    assert len(corpus.items) > 1000
    assert len(corpus.words) > 10_000
    assert any(ELIGIBLE.fullmatch(w) and w[0] >= "а" for w in corpus.words)  # some Cyrillic


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_plain_words_agree_with_regex_oracle(corpus: Corpus, data: st.DataObject) -> None:
    words = data.draw(
        st.lists(st.sampled_from(corpus.words), min_size=1, max_size=10, unique=True),
        label="words",
    )
    watchlist = compile_watchlist([Topic(word, word) for word in words])
    found: dict[str, set[int]] = {word: set() for word in words}
    for index, item in enumerate(corpus.items):
        for match in watchlist.match(item):
            found[match.topic].add(index)
    for word in words:
        assert found[word] == oracle(corpus, word), word
