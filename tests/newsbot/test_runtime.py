"""The long-running runtime: schedules polls and deliveries, prints alerts to the console, stops cleanly."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.models import OutletSpec
from newsbot.bootstrap import open_app
from newsbot.runtime import Runtime, poll_due_outlets
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
