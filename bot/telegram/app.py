"""The Telegram front-end: a python-telegram-bot Application inside newsbot's loop, its updates → Commands.

Commands, replies to alerts, button presses and the bot's own membership changes are turned into
the platform-neutral requests of bot.commands; the neutral replies come back rendered as Telegram
HTML. Updates arrive by long polling, or with `webhook_url` set, on a local aiohttp server that
Telegram posts to. Bot API: https://core.telegram.org/bots/api
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web
from telegram import BotCommand, Chat, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.commands import ChatRef, CommandRequest
from bot.replies import Answer, Reply, plain
from bot.telegram.channel import delivery_rate_limiter
from bot.telegram.messages import send_image, send_rendered
from bot.telegram.render import render_reply_html
from bot.telegram.updates import (
    CommandText,
    caller_of,
    chat_admin_check,
    chat_member_check,
    chat_ref,
    parse_command,
)
from core.models import Platform
from core.ports import SentAlerts

log = logging.getLogger(__name__)

TelegramApplication = Application[Any, Any, Any, Any, Any, Any]
Context = CallbackContext[Any, Any, Any, Any]

# The commands of SPEC "Chat commands", as Telegram's command menu shows them (setMyCommands).
BOT_COMMANDS = (
    ("start", "What this bot does and this chat's subscriptions"),
    ("help", "The commands"),
    ("subscribe", "Subscribe this chat: TOPIC or a query"),
    ("unsubscribe", "Stop a topic: TOPIC"),
    ("topics", "This chat's subscriptions and their modes"),
    ("search", "Search the archive: QUERY [since:7d] [source:NAME] [lang:ru]"),
    ("summary", "An article's summary: ID"),
    ("forward", "Send an article to the editors: ID [note]"),
    ("outlets", "The outlets watched"),
    ("addoutlet", "Add an outlet (admins): URL"),
    ("removeoutlet", "Remove an outlet (admins): NAME"),
    ("digest", "Delivery mode: off, hourly or daily HH:MM"),
    ("quiet", "Hold alerts in these hours: HH:MM-HH:MM"),
    ("status", "Outlets' health, queue length, version"),
    ("trend", "A chart of matches per day: TOPIC [30d]"),
)
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "my_chat_member")
GONE = frozenset({ChatMemberStatus.LEFT, ChatMemberStatus.BANNED})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)
CALLBACK_NOTICE_LIMIT = 200  # Bot API answerCallbackQuery: text of 0-200 characters
MAX_RETRY_DELAY = timedelta(minutes=1)

SORRY = "Sorry, something went wrong on our side; please try again in a minute."
HINT = "Send /help to see what I can do."


class TelegramStartError(Exception):
    """Telegram could not be met at start-up; the message is safe to show (it never holds the token)."""


class CommandService(Protocol):
    """bot.commands.Commands as the front-end uses it."""

    async def run(self, request: CommandRequest) -> Reply: ...

    async def press(self, request: CommandRequest, data: str) -> Answer: ...

    async def chat_removed(self, chat: ChatRef) -> None: ...

    async def chat_added(self, chat: ChatRef) -> None: ...


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """What the front-end needs from `[telegram]`; the token is the only secret."""

    token: str = field(repr=False)
    api_url: str = "https://api.telegram.org/bot"
    admins: tuple[int, ...] = ()
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""
    poll_timeout: timedelta = timedelta(seconds=10)

    @property
    def is_webhook(self) -> bool:
        return bool(self.webhook_url)


def build_application(config: TelegramConfig) -> TelegramApplication:
    """The PTB Application for `config`, not yet started; its `bot` also serves the editors' desk."""
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_url)
        # One bot for replies, the editors' desk and delivery: Telegram's 30 messages a second are
        # per bot, so they share one limiter; a 429 comes straight back instead of stalling every chat.
        .rate_limiter(delivery_rate_limiter())
        # newsbot's scheduler runs the periodic work; PTB's own job queue would be a second one.
        .job_queue(None)
        # A slow /addoutlet or /trend must not keep other chats (and their button presses, which
        # Telegram expires) waiting; handlers share no state that needs ordering.
        .concurrent_updates(8)
        .get_updates_read_timeout(config.poll_timeout.total_seconds() + 10)
    )
    if config.is_webhook:
        builder = builder.updater(None)
    return builder.build()


