"""Telegram HTML for alerts, replies, forwards and digests: article text escaped, defused and fitted.

Everything is built as lines of `bot.replies.Span`s first, then cleaned, shortened and turned into
HTML (parse_mode=HTML) and a plain-text twin, so escaping and length rules live in one place.

Safety (SPEC "never lets article text inject markup, links or mass mentions"):
- `&`, `<`, `>` are escaped everywhere, and `"` too inside the one attribute we write (href);
- links are only http(s) URLs with a host, without spaces or control characters, and short enough;
  anything else (javascript:, data:, tg:, mailto: …) is shown as text, never as a link;
- control characters, lone surrogates and bidirectional overrides are removed, whitespace folded;
- text Telegram would turn into live entities (@mentions, /commands, bare domains and URLs, tg://
  links) gets an invisible WORD JOINER (U+2060) after the character that starts the entity, which
  none of Telegram's entity patterns accept inside a name, command or domain, so the text reads the
  same but stays text. #hashtags and $cashtags stay live: they only search inside Telegram.
  `Style.CODE` spans are kept literal, for our own commands and ids to copy: never article text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from bot import callbacks
from bot.replies import Button, Forward, Line, Reply, Span, Style
from core.models import Alert, Snippet, TopicMatch

# Bot API: https://core.telegram.org/bots/api#sendmessage — 1-4096 characters after entity parsing,
# counted in UTF-16 code units. We hold the HTML source itself to it, which is stricter.
MAX_UTF16 = 4096
MAX_HREF_UTF16 = 1024  # a longer article URL is shown without a link rather than eat the message
DIGEST_HEADING_UTF16 = 1024
DIGEST_ENTRY_UTF16 = 2048
ELLIPSIS = "…"
WORD_JOINER = "\u2060"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Lone surrogates cannot be sent as UTF-8; bidi overrides and isolates can reorder our own labels.
DROPPED = re.compile("[\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
BLANK = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
UNSAFE_IN_URL = re.compile("[\\s\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# Where tdlib's entity finders (td/telegram/MessageEntity.cpp: match_mentions, match_bot_commands,
# match_urls, match_tg_urls) would start a mention, a command, a domain or a scheme's "//".
ENTITY_START = re.compile(r"(?<=[@/])(?=[A-Za-z0-9_])|(?<=\.)(?=\S)|(?<=:)(?=/)")
TAGS = {Style.BOLD: "b", Style.ITALIC: "i", Style.CODE: "code", Style.MARK: "b"}

Fields = dict[str, Line]
Layout = Callable[[Mapping[str, Line]], list[Line]]


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready for sendMessage: `text` in parse_mode=HTML, `plain` for the no-markup retry."""

    text: str
    plain: str
    buttons: tuple[tuple[Button, ...], ...] = ()


def render_alert_html(alert: Alert) -> RenderedMessage:
    """An alert: linked title, outlet, time, topics and terms, highlighted snippet, also-in, id."""
    fields = alert_fields(alert)
    html, plain = fit(fields, ("snippet", "title", "also_in", "matched", "outlet"), alert_layout)
    return RenderedMessage(html, plain, alert_buttons(alert))


def render_forward_html(forward: Forward) -> RenderedMessage:
    """An alert for the editors' desk, headed by who forwarded it, from where, and their note."""
    fields = alert_fields(forward.alert) | {
        "by": clean_line((Span(forward.forwarded_by, Style.BOLD),)),
        "chat": clean_line((Span(forward.from_chat, Style.BOLD),)),
        "note": clean_line((Span(forward.note, Style.ITALIC),)),
    }
    order = ("snippet", "title", "also_in", "note", "matched", "outlet", "by", "chat")
    html, plain = fit(fields, order, forward_layout)
    return RenderedMessage(html, plain)


def render_reply_html(reply: Reply) -> RenderedMessage:
    """A command's reply (empty text when it has no lines, as an image-only reply); buttons unchanged."""
    lines = cut_lines(tuple(clean_line(line) for line in reply.lines), MAX_UTF16)
    rendered = render_lines(lines)
    if not fits(rendered, MAX_UTF16):
        keep = largest(0, text_length(lines), lambda n: fits(render_lines(cut_lines(lines, n)), MAX_UTF16))
        rendered = render_lines(cut_lines(lines, keep))
    return RenderedMessage(*rendered, reply.buttons)


