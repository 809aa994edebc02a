"""Topic matching: which topics an article satisfies, with the exact words that fired."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.models import ArticleText, Snippet, Topic, TopicMatch

SNIPPET_RADIUS = 100


def _terms_of(topic: Topic) -> list[str]:
    """Plain words and quoted phrases of `a OR "b c" OR d`, plus the topic's aliases."""
    terms = [t.strip('"').strip() for t in re.split(r"\s+OR\s+", topic.query)]
    return [t for t in (*terms, *topic.aliases) if t]


class Watchlist:
    """All topics compiled once; `match` is called for every new article."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics = tuple(topics)
        self._patterns = [
            (topic, re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, _terms_of(topic))) + r")(?!\w)", re.IGNORECASE))
            for topic in self.topics
            if _terms_of(topic)
        ]

    def match(self, text: ArticleText) -> tuple[TopicMatch, ...]:
        """Every topic the text satisfies, with its terms and a highlighted snippet."""
        found: list[TopicMatch] = []
        for topic, pattern in self._patterns:
            for field_name, value in (("title", text.title), ("body", text.body)):
                hits = list(pattern.finditer(value))
                if hits:
                    terms = tuple(dict.fromkeys(hit.group(0) for hit in hits))
                    found.append(TopicMatch(topic.name, terms, field_name, snippet_around(value, hits[0].span())))
                    break
        return tuple(found)


def snippet_around(text: str, span: tuple[int, int]) -> Snippet:
    """About SNIPPET_RADIUS characters either side of `span`, with the span highlighted."""
    start = max(0, span[0] - SNIPPET_RADIUS)
    end = min(len(text), span[1] + SNIPPET_RADIUS)
    return Snippet(text[start:end], ((span[0] - start, span[1] - start),))


def compile_watchlist(topics: Sequence[Topic]) -> Watchlist:
    return Watchlist(topics)
