"""End to end: typed replies (收到 / 我请假… / a question instead of a reason) and the inbox (/inbox,
late binding), through the real Application and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.calendar.events import add_event
from bot.people.roles import CLI_CALLER
from handlers.app import build_application
from handlers.calendar import MEETINGS_KEY
from tests.conftest import ADMIN_ID, make_settings, running
from tests.test_bot_notices import add_members, fast_knowledge, press, reply_containing, say, send_notice, storage_of


@pytest.fixture
def app_and_tg(tg, tmp_path, monkeypatch):
    monkeypatch.setenv("CPPCC_KNOWLEDGE", str(fast_knowledge(tmp_path)))
    return tg, tmp_path / "cppcc.db"


async def test_typed_received_goes_to_the_open_notice_and_otherwise_to_the_engine(app_and_tg):
    tg, db = app_and_tg
    async with running(build_application(make_settings(tg, db, flood_limit=1000))) as app:
        (a,) = add_members(storage_of(app), 1)
        plain = await say(tg, a, "收到")
        assert "已为您回复" not in plain.plain_text  # no notice open: a normal message
        await send_notice(tg, "/notice 全体委员 请于周五前提交年度履职报告")
        await tg.wait_for(lambda: tg.sent_messages(a, since=0))
        done = await say(tg, a, "好的", expect="已为您回复")
        assert done.plain_text == "已为您回复《请于周五前提交年度履职报告》：收到"
        assert set(storage_of(app).receipts(1)) == {"member:1"}
        again = await say(tg, a, "收到")  # already answered: said so, nothing counted twice
        assert again.plain_text == "您已回复《请于周五前提交年度履职报告》：收到，无需再回复。"
        assert set(storage_of(app).receipts(1)) == {"member:1"}


async def test_a_question_is_not_taken_as_a_leave_reason_and_several_meetings_are_asked_about(app_and_tg):
    tg, db = app_and_tg
    async with running(build_application(make_settings(tg, db, flood_limit=1000))) as app:
        storage = storage_of(app)
        (a,) = add_members(storage, 1)
        now = storage.now()
        day = (now + timedelta(days=3)).date()
        first = add_event(storage, CLI_CALLER, kind="协商活动", title="营商环境协商会", date=day, audience="全体委员")
        later = day + timedelta(days=1)
        add_event(storage, CLI_CALLER, kind="培训", title="委员培训班", date=later, audience="全体委员")
        listing = await say(tg, a, "/events", expect="近期活动")
        shown = await press(tg, a, listing, f"详情：营商环境协商会（{day:%m-%d}）", expect="营商环境协商会")
        assert shown.button_texts[:2] == ["参加", "请假"]
        ask = await press(tg, a, shown, "请假", expect="如需说明请假原因")
        assert ask.button_texts == ["不填写原因"]
        answer = await say(tg, a, "请假要找谁审批？")
        assert "已记录请假原因" not in answer.plain_text
        await reply_containing(tg, a, "如需补充请假原因", since=0)
        saved = await say(tg, a, "单位有接待任务", expect="已记录请假原因")
        assert "单位有接待任务" in saved.plain_text
        assert storage.meeting_reply(f"event:{first.id}", "member:1").reason == "单位有接待任务"

        third = later + timedelta(days=1)
        add_event(storage, CLI_CALLER, kind="视察调研", title="乡村振兴视察", date=third, audience="全体委员")
        choose = await say(tg, a, "我请假，出差", expect="请选择")
        assert sorted(choose.button_texts) == ["请假：乡村振兴视察", "请假：委员培训班"]  # not the one on leave
        mark = tg.mark()
        tg.inject_callback(a, choose.callback_data("请假：委员培训班"), choose)
        await tg.wait_for(lambda: tg.requests("editMessageText", chat_id=a, since=mark))
        assert "已回复：请假" in tg.message(a, choose.message_id)["text"]  # the choice became the meeting
        training = storage.meeting_reply(f"event:{first.id + 1}", "member:1")
        assert training.response == "leave" and training.reason == "出差"
        named = await say(tg, a, f"{third.day}号的视察我请假", expect="已为您回复")
        assert "《乡村振兴视察》" in named.plain_text
        request = await reply_containing(tg, ADMIN_ID, "委员培训班", since=0)
        assert "原因：出差" in request.plain_text


async def test_inbox_lists_notices_and_late_binders_hear_of_them_once(app_and_tg):
    tg, db = app_and_tg
    async with running(build_application(make_settings(tg, db, flood_limit=1000))) as app:
        storage = storage_of(app)
        add_members(storage, 1)
        add_members(storage, 0, unbound=1)  # 委员0002 has no Telegram yet
        await send_notice(tg, "/notice 全体委员 请于周五前提交年度履职报告")
        now = storage.now()
        storage.bind(5002, "member", 2, "code", now)
        app.bot_data[MEETINGS_KEY].run_pass()
        told = await reply_containing(tg, 5002, "您有 1 条未读通知", since=0, timeout=10)
        assert told.button_texts == ["我的通知"]
        app.bot_data[MEETINGS_KEY].run_pass()
        inbox = await say(tg, 5002, "/inbox", expect="我的通知")
        assert "🔵" in inbox.plain_text and "请于周五前提交年度履职报告" in inbox.plain_text
        view = await press(tg, 5002, inbox, "查看通知 #1", expect="【政协办通知】")
        assert view.button_texts == ["收到"]
        await press(tg, 5002, view, "收到", expect="已确认收到")
        assert "member:2" in storage.receipts(1)
        again = await say(tg, 5002, "/inbox", expect="我的通知")
        assert "🔵" not in again.plain_text
    assert sum("未读通知" in (m.plain_text or "") for m in tg.sent_messages(5002)) == 1


async def test_a_typed_reply_during_the_reason_step_is_not_a_reason(app_and_tg):
    tg, db = app_and_tg
    async with running(build_application(make_settings(tg, db, flood_limit=1000))) as app:
        storage = storage_of(app)
        (a,) = add_members(storage, 1)
        await send_notice(tg, "/notice 全体委员 明天上午九点召开全体委员会议")
        (notice,) = await tg.wait_for_messages(a, 1)
        await press(tg, a, notice, "请假", expect="如需说明请假原因")
        done = await say(tg, a, "收到")  # the notice is answered already (请假): said so, not a reason
        assert done.plain_text == "您已回复《明天上午九点召开全体委员会议》：请假（待审批），无需再回复。"
        leave = storage.meeting_reply("notice:1", "member:1")
        assert leave.response == "leave" and leave.reason is None
        plain = await say(tg, a, "在外地出差")  # the step is over: an ordinary message now
        assert "已记录请假原因" not in plain.plain_text


async def test_typed_received_to_a_meeting_notice_names_the_event_and_an_answered_one_says_so(app_and_tg):
    from bot.calendar.invitations import send_with_notice

    tg, db = app_and_tg
    async with running(build_application(make_settings(tg, db, flood_limit=1000))) as app:
        storage = storage_of(app)
        (a,) = add_members(storage, 1)
        day = (storage.now() + timedelta(days=3)).date()
        event = add_event(storage, CLI_CALLER, kind="协商活动", title="营商环境协商会", date=day, audience="全体委员")
        send_with_notice(storage, CLI_CALLER, event.id, now=storage.now())
        (notice,) = await tg.wait_for_messages(a, 1)
        received = await say(tg, a, "收到", expect="已为您回复")
        assert received.plain_text == "已为您回复《营商环境协商会》：收到"
        tg.inject_callback(a, notice.callback_data("参加"), notice)
        await tg.wait_for(lambda: storage.meeting_reply(f"event:{event.id}", "member:1") is not None)
        again = await say(tg, a, "好的", expect="您已回复")
        assert again.plain_text == "您已回复《营商环境协商会》：参加，无需再回复。"
