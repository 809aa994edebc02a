"""Who may change what: every state-changing command and button × five callers × private, group, channel.

Each case starts from the same state; an allowed action must change it, a refused one must answer
with its refusal and leave every table, the delivery plans and the editors' desk as they were.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import callbacks
from bot.access import REFUSALS, Access, Caller, ChatKind, ChatRef, CommandRequest
from core.models import OutletFound, OutletKind
from tests.bot.newsroom import CHANNEL, GROUP, OPERATOR, PRIVATE, Newsroom, open_newsroom, text_of


@dataclass(frozen=True, slots=True)
class Who:
    label: str
    caller: Caller
    is_chat_admin: bool
    is_chat_member: bool


CALLERS = (
    Who("bot admin", OPERATOR, is_chat_admin=False, is_chat_member=True),
    Who("chat admin", Caller("7", "Dana", is_bot_admin=False), is_chat_admin=True, is_chat_member=True),
    Who("member", Caller("8", "Yerlan", is_bot_admin=False), is_chat_admin=False, is_chat_member=True),
    Who(
        "non-member", Caller("9", "Passer-by", is_bot_admin=False), is_chat_admin=False, is_chat_member=False
    ),
    # Telegram shows an anonymous admin as GroupAnonymousBot; the front-end resolves it to a chat admin.
    Who(
        "anonymous admin",
        Caller("1087968824", "Politics desk", is_bot_admin=False),
        is_chat_admin=True,
        is_chat_member=True,
    ),
)

FRESH_FEED = "https://fresh.example/"


@dataclass(frozen=True, slots=True)
class Action:
    label: str
    access: Access
    text: str = ""  # a typed command
    button: Callable[[Newsroom, int], str] | None = None  # callback data, from the room and the article

    @property
    def is_button(self) -> bool:
        return self.button is not None


ACTIONS = (
    Action("subscribe", Access.CHAT_ADMIN, "subscribe CSTO"),
    Action("unsubscribe", Access.CHAT_ADMIN, "unsubscribe SCO"),
    Action("digest", Access.CHAT_ADMIN, "digest hourly"),
    Action("quiet", Access.CHAT_ADMIN, "quiet 22:00-07:00"),
    Action("addoutlet", Access.BOT_ADMIN, f"addoutlet {FRESH_FEED}"),
    Action("removeoutlet", Access.BOT_ADMIN, "removeoutlet Lenta"),
    Action("forward", Access.MEMBER, "forward {article} please check"),
    Action(
        "mute button",
        Access.CHAT_ADMIN,
        button=lambda room, _: callbacks.mute(room.topics["SCO"].id).encode(),
    ),
    Action(
        "subscribe button",
        Access.CHAT_ADMIN,
        button=lambda room, _: callbacks.subscribe(room.topics["CSTO"].id).encode(),
    ),
    Action("to editors button", Access.MEMBER, button=lambda _, article: callbacks.forward(article).encode()),
)


def is_allowed(who: Who, action: Action, chat: ChatRef) -> bool:
    """The rules of SPEC "Chat commands" and issue #5, written out plainly."""
    if action.access is Access.BOT_ADMIN:
        return who.caller.is_bot_admin
    if chat.kind is ChatKind.PRIVATE:
        return True  # the user owns a private chat
    if action.access is Access.CHAT_ADMIN:
        return who.is_chat_admin
    return who.is_chat_member


class Asked:
    """A membership answer that counts how often the front-end was asked."""

    def __init__(self, value: bool) -> None:
        self.value = value
        self.times = 0

    def __call__(self) -> Awaitable[bool]:
        self.times += 1

        async def answer() -> bool:
            return self.value

        return answer()


async def prepare(engine: AsyncEngine) -> tuple[Newsroom, int]:
    """A newsroom with the outlet Lenta and one archived article of it, whose id is returned."""
    room = await open_newsroom(engine)
    article = await room.publish(await room.outlet("Lenta"), 1, "CSTO summit in Minsk")
    room.probe.results[FRESH_FEED] = OutletFound("https://fresh.example/rss", OutletKind.FEED, "Fresh", 5)
    return room, article


