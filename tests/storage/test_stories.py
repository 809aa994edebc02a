"""Stories end to end on SQLite and PostgreSQL: syndicated copies give one alert per destination."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core import stories
from core.delivery import deliver_due
from core.models import Destination, FeedItem, Modified, Outlet, OutletSpec, Platform, Topic
from core.polling import poll_outlet, poll_outlets
from core.ports import Channel
from core.search import SearchRequest, search_archive
from core.stories import StoryAssignment, StoryCandidate
from core.watchlist import compile_watchlist
from storage.archive import SqlArchive
from storage.catalog import SqlCatalog
from storage.outbox import SqlOutbox
from storage.search import SqlSearch
from storage.tables import article_revisions
from tests.fakes import EditingChannel, FakeWatcher, RecordingChannel

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TOPICS = [Topic("CSTO", 'CSTO OR "Collective Security Treaty Organization"')]
WATCHLIST = compile_watchlist(TOPICS)
OUTLETS = ["Reuters", "Kazinform", "Times of Central Asia", "Eurasia Review", "Tengrinews"]

TITLE = "CSTO leaders agree to deploy joint peacekeeping force to Tajik-Afghan border"
LEAD = (
    "Leaders of the Collective Security Treaty Organization agreed on Thursday to send a joint "
    "peacekeeping contingent to the border between Tajikistan and Afghanistan, Kazakh President "
    "Kassym-Jomart Tokayev said after a summit in Almaty. The force of about 1,500 troops will begin "
    "deploying next month and will be led by a Russian commander, according to a statement published "
    "after the talks."
)
FIRST_SENTENCE = LEAD.split(". ")[0] + "."
EDITED_LEAD = (
    LEAD.replace("agreed on Thursday", "agreed Thursday")
    .replace("contingent", "unit")
    .replace("about 1,500", "some 1,500")
)

# One story, five outlets, ten variants: two per outlet, each with its own GUID and URL.
SYNDICATED: dict[str, list[tuple[str, str]]] = {
    "Reuters": [
        (TITLE, f"ALMATY, May 1 (Reuters) - {LEAD}"),
        (f"UPDATE 1-{TITLE}", f"ALMATY, May 1 (Reuters) - {LEAD} Moscow welcomed the decision."),
    ],
    "Kazinform": [
        (TITLE, f"By Aigerim Seitkali. {LEAD}"),
        (TITLE, f"By Aigerim Seitkali. {EDITED_LEAD}"),
    ],
    "Times of Central Asia": [
        (TITLE.replace("to Tajik-Afghan", "on Tajik-Afghan"), f"{LEAD} (Times of Central Asia staff)"),
        (f"{TITLE} (updated)", f"{EDITED_LEAD} Photo: Akorda."),
    ],
    "Eurasia Review": [
        (TITLE, f"By RFE/RL. {LEAD} (Reporting by Olzhas Auyezov; editing by Mark Trevelyan)"),
        (
            TITLE,
            f"By RFE/RL. {FIRST_SENTENCE} The force of about 1,500 troops will begin deploying next month.",
        ),
    ],
    "Tengrinews": [
        (f"{TITLE} - Tokayev", EDITED_LEAD),
        (TITLE, f"Photo: Akorda press service. {LEAD}"),
    ],
}
UNRELATED = (
    "CSTO to hold Rubezh-2026 command exercises in Kyrgyzstan in September",
    "The Collective Security Treaty Organization will hold its annual Rubezh command-staff exercises "
    "in Kyrgyzstan's Issyk-Kul region in September, the organisation's secretary general said on "
    "Monday, with units from all member states taking part.",
)


def feed_of(outlet: str, *texts: tuple[str, str]) -> Modified:
    """A feed whose items have their own GUIDs and URLs, derived from their text."""
    slug = outlet.lower().replace(" ", "-")
    items = []
    for title, lead in texts:
        digest = hashlib.sha256((title + lead).encode()).hexdigest()[:10]
        items.append(
            FeedItem(
                title, url=f"https://{slug}.example/news/{digest}", guid=f"{slug}:{digest}", summary=lead
            )
        )
    return Modified(tuple(items))


class Newsroom:
    """Five baselined outlets, a Telegram chat (can edit) and the console (cannot), both on CSTO."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.archive, self.outbox = SqlArchive(engine), SqlOutbox(engine)
        self.catalog = SqlCatalog(engine)
        self.watcher = FakeWatcher()
        self.outlets: dict[str, Outlet] = {}
        self.telegram, self.console = EditingChannel(), RecordingChannel()
        self.channels: dict[Platform, Channel] = {
            Platform.TELEGRAM: self.telegram,
            Platform.CONSOLE: self.console,
        }
        self.now = NOW

    async def open(self) -> Newsroom:
        await self.catalog.sync_topics(TOPICS, NOW)
        for platform, address in ((Platform.TELEGRAM, "-100777"), (Platform.CONSOLE, "stdout")):
            destination: Destination = await self.catalog.ensure_destination(platform, address, address, NOW)
            await self.catalog.subscribe(destination.id, ["CSTO"], NOW)
        for name in OUTLETS:
            outlet = await self.archive.add_outlet(OutletSpec(name, f"https://{name[:4]}.example/feed"), NOW)
            assert outlet is not None
            self.outlets[name] = outlet
            await self.publish(name)  # the baseline: an empty feed
        return self

    async def publish(self, name: str, *texts: tuple[str, str]) -> int:
        self.now += timedelta(minutes=10)
        (outlet,) = [o for o in await self.archive.list_outlets() if o.name == name]
        self.watcher.script(outlet.id, feed_of(name, *texts))
        report = await poll_outlet(outlet, self.watcher, self.archive, WATCHLIST, self.now, jitter=0.0)
        self.watcher = FakeWatcher()
        return report.new_articles

    async def deliver(self) -> None:
        """Deliver batch after batch (each takes one alert per destination) until nothing more goes out."""
        while (await deliver_due(self.outbox, self.channels, self.now)).sent:
            pass


