"""TelegramChannel against the fake Bot API with the real python-telegram-bot: outcomes, pacing, holds, edits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.telegram.channel import GROUP_SPACING, PRIVATE_SPACING, TelegramChannel, delivery_rate_limiter
from bot.telegram.render import render_alert_html
from core.delivery import error_delay
from core.models import (
    Alert,
    Article,
    Destination,
    Platform,
    RetryLater,
    Sent,
    Snippet,
    TopicMatch,
    Unreachable,
)
from tests.fake_servers.telegram_api import (
    DEFAULT_TOKEN,
    TelegramApiServer,
    blocked,
    cant_parse_entities,
    chat_not_found,
    kicked,
    migrated,
    slow,
    too_many_requests,
)
from tests.fakes import InMemoryDestinations, VirtualClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ADMINS = (111, 222)
REPORTER = Destination(1, Platform.TELEGRAM, "4242", "Reporter")
DESK = Destination(2, Platform.TELEGRAM, "-1001234567890", "Desk")
GROUP = Destination(3, Platform.TELEGRAM, "-555", "Old group")
CSTO = TopicMatch("CSTO", ("CSTO",), "title", Snippet("CSTO drills <begin>", ((0, 4),)), topic_id=3)


def alert(
    alert_id: int, destination: Destination = REPORTER, attempts: int = 1, also_in: tuple[str, ...] = ()
) -> Alert:
    article = Article(
        100 + alert_id,
        1,
        "Tengrinews",
        f"CSTO drills <begin> #{alert_id}",
        f"https://tengrinews.kz/news/{alert_id}",
        "Lead",
        START,
        START,
    )
    return Alert(alert_id, destination, article, (CSTO,), also_in, attempts)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
async def bot(telegram_api: TelegramApiServer) -> AsyncIterator[Bot]:
    async with Bot(
        DEFAULT_TOKEN,
        base_url=f"{telegram_api.url}/bot",
        request=HTTPXRequest(read_timeout=0.5, connect_timeout=2),
    ) as bot:
        yield bot


@pytest.fixture
def destinations() -> InMemoryDestinations:
    return InMemoryDestinations(REPORTER, DESK, GROUP)


@pytest.fixture
def channel(bot: Bot, destinations: InMemoryDestinations, clock: VirtualClock) -> TelegramChannel:
    return TelegramChannel(bot, destinations, ADMINS, clock)


async def test_an_alert_is_sent_as_html_with_its_buttons_and_a_chat_message_ref(
    channel: TelegramChannel, telegram_api: TelegramApiServer
) -> None:
    outcome = await channel.send(REPORTER, alert(1))

    assert outcome == Sent("4242:1")
    (call,) = telegram_api.calls_of("sendMessage")
    rendered = render_alert_html(alert(1))
    assert (call.params["text"], call.params["parse_mode"]) == (rendered.text, "HTML")
    assert "&lt;begin&gt;" in call.params["text"]
    labels = [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [b.label for row in rendered.buttons for b in row]
    assert len(labels) == 3


async def test_a_flood_wait_holds_that_chat_only_and_no_request_goes_inside_it(
    channel: TelegramChannel, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    telegram_api.script("sendMessage", too_many_requests(17), chat_id=4242)

    first = await channel.send(REPORTER, alert(1))
    assert first == RetryLater(timedelta(seconds=17), "Telegram flood control: retry after 17 s", True)
    clock.advance(timedelta(seconds=5))
    inside = await channel.send(REPORTER, alert(2))
    other = await channel.send(DESK, alert(3, DESK))
    clock.advance(timedelta(seconds=12))
    after = await channel.send(REPORTER, alert(1))

    assert inside == RetryLater(timedelta(seconds=12), "chat paced", hold_destination=True)
    assert other == Sent("-1001234567890:1")
    assert after == Sent("4242:1")
    assert [(c.chat_id, c.status) for c in telegram_api.calls_of("sendMessage")] == [
        (4242, 429),
        (-1001234567890, 200),
        (4242, 200),
    ]


@pytest.mark.parametrize(("destination", "spacing"), [(REPORTER, PRIVATE_SPACING), (DESK, GROUP_SPACING)])
async def test_a_chat_is_paced_one_a_second_and_a_group_one_per_three_seconds(
    channel: TelegramChannel,
    telegram_api: TelegramApiServer,
    clock: VirtualClock,
    destination: Destination,
    spacing: timedelta,
) -> None:
    assert isinstance(await channel.send(destination, alert(1, destination)), Sent)
    clock.advance(timedelta(milliseconds=400))
    early = await channel.send(destination, alert(2, destination))
    clock.advance(spacing - timedelta(milliseconds=400))
    on_time = await channel.send(destination, alert(2, destination))

    assert early == RetryLater(spacing - timedelta(milliseconds=400), "chat paced", hold_destination=True)
    assert isinstance(on_time, Sent)
    assert len(telegram_api.calls_of("sendMessage")) == 2


async def test_a_blocked_chat_is_unreachable_and_each_admin_is_told_once(
    channel: TelegramChannel, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", blocked(), chat_id=4242)
    telegram_api.script("sendMessage", blocked(), chat_id=222)  # an admin who blocked the bot too

    outcome = await channel.send(REPORTER, alert(1))

    assert outcome == Unreachable("Forbidden: bot was blocked by the user")
    notices = telegram_api.calls_of("sendMessage", chat_id=111)
    assert len(notices) == 1
    assert "Reporter (4242)" in notices[0].params["text"]
    assert "paused" in notices[0].params["text"]
    assert len(telegram_api.calls_of("sendMessage", chat_id=222)) == 1


async def test_a_group_the_bot_was_removed_from_is_unreachable(
    channel: TelegramChannel, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", kicked(), chat_id=-1001234567890)
    outcome = await channel.send(DESK, alert(1, DESK))
    assert isinstance(outcome, Unreachable)
    assert "kicked" in outcome.reason


async def test_a_migrated_group_is_readdressed_and_the_alert_delivered_there(
    channel: TelegramChannel, telegram_api: TelegramApiServer, destinations: InMemoryDestinations
) -> None:
    telegram_api.script("sendMessage", migrated(-1009876543210), chat_id=-555)

    outcome = await channel.send(GROUP, alert(1, GROUP))

    assert outcome == Sent("-1009876543210:1")
    assert destinations.readdressed == [(GROUP.id, "-1009876543210")]
    assert [c.chat_id for c in telegram_api.calls_of("sendMessage")] == [-555, -1009876543210]


async def test_a_chat_that_keeps_migrating_is_followed_once(
    channel: TelegramChannel, telegram_api: TelegramApiServer, destinations: InMemoryDestinations
) -> None:
    telegram_api.script("sendMessage", migrated(-1009876543210), times=None)
    outcome = await channel.send(GROUP, alert(1, GROUP))
    assert isinstance(outcome, Unreachable)
    assert len(telegram_api.calls_of("sendMessage")) == 2


async def test_entities_telegram_cannot_parse_are_sent_once_more_as_plain_text(
    channel: TelegramChannel, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", cant_parse_entities())

    outcome = await channel.send(REPORTER, alert(1))

    assert outcome == Sent("4242:1")
    rejected, plain = telegram_api.calls_of("sendMessage")
    assert (rejected.status, rejected.params["parse_mode"]) == (400, "HTML")
    assert "parse_mode" not in plain.params
    assert plain.params["text"] == render_alert_html(alert(1)).plain
    assert plain.params["reply_markup"] == rejected.params["reply_markup"]


async def test_a_timeout_is_retried_later_never_lost(
    channel: TelegramChannel, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", slow(3))
    outcome = await channel.send(REPORTER, alert(1, attempts=3))
    assert isinstance(outcome, RetryLater)
    assert (outcome.after, outcome.hold_destination) == (error_delay(3), False)
    assert "TimedOut" in outcome.reason


async def test_a_chat_that_is_not_found_is_unreachable_and_the_admins_are_told(
    channel: TelegramChannel, telegram_api: TelegramApiServer
) -> None:
    telegram_api.script("sendMessage", chat_not_found(), chat_id=4242)
    assert await channel.send(REPORTER, alert(1)) == Unreachable("BadRequest: Chat not found")
    for admin in ADMINS:
        (notice,) = telegram_api.calls_of("sendMessage", chat_id=admin)
        assert "Reporter (4242) are paused" in notice.params["text"]


async def test_an_edit_rewrites_the_sent_alert(
    channel: TelegramChannel, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    assert await channel.send(DESK, alert(1, DESK)) == Sent("-1001234567890:1")
    clock.advance(GROUP_SPACING)
    later = alert(1, DESK, also_in=("Kazinform",))

    assert await channel.update(DESK, "-1001234567890:1", later) == Sent("-1001234567890:1")

    (message,) = telegram_api.sent_messages(-1001234567890)
    assert message["text"] == render_alert_html(later).text
    assert "Kazinform" in message["text"]
    assert message["reply_markup"]["inline_keyboard"]


async def test_an_unchanged_edit_counts_as_done_and_a_missing_message_as_unreachable(
    channel: TelegramChannel, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    assert await channel.send(REPORTER, alert(1)) == Sent("4242:1")
    clock.advance(PRIVATE_SPACING)
    assert await channel.update(REPORTER, "4242:1", alert(1)) == Sent("4242:1")
    clock.advance(PRIVATE_SPACING)
    gone = await channel.update(REPORTER, "4242:77", alert(1))
    assert gone == Unreachable("BadRequest: Message to edit not found")
    assert isinstance(await channel.update(REPORTER, "nonsense", alert(1)), Unreachable)


async def test_a_flood_wait_on_an_edit_holds_the_chat(
    channel: TelegramChannel, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    await channel.send(REPORTER, alert(1))
    clock.advance(PRIVATE_SPACING)
    telegram_api.script("editMessageText", too_many_requests(8))

    outcome = await channel.update(REPORTER, "4242:1", alert(1, also_in=("TASS",)))
    clock.advance(timedelta(seconds=7))
    inside = await channel.send(REPORTER, alert(2))

    assert outcome == RetryLater(timedelta(seconds=8), "Telegram flood control: retry after 8 s", True)
    assert inside == RetryLater(timedelta(seconds=1), "chat paced", hold_destination=True)


async def test_the_rate_limiter_raises_a_flood_wait_at_once_without_stalling_other_chats(
    telegram_api: TelegramApiServer,
) -> None:
    telegram_api.script("sendMessage", too_many_requests(30), chat_id=4242)
    async with ExtBot(
        DEFAULT_TOKEN, base_url=f"{telegram_api.url}/bot", rate_limiter=delivery_rate_limiter()
    ) as bot:
        channel = TelegramChannel(bot, InMemoryDestinations())
        started = time.monotonic()
        held = await channel.send(REPORTER, alert(1))
        other = await channel.send(DESK, alert(2, DESK))
        elapsed = time.monotonic() - started

    assert isinstance(held, RetryLater)
    assert held.hold_destination
    assert isinstance(other, Sent)
    assert elapsed < 2  # PTB would otherwise sleep the 30 s for every chat


async def test_the_rate_limiter_keeps_30_messages_a_second_overall(telegram_api: TelegramApiServer) -> None:
    async with ExtBot(
        DEFAULT_TOKEN, base_url=f"{telegram_api.url}/bot", rate_limiter=delivery_rate_limiter()
    ) as bot:
        started = time.monotonic()
        await asyncio.gather(*(bot.send_message(1000 + n, "x") for n in range(45)))
        elapsed = time.monotonic() - started
    # aiolimiter lets a full bucket of 30 through at once, then drains at 30 a second: the other
    # 15 need half a second more.
    assert elapsed >= 0.4


async def test_the_rate_limiter_keeps_20_messages_a_minute_per_group(telegram_api: TelegramApiServer) -> None:
    async with ExtBot(
        DEFAULT_TOKEN, base_url=f"{telegram_api.url}/bot", rate_limiter=delivery_rate_limiter()
    ) as bot:
        sends = [asyncio.create_task(bot.send_message(-1001234567890, f"m{n}")) for n in range(21)]
        done, waiting = await asyncio.wait(sends, timeout=1)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert (len(done), len(waiting)) == (20, 1)


async def test_an_edit_telegram_cannot_parse_is_made_as_plain_text_and_a_slow_one_retried(
    channel: TelegramChannel, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    await channel.send(REPORTER, alert(1))
    clock.advance(PRIVATE_SPACING)
    telegram_api.script("editMessageText", cant_parse_entities())
    later = alert(1, also_in=("TASS",))

    assert await channel.update(REPORTER, "4242:1", later) == Sent("4242:1")
    assert telegram_api.sent_messages(4242)[0]["text"] == render_alert_html(later).plain

    clock.advance(PRIVATE_SPACING)
    telegram_api.script("editMessageText", slow(3))
    slow_edit = await channel.update(REPORTER, "4242:1", alert(1, also_in=("TASS", "RIA")))
    assert isinstance(slow_edit, RetryLater)
    assert not slow_edit.hold_destination


async def test_a_digest_goes_out_in_pages_paced_like_any_message(
    bot: Bot, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    channel = TelegramChannel(bot, InMemoryDestinations(DESK), ADMINS, clock=clock, sleep=sleep)
    alerts = [alert(n, DESK) for n in range(1, 61)]

    outcome = await channel.send_digest(DESK, alerts)

    pages = telegram_api.calls_of("sendMessage")
    assert outcome == Sent(f"{DESK.address}:1")
    assert len(pages) >= 2
    assert all(call.params["parse_mode"] == "HTML" for call in pages)
    assert "Digest: 60 alerts" in pages[0].params["text"]
    shown = "".join(call.params["text"] for call in pages)
    assert all(f"<code>{100 + n}</code>" in shown for n in range(1, 61))
    # The desk is a group: each later page waited out its three-second pace, on the channel's clock.
    assert slept == [GROUP_SPACING.total_seconds()] * (len(pages) - 1)


async def test_a_digest_in_a_flood_wait_is_held_whole(
    bot: Bot, telegram_api: TelegramApiServer, clock: VirtualClock
) -> None:
    channel = TelegramChannel(bot, InMemoryDestinations(REPORTER), ADMINS, clock=clock)
    telegram_api.script("sendMessage", too_many_requests(12))

    outcome = await channel.send_digest(REPORTER, [alert(1), alert(2)])

    assert isinstance(outcome, RetryLater)
    assert (outcome.after, outcome.hold_destination) == (timedelta(seconds=12), True)
    assert await channel.send_digest(REPORTER, [alert(1), alert(2)]) == RetryLater(
        timedelta(seconds=12), "chat paced", hold_destination=True
    )
