"""The crash test's bot process: the real runtime and outbox delivering through a channel to a recorder server.

Run as `python -m tests.newsbot.crash_worker DATABASE_URL RECORDER_URL`, it is a small fork server:
it imports newsbot once, then for each `run` line on stdin forks a child that runs the bot until it
is killed or stopped, and reports `started PID`, `exited PID CODE` and the child's `idle PID` (a
delivery pass found nothing due) as lines on stdout. Forking from a warm interpreter keeps twenty
restarts from costing twenty interpreter start-ups; each child is still a separate process that
SIGKILL ends at any instruction.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import traceback
from collections.abc import Collection
from datetime import datetime, timedelta

import aiohttp

from core.models import Alert, Destination, Platform, RetryLater, SendOutcome, Sent, Topic
from core.watchlist import compile_watchlist
from newsbot.bootstrap import open_app
from newsbot.runtime import Runtime
from newsbot.settings import Settings, StorageSettings
from storage.outbox import SqlOutbox

TOPIC = Topic("CSTO", "CSTO")
# A killed sender's rows come back after the lease; a second, not core's two minutes, keeps the test short.
SHORT_LEASE = timedelta(seconds=1)
DELIVERY_TICK = timedelta(seconds=0.2)


def crash_settings(database_url: str) -> Settings:
    """The settings the bot runs with; the test seeds the same database with the same topics."""
    return Settings(storage=StorageSettings(database_url), outlets=(), topics=(TOPIC,))


def announce(line: str) -> None:
    # One write per line: the fork server and its child share stdout, and short writes to a pipe are atomic.
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


class RecorderChannel:
    """core.ports.Channel posting each alert to the recorder; its 200 answer is the platform's acceptance."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = url

    async def send(self, destination: Destination, alert: Alert) -> SendOutcome:
        message = {
            "destination": destination.address,
            "alert": alert.id,
            "article": alert.article.id,
            "sender": os.getpid(),
        }
        async with self._session.post(self._url, json=message) as response:
            if response.status != 200:
                return RetryLater(timedelta(seconds=1), f"recorder answered {response.status}")
            answer = await response.json()
        return Sent(str(answer["ref"]))


class CrashTestOutbox(SqlOutbox):
    """The real SqlOutbox with a short lease, announcing each claim that finds nothing due."""

    async def claim_due(
        self,
        now: datetime,
        platforms: Collection[Platform],
        limit: int,
        lease: timedelta,
        per_destination: int = 1,
    ) -> list[Alert]:
        alerts = await super().claim_due(now, platforms, limit, SHORT_LEASE, per_destination)
        if not alerts:
            announce(f"idle {os.getpid()}")
        return alerts


async def run_bot(database_url: str, recorder_url: str) -> None:
    """The bot as `newsbot run` wires it, with the recorder as the chat platform for every chat."""
    async with (
        open_app(crash_settings(database_url), io.StringIO()) as app,
        aiohttp.ClientSession() as session,
    ):
        channel = RecorderChannel(session, recorder_url)
        app.channels.update({Platform.TELEGRAM: channel, Platform.SLACK: channel})
        app.outbox = CrashTestOutbox(app.engine)
        await Runtime(app, delivery_tick=DELIVERY_TICK).run()


def run_child(database_url: str, recorder_url: str) -> None:
    code = 0
    try:
        asyncio.run(run_bot(database_url, recorder_url))
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        # _exit: the child must not run the fork server's exit handlers or flush its buffers twice.
        os._exit(code)


def serve(database_url: str, recorder_url: str) -> None:
    """Fork one bot per `run` line on stdin and report its pid and, once it ends, its exit code."""
    # Every start would build the same normalisation tables (about a second); build them once, before forking.
    compile_watchlist(crash_settings(database_url).topics)
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        pid = os.fork()
        if pid == 0:
            run_child(database_url, recorder_url)
        announce(f"started {pid}")
        _, status = os.waitpid(pid, 0)
        announce(f"exited {pid} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(process)d %(levelname)s %(name)s: %(message)s")
    serve(sys.argv[1], sys.argv[2])
