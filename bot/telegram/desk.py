"""The editors' desk on Telegram: forwarded items posted to every configured editors' chat."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot
from telegram.error import TelegramError

from bot.replies import Forward
from bot.telegram.messages import send_rendered
from bot.telegram.render import render_forward_html

log = logging.getLogger(__name__)


class TelegramEditorsDesk:
    """EditorsDesk: posts a Forward to each `[telegram] editors` chat; one unreachable desk spares the rest."""

    def __init__(self, bot: Bot, editors: Sequence[int]) -> None:
        self._bot = bot
        self._editors = tuple(editors)

    async def post(self, forward: Forward) -> int:
        """Post to every editors' chat; returns how many got it."""
        message = render_forward_html(forward)
        posted = 0
        for chat_id in self._editors:
            try:
                await send_rendered(self._bot, chat_id, message)
            except TelegramError as error:
                log.warning(
                    "telegram editors' chat %d did not get a forwarded item: %s",
                    chat_id,
                    error,
                    extra={"chat_id": chat_id, "article_id": forward.alert.article.id},
                )
                continue
            posted += 1
        return posted
