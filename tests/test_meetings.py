"""The meetings core without Telegram: replies, leave approval, sign-in, closing into duty records,
corrections, statistics, typed replies and the bad inputs the issue lists."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.calendar.attendance import close_ended, close_event, detail
from bot.calendar.events import add_event
from bot.calendar.invitations import push_signin, remind_unreplied
from bot.calendar.meeting_config import MeetingConfigError, config_from_dict
from bot.calendar.meetings import MeetingError
from bot.calendar.replies import decide, reply, set_reason, withdraw
from bot.calendar.signin import CodeNeeded, mark, set_code, sign_in
from bot.config import knowledge_dir
from bot.inbox.typed import classify
from bot.notices.audience import includes, parse_audience, resolve
from bot.people.roles import CLI_CALLER, Caller, PermissionDenied
from bot.people.statistics import PointsError, PointsRule, duty_statistics, points_from_dict, statistics_xlsx
from bot.storage import Storage
from tests.test_bot_notices import add_members

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2027, 3, 10, 14, 30, tzinfo=TZ)  # the meeting: 14:30–16:30
BEFORE = START - timedelta(days=2)
ADMIN = 900001
SECRETARY = Caller(ADMIN, "秘书", "admin")


@pytest.fixture
def storage(tmp_path):
    with Storage(tmp_path / "cppcc.db", TZ) as opened:
        yield opened


@pytest.fixture
def chats(storage):
    return add_members(storage, 4)  # 委员0001 … 委员0004, chats 5001 …


@pytest.fixture
def event(storage, chats):
    return add_event(
        storage,
        CLI_CALLER,
        kind="协商活动",
        title="营商环境专题协商会",
        date=START.date(),
        time="14:30-16:30",
        audience="全体委员",
        now=BEFORE - timedelta(days=5),
    )


def test_replies_change_once_and_a_leave_goes_to_every_secretary(storage, chats, event):
    a, b = chats[:2]
    first = reply(storage, f"e{event.id}", a, "attend", now=BEFORE, admin_ids=frozenset({ADMIN}))
    assert first.changed and first.toast == "已登记：参加。" and "✅ 已回复：参加" in first.message
    again = reply(storage, f"e{event.id}", a, "attend", now=BEFORE, admin_ids=frozenset({ADMIN}))
    assert not again.changed and again.toast == "您已经回复过了。"
    leave = reply(storage, f"e{event.id}", b, "leave", now=BEFORE, admin_ids=frozenset({ADMIN}))
    assert leave.ask_reason and leave.reply.leave_status == "pending"
    (request,) = storage.outbox_rows("leave")
    assert request.chat_id == ADMIN and "委员0002 申请不参加《营商环境专题协商会》" in request.text
    assert [b["text"] for b in request.buttons[0]] == ["同意", "不同意"]
    with_reason = set_reason(storage, leave.reply.id, b, "出差在外", now=BEFORE, admin_ids=frozenset({ADMIN}))
    assert with_reason.reply.reason == "出差在外" and len(storage.outbox_rows("leave")) == 2
    assert [b.text for b in with_reason.buttons[0]] == ["参加", "撤回请假"]


def test_not_invited_past_meeting_and_non_meetings_are_refused(storage, chats, event, tmp_path):
    outsider = 4999
    with pytest.raises(MeetingError, match="不在"):
        reply(storage, f"e{event.id}", outsider, "attend", now=BEFORE)
    with pytest.raises(MeetingError, match="已经开始或结束"):
        reply(storage, f"e{event.id}", chats[0], "leave", now=START + timedelta(minutes=1))
    deadline = add_event(storage, CLI_CALLER, kind="提案截止", date=START.date(), audience="全体委员", now=BEFORE)
    with pytest.raises(MeetingError, match="不是会议"):
        reply(storage, f"e{deadline.id}", chats[0], "attend", now=BEFORE)
    with pytest.raises(MeetingError, match="按钮已失效"):
        reply(storage, "x1", chats[0], "attend", now=BEFORE)


def test_approval_once_withdrawn_requests_and_permissions(storage, chats, event):
    admins = frozenset({ADMIN})
    leave = reply(storage, f"e{event.id}", chats[0], "leave", now=BEFORE, reason="孩子生病", admin_ids=admins)
    member = Caller(chats[1], "委员0002", "member", member_id=2)
    with pytest.raises(PermissionDenied):
        decide(storage, member, leave.reply.id, True, now=BEFORE)
    done = decide(storage, SECRETARY, leave.reply.id, True, now=BEFORE)
    assert done.reply.leave_status == "approved" and "已同意 委员0001" in done.text
    (told,) = [r for r in storage.outbox_rows("leave") if r.chat_id == chats[0]]
    assert "请假已获同意" in told.text
    with pytest.raises(MeetingError, match="已经处理过了"):
        decide(storage, SECRETARY, leave.reply.id, False, now=BEFORE)
    second = reply(storage, f"e{event.id}", chats[1], "leave", now=BEFORE, admin_ids=admins)
    withdrawn = withdraw(storage, f"e{event.id}", chats[1], now=BEFORE, admin_ids=admins)
    assert withdrawn.reply.response == "attend" and withdrawn.reply.leave_status == "withdrawn"
    with pytest.raises(MeetingError, match="已撤回"):
        decide(storage, SECRETARY, second.reply.id, True, now=BEFORE)
    with pytest.raises(MeetingError, match="无需撤回"):
        withdraw(storage, f"e{event.id}", chats[1], now=BEFORE, admin_ids=admins)


def test_sign_in_window_twice_code_and_not_invited(storage, chats, event):
    with pytest.raises(MeetingError, match="签到尚未开始"):
        sign_in(storage, event.id, chats[0], now=START - timedelta(minutes=31))
    first = sign_in(storage, event.id, chats[0], now=START - timedelta(minutes=30))
    assert first.new and "签到成功" in first.text
    twice = sign_in(storage, event.id, chats[0], now=START)
    assert not twice.new and "已经签到过了" in twice.text
    with pytest.raises(MeetingError, match="已经结束"):
        sign_in(storage, event.id, chats[1], now=START + timedelta(hours=2, minutes=1))
    with pytest.raises(MeetingError, match="不在"):
        sign_in(storage, event.id, 4999, now=START)
    code = set_code(storage, CLI_CALLER, event.id, now=START, on=True)
    assert code and code.isdigit() and len(code) == 4
    with pytest.raises(CodeNeeded):
        sign_in(storage, event.id, chats[1], now=START)
    with pytest.raises(CodeNeeded, match="不正确"):
        sign_in(storage, event.id, chats[1], now=START, code="x" + code)
    assert sign_in(storage, event.id, chats[1], now=START, code=code).new
    assert storage.attendance(event.id)["member:2"].method == "code"


def test_closing_makes_one_record_per_attendee_and_lists_the_absent(storage, chats, event):
    admins = frozenset({ADMIN})
    a, b, c, _ = chats
    reply(storage, f"e{event.id}", a, "attend", now=BEFORE, admin_ids=admins)
    leave = reply(storage, f"e{event.id}", b, "leave", now=BEFORE, reason="住院", admin_ids=admins)
    decide(storage, SECRETARY, leave.reply.id, True, now=BEFORE)
    reply(storage, f"e{event.id}", c, "leave", now=BEFORE, admin_ids=admins)  # never approved
    assert push_signin(storage, now=START - timedelta(minutes=10)) == 1  # only a replied 参加
    assert push_signin(storage, now=START - timedelta(minutes=5)) == 0
    sign_in(storage, event.id, a, now=START)
    assert close_ended(storage, now=START + timedelta(hours=1)) == []  # not over yet
    (closed,) = close_ended(storage, now=START + timedelta(hours=3), admin_ids=admins)
    assert closed.records == 1 and closed.attended == ["委员0001"] and closed.on_leave == ["委员0002"]
    assert closed.absent == ["委员0003", "委员0004"]
    assert close_ended(storage, now=START + timedelta(hours=4)) == []
    assert close_event(storage, storage.event(event.id), now=START + timedelta(hours=4)) is None
    (record,) = storage.records_from(f"event:{event.id}")
    assert (record.member_id, record.kind, record.source, record.date) == (1, "活动", "event", START.date())
    (summary,) = storage.outbox_rows("attendance")
    assert "未请假缺席：委员0003、委员0004" in summary.text and "会议或视察调研" in summary.text
    text, _ = detail(storage, SECRETARY, f"e{event.id}")
    assert "请假（2）：委员0002（住院，已同意）、委员0003（待审批）" in text
    assert "未请假缺席（2）：委员0003、委员0004" in text


def test_corrections_after_closing_move_the_record_and_a_closed_year_is_refused(storage, chats, event):
    after = START + timedelta(hours=3)
    close_ended(storage, now=after)
    assert storage.records_from(f"event:{event.id}") == []
    text = mark(storage, SECRETARY, event.id, "member:3", True, now=after)
    assert "已补登 委员0003" in text
    assert [r.member_id for r in storage.records_from(f"event:{event.id}")] == [3]
    assert storage.event_outcomes(event.id)[3] == "attended"
    assert "无需更改" in mark(storage, SECRETARY, event.id, "member:3", True, now=after)
    mark(storage, SECRETARY, event.id, "member:3", False, now=after)
    assert storage.records_from(f"event:{event.id}") == []
    assert storage.event_outcomes(event.id)[3] == "absent"
    assert [e.action for e in storage.audit_entries() if e.action.startswith("attendance_")] == [
        "attendance_mark",
        "attendance_unmark",
    ]
    with pytest.raises(MeetingError, match="2027年度已经结束"):
        mark(storage, SECRETARY, event.id, "member:3", True, now=datetime(2028, 1, 2, tzinfo=TZ))
    with pytest.raises(PermissionDenied):
        mark(storage, Caller(chats[0], "委员0001", "member", member_id=1), event.id, "member:1", True, now=after)


def test_remind_unreplied_once_a_minute(storage, chats, event):
    reply(storage, f"e{event.id}", chats[0], "attend", now=BEFORE)
    assert remind_unreplied(storage, SECRETARY, f"e{event.id}", now=BEFORE) == 3
    with pytest.raises(MeetingError, match="刚刚已经提醒过了"):
        remind_unreplied(storage, SECRETARY, f"e{event.id}", now=BEFORE + timedelta(seconds=20))


def test_statistics_count_every_source_and_list_both_ends(storage, chats, event):
    sign_in(storage, event.id, chats[0], now=START)
    close_ended(storage, now=START + timedelta(hours=3))
    now = START + timedelta(hours=3)
    for kind in ("提案", "社情民意", "培训"):
        storage.insert_record(
            {"member_id": 1, "kind": kind, "title": kind, "date": START.date(), "created_by": "cli"}
            | {"created_at": now.isoformat(), "source": "self"}
        )
    stats = duty_statistics(storage, 2027, today=now.date(), points=PointsRule(True, {"提案": 3, "活动": 2}, -1))
    first = stats.rows[0]
    assert first.member.name == "委员0001" and first.all_met and first.points == 5
    assert (first.attended, first.invited, first.rate) == (1, 1, 1.0)
    assert [row.member.name for row in stats.all_met] == ["委员0001"]
    assert [row.member.name for row in stats.none_met] == ["委员0002", "委员0003", "委员0004"]
    assert all(row.absent == 1 and row.points == -1 for row in stats.rows[1:])
    book = openpyxl.load_workbook(io.BytesIO(statistics_xlsx(stats)))
    header = [c.value for c in book["履职统计"][1]]
    assert header[:5] == ["姓名", "界别", "专委会", "乡镇街道", "提案"] and header[-1] == "履职积分"
    assert [c.value for c in book["名单"]["B"]][1:] == ["委员0002", "委员0003", "委员0004"]
    past = duty_statistics(storage, 2026, today=now.date())
    assert not past.points_on and all(row.none_met for row in past.rows)


def test_typed_replies_are_read_and_questions_are_not():
    assert classify("收到").intent == "received" and classify("好的").intent == "received"
    assert classify("好的，准时参加").intent == "attend"
    typed = classify("我请假，孩子生病")
    assert (typed.intent, typed.reason) == ("leave", "孩子生病")
    named = classify("18号的协商会我请假")
    assert (named.intent, named.reason, named.day, named.kind) == ("leave", None, 18, "协商活动")
    assert classify("签到 1234").code == "1234"
    assert classify("撤回请假").intent == "withdraw"
    for text in ("请假要找谁？", "怎么请假", "委员活动的经费谁出", "我不参加吗", "收到了吗"):
        assert classify(text) is None, text


def test_knowledge_files_are_checked_with_one_line_errors():
    data = json.loads(knowledge_dir().joinpath("attendance.json").read_text(encoding="utf-8"))
    bad = dict(data, record_kinds={"协商活动": "会议"})
    with pytest.raises(MeetingConfigError, match=r"record_kinds\.协商活动"):
        config_from_dict(bad)
    with pytest.raises(MeetingConfigError, match="typed"):
        config_from_dict(dict(data, typed={"received": ["收到"]}))
    with pytest.raises(PointsError, match=r"points\.提案"):
        points_from_dict(dict(data, points={"enabled": True, "per_kind": {"提案": "三"}, "absent": -1}))
    assert not points_from_dict(data).enabled  # off by default


def test_one_person_membership_agrees_with_resolving_the_whole_audience(storage):
    add_members(storage, 3, committee="经济委")
    add_members(storage, 2, first_chat=5101, is_standing=1, unbound=1)
    storage.insert_person(
        "unit_contact", {"name": "财政局联络员", "phone": "13700000001", "unit_id": "finance"}, storage.now()
    )
    for words in ("全体委员", "常委", "经济委", "常委+经济委", "秘书", "所有人", "联络员"):
        audience = parse_audience(words, storage)
        everyone = {r.key for r in resolve(storage, audience, admin_ids={ADMIN})}
        keys = [f"member:{m.id}" for m in storage.people("member")] + ["unit_contact:1", f"secretary:{ADMIN}"]
        for key in keys:
            assert (includes(storage, audience, key, admin_ids={ADMIN}) is not None) == (key in everyone), (words, key)


def test_command_line_attendance_mark_code_and_xlsx(tmp_path, monkeypatch, capsys):
    from bot.cli.main import main as run_cli

    db = tmp_path / "cppcc.db"
    monkeypatch.setenv("CPPCC_DB", str(db))
    with Storage(db, TZ) as storage:
        add_members(storage, 2)
        now = storage.now()
        day = (now + timedelta(days=2)).date()  # sign-in opens 30 min before the day: never "now"
        add_event(storage, CLI_CALLER, kind="视察调研", title="乡村振兴视察", date=day, audience="全体委员", now=now)
    assert run_cli(["events", "attendance", "1"]) == 0
    assert "未回复（2）：委员0001、委员0002" in capsys.readouterr().out
    assert run_cli(["events", "mark", "1", "委员0002"]) == 1
    assert "尚未开始" in capsys.readouterr().err
    assert run_cli(["events", "mark", "1", "无名氏"]) == 1
    assert "没有名为“无名氏”" in capsys.readouterr().err
    assert run_cli(["events", "code", "1", "on"]) == 0
    assert "签到码：" in capsys.readouterr().out
    out = tmp_path / "duties.xlsx"
    assert run_cli(["progress", "--format", "xlsx", "--output", str(out)]) == 0
    assert "已导出" in capsys.readouterr().out
    assert openpyxl.load_workbook(out)["履职统计"].max_row == 3


def _old_database(path, days: tuple[str, ...]) -> None:
    """A database from before sign-in existed, with one 协商活动 at 09:00 on each day."""
    import sqlite_utils

    from bot.storage.calendar import CALENDAR_MIGRATIONS
    from bot.storage.core import MIGRATIONS, migrate

    old = sqlite_utils.Database(path)
    migrate(old, MIGRATIONS)
    migrate(old, CALENDAR_MIGRATIONS[:1], domain="calendar")
    stamp_ = "2026-01-01T00:00:00+08:00"
    old["members"].insert({"name": "张三", "phone": "+8613800000001", "created_at": stamp_, "updated_at": stamp_})
    for day in days:
        old["events"].insert(
            {
                "kind": "协商活动",
                "title": day,
                "start_date": day,
                "start_time": "09:00",
                "audience": '[["all_members", null]]',
            }
            | {"scheduled_at": stamp_, "created_by": "cli", "created_at": stamp_, "updated_at": stamp_}
        )
    old.close()


def test_events_held_before_the_upgrade_are_not_closed_into_absences(tmp_path):
    path = tmp_path / "old.db"
    _old_database(path, ("2026-03-01", "2099-03-01"))
    with Storage(path, TZ) as storage:
        past, future = storage.event(1), storage.event(2)
        assert past.closed_at and not future.closed_at
        assert close_ended(storage, now=storage.now()) == []
        assert storage.records_from("event:1") == [] and storage.event_outcomes(1) == {}


def test_a_changed_or_cancelled_meeting_tells_its_invitees_once(storage, chats, event):
    from bot.calendar.invitations import CHANGE_SOURCE, cancel_and_tell, change_and_tell, send_with_notice

    admins = frozenset({ADMIN})
    notice_id = send_with_notice(storage, CLI_CALLER, event.id, now=BEFORE, admin_ids=admins)
    reply(storage, f"e{event.id}", chats[0], "attend", now=BEFORE, admin_ids=admins)
    changes = {"time": "15:00-17:00", "place": "二楼会议室"}
    moved, told = change_and_tell(storage, CLI_CALLER, event.id, now=BEFORE, admin_ids=admins, **changes)
    assert told == 4 and moved.start_time == "15:00"
    rows = {r.chat_id: r for r in storage.outbox_rows(CHANGE_SOURCE)}
    first = rows[chats[0]].text
    assert first.startswith("【活动变更】《营商环境专题协商会》有变动：")
    assert "时间：2027-03-10（周三）14:30–16:30 → 2027-03-10（周三）15:00–17:00" in first
    assert "地点：（无） → 二楼会议室" in first and "✅ 已回复：参加" in first
    assert [b["text"] for b in rows[chats[0]].buttons[0]] == ["请假"]
    assert [b["text"] for b in rows[chats[1]].buttons[0]] == ["参加", "请假"]
    # the notice's own buttons now show the meeting as it is
    answered = reply(storage, f"n{notice_id}", chats[1], "attend", now=BEFORE, admin_ids=admins)
    assert "15:00–17:00" in answered.message and "14:30–16:30" not in answered.message
    assert "时间：2027-03-10（周三）15:00–17:00\n地点：二楼会议室" in storage.notice(notice_id).text
    # notes are not worth a message; the same change is never told twice
    _, quiet = change_and_tell(storage, CLI_CALLER, event.id, now=BEFORE, admin_ids=admins, notes="请带材料")
    assert quiet == 0 and len(storage.outbox_rows(CHANGE_SOURCE)) == 4
    _, told = cancel_and_tell(storage, CLI_CALLER, event.id, now=BEFORE, admin_ids=admins)
    cancelled = storage.outbox_rows(CHANGE_SOURCE)[4:]
    assert told == 4 and all(r.text.startswith("【活动取消】《营商环境专题协商会》") for r in cancelled)
    assert all(not r.buttons for r in cancelled)
    # a meeting that is no longer a meeting kind: told, without reply buttons
    other = add_event(storage, CLI_CALLER, kind="培训", date=START.date(), audience="全体委员", now=BEFORE)
    changed, told = change_and_tell(storage, CLI_CALLER, other.id, now=BEFORE, admin_ids=admins, kind="提案截止")
    last = storage.outbox_rows(CHANGE_SOURCE)[-1]
    assert changed.kind == "提案截止" and told == 4 and "类型：培训 → 提案截止" in last.text and not last.buttons


def test_the_upgrade_reads_today_in_the_configured_time_zone_not_the_machines(tmp_path):
    """Kiritimati (UTC+14) is always one or two days ahead of UTC−12: its yesterday has passed
    there and not yet begun (or only just) in UTC−12, whatever the machine's zone."""
    ahead, behind = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")
    yesterday = (datetime.now(ahead).date() - timedelta(days=1)).isoformat()
    for zone, closed in ((ahead, True), (behind, False)):
        path = tmp_path / f"{closed}.db"
        _old_database(path, (yesterday,))
        with Storage(path, zone) as storage:
            event = storage.event(1)
            assert bool(event.closed_at) is closed
            if closed:
                assert datetime.fromisoformat(event.closed_at).utcoffset() == timedelta(hours=14)


