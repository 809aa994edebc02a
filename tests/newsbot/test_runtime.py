"""The long-running runtime: schedules polls and deliveries, prints alerts to the console, stops cleanly."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.digest import QuietHours
from core.models import ArticleText, Failed, NotModified, Outlet, OutletKind, OutletSpec, OutletState, Topic
from core.polling import PollReport
from core.scheduling import SchedulePolicy, state_after_poll
from newsbot.bootstrap import open_app
from newsbot.runtime import (
    Runtime,
    deliver_everything_due,
    log_poll_problems,
    poll_due_outlets,
    refresh_watchlist,
)
from newsbot.settings import FetchSettings, Settings, StorageSettings
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.newsbot.test_cli import REPO


class WatchedStream(io.StringIO):
    """A console stream that lets a test wait for a line instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        self.changed.set()
        return written

    async def wait_for(self, needle: str) -> None:
        while needle not in self.getvalue():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), timeout=20)


async def test_runtime_alerts_new_matches_on_the_console(tmp_path: Path) -> None:
    async with FeedServer() as server:
        url = server.serve("/feed", Route(rss([news_entry(1, "Old CSTO story")])))
        settings = Settings(
            storage=StorageSettings(f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}"),
            fetch=FetchSettings(allow_private_networks=True),
            outlets=(OutletSpec("Local", url, interval=timedelta(seconds=1)),),
            schedule=SchedulePolicy(min_interval=timedelta(seconds=1)),
        )
        console = WatchedStream()
        async with open_app(settings, console) as app:
            (baseline,) = await poll_due_outlets(app, datetime.now(UTC))
            assert baseline.is_baseline
            server.serve(
                "/feed", Route(rss([news_entry(2, "CSTO exercise starts"), news_entry(1, "Old CSTO story")]))
            )

            runtime = Runtime(app, poll_tick=timedelta(seconds=0.2), delivery_tick=timedelta(seconds=0.1))
            running = asyncio.create_task(runtime.run())
            await console.wait_for("CSTO exercise starts")
            runtime.stop()
            await asyncio.wait_for(running, timeout=20)
            assert await app.outbox.count_by_state() == {"sent": 1}
    printed = console.getvalue()
    assert printed.count("CSTO exercise starts") == 1
    assert "Old CSTO story" not in printed
    assert "[CSTO]" in printed


async def test_run_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "newsbot.toml").write_text("outlets = []\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "newsbot", "run", cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    while b"newsbot running" not in await asyncio.wait_for(process.stderr.readline(), timeout=30):
        pass
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert b"newsbot stopped" in rest
    assert b"Traceback" not in rest


def test_failures_and_deactivations_are_logged_as_warnings_with_the_outlet_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    failing = Outlet(3, "Failing", "https://failing.example/rss", OutletKind.FEED, timedelta(minutes=5))
    dead = replace(failing, id=4, name="Dead", state=OutletState(consecutive_failures=49))
    reports = [
        PollReport(outlet, Failed("HTTP 500"), state=state_after_poll(outlet, Failed("HTTP 500"), now, 0.0))
        for outlet in (failing, dead)
    ]
    reports.append(PollReport(replace(dead, id=5, name="Fine"), NotModified()))

    with caplog.at_level(logging.WARNING, logger="newsbot.runtime"):
        log_poll_problems(reports)

    assert [record.getMessage() for record in caplog.records] == [
        "outlet failed: Failing: HTTP 500",
        "outlet failed: Dead: HTTP 500",
        "outlet deactivated: Dead (id 4): 50 failures in a row, the last: HTTP 500",
    ]
    assert caplog.records[-1].__dict__["outlet_id"] == 4


async def test_topics_added_to_the_archive_are_matched_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        storage=StorageSettings(f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}"),
        outlets=(),
        topics=(Topic("CSTO", "CSTO"),),
    )
    async with open_app(settings, io.StringIO()) as app:
        compiled = app.watchlist
        await refresh_watchlist(app)
        assert app.watchlist is compiled  # unchanged topics: no recompile

        # Another worker (or a chat command) adds a topic and subscribes a destination to it.
        now = datetime.now(UTC)
        await app.catalog.sync_topics([Topic("JICA", "JICA OR ДЖАЙКА")], now)
        assert app.console is not None
        await app.catalog.subscribe(app.console.id, ["JICA"], now)
        await refresh_watchlist(app)
        assert [match.topic for match in app.watchlist.match(ArticleText("ДЖАЙКА grants"))] == ["JICA"]

        # A malformed query keeps the watchlist that works, with one warning naming the problem.
        await app.catalog.sync_topics([Topic("JICA", '"unclosed')], now)
        with caplog.at_level(logging.WARNING, logger="newsbot.runtime"):
            await refresh_watchlist(app)
        assert [match.topic for match in app.watchlist.match(ArticleText("JICA grants"))] == ["JICA"]
        assert "topics not recompiled" in caplog.text


async def test_runtime_holds_alerts_in_quiet_hours_and_sends_them_as_a_digest_when_released(
    tmp_path: Path,
) -> None:
    async with FeedServer() as server:
        url = server.serve("/feed", Route(rss([news_entry(1, "Old CSTO story")])))
        settings = Settings(
            storage=StorageSettings(f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}"),
            fetch=FetchSettings(allow_private_networks=True),
            outlets=(OutletSpec("Local", url, interval=timedelta(seconds=1)),),
            schedule=SchedulePolicy(min_interval=timedelta(seconds=1)),
        )
        console = WatchedStream()
        async with open_app(settings, console) as app:
            assert app.console is not None
            now = datetime.now(UTC)
            quiet = QuietHours((now - timedelta(hours=1)).time(), (now + timedelta(hours=2)).time())
            await app.plans.set_quiet(app.console.id, quiet)
            await poll_due_outlets(app, now)
            server.serve(
                "/feed", Route(rss([news_entry(2, "CSTO exercise starts"), news_entry(1, "Old CSTO story")]))
            )
            (report,) = await poll_due_outlets(app, now + timedelta(seconds=5))
            assert report.alerts_queued == 1
            await deliver_everything_due(app)
            assert console.getvalue() == ""  # held: quiet hours

            runtime = Runtime(app, poll_tick=timedelta(hours=1), delivery_tick=timedelta(seconds=0.1))
            running = asyncio.create_task(runtime.run())
            await app.plans.set_quiet(app.console.id, None)  # `quiet off`: the night's alerts at once
            await console.wait_for("CSTO exercise starts")
            runtime.stop()
            await asyncio.wait_for(running, timeout=20)
            assert await app.outbox.count_by_state() == {"sent": 1}
    assert console.getvalue().startswith("=== Digest: 1 alert ===\n\n[CSTO] CSTO exercise starts")
