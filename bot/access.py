"""Who may do what in a chat: the chats newsbot serves, and the caller each command and button needs.

Membership questions go to the front-end lazily (Telegram's getChatMember costs a request), and a
question that fails counts as no.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum

from bot import callbacks
from core.models import Platform

log = logging.getLogger(__name__)


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class ChatRef:
    platform: Platform
    address: str
    title: str
    kind: ChatKind


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str
    name: str
    is_bot_admin: bool  # the front-end sets it from [telegram] admins


@dataclass(frozen=True, slots=True)
class CommandRequest:
    chat: ChatRef
    caller: Caller
    name: str  # "/subscribe CSTO" → name "subscribe", argument "CSTO"; "" for a button press
    argument: str
    is_chat_admin: Callable[[], Awaitable[bool]]  # asked lazily (getChatMember); must fail closed
    replied_article_id: int | None = None  # the alert the command message replies to, if any
    # Whether the caller belongs to the chat (forwarding needs a member). None: the front-end does
    # not ask; a typed command then counts as a member's (platforms let only members post), while a
    # button, which anyone who sees a public group can press, needs a chat admin (fail closed).
    is_chat_member: Callable[[], Awaitable[bool]] | None = None


class Access(Enum):
    ANYONE = "anyone in an allowed chat"
    MEMBER = "a member of the chat"
    CHAT_ADMIN = "an admin of the chat (anyone in a private chat)"
    BOT_ADMIN = "one of newsbot's admins"


REFUSALS = {
    Access.MEMBER: "Only members of this chat can send its alerts to the editors.",
    Access.CHAT_ADMIN: "Only this chat's admins can change its subscriptions and delivery.",
    Access.BOT_ADMIN: "Only newsbot's admins can add or remove outlets.",
}
NOT_SERVED = "Sorry, newsbot does not serve this chat; its operators can add it to allowed_chats."

# What each button needs: the same rules as the commands they stand for.
BUTTON_ACCESS = {
    callbacks.Action.SUMMARY: Access.ANYONE,
    callbacks.Action.FORWARD: Access.MEMBER,
    callbacks.Action.MUTE: Access.CHAT_ADMIN,
    callbacks.Action.SUBSCRIBE: Access.CHAT_ADMIN,
    callbacks.Action.PAGE: Access.ANYONE,
}


class AccessRules:
    """`allowed_chats` per platform (none listed: every chat), and the caller each access level needs."""

    def __init__(self, allowed_chats: Mapping[Platform, Collection[str]]) -> None:
        self._allowed = {platform: frozenset(chats) for platform, chats in allowed_chats.items()}

    def serves(self, chat: ChatRef) -> bool:
        allowed = self._allowed.get(chat.platform)
        return not allowed or chat.address in allowed

    async def refusal(self, request: CommandRequest, access: Access, *, pressed: bool) -> str | None:
        """Why the caller may not do this here, or None when they may."""
        if access is Access.BOT_ADMIN:
            return None if request.caller.is_bot_admin else REFUSALS[access]
        if access is Access.ANYONE or request.chat.kind is ChatKind.PRIVATE:
            return None  # in a private chat the user owns the chat
        if access is Access.CHAT_ADMIN:
            return None if await asked(request.is_chat_admin) else REFUSALS[access]
        if request.is_chat_member is not None:
            return None if await asked(request.is_chat_member) else REFUSALS[access]
        return None if not pressed or await asked(request.is_chat_admin) else REFUSALS[access]


async def asked(question: Callable[[], Awaitable[bool]]) -> bool:
    """A front-end's membership answer; a failure counts as no (fail closed)."""
    try:
        return await question() is True
    except Exception:
        log.warning("chat membership check failed", exc_info=True)
        return False
