"""Use case: poll outlets, archive what is new, and queue alerts for what matches, atomically."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from core.models import (
    Article,
    ArticleMatches,
    ArticleText,
    Failed,
    FetchOutcome,
    Modified,
    Outlet,
    OutletState,
)
from core.ports import Archive, PollTransaction, Watcher
from core.scheduling import DEFAULT_POLICY, SchedulePolicy, state_after_poll
from core.stories import DEFAULT_STORY_POLICY, StoryPolicy, assign_stories, band_keys, signature_of
from core.watchlist import Watchlist

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll of one outlet did."""

    outlet: Outlet
    outcome: FetchOutcome
    new_articles: int = 0
    alerts_queued: int = 0
    matched: tuple[ArticleMatches, ...] = ()
    state: OutletState | None = None  # as saved after this poll; None when it could not be saved

    @property
    def has_deactivated(self) -> bool:
        """True when this poll's failure was one too many: the outlet is no longer polled."""
        return self.state is not None and self.state.is_deactivated and not self.outlet.state.is_deactivated

    @property
    def error(self) -> str | None:
        return self.outcome.reason if isinstance(self.outcome, Failed) else None

    @property
    def is_baseline(self) -> bool:
        """True when this poll only recorded what the outlet already showed."""
        return isinstance(self.outcome, Modified) and not self.outlet.state.is_baselined


def article_text(article: Article) -> ArticleText:
    return ArticleText(
        title=article.title,
        body=article.summary,
        source=article.outlet_name,
        lang=article.language or "",
    )


def match_articles(articles: Sequence[Article], watchlist: Watchlist) -> tuple[ArticleMatches, ...]:
    """The articles that match at least one topic, with their matches."""
    found = (ArticleMatches(article, watchlist.match(article_text(article))) for article in articles)
    return tuple(entry for entry in found if entry.matches)


async def cluster_articles(
    tx: PollTransaction, articles: Sequence[Article], policy: StoryPolicy, now: datetime
) -> list[Article]:
    """Put new articles in the stories of their recent near-duplicates, or in stories of their own."""
    signatures = [signature_of(article.title, article.summary) for article in articles]
    keys = [key for signature in signatures if signature is not None for key in band_keys(signature)]
    # One lookup for the whole batch: a candidate of one article is compared with all of them.
    candidates = await tx.story_candidates(keys, now - policy.window) if keys else []
    assignments = assign_stories(
        list(zip(articles, signatures, strict=True)),
        candidates,
        policy.threshold,
        policy.same_outlet_threshold,
    )
    await tx.join_stories(assignments, now)
    return [replace(a.article, story_id=a.story_id) for a in assignments]


