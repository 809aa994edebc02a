"""Chat commands: the semantics of SPEC "Chat commands", written once and answered with neutral replies.

Telegram and Slack front-ends turn a message or a button press into a CommandRequest, call
`Commands.run` or `Commands.press`, and render what comes back. Access is decided here, from
the caller and the chat, so both platforms enforce the same rules.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

from bot import callbacks
from bot.access import (
    BUTTON_ACCESS,
    NOT_SERVED,
    Access,
    AccessRules,
)
from bot.access import (
    Caller as Caller,  # re-exported: front-ends build requests from bot.commands alone
)
from bot.access import (
    ChatKind as ChatKind,
)
from bot.access import (
    ChatRef as ChatRef,
)
from bot.access import (
    CommandRequest as CommandRequest,
)
from bot.chart import daily_series, draw_bar_chart
from bot.phrases import (
    MAX_LABEL,
    MAX_TITLE,
    describe_plan,
    hit_lines,
    outlet_line,
    refuse,
    reply_text,
    say,
    shortened,
    summary_lines,
    trouble_line,
    when,
    worst,
)
from bot.replies import Answer, Button, Image, Line, Reply, Span, Style, plain
from bot.searches import SearchStore, StoredSearch
from core.digest import DeliveryPlan, DigestMode, QuietHours
from core.models import (
    Destination,
    Forward,
    ForwardRecord,
    KnownTopic,
    OutletRefused,
    OutletSpec,
    Platform,
    Topic,
)
from core.ports import (
    ArticleViews,
    Catalog,
    DeliveryPlans,
    EditorsDesk,
    Forwards,
    OutletProbe,
    OutletRegistry,
    SearchIndex,
)
from core.query import QuerySyntaxError
from core.search import SearchRequest, search_archive
from core.watchlist import compile_watchlist

log = logging.getLogger(__name__)

PAGE_SIZE = 10
MAX_TOPIC_NAME = 200
MAX_NOTE = 1000
MAX_TOPIC_BUTTONS = 45
# Every subscribed topic is matched against every article: one chat cannot grow that without bound.
MAX_SUBSCRIPTIONS = 50
MAX_OUTLETS_LISTED = 40
WORST_OUTLETS = 5
DEFAULT_TREND_DAYS = 30
MAX_TREND_DAYS = 365
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_DAYS = re.compile(r"^([0-9]{1,4})d$")
_ID = re.compile(r"^[0-9]{1,18}$")


@dataclass(frozen=True, slots=True)
class CommandInfo:
    usage: str  # the arguments, as help shows them
    does: str
    access: Access


COMMANDS: Mapping[str, CommandInfo] = {
    "start": CommandInfo("", "what newsbot does and this chat's subscriptions", Access.ANYONE),
    "help": CommandInfo("", "this message", Access.ANYONE),
    "subscribe": CommandInfo("TOPIC or QUERY", "alert this chat; no argument: the topics", Access.CHAT_ADMIN),
    "unsubscribe": CommandInfo("TOPIC", "stop alerting this chat about a topic", Access.CHAT_ADMIN),
    "topics": CommandInfo("", "this chat's subscriptions and delivery mode", Access.ANYONE),
    "search": CommandInfo(
        "QUERY [since:7d] [source:NAME] [lang:ru]", "newest matching archived articles", Access.ANYONE
    ),
    "summary": CommandInfo("ID", "the summary of an article", Access.ANYONE),
    "forward": CommandInfo("ID [note]", "send an article to the editors' desk", Access.MEMBER),
    "outlets": CommandInfo("[NAME]", "the watched outlets and their health", Access.ANYONE),
    "addoutlet": CommandInfo("URL", "watch a new outlet (newsbot admins)", Access.BOT_ADMIN),
    "removeoutlet": CommandInfo("NAME", "stop watching an outlet (newsbot admins)", Access.BOT_ADMIN),
    "digest": CommandInfo("off|hourly|daily HH:MM", "alerts one by one, or as a digest", Access.CHAT_ADMIN),
    "quiet": CommandInfo("HH:MM-HH:MM|off", "hold alerts in those hours, then one digest", Access.CHAT_ADMIN),
    "status": CommandInfo("", "outlets' health, the delivery queue, the version", Access.ANYONE),
    "trend": CommandInfo("TOPIC [30d]", "a chart of matches per day", Access.ANYONE),
}

STALE_BUTTON = "This button no longer works; send the command again."
FAILED = "Sorry, that failed on newsbot's side; please try again in a minute."

Handler = Callable[[CommandRequest], Awaitable[Reply]]


def parse_clock(text: str) -> time | None:
    found = _CLOCK.match(text.strip())
    return time(int(found[1]), int(found[2])) if found else None


def query_problem(query: str) -> str | None:
    """Why `query` cannot be a topic (core.query's message, with the position), or None."""
    try:
        compile_watchlist([Topic(query, query)])
    except QuerySyntaxError as error:
        return str(error)
    return None


class Commands:
    """Every chat command and button, for any platform; no exception escapes to the front-end."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        outlets: OutletRegistry,
        views: ArticleViews,
        forwards: Forwards,
        search: SearchIndex,
        plans: DeliveryPlans,
        probe: OutletProbe,
        desk: EditorsDesk | None,
        now: Callable[[], datetime],
        version: str,
        allowed_chats: Mapping[Platform, Collection[str]] | None = None,
        prefix: str = "/",
        timezone: str = "UTC",
        searches: SearchStore | None = None,
    ) -> None:
        self._catalog = catalog
        self._outlets = outlets
        self._views = views
        self._forwards = forwards
        self._search = search
        self._plans = plans
        self._probe = probe
        self._desk = desk
        self._now = now
        self._version = version
        self._access = AccessRules(allowed_chats or {})
        self._prefix = prefix  # "/" on Telegram, "/news " on Slack
        self._timezone = timezone  # of `digest daily HH:MM` and `quiet` ([delivery] timezone)
        self._searches = searches if searches is not None else SearchStore()
        self._handlers: dict[str, Handler] = {
            "start": self._start,
            "help": self._help,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "topics": self._topics,
            "search": self._search_command,
            "summary": self._summary,
            "forward": self._forward,
            "outlets": self._list_outlets,
            "addoutlet": self._add_outlet,
            "removeoutlet": self._remove_outlet,
            "digest": self._digest,
            "quiet": self._quiet,
            "status": self._status,
            "trend": self._trend,
        }

    # ---- entry points ----

    async def run(self, request: CommandRequest) -> Reply:
        """Answer a typed command; unknown commands and bad arguments get one helpful line."""
        name = request.name.strip().lstrip("/").lower()
        try:
            if name in ("start", "help"):
                return await self._handlers[name](request)
            if not self._access.serves(request.chat):
                return refuse(NOT_SERVED)
            info = COMMANDS.get(name)
            if info is None:
                return refuse(self._unknown(name))
            refusal = await self._access.refusal(request, info.access, pressed=False)
            if refusal is not None:
                return refuse(refusal)
            return await self._handlers[name](request)
        except Exception:
            log.exception("command failed", extra={"command": name, "chat": request.chat.address})
            return refuse(FAILED)

    async def press(self, request: CommandRequest, data: str) -> Answer:
        """Answer a button; stale or forged data gets a polite notice."""
        callback = callbacks.decode(data)
        if callback is None:
            return Answer(notice=STALE_BUTTON)
        try:
            if not self._access.serves(request.chat):
                return Answer(notice=NOT_SERVED)
            refusal = await self._access.refusal(request, BUTTON_ACCESS[callback.action], pressed=True)
            if refusal is not None:
                return Answer(notice=refusal)
            return await self._pressed(request, callback)
        except Exception:
            log.exception("button failed", extra={"data": data, "chat": request.chat.address})
            return Answer(notice=FAILED)

    async def chat_removed(self, chat: ChatRef) -> None:
        """The bot was removed from the chat: no alert is queued for it until it says /start again."""
        destination = await self._catalog.find_destination(chat.platform, chat.address)
        if destination is not None:
            await self._catalog.set_enabled(destination.id, False)
            log.info("chat removed the bot", extra={"destination_id": destination.id})

    async def chat_added(self, chat: ChatRef) -> None:
        """The bot was added (back) to the chat: a chat it serves gets its subscriptions' alerts again."""
        if not self._access.serves(chat):
            log.info("bot added to a chat it does not serve", extra={"chat": chat.address})
            return
        destination = await self._enabled_destination(chat)
        log.info("chat added the bot", extra={"destination_id": destination.id})

    async def _pressed(self, request: CommandRequest, callback: callbacks.Callback) -> Answer:
        action = callback.action
        if action is callbacks.Action.SUMMARY:
            reply = await self._summary_of(request.chat, callback.number)
            return Answer(notice=reply_text(reply)) if reply.is_error else Answer(reply=reply)
        if action is callbacks.Action.FORWARD:
            return Answer(notice=await self._send_to_editors(request, callback.number, ""))
        if action is callbacks.Action.PAGE:
            key, _, number = callback.argument.partition(".")
            return await self._page(request.chat, key, int(number))
        topic = await self._catalog.topic_by_id(callback.number)
        if topic is None:
            return Answer(notice="That topic no longer exists.")
        if action is callbacks.Action.MUTE:
            return Answer(notice=await self._unsubscribe_topic(request.chat, topic))
        return Answer(notice=await self._subscribe_topic(request.chat, topic))

    # ---- bad input ----

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
        if close:
            return f"Unknown command {self._prefix}{name}. Did you mean {self._prefix}{close[0]}?"
        return f"Unknown command {self._prefix}{name}; {self._prefix}help lists the commands."

    def _usage(self, name: str, problem: str = "") -> Reply:
        usage = f"Usage: {self._prefix}{name} {COMMANDS[name].usage}".rstrip()
        return refuse(f"{problem} {usage}".strip() if problem else usage)

    # ---- destinations ----

    async def _destination(self, chat: ChatRef) -> Destination:
        return await self._catalog.ensure_destination(chat.platform, chat.address, chat.title, self._now())

    async def _enabled_destination(self, chat: ChatRef) -> Destination:
        """The chat's destination, enabled again: a chat that came back gets its paused alerts."""
        destination = await self._destination(chat)
        await self._catalog.set_enabled(destination.id, True)
        return destination

    async def _subscriptions(self, chat: ChatRef) -> list[KnownTopic]:
        destination = await self._catalog.find_destination(chat.platform, chat.address)
        return await self._catalog.subscriptions_of(destination.id) if destination else []

    # ---- start, help, topics ----

    async def _start(self, request: CommandRequest) -> Reply:
        if self._access.serves(request.chat):
            await self._enabled_destination(request.chat)
        return await self._help(request)

    async def _help(self, request: CommandRequest) -> Reply:
        lines: list[Line] = [
            (
                Span("newsbot", Style.BOLD),
                Span(" watches news outlets and alerts this chat to articles that match its topics."),
            ),
            plain("Tap Summary, To editors or Mute topic on an alert. Commands:"),
        ]
        for name, info in COMMANDS.items():
            command = f"{self._prefix}{name} {info.usage}".rstrip()
            lines.append((Span(command, Style.CODE), Span(f" — {info.does}")))
        if not self._access.serves(request.chat):
            lines.append(plain(NOT_SERVED))
            return Reply(lines=tuple(lines))
        followed = await self._subscriptions(request.chat)
        if followed:
            lines.append(plain("This chat follows: " + ", ".join(topic.name for topic in followed)))
        else:
            lines.append(plain(f"This chat follows no topic yet: try {self._prefix}subscribe CSTO"))
        return Reply(lines=tuple(lines))

    async def _topics(self, request: CommandRequest) -> Reply:
        destination = await self._catalog.find_destination(request.chat.platform, request.chat.address)
        followed = await self._catalog.subscriptions_of(destination.id) if destination else []
        if destination is None or not followed:
            return say(f"This chat follows no topic; {self._prefix}subscribe shows the topics.")
        plan = await self._plans.plan_of(destination.id)
        lines = [plain("This chat follows:")]
        lines += [
            (Span(topic.name, Style.BOLD), Span(f" — {shortened(topic.query, MAX_TITLE)}"))
            for topic in followed
        ]
        lines.append(plain(f"Delivery: {describe_plan(plan, self._timezone)}."))
        return Reply(lines=tuple(lines))

    # ---- subscriptions ----

    async def _subscribe(self, request: CommandRequest) -> Reply:
        text = " ".join(request.argument.split())
        if not text:
            return await self._topic_buttons(request.chat)
        topic = await self._catalog.topic_named(text)
        if topic is None:
            if len(text) > MAX_TOPIC_NAME:
                return refuse(f"A new topic's query is at most {MAX_TOPIC_NAME} characters.")
            problem = query_problem(text)
            if problem is not None:
                return refuse(f"{text!r} is not a known topic, nor a valid query: {problem}")
            topic = await self._catalog.add_topic(Topic(text, text), self._now())
        return say(await self._subscribe_topic(request.chat, topic))

    async def _subscribe_topic(self, chat: ChatRef, topic: KnownTopic) -> str:
        followed = await self._subscriptions(chat)
        if len(followed) >= MAX_SUBSCRIPTIONS and topic.id not in {known.id for known in followed}:
            return f"This chat follows {len(followed)} topics, the most one chat may: unsubscribe from one first."
        destination = await self._enabled_destination(chat)
        if await self._catalog.subscribe_to(destination.id, topic.id, self._now()):
            return f"Subscribed: this chat gets alerts about {topic.name}."
        return f"This chat already follows {topic.name}."

    async def _topic_buttons(self, chat: ChatRef) -> Reply:
        known = await self._catalog.known_topics()
        if not known:
            return say(f"No topics yet: {self._prefix}subscribe QUERY makes one.")
        followed = {topic.id for topic in await self._subscriptions(chat)}
        shown = known[:MAX_TOPIC_BUTTONS]
        buttons = [
            Button(
                ("✓ " if topic.id in followed else "") + shortened(topic.name, MAX_LABEL),
                callbacks.subscribe(topic.id).encode(),
            )
            for topic in shown
        ]
        rows = tuple(tuple(buttons[start : start + 3]) for start in range(0, len(buttons), 3))
        text = f"Tap a topic to subscribe this chat, or send {self._prefix}subscribe QUERY for a new one."
        if len(known) > len(shown):
            text += f" ({len(known) - len(shown)} more: subscribe to them by name.)"
        return Reply(lines=(plain(text),), buttons=rows)

    async def _unsubscribe(self, request: CommandRequest) -> Reply:
        name = " ".join(request.argument.split())
        if not name:
            followed = ", ".join(topic.name for topic in await self._subscriptions(request.chat))
            return self._usage("unsubscribe", f"This chat follows: {followed}." if followed else "")
        topic = await self._catalog.topic_named(name)
        if topic is None:
            return refuse(f"No topic is named {name!r}; {self._prefix}topics lists this chat's.")
        return say(await self._unsubscribe_topic(request.chat, topic))

    async def _unsubscribe_topic(self, chat: ChatRef, topic: KnownTopic) -> str:
        destination = await self._catalog.find_destination(chat.platform, chat.address)
        if destination is None or not await self._catalog.unsubscribe_from(destination.id, topic.id):
            return f"This chat does not follow {topic.name}."
        return f"Unsubscribed: no more alerts about {topic.name} here."

    # ---- delivery modes ----

    async def _digest(self, request: CommandRequest) -> Reply:
        words = request.argument.lower().split()
        if not words:
            plan = await self._plan(request.chat)
            return self._usage("digest", f"Now: {describe_plan(plan, self._timezone)}.")
        try:
            mode = DigestMode(words[0])
        except ValueError:
            return self._usage("digest", f"{words[0]!r} is not a digest mode.")
        daily_at = parse_clock(words[1]) if mode is DigestMode.DAILY and len(words) == 2 else None
        if (mode is DigestMode.DAILY and daily_at is None) or (
            mode is not DigestMode.DAILY and len(words) > 1
        ):
            return self._usage("digest", "Give a time only for daily, as HH:MM.")
        destination = await self._destination(request.chat)
        await self._plans.set_digest(destination.id, mode, daily_at)
        plan = await self._plans.plan_of(destination.id)
        return say(f"This chat now gets {describe_plan(plan, self._timezone)}.")

    async def _quiet(self, request: CommandRequest) -> Reply:
        text = "".join(request.argument.split()).lower()
        if not text:
            plan = await self._plan(request.chat)
            return self._usage("quiet", f"Now: {describe_plan(plan, self._timezone)}.")
        quiet: QuietHours | None = None
        if text != "off":
            start, _, end = text.replace("–", "-").partition("-")
            starts, ends = parse_clock(start), parse_clock(end)
            if starts is None or ends is None:
                return self._usage("quiet", f"{request.argument.strip()!r} is not a time range.")
            if starts == ends:
                return self._usage("quiet", "The quiet hours must start and end at different times.")
            quiet = QuietHours(starts, ends)
        destination = await self._destination(request.chat)
        await self._plans.set_quiet(destination.id, quiet)
        plan = await self._plans.plan_of(destination.id)
        return say(f"This chat now gets {describe_plan(plan, self._timezone)}.")

    async def _plan(self, chat: ChatRef) -> DeliveryPlan:
        destination = await self._catalog.find_destination(chat.platform, chat.address)
        return await self._plans.plan_of(destination.id) if destination else DeliveryPlan()

    # ---- search ----

    async def _search_command(self, request: CommandRequest) -> Reply:
        query = request.argument.strip()
        if not query:
            return self._usage("search")
        key, search = self._searches.add(chat_key(request.chat), query)
        try:
            return await self._search_page(key, search, 0)
        except QuerySyntaxError as error:
            self._searches.forget(key)
            return refuse(f"Not a valid query: {error}.")

    async def _page(self, chat: ChatRef, key: str, number: int) -> Answer:
        search = self._searches.get(key, chat_key(chat))
        if search is None or not search.has_page(number):
            return Answer(notice=f"This search has expired; run {self._prefix}search again.")
        return Answer(reply=await self._search_page(key, search, number))

    async def _search_page(self, key: str, search: StoredSearch, number: int) -> Reply:
        request = SearchRequest(search.query, limit=PAGE_SIZE, after=search.start_of(number))
        page = await search_archive(self._search, request, self._now())
        if not page.hits:
            return say("No archived article matches." if number == 0 else "No more results.")
        first = number * PAGE_SIZE + 1
        heading = f"Results {first}–{first + len(page.hits) - 1} for {shortened(search.query, MAX_TITLE)}:"
        lines: list[Line] = [plain(heading)]
        for hit in page.hits:
            lines += hit_lines(hit, self._prefix)
        buttons: list[Button] = []
        if number > 0:
            buttons.append(Button("‹ Newer", callbacks.page(key, number - 1).encode()))
        if search.learn_next(number, page.next):
            buttons.append(Button("Older ›", callbacks.page(key, number + 1).encode()))
        return Reply(lines=tuple(lines), buttons=(tuple(buttons),) if buttons else ())

    # ---- articles: summary and forward ----

    async def _summary(self, request: CommandRequest) -> Reply:
        text = request.argument.strip()
        if not text and request.replied_article_id is not None:
            return await self._summary_of(request.chat, request.replied_article_id)
        if not _ID.match(text):
            return self._usage("summary", "An article id is a number, as shown on alerts and results.")
        return await self._summary_of(request.chat, int(text))

    async def _summary_of(self, chat: ChatRef, article_id: int) -> Reply:
        alert = await self._views.alert_view(article_id, placeholder(chat))
        if alert is None:
            return refuse(f"No article has id {article_id}.")
        lines = summary_lines(alert.article)
        return Reply(lines=tuple(lines), threaded=True)

    async def _forward(self, request: CommandRequest) -> Reply:
        text = request.argument.strip()
        if request.replied_article_id is not None:
            # Replying to an alert: the article is that alert's, and all the text is the note.
            article_id, note = request.replied_article_id, text
        else:
            first, _, note = text.partition(" ")
            if not _ID.match(first):
                return self._usage("forward", "Give the article id, as shown on alerts and results.")
            article_id, note = int(first), note.strip()
        if len(note) > MAX_NOTE:
            return refuse(f"A note of at most {MAX_NOTE} characters, please.")
        return Reply(lines=(plain(await self._send_to_editors(request, article_id, note)),), threaded=True)

    async def _send_to_editors(self, request: CommandRequest, article_id: int, note: str) -> str:
        """Post the article to every editors' desk once; the line to tell the journalist."""
        if self._desk is None:
            return "No editors' desk is configured, so nothing was sent."
        chat = request.chat
        destination = await self._catalog.find_destination(chat.platform, chat.address)
        alert = await self._views.alert_view(article_id, destination or placeholder(chat))
        if alert is None:
            return f"No article has id {article_id}."
        by, source = request.caller.name, chat.title or chat.address
        earlier = await self._forwards.claim_forward(ForwardRecord(article_id, by, source, note, self._now()))
        if earlier is not None:
            return f"Already sent to the editors by {earlier.forwarded_by} at {when(earlier.at)}."
        try:
            posted = await self._desk.post(Forward(alert, by, source, note))
        except Exception:
            log.exception("editors' desk failed", extra={"article_id": article_id})
            posted = 0
        if not posted:
            # Nobody got it: forget the forward, or the next try would say it was sent.
            await self._forwards.release_forward(article_id)
            return "Could not reach the editors' desk; please try again in a minute."
        return "Sent to the editors" + (" with your note." if note else ".")

    # ---- outlets ----

    async def _list_outlets(self, request: CommandRequest) -> Reply:
        wanted = request.argument.strip().casefold()
        outlets = [o for o in await self._outlets.watched_outlets() if wanted in o.name.casefold()]
        if not outlets:
            return say(
                "No outlet is watched." if not wanted else f"No watched outlet name contains {wanted!r}."
            )
        now = self._now()
        lines = [plain(f"{len(outlets)} outlets:")]
        lines += [outlet_line(outlet, now) for outlet in outlets[:MAX_OUTLETS_LISTED]]
        if len(outlets) > MAX_OUTLETS_LISTED:
            more = len(outlets) - MAX_OUTLETS_LISTED
            lines.append(plain(f"… and {more} more; {self._prefix}outlets NAME narrows the list."))
        return Reply(lines=tuple(lines))

    async def _add_outlet(self, request: CommandRequest) -> Reply:
        url = request.argument.strip()
        if not url or len(url.split()) != 1:
            return self._usage("addoutlet")
        found = await self._probe.probe(url)
        if isinstance(found, OutletRefused):
            return refuse(f"Cannot watch {url}: {found.reason}")
        now = self._now()
        name = found.name.strip() or urlsplit(found.url).hostname or found.url
        added = await self._outlets.add_outlet(OutletSpec(name, found.url, found.kind), now)
        if added is None and await self._outlets.restore_outlet(found.url, now) is not None:
            return say(f"Watching {name} again ({found.kind.value}, {found.items} items now).")
        if added is None and not await self._is_watched(found.url):
            # The name is taken by another outlet: the host tells them apart.
            name = f"{name} ({urlsplit(found.url).hostname or found.url})"
            added = await self._outlets.add_outlet(OutletSpec(name, found.url, found.kind), now)
        if added is None:
            return refuse(f"{found.url} is already watched.")
        note = f"; {found.note}" if found.note else ""
        return say(
            f"Added {added.name}: {found.kind.value}, {found.items} items now{note}. "
            "Only articles published from here on alert."
        )

    async def _is_watched(self, url: str) -> bool:
        return any(outlet.url == url for outlet in await self._outlets.watched_outlets())

    async def _remove_outlet(self, request: CommandRequest) -> Reply:
        name = request.argument.strip()
        if not name:
            return self._usage("removeoutlet")
        removed = await self._outlets.remove_outlet(name)
        if removed is None:
            return refuse(f"No watched outlet is named {name!r}; {self._prefix}outlets lists them.")
        return say(f"Stopped watching {removed.name}; its archived articles stay searchable.")

    # ---- status and trend ----

    async def _status(self, request: CommandRequest) -> Reply:
        outlets = await self._outlets.watched_outlets()
        now = self._now()
        deactivated = [o for o in outlets if o.state.is_deactivated]
        failing = [o for o in outlets if o.state.consecutive_failures and not o.state.is_deactivated]
        ok = len(outlets) - len(deactivated) - len(failing)
        lines: list[Line] = [
            (Span(f"newsbot {self._version}", Style.BOLD),),
            plain(f"Outlets: {ok} ok, {len(failing)} failing, {len(deactivated)} deactivated."),
        ]
        lines += [trouble_line(outlet, now) for outlet in worst(outlets)[:WORST_OUTLETS]]
        states = await self._views.count_by_state()
        queue = ", ".join(
            f"{states.get(state, 0)} {state}" for state in ("pending", "sending", "sent", "dead")
        )
        lines.append(plain(f"Alerts: {queue}."))
        return Reply(lines=tuple(lines))

    async def _trend(self, request: CommandRequest) -> Reply:
        words = request.argument.split()
        days = DEFAULT_TREND_DAYS
        if words and (found := _DAYS.match(words[-1].lower())):
            days = int(found[1])
            words = words[:-1]
            if not 1 <= days <= MAX_TREND_DAYS:
                return self._usage("trend", f"From 1d to {MAX_TREND_DAYS}d, please.")
        if not words:
            return self._usage("trend")
        topic = await self._catalog.topic_named(" ".join(words))
        if topic is None:
            return refuse(f"No topic is named {' '.join(words)!r}; {self._prefix}subscribe lists them.")
        today = self._now().astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        counts = await self._views.matches_per_day(topic.id, datetime.combine(first, time(), UTC))
        series = daily_series(counts, first, today)
        total = sum(count for _, count in series)
        caption = f"{topic.name}: {total} matching articles in the last {days} days (UTC)"
        # Drawing takes tens of milliseconds: off the loop, so alerts keep flowing meanwhile.
        png = await asyncio.to_thread(draw_bar_chart, f"{topic.name}: matches per day", series)
        return Reply(lines=(plain(caption),), image=Image(png, caption))


def chat_key(chat: ChatRef) -> str:
    return f"{chat.platform.value}:{chat.address}"


def placeholder(chat: ChatRef) -> Destination:
    """The chat as a destination that follows nothing: an article's view shows all its matches."""
    return Destination(0, chat.platform, chat.address, chat.title)
