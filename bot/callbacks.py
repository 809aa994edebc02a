"""Button callback data: compact, validated, and the same on every platform.

Telegram allows 64 bytes of callback data and anyone with a modified client can send any bytes, so
the data is parsed strictly and anything else is `None`, which a front-end answers politely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64


class Action(StrEnum):
    SUMMARY = "s"  # argument: article id
    FORWARD = "f"  # argument: article id
    MUTE = "m"  # argument: topic id
    SUBSCRIBE = "t"  # argument: topic id
    PAGE = "p"  # argument: the key of a search kept in memory, then "." and the page number


ARGUMENT = {
    Action.SUMMARY: re.compile(r"[1-9][0-9]{0,17}"),
    Action.FORWARD: re.compile(r"[1-9][0-9]{0,17}"),
    Action.MUTE: re.compile(r"[1-9][0-9]{0,17}"),
    Action.SUBSCRIBE: re.compile(r"[1-9][0-9]{0,17}"),
    Action.PAGE: re.compile(r"[A-Za-z0-9_-]{1,24}\.[0-9]{1,4}"),
}


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    argument: str

    def encode(self) -> str:
        return f"{self.action.value}:{self.argument}"

    @property
    def number(self) -> int:
        """The argument as an id (summary, forward, mute and subscribe carry one)."""
        return int(self.argument)


def summary(article_id: int) -> Callback:
    return Callback(Action.SUMMARY, str(article_id))


def forward(article_id: int) -> Callback:
    return Callback(Action.FORWARD, str(article_id))


def mute(topic_id: int) -> Callback:
    return Callback(Action.MUTE, str(topic_id))


def subscribe(topic_id: int) -> Callback:
    return Callback(Action.SUBSCRIBE, str(topic_id))


def page(search_key: str, number: int) -> Callback:
    return Callback(Action.PAGE, f"{search_key}.{number}")


def decode(data: object) -> Callback | None:
    """The callback newsbot wrote, or None for stale, forged or foreign data."""
    if not isinstance(data, str) or len(data.encode()) > MAX_BYTES:
        return None
    code, separator, argument = data.partition(":")
    if not separator:
        return None
    try:
        action = Action(code)
    except ValueError:
        return None
    if ARGUMENT[action].fullmatch(argument) is None:
        return None
    return Callback(action, argument)
