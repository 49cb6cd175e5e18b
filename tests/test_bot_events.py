"""End to end: reminders delivered once across restarts and downtime, /events, /calendar, the /event flow."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import icalendar

from bot.calendar.events import add_event
from bot.calendar.reminders import load_rules, set_override
from bot.people.records import add_record, assign_proposal
from bot.people.roles import CLI_CALLER
from bot.storage import Storage
from handlers.app import build_application
from handlers.common import SERVICES_KEY
from tests.conftest import ADMIN_ID, make_settings, running
from tests.test_calendar import TZ, seed

ZHANG, LI, SUN = 5001, 5002, 6002  # 张三 (常委), 李四, 孙八 (财政局 contact); 王五 is not bound


def prepared(db: Path, *, reminder_in: float | None = None, **event_fields) -> datetime | None:
    """Seed the roster; switch off quiet hours and every rule but the event rule; with
    ``reminder_in``, add a 协商活动 for 常委 whose reminder falls that many seconds from now
    (the event rule's offset is set so). Returns the reminder's time."""
    with Storage(db, TZ) as storage:
        now = storage.now()
        seed(storage, now)
        set_override(storage, CLI_CALLER, "quiet_hours", {"start": "00:00", "end": "00:00"}, now=now)
        for rule in load_rules().rules:
            if rule.id != "event_days_before":
                set_override(storage, CLI_CALLER, rule.id, {"enabled": False}, now=now)
        if reminder_in is None:
            return None
        start = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
        when = now + timedelta(seconds=reminder_in)
        offset = int((start - when).total_seconds())
        set_override(storage, CLI_CALLER, "event_days_before", {"offsets": [{"seconds": offset}]}, now=now)
        fields = {"kind": "协商活动", "title": "营商环境专题协商", "audience": "常委", "place": "三楼会议室"}
        fields.update(event_fields)
        add_event(storage, CLI_CALLER, date=start.date(), time=start.strftime("%H:%M"), now=now, **fields)
        return start - timedelta(seconds=offset)


def reminders_to(tg, chat: int) -> list:
    return [m for m in tg.sent_messages(chat) if (m.plain_text or "").startswith("📅 活动提醒")]


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(TZ)).total_seconds()))


async def test_reminder_is_delivered_once_and_not_again_after_a_restart(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    when = prepared(db, reminder_in=3)
    async with running(build_application(make_settings(tg, db))):
        await tg.expect_no_messages(ZHANG, 1.0)
        (reminder,) = await tg.wait_for_messages(ZHANG, 1, timeout=10)
        assert datetime.now(TZ) >= when
        assert "营商环境专题协商" in reminder.plain_text and "依据实施方案（33）" in reminder.plain_text
        assert reminder.button_texts == ["参加", "请假", "查看活动详情", "加入手机日历"]
        await tg.expect_no_messages(ZHANG, 1.5, since=tg.mark())
        mark = tg.mark()
        tg.inject_callback(ZHANG, reminder.callback_data("查看活动详情"), reminder)
        details = (await tg.wait_for_messages(ZHANG, 1, since=mark))[0]
        assert "【协商活动】营商环境专题协商" in details.plain_text and "地点：三楼会议室" in details.plain_text
    assert reminders_to(tg, LI) == []  # not in the audience (常委)
    for _ in range(2):  # two restarts in a row on the same database
        async with running(build_application(make_settings(tg, db))):
            await asyncio.sleep(1.5)  # start-up pass, then at least one look of the outbox sender
    assert len(reminders_to(tg, ZHANG)) == 1
    with Storage(db, TZ) as storage:
        (delivery,) = storage.deliveries(outcome="sent")
        assert delivery.recipient == "member:1" and delivery.rule_id == "event_days_before"


async def test_reminder_due_while_the_bot_was_down_is_sent_once_at_start_up(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    when = prepared(db, reminder_in=3)
    async with running(build_application(make_settings(tg, db))):
        await tg.expect_no_messages(ZHANG, 0.3)
    assert datetime.now(TZ) < when and reminders_to(tg, ZHANG) == []
    await until(when + timedelta(seconds=0.5))
    async with running(build_application(make_settings(tg, db))):
        (reminder,) = await tg.wait_for_messages(ZHANG, 1, timeout=5)
        assert reminder.plain_text.startswith("📅 活动提醒")
        await tg.expect_no_messages(ZHANG, 1.5, since=tg.mark())
    async with running(build_application(make_settings(tg, db))):
        await asyncio.sleep(1.0)
    assert len(reminders_to(tg, ZHANG)) == 1


async def test_events_and_calendar_show_what_concerns_the_caller(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    prepared(db)
    with Storage(db, TZ) as storage:
        day = storage.today() + timedelta(days=10)
        ours = add_event(
            storage, CLI_CALLER, kind="常委会会议", title="第十次常委会", date=day, time="09:00", audience="常委"
        )
        everyone = add_event(storage, CLI_CALLER, kind="视察调研", title="乡村振兴视察", date=day, audience="全体委员")
        add_event(storage, CLI_CALLER, kind="培训", title="联络员培训", date=day, audience="财政局")
    async with running(build_application(make_settings(tg, db))):
        tg.inject_message(ZHANG, "/events")
        listing = await tg.wait_for_reply(ZHANG)
        assert "近期活动（2 项）" in listing.plain_text and "联络员培训" not in listing.plain_text
        assert "第十次常委会" in listing.plain_text and "乡村振兴视察" in listing.plain_text
        assert "全部加入手机日历" in listing.button_texts

        mark = tg.mark()
        tg.inject_callback(ZHANG, listing.callback_data("第十次常委会"), listing)
        details = (await tg.wait_for_messages(ZHANG, 1, since=mark))[0]
        assert f"（编号 {ours.id}）" in details.plain_text
        assert details.button_texts == ["参加", "请假", "加入手机日历"]

        tg.inject_message(ZHANG, "/calendar")
        document = await tg.wait_for_reply(ZHANG)
        assert document.method == "sendDocument" and document.file.filename == "cppcc-events.ics"
        calendar = icalendar.Calendar.from_ical(document.file.content)
        assert {str(e["uid"]) for e in calendar.walk("VEVENT")} == {
            f"event-{ours.id}@cppcc-bot",
            f"event-{everyone.id}@cppcc-bot",
        }
        assert "共 2 项活动" in document.plain_text

        tg.inject_message(SUN, "/events")
        assert "联络员培训" in (await tg.wait_for_reply(SUN)).plain_text
        tg.inject_message(4242, "/events")
        assert "验证身份" in (await tg.wait_for_reply(4242)).plain_text


async def test_secretary_schedules_a_training_in_chat_and_members_are_told(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    prepared(db)
    with Storage(db, TZ) as storage:
        set_override(storage, CLI_CALLER, "training_announced", {"enabled": True}, now=storage.now())
        day = storage.today() + timedelta(days=20)
    app = build_application(make_settings(tg, db, flood_limit=100))  # a quick secretary: no flood guard
    async with running(app):

        async def say(text: str):
            mark = tg.mark()
            tg.inject_message(ADMIN_ID, text)
            return (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1]

        async def press(message, label: str):
            mark = tg.mark()
            tg.inject_callback(ADMIN_ID, message.callback_data(label), message)
            return (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1]

        kinds = await say("/event")
        assert "请选择活动类型" in kinds.plain_text and "协商活动" in kinds.button_texts
        prompt = await press(kinds, "培训")
        assert "活动名称" in prompt.plain_text
        prompt = await say("委员履职能力培训")
        assert "日期" in prompt.plain_text
        refused = await say(f"{day.year + 1}-02-30")
        assert "不存在" in refused.plain_text and "日期" in refused.plain_text
        prompt = await say(day.isoformat())
        assert "时间" in prompt.plain_text
        prompt = await say("14:30-17:00")
        assert "地点" in prompt.plain_text
        prompt = await say("县委党校报告厅")
        assert prompt.button_texts[:3] == ["全体委员", "常委", "秘书"]
        prompt = await press(prompt, "全体委员")
        assert "备注" in prompt.plain_text
        confirm = await press(prompt, "跳过")
        assert "请确认" in confirm.plain_text and "县委党校报告厅" in confirm.plain_text
        assert "14:30–17:00" in confirm.plain_text and "对象：全体委员" in confirm.plain_text
        done = await press(confirm, "确认安排")
        assert done.plain_text.startswith("已安排") and "【培训】委员履职能力培训" in done.plain_text

        storage = app.bot_data[SERVICES_KEY].storage
        (saved,) = storage.events_between()
        assert (saved.kind, saved.place, saved.start_time, saved.end_time) == (
            "培训",
            "县委党校报告厅",
            "14:30",
            "17:00",
        )
        assert storage.audit_entries("add_event")[-1].actor == str(ADMIN_ID)

        for member in (ZHANG, LI):  # (32): no training recorded this term
            (told,) = await tg.wait_for_messages(member, 1, timeout=5)
            assert told.plain_text.startswith("🎓 培训提醒") and "依据实施方案（32）" in told.plain_text
            assert told.button_texts == ["查看活动详情", "登记培训"]
        digest = await tg.wait_for(
            lambda: [m for m in tg.sent_messages(ADMIN_ID) if "未能发出" in (m.plain_text or "")]
        )
        assert "王五" in digest[0].plain_text

        told = tg.sent_messages(LI)[0]
        mark = tg.mark()
        tg.inject_callback(LI, told.callback_data("登记培训"), told)
        ask = (await tg.wait_for_messages(LI, 1, since=mark))[0]
        assert "培训名称" in ask.plain_text
        mark = tg.mark()
        tg.inject_message(LI, "委员履职能力培训（第一期）")
        recorded = (await tg.wait_for_messages(LI, 1, since=mark))[0]
        assert recorded.plain_text.startswith("已登记培训：委员履职能力培训（第一期）")
        assert [r.kind for r in storage.records_of(2)] == ["培训"]


async def test_non_secretaries_cannot_schedule_events(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    prepared(db)
    async with running(build_application(make_settings(tg, db))) as app:
        tg.inject_message(ZHANG, "/event")
        assert "只有政协办秘书可以安排或更改活动" in (await tg.wait_for_reply(ZHANG)).plain_text
        tg.inject_message(4242, "/event")
        reply = await tg.wait_for_reply(4242)
        assert "只有政协办秘书" in reply.plain_text and "验证身份" in reply.plain_text
        listing = None
        mark = tg.mark()
        tg.inject_callback(ZHANG, "e:k:0", listing or tg.sent_messages(ZHANG)[-1], check_buttons=False)
        assert "只有政协办秘书" in (await tg.wait_for_messages(ZHANG, 1, since=mark))[0].plain_text
        storage = app.bot_data[SERVICES_KEY].storage
        assert storage.events_between() == []
        assert [e.detail["action"] for e in storage.audit_entries("denied")] == ["manage_events"] * 3


async def test_secretary_changes_and_cancels_an_event_and_registers_a_reply(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    prepared(db)
    with Storage(db, TZ) as storage:
        day = storage.today() + timedelta(days=5)
        meeting = add_event(
            storage, CLI_CALLER, kind="协商活动", title="专题协商", date=day, time="15:00", audience="常委"
        )
        created = add_record(storage, CLI_CALLER, "提案", "关于加快乡村道路建设的提案", storage.today(), 1)
        assign_proposal(storage, CLI_CALLER, created.id, ["财政局"], storage.today())
    app = build_application(make_settings(tg, db, flood_limit=100))
    async with running(app):

        async def step(send):
            mark = tg.mark()
            send()
            return (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1]

        def press(message, label):
            return lambda: tg.inject_callback(ADMIN_ID, message.callback_data(label), message)

        shown = await step(lambda: tg.inject_message(ADMIN_ID, f"/event {meeting.id}"))
        assert shown.button_texts == ["加入手机日历", "回复与出勤", "发送会议通知", "修改", "取消活动"]
        fields = await step(press(shown, "修改"))
        prompt = await step(press(fields, "地点"))
        assert "新的地点" in prompt.plain_text
        confirm = await step(lambda: tg.inject_message(ADMIN_ID, "县政协会议中心"))
        assert "修改后" in confirm.plain_text and "地点：县政协会议中心" in confirm.plain_text
        done = await step(press(confirm, "确认修改"))
        assert done.plain_text.startswith("已修改") and "已通知 1 位参会人员" in done.plain_text
        storage = app.bot_data[SERVICES_KEY].storage
        assert storage.event(meeting.id).place == "县政协会议中心" and storage.event(meeting.id).sequence == 1
        (told,) = await tg.wait_for_messages(5001, 1)  # 张三, the one 常委 (a meeting: invitees are told)
        assert told.plain_text.startswith("【活动变更】《专题协商》有变动：\n地点：（无） → 县政协会议中心")
        assert told.button_texts == ["参加", "请假", "加入手机日历"]

        ask = await step(press(shown, "取消活动"))
        cancelled = await step(press(ask, "确认取消活动"))
        assert cancelled.plain_text.startswith("已取消") and storage.event(meeting.id).status == "cancelled"
        gone = (await tg.wait_for_messages(5001, 2))[-1]
        assert gone.plain_text.startswith("【活动取消】《专题协商》") and not gone.button_texts

        ask = await step(lambda: tg.inject_callback(ADMIN_ID, f"r:rp:{created.id}", shown, check_buttons=False))
        assert "关于加快乡村道路建设的提案" in ask.plain_text
        replied = await step(press(ask, "确认已答复"))
        assert "超期提醒将停止" in replied.plain_text and storage.record(created.id).status == "replied"


async def test_event_flow_echoes_guessed_dates_and_times_back(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    prepared(db)
    app = build_application(make_settings(tg, db, flood_limit=100))
    async with running(app):

        async def say(text: str):
            mark = tg.mark()
            tg.inject_message(ADMIN_ID, text)
            return (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1]

        async def press(message, label: str):
            mark = tg.mark()
            tg.inject_callback(ADMIN_ID, message.callback_data(label), message)
            return (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1]

        kinds = await say("/event")
        await press(kinds, "协商活动")
        await say("营商环境专题协商会")
        storage = app.bot_data[SERVICES_KEY].storage
        today = storage.today()
        day = today + timedelta(days=40)
        prompt = await say(f"{day.month}.{day.day}")
        assert prompt.plain_text.startswith(f"已记下：“{day.month}.{day.day}”按{day.month}月{day.day}日理解。")
        prompt = await say("3点-5点")
        assert prompt.plain_text.startswith("已记下：“3点”按下午3:00理解；“5点”按下午5:00理解。")
        prompt = await press(prompt, "跳过")
        prompt = await press(prompt, "全体委员")
        confirm = await press(prompt, "跳过")
        assert f"时间：{day.isoformat()}" in confirm.plain_text and "15:00–17:00" in confirm.plain_text
        assert (
            f"请核对：“{day.month}.{day.day}”按{day.month}月{day.day}日理解；“3点”按下午3:00理解" in confirm.plain_text
        )
        done = await press(confirm, "确认安排")
        assert done.plain_text.startswith("已安排")
        (saved,) = storage.events_between()
        assert (saved.start_date, saved.start_time, saved.end_time) == (day, "15:00", "17:00")
