"""Telegram rendering: golden messages, buttons, digests, and a property test over hostile article text."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import callbacks
from bot.replies import Button, Forward, Reply, Span, Style, plain
from bot.telegram.render import (
    RenderedMessage,
    render_alert_html,
    render_digest_html,
    render_forward_html,
    render_reply_html,
)
from core.models import Alert, Article, Destination, Platform, Snippet, TopicMatch

LIMIT = 4096
ALLOWED_TAGS = {"b", "i", "u", "code", "a"}
ALLOWED_ENTITIES = {"lt", "gt", "amp", "quot"}
# Text Telegram would make a live entity of: a mention, a bot command, a domain dot, a scheme's "//".
LIVE_ENTITY = re.compile(r"@[A-Za-z0-9_]|/[A-Za-z0-9_]|\.[^\s\u2060]|:/")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")

CHAT = Destination(1, Platform.TELEGRAM, "-1001234567890", "desk")
PUBLISHED = datetime(2026, 11, 27, 6, 40, tzinfo=UTC)
ARTICLE = Article(
    id=123,
    outlet_id=7,
    outlet_name="Azattyq",
    title="CSTO drills begin in Tajikistan",
    url="https://rus.azattyq.org/a/123.html?utm=1&x=2",
    summary="",
    published=PUBLISHED,
    first_seen_at=PUBLISHED + timedelta(minutes=1),
)
CSTO = TopicMatch(
    "CSTO", ("CSTO", "ОДКБ"), "body", Snippet("The CSTO (ОДКБ) drills begin today", ((4, 8), (10, 14))), 5
)
ALERT = Alert(id=9, destination=CHAT, article=ARTICLE, matches=(CSTO,), also_in=("TASS", "Reuters"))


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class TelegramHtml(HTMLParser):
    """A strict reader of the HTML subset newsbot emits; `problems` lists every deviation."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open: list[str] = []
        self.visible: list[str] = []  # the text a client shows, outside <code>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag {raw!r}")
        elif tag == "a":
            self.check_link(raw, attrs)
        elif raw != f"<{tag}>":
            self.problems.append(f"attributes on {raw!r}")
        if tag in self.open:
            self.problems.append(f"<{tag}> inside <{tag}>")
        self.open.append(tag)

    def check_link(self, raw: str, attrs: list[tuple[str, str | None]]) -> None:
        quoted = re.fullmatch(r'<a href="([^"<>]*)">', raw)
        if quoted is None or len(attrs) != 1 or attrs[0][0] != "href" or attrs[0][1] is None:
            self.problems.append(f"link {raw!r}")
            return
        check_entities(quoted.group(1), self.problems)
        href = attrs[0][1]
        if not re.match(r"https?://[^\s/?#]", href, re.IGNORECASE):
            self.problems.append(f"href {href!r}")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_data(self, data: str) -> None:
        if set(data) & {"<", ">", "&"}:
            self.problems.append(f"raw markup character in {data[:40]!r}")
        if "code" not in self.open:
            self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ALLOWED_ENTITIES:
            self.problems.append(f"entity &{name};")
        self.visible.append(" ")  # an escaped character starts no entity of its own

    def handle_charref(self, name: str) -> None:
        self.problems.append(f"character reference &#{name};")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("unknown declaration")


def check_entities(source: str, problems: list[str]) -> None:
    for found in re.finditer(r"&([^;&]*);?", source):
        if found.group(1) not in ALLOWED_ENTITIES or not found.group().endswith(";"):
            problems.append(f"entity {found.group()[:12]!r}")


