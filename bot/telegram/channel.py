"""Telegram delivery: alerts rendered to HTML, paced per chat, sent with PTB's Bot, errors turned into outcomes.

Telegram's limits (SPEC "Rate limits kept"; https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about 1 message a second per chat, 20 a minute per group or channel, 30 a second overall. The
overall rate (and the per-group one, as a second line) is PTB's `AIORateLimiter`, built by
`delivery_rate_limiter()` with `max_retries=0` so that a 429 comes straight back to us instead of
pausing every chat while PTB sleeps. The per-chat pace and every `retry_after` are kept here, by
`ChatPace`: a chat that is not ready gets `RetryLater(..., hold_destination=True)` without a request,
and core holds the destination so the outbox does not claim its alerts again before then.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.replies import Button
from bot.telegram.render import RenderedMessage, render_alert_html, render_digest_html
from core.delivery import error_delay
from core.models import Alert, Destination, RetryLater, SendOutcome, Sent, Unreachable
from core.ports import Destinations

log = logging.getLogger(__name__)

PRIVATE_SPACING = timedelta(seconds=1)  # ≤ 1 message a second in one chat
GROUP_SPACING = timedelta(seconds=3)  # ≤ 20 a minute in a group or channel
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20


def utc_now() -> datetime:
    return datetime.now(UTC)


def delivery_rate_limiter() -> AIORateLimiter:
    """PTB's limiter for the bot that delivers: 30/s overall, 20/min per group, and no retries of its own.

    With `max_retries=0` a 429 is raised at once (PTB only pauses all requests while it sleeps to
    retry), so one chat's flood wait never stalls the others; the channel holds that chat instead.
    """
    # PTB logs every such 429 with a traceback; the channel logs it once as a hold, which is enough.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    return AIORateLimiter(
        overall_max_rate=OVERALL_PER_SECOND,
        overall_time_period=1,
        group_max_rate=GROUP_PER_MINUTE,
        group_time_period=60,
        max_retries=0,
    )


def is_group_address(address: str) -> bool:
    """Groups, supergroups and channels have negative ids (or a public @name); users positive ones."""
    return address.startswith(("-", "@"))


def chat_id_of(address: str) -> int | str:
    try:
        return int(address)
    except ValueError:
        return address  # "@channelname"


def retry_after_of(error: RetryAfter) -> timedelta:
    """The wait Telegram asked for, whichever type this PTB version gives it as."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def keyboard(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.data) for button in row] for row in buttons]
    )


def describe(error: TelegramError) -> str:
    """The error as the outbox records it: its kind, then Telegram's words (which may name it already)."""
    kind = type(error).__name__
    return error.message if error.message.startswith(kind) else f"{kind}: {error.message}"


def mentions(error: TelegramError, *phrases: str) -> bool:
    text = error.message.lower()
    return any(phrase in text for phrase in phrases)


