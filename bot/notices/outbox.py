"""The persistent outbox and its sender: reliable, rate-limited delivery of many messages.

Shared infrastructure (notices, reminders, anything that sends to many people). Nothing here
knows Telegram; the transport passes a ``send`` coroutine and maps its errors to the
exception types below.

Enqueueing (any process: the bot, the CLI)::

    from bot.notices.outbox import Outgoing, enqueue
    enqueue(storage, source_kind="reminder", source_id="event-12-24h", messages=[
        Outgoing(recipient_key="member:3", chat_id=4201, text="明天上午九点开会",
                 buttons=[[Button("收到", "e:ok:12")]], not_before=some_aware_datetime),
    ], now=now)

* ``(source_kind, source_id, recipient_key)`` is the dedupe key: enqueuing the same key again
  is a no-op, so a job that runs twice (or a retry after a crash) cannot send twice.
* ``text`` is plain text (the transport escapes it); ``buttons`` are rows of
  :class:`bot.answers.dialogue.Button`; ``attachment`` re-sends a stored Telegram ``file_id``;
  ``not_before`` (aware datetime) delays the message (scheduled notices, reminders).
* Rows of the same source to the same chat are delivered in enqueue order (an attachment
  and then its text); rows of different sources are independent.
* :func:`cancel` cancels a source's rows that are still pending; :func:`status_counts` and
  ``storage.outbox_rows(kind, id)`` tell what happened to each row.

Delivery: one :class:`Sender` runs in the bot process (started by handlers/notices.py;
``handlers.notices.outbox_sender(app)`` returns it). It polls the table every
``idle_poll`` seconds, so rows enqueued by another process are picked up; call
``sender.wake()`` after enqueueing in-process to start at once. ``sender.subscribe(kind, fn)``
calls ``fn(row)`` whenever a row of that source kind reaches a final state.

State machine of a row::

    pending ──claim──▶ sending ──ok──────────────────▶ sent
       ▲                  │──RateLimited─────────────▶ pending (due = now + retry_after exactly)
       │                  │──Transient───────────────▶ pending after the outage pause (no attempt
       │                  │                            spent); failed once failing for give_up_after
       │                  │──Uncertain, first time───▶ pending after uncertain_pause (one retry)
       │                  │──Uncertain, again────────▶ uncertain (may have arrived; no more copies)
       │                  │──other error, n<max──────▶ pending (due = now + backoff(n))
       │                  │──other error, n=max──────▶ failed (reason kept)
       │                  │──Permanent───────────────▶ failed
       │                  └──Unreachable─────────────▶ unreachable (blocked/deactivated; no retry)
       └──── start-up recovery: sending ─▶ pending   (pending ──cancel──▶ cancelled)

Faults, as Telegram and networks produce them:

* A timeout is not a failure: the request may have been delivered. The row is marked
  uncertain and tried once more after a pause (``uncertain_pause``, or sooner as the first
  probe when an outage pause ends); if that times out too it ends as
  ``uncertain``. So one person gets at most two copies of a message (plus, after a crash, the
  requests that were in flight). While the outbox probes after an outage it probes with such a
  row first, so the possible copies stay within the requests that were in flight when the
  answers stopped coming.
* An outage pauses, it does not fail. 5xx answers, network errors, timeouts and 429s trip a
  breaker: the whole outbox pauses (``outage_pause_initial`` seconds, doubling up to
  ``outage_pause_max`` while the outage lasts), then probes with one request at a time until
  one succeeds. Rows spend no attempts meanwhile; a row fails only when it has been failing
  for ``give_up_after`` seconds (a day by default) or on an answer that means "never" (403
  blocked, 400 chat not found).

Crash safety: a row is marked ``sending`` (committed) just before its request and its
result is committed as soon as the answer arrives. After a kill, rows still ``sending`` are
re-sent on the next start: those are the only possible duplicates, and at most
``max_in_flight`` rows are ``sending`` at any moment.

Rates: requests start evenly spaced at ``rate`` per second overall (in parallel, up to
``max_in_flight`` outstanding), a chat gets its next message no sooner than
``1 / per_chat_rate`` seconds after the previous answer, and a 429 pauses the whole outbox
for exactly ``retry_after`` seconds (Telegram does not say whether the limit hit was the
chat's or the bot's) while the row itself is retried then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.reply import Button
from bot.storage import Storage, stamp
from bot.storage.outbox import OutboxRecord

log = logging.getLogger(__name__)


# ---- what goes in ----------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file Telegram already has (``file_id``), re-sent by id."""

    kind: str  # "document" | "photo"
    file_id: str
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("document", "photo"):
            raise ValueError(f"unknown attachment kind: {self.kind!r}")

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "file_id": self.file_id, "name": self.name}

    @classmethod
    def from_json(cls, data: dict[str, str] | None) -> Attachment | None:
        return cls(data["kind"], data["file_id"], data.get("name", "")) if data else None


