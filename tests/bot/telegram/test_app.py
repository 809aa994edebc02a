"""The Telegram front-end with the real python-telegram-bot against the fake Bot API: updates in, replies out."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.commands import ChatKind, ChatRef, CommandRequest
from bot.replies import Answer, Image, Reply, plain
from bot.telegram.app import (
    BOT_COMMANDS,
    SORRY,
    TelegramConfig,
    TelegramFrontEnd,
    TelegramStartError,
    build_application,
)
from bot.telegram.desk import TelegramEditorsDesk
from core.models import Alert, Article, Destination, Forward, Platform
from newsbot.redaction import MASK, install_redaction
from tests.fake_servers.telegram_api import (
    Fault,
    TelegramApiServer,
    blocked,
    callback_query,
    cant_parse_entities,
    chat_json,
    my_chat_member,
    text_message,
    user_json,
)

ADMIN = 1001
JOURNALIST = 2002
GROUP = -1005550001
NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


@dataclass
class FakeCommands:
    """Records what the front-end asks; answers with the request's own terms so tests can read them."""

    requests: list[CommandRequest] = field(default_factory=list)
    presses: list[tuple[CommandRequest, str]] = field(default_factory=list)
    removed: list[ChatRef] = field(default_factory=list)
    added: list[ChatRef] = field(default_factory=list)
    membership_changed: asyncio.Event = field(default_factory=asyncio.Event)
    members: list[bool] = field(default_factory=list)
    failing: bool = False

    async def run(self, request: CommandRequest) -> Reply:
        self.requests.append(request)
        if self.failing:
            raise RuntimeError("the archive is on fire")
        if request.name == "trend":
            return Reply(lines=(plain("matches per day"),), image=Image(b"\x89PNG fake", "CSTO, 30 days"))
        if request.name == "subscribe":
            # Changing subscriptions in a group asks whether the caller administers it.
            allowed = await request.is_chat_admin()
            return Reply(lines=(plain(f"chat admin: {allowed}"),))
        return Reply(
            lines=(plain(f"{request.name} <{request.argument}> article {request.replied_article_id}"),),
            threaded=request.replied_article_id is not None,
        )

    async def press(self, request: CommandRequest, data: str) -> Answer:
        self.presses.append((request, data))
        if data.startswith("f:") and request.is_chat_member is not None:
            # Sending to the editors from a group needs a member of it.
            self.members.append(await request.is_chat_member())
            await request.is_chat_member()
        if self.failing:
            raise RuntimeError("the archive is on fire")
        return Answer(
            notice=f"pressed {data}",
            reply=Reply(lines=(plain(f"summary of {request.replied_article_id}"),), threaded=True),
        )

    async def chat_removed(self, chat: ChatRef) -> None:
        self.removed.append(chat)
        self.membership_changed.set()

    async def chat_added(self, chat: ChatRef) -> None:
        self.added.append(chat)
        self.membership_changed.set()

    async def membership_changes(self, count: int) -> None:
        """Wait until `count` additions and removals were handled (updates run concurrently)."""
        while len(self.added) + len(self.removed) < count:
            self.membership_changed.clear()
            await asyncio.wait_for(self.membership_changed.wait(), 10)


@dataclass
class FakeSentAlerts:
    articles: dict[str, int] = field(default_factory=dict)

    async def article_for_message(self, platform: Platform, ref: str) -> int | None:
        return self.articles.get(ref) if platform == Platform.TELEGRAM else None


@dataclass
class Harness:
    server: TelegramApiServer
    front_end: TelegramFrontEnd
    commands: FakeCommands
    sent_alerts: FakeSentAlerts

    async def reply_to(self, update: dict[str, Any], method: str = "sendMessage") -> dict[str, Any]:
        """Push an update and return the parameters of the next `method` call it causes."""
        before = len(self.server.calls_of(method))
        await self.server.push_update(update)
        calls = await self.server.wait_for_call(method, before + 1)
        return dict(calls[before].params)


def config_for(server: TelegramApiServer, **changes: Any) -> TelegramConfig:
    config = TelegramConfig(
        token=server.token,
        api_url=f"{server.url}/bot",
        admins=(ADMIN,),
        poll_timeout=timedelta(seconds=1),
    )
    return replace(config, **changes)


@asynccontextmanager
async def running(
    server: TelegramApiServer, commands: FakeCommands | None = None, **changes: Any
) -> AsyncIterator[Harness]:
    config = config_for(server, **changes)
    commands = commands or FakeCommands()
    sent_alerts = FakeSentAlerts()
    front_end = TelegramFrontEnd(build_application(config), commands, sent_alerts, config)
    harness = Harness(server, front_end, commands, sent_alerts)
    await harness.front_end.start()
    try:
        await asyncio.wait_for(harness.front_end.connected.wait(), 10)
        yield harness
    finally:
        await harness.front_end.stop_receiving()
        await harness.front_end.close()