class TelegramFrontEnd:
    """Receives Telegram updates and answers them through Commands; `start`, `stop_receiving`, `close`."""

    def __init__(
        self,
        application: TelegramApplication,
        commands: CommandService,
        sent_alerts: SentAlerts,
        config: TelegramConfig,
    ) -> None:
        self._application = application
        self._commands = commands
        self._sent_alerts = sent_alerts
        self._config = config
        self._stopping = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._webhook: web.AppRunner | None = None
        application.add_handler(
            MessageHandler(
                filters.TEXT & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST),
                self._on_message,
            )
        )
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_error_handler(self._on_error)

    @property
    def connected(self) -> asyncio.Event:
        """Set once updates flow: polling started, or the webhook registered with Telegram."""
        return self._connected

    @property
    def webhook_port(self) -> int:
        """The port the webhook server listens on (the configured one, or the one port 0 got)."""
        if self._webhook is None:
            raise RuntimeError("the webhook server is not running")
        address: tuple[str, int] = self._webhook.addresses[0]
        return address[1]

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Meet the bot (getMe) and receive updates in the background.

        A refused token stops newsbot here. A Bot API that cannot be reached is retried in the
        background instead: polling outlets and queueing alerts must go on through an outage.
        """
        try:
            await self._initialize()
        except InvalidToken:
            # PTB's message quotes the token itself.
            raise TelegramStartError("Telegram refused the bot token (NEWSBOT_TELEGRAM_TOKEN)") from None
        except TelegramError as error:
            log.warning("telegram unreachable at start-up, retrying in the background: %s", error)
            self._connecting = asyncio.create_task(self._start_when_reachable(), name="telegram-start")
            return
        await self._begin()
        # Connecting is retried in the background for the same reason.
        self._connecting = asyncio.create_task(self._connect(), name="telegram-connect")

    async def _initialize(self) -> None:
        try:
            await self._application.initialize()
        except TelegramError:
            await self._application.bot.shutdown()  # the HTTP connections getMe opened
            raise

    async def _begin(self) -> None:
        """The command menu, the Application, and the webhook server when configured."""
        try:
            await self._set_commands()
            await self._application.start()
            if self._config.is_webhook:
                await self._serve_webhook()
        except BaseException as error:
            await self.close()
            if isinstance(error, OSError):
                where = f"{self._config.webhook_listen}:{self._config.webhook_port}"
                raise TelegramStartError(f"cannot listen for Telegram webhooks on {where}: {error}") from None
            raise
        log.info("telegram front-end started", extra={"bot": self._application.bot.username})

    async def _start_when_reachable(self) -> None:
        delay = timedelta(seconds=1)
        while not await self._waited(delay):
            try:
                await self._initialize()
            except InvalidToken:
                log.error("telegram refused the token, no updates will be received")
                return
            except TelegramError as error:
                log.warning("telegram still unreachable, retrying in %ds: %s", delay.total_seconds(), error)
                delay = min(delay * 2, MAX_RETRY_DELAY)
                continue
            try:
                await self._begin()
            except TelegramStartError as error:
                log.error("telegram front-end not started: %s", error)
                return
            await self._connect()
            return

    async def _waited(self, delay: timedelta) -> bool:
        """Wait `delay` unless stopping first; True when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), delay.total_seconds())
        except TimeoutError:
            return False
        return True

    async def stop_receiving(self) -> None:
        """Stop taking new updates (polling or webhook); updates already taken still get answered."""
        self._stopping.set()
        if self._connecting is not None:
            if not self._connecting.done():
                self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        updater = self._application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._webhook is not None:
            await self._webhook.cleanup()
            self._webhook = None

    async def close(self) -> None:
        """Finish the updates in hand, then close the HTTP connections."""
        if self._application.running:
            await self._application.stop()
        await self._application.shutdown()
        log.info("telegram front-end stopped")

    async def _set_commands(self) -> None:
        # Non-essential: without the menu every command still works when typed.
        try:
            await self._application.bot.set_my_commands(
                [BotCommand(name, description) for name, description in BOT_COMMANDS]
            )
        except TelegramError as error:
            log.warning("telegram setMyCommands failed, the command menu is not updated: %s", error)

    async def _connect(self) -> None:
        delay = timedelta(seconds=1)
        while not self._stopping.is_set():
            try:
                if self._config.is_webhook:
                    await self._register_webhook()
                else:
                    await self._start_polling()
            except InvalidToken:
                log.error("telegram refused the token, no updates will be received")
                return
            except TelegramError as error:
                log.warning("telegram updates not started, retrying in %ds: %s", delay.total_seconds(), error)
            else:
                self._connected.set()
                return
            try:
                await asyncio.wait_for(self._stopping.wait(), delay.total_seconds())
            except TimeoutError:
                delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _start_polling(self) -> None:
        updater = self._application.updater
        if updater is None:
            raise RuntimeError("polling needs the Application's updater")
        # deleteWebhook once here first: the call inside PTB's start-up logs a traceback on failure,
        # this one fails with a line and a retry. Bot API: https://core.telegram.org/bots/api#deletewebhook
        await self._application.bot.delete_webhook()
        await updater.start_polling(
            timeout=self._config.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=self._on_polling_error,
        )

    @staticmethod
    def _on_polling_error(error: TelegramError) -> None:
        # PTB retries getUpdates with a growing pause; a line per failure is enough.
        log.warning("telegram getUpdates failed: %s", error)

    async def _serve_webhook(self) -> None:
        server = web.Application()
        server.router.add_post(urlsplit(self._config.webhook_url).path or "/", self._receive_webhook)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self._config.webhook_listen, self._config.webhook_port).start()
        self._webhook = runner

    async def _register_webhook(self) -> None:
        # Bot API: https://core.telegram.org/bots/api#setwebhook
        await self._application.bot.set_webhook(
            self._config.webhook_url,
            secret_token=self._config.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def _receive_webhook(self, request: web.Request) -> web.Response:
        # Telegram repeats the secret in every post; anything else is not Telegram.
        offered = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(offered.encode(), self._config.webhook_secret.encode()):
            return web.Response(status=403)
        try:
            body = await request.json()
            update = Update.de_json(body, self._application.bot) if isinstance(body, dict) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        await self._application.update_queue.put(update)
        return web.Response()

    # ---- handlers ---------------------------------------------------------------------------

    async def _on_message(self, update: Update, context: Context) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or message.text is None:
            return
        try:
            await self._answer_message(message, chat, update.effective_user)
        except Exception:
            log.exception("telegram message not handled", extra={"update_id": update.update_id})
            await self._say(chat.id, Reply(lines=(plain(SORRY),), is_error=True), message.message_id)

    async def _answer_message(self, message: Message, chat: Chat, user: User | None) -> None:
        text = message.text or ""
        command: CommandText | None = None
        if text.startswith("/"):
            command = parse_command(text, self._application.bot.username)
            if command is None:
                return  # addressed to another bot in the group
        replied = await self._replied_article(message)
        if command is None:
            if replied is None:
                # Groups chat among themselves; only a private chat gets a pointer to /help.
                if chat.type == ChatType.PRIVATE:
                    await self._say(chat.id, Reply(lines=(plain(HINT),)), None)
                return
            # A text reply to an alert sends that alert to the editors with the text as the note.
            command = CommandText("forward", text.strip())
        request = CommandRequest(
            chat=chat_ref(chat),
            caller=caller_of(user, message, self._config.admins),
            name=command.name,
            argument=command.argument,
            is_chat_admin=chat_admin_check(self._application.bot, chat, user, message),
            replied_article_id=replied,
        )
        reply = await self._commands.run(request)
        thread = (
            message.reply_to_message.message_id if replied is not None and message.reply_to_message else None
        )
        await self._say(chat.id, reply, (thread or message.message_id) if reply.threaded else None)

    async def _on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        chat, pressed = update.effective_chat, query.message
        answer = Answer(notice=SORRY)
        try:
            if chat is None or pressed is None:
                answer = Answer(notice="This button no longer works; send /help for the commands.")
            else:
                request = CommandRequest(
                    chat=chat_ref(chat),
                    caller=caller_of(query.from_user, None, self._config.admins),
                    name="",
                    argument="",
                    is_chat_admin=chat_admin_check(self._application.bot, chat, query.from_user, None),
                    is_chat_member=chat_member_check(self._application.bot, chat, query.from_user),
                    replied_article_id=await self._article_of(chat.id, pressed.message_id),
                )
                answer = await self._commands.press(request, query.data or "")
        except Exception:
            log.exception("telegram button not handled", extra={"update_id": update.update_id})
        finally:
            # Bot API: every callback query is answered, or the button keeps spinning for the user.
            try:
                await query.answer(answer.notice[:CALLBACK_NOTICE_LIMIT] or None)
            except TelegramError as error:
                log.warning("telegram answerCallbackQuery failed: %s", error)
        if answer.reply is not None and chat is not None and pressed is not None:
            await self._say(chat.id, answer.reply, pressed.message_id if answer.reply.threaded else None)

    async def _on_membership(self, update: Update, context: Context) -> None:
        change, chat = update.my_chat_member, update.effective_chat
        if change is None or chat is None:
            return
        before, after = change.old_chat_member.status, change.new_chat_member.status
        try:
            if after in GONE and before not in GONE:
                # Kicked, left, or a private chat that blocked the bot: its subscriptions stop.
                await self._commands.chat_removed(chat_ref(chat))
                log.info("telegram bot removed from a chat", extra={"chat_id": chat.id})
            elif before in GONE and after not in GONE:
                await self._commands.chat_added(chat_ref(chat))
                log.info("telegram bot added to a chat", extra={"chat_id": chat.id})
        except Exception:
            log.exception("telegram membership change not handled", extra={"update_id": update.update_id})

    async def _on_error(self, update: object, context: Context) -> None:
        # The handlers catch their own errors; this is the net for whatever escapes them.
        log.error("telegram update failed: %r", context.error, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            await self._say(update.effective_chat.id, Reply(lines=(plain(SORRY),), is_error=True), None)

    # ---- helpers ----------------------------------------------------------------------------

    async def _replied_article(self, message: Message) -> int | None:
        """The article of the alert this message replies to, if it replies to one."""
        replied = message.reply_to_message
        if replied is None:
            return None
        is_from_bot = replied.from_user is not None and replied.from_user.id == self._application.bot.id
        if not is_from_bot and message.chat.type != ChatType.CHANNEL:
            return None
        return await self._article_of(message.chat.id, replied.message_id)

    async def _article_of(self, chat_id: int, message_id: int) -> int | None:
        return await self._sent_alerts.article_for_message(Platform.TELEGRAM, f"{chat_id}:{message_id}")

    async def _say(self, chat_id: int, reply: Reply, reply_to: int | None) -> None:
        """Send a neutral reply; a chat that cannot be reached is logged, never raised."""
        bot = self._application.bot
        try:
            if reply.image is not None:
                await send_image(bot, chat_id, reply.image, reply_to)
            if reply.lines:
                await send_rendered(bot, chat_id, render_reply_html(reply), reply_to)
        except TelegramError as error:
            log.warning("telegram reply not sent: %s", error, extra={"chat_id": chat_id})