async def reset(room: Newsroom, chat: ChatRef, article: int) -> None:
    """The state every case starts from, in which each allowed action changes something."""
    destination = await room.catalog.ensure_destination(chat.platform, chat.address, chat.title, room.clock())
    await room.catalog.unsubscribe_from(destination.id, room.topics["CSTO"].id)
    await room.catalog.subscribe_to(destination.id, room.topics["SCO"].id, room.clock())
    room.plans.plans.clear()
    await room.archive.restore_outlet("https://lenta.example/feed", room.clock())
    await room.archive.remove_outlet("Fresh")
    await room.forwards.release_forward(article)


async def act(
    room: Newsroom, chat: ChatRef, article: int, who: Who, action: Action
) -> tuple[str, Asked, Asked]:
    admin, member = Asked(who.is_chat_admin), Asked(who.is_chat_member)
    name, _, argument = action.text.format(article=article).partition(" ")
    request = CommandRequest(
        chat=chat,
        caller=who.caller,
        name="" if action.is_button else name,
        argument=argument,
        is_chat_admin=admin,
        is_chat_member=member,
    )
    if action.button is not None:
        answer = await room.commands.press(request, action.button(room, article))
        return answer.notice, admin, member
    return text_of(await room.commands.run(request)), admin, member


@pytest.mark.parametrize("chat", [PRIVATE, GROUP, CHANNEL], ids=lambda chat: chat.kind.value)
async def test_who_may_change_what(engine: AsyncEngine, chat: ChatRef) -> None:
    room, article = await prepare(engine)
    wrong: list[str] = []
    for who in CALLERS:
        for action in ACTIONS:
            await reset(room, chat, article)
            before, posts, probes = await room.snapshot(), len(room.desk.posted), len(room.probe.probed)
            said, admin, member = await act(room, chat, article, who, action)
            changed = await room.snapshot() != before or len(room.desk.posted) != posts
            case = f"{who.label} / {action.label} in a {chat.kind.value} chat"
            if is_allowed(who, action, chat):
                if said in REFUSALS.values() or not changed:
                    wrong.append(f"{case}: should be allowed and change state, said {said!r}")
            else:
                if said != REFUSALS[action.access]:
                    wrong.append(f"{case}: should be refused, said {said!r}")
                if changed or len(room.probe.probed) != probes:
                    wrong.append(f"{case}: refused but changed something")
            if chat.kind is ChatKind.PRIVATE and admin.times + member.times:
                wrong.append(f"{case}: asked the platform about membership of a private chat")
    assert wrong == []


async def test_a_failing_membership_check_refuses(engine: AsyncEngine) -> None:
    room, article = await prepare(engine)

    async def unreachable() -> bool:
        raise TimeoutError("getChatMember timed out")

    for text in ("subscribe CSTO", f"forward {article}"):
        name, _, argument = text.partition(" ")
        request = CommandRequest(GROUP, OPERATOR, name, argument, unreachable, is_chat_member=unreachable)
        assert (await room.commands.run(request)).is_error
    assert room.desk.posted == []


async def test_without_a_membership_answer_typed_forwards_pass_and_pressed_ones_need_an_admin(
    engine: AsyncEngine,
) -> None:
    room, article = await prepare(engine)
    member = Caller("8", "Yerlan", is_bot_admin=False)
    not_admin = Asked(False)
    typed = CommandRequest(GROUP, member, "forward", str(article), not_admin)
    assert text_of(await room.commands.run(typed)) == "Sent to the editors."
    await room.forwards.release_forward(article)
    pressed = CommandRequest(GROUP, member, "", "", not_admin)
    answer = await room.commands.press(pressed, callbacks.forward(article).encode())
    assert answer.notice == REFUSALS[Access.MEMBER]
    assert len(room.desk.posted) == 1