def html_problems(source: str) -> list[str]:
    """Everything that keeps `source` from being the Telegram HTML newsbot means to send."""
    reader = TelegramHtml()
    reader.feed(source)
    reader.close()
    problems = reader.problems
    check_entities(source, problems)  # also a stray "&" the parser would have taken as data
    if reader.open:
        problems.append(f"unclosed {reader.open}")
    if reader.rawdata:
        problems.append(f"unparsed {reader.rawdata[:40]!r}")
    visible = "".join(reader.visible)
    if LIVE_ENTITY.search(visible):
        problems.append(f"live entity near {LIVE_ENTITY.search(visible)!r}")
    if CONTROL.search(source):
        problems.append("control character")
    if utf16(source) > LIMIT:
        problems.append(f"{utf16(source)} UTF-16 units")
    return problems


def plain_problems(text: str) -> list[str]:
    problems = [f"{utf16(text)} UTF-16 units"] if utf16(text) > LIMIT else []
    if CONTROL.search(text):
        problems.append("control character")
    if not text.strip():
        problems.append("empty")
    return problems


def assert_sendable(message: RenderedMessage) -> None:
    assert html_problems(message.text) == [], message.text
    assert plain_problems(message.plain) == [], message.plain


# ---- golden examples


def test_alert_golden_html() -> None:
    message = render_alert_html(ALERT)

    assert message.text == (
        '<a href="https://rus.azattyq.org/a/123.html?utm=1&amp;x=2">CSTO drills begin in Tajikistan</a>\n'
        "Azattyq · 27 Nov 2026 06:40 UTC\n"
        "Topic: <b>CSTO</b>, matched “CSTO”, “ОДКБ”\n"
        "The <b>CSTO</b> (<b>ОДКБ</b>) drills begin today\n"
        "also in: TASS, Reuters\n"
        "ID <code>123</code>"
    )
    assert message.plain == (
        "CSTO drills begin in Tajikistan (https://rus.azattyq.org/a/123.html?utm=1&x=2)\n"
        "Azattyq · 27 Nov 2026 06:40 UTC\n"
        "Topic: CSTO, matched “CSTO”, “ОДКБ”\n"
        "The CSTO (ОДКБ) drills begin today\n"
        "also in: TASS, Reuters\n"
        "ID 123"
    )
    assert_sendable(message)


def test_alert_buttons_call_back_summary_forward_and_mute() -> None:
    (row,) = render_alert_html(ALERT).buttons

    assert row == (Button("Summary", "s:123"), Button("To editors", "f:123"), Button("Mute topic", "m:5"))
    assert [callbacks.decode(button.data) for button in row] == [
        callbacks.summary(123),
        callbacks.forward(123),
        callbacks.mute(5),
    ]


def test_a_match_without_topic_id_has_no_mute_button() -> None:
    alert = replace(ALERT, matches=(CSTO._replace(topic_id=0),))

    (row,) = render_alert_html(alert).buttons

    assert [button.label for button in row] == ["Summary", "To editors"]


def test_several_topics_are_listed_once_each_with_their_terms() -> None:
    sco = TopicMatch("SCO", ("ШОС",), "title", Snippet("ШОС", ((0, 3),)), 6)
    alert = replace(ALERT, matches=(CSTO, sco, CSTO._replace(terms=("CSTO",))))

    (topics_line,) = [line for line in render_alert_html(alert).text.split("\n") if "Topic" in line]

    assert topics_line == "Topics: <b>CSTO</b>, matched “CSTO”, “ОДКБ”; <b>SCO</b>, matched “ШОС”"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "tg://resolve?domain=evil",
        "mailto:a@example.org",
        "ftp://example.org/file",
        "https:///no-host",
        "https://exa mple.org/",
        "https://example.org/" + "a" * 2000,
        None,
    ],
)
def test_a_title_with_a_link_we_may_not_make_is_bold_text(url: str | None) -> None:
    alert = replace(ALERT, article=replace(ARTICLE, url=url))

    message = render_alert_html(alert)

    assert message.text.startswith("<b>CSTO drills begin in Tajikistan</b>\n")
    assert "href" not in message.text
    assert "(" not in message.plain.split("\n")[0]
    assert_sendable(message)


