"""Chat command semantics (bot.commands) on SQLite and PostgreSQL, with fakes for desk, probe and plans."""

from __future__ import annotations

import io
from datetime import time, timedelta

import pytest
from PIL import Image as PillowImage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import callbacks
from bot.commands import COMMANDS, FAILED, MAX_SUBSCRIPTIONS, STALE_BUTTON, ChatKind, ChatRef
from bot.replies import Reply, Style
from bot.searches import SearchStore
from core.digest import DeliveryPlan, DigestMode, QuietHours
from core.models import (
    OutletFound,
    OutletKind,
    OutletRefused,
    Platform,
    ProbeResult,
)
from tests.bot.newsroom import (
    CHANNEL,
    GROUP,
    JOURNALIST,
    NOW,
    OPERATOR,
    PRIVATE,
    Newsroom,
    open_newsroom,
    request,
    text_of,
)
from tests.fakes import RecordingDesk


@pytest.fixture
async def room(engine: AsyncEngine) -> Newsroom:
    return await open_newsroom(engine)


def buttons_of(reply: Reply) -> list[callbacks.Callback]:
    decoded = [callbacks.decode(button.data) for row in reply.buttons for button in row]
    assert None not in decoded
    return [callback for callback in decoded if callback is not None]


async def press(room: Newsroom, chat: ChatRef, data: str, **options: object) -> str:
    answer = await room.commands.press(request(chat, "", **options), data)  # type: ignore[arg-type]
    assert answer.reply is None or answer.notice == ""
    return answer.notice or text_of(answer.reply or Reply())


async def destination_id(room: Newsroom, chat: ChatRef) -> int:
    destination = await room.catalog.find_destination(chat.platform, chat.address)
    assert destination is not None
    return destination.id


async def followed(room: Newsroom, chat: ChatRef) -> list[str]:
    destination = await room.catalog.find_destination(chat.platform, chat.address)
    if destination is None:
        return []
    return [topic.name for topic in await room.catalog.subscriptions_of(destination.id)]


# ---- start, help, unknown commands ----


async def test_help_names_every_command_and_the_chats_subscriptions(room: Newsroom) -> None:
    await room.run(PRIVATE, "subscribe CSTO")
    reply = await room.run(PRIVATE, "help")
    text = text_of(reply)
    for name in COMMANDS:
        assert f"/{name}" in text
    assert "This chat follows: CSTO" in text
    assert not reply.is_error


async def test_start_enables_a_chat_that_removed_the_bot_and_came_back(room: Newsroom) -> None:
    outlet = await room.outlet("Tengrinews")
    await room.run(GROUP, "subscribe CSTO")
    await room.commands.chat_removed(GROUP)
    await room.publish(outlet, 1, "CSTO summit opens", alert=True)
    assert await room.queued_for(GROUP) == 0

    reply = await room.run(GROUP, "start", admin=False)
    assert "This chat follows: CSTO" in text_of(reply)
    await room.publish(outlet, 2, "CSTO summit closes", alert=True)
    assert await room.queued_for(GROUP) == 1


async def test_unknown_commands_get_one_line_with_the_closest_command(room: Newsroom) -> None:
    reply = await room.run(PRIVATE, "subscirbe CSTO")
    assert reply.is_error
    assert len(reply.lines) == 1
    assert text_of(reply) == "Unknown command /subscirbe. Did you mean /subscribe?"
    assert "/help" in text_of(await room.run(PRIVATE, "xyzzy"))


async def test_a_failing_port_is_one_line_not_a_traceback(engine: AsyncEngine) -> None:
    class BrokenProbe:
        async def probe(self, url: str) -> ProbeResult:
            raise RuntimeError("boom")

    room = await open_newsroom(engine, probe=BrokenProbe())
    reply = await room.run(PRIVATE, "addoutlet https://new.example/feed", OPERATOR)
    assert reply.is_error
    assert text_of(reply) == FAILED


# ---- subscriptions ----


async def test_subscribe_finds_a_known_topic_whatever_its_case(room: Newsroom) -> None:
    assert (
        text_of(await room.run(PRIVATE, "subscribe csto")) == "Subscribed: this chat gets alerts about CSTO."
    )
    assert text_of(await room.run(PRIVATE, "subscribe CSTO")) == "This chat already follows CSTO."
    assert await followed(room, PRIVATE) == ["CSTO"]


