"""End to end: replies and notices when Telegram misbehaves (5xx, 429, answers after the timeout),
and the one send budget under Telegram's real limits, through the real Application."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from handlers.app import build_application
from handlers.notices import outbox_sender
from tests.conftest import make_settings, running
from tests.test_bot_notices import OTHER, add_members, fast_knowledge, send_notice, storage_of

QUESTION = "委员活动的钱谁出"


@pytest.fixture
def knowledge(tmp_path, monkeypatch):
    path = fast_knowledge(tmp_path)
    monkeypatch.setenv("CPPCC_KNOWLEDGE", str(path))
    return path


@pytest.fixture
async def app(tg, tmp_path, knowledge):
    application = build_application(make_settings(tg, tmp_path / "cppcc.db", read_timeout=2.0))
    async with running(application):
        yield application


def answers_to(tg, chat: int) -> list:
    return [m for m in tg.sent_messages(chat) if "（45）" in (m.plain_text or "")]


async def test_a_reply_hit_by_5xx_arrives_once_when_the_api_recovers(tg, app):
    tg.fail_next("sendMessage", 502, chat_id=OTHER, count=3)
    tg.inject_message(OTHER, QUESTION)
    await tg.wait_for(lambda: answers_to(tg, OTHER), timeout=20)
    await asyncio.sleep(0.3)
    assert len(answers_to(tg, OTHER)) == 1
    assert len(tg.requests("sendMessage", chat_id=OTHER)) == 4
    assert not [m for m in tg.sent_messages(OTHER) if "出了点问题" in (m.plain_text or "")]


async def test_a_reply_hit_by_429_waits_retry_after_and_arrives_once(tg, app):
    tg.fail_next("sendMessage", 429, retry_after=1, chat_id=OTHER)
    asked = time.monotonic()
    tg.inject_message(OTHER, QUESTION)
    await tg.wait_for(lambda: answers_to(tg, OTHER), timeout=10)
    assert time.monotonic() - asked >= 1.0
    first, second = tg.requests("sendMessage", chat_id=OTHER)
    assert first.status == 429 and second.at - first.at >= 0.95
    assert len(answers_to(tg, OTHER)) == 1


async def test_a_reply_answered_after_the_timeout_is_sent_at_most_twice(tg, app):
    tg.answer_late("sendMessage", 3.0)  # delivered at once, answered after the 2 s read timeout
    tg.inject_message(OTHER, QUESTION)
    await tg.wait_for(lambda: answers_to(tg, OTHER), timeout=10)
    tg.answer_late("sendMessage", 0)
    await tg.wait_for(lambda: len(answers_to(tg, OTHER)) >= 2, timeout=10)  # the one retry, after a pause
    await asyncio.sleep(1)
    assert len(answers_to(tg, OTHER)) == 2
    assert not [m for m in tg.sent_messages(OTHER) if "出了点问题" in (m.plain_text or "")]


async def test_notice_rows_answered_after_the_timeout_are_sent_at_most_twice(tg, app):
    chats = add_members(storage_of(app), 20)
    tg.answer_late("sendMessage", 3.0, chat_ids=chats[:4])  # a stretch of recipients
    await send_notice(tg, "/notice 全体委员 明天上午九点开会")
    sender = outbox_sender(app)
    await tg.wait_for(lambda: sender.stats["sent"] + sender.stats["uncertain"] >= 20, timeout=40)
    copies = Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in chats)
    assert set(copies) == set(chats) and max(copies.values()) <= 2
    rows = {r.chat_id: r for r in storage_of(app).outbox_rows("notice") if r.chat_id in chats}
    assert all(rows[c].uncertain == 1 and rows[c].status == "uncertain" for c in chats[:4])
    assert all(rows[c].status == "sent" and copies[c] == 1 for c in chats[4:])


async def test_a_stretch_of_5xx_delays_a_notice_without_losing_anyone(tg, app):
    chats = add_members(storage_of(app), 30)
    for chat in [*chats, OTHER]:  # every send to them fails; the secretary's own chat still works
        tg.fail_next("sendMessage", 502, chat_id=chat, count=10_000)
    await send_notice(tg, "/notice 全体委员 下午三点召开常委会")
    tg.inject_message(OTHER, QUESTION)
    await asyncio.sleep(3)  # the outage
    assert not any(tg.sent_messages(c) for c in chats)
    tg.reset_faults()
    recovered = time.monotonic()
    await tg.wait_for(lambda: all(tg.sent_messages(c) for c in chats), timeout=30)
    await tg.wait_for(lambda: answers_to(tg, OTHER), timeout=30)
    assert time.monotonic() - recovered < 30
    await tg.wait_for(lambda: outbox_sender(app).stats["sent"] >= 30)  # the answers recorded too
    rows = [r for r in storage_of(app).outbox_rows("notice") if r.chat_id in chats]
    assert {r.status for r in rows} == {"sent"}
    assert Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in chats) == Counter(chats)


async def test_replies_and_a_notice_together_stay_under_telegrams_limits(tg, tmp_path, knowledge):
    settings = make_settings(tg, tmp_path / "cppcc.db", send_rate=28.0, per_chat_interval=1.05, flood_limit=100)
    application = build_application(settings)
    async with running(application):
        chats = add_members(storage_of(application), 150, first_chat=200000)
        tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1)
        await send_notice(tg, "/notice 全体委员 关于开展年度履职评价的通知")
        await tg.wait_for(lambda: sum(1 for c in chats if tg.sent_messages(c)) >= 20, timeout=20)
        askers = list(range(300000, 300030))
        asked = time.monotonic()
        for user in askers:
            tg.inject_message(user, QUESTION)
        await tg.wait_for(lambda: all(answers_to(tg, u) for u in askers), timeout=30)
        answered = time.monotonic() - asked
        await tg.wait_for(lambda: all(tg.sent_messages(c) for c in chats), timeout=60)
    assert tg.stats["429"] == 0
    assert answered < 5  # 30 replies take about one second of the budget
    assert sum(1 for c in chats if tg.sent_messages(c)) == 150