def test_a_mixed_case_http_link_is_kept() -> None:
    alert = replace(ALERT, article=replace(ARTICLE, url=" HTTPS://Example.org/x "))

    assert render_alert_html(alert).text.startswith('<a href="HTTPS://Example.org/x">')


def test_article_text_cannot_inject_markup_mentions_commands_or_links() -> None:
    title = '<a href="tg://x">Click</a> & @channel /start evil.com tg://resolve\u202e\x1b[31m'
    alert = replace(ALERT, article=replace(ARTICLE, title=title, url="javascript:x"))

    first_line = render_alert_html(alert).text.split("\n")[0]

    assert first_line == (
        '<b>&lt;a href="tg:\u2060//\u2060x"&gt;Click&lt;/\u2060a&gt; &amp; '
        "@\u2060channel /\u2060start evil.\u2060com tg:\u2060//\u2060resolve [31m</b>"
    )


@pytest.mark.parametrize(
    ("published", "shown"),
    [
        (datetime(2026, 3, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))), "28 Feb 2026 20:05 UTC"),
        (datetime(2026, 3, 1, 1, 5), "1 Mar 2026 01:05 UTC"),  # noqa: DTZ001 - SQLite gives naive UTC
        (None, "27 Nov 2026 06:41 UTC"),  # not dated by the outlet: when newsbot first saw it
    ],
)
def test_time_is_shown_in_utc(published: datetime | None, shown: str) -> None:
    alert = replace(ALERT, article=replace(ARTICLE, published=published))

    assert f"Azattyq · {shown}\n" in render_alert_html(alert).text


def test_a_long_alert_shortens_snippet_first_then_title_then_also_in() -> None:
    long_snippet = Snippet("CSTO " + "word " * 2000, ((0, 4),))
    alert = replace(ALERT, matches=(CSTO._replace(snippet=long_snippet),))

    lines = render_alert_html(alert).text.split("\n")

    assert LIMIT - 5 <= utf16("\n".join(lines)) <= LIMIT  # cut just enough
    assert lines[0].endswith(">CSTO drills begin in Tajikistan</a>")
    assert lines[3].startswith("<b>CSTO</b> word word")
    assert lines[3].endswith("…")
    assert lines[4:] == ["also in: TASS, Reuters", "ID <code>123</code>"]

    huge = replace(ALERT, article=replace(ARTICLE, title="T&" * 3000), also_in=("Outlet",) * 1000)
    message = render_alert_html(huge)
    assert_sendable(message)
    assert "The <b>CSTO</b>" not in message.text  # the snippet went first
    assert "also in: Outlet, Outlet" in message.text  # also-in outlived the title
    assert "ID <code>123</code>" in message.text


def test_shortening_never_splits_an_astral_character_or_an_entity() -> None:
    alert = replace(ALERT, article=replace(ARTICLE, title="😀&" * 4000))

    message = render_alert_html(alert)

    assert_sendable(message)
    assert "😀&amp;😀" in message.text
    assert utf16(message.text) <= LIMIT


# ---- forwards, digests, replies


def test_forward_is_headed_by_who_sent_it_from_where_with_the_note_escaped() -> None:
    forward = Forward(
        ALERT, forwarded_by="Aigerim <@aigerim>", from_chat="CSTO desk & co", note="<b>Read</b> @all"
    )

    message = render_forward_html(forward)

    header, note, blank, *alert = message.text.split("\n")
    assert header == "Forwarded by <b>Aigerim &lt;@\u2060aigerim&gt;</b> from <b>CSTO desk &amp; co</b>"
    assert note == "<i>&lt;b&gt;Read&lt;/\u2060b&gt; @\u2060all</i>"
    assert blank == ""
    assert alert == render_alert_html(ALERT).text.split("\n")
    assert message.buttons == ()
    assert_sendable(message)


def test_forward_without_note_has_no_note_line() -> None:
    text = render_forward_html(Forward(ALERT, "Aigerim", "CSTO desk")).text

    assert text.split("\n")[:2] == ["Forwarded by <b>Aigerim</b> from <b>CSTO desk</b>", ""]


