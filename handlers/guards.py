"""Checks that run before any handler (the per-user flood guard), and the sweep that forgets
per-user and per-chat state nobody needs any more, so memory does not grow with every new user.

What expires where:

* the flood guard's windows: bot/flood.py sweeps itself at most once per window;
* per-chat locks of the update processor: dropped as soon as a chat has nothing queued
  (handlers/processor.py);
* open steps in ``user_data`` — every guided flow stores its step as a dict with an ``"until"``
  deadline on the ``time.monotonic()`` clock (see handlers/common.py AwaitingStep): the sweep
  below removes steps past their deadline, then drops ``user_data`` and ``chat_data`` entries left
  empty (PTB creates one for every user or chat a handler merely looked at), and clears the ids
  PTB notes for a persistence the bot does not have;
* the ledger's drafts: handlers/ledger.py ``Drafts`` forgets expired ones as new ones come.

After each sweep the C allocator is asked to return free heap pages to the system (glibc's
``malloc_trim``; skipped where there is none): the live heap stays flat, but without this the
resident size crept up about 0.3 MB per 1,000 updates as freed blocks were left scattered
through the heap (benchmarks/bench_memory.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Mapping
from functools import cache

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.flood import Verdict
from bot.reply import Reply
from handlers.common import is_private, services
from handlers.render import send_reply

EXPIRY_INTERVAL = 10.0  # seconds between two sweeps of user_data and chat_data

log = logging.getLogger(__name__)


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


def _expired(value: object, now: float) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("until"), int | float) and value["until"] <= now


def forget_expired(app: Application, now: float) -> int:
    """Remove open steps past their deadline and the empty user_data and chat_data entries;
    returns how many entries were dropped. ``now`` is on the ``time.monotonic()`` clock."""
    dropped = 0
    for user_id, data in list(app.user_data.items()):
        for key in [key for key, value in data.items() if _expired(value, now)]:
            del data[key]
        if not data:
            app.drop_user_data(user_id)
            dropped += 1
    for chat_id, data in list(app.chat_data.items()):
        if not data:
            app.drop_chat_data(chat_id)
            dropped += 1
    if app.persistence is None:
        # PTB notes the user and chat of every update, and every dropped id, for a persistence's next
        # run; only that run empties these sets, so without a persistence they grow with each new user.
        app._user_ids_to_be_updated_in_persistence.clear()
        app._chat_ids_to_be_updated_in_persistence.clear()
        app._user_ids_to_be_deleted_in_persistence.clear()
        app._chat_ids_to_be_deleted_in_persistence.clear()
    return dropped


@cache
def _malloc_trim():
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_heap() -> bool:
    """Give the heap's free pages back to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def _sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
    dropped = forget_expired(context.application, time.monotonic())
    if dropped:
        log.debug("forgot the state of %d users and chats", dropped)
    release_free_heap()


def register(app: Application) -> None:
    """The flood guard before every handler, and the periodic sweep of expired state."""
    app.add_handler(TypeHandler(Update, flood_guard), group=-1)
    app.job_queue.run_repeating(_sweep, interval=EXPIRY_INTERVAL, first=EXPIRY_INTERVAL, name="forget-expired")
