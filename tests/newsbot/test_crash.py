"""Crash test: the bot is killed with SIGKILL twenty times while it delivers 600 alerts, and none is lost."""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import sqlite3
import string
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import closing, suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.models import OutletSpec, Platform
from core.polling import poll_outlets
from newsbot.bootstrap import open_app, utc_now
from newsbot.runtime import poll_due_outlets
from newsbot.settings import FetchSettings
from tests.fake_servers.feeds import Entry, FeedServer, Route, news_entry, rss
from tests.fake_servers.recorder import Acceptance, RecorderServer
from tests.newsbot.crash_worker import TOPIC, crash_settings
from tests.newsbot.test_cli import REPO

ARTICLES = 200
DESTINATIONS = ((Platform.TELEGRAM, "-1001001"), (Platform.TELEGRAM, "-1001002"), (Platform.SLACK, "C0DESK"))
KILLS = 20
STEP_TIMEOUT = 60

T = TypeVar("T")


class Moment(StrEnum):
    """When a kill lands, relative to the message the bot process is sending."""

    AFTER_ACCEPTANCE = "after_acceptance"  # the platform accepted it and holds back its answer
    BEFORE_ACCEPTANCE = "before_acceptance"  # the platform holds it before accepting it
    RANDOM = "random"  # 0-20 ms after an acceptance: in a send, a commit, a claim, …


@dataclass(frozen=True, slots=True)
class Kill:
    pid: int
    moment: Moment


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql).fetchall()


def integrity(database: Path) -> str:
    return ", ".join(str(row[0]) for row in query(database, "PRAGMA integrity_check"))


def outbox_states(database: Path) -> dict[str, int]:
    return dict(query(database, "SELECT state, count(*) FROM outbox GROUP BY state"))


def outbox_rows(database: Path) -> dict[int, tuple[str, int, str, str | None]]:
    """Alert id -> (destination address, article id, state, sent ref)."""
    rows = query(
        database,
        "SELECT outbox.id, destinations.address, outbox.article_id, outbox.state, outbox.sent_ref "
        "FROM outbox JOIN destinations ON destinations.id = outbox.destination_id",
    )
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def distinct_entry(number: int, rng: random.Random) -> Entry:
    # Unrelated words per article, so that no identity or story rule may fold two of them together.
    words = " ".join("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(6))
    return news_entry(number, f"CSTO {words}")


async def queue_alerts(database_url: str, rng: random.Random) -> None:
    """Poll an outlet that publishes ARTICLES matching articles; each destination follows the topic."""
    async with FeedServer() as feeds:
        url = feeds.serve("/feed", Route(rss([news_entry(0, "CSTO baseline story")])))
        settings = replace(
            crash_settings(database_url),
            fetch=FetchSettings(allow_private_networks=True),
            outlets=(OutletSpec("Wire", url, interval=timedelta(hours=1)),),
        )
        async with open_app(settings, io.StringIO()) as app:
            assert app.console is not None
            await app.catalog.set_enabled(app.console.id, False)
            now = utc_now()
            for platform, address in DESTINATIONS:
                destination = await app.catalog.ensure_destination(platform, address, address, now)
                await app.catalog.subscribe(destination.id, [TOPIC.name], now)
            (baseline,) = await poll_due_outlets(app, now)
            assert baseline.is_baseline
            feeds.serve("/feed", Route(rss([distinct_entry(n, rng) for n in range(1, ARTICLES + 1)])))
            # Polled now although not due: the bot must find nothing to poll for the rest of the test.
            outlets = await app.archive.list_outlets()
            (report,) = await poll_outlets(
                outlets, app.watcher, app.archive, app.watchlist, utc_now(), lambda: 0.5
            )
            assert report.alerts_queued == ARTICLES * len(DESTINATIONS)


class BotProcesses:
    """Drives tests/newsbot/crash_worker.py: starts bot processes, kills or stops them, waits for idle passes."""

    def __init__(self, database_url: str, recorder_url: str, log: Path) -> None:
        self._arguments = (database_url, recorder_url)
        self._log = log
        self._server: asyncio.subprocess.Process | None = None
        self._running: int | None = None

    async def __aenter__(self) -> BotProcesses:
        with self._log.open("wb") as log:
            self._server = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.newsbot.crash_worker", *self._arguments,
                cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""},
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        assert self._server.stdin is not None
        if self._running is not None:
            with suppress(ProcessLookupError):
                os.kill(self._running, signal.SIGKILL)
        # End of input stops the fork server once its last child is reaped.
        self._server.stdin.close()
        try:
            await asyncio.wait_for(self._server.wait(), timeout=STEP_TIMEOUT)
        except TimeoutError:
            self._server.kill()
            await self._server.wait()

    def log_tail(self) -> str:
        return self._log.read_text(encoding="utf-8", errors="replace")[-3000:]

    async def start(self) -> int:
        assert self._server is not None
        assert self._server.stdin is not None
        self._server.stdin.write(b"run\n")
        await self._server.stdin.drain()
        words = await self._next_line(lambda words: words[0] == "started")
        self._running = int(words[1])
        return self._running

    async def end(self, pid: int, signum: signal.Signals) -> int:
        """Send `signum` to the bot process and return its exit code once it is gone."""
        self._running = None
        # The fork server's child, ours to end by its pid; the server reports when it is reaped.
        os.kill(pid, signum)
        words = await self._next_line(lambda words: words[:2] == ["exited", str(pid)])
        return int(words[2])

    async def until_idle(self, pid: int, is_done: Callable[[], bool]) -> None:
        """Return after a delivery pass of `pid` that found nothing due, once `is_done()` holds."""
        while True:
            await self._next_line(lambda words: words[:2] == ["idle", str(pid)])
            if is_done():
                return

    async def _next_line(self, wanted: Callable[[list[str]], bool]) -> list[str]:
        assert self._server is not None
        assert self._server.stdout is not None
        while True:
            line = await within(self._server.stdout.readline(), f"bot output\n{self.log_tail()}")
            assert line, f"the fork server ended\n{self.log_tail()}"
            words = line.decode().split()
            assert words[0] != "exited" or wanted(words), f"a bot process ended: {words}\n{self.log_tail()}"
            if wanted(words):
                return words