class ChatPace:
    """When each chat may next be sent to: its spacing after a message, or the end of a flood wait."""

    def __init__(self) -> None:
        self._ready_at: dict[str, datetime] = {}

    def wait(self, address: str, now: datetime) -> timedelta:
        """How long the chat must still wait; zero when it is ready."""
        ready_at = self._ready_at.get(address)
        return max(ready_at - now, timedelta(0)) if ready_at is not None else timedelta(0)

    def sent(self, address: str, now: datetime) -> None:
        spacing = GROUP_SPACING if is_group_address(address) else PRIVATE_SPACING
        self.hold(address, now + spacing)
        if len(self._ready_at) > 10_000:  # forget chats that are ready anyway
            self._ready_at = {chat: at for chat, at in self._ready_at.items() if at > now}

    def hold(self, address: str, until: datetime) -> None:
        self._ready_at[address] = max(until, self._ready_at.get(address, until))


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One message to put in one chat: how to send it, rendered, and what may still be tried."""

    destination: Destination
    message: RenderedMessage
    attempts: int  # the alert's attempts so far, for the error backoff
    html: bool = True  # False after "can't parse entities": the plain twin, once
    may_follow_migration: bool = True  # a group that became a supergroup → once more at the new id


class TelegramChannel:
    """core.ports.Channel and EditableChannel for Telegram; sent refs are "<chat_id>:<message_id>"."""

    def __init__(
        self,
        bot: Bot,
        destinations: Destinations,
        admins: Sequence[int] = (),
        clock: Callable[[], datetime] = utc_now,
        pace: ChatPace | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._bot = bot
        self._destinations = destinations
        self._admins = tuple(admins)
        self._clock = clock
        self._pace = pace or ChatPace()
        self._sleep = sleep

    async def send(self, destination: Destination, alert: Alert) -> SendOutcome:
        """Send the alert, or say when to try again, or that the chat cannot be reached."""
        return await self._send(_Attempt(destination, render_alert_html(alert), alert.attempts))

    async def send_digest(self, destination: Destination, alerts: Sequence[Alert]) -> SendOutcome:
        """Send held alerts as one digest: as many messages as the length limit needs, paced like any.

        The outcome stands for every alert. A failure after some pages went out retries the whole
        digest, so those pages may arrive twice; an alert is never lost.
        """
        heading = f"Digest: {len(alerts)} alert{'' if len(alerts) == 1 else 's'}"
        attempts = max(alert.attempts for alert in alerts)
        first_ref = ""
        for page in render_digest_html(alerts, heading):
            if first_ref:
                # Later pages wait out the chat's pace (at most a few seconds) instead of failing.
                await self._sleep(self._pace.wait(destination.address, self._clock()).total_seconds())
            outcome = await self._send(_Attempt(destination, page, attempts))
            if not isinstance(outcome, Sent):
                return outcome
            first_ref = first_ref or outcome.ref
        return Sent(first_ref)

    async def update(self, destination: Destination, ref: str, alert: Alert) -> SendOutcome:
        """Edit the sent alert `ref` to show the alert as it is now (e.g. a story's new outlets)."""
        chat, _, message_id = ref.partition(":")
        if not chat or not message_id.isdigit():
            return Unreachable(f"not a Telegram message reference: {ref!r}")
        now = self._clock()
        wait = self._pace.wait(chat, now)
        if wait:
            return RetryLater(wait, "chat paced", hold_destination=True)
        self._pace.sent(chat, now)
        message = render_alert_html(alert)
        try:
            await self._edit(chat, int(message_id), message, html=True)
        except BadRequest as error:
            if not mentions(error, "can't parse entities"):
                return self._edit_failed(error, ref, now, alert.attempts)
            try:
                await self._edit(chat, int(message_id), message, html=False)
            except TelegramError as again:
                return self._edit_failed(again, ref, now, alert.attempts)
        except TelegramError as error:
            return self._edit_failed(error, ref, now, alert.attempts)
        return Sent(ref)

    def _edit_failed(self, error: TelegramError, ref: str, now: datetime, attempts: int) -> SendOutcome:
        if isinstance(error, BadRequest):
            if mentions(error, "message is not modified"):
                return Sent(ref)  # it shows what we wanted already
            return Unreachable(describe(error))  # message to edit not found, can't be edited…
        if isinstance(error, RetryAfter):
            return self._flood_wait(ref.partition(":")[0], error, now)
        if isinstance(error, NetworkError):
            return RetryLater(error_delay(attempts), describe(error))
        return Unreachable(describe(error))  # forbidden, migrated: old messages stay where they were

    # --- sending -----------------------------------------------------------------------------

    async def _send(self, attempt: _Attempt) -> SendOutcome:
        """Admit the chat (its pace, any flood wait), then make the request."""
        address = attempt.destination.address
        now = self._clock()
        wait = self._pace.wait(address, now)
        if wait:
            return RetryLater(wait, "chat paced", hold_destination=True)
        self._pace.sent(address, now)
        return await self._request(attempt, now)

    async def _request(self, attempt: _Attempt, now: datetime) -> SendOutcome:
        address = attempt.destination.address
        try:
            sent = await self._post(address, attempt.message, html=attempt.html)
        except RetryAfter as error:
            return self._flood_wait(address, error, now)
        except ChatMigrated as error:
            return await self._migrated(attempt, error, now)
        except Forbidden as error:
            # Blocked by the user, or removed from the group or channel: paused, and the admins told.
            await self._tell_admins(attempt.destination, error)
            return Unreachable(describe(error))
        except BadRequest as error:
            if attempt.html and mentions(error, "can't parse entities"):
                # A rejected message is not a message: the plain twin goes at once, not after the pace.
                log.warning("telegram rejected our HTML; sending plain text", extra={"chat": address})
                return await self._request(replace(attempt, html=False), now)
            # Chat not found, no rights to send…: paused like a blocked chat, so the admins hear of it.
            await self._tell_admins(attempt.destination, error)
            return Unreachable(describe(error))
        except NetworkError as error:  # TimedOut too: the alert is retried, never lost
            return RetryLater(error_delay(attempt.attempts), describe(error))
        except TelegramError as error:
            return RetryLater(error_delay(attempt.attempts), describe(error))
        return Sent(f"{sent.chat_id}:{sent.message_id}")

    async def _migrated(self, attempt: _Attempt, error: ChatMigrated, now: datetime) -> SendOutcome:
        """The group became a supergroup: remember its new id and deliver there, once."""
        new_address = str(error.new_chat_id)
        destination = await self._destinations.readdress(attempt.destination.id, new_address)
        log.info(
            "telegram chat migrated",
            extra={
                "destination_id": attempt.destination.id,
                "old": attempt.destination.address,
                "new": new_address,
            },
        )
        if not attempt.may_follow_migration:
            return Unreachable(f"chat migrated twice: {attempt.destination.address} → {new_address}")
        self._pace.sent(destination.address, now)
        return await self._request(replace(attempt, destination=destination, may_follow_migration=False), now)

    def _flood_wait(self, address: str, error: RetryAfter, now: datetime) -> RetryLater:
        after = retry_after_of(error)
        self._pace.hold(address, now + after)
        log.info("telegram flood wait", extra={"chat": address, "seconds": after.total_seconds()})
        return RetryLater(after, f"Telegram flood control: retry after {after.total_seconds():g} s", True)

    async def _post(self, address: str, message: RenderedMessage, *, html: bool) -> Message:
        # Bot API: https://core.telegram.org/bots/api#sendmessage
        return await self._bot.send_message(
            chat_id_of(address),
            message.text if html else message.plain,
            parse_mode=ParseMode.HTML if html else None,
            reply_markup=keyboard(message.buttons),
        )

    async def _edit(self, address: str, message_id: int, message: RenderedMessage, *, html: bool) -> None:
        # Bot API: https://core.telegram.org/bots/api#editmessagetext
        await self._bot.edit_message_text(
            message.text if html else message.plain,
            chat_id=chat_id_of(address),
            message_id=message_id,
            parse_mode=ParseMode.HTML if html else None,
            reply_markup=keyboard(message.buttons),
        )

    async def _tell_admins(self, destination: Destination, error: TelegramError) -> None:
        """One short notice to each bot admin; best effort, since delivery must go on without it."""
        name = destination.title or destination.address
        notice = (
            f"Alerts to {name} ({destination.address}) are paused: {error.message}. "
            "Queued alerts wait and go out once the chat is enabled again (/start in it)."
        )
        for admin in self._admins:
            if str(admin) == destination.address:
                continue
            try:
                await self._bot.send_message(admin, notice)
            except TelegramError as failed:
                log.warning("admin not told of a paused chat: %s", describe(failed), extra={"admin": admin})