@dataclass(frozen=True)
class Outgoing:
    """One message to enqueue. ``recipient_key`` must be unique within its source."""

    recipient_key: str
    chat_id: int
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    attachment: Attachment | None = None  # sent with ``text`` as its caption (≤ 1024 characters)
    not_before: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    """A row handed to ``send``: everything needed to deliver it."""

    id: int
    source_kind: str
    source_id: str
    recipient_key: str
    chat_id: int
    text: str
    buttons: list[list[Button]]
    attachment: Attachment | None
    attempts: int
    status: str = "pending"
    message_id: int | None = None
    last_error: str | None = None
    uncertain: int = 0  # attempts that timed out
    failing_since: float | None = None

    @classmethod
    def from_record(cls, record: OutboxRecord) -> OutboxRow:
        return cls(
            id=record.id,
            source_kind=record.source_kind,
            source_id=record.source_id,
            recipient_key=record.recipient_key,
            chat_id=record.chat_id,
            text=record.text,
            buttons=[[Button(b["text"], b["data"]) for b in row] for row in record.buttons],
            attachment=Attachment.from_json(record.attachment),
            attempts=record.attempts,
            status=record.status,
            message_id=record.message_id,
            last_error=record.last_error,
            uncertain=record.uncertain,
            failing_since=record.failing_since,
        )


# ---- how sending can fail (the transport maps its errors to these) ------------------


class DeliveryError(Exception):
    """Base class; ``reason`` is kept in the row (e.g. Telegram's description)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RateLimited(DeliveryError):
    """429: try again after exactly ``retry_after`` seconds; not counted as an attempt."""

    def __init__(self, retry_after: float, reason: str = ""):
        super().__init__(reason or f"rate limited, retry after {retry_after:g}s")
        self.retry_after = float(retry_after)


class Unreachable(DeliveryError):
    """403 and the like: the user blocked the bot or the account is gone; never retried."""


class Transient(DeliveryError):
    """5xx, timeouts, network errors: retried with backoff a bounded number of times."""


class Permanent(DeliveryError):
    """The request itself is wrong (400): retrying cannot help."""


class Uncertain(DeliveryError):
    """No answer in time: the message may or may not have been delivered."""


SendFn = Callable[[OutboxRow], Awaitable[int | None]]  # returns the sent message's id


# ---- settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliverySettings:
    rate: float = 25.0  # requests started per second, overall
    per_chat_rate: float = 1.0  # messages per second to one chat
    max_in_flight: int = 20  # outstanding requests (also the bound on duplicates after a crash)
    max_attempts: int = 5  # tries for unexpected errors before a row fails
    backoff_initial: float = 2.0  # seconds before the first retry …
    backoff_factor: float = 2.0  # … multiplied by this each time …
    backoff_max: float = 60.0  # … up to this
    outage_pause_initial: float = 2.0  # seconds the outbox pauses when Telegram fails …
    outage_pause_max: float = 60.0  # … doubling while the outage lasts, up to this
    give_up_after: float = 86400.0  # a row failing this long (seconds) fails for good
    uncertain_pause: float = 30.0  # seconds before the one retry of a timed-out row
    batch: int = 50  # rows read per query
    idle_poll: float = 1.0  # seconds between looks at the table when idle
    stop_grace: float = 10.0  # seconds to let requests in flight finish on shutdown

    def __post_init__(self) -> None:
        for name in ("rate", "per_chat_rate", "backoff_factor", "idle_poll"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_in_flight", "max_attempts", "batch"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name} must be a positive integer")
        for name in (
            "backoff_initial",
            "backoff_max",
            "stop_grace",
            "outage_pause_initial",
            "outage_pause_max",
            "give_up_after",
            "uncertain_pause",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliverySettings:
        """Build from JSON; ValueError names the bad field."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key}: expected a number, got {value!r}")
        return cls(**data)

    def backoff(self, attempts: int) -> float:
        """Delay before retry number ``attempts`` (1 = first retry)."""
        return min(self.backoff_max, self.backoff_initial * self.backoff_factor ** (attempts - 1))