async def test_subscribe_to_a_query_makes_a_topic_that_is_watched(room: Newsroom) -> None:
    reply = await room.run(PRIVATE, 'subscribe Tokayev AND "Astana"')
    assert not reply.is_error
    assert await followed(room, PRIVATE) == ['Tokayev AND "Astana"']
    watched = await room.catalog.watched_topics([])
    assert [(topic.name, topic.query) for topic in watched] == [('Tokayev AND "Astana"',) * 2]


async def test_one_chat_follows_at_most_fifty_topics(room: Newsroom) -> None:
    for number in range(MAX_SUBSCRIPTIONS):
        assert not (await room.run(PRIVATE, f"subscribe lead{number}")).is_error

    refused = text_of(await room.run(PRIVATE, "subscribe one_more"))

    assert refused == "This chat follows 50 topics, the most one chat may: unsubscribe from one first."
    assert len(await followed(room, PRIVATE)) == MAX_SUBSCRIPTIONS
    assert text_of(await room.run(PRIVATE, "subscribe lead0")) == "This chat already follows lead0."


async def test_subscribe_to_a_malformed_query_says_where_it_broke(room: Newsroom) -> None:
    reply = await room.run(PRIVATE, "subscribe (CSTO OR")
    assert reply.is_error
    assert len(reply.lines) == 1
    assert "at position" in text_of(reply)
    assert await followed(room, PRIVATE) == []
    assert [topic.name for topic in await room.catalog.known_topics()] == ["CSTO", "SCO"]


async def test_subscribe_without_a_topic_offers_the_topics_as_buttons(room: Newsroom) -> None:
    await room.run(PRIVATE, "subscribe SCO")
    reply = await room.run(PRIVATE, "subscribe")
    labels = [button.label for row in reply.buttons for button in row]
    assert labels == ["CSTO", "✓ SCO"]
    assert [(c.action, c.number) for c in buttons_of(reply)] == [
        (callbacks.Action.SUBSCRIBE, room.topics["CSTO"].id),
        (callbacks.Action.SUBSCRIBE, room.topics["SCO"].id),
    ]
    notice = await press(room, PRIVATE, reply.buttons[0][0].data)
    assert notice == "Subscribed: this chat gets alerts about CSTO."
    assert await followed(room, PRIVATE) == ["CSTO", "SCO"]


async def test_unsubscribe_and_the_mute_button_stop_a_topic(room: Newsroom) -> None:
    await room.run(GROUP, "subscribe CSTO")
    await room.run(GROUP, "subscribe SCO")
    assert text_of(await room.run(GROUP, "unsubscribe sco")) == "Unsubscribed: no more alerts about SCO here."
    assert text_of(await room.run(GROUP, "unsubscribe SCO")) == "This chat does not follow SCO."
    assert (await room.run(GROUP, "unsubscribe Nothing")).is_error
    assert "This chat follows: CSTO." in text_of(await room.run(GROUP, "unsubscribe"))
    mute = callbacks.mute(room.topics["CSTO"].id).encode()
    assert await press(room, GROUP, mute) == "Unsubscribed: no more alerts about CSTO here."
    assert await followed(room, GROUP) == []


async def test_topics_lists_subscriptions_and_the_delivery_mode(room: Newsroom) -> None:
    assert "follows no topic" in text_of(await room.run(PRIVATE, "topics"))
    await room.run(PRIVATE, "subscribe CSTO")
    await room.run(PRIVATE, "digest daily 08:30")
    text = text_of(await room.run(PRIVATE, "topics"))
    assert "CSTO — CSTO OR ОДКБ" in text
    assert "Delivery: a daily digest at 08:30 (UTC)." in text


async def test_chat_removed_stops_its_alerts(room: Newsroom) -> None:
    await room.run(GROUP, "subscribe CSTO")
    await room.commands.chat_removed(GROUP)
    assert await room.catalog.watched_topics([]) == []  # no enabled chat follows anything
    await room.publish(await room.outlet("TASS"), 1, "CSTO summit", alert=True)
    assert await room.queued_for(GROUP) == 0
    await room.commands.chat_removed(ChatRef(Platform.TELEGRAM, "-999", "never seen", ChatKind.GROUP))