def render_digest_html(alerts: Sequence[Alert], heading: str) -> list[RenderedMessage]:
    """Alerts listed compactly under `heading`, in as many messages as the limit needs (none for none)."""
    if not alerts:
        return []
    heading_field = {"heading": clean_line((Span(heading, Style.BOLD),))}
    title = fit(heading_field, ("heading",), lambda fields: [fields["heading"]], DIGEST_HEADING_UTF16)
    order = ("title", "outlet", "topics")
    entries = [fit(digest_fields(alert), order, digest_layout, DIGEST_ENTRY_UTF16) for alert in alerts]
    # Room for " (12 of 34)" after the heading and the line breaks between the heading and the entries.
    room = MAX_UTF16 - utf16_length(title[0]) - 16
    pages = pack(entries, room)
    return [digest_page(title, page, number, len(pages)) for number, page in enumerate(pages, start=1)]


# ---- alerts


def alert_fields(alert: Alert) -> Fields:
    """The parts of an alert that may be shortened, cleaned; fixed parts ride along whole."""
    article = alert.article
    first = alert.matches[0] if alert.matches else None
    return {
        "title": title_line(article.title, article.url),
        "outlet": clean_line((Span(article.outlet_name),)),
        "when": (Span(format_time(article.published or article.first_seen_at)),),
        "matched": clean_line(matched_line(alert.matches)),
        "snippet": snippet_line(first.snippet) if first else (),
        "also_in": clean_line((Span(", ".join(alert.also_in)),)),
        "id": (Span("ID "), Span(str(article.id), Style.CODE)),
    }


def alert_layout(fields: Mapping[str, Line]) -> list[Line]:
    lines = [fields["title"], (*fields["outlet"], Span(" · "), *fields["when"])]
    lines += [line for line in (fields["matched"], fields["snippet"]) if line]
    if fields["also_in"]:
        lines.append((Span("also in: "), *fields["also_in"]))
    lines.append(fields["id"])
    return lines


def forward_layout(fields: Mapping[str, Line]) -> list[Line]:
    header = [(Span("Forwarded by "), *fields["by"], Span(" from "), *fields["chat"])]
    if fields["note"]:
        header.append(fields["note"])
    return [*header, (), *alert_layout(fields)]


def alert_buttons(alert: Alert) -> tuple[tuple[Button, ...], ...]:
    """Summary, To editors and Mute topic (the first matched topic, when the archive gave its id)."""
    row: list[Button] = []
    if alert.article.id > 0:
        row.append(Button("Summary", callbacks.summary(alert.article.id).encode()))
        row.append(Button("To editors", callbacks.forward(alert.article.id).encode()))
    if alert.matches and alert.matches[0].topic_id > 0:
        row.append(Button("Mute topic", callbacks.mute(alert.matches[0].topic_id).encode()))
    return (tuple(row),) if row else ()


def title_line(title: str, url: str | None) -> Line:
    """The title linking to the article; bold text when the URL is not one we may link."""
    line = clean_line((Span(title),)) or (Span("(untitled)"),)
    if safe_href(url) is None:
        return tuple(replace(span, style=Style.BOLD) for span in line)
    return tuple(replace(span, style=Style.LINK, url=url or "") for span in line)


def matched_line(matches: Sequence[TopicMatch]) -> Line:
    """'Topic: CSTO, matched “ОДКБ”' — each topic once, with the exact terms that fired."""
    terms: dict[str, dict[str, None]] = {}
    for match in matches:
        terms.setdefault(match.topic, {}).update(dict.fromkeys(match.terms))
    if not terms:
        return ()
    spans = [Span("Topic: " if len(terms) == 1 else "Topics: ")]
    for index, (topic, words) in enumerate(terms.items()):
        if index:
            spans.append(Span("; "))
        spans.append(Span(topic, Style.BOLD))
        if words:
            spans.append(Span(", matched " + ", ".join(f"“{word}”" for word in words)))
    return tuple(spans)


