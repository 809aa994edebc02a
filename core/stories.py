"""Story clustering maths: MinHash signatures of an article's words, LSH band keys, and the join rule.

Near-duplicates (agency copy with a byline added, light edits, a shorter lead) share most of their
word pairs, so their MinHash signatures agree in most positions. Band keys let the archive find
candidates with an indexed lookup; the signatures then confirm or reject each candidate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from core.models import Article
from core.normalize import fold_words

# Chosen by measurement (python bench/stories.py, 600 corpus articles, 4,000 same-feed pairs): with
# word pairs, 128 permutations and a 0.5 threshold, 99-100 % of bylined, datelined and shortened
# copies join their original and 0.73 % of pairs of different articles from one feed do (0.65 %
# even with word triples: near-identical items inside the feeds). Single words join more heavily
# edited copy but 1.15 % of unrelated same-outlet pairs (shared vocabulary): a false join costs a
# journalist an alert, a missed join only a second one. 64 permutations estimate too noisily.
SHINGLE_WORDS = 2
NUM_PERM = 128
# 32 bands of 4 rows: a pair at similarity 0.5 shares at least one band with probability 0.87,
# at 0.6 with 0.98; at 0.2 only 0.05, so few unrelated candidates reach the confirming comparison.
BANDS = 32
ROWS = NUM_PERM // BANDS
SIMILARITY_THRESHOLD = 0.5
# A story is one piece carried by several outlets; an outlet's own items share footers ("Подписывайтесь
# на наш канал в Telegram …") and daily formats ("Курс валют на 27 ноября", 0.80) that score like
# copies. Of the 179,422 pairs of different items inside one corpus feed, 119 reach 0.5 and 6 reach
# 0.9 (3 of them the same item posted twice); an outlet's "UPDATE 1" with a sentence added scores 0.98.
SAME_OUTLET_THRESHOLD = 0.9
STORY_WINDOW = timedelta(hours=72)
# The lead is what agencies and re-publishers keep; deeper text diverges and would dilute the score.
LEAD_WORDS = 60
# Fewer word pairs than this (a one-word title, an empty item) say too little to join anything.
MIN_SHINGLES = 4

Signature = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StoryPolicy:
    """When articles join one story: recent enough and similar enough."""

    window: timedelta = STORY_WINDOW
    threshold: float = SIMILARITY_THRESHOLD
    same_outlet_threshold: float = SAME_OUTLET_THRESHOLD


DEFAULT_STORY_POLICY = StoryPolicy()


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """An archived article that shares a band key with a new one, its outlet and the story it belongs to."""

    article_id: int
    story_id: int
    signature: Signature
    outlet_id: int


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """A new article and the story it joins: an older one's, or its own (story id = article id)."""

    article: Article
    story_id: int
    signature: Signature | None = None
    band_keys: tuple[str, ...] = ()

    @property
    def founds_story(self) -> bool:
        return self.story_id == self.article.id


def story_words(title: str, summary: str) -> tuple[str, ...]:
    """The folded words clustering looks at: the title and the start of the lead."""
    return fold_words(title) + fold_words(summary)[:LEAD_WORDS]


def shingles(words: Sequence[str], size: int = SHINGLE_WORDS) -> set[str]:
    """Overlapping runs of `size` words; a text shorter than that is one shingle."""
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[start : start + size]) for start in range(len(words) - size + 1)}


@cache
def _empty_sketch() -> Any:
    # datasketch pulls in numpy and scipy; imported on first use so that importing core stays cheap.
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=1)


def minhash(features: Iterable[str]) -> Signature:
    """The MinHash signature (NUM_PERM values below 2**32) of a set of features."""
    # Copying shares the permutations, which are ten times dearer to draw than the hashing itself.
    sketch = _empty_sketch().copy()
    sketch.update_batch([feature.encode() for feature in features])
    return tuple(int(value) for value in sketch.hashvalues)


def signature_of(title: str, summary: str) -> Signature | None:
    """The signature of an article's title and lead; None when it has too few words to compare."""
    features = shingles(story_words(title, summary))
    if len(features) < MIN_SHINGLES:
        return None
    return minhash(features)


def band_keys(signature: Signature) -> tuple[str, ...]:
    """One key per band: articles that share any key are candidates for the same story."""
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(",".join(map(str, rows)).encode(), digest_size=8).hexdigest()
        keys.append(f"{band:02d}{digest}")
    return tuple(keys)


def similarity(first: Signature, second: Signature) -> float:
    """Estimated Jaccard similarity: the share of positions where the two signatures agree."""
    if len(first) != len(second) or not first:
        return 0.0
    return sum(1 for a, b in zip(first, second, strict=True) if a == b) / len(first)


def assign_stories(
    signed: Sequence[tuple[Article, Signature | None]],
    candidates: Iterable[StoryCandidate],
    threshold: float = SIMILARITY_THRESHOLD,
    same_outlet_threshold: float = SAME_OUTLET_THRESHOLD,
) -> list[StoryAssignment]:
    """Each new article joins the story of its most similar candidate, or founds a story of its own.

    Only candidates that share a band key with the article are compared (the LSH promise), and a
    candidate of the article's own outlet must reach the stricter same-outlet threshold. Articles
    are taken in order, each becoming a candidate for the next, so two copies of one story in the
    same batch find each other.
    """
    by_key: dict[str, list[StoryCandidate]] = {}
    for candidate in candidates:
        for key in band_keys(candidate.signature):
            by_key.setdefault(key, []).append(candidate)
    assignments = []
    for article, signature in signed:
        if signature is None:
            assignments.append(StoryAssignment(article, article.id))
            continue
        keys = band_keys(signature)
        near = {c.article_id: c for key in keys for c in by_key.get(key, ())}
        story_id = closest_story(
            signature, near.values(), threshold, article.outlet_id, same_outlet_threshold
        )
        assignment = StoryAssignment(article, story_id or article.id, signature, keys)
        for key in keys:
            by_key.setdefault(key, []).append(
                StoryCandidate(article.id, assignment.story_id, signature, article.outlet_id)
            )
        assignments.append(assignment)
    return assignments


def closest_story(
    signature: Signature,
    candidates: Iterable[StoryCandidate],
    threshold: float = SIMILARITY_THRESHOLD,
    outlet_id: int | None = None,
    same_outlet_threshold: float = SAME_OUTLET_THRESHOLD,
) -> int | None:
    """The story of the most similar candidate at or above its threshold, else None (a new story).

    Candidates of `outlet_id` (the new article's outlet) must reach `same_outlet_threshold`.
    """
    best: tuple[float, int] | None = None
    for candidate in candidates:
        score = similarity(signature, candidate.signature)
        bar = max(threshold, same_outlet_threshold) if candidate.outlet_id == outlet_id else threshold
        # Ties go to the older story (smaller id), so the choice does not depend on query order.
        if score >= bar and (best is None or (score, -candidate.story_id) > (best[0], -best[1])):
            best = (score, candidate.story_id)
    return best[1] if best is not None else None