# ---- delivery modes ----


async def test_digest_and_quiet_set_the_chats_plan(room: Newsroom) -> None:
    assert text_of(await room.run(PRIVATE, "digest hourly")) == "This chat now gets an hourly digest."
    reply = await room.run(PRIVATE, "quiet 22:00-07:00")
    assert text_of(reply) == "This chat now gets an hourly digest; quiet 22:00–07:00 (UTC)."
    plan = room.plans.plans[await destination_id(room, PRIVATE)]
    assert plan == DeliveryPlan(DigestMode.HOURLY, None, QuietHours(time(22), time(7)))
    await room.run(PRIVATE, "digest daily 7:05")
    await room.run(PRIVATE, "quiet off")
    assert room.plans.plans[plan_key := await destination_id(room, PRIVATE)] == DeliveryPlan(
        DigestMode.DAILY, time(7, 5), None
    )
    await room.run(PRIVATE, "digest off")
    assert room.plans.plans[plan_key].digest is DigestMode.OFF


@pytest.mark.parametrize(
    "text",
    [
        "digest weekly",
        "digest daily",
        "digest daily 25:00",
        "digest hourly 08:00",
        "quiet 22:00",
        "quiet 8-9",
    ],
)
async def test_bad_delivery_modes_get_one_line_and_change_nothing(room: Newsroom, text: str) -> None:
    reply = await room.run(PRIVATE, text)
    assert reply.is_error
    assert len(reply.lines) == 1
    assert "Usage: /" in text_of(reply)
    assert room.plans.plans == {}


async def test_digest_and_quiet_without_argument_say_the_current_mode(room: Newsroom) -> None:
    assert "Now: every alert as it comes." in text_of(await room.run(PRIVATE, "digest"))
    assert "Now: every alert as it comes." in text_of(await room.run(PRIVATE, "quiet"))


# ---- search ----


async def test_search_shows_ten_a_page_with_paging_buttons(room: Newsroom) -> None:
    outlet = await room.outlet("Kazinform")
    for number in range(25):
        await room.publish(outlet, number, f"CSTO drill number {number}", days_ago=number / 100)
    first = await room.run(GROUP, "search CSTO since:7d", admin=False)
    assert text_of(first).startswith("Results 1–10 for CSTO since:7d:")
    assert "CSTO drill number 0" in text_of(first)
    assert "number 10" not in text_of(first)
    assert any(span.style is Style.MARK and span.text == "CSTO" for line in first.lines for span in line)
    (older,) = buttons_of(first)
    assert older.action is callbacks.Action.PAGE

    second = await room.commands.press(request(GROUP, "", admin=False), older.encode())
    assert second.reply is not None
    assert text_of(second.reply).startswith("Results 11–20")
    newer, older = buttons_of(second.reply)
    assert [newer.argument[-2:], older.argument[-2:]] == [".0", ".2"]

    third = await room.commands.press(request(GROUP, "", admin=False), older.encode())
    assert third.reply is not None
    assert text_of(third.reply).startswith("Results 21–25")
    assert [c.argument[-2:] for c in buttons_of(third.reply)] == [".1"]


async def test_an_expired_or_foreign_search_says_run_it_again(engine: AsyncEngine) -> None:
    room = await open_newsroom(engine, searches=SearchStore(capacity=1))
    outlet = await room.outlet("TASS")
    for number in range(12):
        await room.publish(outlet, number, f"CSTO item {number}")
    (older,) = buttons_of(await room.run(PRIVATE, "search CSTO"))
    assert "expired" in await press(room, GROUP, older.encode())  # another chat's search
    await room.run(PRIVATE, "search SCO OR CSTO")  # pushes the first out of a store of one
    assert await press(room, PRIVATE, older.encode()) == "This search has expired; run /search again."
    assert len(room.searches) == 1


async def test_search_errors_are_one_line(room: Newsroom) -> None:
    assert "Usage: /search QUERY" in text_of(await room.run(PRIVATE, "search"))
    reply = await room.run(PRIVATE, "search CSTO since:forever")
    assert reply.is_error
    assert "at position" in text_of(reply)
    assert len(room.searches) == 0
    assert text_of(await room.run(PRIVATE, "search nothing-like-this")) == "No archived article matches."


