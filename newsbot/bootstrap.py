"""The composition root: builds newsbot's object graph from Settings with real adapters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console import ConsoleChannel
from core.models import Destination, Platform
from core.ports import Channel
from core.watchlist import Watchlist, compile_watchlist
from newsbot.settings import ConfigError, Settings
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.database import create_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.outbox import SqlOutbox
from storage.plans import SqlDeliveryPlans
from storage.search import SqlSearch
from watchers.fetch import Fetcher, FetchPolicy
from watchers.watcher import OutletWatcher
from watchers.workers import ParserPool

log = logging.getLogger(__name__)

CONSOLE_ADDRESS = "stdout"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class App:
    """Everything a command or the runtime needs, built once per process."""

    settings: Settings
    engine: AsyncEngine
    archive: SqlArchive
    catalog: SqlCatalog
    outbox: SqlOutbox
    plans: SqlDeliveryPlans
    search: SqlSearch
    watcher: OutletWatcher
    watchlist: Watchlist
    channels: dict[Platform, Channel]
    console: Destination | None


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        allow_private_networks=settings.fetch.allow_private_networks,
        max_bytes=settings.fetch.max_bytes,
        timeout=settings.fetch.timeout,
        user_agent=settings.fetch.user_agent,
        per_host_limit=settings.fetch.per_host_limit,
        global_limit=settings.fetch.global_limit,
    )


def parser_pool(settings: Settings) -> ParserPool:
    return ParserPool(settings.fetch.parse_workers, settings.fetch.parse_timeout)


async def prepare_schema(engine: AsyncEngine, settings: Settings) -> None:
    """Migrate the embedded default automatically; a shared PostgreSQL is migrated on purpose."""
    if settings.storage.is_embedded:
        await upgrade(engine)
        return
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise ConfigError(
            f"the database schema is at revision {current or 'none'}, newsbot needs {head}: "
            "run `newsbot db upgrade`"
        )


async def seed(
    settings: Settings, archive: SqlArchive, catalog: SqlCatalog, now: datetime
) -> Destination | None:
    """Configured topics and outlets into the archive; the console destination when no chat is set."""
    await catalog.sync_topics(settings.topics, now)
    for spec in settings.outlets:
        await archive.add_outlet(spec, now)
    console = await catalog.ensure_destination(Platform.CONSOLE, CONSOLE_ADDRESS, "console", now)
    if settings.has_chat:
        await catalog.set_enabled(console.id, False)
        return None
    await catalog.set_enabled(console.id, True)
    # The console follows exactly the configured topics, also after one is removed from the config.
    await catalog.unsubscribe_all(console.id)
    await catalog.subscribe(console.id, [topic.name for topic in settings.topics], now)
    return console


@asynccontextmanager
async def open_app(settings: Settings, stdout: TextIO, as_json: bool = False) -> AsyncIterator[App]:
    """Connect, migrate, seed and yield the App; closes the database and HTTP session after."""
    engine = create_engine(settings.storage.url)
    try:
        await prepare_schema(engine, settings)
        archive, catalog = SqlArchive(engine, settings.delivery.zone), SqlCatalog(engine)
        console = await seed(settings, archive, catalog, utc_now())
        watchlist = compile_watchlist(settings.topics)
        channels: dict[Platform, Channel] = {}
        if console is not None:
            channels[Platform.CONSOLE] = ConsoleChannel(stdout, as_json=as_json)
        async with Fetcher(fetch_policy(settings)) as fetcher, parser_pool(settings) as parsers:
            yield App(
                settings=settings,
                engine=engine,
                archive=archive,
                catalog=catalog,
                outbox=SqlOutbox(engine),
                plans=SqlDeliveryPlans(engine, settings.delivery.zone),
                search=SqlSearch(engine),
                watcher=OutletWatcher(fetcher, parsers),
                watchlist=watchlist,
                channels=channels,
                console=console,
            )
    finally:
        await engine.dispose()