async def test_one_syndicated_story_is_one_alert_per_destination_listing_the_other_outlets(
    engine: AsyncEngine,
) -> None:
    room = await Newsroom(engine).open()
    for name, variants in SYNDICATED.items():
        assert await room.publish(name, *variants) == 2
        if name == "Times of Central Asia":
            await room.publish(name, *variants, UNRELATED)
    await room.deliver()

    for channel in (room.telegram, room.console):
        titles = sorted(alert.article.title for _, alert in channel.sent)
        assert titles == sorted([TITLE, UNRELATED[0]])  # Reuters' first copy, and the unrelated story
        also_in = {alert.article.title: alert.also_in for _, alert in channel.sent}
        assert also_in[TITLE] == tuple(OUTLETS[1:])
        assert also_in[UNRELATED[0]] == ()
    assert room.telegram.edited == []  # nothing was sent before the other outlets joined
    assert await room.archive.count_articles() == 11


async def test_later_outlets_edit_the_sent_alert_where_the_platform_can_and_never_send_another(
    engine: AsyncEngine,
) -> None:
    room = await Newsroom(engine).open()
    for name, variants in SYNDICATED.items():
        await room.publish(name, *variants)
        await room.deliver()
    await room.publish("Kazinform", UNRELATED)
    await room.deliver()

    for channel in (room.telegram, room.console):
        assert [alert.article.title for _, alert in channel.sent] == [TITLE, UNRELATED[0]]
    (story_ref, _unrelated_ref) = room.telegram.shown()
    assert room.telegram.shown()[story_ref] == tuple(OUTLETS[1:])
    # One edit per outlet that joined; the second copy from the same outlet changes nothing shown.
    assert [alert.also_in for _, _, alert in room.telegram.edited] == [
        tuple(OUTLETS[1:n]) for n in range(2, 6)
    ]
    assert room.console.sent[0][1].also_in == ()  # the console cannot edit: nothing more was printed
    assert await room.outbox.count_by_state() == {"sent": 4}


async def test_a_revised_title_is_a_revision_not_an_article_or_an_alert(engine: AsyncEngine) -> None:
    room = await Newsroom(engine).open()
    original = FeedItem(TITLE, url="https://tengrinews.example/news/1", guid="t-1", summary=LEAD)
    revised = FeedItem(
        TITLE + " - Tokayev", url="https://tengrinews.example/news/1", guid="t-1", summary=EDITED_LEAD
    )
    churned = FeedItem(
        TITLE, url="https://m.tengrinews.example/news/1/amp?utm_source=tg", guid="t-1-v2", summary=LEAD
    )
    outlet = room.outlets["Tengrinews"]
    for items in ([original], [revised], [revised], [original, churned], [revised]):
        room.now += timedelta(minutes=5)
        (current,) = [o for o in await room.archive.list_outlets() if o.id == outlet.id]
        room.watcher.script(outlet.id, Modified(tuple(items)))
        await poll_outlet(current, room.watcher, room.archive, WATCHLIST, room.now, jitter=0.0)
        room.watcher = FakeWatcher()
    await room.deliver()

    assert await room.archive.count_articles() == 1
    assert [alert.article.title for _, alert in room.telegram.sent] == [TITLE]
    async with engine.connect() as connection:
        revisions = (
            await connection.execute(select(func.count()).select_from(article_revisions))
        ).scalar_one()
    assert revisions == 1  # the revised text, recorded once however often it is seen