async def test_a_command_reaches_commands_and_the_reply_comes_back_as_html(
    telegram_api: TelegramApiServer,
) -> None:
    async with running(telegram_api) as harness:
        sent = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/search  CSTO since:7d "))

    (request,) = harness.commands.requests
    assert (request.name, request.argument) == ("search", "CSTO since:7d")
    assert request.chat == ChatRef(Platform.TELEGRAM, str(JOURNALIST), f"User {JOURNALIST}", ChatKind.PRIVATE)
    assert (request.caller.user_id, request.caller.is_bot_admin) == (str(JOURNALIST), False)
    assert sent["chat_id"] == JOURNALIST
    assert sent["parse_mode"] == "HTML"
    assert "search &lt;CSTO since:7d&gt;" in sent["text"]  # text is escaped, never markup


async def test_the_command_menu_is_set_and_polling_replaces_any_webhook(
    telegram_api: TelegramApiServer,
) -> None:
    async with running(telegram_api):
        pass

    assert [c["command"] for c in telegram_api.commands] == [name for name, _ in BOT_COMMANDS]
    assert telegram_api.calls_of("deleteWebhook")
    assert telegram_api.calls_of("getUpdates")


async def test_commands_for_this_bot_by_name_are_taken_and_those_for_another_bot_ignored(
    telegram_api: TelegramApiServer,
) -> None:
    async with running(telegram_api) as harness:
        await telegram_api.push_update(text_message(GROUP, JOURNALIST, "/topics@other_bot", message_id=1))
        sent = await harness.reply_to(text_message(GROUP, ADMIN, "/Topics@NewsBot_Test_Bot", message_id=2))

    assert [(r.name, r.caller.is_bot_admin, r.chat.kind) for r in harness.commands.requests] == [
        ("topics", True, ChatKind.GROUP)
    ]
    assert sent["chat_id"] == GROUP


@pytest.mark.parametrize(
    ("status", "is_admin"),
    [
        ("creator", True),
        ("administrator", True),
        ("member", False),
        ("restricted", False),
        ("left", False),
        ("kicked", False),
        (None, False),  # getChatMember fails: closed
    ],
)
async def test_group_admin_rights_come_from_get_chat_member_and_fail_closed(
    telegram_api: TelegramApiServer, status: str | None, is_admin: bool
) -> None:
    if status is None:
        telegram_api.script("getChatMember", Fault(400, "Bad Request: member not found"), times=None)
    else:
        telegram_api.set_member(GROUP, JOURNALIST, status)
    async with running(telegram_api) as harness:
        sent = await harness.reply_to(text_message(GROUP, JOURNALIST, "/subscribe CSTO"))

    assert sent["text"] == f"chat admin: {is_admin}"
    (asked,) = telegram_api.calls_of("getChatMember")
    assert (asked.params["chat_id"], asked.params["user_id"]) == (GROUP, JOURNALIST)


async def test_an_anonymous_group_admin_and_a_private_chat_are_admins_without_asking(
    telegram_api: TelegramApiServer,
) -> None:
    async with running(telegram_api) as harness:
        anonymous = await harness.reply_to(
            text_message(GROUP, 0, "/subscribe CSTO", sender_chat_id=GROUP, message_id=1)
        )
        private = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/subscribe CSTO"))
        # Someone posting as another chat (a linked channel) is no admin of this group.
        other = await harness.reply_to(
            text_message(GROUP, 0, "/subscribe CSTO", sender_chat_id=-1009990001, message_id=2)
        )

    assert [anonymous["text"], private["text"], other["text"]] == [
        "chat admin: True",
        "chat admin: True",
        "chat admin: False",
    ]
    assert not telegram_api.calls_of("getChatMember")
    assert harness.commands.requests[0].caller.name == f"Chat {GROUP} (anonymous admin)"


async def test_a_text_reply_to_an_alert_forwards_it_with_the_note(telegram_api: TelegramApiServer) -> None:
    alert = {
        "message_id": 41,
        "date": 1_790_000_000,
        "chat": chat_json(GROUP),
        "from": user_json(telegram_api.bot_id, "Newsbot", is_bot=True),
        "text": "CSTO exercise starts",
    }
    async with running(telegram_api) as harness:
        harness.sent_alerts.articles[f"{GROUP}:41"] = 7
        sent = await harness.reply_to(
            text_message(GROUP, JOURNALIST, "Worth a story?", message_id=42, reply_to=alert)
        )
        # Replies to anything else are conversation, not commands.
        chatter = dict(alert, message_id=40)
        await telegram_api.push_update(
            text_message(GROUP, JOURNALIST, "agreed", message_id=43, reply_to=chatter)
        )
        summary = await harness.reply_to(
            text_message(GROUP, JOURNALIST, "/summary", message_id=44, reply_to=alert)
        )

    assert [(r.name, r.argument, r.replied_article_id) for r in harness.commands.requests] == [
        ("forward", "Worth a story?", 7),
        ("summary", "", 7),
    ]
    assert sent["reply_parameters"]["message_id"] == 41  # the threaded answer goes under the alert
    assert summary["reply_parameters"]["message_id"] == 41