def test_secretaries_mark_people_by_typed_names(storage, chats, event):
    from bot.calendar.signin import mark_names

    lines = mark_names(storage, SECRETARY, event.id, "委员0002、无名氏，委员0002", now=START)
    assert lines == [
        "已补登 委员0002 的签到：《营商环境专题协商会》（2027-03-10（周三）14:30–16:30）。",
        "无名氏：不在这次会议的参会范围内。",
    ]
    assert storage.attendance(event.id)["member:2"].method == "secretary"
    (undone,) = mark_names(storage, SECRETARY, event.id, "撤销 委员0002", now=START)
    assert undone.startswith("已撤销 委员0002 的签到") and "member:2" not in storage.attendance(event.id)
    with pytest.raises(MeetingError, match="请发送姓名"):
        mark_names(storage, SECRETARY, event.id, "撤销", now=START)
    with pytest.raises(PermissionDenied):
        mark_names(storage, Caller(chats[0], "委员0001", "member", member_id=1), event.id, "委员0002", now=START)


def test_an_ended_meeting_cannot_be_moved_or_change_its_kind(storage, chats, event):
    from bot.calendar.events import EventError, change_event

    close_ended(storage, now=START + timedelta(hours=3))
    with pytest.raises(EventError, match="已经结束"):
        change_event(
            storage, CLI_CALLER, event.id, now=START + timedelta(hours=3), date=START.date() + timedelta(days=7)
        )
    with pytest.raises(EventError, match="已经结束"):
        change_event(storage, CLI_CALLER, event.id, now=START + timedelta(hours=3), kind="培训")
    renamed = change_event(
        storage, CLI_CALLER, event.id, now=START + timedelta(hours=3), title="营商环境协商会（第一场）"
    )
    assert renamed.title == "营商环境协商会（第一场）" and renamed.closed_at


def test_a_meeting_moved_after_its_sign_in_prompt_gets_a_new_one(storage, chats, event):
    from bot.calendar.events import change_event

    reply(storage, f"e{event.id}", chats[0], "attend", now=BEFORE)
    assert push_signin(storage, now=START - timedelta(minutes=10)) == 1
    change_event(storage, CLI_CALLER, event.id, now=START - timedelta(minutes=9), date=START.date() + timedelta(days=1))
    assert push_signin(storage, now=START - timedelta(minutes=5)) == 0  # not in the new window yet
    later = START + timedelta(days=1)
    assert push_signin(storage, now=later - timedelta(minutes=10)) == 1
    assert push_signin(storage, now=later - timedelta(minutes=5)) == 0
