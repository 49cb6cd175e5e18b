"""Every request the bot sends passes here: one send budget, and replies that survive faults.

:class:`BudgetRateLimiter` is the PTB rate limiter of the application's bot. Replies, edits,
notices and reminders (the outbox sends through the same bot with ``rate_limit_args``
``{"priority": "broadcast"}``) all draw on one :class:`bot.send_budget.SendBudget`, so
together they stay under Telegram's limits, and replies go first.

PTB's own ``AIORateLimiter`` is not used: it cannot give replies priority over a broadcast,
does not pace private chats, and retries only 429s.

Interactive requests (everything not marked as broadcast) are retried here, so an answer is
late rather than lost:

* 429: the chat pauses for ``retry_after`` in the budget (other chats go on), then the
  request is tried again;
* 5xx answers and network errors: tried again with a growing pause (1 s, 2 s, … 30 s);
* a timeout: the request may have arrived, so it is tried again at most once, after
  ``uncertain_pause`` seconds — never more than two copies of one reply;
* all of it within ``retry_window`` seconds (10 minutes) of the first try, and only while the
  application runs (``stopping()`` ends the waiting, so a shutdown is not held up); after that
  the error goes to the handler.

Broadcast requests are not retried here: the outbox keeps their state and decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.send_budget import BROADCAST, INTERACTIVE, SendBudget

log = logging.getLogger(__name__)

BROADCAST_ARGS = {"priority": "broadcast"}  # rate_limit_args for outbox sends
_COUNTED_PREFIXES = ("send", "edit", "copy", "forward")
_NOT_COUNTED = ("sendchataction",)


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def counted(endpoint: str) -> bool:
    """Requests Telegram's flood limits count: messages sent, edited, copied, forwarded."""
    name = endpoint.lower()
    return name.startswith(_COUNTED_PREFIXES) and name not in _NOT_COUNTED


def _chat_key(data: dict[str, Any] | None) -> int | str | None:
    chat_id = (data or {}).get("chat_id")
    with contextlib.suppress(TypeError, ValueError):
        return int(chat_id)
    return chat_id  # "@channelusername" or None


class BudgetRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """PTB rate limiter over one :class:`SendBudget`; see the module docstring."""

    def __init__(
        self,
        budget: SendBudget,
        *,
        retry_window: float = 600.0,
        uncertain_pause: float = 3.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        stopping: Callable[[], bool] = lambda: False,
    ):
        self.budget = budget
        self.stopping = stopping  # set by the application: True once it is shutting down
        self.retry_window = retry_window
        self.uncertain_pause = uncertain_pause
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.clock = clock
        self.stats = {"retried": 0, "uncertain": 0, "gave_up": 0}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]] | None]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]] | None:
        if not counted(endpoint):
            return await callback(*args, **kwargs)
        chat = _chat_key(data)
        if (rate_limit_args or {}).get("priority") == BROADCAST_ARGS["priority"]:
            async with self.budget.slot(chat, BROADCAST):
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:  # the outbox pauses itself; replies to this chat wait too
                    self.budget.pause(retry_after_seconds(exc), chat)
                    raise
        return await self._interactive(callback, args, kwargs, endpoint, chat)

    async def _interactive(self, callback, args, kwargs, endpoint: str, chat: int | str | None):
        deadline = self.clock() + self.retry_window
        failures = 0
        timed_out = False
        while True:
            async with self.budget.slot(chat, INTERACTIVE):
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    delay = retry_after_seconds(exc)
                    self.budget.pause(delay, chat)
                    error: Exception = exc
                except BadRequest:  # the request itself is wrong: trying again cannot help
                    raise
                except TimedOut as exc:
                    if timed_out:  # a second copy may already be on its way: stop here
                        self.stats["gave_up"] += 1
                        raise
                    timed_out = True
                    self.stats["uncertain"] += 1
                    delay, error = self.uncertain_pause, exc
                except NetworkError as exc:  # 5xx answers, connection errors
                    failures += 1
                    delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
                    error = exc
            if self.clock() + delay > deadline or self.stopping():
                self.stats["gave_up"] += 1
                raise error
            self.stats["retried"] += 1
            log.warning("%s to chat %s failed (%s); trying again in %.3gs", endpoint, chat, error, delay)
            await self._pause(delay)
            if self.stopping():
                self.stats["gave_up"] += 1
                raise error

    async def _pause(self, seconds: float) -> None:
        """Sleep, but look every half second whether the application is shutting down."""
        until = self.clock() + seconds
        while not self.stopping() and (left := until - self.clock()) > 0:
            await asyncio.sleep(min(left, 0.5))