# ---- summary ----


async def test_summary_answers_in_the_thread_with_the_stored_lead(room: Newsroom) -> None:
    article_id = await room.publish(await room.outlet("Azattyq"), 1, "CSTO summit in Astana")
    reply = await room.run(PRIVATE, f"summary {article_id}")
    assert reply.threaded
    assert not reply.is_error
    assert text_of(reply).splitlines() == [
        "CSTO summit in Astana",
        "Azattyq · 2026-11-27 12:00 UTC",
        "The lead of story 1 about CSTO.",
        "https://azattyq.example/news/1",
    ]
    assert reply.lines[-1][0].style is Style.LINK
    pressed = await room.commands.press(request(PRIVATE, ""), callbacks.summary(article_id).encode())
    assert pressed.reply == reply


@pytest.mark.parametrize("argument", ["", "abc", "99999", "-1"])
async def test_summary_of_no_article_is_one_line(room: Newsroom, argument: str) -> None:
    reply = await room.run(PRIVATE, f"summary {argument}".strip())
    assert reply.is_error
    assert len(reply.lines) == 1


# ---- forward ----


async def test_forward_posts_once_with_note_and_says_who_sent_it_before(room: Newsroom) -> None:
    outlet = await room.outlet("Reuters")
    article_id = await room.publish(outlet, 1, "CSTO exercise announced")
    await room.run(GROUP, "subscribe CSTO")
    reply = await room.run(GROUP, f"forward {article_id} worth a follow-up", admin=False)
    assert text_of(reply) == "Sent to the editors with your note."
    assert reply.threaded
    (posted,) = room.desk.posted
    assert (posted.forwarded_by, posted.from_chat, posted.note) == (
        "Aigerim",
        "Politics desk",
        "worth a follow-up",
    )
    assert posted.alert.article.id == article_id
    assert posted.alert.topics == ("CSTO",)
    assert posted.alert.destination.address == GROUP.address

    room.clock.now = NOW + timedelta(hours=1)
    again = await room.run(PRIVATE, f"forward {article_id}", JOURNALIST)
    assert text_of(again) == "Already sent to the editors by Aigerim at 2026-11-27 12:00 UTC."
    assert await press(room, PRIVATE, callbacks.forward(article_id).encode()) == text_of(again)
    assert len(room.desk.posted) == 1


async def test_a_text_reply_to_an_alert_forwards_it_with_all_the_text_as_note(room: Newsroom) -> None:
    article_id = await room.publish(await room.outlet("TASS"), 1, "CSTO ministers meet")
    reply = await room.run(PRIVATE, "forward 3 sources confirm this", replied=article_id)
    assert text_of(reply) == "Sent to the editors with your note."
    assert room.desk.posted[0].note == "3 sources confirm this"


async def test_the_to_editors_button_forwards_without_a_note(room: Newsroom) -> None:
    article_id = await room.publish(await room.outlet("TASS"), 1, "CSTO ministers meet")
    assert await press(room, PRIVATE, callbacks.forward(article_id).encode()) == "Sent to the editors."
    assert room.desk.posted[0].note == ""


async def test_forward_without_a_desk_or_when_it_fails_sends_nothing_and_can_be_retried(
    engine: AsyncEngine,
) -> None:
    room = await open_newsroom(engine, has_desk=False)
    article_id = await room.publish(await room.outlet("TASS"), 1, "CSTO ministers meet")
    assert "No editors' desk is configured" in text_of(await room.run(PRIVATE, f"forward {article_id}"))

    failing = await open_newsroom(engine, desk=RecordingDesk(desks=0))
    assert "Could not reach" in text_of(await failing.run(PRIVATE, f"forward {article_id}"))
    failing.desk.error = ConnectionError("down")
    assert "Could not reach" in text_of(await failing.run(PRIVATE, f"forward {article_id}"))
    failing.desk.error, failing.desk.desks = None, 2
    assert text_of(await failing.run(PRIVATE, f"forward {article_id}")) == "Sent to the editors."


@pytest.mark.parametrize("argument", ["", "note without id", "99999 note"])
async def test_forward_of_nothing_is_one_line(room: Newsroom, argument: str) -> None:
    reply = await room.run(PRIVATE, f"forward {argument}".strip())
    assert len(reply.lines) == 1
    assert "editors" not in text_of(reply).split(".")[0].lower()
    assert room.desk.posted == []


