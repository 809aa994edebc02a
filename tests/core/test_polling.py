"""Polling use case: baseline, new-article alerts, state after every outcome, isolation of failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.models import (
    Article,
    Destination,
    Failed,
    FeedItem,
    Modified,
    NotModified,
    Outlet,
    OutletState,
    Platform,
    Topic,
    Validators,
)
from core.polling import PollReport, match_articles, poll_outlet, poll_outlets
from core.scheduling import MAX_BACKOFF, SchedulePolicy, backoff_delay
from core.stories import StoryPolicy
from core.watchlist import compile_watchlist
from tests.fakes import FakeWatcher, InMemoryArchive

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
INTERVAL = timedelta(minutes=5)
WATCHLIST = compile_watchlist([Topic("CSTO", "CSTO"), Topic("SCO", "SCO")])
DESK = Destination(1, Platform.TELEGRAM, "-100200", "Editors' desk")
SLACK_DESK = Destination(2, Platform.SLACK, "C0EDITORS", "#editors")
BASELINED = OutletState(is_baselined=True, validators=Validators(etag='"v1"'))


def item(n: int, title: str = "", *, guid: str | None = None, url: str | None = None) -> FeedItem:
    return FeedItem(
        title=title or f"Weather report {n}",
        url=url if url is not None else f"https://news.example/{n}",
        guid=guid if guid is not None else f"guid-{n}",
        summary="",
    )


CSTO_1 = item(1, "CSTO ministers meet in Astana")
PLAIN_2 = item(2, "Grain harvest up")
CSTO_3 = item(3, "CSTO drills begin")
PLAIN_4 = item(4, "Rail timetable changes")


def archive_with_desk() -> InMemoryArchive:
    archive = InMemoryArchive()
    archive.subscribe(DESK, "CSTO")
    return archive


async def poll(
    archive: InMemoryArchive, outlet: Outlet, watcher: FakeWatcher, now: datetime = NOW
) -> PollReport:
    return await poll_outlet(archive.outlet(outlet.id), watcher, archive, WATCHLIST, now, jitter=0.0)


async def test_first_poll_is_a_baseline_that_archives_and_matches_but_alerts_nobody() -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Tengrinews", "https://tengrinews.example/rss")
    watcher = FakeWatcher().script(outlet.id, Modified((CSTO_1, PLAIN_2), Validators(etag='"v1"')))

    report = await poll(archive, outlet, watcher)

    assert report.is_baseline
    assert (report.new_articles, report.alerts_queued, report.error) == (2, 0, None)
    assert [entry.article.title for entry in report.matched] == ["CSTO ministers meet in Astana"]
    assert archive.titles() == ["CSTO ministers meet in Astana", "Grain harvest up"]
    assert list(archive.matches) == [(archive.articles[0].id, "CSTO")]
    assert archive.outbox.entries == []
    state = archive.outlet(outlet.id).state
    assert state.is_baselined
    assert state.validators == Validators(etag='"v1"')
    assert (state.last_polled_at, state.last_success_at, state.next_poll_at) == (NOW, NOW, NOW + INTERVAL)


async def test_later_polls_alert_only_new_matching_articles() -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Tengrinews", "https://tengrinews.example/rss")
    watcher = FakeWatcher().script(
        outlet.id,
        Modified((CSTO_1, PLAIN_2)),
        Modified((CSTO_3, PLAIN_4, CSTO_1, PLAIN_2)),
    )
    await poll(archive, outlet, watcher)

    report = await poll(archive, outlet, watcher, LATER)

    assert not report.is_baseline
    assert (report.new_articles, report.alerts_queued) == (2, 1)
    assert [(e.article.title, e.destination, e.state) for e in archive.outbox.entries] == [
        ("CSTO drills begin", DESK, "pending")
    ]
    assert archive.outbox.entries[0].next_attempt_at == LATER
    assert [m.topic for m in archive.outbox.entries[0].matches] == ["CSTO"]


@pytest.mark.parametrize(
    ("subscriptions", "expected"),
    [
        pytest.param({DESK: ("CSTO",)}, [DESK], id="one-subscriber"),
        pytest.param({DESK: ("CSTO",), SLACK_DESK: ("CSTO",)}, [DESK, SLACK_DESK], id="two-platforms"),
        pytest.param({DESK: ("CSTO", "SCO")}, [DESK], id="two-topics-one-alert"),
        pytest.param({DESK: ("Tokayev",)}, [], id="other-topic"),
        pytest.param({}, [], id="nobody"),
    ],
)
async def test_one_alert_per_subscribed_destination(
    subscriptions: dict[Destination, tuple[str, ...]], expected: list[Destination]
) -> None:
    archive = InMemoryArchive()
    for destination, topics in subscriptions.items():
        archive.subscribe(destination, *topics)
    outlet = archive.add_outlet("Kun.uz", "https://kun.example/rss", state=BASELINED)
    both = item(5, "CSTO and SCO summits overlap")
    watcher = FakeWatcher().script(outlet.id, Modified((both,)))

    report = await poll(archive, outlet, watcher)

    assert report.alerts_queued == len(expected)
    assert [entry.destination for entry in archive.outbox.entries] == expected


async def test_not_modified_keeps_articles_and_refreshes_the_state() -> None:
    archive = archive_with_desk()
    before = OutletState(
        validators=Validators(etag='"v1"'),
        last_success_at=NOW - timedelta(hours=2),
        last_error="HTTP 503",
        consecutive_failures=2,
        is_baselined=True,
        rate_per_hour=12.0,
    )
    outlet = archive.add_outlet("Vlast", "https://vlast.example/rss", state=before)
    watcher = FakeWatcher().script(outlet.url, NotModified(Validators(etag='"v1"')))

    report = await poll(archive, outlet, watcher)

    assert (report.new_articles, report.alerts_queued, report.matched, report.error) == (0, 0, (), None)
    assert not report.is_baseline
    assert archive.articles == []
    assert archive.outlet(outlet.id).state == OutletState(
        validators=Validators(etag='"v1"'),
        next_poll_at=NOW + INTERVAL,
        last_polled_at=NOW,
        last_success_at=NOW,
        last_error=None,
        consecutive_failures=0,
        is_baselined=True,
        # Two hours (one half-life) without news halve the estimate: 6 articles an hour, polled every 5 min.
        rate_per_hour=6.0,
    )


async def test_failed_counts_failures_records_the_error_and_backs_off() -> None:
    archive = archive_with_desk()
    before = OutletState(
        validators=Validators(etag='"v1"'),
        last_success_at=NOW - timedelta(hours=1),
        consecutive_failures=1,
        is_baselined=True,
    )
    outlet = archive.add_outlet("Fergana", "https://fergana.example/rss", state=before)
    watcher = FakeWatcher().script(outlet.id, Failed("HTTP 503"))

    report = await poll(archive, outlet, watcher)

    assert report.error == "HTTP 503"
    assert (report.new_articles, report.alerts_queued) == (0, 0)
    assert archive.articles == []
    assert archive.outlet(outlet.id).state == OutletState(
        validators=Validators(etag='"v1"'),
        next_poll_at=NOW + backoff_delay(INTERVAL, 2, None),
        last_polled_at=NOW,
        last_success_at=NOW - timedelta(hours=1),
        last_error="HTTP 503",
        consecutive_failures=2,
        is_baselined=True,
    )
    assert archive.outlet(outlet.id).state.next_poll_at == NOW + 2 * INTERVAL


async def test_failed_honours_retry_after() -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Fergana", "https://fergana.example/rss")
    watcher = FakeWatcher().script(outlet.id, Failed("HTTP 429", retry_after=timedelta(hours=1)))

    await poll(archive, outlet, watcher)

    state = archive.outlet(outlet.id).state
    assert (state.next_poll_at, state.consecutive_failures, state.is_baselined) == (
        NOW + timedelta(hours=1),
        1,
        False,
    )


async def test_a_failed_first_poll_leaves_the_outlet_unbaselined_so_the_next_read_is_the_baseline() -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Kazinform", "https://kazinform.example/rss")
    watcher = FakeWatcher().script(outlet.id, Failed("timeout"), Modified((CSTO_1,)))

    await poll(archive, outlet, watcher)
    report = await poll(archive, outlet, watcher, LATER)

    assert report.is_baseline
    assert (report.new_articles, report.alerts_queued) == (1, 0)
    assert archive.outbox.entries == []


@pytest.mark.parametrize(
    ("feed", "expected_new"),
    [
        pytest.param((CSTO_1, CSTO_1), ["CSTO ministers meet in Astana"], id="same-item-twice"),
        pytest.param(
            (CSTO_3, item(30, "CSTO drills begin (updated)", guid="guid-3")),
            ["CSTO drills begin"],
            id="same-guid-new-link",
        ),
        pytest.param(
            (CSTO_3, item(31, "CSTO drills begin", guid="other", url="https://NEWS.example/3#top")),
            ["CSTO drills begin"],
            id="same-canonical-link-new-guid",
        ),
    ],
)
async def test_duplicates_within_one_feed_are_archived_once(
    feed: tuple[FeedItem, ...], expected_new: list[str]
) -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Azattyq", "https://azattyq.example/rss", state=BASELINED)
    watcher = FakeWatcher().script(outlet.id, Modified(feed))

    report = await poll(archive, outlet, watcher)

    assert report.new_articles == len(expected_new)
    assert archive.titles() == expected_new
    assert [entry.article.title for entry in archive.outbox.entries] == expected_new


@pytest.mark.parametrize(
    "repost",
    [
        pytest.param(item(3, "CSTO drills begin", guid="renumbered-3"), id="same-link-new-guid"),
        pytest.param(
            item(3, "CSTO drills begin", guid="renumbered-3", url="https://news.example/3?utm_source=tg"),
            id="same-link-with-tracking",
        ),
        pytest.param(item(3, "CSTO drills: update", url="https://elsewhere.example/3"), id="same-guid"),
    ],
)
async def test_an_article_seen_in_an_earlier_poll_is_not_new_again(repost: FeedItem) -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Azattyq", "https://azattyq.example/rss", state=BASELINED)
    watcher = FakeWatcher().script(outlet.id, Modified((CSTO_3,)), Modified((repost,)))
    await poll(archive, outlet, watcher)

    report = await poll(archive, outlet, watcher, LATER)

    assert (report.new_articles, report.alerts_queued) == (0, 0)
    assert archive.titles() == ["CSTO drills begin"]
    assert len(archive.outbox.entries) == 1


async def test_the_same_link_from_another_outlet_is_not_alerted_twice() -> None:
    archive = archive_with_desk()
    wire = archive.add_outlet("TASS", "https://tass.example/rss", state=BASELINED)
    reprint = archive.add_outlet("Kazinform", "https://kazinform.example/rss", state=BASELINED)
    watcher = (
        FakeWatcher()
        .script(wire.id, Modified((CSTO_3,)))
        .script(reprint.id, Modified((item(3, "CSTO drills begin", guid="kazinform-77"),)))
    )

    first = await poll(archive, wire, watcher)
    second = await poll(archive, reprint, watcher)

    assert (first.alerts_queued, second.new_articles, second.alerts_queued) == (1, 0, 0)
    assert [entry.article.outlet_name for entry in archive.outbox.entries] == ["TASS"]


async def test_a_watcher_that_raises_becomes_a_failed_report_and_the_others_are_still_polled() -> None:
    archive = archive_with_desk()
    broken = archive.add_outlet("Broken", "https://broken.example/rss", state=BASELINED)
    healthy = archive.add_outlet("Healthy", "https://healthy.example/rss", state=BASELINED)
    quiet = archive.add_outlet("Quiet", "https://quiet.example/rss", state=BASELINED)
    watcher = (
        FakeWatcher()
        .script(broken.id, RuntimeError("parser bug"))
        .script(healthy.id, Modified((CSTO_3,)))
        .script(quiet.id, NotModified())
    )
    done: list[PollReport] = []

    reports = await poll_outlets(
        [broken, healthy, quiet], watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0, on_done=done.append
    )

    assert [(r.outlet.name, r.error) for r in reports] == [
        ("Broken", "internal error: RuntimeError"),
        ("Healthy", None),
        ("Quiet", None),
    ]
    assert isinstance(reports[0].outcome, Failed)
    assert (reports[1].new_articles, reports[1].alerts_queued) == (1, 1)
    assert sorted(watcher.fetched_ids()) == [broken.id, healthy.id, quiet.id]
    assert sorted(report.outlet.name for report in done) == ["Broken", "Healthy", "Quiet"]
    assert [entry.article.title for entry in archive.outbox.entries] == ["CSTO drills begin"]
    # The crash is recorded as a failure, so the outlet backs off instead of being retried every tick.
    crashed = archive.outlet(broken.id).state
    assert (crashed.consecutive_failures, crashed.last_error) == (1, "internal error: RuntimeError")
    assert crashed.next_poll_at == NOW + INTERVAL


async def test_an_archive_error_rolls_back_the_whole_poll_of_that_outlet_only() -> None:
    archive = archive_with_desk()
    broken = archive.add_outlet("Broken", "https://broken.example/rss", state=BASELINED)
    healthy = archive.add_outlet("Healthy", "https://healthy.example/rss", state=BASELINED)
    archive.break_outlet(broken.id)
    watcher = FakeWatcher().script(broken.id, Modified((CSTO_1,))).script(healthy.id, Modified((CSTO_3,)))

    reports = await poll_outlets([broken, healthy], watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0)

    assert [r.error for r in reports] == ["internal error: RuntimeError", None]
    # Nothing from the failed transaction survives: no article, no match, no outbox row, no state.
    assert archive.titles() == ["CSTO drills begin"]
    assert [entry.article.title for entry in archive.outbox.entries] == ["CSTO drills begin"]
    assert archive.outlet(broken.id).state == BASELINED
    # The poll and then the attempt to record its crash both roll back; the healthy poll commits.
    assert (archive.commits, archive.rollbacks) == (1, 2)


async def test_poll_outlets_passes_each_outlet_its_own_jitter() -> None:
    archive = archive_with_desk()
    outlets = [archive.add_outlet(f"Outlet {n}", f"https://o{n}.example/rss") for n in range(3)]
    watcher = FakeWatcher()
    for outlet in outlets:
        watcher.script(outlet.id, NotModified())
    jitters = iter([0.0, 0.5, 0.9])

    await poll_outlets(outlets, watcher, archive, WATCHLIST, NOW, jitter=lambda: next(jitters), concurrency=1)

    assert [archive.outlet(o.id).state.next_poll_at for o in outlets] == [
        NOW + INTERVAL,
        NOW + INTERVAL * 1.05,
        NOW + INTERVAL * 1.09,
    ]


async def test_on_done_is_called_once_per_outlet_with_its_report() -> None:
    archive = archive_with_desk()
    outlets = [archive.add_outlet(f"Outlet {n}", f"https://o{n}.example/rss") for n in range(5)]
    watcher = FakeWatcher()
    for outlet in outlets:
        watcher.script(outlet.id, Failed("timeout") if outlet.id % 2 else NotModified())
    done: list[PollReport] = []

    reports = await poll_outlets(
        outlets, watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0, concurrency=2, on_done=done.append
    )

    assert sorted(r.outlet.id for r in done) == [o.id for o in outlets]
    assert sorted(done, key=lambda r: r.outlet.id) == reports
    assert [r.error for r in reports] == ["timeout", None, "timeout", None, "timeout"]


def test_match_articles_keeps_only_articles_with_matches() -> None:
    outlet = InMemoryArchive().add_outlet("Kun.uz", "https://kun.example/rss")
    articles = [
        archive_article(outlet, 1, "CSTO ministers meet"),
        archive_article(outlet, 2, "Grain harvest up"),
        archive_article(outlet, 3, "Weather", summary="The CSTO said nothing"),
    ]

    found = match_articles(articles, WATCHLIST)

    assert [(entry.article.id, [m.topic for m in entry.matches]) for entry in found] == [
        (1, ["CSTO"]),
        (3, ["CSTO"]),
    ]
    assert [m.field for entry in found for m in entry.matches] == ["title", "body"]


def archive_article(outlet: Outlet, article_id: int, title: str, summary: str = "") -> Article:
    return Article(article_id, outlet.id, outlet.name, title, None, summary, None, NOW)


async def test_a_long_dead_outlet_still_backs_off() -> None:
    archive = archive_with_desk()
    dead = OutletState(consecutive_failures=39, last_error="HTTP 503", is_baselined=True)
    outlet = archive.add_outlet("Gone", "https://gone.example/rss", state=dead)
    watcher = FakeWatcher().script(outlet.id, Failed("HTTP 503"))

    [report] = await poll_outlets([outlet], watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0)

    assert report.error == "HTTP 503"
    state = archive.outlet(outlet.id).state
    assert (state.consecutive_failures, state.next_poll_at) == (40, NOW + MAX_BACKOFF)


async def test_one_malformed_link_does_not_cost_the_rest_of_the_feed() -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Azattyq", "https://azattyq.example/rss", state=BASELINED)
    hostile = item(9, "Broken link", url="https://news.example:abc/9")
    watcher = FakeWatcher().script(outlet.id, Modified((hostile, CSTO_3)))

    [report] = await poll_outlets([outlet], watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0)

    assert report.error is None
    assert "CSTO drills begin" in archive.titles()


async def test_the_failure_that_reaches_the_threshold_deactivates_the_outlet_once() -> None:
    archive = archive_with_desk()
    policy = SchedulePolicy(deactivate_after=2)
    outlet = archive.add_outlet("Gone", "https://gone.example/rss", state=BASELINED)
    watcher = FakeWatcher().script(outlet.id, Failed("HTTP 410"))

    reports = []
    for _ in range(3):
        current = archive.outlet(outlet.id)
        reports.append(await poll_outlet(current, watcher, archive, WATCHLIST, NOW, 0.0, policy))

    assert [report.has_deactivated for report in reports] == [False, True, False]
    state = archive.outlet(outlet.id).state
    assert reports[1].state == replace(state, consecutive_failures=2, last_error="HTTP 410")
    assert (state.deactivated_at, state.next_poll_at) == (NOW, None)
    assert state.deactivation_reason == "2 failures in a row, the last: HTTP 410"


async def test_crashes_count_towards_deactivation_too() -> None:
    archive = archive_with_desk()
    outlet = archive.add_outlet("Buggy", "https://buggy.example/rss", state=BASELINED)
    watcher = FakeWatcher().script(outlet.id, RuntimeError("parser bug"))

    [report] = await poll_outlets(
        [outlet],
        watcher,
        archive,
        WATCHLIST,
        NOW,
        jitter=lambda: 0.0,
        policy=SchedulePolicy(deactivate_after=1),
    )

    assert report.has_deactivated
    assert archive.outlet(outlet.id).state.deactivation_reason == (
        "1 failure in a row, the last: internal error: RuntimeError"
    )


async def test_new_articles_set_the_pace_of_the_next_poll() -> None:
    archive = archive_with_desk()
    settled = replace(BASELINED, last_success_at=NOW - 2 * INTERVAL, rate_per_hour=6.0)
    busy = archive.add_outlet("Busy", "https://busy.example/rss", state=settled)
    quiet = archive.add_outlet("Quiet", "https://quiet.example/rss", state=settled)
    watcher = (
        FakeWatcher()
        .script(busy.id, Modified(tuple(item(n) for n in range(10, 20))))
        .script(quiet.id, NotModified())
    )

    await poll_outlets([busy, quiet], watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0)

    after = [archive.outlet(outlet.id).state for outlet in (busy, quiet)]
    # Ten new articles in ten minutes raise 6/h to 9.03/h; nothing new lowers it to 5.66/h.
    assert [state.rate_per_hour for state in after] == [
        pytest.approx(9.03, abs=0.01),
        pytest.approx(5.66, abs=0.01),
    ]
    # Half an article per poll: every 3 min 19 s and every 5 min 18 s.
    assert [round((state.next_poll_at - NOW).total_seconds()) for state in after if state.next_poll_at] == [
        199,
        318,
    ]


AGENCY_COPY = FeedItem(
    "CSTO leaders agree to deploy a joint force to the Tajik-Afghan border",
    url="https://agency.example/1",
    guid="agency-1",
    summary="Leaders of the CSTO agreed on Thursday to send a joint contingent to the border "
    "between Tajikistan and Afghanistan, President Tokayev said after a summit in Almaty.",
)
REPRINT = FeedItem(
    AGENCY_COPY.title,
    url="https://reprint.example/2",
    guid="reprint-2",
    summary=f"By Aigerim Seitkali. {AGENCY_COPY.summary}",
)


async def poll_both(archive: InMemoryArchive, gap: timedelta, stories: StoryPolicy) -> None:
    agency = archive.add_outlet("Agency", "https://agency.example/rss", state=BASELINED)
    reprints = archive.add_outlet("Reprints", "https://reprint.example/rss", state=BASELINED)
    watcher = (
        FakeWatcher().script(agency.id, Modified((AGENCY_COPY,))).script(reprints.id, Modified((REPRINT,)))
    )
    await poll_outlet(archive.outlet(agency.id), watcher, archive, WATCHLIST, NOW, 0.0, stories=stories)
    await poll_outlet(
        archive.outlet(reprints.id), watcher, archive, WATCHLIST, NOW + gap, 0.0, stories=stories
    )


async def test_a_copy_from_another_outlet_joins_the_story_and_adds_no_alert() -> None:
    archive = archive_with_desk()

    await poll_both(archive, timedelta(hours=71), StoryPolicy())

    assert len(archive.articles) == 2
    assert len({article.story_id for article in archive.articles}) == 1
    (entry,) = archive.outbox.entries
    (alert,) = await archive.outbox.claim_due(
        NOW + timedelta(days=3), {Platform.TELEGRAM}, 10, timedelta(minutes=1)
    )
    assert (entry.article.outlet_name, alert.also_in) == ("Agency", ("Reprints",))


async def test_a_copy_after_the_story_window_is_a_story_of_its_own() -> None:
    archive = archive_with_desk()

    await poll_both(archive, timedelta(hours=2), StoryPolicy(window=timedelta(hours=1)))

    assert [entry.article.outlet_name for entry in archive.outbox.entries] == ["Agency", "Reprints"]


async def test_a_stricter_threshold_keeps_the_copy_apart() -> None:
    archive = archive_with_desk()

    await poll_both(archive, timedelta(minutes=5), StoryPolicy(threshold=1.0))

    assert len(archive.outbox.entries) == 2


async def test_a_cycle_of_not_modified_outlets_shares_transactions_and_saves_every_state() -> None:
    archive = archive_with_desk()
    outlets = [
        archive.add_outlet(f"Outlet {n}", f"https://o{n}.example/rss", state=BASELINED) for n in range(40)
    ]
    watcher = FakeWatcher()
    for outlet in outlets:
        watcher.script(outlet.id, NotModified(Validators(etag=f'"{outlet.id}"')))
    failing = archive.add_outlet("Failing", "https://failing.example/rss", state=BASELINED)
    watcher.script(failing.id, Failed("HTTP 500"))

    reports = await poll_outlets([*outlets, failing], watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0)

    for outlet, report in zip(outlets, reports, strict=False):
        saved = archive.outlet(outlet.id).state
        assert report.state == saved
        assert (saved.validators.etag, saved.last_polled_at, saved.next_poll_at) == (
            f'"{outlet.id}"',
            NOW,
            NOW + INTERVAL,
        )
    assert archive.outlet(failing.id).state.consecutive_failures == 1
    assert reports[-1].error == "HTTP 500"
    # 41 polls, a handful of commits: the states of polls that archived nothing go in batches.
    assert archive.commits < 10
    assert archive.rollbacks == 0


async def test_a_state_the_database_refuses_costs_only_its_own_outlet() -> None:
    archive = archive_with_desk()
    outlets = [
        archive.add_outlet(f"Outlet {n}", f"https://o{n}.example/rss", state=BASELINED) for n in range(6)
    ]
    broken = outlets[2]
    archive.break_outlet(broken.id)
    watcher = FakeWatcher()
    for outlet in outlets:
        watcher.script(outlet.id, NotModified(Validators(etag='"new"')))

    reports = await poll_outlets(outlets, watcher, archive, WATCHLIST, NOW, jitter=lambda: 0.0)

    assert [r.error for r in reports] == [None, None, "internal error: RuntimeError", None, None, None]
    assert reports[2].state is None
    assert archive.outlet(broken.id).state == BASELINED
    assert all(archive.outlet(o.id).state.validators.etag == '"new"' for o in outlets if o is not broken)
