"""A fake Telegram Bot API server on loopback: answers what newsbot calls, records every call, fails on script.

Point python-telegram-bot at it with `Bot(token, base_url=f"{server.url}/bot")`. PTB posts
`application/x-www-form-urlencoded` bodies (every value JSON-encoded except plain strings) and
`multipart/form-data` when it uploads a file; both are accepted, as is a JSON body. Parameters are
recorded decoded: ids as ints, `reply_markup` and other structured fields as JSON, uploads as bytes.

Failures are scripted per method (and optionally per chat) with `script(method, fault, ...)`, one-shot
(`times=1`), a number of times, or persistently (`times=None`); `responder` decides per call when a
test needs a rule rather than a list (e.g. "every other sendMessage gets 429").
Bot API: https://core.telegram.org/bots/api
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456789:TEST-fake-token"

# Parameters whose form value is JSON text (https://core.telegram.org/bots/api#making-requests).
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
    }
)
INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
        "cache_time",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "disable_web_page_preview",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
    }
)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})


@dataclass(frozen=True, slots=True)
class Fault:
    """A scripted answer: an error (`error_code` set) or, with `error_code` None, a normal answer given late."""

    error_code: int | None
    description: str = ""
    parameters: Mapping[str, object] | None = None
    delay: float = 0.0  # seconds before answering (real time): longer than the client's timeout = a timeout


def too_many_requests(retry_after: int) -> Fault:
    """429 with `parameters.retry_after`, as Telegram's flood control answers."""
    return Fault(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def blocked() -> Fault:
    return Fault(403, "Forbidden: bot was blocked by the user")


def kicked() -> Fault:
    return Fault(403, "Forbidden: bot was kicked from the supergroup chat")


def cant_parse_entities() -> Fault:
    return Fault(400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0')


def migrated(new_chat_id: int) -> Fault:
    """400 telling the group became a supergroup with a new id."""
    return Fault(
        400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_chat_id}
    )


def chat_not_found() -> Fault:
    return Fault(400, "Bad Request: chat not found")


def slow(seconds: float) -> Fault:
    """The normal answer, but only after `seconds`: with a shorter client timeout, a timeout."""
    return Fault(None, delay=seconds)


@dataclass(frozen=True, slots=True)
class Call:
    """One request the server received."""

    method: str
    params: Mapping[str, Any]
    at: datetime
    token: str
    status: int = 200  # the HTTP status answered
    fault: Fault | None = None  # the scripted answer it got, if any

    @property
    def retry_after(self) -> int:
        """The flood wait this call was told to keep (0 unless it was answered 429)."""
        parameters = self.fault.parameters if self.fault is not None else None
        value = parameters.get("retry_after", 0) if parameters else 0
        return int(value) if isinstance(value, int | float | str) else 0

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        return value if value is None or isinstance(value, int | str) else str(value)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class _Script:
    fault: Fault
    chat_id: int | str | None
    times: int | None  # None: for ever


@dataclass
class _Chat:
    id: int | str
    type: str
    title: str
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)


