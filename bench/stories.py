"""Measurement: how well MinHash story clustering joins syndicated variants and keeps other articles apart.

Articles: titles and summaries of the items of ../shared/corpora/feeds (plain text, as a watcher
hands them to core) with at least 20 words. Each gets syndication variants: a byline, an agency
dateline and credit line, light edits (about one word in ten replaced, one title word changed),
a lead cut to 60 %, and all of these together. Negatives are pairs of different articles of the
same feed: same outlet, same beat, same boilerplate, the hardest realistic false joins.
For each shingle size and number of permutations it prints the share of variants joined (the
estimated similarity reaches the threshold and the pair shares an LSH band) and the share of
negatives joined; then, over every pair of different items inside one feed, how many would join at
the cross-outlet threshold and at the stricter same-outlet one. Run: python bench/stories.py [--quick]
"""

from __future__ import annotations

import html
import random
import re
import sys
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import stories  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "feeds"
_TAG = re.compile(r"<[^>]*>")
Text = tuple[str, str]


def plain(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def load_feeds() -> list[list[Text]]:
    feeds = []
    for path in sorted(CORPUS.iterdir()):
        if path.name == "index.tsv":
            continue
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        items = [(plain(str(e.get("title", ""))), plain(str(e.get("summary", "")))) for e in parsed.entries]
        items = [item for item in items if len(stories.story_words(*item)) >= 20]
        if len(items) >= 2:
            feeds.append(list(dict.fromkeys(items)))
    return feeds


def edited(words: list[str], rng: random.Random, vocabulary: Sequence[str], share: float) -> list[str]:
    return [rng.choice(vocabulary) if rng.random() < share else word for word in words]


def variants(item: Text, rng: random.Random, vocabulary: Sequence[str]) -> dict[str, Text]:
    title, lead = item
    words = lead.split()
    title_words = title.split()
    light_title = list(title_words)
    light_title[rng.randrange(len(light_title))] = rng.choice(vocabulary)
    light = (" ".join(light_title), " ".join(edited(words, rng, vocabulary, 0.1)))
    short = (title, " ".join(words[: max(1, int(len(words) * 0.6))]))
    return {
        "byline": (title, "By Aigerim Nurlanova, Staff Reporter. " + lead),
        "dateline": (title, f"ALMATY, May 1 (Reuters) - {lead} (Reporting by Olzhas Auyezov)"),
        "light edits": light,
        "shorter lead": short,
        "all together": (
            light[0],
            "By Aigerim Nurlanova. " + " ".join(light[1].split()[: len(short[1].split())]),
        ),
    }


def joins(first: Text, second: Text, shingle_words: int, num_perm: int, threshold: float) -> bool:
    a = stories.shingles(stories.story_words(*first), shingle_words)
    b = stories.shingles(stories.story_words(*second), shingle_words)
    if len(a) < stories.MIN_SHINGLES or len(b) < stories.MIN_SHINGLES:
        return False
    sig_a, sig_b = stories.minhash(a)[:num_perm], stories.minhash(b)[:num_perm]
    rows = num_perm // stories.BANDS
    shares_band = any(
        sig_a[band * rows : (band + 1) * rows] == sig_b[band * rows : (band + 1) * rows]
        for band in range(stories.BANDS)
    )
    return shares_band and stories.similarity(sig_a, sig_b) >= threshold


def rate(pairs: Sequence[tuple[Text, Text]], test: Callable[[Text, Text], bool]) -> float:
    return sum(test(a, b) for a, b in pairs) / max(len(pairs), 1)


def main() -> None:
    quick = "--quick" in sys.argv
    rng = random.Random(7)
    feeds = load_feeds()
    articles = [item for feed in feeds for item in feed]
    vocabulary = sorted({word for _title, lead in articles for word in lead.split()})
    sample = rng.sample(articles, min(len(articles), 150 if quick else 600))
    positives: dict[str, list[tuple[Text, Text]]] = {}
    for item in sample:
        for kind, variant in variants(item, rng, vocabulary).items():
            positives.setdefault(kind, []).append((item, variant))
    negatives = []
    for _ in range(1000 if quick else 4000):
        feed = rng.choice(feeds)
        first, second = rng.sample(feed, 2)
        negatives.append((first, second))
    print(
        f"{len(articles)} articles in {len(feeds)} feeds; {len(sample)} sampled; {len(negatives)} same-feed pairs"
    )
    kinds = list(positives)
    print("shingle perms thresh | " + " | ".join(f"{k:>12}" for k in kinds) + " | false joins")
    for shingle_words in (1, 2, 3):
        for num_perm in (64, 128):
            for threshold in (0.4, 0.5, 0.6):

                def test(
                    a: Text, b: Text, s: int = shingle_words, n: int = num_perm, t: float = threshold
                ) -> bool:
                    return joins(a, b, s, n, t)

                cells = " | ".join(f"{rate(positives[k], test):12.1%}" for k in kinds)
                print(
                    f"{shingle_words:7d} {num_perm:5d} {threshold:6.1f} | {cells} | {rate(negatives, test):11.2%}"
                )

    same_outlet(feeds)


def same_outlet(feeds: Sequence[Sequence[Text]]) -> None:
    """Every pair of different items of one feed: joins at the shared and the same-outlet threshold."""
    thresholds = (stories.SIMILARITY_THRESHOLD, stories.SAME_OUTLET_THRESHOLD)
    pairs, joined = 0, dict.fromkeys(thresholds, 0)
    for feed in feeds:
        signatures = [s for s in (stories.signature_of(*item) for item in feed) if s is not None]
        for first, second in combinations(signatures, 2):
            pairs += 1
            if set(stories.band_keys(first)).isdisjoint(stories.band_keys(second)):
                continue
            score = stories.similarity(first, second)
            for threshold in thresholds:
                joined[threshold] += score >= threshold
    counts = ", ".join(f"{count} at >= {threshold}" for threshold, count in joined.items())
    print(f"{pairs} pairs of different items within one feed would join: {counts}")


if __name__ == "__main__":
    main()
