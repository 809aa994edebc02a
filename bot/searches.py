"""Searches kept in memory for paging: a bounded, least-recently-used store keyed by a short random key."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from core.search import Cursor

CAPACITY = 1000
MAX_PAGES = 1000  # page numbers ride in callback data (bot.callbacks allows four digits)


def new_key() -> str:
    # 12 characters of [A-Za-z0-9_-]: unguessable, and within bot.callbacks' page key pattern.
    return secrets.token_urlsafe(9)


@dataclass
class StoredSearch:
    """One chat's search: the query and where each page read so far begins (page 0 at the newest)."""

    chat: str
    query: str
    starts: list[Cursor | None] = field(default_factory=lambda: [None])

    def start_of(self, page: int) -> Cursor | None:
        return self.starts[page]

    def has_page(self, page: int) -> bool:
        return 0 <= page < len(self.starts)

    def learn_next(self, page: int, following: Cursor | None) -> bool:
        """Remember where page+1 begins; False when there is no next page (or too many pages)."""
        if following is None or page + 1 >= MAX_PAGES:
            return False
        if page + 1 == len(self.starts):
            self.starts.append(following)
        return True


class SearchStore:
    """The most recent `capacity` searches; older keys are forgotten (their buttons say so)."""

    def __init__(self, capacity: int = CAPACITY, make_key: Callable[[], str] = new_key) -> None:
        self._capacity = capacity
        self._make_key = make_key
        self._searches: OrderedDict[str, StoredSearch] = OrderedDict()

    def __len__(self) -> int:
        return len(self._searches)

    def add(self, chat: str, query: str) -> tuple[str, StoredSearch]:
        key = self._make_key()
        search = StoredSearch(chat, query)
        self._searches[key] = search
        while len(self._searches) > self._capacity:
            self._searches.popitem(last=False)
        return key, search

    def forget(self, key: str) -> None:
        self._searches.pop(key, None)

    def get(self, key: str, chat: str) -> StoredSearch | None:
        """The search under `key` made in `chat`; None when forgotten, or made elsewhere."""
        search = self._searches.get(key)
        if search is None or search.chat != chat:
            return None
        self._searches.move_to_end(key)
        return search
