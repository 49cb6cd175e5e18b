"""Events: validation (nothing saved on refusal), changes, cancellation, who they concern, CSV import."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.events import (
    EventError,
    add_event,
    cancel_event,
    change_event,
    concerns,
    describe,
    get_event,
    import_events,
    list_events,
    parse_time_range,
    upcoming_for,
)
from bot.csvfile import ImportProblems
from bot.people.roles import CLI_CALLER, Caller, PermissionDenied
from bot.people.roster import import_members, import_unit_contacts
from bot.storage import Storage

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 4, 10, 0, tzinfo=TZ)
ADMIN_ID = 900001

MEMBERS_CSV = (
    "姓名,手机号,界别,专委会,乡镇街道,党派,是否常委\n"
    "张三,13812345678,经济界,提案委,习岗镇,民盟,是\n"
    "李四,13900001111,农业界,经济委,立岗镇,,否\n"
    "王五,13700002222,教育界,提案委,习岗镇,九三学社,否\n"
)
UNITS_CSV = "单位,姓名,手机号\n政协办,赵六,13600003333\n财政局,孙八,13600005555\n功能型党支部,钱七,13500004444\n"
# name → (kind, id, telegram id or None)
PEOPLE = {
    "张三": ("member", 1, 5001),
    "李四": ("member", 2, 5002),
    "王五": ("member", 3, None),
    "赵六": ("unit_contact", 1, 6001),
    "孙八": ("unit_contact", 2, 6002),
    "钱七": ("unit_contact", 3, 6003),
}


def seed(storage: Storage, now: datetime = NOW) -> Storage:
    """Three members (王五 unbound) and three unit contacts (政协办, 财政局, 功能型党支部), all bound but 王五."""
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=now)
    import_unit_contacts(storage, CLI_CALLER, UNITS_CSV.encode(), now=now)
    for name, (kind, person_id, telegram_id) in PEOPLE.items():
        assert storage.person(kind, person_id).name == name
        if telegram_id:
            storage.bind(telegram_id, kind, person_id, "code", now)
    return storage


def as_caller(name: str) -> Caller:
    kind, person_id, telegram_id = PEOPLE[name]
    if kind == "member":
        return Caller(telegram_id, name, "member", member_id=person_id)
    return Caller(telegram_id, name, "unit_contact", unit_id="x", unit_contact_id=person_id)


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    with Storage(tmp_path / "cppcc.db", TZ) as store:
        yield seed(store)


def meeting(storage: Storage, **overrides) -> object:
    fields = {
        "kind": "协商活动",
        "title": "优化营商环境专题协商会",
        "date": "2027-03-10",
        "time": "14:30-16:30",
        "place": "县政协三楼会议室",
        "audience": "全体委员",
        "now": NOW,
    }
    fields.update(overrides)
    return add_event(storage, CLI_CALLER, **fields)


def test_add_and_describe(storage):
    event = meeting(storage, notes="请提前15分钟到场")
    assert (event.start_date, event.start_time, event.end_time) == (date(2027, 3, 10), "14:30", "16:30")
    assert event.quarter == "2027Q1" and event.status == "scheduled" and event.sequence == 0
    text = describe(event)
    for part in ("【协商活动】优化营商环境专题协商会", "2027-03-10（周三）14:30–16:30", "县政协三楼会议室", "全体委员"):
        assert part in text
    assert "2027年第一季度" in text and "请提前15分钟到场" in text
    assert storage.audit_entries("add_event")[-1].detail["event_id"] == event.id


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"date": "2027-02-30"}, "2027-02-30”不存在"),
        ({"date": "2027-13-01"}, "不存在"),
        ({"date": "下下下周三"}, "无法识别"),
        ({"date": "", "time": "14:00"}, "只写了时间，没有写日期"),
        ({"date": None, "time": None}, "请写明活动日期"),
        ({"date": "2027-01-03"}, "已经过去"),
        ({"date": "2027-01-04", "time": "09:59"}, "已经过去"),
        ({"time": "16:00-15:00"}, "结束时间 15:00 早于"),
        ({"time": "14:30", "end_time": "14:30"}, "早于（或等于）"),
        ({"end_date": "2027-03-09"}, "结束日期 2027-03-09 早于开始日期"),
        ({"time": None, "end_time": "16:00"}, "只写了结束时间"),
        ({"time": "25:00"}, "时间“25:00”无法识别"),
        ({"audience": "火星人"}, "没有找到与“火星人”对应"),
        ({"audience": ""}, "请写明活动对象"),
        ({"kind": "联欢会"}, "无法识别的活动类型"),
        ({"kind": "培训", "quarter": "2027Q1"}, "只有协商活动需要填写季度"),
        ({"quarter": "2027Q5"}, "无法识别的季度"),
        ({"title": "长" * 101}, "活动名称过长"),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_saved(storage, fields, reason):
    with pytest.raises(EventError) as refused:
        meeting(storage, **fields)
    assert reason in refused.value.message
    assert storage.events_between() == []
    assert storage.audit_entries("add_event") == []


def test_all_day_today_is_allowed_and_times_are_read_as_people_write_them(storage):
    event = meeting(storage, date="2027年1月4日", time=None)
    assert event.start_date == NOW.date() and event.start_time is None
    assert parse_time_range("9点") == (datetime(2000, 1, 1, 9).time(), None)
    assert parse_time_range("14：30—16：00")[1] == datetime(2000, 1, 1, 16).time()
    multi = meeting(storage, date="2027-05-10", time="09:00", end_date="2027-05-12", end_time="12:00")
    assert multi.end_date == date(2027, 5, 12) and "至 2027-05-12" in describe(multi)


def test_explicit_quarter_and_kind_synonyms(storage):
    late = meeting(storage, date="2027-04-02", quarter="2027年第一季度")
    assert late.quarter == "2027Q1"
    training = meeting(storage, kind="轮训", title="委员轮训")
    assert training.kind == "培训" and training.quarter is None


def test_only_secretaries_manage_events(storage):
    member = as_caller("张三")
    with pytest.raises(PermissionDenied):
        add_event(storage, member, kind="协商活动", date="2027-03-10", audience="全体委员", now=NOW)
    event = meeting(storage)
    for action in (
        lambda: change_event(storage, member, event.id, place="x", now=NOW),
        lambda: cancel_event(storage, member, event.id, now=NOW),
    ):
        with pytest.raises(PermissionDenied):
            action()
    assert storage.event(event.id) == event


def test_change_moves_reminders_and_keeps_what_was_not_changed(storage):
    event = meeting(storage)
    later = NOW + timedelta(hours=1)
    moved = change_event(storage, CLI_CALLER, event.id, date="2027-04-07", now=later)
    assert moved.start_date == date(2027, 4, 7) and (moved.start_time, moved.end_time) == ("14:30", "16:30")
    assert moved.quarter == "2027Q2" and moved.sequence == 1 and moved.scheduled_at == later
    renamed = change_event(storage, CLI_CALLER, event.id, place="会议中心", now=later + timedelta(hours=1))
    assert renamed.scheduled_at == later and renamed.place == "会议中心" and renamed.sequence == 2
    retimed = change_event(storage, CLI_CALLER, event.id, time="09:00", now=later)
    assert (retimed.start_time, retimed.end_time) == ("09:00", None)
    with pytest.raises(EventError, match="已经过去"):
        change_event(storage, CLI_CALLER, event.id, date="2027-01-01", now=later)
    assert storage.event(event.id) == retimed
    assert storage.audit_entries("change_event")[0].detail["before"]["start_date"] == "2027-03-10"


def test_cancel(storage):
    event = meeting(storage)
    cancelled = cancel_event(storage, CLI_CALLER, event.id, now=NOW)
    assert cancelled.status == "cancelled" and cancelled.sequence == 1
    assert storage.events_between() == [] and storage.events_between(include_cancelled=True) == [cancelled]
    with pytest.raises(EventError, match="已经取消"):
        cancel_event(storage, CLI_CALLER, event.id, now=NOW)
    with pytest.raises(EventError, match="已取消，不能修改"):
        change_event(storage, CLI_CALLER, event.id, place="x", now=NOW)
    with pytest.raises(EventError, match="没有编号为 999"):
        cancel_event(storage, CLI_CALLER, 999, now=NOW)


def test_events_concern_their_audience_only(storage):
    everyone = meeting(storage)
    standing = meeting(storage, kind="常委会会议", title="常委会", audience="常委", date="2027-03-11")
    committee = meeting(storage, kind="视察调研", title="经济委视察", audience="经济委", date="2027-03-12")
    finance = meeting(storage, kind="培训", title="联络员培训", audience="财政局", date="2027-03-13")
    seen = {name: [e.id for e in list_events(storage, as_caller(name))] for name in ("张三", "李四", "孙八", "赵六")}
    assert seen == {
        "张三": [everyone.id, standing.id],
        "李四": [everyone.id, committee.id],
        "孙八": [finance.id],
        "赵六": [],
    }
    assert len(list_events(storage, CLI_CALLER)) == 4
    assert concerns(storage, finance, as_caller("孙八")) and not concerns(storage, finance, as_caller("张三"))
    with pytest.raises(EventError, match="没有编号为"):
        get_event(storage, as_caller("张三"), finance.id)
    with pytest.raises(PermissionDenied):
        list_events(storage, Caller(42, None, "guest"))


def test_upcoming_drops_finished_events(storage):
    today = meeting(storage, date="2027-01-04", time="11:00-12:00")
    soon = meeting(storage, date="2027-01-20")
    far = meeting(storage, date="2027-12-20")
    member = as_caller("张三")
    assert [e.id for e in upcoming_for(storage, member, NOW, 90)] == [today.id, soon.id]
    assert [e.id for e in upcoming_for(storage, member, NOW.replace(hour=13), 400)] == [soon.id, far.id]


CSV_HEADER = "类型,名称,日期,时间,地点,对象,备注,季度\n"


def test_import_is_all_or_nothing_with_line_numbers(storage):
    bad = (
        CSV_HEADER + "协商活动,营商环境协商,2027-03-10,14:30-16:30,三楼,全体委员,,\n"
        "培训,委员培训,2027-02-30,,,全体委员,,\n"
        "视察调研,,,09:00,,全体委员,,\n"
        "常委会会议,常委会,2027-04-01,09:00,,火星人,,\n"
        "协商活动,营商环境协商,2027-03-10,14:30-16:30,三楼,全体委员,,\n"
        "全体会议,全会,2026-12-01,,,全体委员,,\n"
    )
    with pytest.raises(ImportProblems) as refused:
        import_events(storage, CLI_CALLER, bad.encode(), now=NOW)
    problems = refused.value.problems
    assert [p.split("：", 1)[0] for p in problems] == ["第3行", "第4行", "第5行", "第6行", "第7行"]
    assert "不存在" in problems[0] and "只写了时间" in problems[1] and "火星人" in problems[2]
    assert "与第2行重复" in problems[3] and "已经过去" in problems[4]
    assert storage.events_between(include_cancelled=True) == []


def test_import_adds_and_is_idempotent(storage):
    good = (
        CSV_HEADER + "协商活动,营商环境协商,2027-03-10,14:30-16:30,三楼,全体委员,,2027Q1\n"
        "提案截止,,2027-02-28,,,全体委员,请按时提交,\n"
    ).encode("gb18030")
    assert import_events(storage, CLI_CALLER, good, now=NOW).describe() == "新增 2 项活动，已存在 0 项"
    assert import_events(storage, CLI_CALLER, good, now=NOW).describe() == "新增 0 项活动，已存在 2 项"
    events = storage.events_between()
    assert [e.kind for e in events] == ["提案截止", "协商活动"] and events[0].title == "提案截止"
    with pytest.raises(ImportProblems, match="缺少“对象”列"):
        import_events(storage, CLI_CALLER, "类型,日期\n协商活动,2027-03-10\n".encode(), now=NOW)