def _decode(name: str, value: Any) -> Any:
    """Turn a form value back into what the client meant; JSON bodies arrive already typed."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        return json.loads(value)
    if name in INT_FIELDS or name == "chat_id":
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername" is a valid chat_id
    if name in BOOL_FIELDS:
        return value.lower() == "true"
    return value


class TelegramApiServer:
    """Start with `async with TelegramApiServer() as server`; see the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        bot_username: str = "newsbot_test_bot",
    ) -> None:
        self.token = token
        self.clock = clock
        self.bot_username = bot_username
        self.calls: list[Call] = []
        self.responder: Callable[[Call], Fault | None] | None = None
        self.commands: list[dict[str, Any]] = []
        self.webhook_url = ""
        self._scripts: dict[str, list[_Script]] = {}
        self._chats: dict[int | str, _Chat] = {}
        self._members: dict[tuple[int | str, int], str] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The server's root; PTB's base_url is `f"{url}/bot"`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_id(self) -> int:
        prefix = self.token.split(":", 1)[0]
        return int(prefix) if prefix.isdigit() else 1

    async def __aenter__(self) -> TelegramApiServer:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Answer pending long polls and slow calls at once, then close."""
        self._stopping.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what a test sets up ---------------------------------------------------------------

    def script(
        self, method: str, fault: Fault, *, chat_id: int | str | None = None, times: int | None = 1
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with `fault`; None: always."""
        self._scripts.setdefault(method, []).append(_Script(fault, chat_id, times))

    def clear_scripts(self) -> None:
        self._scripts.clear()
        self.responder = None

    def set_chat(self, chat_id: int | str, *, type: str, title: str = "") -> None:
        """Declare a chat's type ("private", "group", "supergroup", "channel"); otherwise guessed from the id."""
        chat = self._chat(chat_id)
        chat.type = type
        chat.title = title or chat.title

    def set_member(self, chat_id: int | str, user_id: int, status: str) -> None:
        """What getChatMember says about `user_id` in `chat_id` (default "left")."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {status!r}")
        self._members[(chat_id, user_id)] = status

    async def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id (assigned when the update has none)."""
        async with self._changed:
            body = dict(update)
            if "update_id" not in body:
                body["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(body["update_id"])) + 1
            self._updates.append(body)
            self._changed.notify_all()
        return int(body["update_id"])

    # --- what a test reads -----------------------------------------------------------------

    def calls_of(
        self, method: str, *, chat_id: int | str | None = None, ok: bool | None = None
    ) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method == method
            and (chat_id is None or call.chat_id == chat_id)
            and (ok is None or call.ok == ok)
        ]

    def sent_messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """The messages the chat holds now (after edits), in the order they were sent."""
        chat = self._chats.get(chat_id)
        return [chat.messages[key] for key in sorted(chat.messages)] if chat else []

    async def wait_for_call(self, method: str, count: int = 1, within: float = 10) -> list[Call]:
        """Return the calls of `method` once there are at least `count` of them (or fail after `within` s)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_of(method)) >= count)
        return self.calls_of(method)

    # --- the server ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        params = await self._params(request)
        call = Call(method, params, self.clock(), token)
        if token != self.token:
            return await self._record(call, _error(401, "Unauthorized"))
        fault = self._fault_for(call)
        if fault is not None and fault.delay:
            await self._wait(fault.delay)
            if self._stopping.is_set():
                return await self._record(call, _error(502, "Bad Gateway"))
        if fault is not None and fault.error_code is not None:
            response = _error(fault.error_code, fault.description, fault.parameters)
            return await self._record(call, response, fault)
        answer = getattr(self, f"_api_{method}", None)
        if answer is None:
            return await self._record(call, _error(404, "Not Found: method not found"))
        try:
            result = await answer(params)
        except _ApiError as error:
            return await self._record(call, _error(error.code, error.description))
        return await self._record(call, web.json_response({"ok": True, "result": result}))

    async def _record(self, call: Call, response: web.Response, fault: Fault | None = None) -> web.Response:
        async with self._changed:
            self.calls.append(Call(call.method, call.params, call.at, call.token, response.status, fault))
            self._changed.notify_all()
        return response

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.name is None or not hasattr(part, "read"):
                    continue
                data = await part.read()  # type: ignore[union-attr]
                params[part.name] = data if part.filename else data.decode()
        elif request.can_read_body:
            params.update(await request.post())
        return {name: _decode(name, value) for name, value in params.items()}

    def _fault_for(self, call: Call) -> Fault | None:
        if self.responder is not None:
            decided = self.responder(call)
            if decided is not None:
                return decided
        for script in self._scripts.get(call.method, []):
            if script.chat_id is not None and script.chat_id != call.chat_id:
                continue
            if script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    self._scripts[call.method].remove(script)
            return script.fault
        return None

    async def _wait(self, seconds: float) -> None:
        """Sleep, but wake as soon as the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _chat(self, chat_id: int | str) -> _Chat:
        if chat_id not in self._chats:
            kind = "channel" if isinstance(chat_id, str) else guess_kind(chat_id)
            self._chats[chat_id] = _Chat(chat_id, kind, f"Chat {chat_id}")
        return self._chats[chat_id]

    def _chat_json(self, chat: _Chat) -> dict[str, Any]:
        if chat.type == "private":
            return {"id": chat.id, "type": "private", "first_name": chat.title}
        if isinstance(chat.id, str):
            return {"id": -1000000000001, "type": chat.type, "title": chat.title, "username": chat.id[1:]}
        return {"id": chat.id, "type": chat.type, "title": chat.title}

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Newsbot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def _required_chat(self, params: Mapping[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        return self._chat(chat_id)

    def _new_message(self, chat: _Chat, params: Mapping[str, Any], **content: Any) -> dict[str, Any]:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": self._now(),
            "chat": self._chat_json(chat),
            **content,
        }
        if chat.type != "channel":
            message["from"] = self._me()
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        reply_to = params.get("reply_to_message_id") or (params.get("reply_parameters") or {}).get(
            "message_id"
        )
        if reply_to in chat.messages:
            message["reply_to_message"] = chat.messages[reply_to]
        chat.messages[message_id] = message
        return message

    # --- Bot API methods (https://core.telegram.org/bots/api#available-methods) -------------

    async def _api_getMe(self, params: Mapping[str, Any]) -> object:
        return self._me()

    async def _api_getUpdates(self, params: Mapping[str, Any]) -> object:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            # Bot API: an offset confirms (forgets) every update with a smaller id.
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0 and not self._stopping.is_set():
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(self._updates) or self._stopping.is_set())
                except TimeoutError:
                    pass
            return self._updates[:limit]

    async def _api_sendMessage(self, params: Mapping[str, Any]) -> object:
        chat = self._required_chat(params)
        text = str(params.get("text") or "")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._new_message(chat, params, text=text)

    async def _api_sendPhoto(self, params: Mapping[str, Any]) -> object:
        chat = self._required_chat(params)
        photo = params.get("photo")
        if not photo:
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        size = len(photo) if isinstance(photo, bytes) else 0
        sizes = [
            {
                "file_id": f"photo-{chat.next_message_id}",
                "file_unique_id": "u1",
                "width": 800,
                "height": 600,
                "file_size": size,
            }
        ]
        content: dict[str, Any] = {"photo": sizes}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(chat, params, **content)

    async def _api_editMessageText(self, params: Mapping[str, Any]) -> object:
        chat = self._required_chat(params)
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text = str(params.get("text") or "")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        message["edit_date"] = self._now()
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    async def _api_answerCallbackQuery(self, params: Mapping[str, Any]) -> object:
        if not params.get("callback_query_id"):
            raise _ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        return True

    async def _api_getChatMember(self, params: Mapping[str, Any]) -> object:
        chat = self._required_chat(params)
        user_id = int(params.get("user_id") or 0)
        status = self._members.get((chat.id, user_id), "left")
        user = {"id": user_id, "is_bot": user_id == self.bot_id, "first_name": f"User {user_id}"}
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        elif status == "restricted":
            member.update(
                is_member=True,
                can_send_messages=False,
                can_send_audios=False,
                can_send_documents=False,
                can_send_photos=False,
                can_send_videos=False,
                can_send_video_notes=False,
                can_send_voice_notes=False,
                can_send_polls=False,
                can_send_other_messages=False,
                can_add_web_page_previews=False,
                can_change_info=False,
                can_invite_users=False,
                can_pin_messages=False,
                can_manage_topics=False,
                can_edit_tag=False,
                can_react_to_messages=False,
                until_date=0,
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _api_getChat(self, params: Mapping[str, Any]) -> object:
        chat = self._required_chat(params)
        return {
            **self._chat_json(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _api_leaveChat(self, params: Mapping[str, Any]) -> object:
        self._required_chat(params)
        return True

    async def _api_setMyCommands(self, params: Mapping[str, Any]) -> object:
        self.commands = list(params.get("commands") or [])
        return True

    async def _api_deleteWebhook(self, params: Mapping[str, Any]) -> object:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            async with self._changed:
                self._updates.clear()
        return True

    async def _api_setWebhook(self, params: Mapping[str, Any]) -> object:
        self.webhook_url = str(params.get("url") or "")
        return True

    async def _api_getWebhookInfo(self, params: Mapping[str, Any]) -> object:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }


def guess_kind(chat_id: int) -> str:
    """Telegram's id ranges: users are positive, supergroups and channels -100 and ten digits, groups negative."""
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1_000_000_000_000 else "group"


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error(code: int, description: str, parameters: Mapping[str, object] | None = None) -> web.Response:
    body: dict[str, object] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = dict(parameters)
    return web.json_response(body, status=code)


# --- updates a test pushes (https://core.telegram.org/bots/api#update) -----------------------


def user_json(user_id: int, name: str = "", *, is_bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "is_bot": is_bot, "first_name": name or f"User {user_id}"}


def chat_json(chat_id: int, *, kind: str = "", title: str = "") -> dict[str, Any]:
    """A Chat object; the kind is guessed from the id when not given (positive: private)."""
    kind = kind or guess_kind(chat_id)
    if kind == "private":
        return {"id": chat_id, "type": "private", "first_name": title or f"User {chat_id}"}
    return {"id": chat_id, "type": kind, "title": title or f"Chat {chat_id}"}


def text_message(
    chat_id: int,
    user_id: int,
    text: str,
    *,
    message_id: int = 1,
    date: int = 1_790_000_000,
    reply_to: Mapping[str, Any] | None = None,
    chat_kind: str = "",
    sender_chat_id: int | None = None,
) -> dict[str, Any]:
    """An update carrying a text message; a leading /command gets its bot_command entity.

    `sender_chat_id` makes it a message sent on behalf of a chat (an anonymous group admin sends as
    the group itself, with `from` the GroupAnonymousBot, user id 1087968824).
    """
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": date,
        "chat": chat_json(chat_id, kind=chat_kind),
        "from": user_json(user_id),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if reply_to is not None:
        message["reply_to_message"] = dict(reply_to)
    if sender_chat_id is not None:
        message["from"] = user_json(1087968824, "Group", is_bot=True)
        message["sender_chat"] = chat_json(sender_chat_id, kind=chat_kind or "supergroup")
    return {"message": message}


def callback_query(
    chat_id: int,
    user_id: int,
    data: str,
    *,
    message: Mapping[str, Any] | None = None,
    query_id: str = "cq-1",
) -> dict[str, Any]:
    """An update for a button press on `message` (by default a bot message 1 in the chat)."""
    pressed = (
        dict(message)
        if message is not None
        else {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": chat_json(chat_id),
            "text": "alert",
        }
    )
    return {
        "callback_query": {
            "id": query_id,
            "from": user_json(user_id),
            "chat_instance": f"ci-{chat_id}",
            "message": pressed,
            "data": data,
        }
    }


def my_chat_member(
    chat_id: int, user_id: int, bot_id: int, old: str, new: str, *, date: int = 1_790_000_000
) -> dict[str, Any]:
    """An update saying the bot's status in a chat changed (e.g. "member" → "kicked")."""

    def member(status: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status, "user": user_json(bot_id, "Newsbot", is_bot=True)}
        if status == "kicked":
            body["until_date"] = 0
        return body

    return {
        "my_chat_member": {
            "chat": chat_json(chat_id),
            "from": user_json(user_id),
            "date": date,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    }
