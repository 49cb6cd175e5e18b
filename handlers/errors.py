"""The error handler: log with the update id (never the token), one polite line to the user."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from handlers.common import services

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "error while handling update %s: %s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
    )
    if not isinstance(update, Update) or isinstance(context.error, Forbidden):
        return
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await chat.send_message(services(context).engine.messages["error"])
    except TelegramError:
        log.warning("could not tell chat about the error of update %s", update_id)
