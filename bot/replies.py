"""Neutral replies: what a command answers, before Telegram or Slack turns it into a message.

Text is a list of lines made of styled spans, so each platform escapes article text its own way
and no command ever writes markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Forward lives in core (the EditorsDesk port takes it); re-exported here beside the other replies.
from core.models import Forward as Forward


class Style(StrEnum):
    PLAIN = "plain"
    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"
    LINK = "link"  # the span's text links to its `url` (http and https only; others render as text)
    MARK = "mark"  # a matched term inside a snippet


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    style: Style = Style.PLAIN
    url: str = ""


Line = tuple[Span, ...]


def plain(text: str) -> Line:
    return (Span(text),)


@dataclass(frozen=True, slots=True)
class Button:
    """A button that calls back into newsbot with `data` (see bot.callbacks)."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Image:
    png: bytes
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for the chat the command came from."""

    lines: tuple[Line, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    image: Image | None = None
    threaded: bool = False  # answer as a reply to the message (or alert) the command refers to
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """What a button press gets: a short notice on the button, and maybe a message in the chat."""

    notice: str = ""
    reply: Reply | None = None