def snippet_line(snippet: Snippet, lead: int = 120) -> Line:
    """The snippet with its highlights marked; a long lead-in before the first mark is cut short."""
    text, spans, cursor = snippet.text, [], 0
    for start, end in sorted(snippet.highlights):
        start, end = max(start, cursor), min(end, len(text))
        if start < end:
            spans += [Span(text[cursor:start]), Span(text[start:end], Style.MARK)]
            cursor = end
    line = clean_line((*spans, Span(text[cursor:])))
    if line and line[0].style is Style.PLAIN and len(line[0].text) > lead:
        line = (Span(ELLIPSIS + line[0].text[-lead:].lstrip()), *line[1:])
    return line


def format_time(moment: datetime) -> str:
    """'27 Nov 2026 06:40 UTC'; a naive time is the archive's UTC. Month names never follow the locale."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{utc.day} {MONTHS[utc.month - 1]} {utc.year} {utc:%H:%M} UTC"


# ---- digests


def digest_fields(alert: Alert) -> Fields:
    article = alert.article
    return {
        "title": title_line(article.title, article.url),
        "outlet": clean_line((Span(article.outlet_name),)),
        "when": (Span(format_time(article.published or article.first_seen_at)),),
        "topics": clean_line((Span(", ".join(alert.topics)),)),
        "id": (Span("ID "), Span(str(article.id), Style.CODE)),
    }


def digest_layout(fields: Mapping[str, Line]) -> list[Line]:
    details = [*fields["outlet"], Span(" · "), *fields["when"]]
    if fields["topics"]:
        details += [Span(" · "), *fields["topics"]]
    return [(Span("• "), *fields["title"]), (*details, Span(" · "), *fields["id"])]


def pack(entries: Sequence[tuple[str, str]], room: int) -> list[list[tuple[str, str]]]:
    """Entries in order, as many to a page as fit in `room` UTF-16 units (line breaks included)."""
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0
    for entry in entries:
        size = utf16_length(entry[0]) + 1
        if pages[-1] and used + size > room:
            pages.append([])
            used = 0
        pages[-1].append(entry)
        used += size
    return pages


def digest_page(
    heading: tuple[str, str], page: Sequence[tuple[str, str]], number: int, count: int
) -> RenderedMessage:
    suffix = f" ({number} of {count})" if count > 1 else ""
    html = "\n".join([heading[0] + suffix, *(entry[0] for entry in page)])
    plain = "\n".join([heading[1] + suffix, *(entry[1] for entry in page)])
    return RenderedMessage(html, plain)


# ---- fitting into the limit


def fit(fields: Fields, order: Sequence[str], layout: Layout, limit: int = MAX_UTF16) -> tuple[str, str]:
    """HTML and plain text of `layout(fields)`, shortening the fields in `order` until both fit `limit`.

    What `order` leaves out is short by construction (labels, time, id, an href of at most
    MAX_HREF_UTF16), so with every field in `order` cut to "…" the message always fits.
    """
    # Nothing longer than a whole message can show, so later passes work on small strings.
    fields = {name: cut_line(line, limit) for name, line in fields.items()}
    rendered = render_lines(layout(fields))
    for name in order:
        if fits(rendered, limit):
            break
        whole = fields[name]

        def fits_with(keep: int, name: str = name, whole: Line = whole) -> bool:
            return fits(render_lines(layout({**fields, name: cut_line(whole, keep)})), limit)

        # Each character cut saves at least one unit; the "…" and a word joiner before it may cost two.
        guess = line_length(whole) - (utf16_length(rendered[0]) - limit) - 2
        fields[name] = cut_line(whole, largest(0, line_length(whole), fits_with, guess))
        rendered = render_lines(layout(fields))
    return rendered


def fits(rendered: tuple[str, str], limit: int) -> bool:
    return utf16_length(rendered[0]) <= limit and utf16_length(rendered[1]) <= limit


def largest(low: int, high: int, is_ok: Callable[[int], bool], guess: int | None = None) -> int:
    """The largest n in [low, high] with is_ok(n) (is_ok holds up to some point), or low if none.

    A `guess` that holds narrows the search to [guess, high], one that fails to [low, guess - 1].
    """
    if guess is not None and low < guess <= high:
        low, high = (guess, high) if is_ok(guess) else (low, guess - 1)
    while low < high:
        middle = (low + high + 1) // 2
        if is_ok(middle):
            low = middle
        else:
            high = middle - 1
    return low


def cut_line(line: Line, keep: int) -> Line:
    """The first `keep` characters of the line, ending in "…" (in the last span's style) if cut."""
    if line_length(line) <= keep:
        return line
    if not line:
        return (Span(ELLIPSIS),)
    spans: list[Span] = []
    for span in line:
        piece = span.text[: max(keep, 0)]
        keep -= len(piece)
        spans.append(replace(span, text=piece))
        if keep <= 0:
            break
    last = spans[-1]
    spans[-1] = replace(last, text=last.text.rstrip() + ELLIPSIS)
    return tuple(span for span in spans if span.text)


def cut_lines(lines: Sequence[Line], keep: int) -> tuple[Line, ...]:
    """The first `keep` characters of the lines, each line break counting as one; "…" where cut."""
    kept: list[Line] = []
    for line in lines:
        if line_length(line) > keep:
            kept.append(cut_line(line, keep))
            break
        kept.append(line)
        keep -= line_length(line) + 1
    return tuple(kept)


def line_length(line: Line) -> int:
    return sum(len(span.text) for span in line)


def text_length(lines: Sequence[Line]) -> int:
    return sum(line_length(line) + 1 for line in lines)


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: characters outside the BMP take two UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# ---- cleaning, defusing, escaping


def clean_line(line: Line) -> Line:
    """Control characters out, whitespace runs (also across spans) folded to one space, ends trimmed."""
    spans: list[Span] = []
    after_blank = True  # the line's start: no leading space
    for span in line:
        text = BLANK.sub(" ", DROPPED.sub("", span.text))
        if after_blank and text.startswith(" "):
            text = text[1:]
        if text:
            spans.append(replace(span, text=text))
            after_blank = text.endswith(" ")
    if spans and after_blank:
        last = spans.pop()
        if last.text != " ":
            spans.append(replace(last, text=last.text[:-1]))
    return tuple(spans)


def render_lines(lines: Sequence[Line]) -> tuple[str, str]:
    """HTML and plain text of the lines."""
    html: list[str] = []
    plain: list[str] = []
    for line in lines:
        rendered = [render_span(span, following(line, index)) for index, span in enumerate(line)]
        html.append("".join(piece[0] for piece in rendered))
        plain.append("".join(piece[1] for piece in rendered))
    return "\n".join(html), "\n".join(plain)


def following(line: Line, index: int) -> str:
    """The character after span `index` in the line's text ("" at the end)."""
    return next((span.text[0] for span in line[index + 1 :] if span.text), "")


# Fitting renders the same spans again and again while it shortens one field; a layout has a few dozen.
@lru_cache(maxsize=128)
def render_span(span: Span, after: str) -> tuple[str, str]:
    """HTML and plain text of one span, defused; `after` is the next character, which decides too."""
    if span.style is not Style.CODE:
        defused = ENTITY_START.sub(WORD_JOINER, span.text + after)
        span = replace(span, text=defused[: len(defused) - len(after)])
    return span_html(span), span_plain(span)


def span_html(span: Span) -> str:
    text = escape_text(span.text)
    if span.style is Style.LINK:
        href = safe_href(span.url)
        return f'<a href="{href}">{text}</a>' if href else text
    tag = TAGS.get(span.style)
    return f"<{tag}>{text}</{tag}>" if tag else text


def span_plain(span: Span) -> str:
    # The plain fallback keeps a link visible as its URL, which Telegram links by itself.
    if span.style is Style.LINK and safe_href(span.url):
        return f"{span.text} ({span.url.strip()})"
    return span.text


def safe_href(url: str | None) -> str | None:
    """The escaped href attribute for an http(s) URL with a host, or None when it may not be a link."""
    url = (url or "").strip()
    if not url or UNSAFE_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    href = escape_attribute(url)
    return href if utf16_length(href) <= MAX_HREF_UTF16 else None


def escape_text(text: str) -> str:
    # Bot API HTML style: only &lt; &gt; &amp; &quot; are needed; https://core.telegram.org/bots/api#html-style
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(text: str) -> str:
    return escape_text(text).replace('"', "&quot;")
