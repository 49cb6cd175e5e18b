"""One budget for every outgoing message: Telegram's flood limits, shared by all senders.

Telegram allows about 30 messages a second for the whole bot, about one a second to one chat
and 20 a minute to one group; above that it answers 429 and pauses the bot. Replies to users,
notices, reminders and edits all draw on the same allowance, so they must be paced by one
object: two pacers that each keep under the limit still exceed it together.

:class:`SendBudget` grants request starts:

* overall, evenly spaced at ``rate`` per second (never a catch-up burst after a stall);
* per chat, no sooner than ``per_chat_interval`` seconds after the previous request to that
  chat *ended* (Telegram counts arrivals, and the previous request may have queued);
* per group (negative chat ids), at most ``group_per_minute`` starts in any ``group_window``
  (60) seconds;
* by priority: a waiting :data:`INTERACTIVE` request (a reply to a user) always gets the next
  overall slot before a waiting :data:`BROADCAST` one (an outbox row), so a question asked
  during a 1,000-recipient notice is answered within seconds and the notice goes on with the
  remaining rate;
* not to a chat paused after a 429 for it (``retry_after``; Telegram does not say whether the
  chat's or the bot's limit was hit, and with the overall pacing above it is the chat's), and
  not at all while the whole budget is paused.

Nothing here knows Telegram; the transport calls :meth:`SendBudget.slot` around each request.
Idle chats are forgotten, so memory does not grow with the number of users.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

INTERACTIVE = 0
BROADCAST = 1
PRIORITIES = (INTERACTIVE, BROADCAST)


@dataclass
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_end: float = float("-inf")
    paused_until: float = float("-inf")
    starts: deque[float] = field(default_factory=deque)  # groups: starts within the window


class SendBudget:
    """Paces request starts; see the module docstring."""

    def __init__(
        self,
        rate: float = 28.0,
        per_chat_interval: float = 1.05,
        group_per_minute: int = 20,
        *,
        group_window: float = 60.0,  # seconds (a parameter for tests)
        clock: Callable[[], float] = time.monotonic,
        prune_above: int = 1024,
    ):
        if rate <= 0 or per_chat_interval < 0 or group_per_minute < 1:
            raise ValueError("rate and group_per_minute must be positive, per_chat_interval not negative")
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.clock = clock
        self._prune_min = self._prune_above = prune_above
        self._chats: dict[Hashable, _Chat] = {}
        self._queues: dict[int, deque[asyncio.Future[None]]] = {p: deque() for p in PRIORITIES}
        self._next = float("-inf")  # clock time of the next overall slot
        self._paused_until = float("-inf")
        self._dispatcher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.granted = {p: 0 for p in PRIORITIES}

    # ---- public ------------------------------------------------------------------------

    @asynccontextmanager
    async def slot(self, chat_id: Hashable | None, priority: int = INTERACTIVE) -> AsyncIterator[None]:
        """Wait for the chat, the group window and an overall slot; the request runs inside."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        if chat_id is None:
            await self._overall(priority)
            yield
            return
        chat = self._chats.get(chat_id)
        if chat is None:
            self._prune()
            chat = self._chats[chat_id] = _Chat()
        async with chat.lock:
            try:
                await self._chat_ready(chat, is_group=_is_group(chat_id))
                await self._overall(priority)
                if _is_group(chat_id):
                    chat.starts.append(self.clock())
                yield
            finally:
                chat.last_end = self.clock()

    def pause(self, seconds: float, chat_id: Hashable | None = None) -> None:
        """Start nothing to ``chat_id`` (or, without one, nothing at all) for ``seconds``."""
        until = self.clock() + seconds
        if chat_id is None:
            self._paused_until = max(self._paused_until, until)
            self._changed.set()
            return
        chat = self._chats.get(chat_id)
        if chat is None:
            self._prune()
            chat = self._chats[chat_id] = _Chat()
        chat.paused_until = max(chat.paused_until, until)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    @property
    def tracked_chats(self) -> int:
        return len(self._chats)

    # ---- per chat ----------------------------------------------------------------------

    async def _chat_ready(self, chat: _Chat, *, is_group: bool) -> None:
        while True:
            now = self.clock()
            wait = max(chat.last_end + self.per_chat_interval, chat.paused_until) - now
            if is_group:
                while chat.starts and chat.starts[0] <= now - self.group_window:
                    chat.starts.popleft()
                if len(chat.starts) >= self.group_per_minute:
                    wait = max(wait, chat.starts[0] + self.group_window - now)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def _prune(self) -> None:
        """Forget chats with nothing in progress and no pacing left to enforce."""
        if len(self._chats) < self._prune_above:
            return
        now = self.clock()
        for key, chat in list(self._chats.items()):
            idle = (
                not chat.lock.locked()
                and now - chat.last_end > self.per_chat_interval
                and chat.paused_until < now
                and not (chat.starts and chat.starts[-1] > now - self.group_window)
            )
            if idle:
                del self._chats[key]
        # Scan again only when the table has doubled: pruning costs O(1) per new chat.
        self._prune_above = max(self._prune_min, 2 * len(self._chats))

    # ---- overall, by priority ----------------------------------------------------------

    async def _overall(self, priority: int) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[priority].append(waiter)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="send-budget")
        self._changed.set()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self._queues[priority]:  # not granted yet; a granted slot is simply not used
                self._queues[priority].remove(waiter)
            raise

    def _first_waiter(self) -> asyncio.Future[None] | None:
        for priority in PRIORITIES:
            queue = self._queues[priority]
            while queue and queue[0].done():  # cancelled while waiting
                queue.popleft()
            if queue:
                self.granted[priority] += 1
                return queue.popleft()
        return None

    async def _dispatch(self) -> None:
        while any(self._queues.values()):
            now = self.clock()
            start = max(self._next, self._paused_until, now)
            if start > now:
                self._changed.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=start - now)
                continue
            waiter = self._first_waiter()
            if waiter is None:
                break
            waiter.set_result(None)
            self._next = max(now, self._next) + 1.0 / self.rate


def _is_group(chat_id: Hashable) -> bool:
    return isinstance(chat_id, int) and chat_id < 0
