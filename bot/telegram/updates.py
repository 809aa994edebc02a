"""Telegram updates read as newsbot's neutral terms: the chat, the caller, the command and its argument."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from telegram import Bot, Chat, ChatMemberRestricted, Message, User
from telegram.constants import ChatID, ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.commands import Caller, ChatKind, ChatRef
from core.models import Platform

log = logging.getLogger(__name__)

# "/name", "/name@botname", then the argument after any whitespace (Bot API bot_command entities).
COMMAND = re.compile(r"/(?P<name>[^\s@]+)(?:@(?P<bot>\S+))?(?:\s+(?P<argument>.*))?", re.DOTALL)

CHAT_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
CHAT_MEMBER_STATUSES = CHAT_ADMIN_STATUSES | {ChatMemberStatus.MEMBER}


@dataclass(frozen=True, slots=True)
class CommandText:
    name: str
    argument: str


def parse_command(text: str, bot_username: str) -> CommandText | None:
    """The command a message's text carries; None when it is no command or addressed to another bot."""
    found = COMMAND.fullmatch(text.strip())
    if found is None:
        return None
    addressed = found["bot"]
    if addressed is not None and addressed.casefold() != bot_username.casefold():
        return None
    return CommandText(found["name"].casefold(), (found["argument"] or "").strip())


def chat_kind(chat: Chat) -> ChatKind:
    if chat.type == ChatType.PRIVATE:
        return ChatKind.PRIVATE
    if chat.type == ChatType.CHANNEL:
        return ChatKind.CHANNEL
    return ChatKind.GROUP


def chat_ref(chat: Chat) -> ChatRef:
    """The chat as a destination address: Telegram's numeric chat id as text."""
    title = chat.title or chat.full_name or chat.username or str(chat.id)
    return ChatRef(Platform.TELEGRAM, str(chat.id), title, chat_kind(chat))


def user_name(user: User) -> str:
    return f"{user.full_name} (@{user.username})" if user.username else user.full_name


def is_anonymous_admin(message: Message | None) -> bool:
    """A message an admin sent as the chat itself: a channel post, or a group's anonymous admin.

    Bot API: such group messages come `from` GroupAnonymousBot with `sender_chat` the group itself.
    """
    if message is None or message.sender_chat is None or message.sender_chat.id != message.chat.id:
        return False
    if message.chat.type == ChatType.CHANNEL:
        return True
    return message.from_user is not None and message.from_user.id == ChatID.ANONYMOUS_ADMIN


def caller_of(user: User | None, message: Message | None, admins: Collection[int]) -> Caller:
    """Who acts: the user, or for an anonymous admin or a channel post, the chat they speak as."""
    if is_anonymous_admin(message) or user is None:
        chat = message.chat if message is not None else None
        name = f"{chat.title or chat.id} (anonymous admin)" if chat is not None else "unknown"
        return Caller(user_id=str(chat.id) if chat is not None else "", name=name, is_bot_admin=False)
    return Caller(user_id=str(user.id), name=user_name(user), is_bot_admin=user.id in admins)


def chat_admin_check(
    bot: Bot, chat: Chat, user: User | None, message: Message | None
) -> Callable[[], Awaitable[bool]]:
    """Asks Telegram, once and only when a command needs it, whether the caller administers the chat.

    Fails closed: any status but creator or administrator, and any error, means no.
    """
    return _memoized(lambda: _ask(bot, chat, user, message, CHAT_ADMIN_STATUSES))


def chat_member_check(bot: Bot, chat: Chat, user: User) -> Callable[[], Awaitable[bool]]:
    """Whether the user who pressed a button belongs to the chat (anyone who sees a public group can press).

    Fails closed like `chat_admin_check`; a restricted user counts while still a member.
    """
    return _memoized(lambda: _ask(bot, chat, user, None, CHAT_MEMBER_STATUSES))


def _memoized(ask: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    answer: list[bool] = []

    async def asked() -> bool:
        if not answer:
            answer.append(await ask())
        return answer[0]

    return asked


async def _ask(
    bot: Bot, chat: Chat, user: User | None, message: Message | None, statuses: frozenset[str]
) -> bool:
    if chat.type == ChatType.PRIVATE:
        return True
    if is_anonymous_admin(message):
        return True
    if user is None or user.id == ChatID.ANONYMOUS_ADMIN:
        return False
    try:
        # Bot API: https://core.telegram.org/bots/api#getchatmember
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError as error:
        log.warning("telegram getChatMember failed, treating as no right: %s", error)
        return False
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and ChatMemberStatus.MEMBER in statuses
    return member.status in statuses
