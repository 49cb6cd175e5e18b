"""Per-user and per-chat state expires: the flood guard, the update processor's per-chat locks, open
steps and empty entries in user_data / chat_data, the ledger's drafts. Clocks are passed in, not slept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from telegram import Chat, Message, Update, User

from bot.flood import FloodGuard, Verdict
from handlers import guards
from handlers.app import build_application
from handlers.ledger import DRAFT_SECONDS, Draft, Drafts
from handlers.people import RECORD_TIMEOUT
from handlers.processor import PerChatUpdateProcessor
from tests.conftest import ADMIN_ID, make_settings
from tests.test_bot_ledger import MEMBER, bot, press, say, storage  # noqa: F401 (fixtures)

# ---- the flood guard ----------------------------------------------------------------------------------


def test_flood_guard_forgets_users_once_their_window_has_passed():
    guard = FloodGuard(limit=3, window=10.0)
    for user in range(20_000):
        assert guard.check(user, 1000.0 + user * 0.0001) is Verdict.PASS
    assert guard.tracked() == 20_000  # all inside one window
    guard.check(99_999, 1012.0)  # a window later: the next check sweeps
    assert guard.tracked() == 1


def test_flood_guard_keeps_a_block_until_it_ends_and_then_forgets_it():
    guard = FloodGuard(limit=2, window=10.0)
    verdicts = [guard.check(7, 100.0 + i) for i in range(4)]
    assert verdicts == [Verdict.PASS, Verdict.PASS, Verdict.WARN, Verdict.DROP]
    guard.check(8, 111.0)  # sweep while user 7 is still blocked (until 112)
    assert guard.check(7, 111.5) is Verdict.DROP
    assert guard.check(7, 112.0) is Verdict.PASS  # the block is over
    guard.check(8, 140.0)  # sweep: both idle for more than a window
    assert guard.tracked() == 1


def test_flood_guard_still_counts_within_the_window_across_sweeps():
    guard = FloodGuard(limit=3, window=10.0)
    for t in (0.0, 4.0, 8.0):
        assert guard.check(1, t) is Verdict.PASS
    guard.check(2, 10.5)  # a sweep at 10.5 keeps user 1: the messages at 4 and 8 are still in the window
    assert guard.check(1, 11.0) is Verdict.PASS  # 4, 8, 11
    assert guard.check(1, 12.0) is Verdict.WARN  # 4, 8, 11, 12: four within ten seconds


# ---- the update processor's per-chat locks ----------------------------------------------------------------


def _update(update_id: int, chat_id: int) -> Update:
    user = User(chat_id, "u", False)
    message = Message(update_id, None, Chat(chat_id, Chat.PRIVATE), from_user=user, text="hi")
    return Update(update_id, message=message)


async def test_processor_drops_a_chats_lock_when_nothing_is_queued_and_keeps_order():
    processor = PerChatUpdateProcessor(64)
    seen: dict[int, list[int]] = {}

    async def handle(chat: int, n: int) -> None:
        await asyncio.sleep(0)
        seen.setdefault(chat, []).append(n)

    updates = [(n, chat) for n in range(5) for chat in range(1000, 1400)]
    await asyncio.gather(*(processor.process_update(_update(n, chat), handle(chat, n)) for n, chat in updates))
    assert all(order == list(range(5)) for order in seen.values()) and len(seen) == 400
    assert processor._locks == {} and processor._waiting == {}


# ---- user_data and chat_data ---------------------------------------------------------------------------------


@pytest.fixture
def app(tg, tmp_path):
    return build_application(make_settings(tg, tmp_path / "cppcc.db"))


def test_expired_steps_and_empty_entries_are_dropped(app):
    now = 5000.0
    app._user_data[1]["notices.awaiting"] = {"what": "reason", "until": now - 1}  # expired
    app._user_data[2]["events.draft"] = {"what": "event", "until": now + 60}  # still open
    app._user_data[3]  # looked at by a handler, never filled
    app._user_data[4]["events.draft"] = {"what": "event", "until": now - 1}
    app._user_data[4]["note"] = "kept: not a step"
    app._chat_data[-100]
    app._chat_data[-200]["refusal"] = "kept"
    assert guards.forget_expired(app, now) == 3
    assert dict(app.user_data) == {
        2: {"events.draft": {"what": "event", "until": now + 60}},
        4: {"note": "kept: not a step"},
    }
    assert dict(app.chat_data) == {-200: {"refusal": "kept"}}
    # PTB's bookkeeping for a persistence the bot does not have does not grow instead.
    assert not app._user_ids_to_be_deleted_in_persistence and not app._chat_ids_to_be_deleted_in_persistence
    assert guards.forget_expired(app, now + 61) == 1 and 2 not in app.user_data


def test_the_sweep_is_scheduled(app):
    jobs = [job for job in app.job_queue.scheduler.get_jobs() if job.name == "forget-expired"]
    assert len(jobs) == 1


@pytest.mark.usefixtures("storage")
async def test_open_steps_of_real_flows_expire(tg, request):
    """/event (secretary), /notice (secretary) and the guided /record (member) each leave an open
    step; a sweep after their deadlines forgets them and the users' entries."""
    app = request.getfixturevalue("bot")  # the ledger tests' bot, with bound people
    assert "请选择活动类型" in (await say(tg, ADMIN_ID, "/event")).plain_text
    assert "请发送通知对象" in (await say(tg, ADMIN_ID, "/notice")).plain_text
    pick = await say(tg, MEMBER, "/record")
    (asked,) = await press(tg, MEMBER, pick, "提案")
    assert "标题" in asked.plain_text
    assert app.user_data[ADMIN_ID] and app.user_data[MEMBER]
    # PTB notes every update's user and chat for a persistence; the bot has none, so the sweep clears them.
    assert {ADMIN_ID, MEMBER} <= app._user_ids_to_be_updated_in_persistence
    soon = time.monotonic() + 5
    guards.forget_expired(app, soon)
    assert ADMIN_ID in app.user_data and MEMBER in app.user_data  # nothing has expired yet
    assert not app._user_ids_to_be_updated_in_persistence and not app._chat_ids_to_be_updated_in_persistence
    guards.forget_expired(app, soon + max(RECORD_TIMEOUT, 30 * 60))
    assert ADMIN_ID not in app.user_data and MEMBER not in app.user_data


# ---- the ledger's drafts ----------------------------------------------------------------------------------------


def test_ledger_drafts_expire_as_new_ones_come():
    clock = [0.0]
    drafts = Drafts(clock=lambda: clock[0])
    for user in range(1000):
        drafts.put(user, Draft(task=33))
    clock[0] = DRAFT_SECONDS - 1
    drafts.put(5000, Draft(task=33))
    assert len(drafts) == 1001 and drafts.get(1) is not None
    clock[0] = DRAFT_SECONDS + 1
    assert drafts.get(1) is None  # expired when read
    drafts.put(6000, Draft(task=3))
    assert len(drafts) == 2 and drafts.get(5000) is not None


# ---- the heap --------------------------------------------------------------------------------------------


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_free_heap_pages_go_back_to_the_system():
    """Freed blocks pinned between live ones stay resident until the sweep trims the heap."""
    if not Path("/proc/self/status").exists() or not guards.release_free_heap():
        pytest.skip("needs Linux with glibc")
    blocks = [bytes(2000) for _ in range(20_000)]  # about 40 MB in the C heap
    pinned = blocks[::100]
    del blocks
    before = _rss_mb()
    assert guards.release_free_heap()
    assert before - _rss_mb() > 20, "the freed 40 MB should mostly leave the resident set"
    assert len(pinned) == 200