def test_digest_lists_alerts_compactly() -> None:
    (message,) = render_digest_html(
        [ALERT, replace(ALERT, article=replace(ARTICLE, id=124))], "Digest: 2 alerts"
    )

    assert message.text == (
        "<b>Digest: 2 alerts</b>\n"
        '• <a href="https://rus.azattyq.org/a/123.html?utm=1&amp;x=2">CSTO drills begin in Tajikistan</a>\n'
        "Azattyq · 27 Nov 2026 06:40 UTC · CSTO · ID <code>123</code>\n"
        '• <a href="https://rus.azattyq.org/a/123.html?utm=1&amp;x=2">CSTO drills begin in Tajikistan</a>\n'
        "Azattyq · 27 Nov 2026 06:40 UTC · CSTO · ID <code>124</code>"
    )
    assert message.buttons == ()


def test_digest_splits_into_messages_under_the_limit_keeping_every_alert_in_order() -> None:
    alerts = [
        replace(ALERT, article=replace(ARTICLE, id=number, title="Title & " * 40)) for number in range(1, 201)
    ]

    messages = render_digest_html(alerts, "Quiet hours are over: 200 alerts")

    assert len(messages) > 1
    for number, message in enumerate(messages, start=1):
        assert message.text.startswith(
            f"<b>Quiet hours are over: 200 alerts</b> ({number} of {len(messages)})\n"
        )
        assert_sendable(message)
    shown = [int(found) for message in messages for found in re.findall(r"<code>(\d+)</code>", message.text)]
    assert shown == list(range(1, 201))


def test_digest_of_nothing_is_no_message() -> None:
    assert render_digest_html([], "Digest: 0 alerts") == []


def test_reply_renders_styles_and_passes_buttons_through() -> None:
    buttons = ((Button("Next", callbacks.page("k1", 2).encode()),),)
    reply = Reply(
        lines=(
            (Span("Found "), Span("2", Style.BOLD), Span(" for "), Span("CSTO & co", Style.ITALIC)),
            (
                Span("Lead", Style.LINK, "https://example.org/a?b=1&c=2"),
                Span(" · "),
                Span("x", Style.LINK, "tg://x"),
            ),
            (Span("…the "), Span("CSTO", Style.MARK), Span(" <met>"), Span(" /summary 12", Style.CODE)),
            (),
            plain("@everyone see example.org"),
        ),
        buttons=buttons,
    )

    message = render_reply_html(reply)

    assert message.text == (
        "Found <b>2</b> for <i>CSTO &amp; co</i>\n"
        '<a href="https://example.org/a?b=1&amp;c=2">Lead</a> · x\n'
        "…the <b>CSTO</b> &lt;met&gt;<code> /summary 12</code>\n"
        "\n"
        "@\u2060everyone see example.\u2060org"
    )
    assert message.plain.split("\n")[1] == "Lead (https://example.org/a?b=1&c=2) · x"
    assert message.buttons == buttons
    assert_sendable(message)


def test_a_long_reply_is_cut_with_an_ellipsis() -> None:
    reply = Reply(lines=tuple(plain(f"result {number} & more") for number in range(2000)))

    message = render_reply_html(reply)

    assert_sendable(message)
    assert message.text.startswith("result 0 &amp; more\nresult 1 &amp; more\n")
    assert message.text.endswith("…")


# ---- the property: any article text renders to valid, inert Telegram HTML within the limit

