"""The one send budget: overall pacing, priority, per-chat and per-group limits, pauses, memory."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.send_budget import BROADCAST, INTERACTIVE, SendBudget


async def _start(budget: SendBudget, chat, priority: int, log: list, hold: float = 0.0) -> None:
    async with budget.slot(chat, priority):
        log.append((time.monotonic(), chat, priority))
        if hold:
            await asyncio.sleep(hold)


async def test_starts_are_evenly_spaced_overall():
    budget = SendBudget(rate=100, per_chat_interval=0)
    log: list = []
    began = time.monotonic()
    await asyncio.gather(*(_start(budget, chat, BROADCAST, log) for chat in range(40)))
    starts = sorted(t for t, _, _ in log)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.01 * 0.8  # 1/rate, less a little scheduling jitter
    assert starts[-1] - began >= 39 * 0.01 * 0.95
    # No burst after a stall: wait, then ask again; the next two starts are still spaced.
    await asyncio.sleep(0.2)
    log.clear()
    await asyncio.gather(_start(budget, 1, BROADCAST, log), _start(budget, 2, BROADCAST, log))
    assert abs(log[1][0] - log[0][0]) >= 0.01 * 0.8


async def test_interactive_requests_overtake_a_waiting_broadcast():
    budget = SendBudget(rate=50, per_chat_interval=0)
    log: list = []
    broadcast = [asyncio.create_task(_start(budget, 1000 + i, BROADCAST, log)) for i in range(100)]
    await asyncio.sleep(0.2)  # the broadcast is under way
    asked = time.monotonic()
    await asyncio.gather(*(_start(budget, i, INTERACTIVE, log) for i in range(5)))
    answered = [t for t, _, p in log if p == INTERACTIVE]
    assert max(answered) - asked < 6 / 50 + 0.05  # the next five slots, not after 100 broadcasts
    assert sum(1 for _, _, p in log if p == BROADCAST) < 30
    await asyncio.gather(*broadcast)
    assert budget.granted == {INTERACTIVE: 5, BROADCAST: 100}


async def test_one_chat_waits_for_the_interval_after_its_previous_request_ended():
    budget = SendBudget(rate=1000, per_chat_interval=0.1)
    ends: list[float] = []
    starts: list[float] = []

    async def request() -> None:
        async with budget.slot(42, INTERACTIVE):
            starts.append(time.monotonic())
            await asyncio.sleep(0.05)
            ends.append(time.monotonic())

    await asyncio.gather(*(request() for _ in range(4)))
    assert all(start - end >= 0.1 * 0.95 for end, start in zip(ends, starts[1:], strict=False))


async def test_a_group_gets_at_most_its_quota_per_window():
    budget = SendBudget(rate=1000, per_chat_interval=0, group_per_minute=3, group_window=0.5)
    log: list = []
    began = time.monotonic()
    await asyncio.gather(*(_start(budget, -100, INTERACTIVE, log) for _ in range(7)))
    starts = sorted(t - began for t, _, _ in log)
    for i, start in enumerate(starts):
        in_window = [s for s in starts[: i + 1] if s > start - 0.5 + 1e-6]
        assert len(in_window) <= 3
    assert starts[-1] >= 1.0 * 0.95  # 7 starts at 3 per 0.5 s need two full windows


async def test_a_paused_chat_waits_and_other_chats_go_on():
    budget = SendBudget(rate=1000, per_chat_interval=0)
    budget.pause(0.3, chat_id=7)
    log: list = []
    began = time.monotonic()
    await asyncio.gather(_start(budget, 7, INTERACTIVE, log), _start(budget, 8, INTERACTIVE, log))
    when = {chat: t - began for t, chat, _ in log}
    assert when[7] >= 0.3 * 0.95 and when[8] < 0.1


async def test_a_global_pause_stops_every_start():
    budget = SendBudget(rate=1000, per_chat_interval=0)
    budget.pause(0.3)
    assert budget.paused_for > 0.2
    log: list = []
    began = time.monotonic()
    await asyncio.gather(*(_start(budget, chat, BROADCAST, log) for chat in range(3)))
    assert min(t for t, _, _ in log) - began >= 0.3 * 0.95


async def test_a_cancelled_waiter_gives_its_turn_away():
    budget = SendBudget(rate=20, per_chat_interval=0)
    log: list = []
    first = asyncio.create_task(_start(budget, 1, BROADCAST, log))
    doomed = asyncio.create_task(_start(budget, 2, BROADCAST, log))
    third = asyncio.create_task(_start(budget, 3, BROADCAST, log))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.gather(first, third)
    assert [chat for _, chat, _ in log] == [1, 3]


async def test_idle_chats_are_forgotten():
    budget = SendBudget(rate=100_000, per_chat_interval=0.001, prune_above=50)
    for chat in range(1000):
        async with budget.slot(chat, INTERACTIVE):
            pass
        if chat % 100 == 0:
            await asyncio.sleep(0.002)
    assert budget.tracked_chats <= 200


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        SendBudget(rate=0)
    with pytest.raises(ValueError):
        SendBudget(group_per_minute=0)