async def test_a_button_press_is_answered_and_its_reply_threaded_under_the_alert(
    telegram_api: TelegramApiServer,
) -> None:
    pressed = {"message_id": 9, "date": 1_790_000_000, "chat": chat_json(JOURNALIST), "text": "alert"}
    async with running(telegram_api) as harness:
        harness.sent_alerts.articles[f"{JOURNALIST}:9"] = 12
        await telegram_api.push_update(callback_query(JOURNALIST, JOURNALIST, "s:12", message=pressed))
        (answered,) = await telegram_api.wait_for_call("answerCallbackQuery")
        (reply,) = await telegram_api.wait_for_call("sendMessage")

    ((request, data),) = harness.commands.presses
    assert (data, request.name, request.replied_article_id) == ("s:12", "", 12)
    assert answered.params == {"callback_query_id": "cq-1", "text": "pressed s:12"}
    assert reply.params["text"] == "summary of 12"
    assert reply.params["reply_parameters"]["message_id"] == 9


async def test_failures_get_a_polite_line_and_the_bot_keeps_going(telegram_api: TelegramApiServer) -> None:
    commands = FakeCommands(failing=True)
    async with running(telegram_api, commands) as harness:
        failed = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/status"))
        await telegram_api.push_update(callback_query(JOURNALIST, JOURNALIST, "s:1", query_id="cq-9"))
        (answered,) = await telegram_api.wait_for_call("answerCallbackQuery")
        commands.failing = False
        recovered = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/status", message_id=2))

    assert failed["text"] == SORRY
    assert answered.params == {
        "callback_query_id": "cq-9",
        "text": SORRY,
    }  # a failing press is still answered
    assert recovered["text"] == "status &lt;&gt; article None"


async def test_a_chart_is_sent_as_a_photo(telegram_api: TelegramApiServer) -> None:
    async with running(telegram_api) as harness:
        photo = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/trend CSTO"), "sendPhoto")
        await telegram_api.wait_for_call("sendMessage")

    assert photo["photo"] == b"\x89PNG fake"
    assert photo["caption"] == "CSTO, 30 days"


@pytest.mark.parametrize(
    ("status", "is_member"),
    [
        ("creator", True),
        ("administrator", True),
        ("member", True),
        ("restricted", True),
        ("left", False),
        ("kicked", False),
    ],
)
async def test_a_button_pressed_in_a_group_asks_whether_the_presser_belongs_to_it(
    telegram_api: TelegramApiServer, status: str, is_member: bool
) -> None:
    telegram_api.set_member(GROUP, JOURNALIST, status)
    async with running(telegram_api) as harness:
        await telegram_api.push_update(callback_query(GROUP, JOURNALIST, "f:3"))
        await telegram_api.wait_for_call("answerCallbackQuery")

    assert harness.commands.members == [is_member]
    assert len(telegram_api.calls_of("getChatMember")) == 1  # asked once, remembered


async def test_removal_stops_a_chat_and_being_added_enables_it(telegram_api: TelegramApiServer) -> None:
    bot = telegram_api.bot_id
    async with running(telegram_api) as harness:
        await telegram_api.push_update(my_chat_member(GROUP, ADMIN, bot, "left", "member"))
        await telegram_api.push_update(my_chat_member(GROUP, ADMIN, bot, "member", "kicked"))
        await telegram_api.push_update(my_chat_member(JOURNALIST, JOURNALIST, bot, "member", "kicked"))
        await harness.commands.membership_changes(3)

    assert [(chat.address, chat.kind) for chat in harness.commands.added] == [(str(GROUP), ChatKind.GROUP)]
    assert {(chat.address, chat.kind) for chat in harness.commands.removed} == {
        (str(GROUP), ChatKind.GROUP),
        (str(JOURNALIST), ChatKind.PRIVATE),
    }