# ---- enqueueing and querying -----------------------------------------------------


def _buttons_json(rows: Iterable[Iterable[Button]]) -> list[list[dict[str, str]]]:
    return [[{"text": b.text, "data": b.data} for b in row] for row in rows]


def enqueue(storage: Storage, *, source_kind: str, source_id: str, messages: Iterable[Outgoing], now: datetime) -> int:
    """Write the messages to the outbox in one transaction; return how many were new."""
    created = stamp(now)
    rows = []
    for message in messages:
        if not message.text.strip() and message.attachment is None:
            raise ValueError(f"empty message for {message.recipient_key}")
        due = message.not_before or now
        if due.tzinfo is None:
            raise ValueError("not_before must be timezone-aware")
        rows.append(
            {
                "source_kind": source_kind,
                "source_id": str(source_id),
                "recipient_key": message.recipient_key,
                "chat_id": message.chat_id,
                "text": message.text,
                "buttons": _buttons_json(message.buttons),
                "attachment": message.attachment.to_json() if message.attachment else None,
                "due_at": due.timestamp(),
                "created_at": created,
            }
        )
    return storage.outbox_insert(rows)


def cancel(storage: Storage, source_kind: str, source_id: str, now: datetime) -> int:
    """Cancel a source's rows that have not been sent yet; return how many."""
    return storage.outbox_cancel(source_kind, str(source_id), stamp(now))


def status_counts(storage: Storage, source_kind: str, source_id: str) -> dict[str, int]:
    """Status → number of rows, for one source."""
    return storage.outbox_counts(source_kind, str(source_id))


def rows_of(storage: Storage, source_kind: str, source_id: str | None = None) -> list[OutboxRow]:
    return [OutboxRow.from_record(r) for r in storage.outbox_rows(source_kind, source_id)]


# ---- the sender ------------------------------------------------------------------


Listener = Callable[[OutboxRow], None]