async def within(step: Awaitable[T], what: str) -> T:
    try:
        return await asyncio.wait_for(step, timeout=STEP_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


def duplicates_explained(
    accepted: list[Acceptance], rows: dict[int, tuple[str, int, str, str | None]], kills: list[Kill]
) -> list[Acceptance]:
    """The acceptances the outbox never committed; asserts each is a killed sender's last one."""
    committed = {ref for (_, _, _, ref) in rows.values()}
    by_ref = {acceptance.ref: acceptance for acceptance in accepted}
    for alert_id, (address, article_id, _, ref) in rows.items():
        assert ref in by_ref, f"alert {alert_id} marked sent with a ref the platform never gave: {ref}"
        assert (by_ref[ref].alert_id, by_ref[ref].destination, by_ref[ref].article_id) == (
            alert_id,
            address,
            article_id,
        )
    last_by_sender: dict[int, Acceptance] = {}
    for acceptance in accepted:
        last_by_sender[acceptance.sender] = acceptance
    killed = {kill.pid for kill in kills}
    uncommitted = [acceptance for acceptance in accepted if acceptance.ref not in committed]
    for acceptance in uncommitted:
        # One message in flight per process: only a kill after its acceptance and before its commit
        # can leave it unmarked, so it must be the last message that killed process sent.
        assert acceptance.sender in killed, f"a duplicate without a kill: {acceptance}"
        assert last_by_sender[acceptance.sender] is acceptance, f"a duplicate before the kill: {acceptance}"
    for kill in kills:
        # A process killed on its first message before the platform accepted it has no acceptance at all.
        last = last_by_sender.get(kill.pid)
        if kill.moment is Moment.AFTER_ACCEPTANCE:
            assert last in uncommitted, f"accepted, killed before the commit, yet marked sent: {kill}"
        if kill.moment is Moment.BEFORE_ACCEPTANCE:
            # The previous message's commit came before this send: no duplicate.
            assert last not in uncommitted, f"killed before an acceptance, yet re-sent: {kill}"
    return uncommitted


async def test_sigkill_during_delivery_loses_no_alert(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    database = tmp_path / "newsbot.db"
    database_url = f"sqlite+aiosqlite:///{database}"
    await queue_alerts(database_url, rng)
    expected = {(address, article_id) for (address, article_id, _, _) in outbox_rows(database).values()}
    assert len(expected) == ARTICLES * len(DESTINATIONS)

    kills: list[Kill] = []
    async with (
        RecorderServer() as platform,
        BotProcesses(database_url, platform.url, tmp_path / "bot.log") as bots,
    ):
        for index in range(KILLS):
            pid = await bots.start()
            delivered = {(a.destination, a.article_id) for a in platform.accepted}
            remaining = len(expected - delivered)
            # A random number of messages into this run, leaving enough undelivered for the kills to come.
            target = len(platform.accepted) + rng.randint(1, max(1, remaining // (KILLS - index + 1)))
            moment = list(Moment)[index % len(Moment)]
            if moment is Moment.RANDOM:
                await within(platform.wait_for_count(target), f"message {target} (seed {seed})")
                # Not a wait for something: a random delay is what makes the moment random.
                await asyncio.sleep(rng.uniform(0, 0.02))
            else:
                platform.hold(target, accept=moment is Moment.AFTER_ACCEPTANCE)
                await within(platform.holding.wait(), f"message {target} (seed {seed})")
            assert await bots.end(pid, signal.SIGKILL) == -signal.SIGKILL
            platform.release()
            kills.append(Kill(pid, moment))
            assert integrity(database) == "ok", f"after kill {index + 1} (seed {seed})"

        delivered_while_killing = len({(a.destination, a.article_id) for a in platform.accepted})
        pid = await bots.start()
        await bots.until_idle(pid, lambda: outbox_states(database) == {"sent": len(expected)})
        assert await bots.end(pid, signal.SIGTERM) == 0, bots.log_tail()
    assert integrity(database) == "ok"

    rows = outbox_rows(database)
    accepted = platform.accepted
    lost = expected - {(a.destination, a.article_id) for a in accepted}
    assert not lost, f"lost {len(lost)} alerts (seed {seed})"
    assert {state for (_, _, state, _) in rows.values()} == {"sent"}
    duplicates = duplicates_explained(accepted, rows, kills)
    assert len(accepted) == len(expected) + len(duplicates)

    moment_of = {kill.pid: kill.moment for kill in kills}
    figures: dict[str, object] = {
        "kills": len(kills),
        "alerts": len(expected),
        "destinations": len(DESTINATIONS),
        "accepted": len(accepted),
        "lost": len(lost),
        "duplicates": len(duplicates),
        "delivered_before_the_last_kill": delivered_while_killing,
    }
    for moment in Moment:
        figures[f"kills_{moment}"] = sum(kill.moment is moment for kill in kills)
        figures[f"duplicates_{moment}"] = sum(moment_of[d.sender] is moment for d in duplicates)
    figures |= {
        "seconds": round(time.monotonic() - started, 1),
        "seed": seed,
    }
    for name, value in figures.items():
        record_property(name, value)
    print("crash test:", ", ".join(f"{name}={value}" for name, value in figures.items()))
