"""Turning a core Reply into Telegram messages: HTML-escaped, split below 4096, buttons on the last part."""

from __future__ import annotations

import html

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode

from bot.reply import Reply
from bot.textsplit import TELEGRAM_LIMIT, split_message, utf16_len


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
    if reply.buttons:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in reply.buttons]
        )
    return None


def parts(reply: Reply) -> list[str]:
    """The escaped message texts for a reply."""
    return [escape(part) for part in split_message(reply.text, TELEGRAM_LIMIT, _escaped_length)]


async def send_reply(message: Message, reply: Reply, *, quote: bool = False) -> list[Message]:
    """Send ``reply`` into the chat of ``message``; buttons go on the last part."""
    texts = parts(reply) or [escape("（无内容）")]
    sent = []
    for index, text in enumerate(texts):
        last = index == len(texts) - 1
        sent.append(
            await message.chat.send_message(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply) if last else None,
                reply_to_message_id=message.message_id if quote and index == 0 else None,
            )
        )
    return sent
