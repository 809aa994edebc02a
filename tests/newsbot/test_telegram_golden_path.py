"""Golden path: a journalist's Telegram session through the real runtime, fake feed and fake Bot API.

/start, /subscribe CSTO, a matching article is published, the alert arrives with its buttons,
Summary, To editors with a note (and again), /search CSTO — all through bootstrap's object graph.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.models import OutletSpec, Topic
from core.scheduling import SchedulePolicy
from newsbot.bootstrap import App, open_app
from newsbot.runtime import Runtime, poll_due_outlets
from newsbot.settings import FetchSettings, Secret, Settings, StorageSettings, TelegramSettings
from tests.fake_servers.feeds import FeedServer, Route, news_entry, rss
from tests.fake_servers.telegram_api import Call, TelegramApiServer, callback_query, text_message

JOURNALIST = 2002
ADMIN = 1001
EDITORS = -1001234567890
TITLE = "CSTO exercise starts in Kyrgyzstan"


def settings_for(tmp_path: Path, feed_url: str, api: TelegramApiServer) -> Settings:
    return Settings(
        storage=StorageSettings(f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}"),
        telegram=TelegramSettings(
            token=Secret(api.token), api_url=f"{api.url}/bot", admins=(ADMIN,), editors=(EDITORS,)
        ),
        fetch=FetchSettings(allow_private_networks=True),
        outlets=(OutletSpec("Local Wire", feed_url, interval=timedelta(seconds=1)),),
        topics=(Topic("CSTO", 'CSTO OR ОДКБ OR "Collective Security Treaty Organization"'),),
        schedule=SchedulePolicy(min_interval=timedelta(seconds=1)),
    )


@asynccontextmanager
async def running(app: App) -> AsyncIterator[Runtime]:
    runtime = Runtime(app, poll_tick=timedelta(seconds=0.2), delivery_tick=timedelta(seconds=0.1))
    task = asyncio.create_task(runtime.run())
    try:
        yield runtime
    finally:
        runtime.stop()
        await asyncio.wait_for(task, timeout=30)


async def eventually(check: Callable[[], Coroutine[Any, Any, bool]]) -> None:
    """Wait for a database condition that has no event to wait on (a row committed by another task)."""
    async with asyncio.timeout(20):
        while not await check():  # noqa: ASYNC110 (the row is committed by the runtime's delivery job)
            await asyncio.sleep(0.05)


async def call_after(api: TelegramApiServer, method: str, seen: int, chat_id: int | None = None) -> Call:
    """The first `method` call (to `chat_id`) after the `seen` ones recorded before."""
    async with asyncio.timeout(20):
        while len(api.calls_of(method, chat_id=chat_id)) <= seen:
            await api.wait_for_call(method, len(api.calls_of(method)) + 1, within=20)
    return api.calls_of(method, chat_id=chat_id)[seen]


def count(api: TelegramApiServer, method: str, chat_id: int | None = None) -> int:
    return len(api.calls_of(method, chat_id=chat_id))


async def say(api: TelegramApiServer, text: str, message_id: int, **more: Any) -> Call:
    """The journalist sends `text`; returns the bot's answer in their chat."""
    seen = count(api, "sendMessage", JOURNALIST)
    await api.push_update(text_message(JOURNALIST, JOURNALIST, text, message_id=message_id, **more))
    return await call_after(api, "sendMessage", seen, JOURNALIST)


async def press(api: TelegramApiServer, data: str, message: dict[str, Any], query_id: str) -> Call:
    seen = count(api, "answerCallbackQuery")
    await api.push_update(callback_query(JOURNALIST, JOURNALIST, data, message=message, query_id=query_id))
    return await call_after(api, "answerCallbackQuery", seen)


def buttons_of(message: dict[str, Any]) -> dict[str, str]:
    rows = message["reply_markup"]["inline_keyboard"]
    return {button["text"]: button["callback_data"] for row in rows for button in row}


async def test_a_journalist_subscribes_gets_an_alert_reads_the_summary_forwards_it_and_searches(
    tmp_path: Path, telegram_api: TelegramApiServer
) -> None:
    api = telegram_api
    async with FeedServer() as feeds:
        url = feeds.serve("/feed", Route(rss([news_entry(1, "Old CSTO story")])))
        async with open_app(settings_for(tmp_path, url, api), io.StringIO(), serve_chats=True) as app:
            (baseline,) = await poll_due_outlets(app, datetime.now(UTC))
            assert baseline.is_baseline  # the first read alerts nobody
            async with running(app):
                # /start and /subscribe CSTO in a private chat.
                started = await say(api, "/start", message_id=100)
                assert "newsbot" in started.params["text"]
                subscribed = await say(api, "/subscribe CSTO", message_id=101)
                assert "CSTO" in subscribed.params["text"]
                assert not subscribed.params["text"].startswith("Only")

                # A matching article is published; the alert arrives as HTML with three buttons.
                seen = count(api, "sendMessage", JOURNALIST)
                feeds.serve("/feed", Route(rss([news_entry(2, TITLE), news_entry(1, "Old CSTO story")])))
                alert_call = await call_after(api, "sendMessage", seen, JOURNALIST)
                assert alert_call.params["parse_mode"] == "HTML"
                assert TITLE in alert_call.params["text"]
                assert 'href="https://example.org/news/2"' in alert_call.params["text"]
                alert = api.sent_messages(JOURNALIST)[-1]
                buttons = buttons_of(alert)
                assert list(buttons) == ["Summary", "To editors", "Mute topic"]
                await eventually(lambda: sent_count(app, 1))

                # Summary: the lead, threaded under the alert.
                seen = count(api, "sendMessage", JOURNALIST)
                answered = await press(api, buttons["Summary"], alert, "cq-summary")
                assert answered.params["callback_query_id"] == "cq-summary"
                summary = await call_after(api, "sendMessage", seen, JOURNALIST)
                assert f"Report number 2: {TITLE}." in summary.params["text"]
                assert summary.params["reply_parameters"]["message_id"] == alert["message_id"]

                # To editors with a note: a text reply to the alert.
                confirmed = await say(api, "Worth a story for tomorrow", message_id=102, reply_to=alert)
                assert confirmed.params["text"] == "Sent to the editors with your note."
                (desk_post,) = api.calls_of("sendMessage", chat_id=EDITORS)
                posted = desk_post.params["text"]
                for expected in (TITLE, "Worth a story for tomorrow", f"User {JOURNALIST}"):
                    assert expected in posted

                # Pressing To editors again does not post twice.
                again = await press(api, buttons["To editors"], alert, "cq-forward")
                assert again.params["text"].startswith("Already sent to the editors by")
                assert len(api.calls_of("sendMessage", chat_id=EDITORS)) == 1

                # /search CSTO lists the article.
                found = await say(api, "/search CSTO", message_id=103)
                assert TITLE in found.params["text"]
                assert "Old CSTO story" in found.params["text"]
        # The journalist saw no error and nothing was left undelivered.
        assert not [call for call in api.calls if not call.ok and call.method != "getUpdates"]


async def sent_count(app: App, expected: int) -> bool:
    return (await app.outbox.count_by_state()).get("sent", 0) >= expected