class StateWriter:
    """Saves the states of polls that archived nothing, many to a transaction (a group commit).

    Each poll still waits for the commit that holds its own state, so a report's state is a saved
    one; a batch the database refuses is retried one outlet at a time, so one bad row costs only
    its own outlet.
    """

    def __init__(self, archive: Archive) -> None:
        self._archive = archive
        self._pending: list[tuple[int, OutletState, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def save(self, outlet_id: int, state: OutletState) -> None:
        """Return once `state` is committed; raise what saving it raised."""
        saved: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((outlet_id, state, saved))
        if self._writing is None:
            # The states that arrive while one batch commits form the next one.
            self._writing = asyncio.create_task(self._write())
        await saved

    async def _write(self) -> None:
        batch: list[tuple[int, OutletState, asyncio.Future[None]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    async with self._archive.poll_transaction() as tx:
                        await tx.save_outlet_states([(outlet_id, state) for outlet_id, state, _ in batch])
                except Exception:
                    await self._write_each(batch)
                else:
                    for _, _, saved in batch:
                        settle(saved, None)
        except BaseException:
            # Cancelled (shutdown): no poll may wait for ever on a commit that will not come.
            for _, _, saved in [*batch, *self._pending]:
                saved.cancel()
            self._pending = []
            raise
        finally:
            self._writing = None

    async def _write_each(self, batch: Sequence[tuple[int, OutletState, asyncio.Future[None]]]) -> None:
        for outlet_id, state, saved in batch:
            try:
                async with self._archive.poll_transaction() as tx:
                    await tx.save_outlet_state(outlet_id, state)
            except Exception as error:
                settle(saved, error)
            else:
                settle(saved, None)


def settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return  # its poll was cancelled while it waited
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


async def poll_outlet(
    outlet: Outlet,
    watcher: Watcher,
    archive: Archive,
    watchlist: Watchlist,
    now: datetime,
    jitter: float,
    policy: SchedulePolicy = DEFAULT_POLICY,
    stories: StoryPolicy = DEFAULT_STORY_POLICY,
    states: StateWriter | None = None,
) -> PollReport:
    """Fetch one outlet, then archive, cluster, match and queue alerts in one transaction.

    With `states`, a poll that has nothing to archive (not modified, failed) saves its state
    through that writer, in a transaction shared with other such polls.
    """
    outcome = await watcher.fetch(outlet)
    if states is not None and not isinstance(outcome, Modified):
        state = state_after_poll(outlet, outcome, now, jitter, 0, policy)
        await states.save(outlet.id, state)
        if isinstance(outcome, Failed):
            log.info("outlet poll failed", extra={"outlet": outlet.name, "reason": outcome.reason})
        return PollReport(outlet, outcome, state=state)
    new_articles: list[Article] = []
    matched: tuple[ArticleMatches, ...] = ()
    queued = 0
    async with archive.poll_transaction() as tx:
        if isinstance(outcome, Modified):
            new_articles = await tx.add_unseen_articles(outlet, outcome.items, now)
            new_articles = await cluster_articles(tx, new_articles, stories, now)
            matched = match_articles(new_articles, watchlist)
            # An outlet's first read is a baseline: archived and matched, but nobody is alerted.
            queued = await tx.add_matches(matched, alert=outlet.state.is_baselined, now=now)
        # How many articles were new sets the outlet's pace, so the state is known only now.
        state = state_after_poll(outlet, outcome, now, jitter, len(new_articles), policy)
        await tx.save_outlet_state(outlet.id, state)
    if isinstance(outcome, Failed):
        log.info("outlet poll failed", extra={"outlet": outlet.name, "reason": outcome.reason})
    return PollReport(outlet, outcome, len(new_articles), queued, matched, state)


async def record_crash(
    outlet: Outlet,
    failure: Failed,
    archive: Archive,
    now: datetime,
    policy: SchedulePolicy = DEFAULT_POLICY,
) -> OutletState | None:
    """Back off an outlet whose poll crashed, so it is not retried on every scheduler tick.

    Returns the state saved, or None when even that failed.
    """
    state = state_after_poll(outlet, failure, now, jitter=0.0, policy=policy)
    try:
        async with archive.poll_transaction() as tx:
            await tx.save_outlet_state(outlet.id, state)
    except Exception:
        log.exception("outlet state not saved after a crash", extra={"outlet": outlet.name})
        return None
    return state


async def poll_outlets(
    outlets: Sequence[Outlet],
    watcher: Watcher,
    archive: Archive,
    watchlist: Watchlist,
    now: datetime,
    jitter: Callable[[], float],
    concurrency: int = 16,
    on_done: Callable[[PollReport], None] = lambda _report: None,
    policy: SchedulePolicy = DEFAULT_POLICY,
    stories: StoryPolicy = DEFAULT_STORY_POLICY,
) -> list[PollReport]:
    """Poll many outlets concurrently; one outlet's failure never stops the others."""
    gate = asyncio.Semaphore(concurrency)
    states = StateWriter(archive)

    async def poll_one(outlet: Outlet) -> PollReport:
        async with gate:
            try:
                report = await poll_outlet(
                    outlet, watcher, archive, watchlist, now, jitter(), policy, stories, states
                )
            except Exception as error:
                # A bug or a database hiccup for one outlet must not cost the rest of the cycle.
                log.exception("outlet poll crashed", extra={"outlet": outlet.name})
                failure = Failed(f"internal error: {type(error).__name__}")
                report = PollReport(
                    outlet, failure, state=await record_crash(outlet, failure, archive, now, policy)
                )
        on_done(report)
        return report

    return list(await asyncio.gather(*(poll_one(outlet) for outlet in outlets)))