class Sender:
    """Works through the outbox: paced, parallel, retrying; see the module docstring.

    ``clock`` is monotonic seconds (pacing); ``wall`` is POSIX seconds (due times);
    ``tz`` is used for the timestamps written to the rows.
    """

    def __init__(
        self,
        storage: Storage,
        send: SendFn,
        settings: DeliverySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.storage = storage
        self.send = send
        self.settings = settings or DeliverySettings()
        self.clock = clock
        self.wall = wall
        self._listeners: dict[str, list[Listener]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._next_slot = 0.0  # monotonic time the next request may start
        self._paused_until = 0.0  # wall time: after a 429 or in an outage nothing starts before this
        self._outage = 0  # consecutive outage pauses; > 0: probe with one request at a time
        self._chat_ready: dict[int, float] = {}  # chat → monotonic time its next message may start
        self._busy_chats: set[int] = set()
        self._tasks: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(self.settings.max_in_flight)
        self.stats = dict.fromkeys(
            ("started", "sent", "rate_limited", "retried", "failed", "unreachable", "uncertain", "timed_out", "paused"),
            0,
        )

    # ---- public ----------------------------------------------------------

    def subscribe(self, source_kind: str, listener: Listener) -> None:
        """Call ``listener(row)`` when a row of this source kind reaches a final state."""
        self._listeners.setdefault(source_kind, []).append(listener)

    def wake(self) -> None:
        """Look at the table now (after enqueueing in this process)."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self) -> None:
        """Recover rows left 'sending' by a crash, then deliver until :meth:`stop`."""
        recovered = self.storage.outbox_recover()
        if recovered:
            log.warning("outbox: %d message(s) were in flight when the process stopped; sending again", recovered)
        while not self._stopping:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("outbox sender step failed")
                await self._idle(self.settings.idle_poll)

    async def stop(self) -> None:
        """Start nothing new; wait up to ``stop_grace`` seconds for requests in flight."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self.settings.stop_grace)
            for task in pending:
                task.cancel()

    async def drain(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is in flight and no pending row falls due within ``timeout``
        (tests, benchmarks); False on timeout."""
        deadline = self.clock() + timeout
        horizon = self.wall() + timeout
        while self.clock() < deadline:
            next_due = self.storage.outbox_next_due()
            if not self._tasks and (next_due is None or next_due > horizon):
                return True
            await asyncio.sleep(0.01)
        return False

    # ---- the loop --------------------------------------------------------

    async def _step(self) -> None:
        now = self.wall()
        if self._paused_until > now:
            await self._idle(self._paused_until - now)
            return
        if self._outage and self._tasks:  # after an outage: one probe at a time until one succeeds
            await self._idle(self.settings.idle_poll)
            return
        rows = self.storage.outbox_due(now, self.settings.batch)
        if self._outage:  # probe with a row that timed out before: its retry adds no new possible copy
            probe = self.storage.outbox_timed_out_pending()
            rows = [probe] if probe is not None else rows
        if not rows:
            next_due = self.storage.outbox_next_due()
            wait = self.settings.idle_poll if next_due is None else min(self.settings.idle_poll, next_due - now)
            await self._idle(max(wait, 0.001))
            return
        started = 0
        for record in rows:
            if self._stopping or self._paused_until > self.wall():
                return
            chat = record.chat_id
            ready = self._chat_ready.get(chat, 0.0)
            if chat in self._busy_chats or ready > self.clock():
                delay = max(ready - self.clock(), 1.0 / self.settings.per_chat_rate)
                self.storage.outbox_postpone(record.id, self.wall() + delay)
                continue
            await self._slots.acquire()  # first a free slot, then the pacing: a start never follows a wait at once
            await self._pace()
            if self._stopping or self._paused_until > self.wall() or not self.storage.outbox_claim(record.id):
                self._slots.release()
                continue
            started += 1
            self._busy_chats.add(chat)
            task = asyncio.create_task(self._deliver(OutboxRow.from_record(record)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if self._outage:
                return
        if not started:
            await asyncio.sleep(0)  # every row was postponed: let other work run

    async def _idle(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def _pace(self) -> None:
        """Space request starts ``1 / rate`` apart; never catch up in a burst after a stall."""
        now = self.clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.settings.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _deliver(self, row: OutboxRow) -> None:
        self.stats["started"] += 1
        attempts = row.attempts + 1
        final: str | None = None
        try:
            message_id = await self.send(row)
        except RateLimited as exc:
            self.stats["rate_limited"] += 1
            self._trip(exc.retry_after, exc.reason)
            log.warning("outbox: 429 for row %d, pausing %.3gs", row.id, exc.retry_after)
            self.storage.outbox_retry(row.id, self._paused_until, row.attempts, exc.reason)
        except Uncertain as exc:
            self.stats["timed_out"] += 1
            self._trip(None, exc.reason)
            if row.uncertain:
                final = "uncertain"
                self._finish(row, final, attempts, error=exc.reason)
            else:
                due = max(self._paused_until, self.wall() + self.settings.uncertain_pause)
                self.storage.outbox_uncertain(row.id, due, exc.reason)
        except Transient as exc:
            now = self.wall()
            self._trip(None, exc.reason)
            if row.failing_since is not None and now - row.failing_since >= self.settings.give_up_after:
                final = "failed"
                self._finish(row, final, attempts, error=exc.reason)
            else:
                self.storage.outbox_hold(row.id, self._paused_until, exc.reason, now)
        except Unreachable as exc:
            final = "unreachable"
            self._finish(row, final, attempts, error=exc.reason)
        except Permanent as exc:
            final = "failed"
            self._finish(row, final, attempts, error=exc.reason)
        except Exception as exc:  # a bug, not Telegram: retry, bounded
            reason = f"{type(exc).__name__}: {exc}"
            log.exception("outbox: unexpected error sending row %d", row.id)
            if attempts >= self.settings.max_attempts:
                final = "failed"
                self._finish(row, final, attempts, error=reason)
            else:
                self.stats["retried"] += 1
                self.storage.outbox_retry(row.id, self.wall() + self.settings.backoff(attempts), attempts, reason)
        else:
            final = "sent"
            if self._outage:
                log.warning("outbox: Telegram answers again; delivery resumes")
                self._outage = 0
            self._finish(row, final, attempts, message_id=message_id)
        finally:
            self._chat_ready[row.chat_id] = self.clock() + 1.0 / self.settings.per_chat_rate
            self._busy_chats.discard(row.chat_id)
            self._slots.release()
            self._forget_ready_chats()
            self._wake.set()
        if final:
            self.stats[final] += 1
            self._notify(row, final, attempts)

    def _trip(self, retry_after: float | None, reason: str) -> None:
        """A failure that says Telegram (or the way to it) is in trouble: pause everything.

        A 429 pauses for exactly ``retry_after``; other failures pause for a time that doubles
        with each failed probe. Failures of requests already in flight when the pause began
        do not lengthen it.
        """
        now = self.wall()
        already_paused = self._paused_until > now
        if retry_after is not None:  # Telegram said how long: honour it exactly
            self._paused_until = max(self._paused_until, now + retry_after)
        if already_paused:
            return
        self._outage += 1
        self.stats["paused"] += 1
        if retry_after is None:
            pause = min(self.settings.outage_pause_max, self.settings.outage_pause_initial * 2 ** (self._outage - 1))
            self._paused_until = now + pause
        pause = self._paused_until - now
        log.warning("outbox: sending failed (%s); pausing all delivery for %.3gs", reason, pause)

    def _finish(self, row: OutboxRow, status: str, attempts: int, **kwargs: Any) -> None:
        finished = stamp(datetime.fromtimestamp(self.wall(), self.storage.tz))
        self.storage.outbox_finish(row.id, status, finished, attempts=attempts, **kwargs)

    def _notify(self, row: OutboxRow, status: str, attempts: int) -> None:
        listeners = self._listeners.get(row.source_kind, [])
        if not listeners:
            return
        final_row = OutboxRow(**{**row.__dict__, "status": status, "attempts": attempts})
        for listener in listeners:
            try:
                listener(final_row)
            except Exception:
                log.exception("outbox listener for %s failed", row.source_kind)

    def _forget_ready_chats(self) -> None:
        if len(self._chat_ready) > 4096:
            now = self.clock()
            self._chat_ready = {chat: t for chat, t in self._chat_ready.items() if t > now}
