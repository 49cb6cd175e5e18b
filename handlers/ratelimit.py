"""Outgoing rate limits: PTB's AIORateLimiter plus Telegram's ~1 message/s per private chat.

AIORateLimiter limits the whole bot (30/s) and each group (20/min) but not a
private chat; a user who sends several questions at once would otherwise get
replies faster than Telegram allows and trigger 429s that pause every send.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import AIORateLimiter

_LIMITED_PREFIXES = ("send", "edit", "copy", "forward")


@dataclass
class _ChatSlot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_done: float = float("-inf")


class ChatAwareRateLimiter(AIORateLimiter):
    """Sends to one private chat are at least ``per_chat_period`` seconds apart.

    The gap is measured from the end of the previous request (its response),
    not from when it was queued: the overall limiter may hold a request back,
    and Telegram counts arrivals.
    """

    def __init__(self, *, per_chat_period: float = 1.05, **kwargs: Any):
        super().__init__(**kwargs)
        self._per_chat_period = per_chat_period
        self._slots: dict[int, _ChatSlot] = {}

    def _slot(self, chat_id: int) -> _ChatSlot:
        if len(self._slots) > 4096:
            now = time.monotonic()
            for key, slot in list(self._slots.items()):
                if not slot.lock.locked() and now - slot.last_done > self._per_chat_period:
                    del self._slots[key]
        return self._slots.setdefault(chat_id, _ChatSlot())

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        private = isinstance(chat_id, int) and chat_id > 0
        if not private or not endpoint.lower().startswith(_LIMITED_PREFIXES):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        slot = self._slot(chat_id)
        async with slot.lock:
            wait = slot.last_done + self._per_chat_period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            finally:
                slot.last_done = time.monotonic()
