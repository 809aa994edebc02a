"""A newsroom for command tests: bot.commands.Commands on a real archive, fakes for the ports outside storage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands import Caller, ChatKind, ChatRef, CommandRequest, Commands
from bot.replies import Reply
from bot.searches import SearchStore
from core.models import (
    ArticleMatches,
    FeedItem,
    KnownTopic,
    Outlet,
    OutletSpec,
    Platform,
    Snippet,
    Topic,
    TopicMatch,
)
from core.ports import OutletProbe
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.forwards import SqlForwards
from storage.outbox import SqlOutbox
from storage.search import SqlSearch
from storage.tables import metadata, outbox
from tests.fakes import FakeOutletProbe, InMemoryDeliveryPlans, RecordingDesk

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

PRIVATE = ChatRef(Platform.TELEGRAM, "1001", "Aigerim", ChatKind.PRIVATE)
GROUP = ChatRef(Platform.TELEGRAM, "-100200", "Politics desk", ChatKind.GROUP)
CHANNEL = ChatRef(Platform.TELEGRAM, "-100300", "Wire", ChatKind.CHANNEL)
JOURNALIST = Caller("1001", "Aigerim", is_bot_admin=False)
OPERATOR = Caller("42", "Operator", is_bot_admin=True)

TOPICS = [
    Topic("CSTO", 'CSTO OR ОДКБ OR "Collective Security Treaty Organization"'),
    Topic("SCO", "SCO OR ШОС"),
]


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def answer(value: bool) -> Callable[[], Awaitable[bool]]:
    async def ask() -> bool:
        return value

    return ask


def request(
    chat: ChatRef,
    text: str,
    caller: Caller = JOURNALIST,
    *,
    admin: bool = True,
    member: bool | None = None,
    replied: int | None = None,
) -> CommandRequest:
    """A typed command: "subscribe CSTO" → name "subscribe", argument "CSTO"."""
    name, _, argument = text.partition(" ")
    return CommandRequest(
        chat=chat,
        caller=caller,
        name=name,
        argument=argument,
        is_chat_admin=answer(admin),
        replied_article_id=replied,
        is_chat_member=answer(member) if member is not None else None,
    )


def text_of(reply: Reply) -> str:
    return "\n".join("".join(span.text for span in line) for line in reply.lines)


@dataclass
class Newsroom:
    engine: AsyncEngine
    commands: Commands
    catalog: SqlCatalog
    archive: SqlArchive
    outbox: SqlOutbox
    forwards: SqlForwards
    plans: InMemoryDeliveryPlans
    desk: RecordingDesk
    probe: FakeOutletProbe
    clock: Clock
    searches: SearchStore
    topics: dict[str, KnownTopic] = field(default_factory=dict)

    async def run(self, chat: ChatRef, text: str, caller: Caller = JOURNALIST, **options: object) -> Reply:
        return await self.commands.run(request(chat, text, caller, **options))  # type: ignore[arg-type]

    async def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every row of every table, and the delivery plans: to show that something changed nothing."""
        rows: dict[str, list[tuple[object, ...]]] = {}
        async with self.engine.connect() as connection:
            for table in metadata.sorted_tables:
                result = await connection.execute(select(table).order_by(*table.primary_key.columns))
                rows[table.name] = [tuple(row) for row in result]
        rows["plans"] = sorted((key, repr(plan)) for key, plan in self.plans.plans.items())
        return rows

    async def queued_for(self, chat: ChatRef) -> int:
        """How many alerts the outbox holds for the chat."""
        destination = await self.catalog.find_destination(chat.platform, chat.address)
        if destination is None:
            return 0
        statement = select(func.count()).where(outbox.c.destination_id == destination.id)
        async with self.engine.connect() as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def outlet(self, name: str) -> Outlet:
        outlet = await self.archive.add_outlet(OutletSpec(name, f"https://{name.lower()}.example/feed"), NOW)
        assert outlet is not None
        return outlet

    async def publish(
        self,
        outlet: Outlet,
        number: int,
        title: str,
        *,
        topic: str = "CSTO",
        days_ago: float = 0,
        alert: bool = False,
    ) -> int:
        """Archive an article that matched `topic` (with `alert`, queued for subscribers); its id."""
        item = FeedItem(
            title=title,
            url=f"https://{outlet.name.lower()}.example/news/{number}",
            guid=f"{outlet.name}-{number}",
            summary=f"The lead of story {number} about {topic}.",
            published=NOW - timedelta(days=days_ago),
            language="en",
        )
        async with self.archive.poll_transaction() as tx:
            (article,) = await tx.add_unseen_articles(outlet, [item], NOW)
            match = TopicMatch(topic, (topic,), "title", Snippet(title, ((0, len(topic)),)))
            await tx.add_matches([ArticleMatches(article, (match,))], alert=alert, now=NOW)
        return article.id


async def open_newsroom(
    engine: AsyncEngine,
    *,
    desk: RecordingDesk | None = None,
    has_desk: bool = True,
    allowed_chats: dict[Platform, set[str]] | None = None,
    searches: SearchStore | None = None,
    prefix: str = "/",
    probe: OutletProbe | None = None,
) -> Newsroom:
    catalog, archive, outbox = SqlCatalog(engine), SqlArchive(engine), SqlOutbox(engine)
    forwards = SqlForwards(engine)
    await catalog.sync_topics(TOPICS, NOW)
    plans, fake_probe, clock = InMemoryDeliveryPlans(), FakeOutletProbe(), Clock()
    desk = desk or RecordingDesk()
    searches = searches if searches is not None else SearchStore()
    commands = Commands(
        catalog=catalog,
        outlets=archive,
        views=outbox,
        forwards=forwards,
        search=SqlSearch(engine),
        plans=plans,
        probe=probe or fake_probe,
        desk=desk if has_desk else None,
        now=clock,
        version="0.1.0",
        allowed_chats=allowed_chats,
        searches=searches,
        prefix=prefix,
    )
    room = Newsroom(
        engine, commands, catalog, archive, outbox, forwards, plans, desk, fake_probe, clock, searches
    )
    room.topics = {topic.name: topic for topic in await catalog.known_topics()}
    return room
