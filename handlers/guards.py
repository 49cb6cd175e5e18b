"""Checks that run before any handler: the per-user flood guard."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.flood import Verdict
from bot.reply import Reply
from handlers.common import is_private, services
from handlers.render import send_reply


async def flood_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop processing for a user over the limit; the first time, say so (privately only)."""
    user = update.effective_user
    if user is None or (update.message is None and update.callback_query is None):
        return
    svc = services(context)
    verdict = svc.flood.check(user.id, time.monotonic())
    if verdict is Verdict.PASS:
        return
    if verdict is Verdict.WARN:
        if update.callback_query:
            await update.callback_query.answer(svc.engine.messages["flood"])
        elif is_private(update.message):
            await send_reply(update.message, Reply(svc.engine.messages["flood"]))
    elif update.callback_query:
        await update.callback_query.answer()
    raise ApplicationHandlerStop
