"""The composition root: builds newsbot's object graph from Settings with real adapters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands import Commands
from bot.console import ConsoleChannel
from bot.telegram.app import TelegramConfig, TelegramFrontEnd, build_application
from bot.telegram.channel import TelegramChannel
from bot.telegram.desk import TelegramEditorsDesk
from core.models import Destination, Platform
from core.ports import Channel, OutletProbe
from core.watchlist import Watchlist, compile_watchlist
from newsbot import __version__
from newsbot.settings import ConfigError, Settings
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.database import create_engine
from storage.forwards import SqlForwards
from storage.migrate import current_revision, head_revision, upgrade
from storage.outbox import SqlOutbox
from storage.plans import SqlDeliveryPlans
from storage.search import SqlSearch
from watchers.fetch import Fetcher, FetchPolicy
from watchers.probe import OutletProber
from watchers.watcher import OutletWatcher
from watchers.workers import ParserPool

log = logging.getLogger(__name__)

CONSOLE_ADDRESS = "stdout"


def utc_now() -> datetime:
    return datetime.now(UTC)


class FrontEnd(Protocol):
    """A chat platform's receiving side, started and stopped by the runtime."""

    async def start(self) -> None: ...

    async def stop_receiving(self) -> None:
        """Take no new updates; those in hand are still answered."""
        ...

    async def close(self) -> None:
        """Finish the updates in hand and close connections."""
        ...


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
    front_ends: tuple[FrontEnd, ...] = ()


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


def telegram_config(settings: Settings) -> TelegramConfig | None:
    """The front-end's view of `[telegram]`; None without a token."""
    telegram = settings.telegram
    if telegram.token is None:
        return None
    return TelegramConfig(
        token=telegram.token.value,
        api_url=telegram.api_url,
        admins=telegram.admins,
        webhook_url=telegram.webhook_url,
        webhook_listen=telegram.webhook_listen,
        webhook_port=telegram.webhook_port,
        webhook_secret=telegram.webhook_secret.value if telegram.webhook_secret else "",
    )


def serve_telegram(app: App, config: TelegramConfig, probe: OutletProbe) -> None:
    """Give the App Telegram delivery and the Telegram front-end, on one bot (and so one flood limiter)."""
    application = build_application(config)
    telegram = app.settings.telegram
    commands = Commands(
        catalog=app.catalog,
        outlets=app.archive,
        views=app.outbox,
        forwards=SqlForwards(app.engine),
        search=app.search,
        plans=app.plans,
        probe=probe,
        desk=TelegramEditorsDesk(application.bot, telegram.editors) if telegram.editors else None,
        now=utc_now,
        version=__version__,
        allowed_chats={Platform.TELEGRAM: [str(chat) for chat in telegram.allowed_chats]},
        prefix="/",
        timezone=app.settings.delivery.timezone,
    )
    app.channels[Platform.TELEGRAM] = TelegramChannel(application.bot, app.catalog, telegram.admins)
    front_end = TelegramFrontEnd(application, commands, app.outbox, config)
    app.front_ends = (*app.front_ends, front_end)


@asynccontextmanager
async def open_app(
    settings: Settings, stdout: TextIO, as_json: bool = False, *, serve_chats: bool = False
) -> AsyncIterator[App]:
    """Connect, migrate, seed and yield the App; closes the database and HTTP session after.

    With `serve_chats` (`newsbot run`), a configured chat platform gets its delivery channel and
    its front-end; other commands leave chat alerts queued for `run` and never call a chat API.
    """
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
            app = App(
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
            telegram = telegram_config(settings)
            if serve_chats and telegram is not None:
                prober = OutletProber(fetcher, parsers, settings.fetch.allow_private_networks)
                serve_telegram(app, telegram, prober)
            yield app
    finally:
        await engine.dispose()
