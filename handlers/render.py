"""Turning a core Reply into Telegram messages: HTML-escaped, split below 4096, buttons on the last part."""

from __future__ import annotations

import html
import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.reply import Button, Reply
from bot.textsplit import TELEGRAM_LIMIT, split_message, utf16_len

log = logging.getLogger(__name__)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _escaped_length(text: str) -> int:
    return utf16_len(escape(text))


def keyboard(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if reply.contact_request:
        button = KeyboardButton(reply.contact_request, request_contact=True)
        return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return inline_markup(reply.buttons)


def inline_markup(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in rows])


async def edit_text(bot: Bot, chat_id: int, message_id: int, text: str, rows: list[list[Button]]) -> None:
    """Rewrite a message the bot sent (text and buttons); a message that is gone or unchanged is
    left as it is (BadRequest), which is what every caller wants."""
    try:
        await bot.edit_message_text(
            escape(text),
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=inline_markup(rows),
        )
    except BadRequest as exc:  # "message is not modified", or the message is gone
        log.info("message edit skipped: %s", exc.message)


def parts(reply: Reply) -> list[str]:
    """The escaped message texts for a reply."""
    return [escape(part) for part in split_message(reply.text, TELEGRAM_LIMIT, _escaped_length)]


async def send_reply(message: Message, reply: Reply, *, quote: bool = False) -> list[Message]:
    """Answer ``message`` with ``reply`` where the privacy rule lets it go (handlers/privacy.py):
    its chat, or for a personal reply in a group the user's private chat."""
    from handlers import privacy  # late: privacy builds on this module

    return await privacy.deliver(message, reply, quote=quote)


async def send_to_chat(bot: Bot, chat_id: int, reply: Reply, *, reply_to: int | None = None) -> list[Message]:
    """Send ``reply`` into ``chat_id``; buttons go on the last part, the first quotes ``reply_to``."""
    texts = parts(reply) or [escape("（无内容）")]
    sent = []
    for index, text in enumerate(texts):
        last = index == len(texts) - 1
        sent.append(
            await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply) if last else None,
                reply_to_message_id=reply_to if index == 0 else None,
            )
        )
    return sent
