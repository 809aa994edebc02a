"""The fake Bot API server speaks well enough for the real python-telegram-bot: answers, records, fails on script."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from tests.fake_servers.telegram_api import (
    DEFAULT_TOKEN,
    TelegramApiServer,
    blocked,
    callback_query,
    cant_parse_entities,
    migrated,
    my_chat_member,
    slow,
    text_message,
    too_many_requests,
)


@pytest.fixture
async def bot(telegram_api: TelegramApiServer) -> AsyncIterator[Bot]:
    bot = Bot(
        DEFAULT_TOKEN,
        base_url=f"{telegram_api.url}/bot",
        request=HTTPXRequest(read_timeout=2, connect_timeout=2),
        get_updates_request=HTTPXRequest(read_timeout=5, connect_timeout=2),
    )
    async with bot:
        yield bot


async def test_get_me_and_bot_identity(bot: Bot, telegram_api: TelegramApiServer) -> None:
    me = await bot.get_me()
    assert me.username == "newsbot_test_bot"
    assert me.id == 123456789
    assert telegram_api.calls_of("getMe")


async def test_send_message_returns_a_message_and_records_decoded_parameters(
    bot: Bot, telegram_api: TelegramApiServer
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Summary", callback_data="s:1")]])
    first = await bot.send_message(-1001, "<b>CSTO</b>", parse_mode=ParseMode.HTML, reply_markup=markup)
    second = await bot.send_message(-1001, "again")
    other = await bot.send_message(42, "private")

    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.id == -1001
    assert first.chat.type == "group"
    assert other.chat.type == "private"
    assert first.reply_markup == markup
    call = telegram_api.calls_of("sendMessage", chat_id=-1001)[0]
    assert call.params["text"] == "<b>CSTO</b>"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "s:1"
    assert [m["text"] for m in telegram_api.sent_messages(-1001)] == ["<b>CSTO</b>", "again"]


async def test_send_photo_accepts_a_multipart_upload(bot: Bot, telegram_api: TelegramApiServer) -> None:
    message = await bot.send_photo(42, photo=b"\x89PNG\r\n\x1a\nfake", caption="Trend")
    assert message.caption == "Trend"
    assert message.photo
    call = telegram_api.calls_of("sendPhoto")[0]
    assert call.params["photo"] == b"\x89PNG\r\n\x1a\nfake"
    assert call.params["chat_id"] == 42


async def test_edit_message_text_changes_the_message_and_knows_unchanged_and_missing(
    bot: Bot, telegram_api: TelegramApiServer
) -> None:
    sent = await bot.send_message(42, "old")
    edited = await bot.edit_message_text("new", chat_id=42, message_id=sent.message_id)
    assert isinstance(edited, type(sent))
    assert telegram_api.sent_messages(42)[0]["text"] == "new"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("new", chat_id=42, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("new", chat_id=42, message_id=99)


async def test_chat_member_status_is_what_the_test_set(bot: Bot, telegram_api: TelegramApiServer) -> None:
    for user_id, status in enumerate(["creator", "administrator", "member", "restricted", "kicked"], 1):
        telegram_api.set_member(-1001, user_id, status)
        member = await bot.get_chat_member(-1001, user_id)
        assert member.status == status
    assert (await bot.get_chat_member(-1001, 99)).status == ChatMemberStatus.LEFT


async def test_setup_methods_answer(bot: Bot, telegram_api: TelegramApiServer) -> None:
    assert await bot.set_my_commands([BotCommand("subscribe", "Subscribe to a topic")])
    assert telegram_api.commands == [{"command": "subscribe", "description": "Subscribe to a topic"}]
    assert await bot.set_webhook("https://bot.example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://bot.example.org/hook"
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert (await bot.get_chat(-1001)).type == "group"
    assert await bot.leave_chat(-1001)
    assert await bot.answer_callback_query("cq-1", text="Done")


async def test_get_updates_long_polls_until_an_update_is_pushed_and_honours_offset(
    bot: Bot, telegram_api: TelegramApiServer
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=3))
    await telegram_api.wait_for_call("getMe")  # the bot is initialised; the poll is on its way
    first_id = await telegram_api.push_update(text_message(42, 7, "/start"))
    updates = await poll
    assert [u.update_id for u in updates] == [first_id]
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"

    second_id = await telegram_api.push_update(callback_query(42, 7, "s:1"))
    again = await bot.get_updates(offset=first_id + 1, timeout=1)
    assert [u.update_id for u in again] == [second_id]
    assert again[0].callback_query is not None
    assert again[0].callback_query.data == "s:1"
    assert await bot.get_updates(offset=second_id + 1, timeout=0) == ()


async def test_a_long_poll_returns_promptly_when_the_server_stops(bot: Bot) -> None:
    server = TelegramApiServer()
    async with server:
        local = Bot(
            DEFAULT_TOKEN, base_url=f"{server.url}/bot", get_updates_request=HTTPXRequest(read_timeout=60)
        )
        poll = asyncio.create_task(local.get_updates(timeout=50))
        await server.wait_for_call("getUpdates", count=0)
        await asyncio.sleep(0)
    # The answer is an empty list, or the connection closes under it: either way it ends at once.
    async with asyncio.timeout(5):
        done, _ = await asyncio.wait([poll])
    assert poll in done
    assert poll.exception() is not None or poll.result() == ()


@pytest.mark.parametrize(
    ("fault", "raised", "detail"),
    [
        (too_many_requests(7), RetryAfter, "Retry in"),
        (blocked(), Forbidden, "bot was blocked by the user"),
        (cant_parse_entities(), BadRequest, "(?i)can.t parse entities"),
        (migrated(-1002), ChatMigrated, "migrated"),
    ],
)
async def test_scripted_failures_raise_what_telegram_would_make_ptb_raise(
    bot: Bot, telegram_api: TelegramApiServer, fault: object, raised: type[Exception], detail: str
) -> None:
    telegram_api.script("sendMessage", fault, chat_id=42)  # type: ignore[arg-type]
    await bot.send_message(43, "another chat is not scripted")
    with pytest.raises(raised, match=detail):
        await bot.send_message(42, "hello")
    assert (await bot.send_message(42, "one-shot: the next call succeeds")).message_id == 1


async def test_retry_after_and_migration_parameters_reach_ptb(
    bot: Bot, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", migrated(-1009), times=None)
    for _ in range(2):
        with pytest.raises(ChatMigrated) as caught:
            await bot.send_message(-5, "x")
        assert caught.value.new_chat_id == -1009
    assert [c.status for c in telegram_api.calls_of("sendMessage")] == [400, 400]


async def test_a_slow_answer_is_a_timeout_for_a_client_that_gives_up(
    bot: Bot, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", slow(5))
    with pytest.raises(TimedOut):
        await bot.send_message(42, "late", read_timeout=0.2)


async def test_calls_are_stamped_by_the_injected_clock() -> None:
    moment = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    async with TelegramApiServer(clock=lambda: moment) as server:
        async with Bot(DEFAULT_TOKEN, base_url=f"{server.url}/bot") as bot:
            message = await bot.send_message(42, "at a fixed time")
        assert message.date == moment
        assert {call.at for call in server.calls} == {moment}


async def test_a_wrong_token_is_unauthorized(telegram_api: TelegramApiServer) -> None:
    from telegram.error import InvalidToken

    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{telegram_api.url}/bot"):
            pass


async def test_pushed_update_builders_parse_as_ptb_updates(bot: Bot, telegram_api: TelegramApiServer) -> None:
    sent = await bot.send_message(-1001, "an alert")
    await telegram_api.push_update(text_message(-1001, 7, "my note", reply_to=sent.to_dict(), message_id=5))
    await telegram_api.push_update(text_message(-1001, 0, "/subscribe CSTO", sender_chat_id=-1001))
    await telegram_api.push_update(my_chat_member(-1001, 7, bot.id, "member", "kicked"))
    reply, anonymous, removed = await bot.get_updates(timeout=0)

    assert reply.message is not None
    assert reply.message.reply_to_message is not None
    assert reply.message.reply_to_message.message_id == sent.message_id
    assert anonymous.message is not None
    assert anonymous.message.sender_chat is not None
    assert anonymous.message.sender_chat.id == -1001
    assert anonymous.message.entities[0].type == "bot_command"
    assert removed.my_chat_member is not None
    assert removed.my_chat_member.new_chat_member.status == ChatMemberStatus.BANNED