TRICKY = [
    "<",
    ">",
    "&",
    "&amp;",
    "&#60;",
    '"',
    "'",
    "<b>",
    "</a>",
    '<a href="javascript:alert(1)">',
    "@channel",
    "@all",
    "/start",
    "/summary@newsbot",
    "https://evil.example/x?a=1&b=2",
    "www.example.com",
    "t.me/joinchat/abc",
    "tg://resolve?domain=x",
    "user@example.org",
    "\u202e",
    "\u2066",
    "\x00",
    "\x1b[31m",
    "\ud800",
    "\udfff",
    "\u2028",
    "\n\t\r",
    "😀",
    "𝕏",
    "Тоқаев",
    "ОДКБ",
    " ",
    ".",
    ":",
    "…",
]
LINKS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>",
    "tg://resolve?domain=x",
    "mailto:x@example.org",
    "ftp://example.org",
    "//example.org/x",
    "http://",
    "https://[::1",
    'HTTP://Example.ORG/a?b=1&c="2"',
    "hTtPs://example.org/<x>",
    "https://пример.рф/путь",
    "https://example.org/" + "&" * 300,
]


# Generation dominates the run, so texts take few draws: any code points (lone surrogates too)
# around a tricky piece, which now and then repeats into a long text.
CHARS = st.text(st.characters(exclude_categories=()), max_size=12)
REPEATS = st.sampled_from([1] * 18 + [700, 3000])
TEXT = st.builds(
    lambda before, piece, times, after: before + piece * times + after,
    CHARS,
    st.sampled_from(TRICKY),
    REPEATS,
    CHARS,
)
# Names (outlets, topics, terms) go through the same cleaning, so one draw each is enough.
NAME = st.sampled_from(
    [*TRICKY, "CSTO", "Тасмагамбетов", "Times of Central Asia", "&<>" * 1500, "😀@x." * 900]
)
URL = st.one_of(
    st.none(),
    st.sampled_from(LINKS),
    st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(["https://", "http://", "HTTPS://"]), TEXT),
)


@st.composite
def snippets(draw: st.DrawFn) -> Snippet:
    text = draw(TEXT)
    offsets = st.integers(-3, len(text) + 3)
    highlights = draw(st.lists(st.tuples(offsets, offsets), max_size=4))
    return Snippet(text, tuple(highlights))


MATCHES = st.lists(
    st.builds(
        TopicMatch,
        topic=NAME,
        terms=st.lists(NAME, max_size=2).map(tuple),
        field=st.sampled_from(["title", "body"]),
        snippet=snippets(),
        topic_id=st.integers(0, 10**9),
    ),
    max_size=2,
).map(tuple)
# Hypothesis takes naive bounds and adds a zone (or none: the archive's naive UTC) from `timezones`.
TIMES = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-11))]),
)
ARTICLES = st.builds(
    Article,
    id=st.integers(1, 10**12),
    outlet_id=st.just(1),
    outlet_name=NAME,
    title=TEXT,
    url=URL,
    summary=st.just(""),
    published=st.one_of(st.none(), TIMES),
    first_seen_at=TIMES,
)
ALERTS = st.builds(
    Alert,
    id=st.just(1),
    destination=st.just(CHAT),
    article=ARTICLES,
    matches=MATCHES,
    also_in=st.one_of(st.lists(TEXT, max_size=3), st.integers(0, 800).map(lambda n: ("Outlet & Co",) * n)),
)


@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alert=ALERTS)
def test_any_alert_renders_to_valid_inert_telegram_html_within_the_limit(alert: Alert) -> None:
    message = render_alert_html(alert)

    assert_sendable(message)
    hrefs = {html.unescape(href) for href in re.findall(r'<a href="([^"]*)">', message.text)}
    assert hrefs <= {(alert.article.url or "").strip()}  # the article's own link, no other


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alerts=st.lists(ALERTS, min_size=1, max_size=3), who=TEXT, chat=TEXT, note=TEXT, heading=TEXT)
def test_any_forward_and_digest_render_to_valid_telegram_html_within_the_limit(
    alerts: list[Alert], who: str, chat: str, note: str, heading: str
) -> None:
    assert_sendable(render_forward_html(Forward(alerts[0], who, chat, note)))
    for message in render_digest_html(alerts * 8, heading):
        assert_sendable(message)
