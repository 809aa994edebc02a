"""State machine over feed snapshots: alerts are exactly the articles first seen after subscribing.

Real SqlArchive and SqlOutbox on a temporary SQLite file, core's poll_outlet and deliver_due, and
a FakeWatcher that serves whatever the feed shows now. Items appear, vanish and return; GUIDs churn
while the link stays; links come in mobile/AMP/tracking variants; one feed repeats an item; items
are reordered, revised, the feed is emptied and refilled; the process restarts (a new engine and
new repositories on the same file). After every poll, the alerts delivered so far must be exactly
the distinct articles first seen after the outlet's baseline poll, each once.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy.ext.asyncio import AsyncEngine

from core.delivery import deliver_due
from core.identity import canonical_url
from core.models import FeedItem, Modified, OutletSpec, Platform, Topic
from core.polling import poll_outlet
from core.watchlist import compile_watchlist
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.database import create_engine
from storage.migrate import upgrade
from storage.outbox import SqlOutbox
from tests.fakes import FakeWatcher, RecordingChannel

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TOPICS = [Topic("CSTO", "CSTO")]
WATCHLIST = compile_watchlist(TOPICS)
FEED_URL = "https://outlet.example/feed"
LINK_VARIANTS = (
    "https://outlet.example/news/{n}",
    "https://OUTLET.example:443/news/{n}/?utm_source=telegram&utm_medium=social",
    "https://m.outlet.example/news/{n}#comments",
    "https://amp.outlet.example/news/{n}/amp?fbclid=IwAR0",
    "https://outlet.example/news/{n}?outputType=amp&gclid=1",
)


@dataclass(frozen=True)
class Entry:
    """How the feed currently shows article `n`: its GUID, which link variant, which revision."""

    n: int
    guid: str
    link: int = 0
    revision: int = 0

    def item(self) -> FeedItem:
        # Words unique to each article, so no two of them are near-duplicates of one story.
        words = " ".join(f"a{self.n}w{k}" for k in range(12))
        suffix = f" (updated {self.revision})" if self.revision else ""
        return FeedItem(
            title=f"CSTO bulletin {self.n}{suffix}",
            url=LINK_VARIANTS[self.link].format(n=self.n),
            guid=self.guid,
            summary=f"{words}{suffix}",
        )


def article_number(url: str | None) -> int:
    assert url is not None
    return int(canonical_url(url).rsplit("/", 1)[1])


_TEMPLATES: list[Path] = []


async def subscribed_database() -> Path:
    """A migrated database with one outlet and the console on CSTO, made once and copied per example."""
    if not _TEMPLATES:
        directory = tempfile.mkdtemp(prefix="newsbot-template-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = Path(directory) / "newsbot.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        catalog = SqlCatalog(engine)
        await catalog.sync_topics(TOPICS, START)
        console = await catalog.ensure_destination(Platform.CONSOLE, "stdout", "console", START)
        await catalog.subscribe(console.id, ["CSTO"], START)
        assert await SqlArchive(engine).add_outlet(OutletSpec("Outlet", FEED_URL), START) is not None
        await engine.dispose()  # the last connection to close folds the write-ahead log into the file
        _TEMPLATES.append(path)
    return _TEMPLATES[0]


class FeedSnapshots(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="newsbot-snapshots-"))
        self.url = f"sqlite+aiosqlite:///{self.directory / 'newsbot.db'}"
        self.loop = asyncio.new_event_loop()
        self.now = START
        self.entries: dict[int, Entry] = {}
        self.feed: list[int] = []
        self.churns = 0
        self.polls = 0
        self.seen: set[int] = set()
        self.expected: set[int] = set()
        self.delivered: list[int] = []
        self.loop.run_until_complete(self.open(first=True))

    async def open(self, *, first: bool = False) -> None:
        if first:
            shutil.copy(await subscribed_database(), self.directory / "newsbot.db")
        self.engine: AsyncEngine = create_engine(self.url)
        self.archive, self.outbox = SqlArchive(self.engine), SqlOutbox(self.engine)

    def teardown(self) -> None:
        self.loop.run_until_complete(self.engine.dispose())
        self.loop.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @initialize(count=st.integers(min_value=0, max_value=4))
    def baseline(self, count: int) -> None:
        """The feed as it was when the journalist subscribed: read once, alerted never."""
        for _ in range(count):
            self.add_entry(0)
        self.poll()

    # ---- what the feed shows next: every change is one snapshot, and the bot polls it ----

    @rule(position=st.integers(min_value=0))
    def publish(self, position: int) -> None:
        self.add_entry(position)
        self.poll()

    def add_entry(self, position: int, guid: str | None = None) -> None:
        n = len(self.entries) + 1
        self.entries[n] = Entry(n, guid=guid or f"guid-{n}")
        self.feed.insert(position % (len(self.feed) + 1), n)

    @precondition(lambda self: self.feed)
    @rule(data=st.data())
    def vanish(self, data: st.DataObject) -> None:
        self.feed.remove(data.draw(st.sampled_from(self.feed)))
        self.poll()

    @precondition(lambda self: set(self.entries) - set(self.feed))
    @rule(data=st.data())
    def come_back(self, data: st.DataObject) -> None:
        gone = sorted(set(self.entries) - set(self.feed))
        self.feed.insert(0, data.draw(st.sampled_from(gone)))
        self.poll()

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), link=st.integers(min_value=0, max_value=len(LINK_VARIANTS) - 1))
    def churn_guid(self, data: st.DataObject, link: int) -> None:
        """A new GUID for the same link, perhaps written another way (a CMS move, a mirror)."""
        n = data.draw(st.sampled_from(sorted(self.entries)))
        self.churns += 1
        self.entries[n] = replace(self.entries[n], guid=f"guid-{n}-churned-{self.churns}", link=link)
        self.poll()

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), position=st.integers(min_value=0))
    def publish_under_a_reused_guid(self, data: st.DataObject, position: int) -> None:
        """A broken feed gives a new article the GUID of an older one (with its own link and text)."""
        n = data.draw(st.sampled_from(sorted(self.entries)))
        self.add_entry(position, guid=self.entries[n].guid)
        self.poll()

    @precondition(lambda self: self.entries)
    @rule(data=st.data(), link=st.integers(min_value=0, max_value=len(LINK_VARIANTS) - 1))
    def vary_link(self, data: st.DataObject, link: int) -> None:
        n = data.draw(st.sampled_from(sorted(self.entries)))
        self.entries[n] = replace(self.entries[n], link=link)
        self.poll()

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def revise(self, data: st.DataObject) -> None:
        n = data.draw(st.sampled_from(sorted(self.entries)))
        self.entries[n] = replace(self.entries[n], revision=self.entries[n].revision + 1)
        self.poll()

    @precondition(lambda self: self.feed)
    @rule(data=st.data())
    def repeat_inside_the_feed(self, data: st.DataObject) -> None:
        self.feed.append(data.draw(st.sampled_from(self.feed)))
        self.poll()

    @precondition(lambda self: len(self.feed) > 1)
    @rule(data=st.data())
    def reorder(self, data: st.DataObject) -> None:
        self.feed = list(data.draw(st.permutations(self.feed)))
        self.poll()

    @rule()
    def empty(self) -> None:
        self.feed = []
        self.poll()

    @rule()
    def refill(self) -> None:
        self.feed = sorted(self.entries)
        self.poll()

    # ---- what the bot does ----

    @rule()
    def restart(self) -> None:
        self.loop.run_until_complete(self.engine.dispose())
        self.loop.run_until_complete(self.open())

    @rule()
    def poll(self) -> None:
        """Poll the feed as it is now (also when nothing changed)."""
        self.now += timedelta(minutes=5)
        for n in self.feed:
            if n not in self.seen:
                self.seen.add(n)
                if self.polls > 0:  # the first poll is the outlet's baseline: nobody is alerted
                    self.expected.add(n)
        self.polls += 1
        self.loop.run_until_complete(self.poll_and_deliver())

    async def poll_and_deliver(self) -> None:
        (outlet,) = await self.archive.list_outlets()
        watcher = FakeWatcher().script(outlet.id, Modified(tuple(self.entries[n].item() for n in self.feed)))
        await poll_outlet(outlet, watcher, self.archive, WATCHLIST, self.now, jitter=0.0)
        console = RecordingChannel()
        await deliver_due(self.outbox, {Platform.CONSOLE: console}, self.now)
        self.delivered += [article_number(alert.article.url) for _, alert in console.sent]

    @invariant()
    def alerts_are_the_articles_first_seen_after_the_baseline(self) -> None:
        assert len(self.delivered) == len(set(self.delivered)), f"a second alert: {sorted(self.delivered)}"
        assert set(self.delivered) == self.expected


FeedSnapshots.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFeedSnapshots = FeedSnapshots.TestCase
