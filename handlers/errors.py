"""The error handler: log with the update id (never the token), one polite line to the user."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.storage import is_busy
from handlers.common import services

log = logging.getLogger(__name__)

# The database's write lock stayed taken past the busy timeout (e.g. a very large import from the
# command line): nothing was changed, and trying again in a moment works.
BUSY = "系统繁忙，请稍后再试。"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    busy = is_busy(context.error)
    if busy:
        log.warning("database busy while handling update %s; the user was asked to try again", update_id)
    else:
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
        await chat.send_message(BUSY if busy else services(context).engine.messages["error"])
    except TelegramError:
        log.warning("could not tell chat about the error of update %s", update_id)
