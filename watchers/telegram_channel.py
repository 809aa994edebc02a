"""Public Telegram channels through the `t.me/s/<channel>` web preview: posts in, FeedItems out."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import lxml.html

from core.models import FeedItem
from watchers.page import element_date, first, html_document
from watchers.parse import SUMMARY_CHARS, ParsedFeed, ParseError

TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "www.t.me", "www.telegram.me"})
# Telegram usernames: 5-32 characters, letters, digits and underscores, starting with a letter.
CHANNEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
# t.me paths that are not usernames: invite links to private chats, stickers, proxies, sharing.
RESERVED_PATHS = frozenset(
    {"joinchat", "addstickers", "addemoji", "addtheme", "share", "proxy", "socks", "iv", "login", "invoice"}
)
TITLE_CHARACTERS = 120
WHITESPACE = re.compile(r"[ \t\r\f\v]+")
# Telegram's wording for blocked channels; a channel's own description could say "blocked" anywhere.
RESTRICTION_PHRASES = ("can't be displayed", "cannot be displayed", "is blocked because", "was blocked")


def channel_name(url: str) -> str | None:
    """`durov` for t.me/durov, t.me/s/durov, telegram.me/durov or @durov; None for anything else."""
    text = url.strip()
    if text.startswith("@"):
        return text[1:] if CHANNEL_NAME.match(text[1:]) else None
    parts = urlsplit(text if "//" in text else f"https://{text}")
    if (parts.hostname or "").lower() not in TELEGRAM_HOSTS:
        return None
    return channel_in_path(parts.path)


def is_telegram_url(url: str) -> bool:
    """A t.me or telegram.me address (or @name): a channel, or an invite link that cannot be watched."""
    text = url.strip()
    return (
        text.startswith("@")
        or (urlsplit(text if "//" in text else f"https://{text}").hostname or "") in TELEGRAM_HOSTS
    )


def channel_in_path(path: str) -> str | None:
    segments = [segment for segment in path.split("/") if segment]
    if segments[:1] == ["s"]:
        segments = segments[1:]
    if not segments or not CHANNEL_NAME.match(segments[0]) or segments[0].lower() in RESERVED_PATHS:
        return None
    return segments[0]


def preview_url(url: str) -> str | None:
    """The web preview address of a channel URL, on the URL's own scheme and host (tests serve it locally)."""
    text = url.strip()
    if text.startswith("@"):
        return f"https://t.me/s/{text[1:]}" if CHANNEL_NAME.match(text[1:]) else None
    parts = urlsplit(text if "//" in text else f"https://{text}")
    name = channel_in_path(parts.path)
    if name is None:
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"/s/{name}", "", ""))


def parse_channel_preview(body: bytes, final_url: str, channel: str) -> ParsedFeed | ParseError:
    """The posts on a channel's preview page, or why there are none to read.

    Telegram answers a missing, private or preview-less channel by redirecting `/s/<name>`
    to the plain `/<name>` page, so a final URL without `/s/` means "no public preview".
    """
    document = html_document(body)
    if document is None:
        return ParseError(f"Telegram channel @{channel}: the preview page is not HTML")
    restriction = restriction_notice(document)
    if restriction is not None:
        return ParseError(f"Telegram channel @{channel} is restricted: {restriction}")
    history = first(document.find_class("tgme_channel_history"))
    if history is None or not urlsplit(final_url).path.startswith("/s/"):
        return ParseError(missing_reason(document, channel))
    title = class_text(document, "tgme_channel_info_header_title") or channel
    posts = (
        post_item(message)
        for message in document.find_class("tgme_widget_message")
        if isinstance(message, lxml.html.HtmlElement)
    )
    # Newest first, like a feed; the preview lists them oldest first.
    items = tuple(item for item in reversed(list(posts)) if item is not None)
    return ParsedFeed(title, items, "telegram-preview")


def post_item(message: lxml.html.HtmlElement) -> FeedItem | None:
    post = message.get("data-post")  # "channel/1234"
    if not post or "service_message" in message.get("class", ""):
        return None
    text = class_text(message, "tgme_widget_message_text")
    if not text:
        # A post with only media: its document title, or the kind of media, stands in for text.
        text = class_text(message, "tgme_widget_message_document_title") or media_label(message)
    date = first(message.find_class("tgme_widget_message_date"))
    time = first(date.iter("time")) if date is not None else None
    link = f"https://t.me/{post}"
    return FeedItem(
        title=headline(text) or link,
        url=link,
        guid=link,
        summary=text[:SUMMARY_CHARS],
        published=element_date(time) if time is not None else None,
    )


def class_text(element: lxml.html.HtmlElement, class_name: str) -> str:
    """Text of the first element with the class, keeping <br> as line breaks."""
    found = first(element.find_class(class_name))
    if found is None:
        return ""
    for br in found.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lines = (WHITESPACE.sub(" ", line).strip() for line in "".join(found.itertext()).split("\n"))
    return "\n".join(line for line in lines if line)


def headline(text: str) -> str:
    """The first line of a post, cut at a word near TITLE_CHARACTERS."""
    line = text.split("\n", 1)[0].strip()
    if len(line) <= TITLE_CHARACTERS:
        return line
    cut = line[:TITLE_CHARACTERS].rsplit(" ", 1)[0]
    return f"{cut}…"


def media_label(message: lxml.html.HtmlElement) -> str:
    if message.find_class("tgme_widget_message_video_player"):
        return "[video]"
    if message.find_class("tgme_widget_message_photo_wrap"):
        return "[photo]"
    return "[media]"


def restriction_notice(document: lxml.html.HtmlElement) -> str | None:
    """Telegram's own words when a channel is blocked (terms of service, local laws, copyright)."""
    for class_name in ("tgme_channel_restricted", "tgme_page_description", "tgme_widget_message_error"):
        text = class_text(document, class_name).replace("\n", " ")
        if text and any(phrase in text.lower().replace("’", "'") for phrase in RESTRICTION_PHRASES):
            return text
    return None


def missing_reason(document: lxml.html.HtmlElement, channel: str) -> str:
    extra = class_text(document, "tgme_page_extra").lower()
    if "subscriber" in extra:
        return f"Telegram channel @{channel} has no public web preview (it is private or the owner turned the preview off)"
    if document.find_class("tgme_page_title") and ("member" in extra or "online" in extra):
        return f"@{channel} is a Telegram group, not a channel with a public preview"
    if extra.startswith("@"):
        return f"@{channel} is a Telegram user or bot, not a channel"
    return f"Telegram channel @{channel} does not exist or is private"
