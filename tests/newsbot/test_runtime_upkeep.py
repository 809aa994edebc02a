"""The runtime's archive upkeep: bodies past the configured retention are cleared, the index follows."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.models import FeedItem, OutletSpec
from core.search import SearchRequest, search_archive
from newsbot.bootstrap import open_app
from newsbot.runtime import keep_archive
from newsbot.settings import Settings, StorageSettings


async def test_keep_archive_clears_old_bodies_and_keeps_titles(tmp_path: Path) -> None:
    settings = Settings(
        storage=StorageSettings(f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}", timedelta(days=30)),
        outlets=(OutletSpec("Local", "https://local.example/feed"),),
        topics=(),
    )
    now = datetime.now(UTC)
    async with open_app(settings, io.StringIO()) as app:
        (outlet,) = await app.archive.list_outlets()
        async with app.archive.poll_transaction() as tx:
            for days, number in ((40, 1), (1, 2)):
                item = FeedItem(f"Title {number}", f"https://local.example/{number}", summary="JICA grant")
                await tx.add_unseen_articles(outlet, [item], now - timedelta(days=days))
        await keep_archive(app)
        page = await search_archive(app.search, SearchRequest("JICA OR Title"), now)
        assert [(hit.article.title, hit.article.summary) for hit in page.hits] == [
            ("Title 2", "JICA grant"),
            ("Title 1", ""),
        ]