async def test_failing_start_up_calls_are_logged_in_one_line_and_the_bot_still_answers(
    telegram_api: TelegramApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    telegram_api.script("setMyCommands", Fault(500, "Internal Server Error"))
    telegram_api.script("deleteWebhook", Fault(502, "Bad Gateway"))
    with caplog.at_level(logging.WARNING, logger="bot.telegram"):
        async with running(telegram_api) as harness:
            sent = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/help"))

    assert sent["text"] == "help &lt;&gt; article None"
    problems = [record for record in caplog.records if record.name.startswith("bot.telegram")]
    assert [record.getMessage().split(":")[0] for record in problems] == [
        "telegram setMyCommands failed, the command menu is not updated",
        "telegram updates not started, retrying in 1s",
    ]
    assert all(record.exc_info is None for record in problems)


async def test_an_unreachable_bot_api_at_start_up_is_retried_and_does_not_stop_newsbot(
    telegram_api: TelegramApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    telegram_api.script("getMe", Fault(502, "Bad Gateway"))
    with caplog.at_level(logging.WARNING, logger="bot.telegram"):
        async with running(telegram_api) as harness:  # start() returned; getMe succeeded a second later
            sent = await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/help"))

    assert sent["text"] == "help &lt;&gt; article None"
    assert len(telegram_api.calls_of("getMe")) == 2
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.name.startswith("bot.telegram")] == [
        "telegram unreachable at start-up, retrying in the background"
    ]


async def test_webhook_mode_registers_the_url_and_takes_updates_posted_with_the_secret(
    telegram_api: TelegramApiServer,
) -> None:
    url = "https://bot.example.org/telegram/updates"
    secret = "webhook-secret_1"
    async with running(telegram_api, webhook_url=url, webhook_port=0, webhook_secret=secret) as harness:
        (registered,) = telegram_api.calls_of("setWebhook")
        local = f"http://127.0.0.1:{harness.front_end.webhook_port}/telegram/updates"
        update = text_message(JOURNALIST, JOURNALIST, "/topics") | {"update_id": 500}
        async with aiohttp.ClientSession() as session:
            async with session.post(local, json=update) as forged:
                assert forged.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with session.post(local, data=b"{not json", headers=headers) as broken:
                assert broken.status == 400
            async with session.post(local, json=update, headers=headers) as accepted:
                assert accepted.status == 200
        (sent,) = await telegram_api.wait_for_call("sendMessage")

    assert registered.params["url"] == url
    assert registered.params["secret_token"] == secret
    assert not telegram_api.calls_of("getUpdates")
    assert [r.name for r in harness.commands.requests] == ["topics"]
    assert sent.params["text"] == "topics &lt;&gt; article None"


async def test_the_token_never_appears_in_logs_even_at_debug(telegram_api: TelegramApiServer) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_redaction([telegram_api.token], [handler])
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with running(telegram_api) as harness:
            await harness.reply_to(text_message(JOURNALIST, JOURNALIST, "/help"))
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)

    logged = stream.getvalue()
    assert "sendMessage" in logged  # httpx logged the request URLs…
    assert f"/bot{MASK}/sendMessage" in logged  # …with the token masked
    assert telegram_api.token not in logged


async def test_a_refused_token_stops_start_up_with_a_line_that_does_not_quote_it(
    telegram_api: TelegramApiServer,
) -> None:
    config = replace(config_for(telegram_api), token="987654:not-the-token")
    front_end = TelegramFrontEnd(build_application(config), FakeCommands(), FakeSentAlerts(), config)

    with pytest.raises(TelegramStartError) as error:
        await front_end.start()

    assert str(error.value) == "Telegram refused the bot token (NEWSBOT_TELEGRAM_TOKEN)"
    assert "not-the-token" not in repr(error.value)


async def test_html_telegram_cannot_parse_is_sent_once_more_as_plain_text(
    telegram_api: TelegramApiServer,
) -> None:
    telegram_api.script("sendMessage", cant_parse_entities())
    async with running(telegram_api) as harness:
        await harness.server.push_update(text_message(JOURNALIST, JOURNALIST, "/status"))
        refused, plain_text = await telegram_api.wait_for_call("sendMessage", 2)

    assert (refused.ok, refused.params["parse_mode"]) == (False, "HTML")
    assert plain_text.ok
    assert "parse_mode" not in plain_text.params
    assert plain_text.params["text"] == "status <> article None"


async def test_the_editors_desk_posts_to_every_editors_chat_and_counts_those_that_got_it(
    telegram_api: TelegramApiServer,
) -> None:
    telegram_api.script("sendMessage", blocked(), chat_id=-1002)
    chat = Destination(1, Platform.TELEGRAM, str(JOURNALIST), "Aida")
    article = Article(7, 1, "Local Wire", "CSTO exercise starts", "https://example.org/7", "Lead.", None, NOW)
    forward = Forward(Alert(0, chat, article, ()), "Aida (@aida)", "Aida", note="Worth a story")
    application = build_application(config_for(telegram_api))
    async with application.bot as bot:
        posted = await TelegramEditorsDesk(bot, (-1001, -1002, -1003)).post(forward)

    assert posted == 2
    delivered = telegram_api.calls_of("sendMessage", ok=True)
    assert [call.chat_id for call in delivered] == [-1001, -1003]
    for expected in ("CSTO exercise starts", "Forwarded by <b>Aida", "Worth a story"):
        assert expected in delivered[0].params["text"]
