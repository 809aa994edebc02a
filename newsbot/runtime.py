"""The long-running process: one asyncio loop, APScheduler driving polling and delivery, ordered shutdown."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.delivery import deliver_due
from core.digests import DIGEST_BATCH, deliver_digests
from core.polling import PollReport, poll_outlets
from core.query import QuerySyntaxError
from core.search import purge_old_bodies
from core.watchlist import recompile
from newsbot.bootstrap import App, FrontEnd, utc_now

log = logging.getLogger(__name__)

POLL_TICK = timedelta(seconds=15)
DELIVERY_TICK = timedelta(seconds=2)
UPKEEP_TICK = timedelta(minutes=10)
DELIVERY_BATCH = 100
SHUTDOWN_GRACE = timedelta(seconds=30)


async def refresh_watchlist(app: App) -> None:
    """Match the topics the archive holds now: one added or changed elsewhere needs no restart."""
    configured = [topic.name for topic in app.settings.topics]
    try:
        app.watchlist = recompile(app.watchlist, await app.catalog.watched_topics(configured))
    except QuerySyntaxError as error:
        # Keep matching with the watchlist we have; the bad topic is named in the message.
        log.warning("topics not recompiled: %s", error)


async def poll_due_outlets(app: App, now: datetime) -> list[PollReport]:
    """Poll every outlet whose next poll time has come."""
    outlets = await app.archive.due_outlets(now)
    return await poll_outlets(
        outlets,
        app.watcher,
        app.archive,
        app.watchlist,
        now,
        random.random,
        policy=app.settings.schedule,
        stories=app.settings.stories.policy,
    )


async def deliver_all_due(app: App) -> int:
    """Deliver due alerts batch after batch until none is left; returns how many were sent."""
    sent = 0
    while app.channels:
        report = await deliver_due(app.outbox, app.channels, utc_now(), DELIVERY_BATCH)
        sent += report.sent
        # A batch takes one alert per destination; go on while that sends something. A batch that
        # sent nothing met only held, paced or failing destinations, which the next tick tries again.
        if report.sent == 0:
            break
    return sent


async def deliver_all_digests(app: App) -> int:
    """Send every destination's due digest, batch after batch; returns how many alerts went out."""
    sent = 0
    while app.channels:
        report = await deliver_digests(app.outbox, app.channels, utc_now(), DIGEST_BATCH)
        sent += report.sent
        if report.claimed < DIGEST_BATCH:
            break
    return sent


async def deliver_everything_due(app: App) -> None:
    """One delivery cycle: alerts due one by one, then the digests whose time has come."""
    await deliver_all_due(app)
    await deliver_all_digests(app)


def log_poll_problems(reports: Sequence[PollReport]) -> None:
    """A warning per failed outlet, and one per outlet this cycle deactivated."""
    for report in reports:
        if report.error:
            log.warning("outlet failed: %s: %s", report.outlet.name, report.error)
        if report.has_deactivated and report.state is not None:
            # The admins' report until a chat front-end has one; `status` will read the same state.
            reason = report.state.deactivation_reason
            log.warning(
                "outlet deactivated: %s (id %d): %s",
                report.outlet.name,
                report.outlet.id,
                reason,
                extra={"outlet_id": report.outlet.id, "outlet": report.outlet.name, "reason": reason},
            )


async def keep_archive(app: App) -> None:
    """Clear article bodies past their retention and bring the search index up to date."""
    cleared = await purge_old_bodies(app.search, app.settings.storage.body_retention, utc_now())
    if cleared:
        log.info("article bodies cleared: %d", cleared)
    await app.search.refresh()


class Runtime:
    """Runs polling and delivery on a schedule until asked to stop (SIGINT, SIGTERM or `stop()`)."""

    def __init__(
        self, app: App, poll_tick: timedelta = POLL_TICK, delivery_tick: timedelta = DELIVERY_TICK
    ) -> None:
        self._app = app
        self._poll_tick = poll_tick
        self._delivery_tick = delivery_tick
        self._stopping = asyncio.Event()
        self._busy: set[asyncio.Task[object]] = set()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        first = datetime.now(UTC)
        # max_instances=1 and coalesce: a slow cycle delays the next one instead of piling up.
        for job, tick in (
            (self._poll, self._poll_tick),
            (self._deliver, self._delivery_tick),
            (self._deliver_digests, self._delivery_tick),
            (self._upkeep, UPKEEP_TICK),
        ):
            scheduler.add_job(
                job,
                "interval",
                seconds=tick.total_seconds(),
                next_run_time=first,
                max_instances=1,
                coalesce=True,
            )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop)
        started: list[FrontEnd] = []
        try:
            # Front-ends first: the delivery channels share their bots, which start with them.
            for front_end in self._app.front_ends:
                await front_end.start()
                started.append(front_end)
            scheduler.start()
            log.info("newsbot running", extra={"outlets": len(self._app.settings.outlets)})
            await self._stopping.wait()
        finally:
            # In order: no new chat updates, no new jobs; then what is running finishes; then close.
            for front_end in started:
                await front_end.stop_receiving()
            if scheduler.running:
                scheduler.pause()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await self._finish_running_jobs()
            for front_end in started:
                await front_end.close()
            if scheduler.running:
                scheduler.shutdown(wait=False)
        log.info("newsbot stopped")

    async def _finish_running_jobs(self) -> None:
        # A poll or delivery in flight finishes its transaction; the outbox makes anything cut short safe.
        if self._busy:
            await asyncio.wait(self._busy, timeout=SHUTDOWN_GRACE.total_seconds())

    async def _poll(self) -> None:
        await self._tracked(self._poll_once())

    async def _deliver(self) -> None:
        await self._tracked(deliver_all_due(self._app))

    async def _deliver_digests(self) -> None:
        # A job of its own: a long digest waits out its chat's pace between pages, and alerts sent
        # one by one to other chats must not wait behind it.
        await self._tracked(deliver_all_digests(self._app))

    async def _upkeep(self) -> None:
        await self._tracked(keep_archive(self._app))

    async def _poll_once(self) -> None:
        await refresh_watchlist(self._app)
        now = utc_now()
        reports = await poll_due_outlets(self._app, now)
        # Band keys older than the story window can no longer join anything.
        await self._app.archive.forget_story_bands(now - self._app.settings.stories.window)
        log_poll_problems(reports)
        queued = sum(report.alerts_queued for report in reports)
        if queued:
            log.info("alerts queued: %d", queued)

    async def _tracked(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(work)
        self._busy.add(task)
        task.add_done_callback(self._busy.discard)
        try:
            # Shielded: a shutdown that cancels the scheduler's job must not cut a transaction short;
            # run() waits for everything in _busy before it returns.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("scheduled job failed")