async def test_story_candidates_come_from_band_keys_within_the_window(engine: AsyncEngine) -> None:
    archive = SqlArchive(engine)
    outlet = await archive.add_outlet(OutletSpec("Reuters", "https://reuters.example/feed"), NOW)
    assert outlet is not None
    signature = stories.signature_of(TITLE, LEAD)
    assert signature is not None
    keys = stories.band_keys(signature)
    async with archive.poll_transaction() as tx:
        (article,) = await tx.add_unseen_articles(outlet, feed_of("Reuters", (TITLE, LEAD)).items, NOW)
        await tx.join_stories([StoryAssignment(article, article.id, signature, keys)], NOW)
    async with archive.poll_transaction() as tx:
        assert await tx.story_candidates(keys[:1], NOW) == [
            StoryCandidate(article.id, article.id, signature, outlet.id)
        ]
        assert await tx.story_candidates(keys, NOW + timedelta(seconds=1)) == []  # older than the window
        assert await tx.story_candidates(["00nothing"], NOW) == []
    assert await archive.forget_story_bands(NOW + timedelta(seconds=1)) == stories.BANDS
    async with archive.poll_transaction() as tx:
        assert await tx.story_candidates(keys, NOW) == []


async def test_edits_are_claimed_under_a_lease_and_a_stale_finish_clears_nothing(engine: AsyncEngine) -> None:
    room = await Newsroom(engine).open()
    await room.publish("Reuters", SYNDICATED["Reuters"][0])
    await room.deliver()
    await room.publish("Kazinform", SYNDICATED["Kazinform"][0])
    lease = timedelta(minutes=2)

    (claimed,) = await room.outbox.claim_edits(room.now, [Platform.TELEGRAM], 10, lease)
    assert (claimed.destination.platform, claimed.also_in) == (Platform.TELEGRAM, ("Kazinform",))
    assert claimed.ref == f"-100777/{claimed.id}"  # what the channel answered when it sent the alert
    assert await room.outbox.claim_edits(room.now, [Platform.TELEGRAM], 10, lease) == []
    (again,) = await room.outbox.claim_edits(room.now + lease, [Platform.TELEGRAM], 10, lease)
    await room.outbox.finish_edit(again.id, room.now + lease, None)  # the first editor, too late
    assert await room.outbox.claim_edits(room.now + 2 * lease, [Platform.TELEGRAM], 10, lease) != []
    await room.outbox.reschedule_edit(again.id, room.now + 3 * lease, "429 Too Many Requests")
    await room.outbox.finish_edit(again.id, room.now + 3 * lease, None)
    assert await room.outbox.claim_edits(room.now + 9 * lease, [Platform.TELEGRAM], 10, lease) == []


async def test_search_hits_show_the_other_outlets_of_their_story(engine: AsyncEngine) -> None:
    room = await Newsroom(engine).open()
    await room.publish("Reuters", SYNDICATED["Reuters"][0])
    await room.publish("Kazinform", SYNDICATED["Kazinform"][0])
    await room.publish("Tengrinews", UNRELATED)

    page = await search_archive(SqlSearch(engine), SearchRequest("peacekeeping OR Rubezh"), room.now)

    shown = {(hit.article.outlet_name, hit.also_in) for hit in page.hits}
    assert shown == {("Reuters", ("Kazinform",)), ("Kazinform", ("Reuters",)), ("Tengrinews", ())}


async def test_outlets_polled_at_once_with_one_story_give_one_alert_per_destination(
    engine: AsyncEngine,
) -> None:
    room = await Newsroom(engine).open()
    room.now += timedelta(hours=1)
    for name in OUTLETS:
        room.watcher.script(room.outlets[name].id, feed_of(name, SYNDICATED[name][0]))
    # Concurrent polls each cluster inside their own transaction, before any of them has committed.
    reports = await poll_outlets(
        await room.archive.list_outlets(), room.watcher, room.archive, WATCHLIST, room.now, lambda: 0.0
    )
    assert [report.error for report in reports] == [None] * len(OUTLETS)
    await room.deliver()

    for channel in (room.telegram, room.console):
        ((_, alert),) = channel.sent
        assert sorted((alert.article.outlet_name, *alert.also_in)) == sorted(OUTLETS)


async def test_an_outlet_joining_while_an_edit_is_in_flight_is_shown_by_a_later_edit(
    engine: AsyncEngine,
) -> None:
    room = await Newsroom(engine).open()
    await room.publish("Reuters", SYNDICATED["Reuters"][0])
    await room.deliver()
    await room.publish("Kazinform", SYNDICATED["Kazinform"][0])
    lease = timedelta(hours=1)  # longer than the ten minutes a publish takes in this newsroom
    claimed_at = room.now

    (claimed,) = await room.outbox.claim_edits(claimed_at, [Platform.TELEGRAM], 10, lease)
    assert claimed.also_in == ("Kazinform",)
    await room.publish("Tengrinews", SYNDICATED["Tengrinews"][0])  # joins while the edit is in flight
    await room.outbox.finish_edit(claimed.id, claimed_at + lease, None)

    # Never two edits of one message at once: the joined outlet waits for the lease to end.
    assert await room.outbox.claim_edits(claimed_at + lease / 2, [Platform.TELEGRAM], 10, lease) == []
    (again,) = await room.outbox.claim_edits(room.now + lease, [Platform.TELEGRAM], 10, lease)
    assert again.also_in == ("Kazinform", "Tengrinews")
