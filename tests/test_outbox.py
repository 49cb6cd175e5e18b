"""The outbox and its sender, with an in-process ``send`` (no Telegram, no HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.notices.outbox import (
    Attachment,
    DeliverySettings,
    OutboxRow,
    Outgoing,
    Permanent,
    RateLimited,
    Sender,
    Transient,
    Uncertain,
    Unreachable,
    cancel,
    enqueue,
    rows_of,
    status_counts,
)
from bot.reply import Button
from bot.storage import Storage

TZ = ZoneInfo("Asia/Shanghai")
QUICK = DeliverySettings(
    rate=1000,
    per_chat_rate=1000,
    max_in_flight=10,
    backoff_initial=0.01,
    backoff_max=0.05,
    outage_pause_initial=0.01,
    outage_pause_max=0.05,
    uncertain_pause=0.01,
    idle_poll=0.02,
)


def now() -> datetime:
    return datetime.now(TZ)


@pytest.fixture
def storage(tmp_path):
    with Storage(tmp_path / "outbox.db", TZ) as opened:
        yield opened


def messages(count: int, *, first_chat: int = 1000, **extra) -> list[Outgoing]:
    return [Outgoing(f"member:{i}", first_chat + i, f"第{i}条", **extra) for i in range(count)]


class FakeTransport:
    """Records calls; ``script[chat]`` lists outcomes per attempt (an exception or "ok")."""

    def __init__(self, delay: float = 0.0, script: dict[int, list] | None = None):
        self.delay = delay
        self.script = script or {}
        self.calls: list[tuple[float, float, OutboxRow]] = []  # (start, end, row)
        self.active = 0
        self.most_active = 0
        self.next_id = 1

    async def __call__(self, row: OutboxRow) -> int:
        start = time.monotonic()
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay)
            outcomes = self.script.get(row.chat_id, [])
            outcome = outcomes.pop(0) if outcomes else "ok"
            if isinstance(outcome, BaseException):
                raise outcome
            self.next_id += 1
            return self.next_id
        finally:
            self.active -= 1
            self.calls.append((start, time.monotonic(), row))

    def chats(self) -> list[int]:
        return [row.chat_id for _, _, row in self.calls]


@contextlib.asynccontextmanager
async def sending(storage: Storage, transport, delivery: DeliverySettings = QUICK):
    sender = Sender(storage, transport, delivery)
    task = asyncio.create_task(sender.run())
    try:
        yield sender
    finally:
        await sender.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---- enqueueing ------------------------------------------------------------------------------


def test_enqueue_is_idempotent_per_source_and_recipient(storage):
    assert enqueue(storage, source_kind="notice", source_id="1", messages=messages(3), now=now()) == 3
    assert enqueue(storage, source_kind="notice", source_id="1", messages=messages(4), now=now()) == 1
    assert enqueue(storage, source_kind="notice", source_id="2", messages=messages(2), now=now()) == 2
    assert enqueue(storage, source_kind="reminder", source_id="1", messages=messages(1), now=now()) == 1
    assert status_counts(storage, "notice", "1") == {"pending": 4}
    assert len(rows_of(storage, "notice")) == 6


def test_enqueue_keeps_buttons_and_attachments(storage):
    buttons = [[Button("收到", "n:r:1"), Button("请假", "n:l:1")]]
    attachment = Attachment("document", "file-9", "议程.pdf")
    enqueue(
        storage,
        source_kind="notice",
        source_id="1",
        messages=[Outgoing("member:1", 42, "正文", buttons=buttons, attachment=attachment)],
        now=now(),
    )
    (row,) = rows_of(storage, "notice", "1")
    assert row.buttons == buttons and row.attachment == attachment and row.chat_id == 42


def test_enqueue_refuses_naive_times_and_empty_messages(storage):
    with pytest.raises(ValueError, match="aware"):
        enqueue(
            storage,
            source_kind="x",
            source_id="1",
            messages=[Outgoing("a", 1, "t", not_before=datetime(2024, 1, 1))],
            now=now(),
        )
    with pytest.raises(ValueError, match="empty"):
        enqueue(storage, source_kind="x", source_id="1", messages=[Outgoing("a", 1, "  ")], now=now())
    assert not rows_of(storage, "x")


def test_delivery_settings_are_validated():
    assert DeliverySettings.from_dict({"rate": 10}).rate == 10
    with pytest.raises(ValueError, match="unknown"):
        DeliverySettings.from_dict({"speed": 10})
    with pytest.raises(ValueError, match="rate"):
        DeliverySettings.from_dict({"rate": "fast"})
    with pytest.raises(ValueError, match="rate"):
        DeliverySettings(rate=0)
    with pytest.raises(ValueError, match="max_in_flight"):
        DeliverySettings(max_in_flight=0)
    assert [DeliverySettings(backoff_initial=2, backoff_max=10).backoff(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


# ---- delivering --------------------------------------------------------------------------------


async def test_everything_is_sent_exactly_once(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(50), now=now())
    transport = FakeTransport()
    async with sending(storage, transport) as sender:
        assert await sender.drain(5)
    assert sorted(transport.chats()) == list(range(1000, 1050))
    rows = rows_of(storage, "notice", "1")
    assert {row.status for row in rows} == {"sent"} and all(row.message_id for row in rows)


async def test_starts_are_paced_but_requests_run_in_parallel(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(20), now=now())
    transport = FakeTransport(delay=0.2)
    delivery = DeliverySettings(rate=50, per_chat_rate=1, max_in_flight=8, idle_poll=0.02)
    started = time.monotonic()
    async with sending(storage, transport, delivery) as sender:
        assert await sender.drain(5)
    elapsed = time.monotonic() - started
    starts = sorted(start for start, _, _ in transport.calls)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / 50 / 2  # starts are spaced (allowing for event-loop jitter) …
    assert all(b - a >= 5 / 50 - 0.005 for a, b in zip(starts, starts[5:], strict=False))  # … at the rate
    assert elapsed < 1.2  # one by one it would take 20 × 0.2 s = 4 s
    assert 2 <= transport.most_active <= 8


async def test_one_chat_gets_at_most_one_message_per_interval(storage):
    for source in ("1", "2", "3"):
        enqueue(storage, source_kind="notice", source_id=source, messages=messages(1), now=now())
    transport = FakeTransport(delay=0.01)
    delivery = DeliverySettings(rate=1000, per_chat_rate=10, idle_poll=0.02)
    async with sending(storage, transport, delivery) as sender:
        assert await sender.drain(5)
    calls = sorted(transport.calls, key=lambda call: call[0])
    assert len(calls) == 3
    for (_, end, _), (start, _, _) in itertools.pairwise(calls):
        assert start - end >= 0.1 - 0.005


async def test_parts_of_one_source_arrive_in_order_even_after_a_retry(storage):
    attachment = Attachment("document", "file-1", "a.pdf")
    enqueue(
        storage,
        source_kind="notice",
        source_id="1",
        messages=[Outgoing("m/file", 7, "附件", attachment=attachment), Outgoing("m", 7, "正文")],
        now=now(),
    )
    transport = FakeTransport(script={7: [Transient("502 Bad Gateway"), "ok", "ok"]})
    async with sending(storage, transport) as sender:
        assert await sender.drain(5)
    assert [row.text for _, _, row in transport.calls] == ["附件", "附件", "正文"]


async def test_429_pauses_everything_for_exactly_retry_after_and_drops_nothing(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(10), now=now())
    transport = FakeTransport(script={1003: [RateLimited(0.4)]})
    delivery = DeliverySettings(rate=20, per_chat_rate=1000, idle_poll=0.02)
    async with sending(storage, transport, delivery) as sender:
        assert await sender.drain(5)
    calls = sorted(transport.calls, key=lambda call: call[0])
    limited_end = next(end for start, end, row in calls if row.chat_id == 1003)
    later = [start for start, _, _ in calls if start > limited_end]
    assert later and min(later) - limited_end >= 0.4 - 0.01
    assert min(later) - limited_end < 0.4 + 0.1
    assert sorted(transport.chats()) == sorted([*range(1000, 1010), 1003])
    (row,) = [r for r in rows_of(storage, "notice") if r.chat_id == 1003]
    assert row.status == "sent" and row.attempts == 1  # a 429 is not an attempt


OUTAGE = dataclasses.replace(QUICK, outage_pause_initial=0.05, outage_pause_max=0.2, uncertain_pause=0.1)


class Outage:
    """A transport wrapper failing every request that starts before ``until`` (monotonic)."""

    def __init__(self, transport: FakeTransport, seconds: float, error: BaseException):
        self.transport = transport
        self.until = time.monotonic() + seconds
        self.error = error
        self.failed: list[tuple[float, float]] = []

    async def __call__(self, row: OutboxRow) -> int:
        if time.monotonic() < self.until:
            start = time.monotonic()
            await asyncio.sleep(0.005)
            self.failed.append((start, time.monotonic()))
            raise self.error
        return await self.transport(row)


async def test_an_outage_pauses_the_outbox_spends_no_attempts_and_probes_one_request_at_a_time(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(30), now=now())
    outage = Outage(FakeTransport(), 0.6, Transient("502 Bad Gateway"))
    async with sending(storage, outage, OUTAGE) as sender:
        assert await sender.drain(10)
    rows = rows_of(storage, "notice")
    assert {row.status for row in rows} == {"sent"} and {row.attempts for row in rows} == {1}
    assert sorted(outage.transport.chats()) == list(range(1000, 1030))  # once each
    # Pauses double (0.05, 0.1, 0.2, 0.2 …): a 0.6 s outage costs a handful of probes, not 30 × retries.
    assert len(outage.failed) <= 10 + 8 and sender.stats["paused"] >= 3
    # After the first pause, requests go one at a time until one succeeds.
    probes = sorted(outage.failed)[1:]
    first_pause_end = min(end for _, end in outage.failed) + OUTAGE.outage_pause_initial
    probes = [call for call in probes if call[0] >= first_pause_end]
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(probes))


async def test_a_row_fails_only_after_failing_for_the_give_up_time(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(2), now=now())
    transport = FakeTransport(script={1000: [Transient("500 Internal Server Error")] * 1000})
    delivery = dataclasses.replace(OUTAGE, give_up_after=0.5)
    started = time.monotonic()
    async with sending(storage, transport, delivery) as sender:
        assert await sender.drain(10)
    rows = {row.chat_id: row for row in rows_of(storage, "notice")}
    assert (rows[1000].status, rows[1000].last_error) == ("failed", "500 Internal Server Error")
    assert time.monotonic() - started >= 0.5 and rows[1001].status == "sent"


async def test_a_timed_out_row_is_tried_once_more_after_a_pause_and_never_a_third_time(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(3), now=now())
    transport = FakeTransport(script={1000: [Uncertain("TimedOut")], 1001: [Uncertain("TimedOut")] * 5})
    async with sending(storage, transport, OUTAGE) as sender:
        assert await sender.drain(10)
    rows = {row.chat_id: row for row in rows_of(storage, "notice")}
    assert (rows[1000].status, rows[1000].uncertain) == ("sent", 1)
    assert (rows[1001].status, rows[1001].uncertain, rows[1001].last_error) == ("uncertain", 1, "TimedOut")
    assert transport.chats().count(1000) == 2 and transport.chats().count(1001) == 2
    first, second = [(start, end) for start, end, row in transport.calls if row.chat_id == 1000]
    # The retry comes after a pause: the outage pause, as the first probe (uncertain_pause at most).
    assert second[0] - first[1] >= OUTAGE.outage_pause_initial - 0.01
    assert rows[1002].status == "sent" and sender.stats["timed_out"] == 3


async def test_unreachable_and_permanent_errors_are_not_retried(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(3), now=now())
    transport = FakeTransport(
        script={1000: [Unreachable("Forbidden: bot was blocked by the user")], 1001: [Permanent("message is too long")]}
    )
    async with sending(storage, transport) as sender:
        assert await sender.drain(5)
    rows = {row.chat_id: row for row in rows_of(storage, "notice")}
    assert (rows[1000].status, rows[1000].last_error) == ("unreachable", "Forbidden: bot was blocked by the user")
    assert (rows[1001].status, rows[1001].last_error) == ("failed", "message is too long")
    assert sorted(transport.chats()) == [1000, 1001, 1002]


async def test_an_unexpected_error_is_retried_like_a_transient_one(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(1), now=now())
    transport = FakeTransport(script={1000: [KeyError("oops"), "ok"]})
    async with sending(storage, transport) as sender:
        assert await sender.drain(5)
    (row,) = rows_of(storage, "notice")
    assert row.status == "sent" and row.attempts == 2


async def test_rows_in_flight_at_a_crash_are_sent_again_on_start(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(3), now=now())
    (first, *_) = rows_of(storage, "notice")
    assert storage.outbox_claim(first.id)  # the process died while this request was out
    transport = FakeTransport()
    async with sending(storage, transport) as sender:
        assert await sender.drain(5)
    assert sorted(transport.chats()) == [1000, 1001, 1002]
    assert status_counts(storage, "notice", "1") == {"sent": 3}


async def test_cancelled_and_future_rows_are_not_sent(storage):
    later = now() + timedelta(seconds=0.3)
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(2), now=now())
    enqueue(storage, source_kind="notice", source_id="2", messages=messages(2, not_before=later), now=now())
    assert cancel(storage, "notice", "1", now()) == 2
    transport = FakeTransport()
    async with sending(storage, transport) as sender:
        assert await sender.drain(0.1)
        assert transport.calls == []
        assert await sender.drain(3)
    assert status_counts(storage, "notice", "1") == {"cancelled": 2}
    assert status_counts(storage, "notice", "2") == {"sent": 2}


async def test_listeners_hear_final_states_and_cannot_break_the_sender(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(3), now=now())
    enqueue(storage, source_kind="other", source_id="1", messages=messages(1, first_chat=5000), now=now())
    heard: list[tuple[str, str]] = []

    def listener(row: OutboxRow) -> None:
        heard.append((row.recipient_key, row.status))
        raise RuntimeError("a listener bug")

    transport = FakeTransport(script={1001: [Unreachable("blocked")], 1002: [Transient("x"), "ok"]})
    sender = Sender(storage, transport, QUICK)
    sender.subscribe("notice", listener)
    task = asyncio.create_task(sender.run())
    assert await sender.drain(5)
    await sender.stop()
    task.cancel()
    assert sorted(heard) == [("member:0", "sent"), ("member:1", "unreachable"), ("member:2", "sent")]
    assert sender.stats["sent"] == 3 and sender.stats["unreachable"] == 1 and sender.stats["paused"] == 1


async def test_stop_lets_requests_in_flight_finish(storage):
    enqueue(storage, source_kind="notice", source_id="1", messages=messages(30), now=now())
    transport = FakeTransport(delay=0.1)
    delivery = DeliverySettings(rate=100, per_chat_rate=1000, max_in_flight=5, idle_poll=0.02)
    sender = Sender(storage, transport, delivery)
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.25)
    await sender.stop()
    task.cancel()
    counts = status_counts(storage, "notice", "1")
    assert "sending" not in counts
    assert counts["sent"] == len(transport.calls) and counts["pending"] == 30 - len(transport.calls)


# ---- property: whatever happens per attempt, every row ends settled and is accounted for ----------

OUTCOMES = st.sampled_from(["ok", "transient", "timeout", "unreachable", "permanent", "429", "bug"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scripts=st.lists(st.lists(OUTCOMES, max_size=4), min_size=1, max_size=12))
def test_every_row_settles_as_its_outcomes_say(tmp_path_factory, scripts):
    def error(kind: str) -> BaseException | str:
        return {
            "ok": "ok",
            "transient": Transient("503"),
            "timeout": Uncertain("TimedOut"),
            "unreachable": Unreachable("403"),
            "permanent": Permanent("400"),
            "429": RateLimited(0.01),
            "bug": KeyError("bug"),
        }[kind]

    max_attempts = 3
    expected, expected_calls = {}, {}
    for chat, script in enumerate(scripts):
        bugs = timeouts = calls = 0
        status = None
        for kind in script:
            calls += 1
            if kind == "bug":  # unexpected errors: bounded retries
                bugs += 1
                if bugs == max_attempts:
                    status = "failed"
                    break
            elif kind == "timeout":  # at most one retry, so at most two copies
                timeouts += 1
                if timeouts == 2:
                    status = "uncertain"
                    break
            elif kind not in ("429", "transient"):  # outages and 429s: wait, never give up (here)
                status = {"ok": "sent", "unreachable": "unreachable", "permanent": "failed"}[kind]
                break
        if status is None:  # the script ran out: the next attempt succeeds
            status, calls = "sent", calls + 1
        expected[chat], expected_calls[chat] = status, calls

    async def scenario() -> tuple[dict[int, str], dict[int, int]]:
        with Storage(tmp_path_factory.mktemp("prop") / "o.db", TZ) as storage:
            outgoing = [Outgoing(f"k{chat}", chat, "t") for chat in range(len(scripts))]
            enqueue(storage, source_kind="p", source_id="1", messages=outgoing, now=now())
            transport = FakeTransport(script={chat: [error(k) for k in s] for chat, s in enumerate(scripts)})
            delivery = DeliverySettings(
                rate=2000,
                per_chat_rate=2000,
                max_attempts=max_attempts,
                backoff_initial=0.001,
                outage_pause_initial=0.001,
                outage_pause_max=0.004,
                uncertain_pause=0.001,
                idle_poll=0.01,
            )
            async with sending(storage, transport, delivery) as sender:
                assert await sender.drain(10)
            calls = {chat: transport.chats().count(chat) for chat in range(len(scripts))}
            return {row.chat_id: row.status for row in rows_of(storage, "p")}, calls

    assert asyncio.run(scenario()) == (expected, expected_calls)