# ---- outlets ----


async def test_outlets_lists_health_and_admins_add_and_remove(room: Newsroom) -> None:
    await room.outlet("Lenta")
    assert text_of(await room.run(PRIVATE, "outlets")) == "1 outlets:\nLenta — feed, never polled"
    found = OutletFound("https://tengrinews.example/rss", OutletKind.FEED, "Tengrinews", 20)
    room.probe.results["https://tengrinews.example"] = found
    reply = await room.run(PRIVATE, "addoutlet https://tengrinews.example", OPERATOR)
    assert text_of(reply).startswith("Added Tengrinews: feed, 20 items now.")
    assert (await room.run(PRIVATE, "addoutlet https://tengrinews.example", OPERATOR)).is_error

    assert text_of(await room.run(PRIVATE, "removeoutlet tengrinews", OPERATOR)).startswith(
        "Stopped watching Tengrinews"
    )
    assert [o.name for o in await room.archive.watched_outlets()] == ["Lenta"]
    assert (await room.run(PRIVATE, "removeoutlet Tengrinews", OPERATOR)).is_error
    again = await room.run(PRIVATE, "addoutlet https://tengrinews.example", OPERATOR)
    assert text_of(again) == "Watching Tengrinews again (feed, 20 items now)."


async def test_addoutlet_says_why_a_url_is_refused_and_tells_same_names_apart(room: Newsroom) -> None:
    reply = await room.run(PRIVATE, "addoutlet http://127.0.0.1/feed", OPERATOR)
    assert reply.is_error
    assert text_of(reply).startswith("Cannot watch http://127.0.0.1/feed: ")
    room.probe.results["http://10.0.0.1/"] = OutletRefused("a private network address")
    assert "private network" in text_of(await room.run(PRIVATE, "addoutlet http://10.0.0.1/", OPERATOR))
    await room.outlet("News")
    room.probe.results["https://other.example/"] = OutletFound(
        "https://other.example/rss", OutletKind.FEED, "News", 3
    )
    reply = await room.run(PRIVATE, "addoutlet https://other.example/", OPERATOR)
    assert text_of(reply).startswith("Added News (other.example): feed, 3 items now")
    assert "Usage: /addoutlet URL" in text_of(await room.run(PRIVATE, "addoutlet", OPERATOR))


# ---- status and trend ----


async def test_status_counts_outlets_by_health_and_the_queue(room: Newsroom) -> None:
    from core.models import OutletState

    ok, failing, dead = await room.outlet("Ok"), await room.outlet("Failing"), await room.outlet("Dead")
    async with room.archive.poll_transaction() as tx:
        await tx.save_outlet_state(ok.id, OutletState(last_polled_at=NOW, last_success_at=NOW))
        await tx.save_outlet_state(
            failing.id,
            OutletState(last_polled_at=NOW, consecutive_failures=3, last_error="HTTP 503", next_poll_at=NOW),
        )
        await tx.save_outlet_state(
            dead.id, OutletState(last_polled_at=NOW, consecutive_failures=10, deactivated_at=NOW)
        )
    lines = text_of(await room.run(PRIVATE, "status")).splitlines()
    assert lines[0] == "newsbot 0.1.0"
    assert lines[1] == "Outlets: 1 ok, 1 failing, 1 deactivated."
    assert lines[2].startswith("Dead — deactivated 2026-11-27 12:00 UTC; never succeeded")
    assert lines[3] == "Failing — failing (3); never succeeded; error: HTTP 503"
    assert lines[4] == "Alerts: 0 pending, 0 sending, 0 sent, 0 dead."


async def test_trend_draws_every_day_including_days_without_matches(room: Newsroom) -> None:
    outlet = await room.outlet("Kazinform")
    for number, days_ago in enumerate([0, 0, 2, 6, 40]):
        await room.publish(outlet, number, f"CSTO {number}", days_ago=days_ago)
    reply = await room.run(PRIVATE, "trend csto 7d")
    assert text_of(reply) == "CSTO: 4 matching articles in the last 7 days (UTC)"
    assert reply.image is not None
    chart = PillowImage.open(io.BytesIO(reply.image.png))
    assert chart.format == "PNG"
    assert chart.size == (800, 400)
    default = await room.run(PRIVATE, "trend CSTO")
    assert "5 matching articles in the last 30 days" not in text_of(default)  # 40 days ago is outside
    assert "4 matching articles in the last 30 days" in text_of(default)


