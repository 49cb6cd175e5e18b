"""End to end: a meeting that counts, through the real Application, the outbox and the fake Bot API.

Event with its meeting notice → members press 参加, one types “我请假，孩子生病” → the secretary
approves → sign-in → the event ends → /mine counts it and the secretaries get the absentees;
the bot is restarted between every step on the same database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.calendar.events import add_event
from bot.calendar.invitations import send_with_notice
from bot.people.roles import CLI_CALLER
from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running
from tests.test_bot_notices import add_members, fast_knowledge, reply_containing, say

TZ_NAME = "Asia/Shanghai"


@pytest.fixture
def knowledge(tmp_path, monkeypatch):
    path = fast_knowledge(tmp_path)
    monkeypatch.setenv("CPPCC_KNOWLEDGE", str(path))
    return path


def move_event(db, event_id: int, start: datetime, minutes: int = 60) -> None:
    """Time passes: the event now starts at ``start`` (and lasts ``minutes``)."""
    end = start + timedelta(minutes=minutes)
    with Storage(db) as storage:
        fields = {"start_date": start.date(), "start_time": start.strftime("%H:%M")}
        fields |= {"end_date": end.date() if end.date() != start.date() else None, "end_time": end.strftime("%H:%M")}
        storage.update_event(event_id, fields)


async def press_on(tg, user: int, message, label: str, *, expect: str = "", reply_to=None):
    mark = tg.mark()
    tg.inject_callback(user, message.callback_data(label), message)
    return await reply_containing(tg, reply_to or user, expect, since=mark)


async def step(tg, db, body):
    """Run one step against a freshly started bot on the same database."""
    async with running(build_application(make_settings(tg, db, flood_limit=1000))) as app:
        return await body(app)


async def test_a_meeting_that_counts_with_restarts_between_steps(tg, tmp_path, knowledge):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        chats = add_members(storage, 5)  # 委员0001 … 委员0005
    a, b, c, d, _ = chats

    # 1. The secretary arranges the event and sends its meeting notice in one go.
    async def arrange(app):
        kinds = await say(tg, ADMIN_ID, "/event", expect="活动类型")
        prompt = await press_on(tg, ADMIN_ID, kinds, "协商活动", expect="活动名称")
        assert prompt
        await say(tg, ADMIN_ID, "营商环境专题协商会", expect="日期")
        tomorrow = (datetime.now().date() + timedelta(days=2)).isoformat()
        await say(tg, ADMIN_ID, tomorrow, expect="时间")
        await say(tg, ADMIN_ID, "09:00-11:00", expect="地点")
        await say(tg, ADMIN_ID, "三楼会议室", expect="活动对象")
        await say(tg, ADMIN_ID, "全体委员", expect="备注")
        confirm = await say(tg, ADMIN_ID, "请带好材料", expect="请确认")
        assert "确认安排，同时发送会议通知" in confirm.button_texts
        done = await press_on(tg, ADMIN_ID, confirm, "确认安排，同时发送会议通知", expect="已安排")
        assert "会议通知 #1 正在发送" in done.plain_text
        await tg.wait_for(lambda: all(tg.sent_messages(chat) for chat in chats), timeout=10)

    await step(tg, db, arrange)
    notice = {chat: tg.sent_messages(chat)[0] for chat in chats}
    assert notice[a].plain_text.startswith("【政协办会议通知】\n【协商活动】营商环境专题协商会")
    assert notice[a].button_texts == ["收到", "参加", "请假", "加入手机日历"]

    # 2. Three members press 参加 on the notice.
    async def attend(app):
        for chat in (a, b, c):
            mark = tg.mark()
            tg.inject_callback(chat, notice[chat].callback_data("参加"), notice[chat])
            await tg.wait_for(
                lambda chat=chat, mark=mark: tg.requests("editMessageText", chat_id=chat, since=mark), timeout=10
            )
            edited = tg.message(chat, notice[chat].message_id)
            assert "✅ 已回复：参加" in edited["text"]

    await step(tg, db, attend)

    # 3. One types her leave with its reason; the secretary is asked at once.
    async def leave(app):
        mark = tg.mark()
        answer = await say(tg, d, "我请假，孩子生病", expect="已为您回复")
        assert "《营商环境专题协商会》" in answer.plain_text and "请假（孩子生病）" in answer.plain_text
        request = await reply_containing(tg, ADMIN_ID, "请假申请", since=mark, timeout=10)
        assert "委员0004" in request.plain_text and "原因：孩子生病" in request.plain_text
        assert request.button_texts == ["同意", "不同意"]
        return request

    request = await step(tg, db, leave)

    # 4. The secretary approves (after a restart: the button still works); the member is told.
    async def approve(app):
        mark = tg.mark()
        done = await press_on(tg, ADMIN_ID, request, "同意", expect="已同意")
        assert "委员0004" in done.plain_text
        told = await reply_containing(tg, d, "已获同意", since=mark, timeout=10)
        assert "营商环境专题协商会" in told.plain_text
        again = await press_on(tg, ADMIN_ID, request, "同意", expect="已经处理过了")
        assert again

    await step(tg, db, approve)

    # 5. The meeting is about to start: attendees get [签到]; two sign in (one twice).
    with Storage(db) as storage:
        now = storage.now()
    move_event(db, 1, now + timedelta(minutes=10))

    async def sign(app):
        prompts = {}
        for chat in (a, b, c):
            prompts[chat] = await reply_containing(tg, chat, "请到场后点击“签到”", since=0, timeout=10)
        assert not [m for m in tg.sent_messages(d) if "签到" in (m.plain_text or "")]
        signed = await press_on(tg, a, prompts[a], "签到", expect="签到成功")
        assert "营商环境专题协商会" in signed.plain_text
        await press_on(tg, a, prompts[a], "签到", expect="已经签到过了")
        await say(tg, b, "签到", expect="签到成功")

    await step(tg, db, sign)

    # 6. The meeting ended while the bot was down: at start-up attendance becomes records.
    with Storage(db) as storage:
        now = storage.now()
    move_event(db, 1, now - timedelta(minutes=90))

    async def ended(app):
        summary = await reply_containing(tg, ADMIN_ID, "已结束", since=0, timeout=10)
        assert "签到 2 人，请假 1 人，未请假缺席 2 人" in summary.plain_text
        assert "未请假缺席：委员0003、委员0005" in summary.plain_text
        mine = await say(tg, a, "/mine", expect="会议或视察调研")
        assert "会议或视察调研 1/1 ✅" in mine.plain_text
        absent = await say(tg, c, "/mine", expect="会议或视察调研")
        assert "会议或视察调研 0/1 ❗" in absent.plain_text
        late = await say(tg, c, "签到", expect="签到")
        assert "没有正在签到的会议" in late.plain_text
        stats = await say(tg, ADMIN_ID, "/progress", expect="委员履职统计")
        assert "委员0001：" in stats.plain_text and "出勤1/1（100%）" in stats.plain_text
        assert "委员0003：" in stats.plain_text and "缺席1" in stats.plain_text
        mark = tg.mark()
        tg.inject_message(ADMIN_ID, "/progress xlsx")
        (document,) = await tg.wait_for_requests("sendDocument", 1, since=mark)
        assert next(iter(document.files.values())).filename.startswith("duties-")

    await step(tg, db, ended)

    # 7. Another restart adds nothing: one record each, one summary.
    await step(tg, db, lambda app: tg.expect_no_messages(ADMIN_ID, 1.0, since=tg.mark()))
    with Storage(db) as storage:
        records = storage.records_from("event:1")
        assert [(r.member_id, r.kind, r.source) for r in records] == [(1, "活动", "event"), (2, "活动", "event")]
        assert storage.event_outcomes(1) == {1: "attended", 2: "attended", 3: "absent", 4: "leave", 5: "absent"}
    assert sum("已结束" in (m.plain_text or "") for m in tg.sent_messages(ADMIN_ID)) == 1


async def test_a_leave_reason_asked_for_before_a_restart_is_still_awaited_after_it(tg, tmp_path, knowledge):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        (a,) = add_members(storage, 1)
        day = storage.today() + timedelta(days=3)
        add_event(storage, CLI_CALLER, kind="协商活动", title="营商环境协商会", date=day, audience="全体委员")

    async def ask_leave(app):
        listing = await say(tg, a, "/events", expect="近期活动")
        shown = await press_on(tg, a, listing, f"详情：营商环境协商会（{day:%m-%d}）", expect="营商环境协商会")
        asked = await press_on(tg, a, shown, "请假", expect="如需说明请假原因")
        assert asked.button_texts == ["不填写原因"]

    await step(tg, db, ask_leave)

    async def give_reason(app):
        mark = tg.mark()
        saved = await say(tg, a, "家里有事", expect="已记录请假原因")
        assert "家里有事" in saved.plain_text
        told = await reply_containing(tg, ADMIN_ID, "补充了", since=mark, timeout=10)
        assert "委员0001 补充了" in told.plain_text and "请假原因：家里有事" in told.plain_text
        plain = await say(tg, a, "单位有接待")  # the step is over: an ordinary message now
        assert "已记录请假原因" not in plain.plain_text

    await step(tg, db, give_reason)
    with Storage(db) as storage:
        assert storage.meeting_reply("event:1", "member:1").reason == "家里有事"


async def test_a_secretary_marks_people_without_phones_by_typing_their_names(tg, tmp_path, knowledge):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        add_members(storage, 1, unbound=1)  # 委员0002 has no phone with Telegram
        start = storage.now() + timedelta(minutes=10)
        add_event(storage, CLI_CALLER, kind="视察调研", title="乡村振兴视察", date=start.date(), audience="全体委员")
    move_event(db, 1, start)

    async def mark(app):
        shown = await say(tg, ADMIN_ID, "/event 1", expect="乡村振兴视察")
        roll = await press_on(tg, ADMIN_ID, shown, "回复与出勤", expect="回复情况")
        names = await press_on(tg, ADMIN_ID, roll, "标记签到 / 更正", expect="直接发送姓名")
        assert names.button_texts == ["签到：委员0001", "签到：委员0002"]
        done = await say(tg, ADMIN_ID, "委员0002、张冠李", expect="已补登")
        assert "已补登 委员0002 的签到" in done.plain_text and "张冠李：不在这次会议的参会范围内" in done.plain_text
        plain = await say(tg, ADMIN_ID, "委员0001")  # one message per step: this is not marked
        assert "已补登" not in plain.plain_text

    await step(tg, db, mark)
    with Storage(db) as storage:
        assert set(storage.attendance(1)) == {"member:2"}


async def test_a_command_ends_an_open_leave_reason_step(tg, tmp_path, knowledge):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        (a,) = add_members(storage, 1)
        day = storage.today() + timedelta(days=3)
        add_event(storage, CLI_CALLER, kind="协商活动", title="营商环境协商会", date=day, audience="全体委员")

    async def body(app):
        listing = await say(tg, a, "/events", expect="近期活动")
        shown = await press_on(tg, a, listing, f"详情：营商环境协商会（{day:%m-%d}）", expect="营商环境协商会")
        await press_on(tg, a, shown, "请假", expect="如需说明请假原因")
        await say(tg, a, "/inbox", expect="我的通知")  # another command: the reason is no longer awaited
        plain = await say(tg, a, "家里有事")
        assert "已记录请假原因" not in plain.plain_text

    await step(tg, db, body)
    with Storage(db) as storage:
        assert storage.meeting_reply("event:1", "member:1").reason is None


async def test_a_meeting_notice_offers_the_phone_calendar_before_any_reply(tg, tmp_path, knowledge):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        (a,) = add_members(storage, 1)
        day = storage.today() + timedelta(days=3)
        event = add_event(storage, CLI_CALLER, kind="协商活动", title="营商环境协商会", date=day, audience="全体委员")
        send_with_notice(storage, CLI_CALLER, event.id, now=storage.now())

    async def body(app):
        await tg.wait_for(lambda: tg.sent_messages(a), timeout=10)
        (notice,) = tg.sent_messages(a)
        assert notice.button_texts == ["收到", "参加", "请假", "加入手机日历"]
        assert all(len(notice.callback_data(label).encode()) <= 64 for label in notice.button_texts)
        mark = tg.mark()
        tg.inject_callback(a, notice.callback_data("加入手机日历"), notice)
        (document,) = await tg.wait_for_requests("sendDocument", 1, since=mark)
        assert int(document.chat_id) == a  # into the private chat
        sent = next(iter(document.files.values()))
        assert sent.filename == f"cppcc-event-{event.id}.ics"
        assert b"BEGIN:VEVENT" in sent.content and "营商环境协商会".encode() in sent.content
        # 收到 keeps 参加 / 请假 and the calendar on the message
        mark = tg.mark()
        tg.inject_callback(a, notice.callback_data("收到"), notice)
        await tg.wait_for(lambda: tg.requests("editMessageText", chat_id=a, since=mark), timeout=10)
        markup = tg.message(a, notice.message_id)["reply_markup"]["inline_keyboard"]
        assert [b["text"] for row in markup for b in row] == ["参加", "请假", "加入手机日历"]

    await step(tg, db, body)
