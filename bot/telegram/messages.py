"""Sending rendered messages: Telegram HTML with buttons, and one plain-text fallback if it is refused."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.replies import Button, Image
from bot.telegram.render import RenderedMessage

log = logging.getLogger(__name__)

# Bot API: a photo caption holds at most 1024 characters.
CAPTION_LIMIT = 1024
# Replies link articles; a preview card per link would bury the answer.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.data) for button in row] for row in rows]
    )


def thread_to(message_id: int | None) -> ReplyParameters | None:
    # A threaded answer still arrives when its message was deleted meanwhile.
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def is_bad_markup(error: BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


async def send_rendered(
    bot: Bot, chat_id: int | str, message: RenderedMessage, reply_to: int | None = None
) -> Message:
    """Send `message` as HTML (Bot API sendMessage); if Telegram cannot parse it, once as plain text."""
    markup = keyboard(message.buttons)
    try:
        return await bot.send_message(
            chat_id,
            message.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            reply_parameters=thread_to(reply_to),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:
        if not is_bad_markup(error):
            raise
        log.warning("telegram refused the HTML of a message, sent as plain text: %s", error.message)
    return await bot.send_message(
        chat_id, message.plain, reply_markup=markup, reply_parameters=thread_to(reply_to)
    )


async def send_image(bot: Bot, chat_id: int | str, image: Image, reply_to: int | None = None) -> Message:
    """A chart as a photo (Bot API sendPhoto), its caption plain text."""
    return await bot.send_photo(
        chat_id,
        InputFile(image.png, filename="chart.png"),
        caption=image.caption[:CAPTION_LIMIT] or None,
        reply_parameters=thread_to(reply_to),
    )