@pytest.mark.parametrize("text", ["trend", "trend 7d", "trend Nothing", "trend CSTO 0d", "trend CSTO 999d"])
async def test_trend_errors_are_one_line(room: Newsroom, text: str) -> None:
    reply = await room.run(PRIVATE, text)
    assert reply.is_error
    assert len(reply.lines) == 1
    assert reply.image is None


# ---- buttons and allowed chats ----


@pytest.mark.parametrize(
    "data",
    [
        "",
        "x",
        "s:",
        "s:0",
        "s:01",
        "s:99999",
        "f:99999",
        "m:99999",
        "t:99999",
        "p:abc.1",
        "p:a b.1",
        "q:1",
        "s:1" * 30,
    ],
)
async def test_stale_or_forged_buttons_get_a_polite_notice(room: Newsroom, data: str) -> None:
    answer = await room.commands.press(request(GROUP, ""), data)
    assert answer.notice
    assert answer.reply is None
    assert answer.notice != FAILED


async def test_undecodable_data_says_the_button_no_longer_works(room: Newsroom) -> None:
    assert (await room.commands.press(request(GROUP, ""), "zz:top")).notice == STALE_BUTTON


async def test_allowed_chats_refuse_other_chats_except_start_and_help(engine: AsyncEngine) -> None:
    room = await open_newsroom(engine, allowed_chats={Platform.TELEGRAM: {GROUP.address}})
    assert not (await room.run(GROUP, "subscribe CSTO")).is_error
    refused = await room.run(CHANNEL, "subscribe CSTO")
    assert refused.is_error
    assert text_of(refused).startswith("Sorry, newsbot does not serve this chat")
    assert "does not serve this chat" in text_of(await room.run(CHANNEL, "start"))
    assert "/subscribe" in text_of(await room.run(CHANNEL, "help"))
    assert await room.catalog.find_destination(CHANNEL.platform, CHANNEL.address) is None
    assert "does not serve" in await press(room, CHANNEL, callbacks.summary(1).encode())
    slack = ChatRef(Platform.SLACK, "C01", "news", ChatKind.CHANNEL)
    assert not (await room.run(slack, "subscribe CSTO")).is_error  # the list is Telegram's


async def test_a_chat_that_adds_the_bot_back_gets_alerts_again_if_it_is_served(engine: AsyncEngine) -> None:
    room = await open_newsroom(engine, allowed_chats={Platform.TELEGRAM: {GROUP.address}})
    await room.run(GROUP, "subscribe CSTO")
    await room.commands.chat_removed(GROUP)

    await room.commands.chat_added(GROUP)
    await room.commands.chat_added(CHANNEL)  # not in allowed_chats: nothing is made for it

    await room.publish(await room.outlet("TASS"), 1, "CSTO summit", alert=True)
    assert await room.queued_for(GROUP) == 1
    assert await room.catalog.find_destination(CHANNEL.platform, CHANNEL.address) is None


async def test_search_narrows_by_source_and_language(room: Newsroom) -> None:
    await room.publish(await room.outlet("Kazinform"), 1, "CSTO drill in Almaty")
    await room.publish(await room.outlet("Lenta"), 2, "CSTO summit in Moscow")
    assert "Almaty" in text_of(await room.run(PRIVATE, "search CSTO source:Kazinform"))
    assert "Moscow" not in text_of(await room.run(PRIVATE, "search CSTO source:Kazinform"))
    assert text_of(await room.run(PRIVATE, "search CSTO lang:ru")) == "No archived article matches."


async def test_slack_commands_are_spelled_with_its_prefix(engine: AsyncEngine) -> None:
    room = await open_newsroom(engine, prefix="/news ")
    slack = ChatRef(Platform.SLACK, "C01", "news", ChatKind.CHANNEL)
    assert "/news subscribe TOPIC or QUERY" in text_of(await room.run(slack, "help"))
    assert (
        text_of(await room.run(slack, "serch CSTO"))
        == "Unknown command /news serch. Did you mean /news search?"
    )
