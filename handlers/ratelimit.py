"""Outgoing rate limits: PTB's AIORateLimiter plus Telegram's ~1 message/s per private chat.

AIORateLimiter limits the whole bot (30/s) and each group (20/min) but not a
private chat; a user who sends several questions at once would otherwise get
replies faster than Telegram allows and trigger 429s that pause every send.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

_LIMITED_PREFIXES = ("send", "edit", "copy", "forward")


class ChatAwareRateLimiter(AIORateLimiter):
    def __init__(self, *, per_chat_rate: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self._per_chat_rate = per_chat_rate
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._chat_limiters) > 4096:
            for key, limiter in list(self._chat_limiters.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[key]
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            limiter = self._chat_limiters[chat_id] = AsyncLimiter(1, 1 / self._per_chat_rate)
        return limiter

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        private = isinstance(chat_id, int) and chat_id > 0
        if not private or not endpoint.lower().startswith(_LIMITED_PREFIXES):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        async with self._chat_limiter(chat_id):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
