"""Reminder rules and the engine, with a controllable clock: every rule around its boundaries (year,
quarter, leap day), quiet hours, merging, exactly-once delivery, catch-up windows, overrides, and a
full sample year through `reminders preview`."""

from __future__ import annotations

import html
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.calendar.events import add_event, cancel_event, change_event
from bot.calendar.reminders import (
    QuietHours,
    ReminderError,
    deliver_due,
    due_reminders,
    load_rules,
    merge,
    parse_rules,
    preview,
    preview_json,
    reset_override,
    rules_for,
    set_override,
    skip_digest_text,
)
from bot.cli import main as cli
from bot.config import ConfigError, knowledge_dir
from bot.ledger import submit_report
from bot.notices.outbox import rows_of
from bot.people.records import add_record, assign_proposal, reply_proposal
from bot.people.roles import CLI_CALLER, Caller, PermissionDenied
from bot.storage import Storage
from bot.textsplit import utf16_len
from scheduler.reminders import ReminderScheduler
from tests.test_calendar import PEOPLE, TZ, as_caller, seed

ADMIN_ID = 900001
ADMINS = frozenset({ADMIN_ID})
CREATED = datetime(2027, 1, 4, 10, 0, tzinfo=TZ)
RULES_DATA = json.loads((knowledge_dir() / "reminders.json").read_text(encoding="utf-8"))


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def rules(*ids: str, quiet: tuple[str, str] | None = None, **changes: dict):
    """The default rules restricted to ``ids`` (all if none), with field changes per rule id."""
    data = json.loads(json.dumps(RULES_DATA))
    data["rules"] = [dict(r, **changes.get(r["id"], {})) for r in data["rules"] if not ids or r["id"] in ids]
    if quiet:
        data["quiet_hours"] = {"start": quiet[0], "end": quiet[1]}
    return parse_rules(data, "test-rules.json")


def due(storage, ruleset, start, end, now=None):
    return due_reminders(storage, ruleset, start, end, now or start, admin_ids=ADMINS)


def triples(found) -> set[tuple[datetime, str, str]]:
    return {(r.when, r.rule_id, r.recipient.key) for r in found}


def key_of(name: str) -> str:
    kind, person_id, _ = PEOPLE[name]
    return f"{kind}:{person_id}"


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    with Storage(tmp_path / "cppcc.db", TZ) as store:
        yield seed(store, CREATED)


def event(storage, now=CREATED, **fields):
    values = {"kind": "协商活动", "title": "专题协商会", "date": "2027-03-10", "time": "14:30", "audience": "全体委员"}
    values.update(fields)
    return add_event(storage, CLI_CALLER, now=now, **values)


def record(storage, name: str, kind: str, day: date, now: datetime | None = None):
    member = PEOPLE[name][1]
    return add_record(storage, CLI_CALLER, kind, f"{name}的{kind}", day, member, now=now or at(day.year, 12, 31))


# ---- the rules file -------------------------------------------------------------------------------


def test_default_rules_load_and_every_rule_cites_its_task():
    ruleset = load_rules()
    assert [r.id for r in ruleset.rules] == [r["id"] for r in RULES_DATA["rules"]]
    assert ruleset.quiet == QuietHours(time(21), time(8))
    for rule in ruleset.rules:
        citations = rule.event_kinds.values() if rule.kind == "event" else [rule.citation]
        assert all(c.text.startswith("依据实施方案") for c in citations), rule.id
    assert load_rules().rule("yearly_minimums").citation.text.startswith("依据实施方案（33）：")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "weekly_nag"}, "未知的规则类型 'weekly_nag'"),
        ({"offsets": [{"days": -1, "at": "09:00"}]}, "offsets[0].days: 不能为负数（实际为 -1）"),
        ({"offsets": [{"hours": 2, "at": "09:00"}]}, "offsets[0].at: 只能与 days 一起使用"),
        ({"offsets": []}, "offsets: 应为非空列表"),
        ({"event_kinds": {"联欢会": {"task": 33}}}, "event_kinds.联欢会: 未知的活动类型"),
        ({"event_kinds": {"协商活动": {"task": 99}}}, "event_kinds.协商活动.task: 方案中没有第（99）项任务"),
        ({"grace": {"days": -2}}, "grace.days: 不能为负数"),
        ({"colour": "red"}, "不认识字段 colour"),
        ({"enabled": "yes"}, "enabled: 应为 true 或 false"),
    ],
)
def test_broken_event_rule_is_a_clear_error_naming_file_and_rule(tmp_path, change, message):
    data = json.loads(json.dumps(RULES_DATA))
    data["rules"][0].update(change)
    path = tmp_path / "reminders.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_rules(path)
    assert str(path) in str(error.value) and "rules[0]" in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(
    ("rule_id", "change", "message"),
    [
        ("proposal_deadline", {"days_before": [14, -3]}, "days_before[1]: 不能为负数"),
        ("yearly_minimums", {"dates": ["02-30"]}, "dates[0]: 应为 MM-DD"),
        ("yearly_minimums", {"at": "9:00"}, "at: 应为 HH:MM"),
        ("yearly_minimums", {"record_kinds": ["诗歌"]}, "record_kinds"),
        ("consultation_mid_quarter", {"quarter_day": {"month": 4, "day": 1}}, "quarter_day.month"),
        ("consultation_mid_quarter", {"quarter_day": {"month": 1, "day": 31}}, "quarter_day.day"),
        ("consultation_mid_quarter", {"recipients": ["unit:nowhere"]}, "recipients[0]: 未知的接收对象"),
        ("consultation_mid_quarter", {"check": "maybe"}, "check"),
        ("proposal_reply_overdue", {"days_after": 0}, "days_after: 至少为 1"),
        ("organisational_life", {"task": None, "obligations": []}, "task: 请写明依据"),
    ],
)
def test_broken_rules_of_other_kinds(rule_id, change, message):
    with pytest.raises(ConfigError) as error:
        rules(rule_id, **{rule_id: change})
    assert f"（{rule_id}）" in str(error.value) and message in str(error.value)


def test_duplicate_ids_and_bad_quiet_hours_are_refused():
    data = json.loads(json.dumps(RULES_DATA))
    data["rules"].append(data["rules"][0])
    with pytest.raises(ConfigError, match="重复"):
        parse_rules(data, "x.json")
    with pytest.raises(ConfigError, match=r"quiet_hours\.end"):
        rules(quiet=("21:00", "8am"))


def test_start_up_fails_on_a_broken_rules_file(storage, tmp_path):
    path = tmp_path / "reminders.json"
    path.write_text(json.dumps({"version": 1, "rules": [{"id": "x", "kind": "nag", "task": 6}]}), encoding="utf-8")
    scheduler = ReminderScheduler(storage, ADMINS, rules_path=str(path))
    with pytest.raises(ConfigError, match="未知的规则类型 'nag'"):
        scheduler.start(job_queue=None)
    assert storage.deliveries() == [] and storage.reminder_state("last_pass") is None


# ---- quiet hours -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2027, 3, 1, 20, 59), at(2027, 3, 1, 20, 59)),
        (at(2027, 3, 1, 21, 0), at(2027, 3, 2, 8, 0)),
        (at(2027, 3, 1, 23, 30), at(2027, 3, 2, 8, 0)),
        (at(2027, 3, 2, 0, 0), at(2027, 3, 2, 8, 0)),
        (at(2027, 3, 2, 7, 59), at(2027, 3, 2, 8, 0)),
        (at(2027, 3, 2, 8, 0), at(2027, 3, 2, 8, 0)),
        (at(2027, 12, 31, 22, 0), at(2028, 1, 1, 8, 0)),
        (at(2028, 2, 28, 21, 0), at(2028, 2, 29, 8, 0)),
    ],
)
def test_quiet_hours_move_reminders_to_the_morning(moment, expected):
    assert QuietHours(time(21), time(8)).shift(moment) == expected


def test_quiet_hours_within_a_day_and_switched_off():
    lunch = QuietHours(time(12), time(14))
    assert lunch.shift(at(2027, 3, 1, 12, 30)) == at(2027, 3, 1, 14)
    assert lunch.shift(at(2027, 3, 1, 14, 0)) == at(2027, 3, 1, 14)
    off = QuietHours(time(8), time(8))
    assert not off.active and off.shift(at(2027, 3, 1, 3)) == at(2027, 3, 1, 3)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    st.times(),
    st.times(),
)
def test_shifted_time_is_never_quiet_never_earlier_and_within_a_day(naive, start, end):
    quiet = QuietHours(start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0))
    moment = naive.replace(tzinfo=TZ)
    shifted = quiet.shift(moment)
    assert shifted >= moment and shifted - moment <= timedelta(days=1)
    assert not quiet.contains(shifted)
    assert quiet.shift(shifted) == shifted


# ---- event reminders ----------------------------------------------------------------------------------


def test_event_reminders_three_and_one_day_before_to_the_audience(storage):
    meeting = event(storage)
    found = due(storage, rules("event_days_before", "meeting_hours_before"), at(2027, 3, 1, 0), at(2027, 3, 11, 0))
    assert triples(found) == {
        (at(2027, 3, day), "event_days_before", key_of(name)) for day in (7, 9) for name in ("张三", "李四", "王五")
    }
    statuses = {(r.recipient.key, r.status) for r in found}
    assert (key_of("王五"), "unbound") in statuses and (key_of("张三"), "due") in statuses
    first = next(r for r in found if r.recipient.key == key_of("张三"))
    assert first.occurrence == f"{meeting.id}@2027-03-10T14:30:3d" and first.topic == f"event:{meeting.id}"
    assert first.text.startswith("📅 活动提醒：3天后") and "依据实施方案（33）" in first.text and "下一步" in first.text
    assert [b.data for b in first.buttons] == [
        f"m:a:e{meeting.id}",
        f"m:l:e{meeting.id}",
        f"e:v:{meeting.id}",
        f"e:i:{meeting.id}",
    ]


def test_meeting_two_hours_before_waits_for_the_morning_or_expires(storage):
    early = event(storage, kind="常委会会议", audience="常委", date="2027-04-01", time="09:00")
    dawn = event(storage, kind="常委会会议", audience="常委", date="2027-04-02", time="07:30")
    found = due(storage, rules("meeting_hours_before"), at(2027, 3, 31, 12), at(2027, 4, 2, 12))
    by_event = {r.occurrence.split("@")[0]: r for r in found}
    assert by_event[str(early.id)].when == at(2027, 4, 1, 8) and by_event[str(early.id)].due == at(2027, 4, 1, 7)
    assert by_event[str(early.id)].status == "due" and by_event[str(early.id)].recipient.key == key_of("张三")
    assert by_event[str(dawn.id)].when == at(2027, 4, 2, 8) and by_event[str(dawn.id)].status == "expired"
    # moved from 07:00 to 08:00 by the quiet hours: the lead is counted from the sending
    assert "1小时后" in by_event[str(early.id)].text and "2小时后" not in by_event[str(early.id)].text


def test_a_late_reminder_words_its_lead_from_the_sending_and_is_not_sent_after_the_start(storage):
    meeting = event(storage, kind="常委会会议", audience="常委", date="2027-04-01", time="15:00")
    ruleset = rules("meeting_hours_before")  # 2 hours before: due 13:00
    caught_up = due(storage, ruleset, at(2027, 4, 1, 12), at(2027, 4, 1, 13, 50), now=at(2027, 4, 1, 13, 50))
    (late,) = [r for r in caught_up if r.recipient.key == key_of("张三")]
    assert late.status == "due" and "1小时后" in late.text and "2小时后" not in late.text  # sent at 13:50
    assert late.summary.startswith("📅 活动提醒：1小时后") and f"【常委会会议】{meeting.title}" in late.summary
    after = due(storage, ruleset, at(2027, 4, 1, 12), at(2027, 4, 1, 15, 5), now=at(2027, 4, 1, 15, 5))
    assert {r.status for r in after} == {"late"}  # the meeting has started: nothing goes out


def test_event_reminders_across_the_year_boundary(storage):
    event(storage, kind="常委会会议", audience="常委", date="2028-01-02", time="10:00")
    ruleset = rules("event_days_before", "meeting_hours_before")
    whole = due(storage, ruleset, at(2027, 12, 25, 0), at(2028, 1, 3, 0))
    assert [r.when for r in whole] == [at(2027, 12, 30), at(2028, 1, 1), at(2028, 1, 2, 8)]
    assert "明天" in whole[1].text
    window = due(storage, ruleset, at(2027, 12, 31, 0), at(2028, 1, 1, 12))
    assert [r.when for r in window] == [at(2028, 1, 1)]


@pytest.mark.parametrize(
    ("event_day", "reminder_day"), [("2028-03-01", date(2028, 2, 29)), ("2027-03-01", date(2027, 2, 28))]
)
def test_event_reminder_on_the_leap_day(storage, event_day, reminder_day):
    event(storage, date=event_day, audience="常委")
    found = due(storage, rules("event_days_before"), at(2027, 2, 1, 0), at(2028, 3, 2, 0))
    assert [r.when.date() for r in found][-1] == reminder_day


def test_no_reminder_before_the_event_was_announced_and_none_after_cancelling(storage):
    late = event(storage, now=at(2027, 3, 8, 10), audience="常委")
    found = due(storage, rules("event_days_before"), at(2027, 3, 1, 0), at(2027, 3, 11, 0))
    assert [r.when for r in found] == [at(2027, 3, 9)]
    cancel_event(storage, CLI_CALLER, late.id, now=at(2027, 3, 8, 11))
    assert due(storage, rules("event_days_before"), at(2027, 3, 1, 0), at(2027, 3, 11, 0)) == []


def test_moving_an_event_gives_new_occurrences(storage):
    moved = event(storage, audience="常委")
    change_event(storage, CLI_CALLER, moved.id, date="2027-03-20", now=at(2027, 3, 8, 10))
    found = due(storage, rules("event_days_before"), at(2027, 3, 1, 0), at(2027, 3, 21, 0))
    assert [(r.when, r.occurrence) for r in found] == [
        (at(2027, 3, 17), f"{moved.id}@2027-03-20T14:30:3d"),
        (at(2027, 3, 19), f"{moved.id}@2027-03-20T14:30:1d"),
    ]


# ---- (32) training announced ----------------------------------------------------------------------------


def test_training_announcement_goes_to_members_without_training_this_term(storage):
    record(storage, "李四", "培训", date(2027, 3, 1))  # this term (2027–2032, from knowledge/settings.json)
    record(storage, "张三", "培训", date(2026, 5, 1))  # previous term: does not count
    training = event(storage, kind="培训", title="委员履职能力培训", date="2027-05-10", now=at(2027, 4, 20, 22, 30))
    found = due(storage, rules("training_announced"), at(2027, 4, 20, 0), at(2027, 4, 22, 0))
    assert triples(found) == {
        (at(2027, 4, 21, 8), "training_announced", key_of("张三")),
        (at(2027, 4, 21, 8), "training_announced", key_of("王五")),
    }
    text = found[0].text
    assert "依据实施方案（32）：确保届内至少轮训1遍" in text and "2027—2032" in text and "委员履职能力培训" in text
    assert [b.data for b in found[0].buttons] == [f"e:v:{training.id}", "r:k:培训"]


# ---- (6) quarterly consultation ----------------------------------------------------------------------------


def test_mid_quarter_check_on_the_15th_day_only_without_a_consultation(storage):
    ruleset = rules("consultation_mid_quarter")
    found = due(storage, ruleset, at(2027, 1, 1, 0), at(2027, 4, 16, 0))
    assert triples(found) == {
        (at(2027, 1, 15), "consultation_mid_quarter", f"secretary:{ADMIN_ID}"),
        (at(2027, 1, 15), "consultation_mid_quarter", key_of("赵六")),
        (at(2027, 4, 15), "consultation_mid_quarter", f"secretary:{ADMIN_ID}"),
        (at(2027, 4, 15), "consultation_mid_quarter", key_of("赵六")),
    }
    secretary = next(r for r in found if r.recipient.secretary)
    assert "2027年第一季度尚未安排重要协商活动" in secretary.text and "第15天" in secretary.text
    assert [b.data for b in secretary.buttons] == ["e:new"]
    assert next(r for r in found if not r.recipient.secretary).buttons == ()
    event(storage, date="2027-03-10")
    cancelled = event(storage, date="2027-05-10")
    cancel_event(storage, CLI_CALLER, cancelled.id, now=CREATED)
    assert {r.when for r in due(storage, ruleset, at(2027, 1, 1, 0), at(2027, 4, 16, 0))} == {at(2027, 4, 15)}


def test_quarter_end_check_counts_only_held_consultations_and_crosses_the_year(storage):
    ruleset = rules("consultation_quarter_end")
    event(storage, date="2027-04-02", quarter="2027Q1")  # counted for Q1 but not held by 31 March
    event(storage, date="2027-12-31", time="10:00")  # held on the quarter's last day
    found = due(storage, ruleset, at(2027, 1, 1, 0), at(2028, 4, 1, 0))
    assert [r.when for r in found] == [
        at(2027, 3, 31, 17),
        at(2027, 6, 30, 17),
        at(2027, 9, 30, 17),
        at(2028, 3, 31, 17),
    ]
    assert "❗ 2027年第一季度没有举行重要协商活动" in found[0].text
    assert {r.recipient.key for r in found} == {f"secretary:{ADMIN_ID}"}


# ---- (33) yearly minimums and the proposal deadline ---------------------------------------------------------


def test_yearly_minimums_name_only_what_is_missing(storage):
    record(storage, "张三", "提案", date(2027, 3, 1))
    record(storage, "张三", "社情民意", date(2026, 12, 30))  # last year: does not count
    for kind in ("提案", "社情民意", "活动"):
        record(storage, "李四", kind, date(2027, 6, 1))
    found = due(storage, rules("yearly_minimums"), at(2027, 8, 31, 0), at(2027, 11, 2, 0))
    assert triples(found) == {
        (at(2027, month, 1), "yearly_minimums", key_of(name)) for month in (9, 11) for name in ("张三", "王五")
    }
    zhang = next(r for r in found if r.recipient.key == key_of("张三"))
    assert "您2027年还需：反映 1 条社情民意信息；参加 1 次协商议政会议或视察考察调研活动。" in zhang.text
    assert "提交" not in zhang.text.split("还需")[1]
    assert [b.data for b in zhang.buttons] == ["r:k:社情民意", "r:k:活动"]


def test_yearly_dates_on_the_leap_day():
    ruleset = rules("yearly_minimums", yearly_minimums={"dates": ["02-29"]})
    assert ruleset.rule("yearly_minimums").dates == ((2, 29),)


def test_leap_day_rule_date_falls_on_28_february_otherwise(storage):
    ruleset = rules("yearly_minimums", yearly_minimums={"dates": ["02-29"]})
    found = due(storage, ruleset, at(2027, 1, 1, 0), at(2029, 1, 1, 0))
    assert sorted({r.when for r in found}) == [at(2027, 2, 28), at(2028, 2, 29)]


def test_proposal_deadline_14_3_1_days_before_across_the_leap_day(storage):
    deadline = event(storage, kind="提案截止", title="2028年度提案截止", date="2028-03-01", time=None)
    record(storage, "张三", "提案", date(2028, 1, 10), now=at(2028, 1, 10))
    found = due(storage, rules("proposal_deadline"), at(2028, 2, 1, 0), at(2028, 3, 2, 0))
    assert triples(found) == {
        (at(2028, 2, day), "proposal_deadline", key_of(name)) for day in (16, 27, 29) for name in ("李四", "王五")
    }
    last = next(r for r in found if r.when.day == 29 and r.recipient.key == key_of("李四"))
    assert "2028-03-01 截止，还有 1 天" in last.text and "您2028年还需：提交 1 份提案。" in last.text
    assert last.occurrence == f"{deadline.id}@2028-03-01:1d" and last.expires == at(2028, 3, 2, 0)


# ---- (18) proposal replies --------------------------------------------------------------------------------


def proposal(storage, units=("财政局",)):
    created = record(storage, "张三", "提案", date(2027, 1, 4), now=CREATED)
    return assign_proposal(storage, CLI_CALLER, created.id, list(units), "2027-01-04", now=CREATED)


def test_reply_due_reminders_go_to_the_undertaking_units_contacts(storage):
    assigned = proposal(storage, ("财政局", "统战部"))
    assert assigned.reply_due == date(2027, 4, 4)
    found = due(storage, rules("proposal_reply_due"), at(2027, 3, 1, 0), at(2027, 4, 5, 0))
    assert triples(found) == {
        (at(2027, 3, 21), "proposal_reply_due", key_of("孙八")),
        (at(2027, 3, 21), "proposal_reply_due", "unit:united_front_dept"),
        (at(2027, 4, 1), "proposal_reply_due", key_of("孙八")),
        (at(2027, 4, 1), "proposal_reply_due", "unit:united_front_dept"),
        (at(2027, 4, 3), "proposal_reply_due", key_of("孙八")),
        (at(2027, 4, 3), "proposal_reply_due", "unit:united_front_dept"),
    }
    nobody = next(r for r in found if r.recipient.key.startswith("unit:"))
    assert nobody.status == "unbound" and nobody.recipient.name == "统战部（名单中无联络员）"
    assert "还有 14 天" in found[0].text and "《张三的提案》（张三委员提出）" in found[0].text


def test_overdue_the_day_after_then_weekly_until_replied(storage):
    assigned = proposal(storage)
    ruleset = rules("proposal_reply_overdue")
    found = due(storage, ruleset, at(2027, 4, 1, 0), at(2027, 4, 30, 0))
    assert sorted({r.when for r in found}) == [at(2027, 4, 5), at(2027, 4, 12), at(2027, 4, 19), at(2027, 4, 26)]
    assert {r.recipient.key for r in found} == {f"secretary:{ADMIN_ID}", key_of("孙八")}
    secretary = next(r for r in found if r.recipient.secretary and r.when == at(2027, 4, 12))
    assert "已超期 8 天" in secretary.text and [b.data for b in secretary.buttons] == [f"r:rp:{assigned.id}"]
    contact = next(r for r in found if not r.recipient.secretary)
    assert [b.data for b in contact.buttons] == ["t:18"]
    # a window far later still lands on the weekly grid
    later = due(storage, ruleset, at(2027, 12, 25, 0), at(2028, 1, 5, 0))
    assert sorted({r.when for r in later}) == [at(2027, 12, 27), at(2028, 1, 3)]
    reply_proposal(storage, CLI_CALLER, assigned.id, "2027-04-20", now=at(2027, 4, 20, 12))
    assert due(storage, ruleset, at(2027, 4, 20, 12), at(2027, 5, 30, 0)) == []


# ---- (42) organisational life and the ledger's quarterly rule -----------------------------------------------


def branch_contact() -> Caller:
    return Caller(6003, "钱七", "unit_contact", unit_id="party_branches", unit_contact_id=3)


def test_organisational_life_in_q4_unless_recorded(storage):
    ruleset = rules("organisational_life")
    found = due(storage, ruleset, at(2027, 10, 1, 0), at(2027, 12, 31, 0))
    assert triples(found) == {
        (at(2027, 10, 15), "organisational_life", key_of("钱七")),
        (at(2027, 12, 1), "organisational_life", key_of("钱七")),
    }
    assert "依据实施方案（42）：功能型党支部每年至少召开1次组织生活会" in found[0].text
    event(storage, kind="组织生活会", date="2027-11-20", audience="秘书")
    assert due(storage, ruleset, at(2027, 11, 25, 0), at(2027, 12, 31, 0)) == []
    assert len(due(storage, ruleset, at(2028, 10, 1, 0), at(2028, 12, 31, 0))) == 2  # a new year


def test_organisational_life_recorded_through_the_ledger(storage):
    submit_report(storage, branch_contact(), 42, "10月召开党员委员组织生活会", now=at(2027, 10, 10, 10))
    assert due(storage, rules("organisational_life"), at(2027, 10, 1, 0), at(2027, 12, 31, 0)) == []


def test_ledger_quarterly_rule_reminds_silent_units_then_tells_secretaries(storage):
    ruleset = rules("ledger_silent_units", "ledger_quarter_end")
    submit_report(storage, branch_contact(), 42, "本季度召开组织生活会", now=at(2027, 2, 1, 10))
    found = due(storage, ruleset, at(2027, 3, 1, 0), at(2027, 4, 1, 0))
    assert triples(found) == {
        (at(2027, 3, 20), "ledger_silent_units", key_of("赵六")),
        (at(2027, 3, 20), "ledger_silent_units", key_of("孙八")),
        (at(2027, 3, 31, 17), "ledger_quarter_end", f"secretary:{ADMIN_ID}"),
    }
    finance = next(r for r in found if r.recipient.key == key_of("孙八"))
    assert "财政局以下任务本季度尚未填报进展：（45）" in finance.text and "建立台账" in finance.text
    summary = next(r for r in found if r.rule_id == "ledger_quarter_end")
    assert "· 财政局：（45）" in summary.text and "各专委会功能型党支部" not in summary.text


# ---- merging -------------------------------------------------------------------------------------------------


def test_coinciding_reminders_for_one_person_are_merged(storage):
    first = event(storage, title="第一场", date="2027-03-10", audience="常委")
    second = event(storage, kind="视察调研", title="第二场", date="2027-03-10", time="16:00", audience="常委")
    found = due(storage, rules("event_days_before"), at(2027, 3, 7, 0), at(2027, 3, 7, 12))
    (message,) = merge(found)
    assert message.telegram_id == 5001 and len(message.reminders) == 2
    assert message.text.startswith("您有 2 条提醒：") and "1. 📅" in message.text and "2. 📅" in message.text
    assert [b.data for row in message.buttons for b in row] == [
        f"m:a:e{first.id}",
        f"m:l:e{first.id}",
        f"e:v:{first.id}",
        f"e:i:{first.id}",
        f"m:a:e{second.id}",
        f"m:l:e{second.id}",
        f"e:v:{second.id}",
        f"e:i:{second.id}",
    ]


# ---- delivery: exactly once, restarts, catch-up ------------------------------------------------------------


def sent_texts(storage) -> list[tuple[int, str]]:
    return [(row.chat_id, row.text) for row in rows_of(storage, "reminder")]


def test_each_key_is_delivered_once_across_passes_and_restarts(tmp_path):
    path = tmp_path / "cppcc.db"
    with Storage(path, TZ) as store:
        seed(store, CREATED)
        event(store, audience="常委")
        ruleset = rules("event_days_before")
        first = deliver_due(store, ruleset, at(2027, 3, 7, 8), admin_ids=ADMINS)
        assert first.sent == [] and first.start == at(2027, 3, 7, 8)  # a fresh database starts from now
        result = deliver_due(store, ruleset, at(2027, 3, 7, 9), admin_ids=ADMINS)
        assert [m.telegram_id for m in result.sent] == [5001]
        assert deliver_due(store, ruleset, at(2027, 3, 7, 9, 1), admin_ids=ADMINS).sent == []
    for _ in range(2):  # two restarts in a row, each replaying the window
        with Storage(path, TZ) as store:
            store.set_reminder_state("last_pass", at(2027, 3, 7, 8).isoformat())
            assert deliver_due(store, ruleset, at(2027, 3, 7, 9, 5), admin_ids=ADMINS).sent == []
            assert len(sent_texts(store)) == 1
    with Storage(path, TZ) as store:
        (row,) = rows_of(store, "reminder")
        assert row.chat_id == 5001 and row.text.startswith("📅 活动提醒：3天后")
        (decided,) = store.deliveries()
        assert (decided.rule_id, decided.recipient, decided.outcome) == ("event_days_before", key_of("张三"), "sent")


def test_catch_up_sends_what_is_still_useful_and_logs_the_rest(storage):
    event(storage, audience="常委")
    ruleset = rules("event_days_before", "consultation_mid_quarter")
    storage.set_reminder_state("last_pass", at(2027, 3, 6, 20).isoformat())
    result = deliver_due(storage, ruleset, at(2027, 3, 9, 10), admin_ids=ADMINS)  # down for 2½ days
    assert [(m.telegram_id, m.reminders[0].occurrence.split(":")[-1]) for m in result.sent] == [(5001, "1d")]
    assert [(r.occurrence.split(":")[-1], r.status) for r in result.skipped] == [("3d", "late")]
    (skip,) = storage.deliveries(outcome="skipped")
    assert skip.reason == "late" and skip.reported
    digest = [text for chat, text in sent_texts(storage) if chat == ADMIN_ID]
    assert len(digest) == 1 and "已超过补发时限" in digest[0] and "张三" in digest[0]


def test_catch_up_within_grace_and_newest_supersedes(storage):
    event(storage, audience="常委")
    ruleset = rules("event_days_before", event_days_before={"grace": {"days": 3}})
    storage.set_reminder_state("last_pass", at(2027, 3, 6, 20).isoformat())
    result = deliver_due(storage, ruleset, at(2027, 3, 9, 10), admin_ids=ADMINS)
    assert [m.reminders[0].occurrence[-2:] for m in result.sent] == ["1d"]
    assert [r.status for r in result.skipped] == ["superseded"]
    storage.set_reminder_state("last_pass", at(2027, 3, 6, 20).isoformat())
    assert deliver_due(storage, ruleset, at(2027, 3, 9, 11), admin_ids=ADMINS).sent == []


@pytest.mark.parametrize(("back_on", "sent"), [(at(2027, 1, 20, 10), True), (at(2027, 2, 1, 10), False)])
def test_catch_up_grace_of_the_quarterly_check(storage, back_on, sent):
    storage.set_reminder_state("last_pass", at(2027, 1, 14, 18).isoformat())
    result = deliver_due(storage, rules("consultation_mid_quarter"), back_on, admin_ids=ADMINS)
    assert bool(result.sent) is sent
    assert {m.telegram_id for m in result.sent} == ({ADMIN_ID, 6001} if sent else set())
    assert {r.status for r in result.skipped} == (set() if sent else {"late"})


def test_unbound_members_are_skipped_and_listed_for_the_secretaries(storage):
    event(storage)
    storage.set_reminder_state("last_pass", at(2027, 3, 7, 8).isoformat())
    result = deliver_due(storage, rules("event_days_before"), at(2027, 3, 7, 9), admin_ids=ADMINS)
    assert sorted(m.telegram_id for m in result.sent) == [5001, 5002]
    assert [(r.recipient.name, r.status) for r in result.skipped] == [("王五", "unbound")]
    assert result.digest_to == [ADMIN_ID]
    digest = dict(sent_texts(storage))[ADMIN_ID]
    assert "【未绑定 Telegram】" in digest and "· 王五：📅 活动提醒：3天后" in digest
    again = deliver_due(storage, rules("event_days_before"), at(2027, 3, 9, 9), admin_ids=ADMINS)
    assert again.digest_to == [ADMIN_ID]  # the 1-day reminder's skip is new; the first is not repeated
    assert dict(sent_texts(storage)[-1:])[ADMIN_ID].count("王五") == 1


def test_a_pass_never_looks_back_more_than_the_lookback(storage):
    storage.set_reminder_state("last_pass", at(2025, 1, 1, 0).isoformat())
    result = deliver_due(storage, rules("consultation_mid_quarter"), at(2027, 4, 16, 0), admin_ids=ADMINS)
    assert result.start == at(2027, 4, 16, 0) - timedelta(days=62)


# ---- secretaries' overrides ----------------------------------------------------------------------------------


def test_overrides_are_validated_stored_and_reset(storage):
    secretary = Caller(ADMIN_ID, "秘书", "admin")
    set_override(storage, secretary, "yearly_minimums", {"dates": ["10-01"]}, now=CREATED)
    set_override(storage, secretary, "quiet_hours", {"start": "22:00"}, now=CREATED)
    ruleset = rules_for(storage)
    assert ruleset.rule("yearly_minimums").dates == ((10, 1),) and ruleset.quiet.start == time(22)
    with pytest.raises(ReminderError, match="不能为负数"):
        set_override(storage, secretary, "proposal_deadline", {"days_before": [-1]}, now=CREATED)
    with pytest.raises(ReminderError, match="不存在的规则 'nosuch'"):
        set_override(storage, secretary, "nosuch", {"enabled": False}, now=CREATED)
    with pytest.raises(PermissionDenied):
        set_override(storage, as_caller("张三"), "yearly_minimums", {"enabled": False}, now=CREATED)
    assert len(storage.reminder_overrides()) == 2
    assert storage.audit_entries("set_reminder_rule")[0].detail == {
        "rule": "yearly_minimums",
        "values": {"dates": ["10-01"]},
    }
    assert reset_override(storage, secretary, "yearly_minimums") == 1
    assert rules_for(storage).rule("yearly_minimums").dates == ((9, 1), (11, 1))


def test_a_disabled_rule_sends_nothing(storage):
    set_override(storage, CLI_CALLER, "consultation_mid_quarter", {"enabled": False}, now=CREATED)
    ruleset = rules_for(storage)
    found = due(storage, ruleset, at(2027, 1, 1, 0), at(2027, 12, 31, 0))
    assert "consultation_mid_quarter" not in {r.rule_id for r in found}


# ---- a full sample year through `reminders preview` ------------------------------------------------------------


def sample_year(storage) -> dict[str, int]:
    """Events, records and a proposal for 2027, created on 4 January."""
    ids = {
        "consultation": event(storage, title="营商环境专题协商", date="2027-03-10", time="14:30-16:30").id,
        "deadline": event(storage, kind="提案截止", title="年度提案截止", date="2027-02-26", time=None).id,
        "standing": event(
            storage, kind="常委会会议", title="第十次常委会", date="2027-06-18", time="09:00", audience="常委"
        ).id,
        "training": event(storage, kind="培训", title="委员履职培训", date="2027-09-15", time=None).id,
    }
    for kind in ("提案", "社情民意", "活动"):
        record(storage, "李四", kind, date(2027, 1, 4), now=CREATED)
    ids["proposal"] = proposal(storage).id  # 张三's proposal, assigned to 财政局, reply due 2027-04-04
    return ids


def expected_year(ids: dict[str, int]) -> set[tuple[datetime, str, str]]:
    admin = f"secretary:{ADMIN_ID}"
    zhang, li, wang, zhao, sun, qian = (key_of(n) for n in ("张三", "李四", "王五", "赵六", "孙八", "钱七"))
    members = (zhang, li, wang)
    expected = set()
    add = expected.add
    for day in (at(2027, 3, 7), at(2027, 3, 9), at(2027, 9, 12), at(2027, 9, 14)):
        for member in members:
            add((day, "event_days_before", member))
    for day in (at(2027, 6, 15), at(2027, 6, 17)):
        add((day, "event_days_before", zhang))
    add((at(2027, 6, 18, 8), "meeting_hours_before", zhang))
    for member in members:
        add((CREATED, "training_announced", member))
    for day in (at(2027, 4, 15), at(2027, 7, 15), at(2027, 10, 15)):
        add((day, "consultation_mid_quarter", admin))
        add((day, "consultation_mid_quarter", zhao))
    for day in (at(2027, 6, 30, 17), at(2027, 9, 30, 17), at(2027, 12, 31, 17)):
        add((day, "consultation_quarter_end", admin))
    for day in (at(2027, 9, 1), at(2027, 11, 1)):
        add((day, "yearly_minimums", zhang))
        add((day, "yearly_minimums", wang))
    for day in (at(2027, 2, 12), at(2027, 2, 23), at(2027, 2, 25)):
        add((day, "proposal_deadline", wang))
    for day in (at(2027, 3, 21), at(2027, 4, 1), at(2027, 4, 3)):
        add((day, "proposal_reply_due", sun))
    overdue = date(2027, 4, 5)
    while overdue <= date(2027, 12, 31):
        add((at(overdue.year, overdue.month, overdue.day), "proposal_reply_overdue", admin))
        add((at(overdue.year, overdue.month, overdue.day), "proposal_reply_overdue", sun))
        overdue += timedelta(days=7)
    for day in (at(2027, 10, 15), at(2027, 12, 1)):
        add((day, "organisational_life", qian))
    for month in (3, 6, 9, 12):
        for contact in (zhao, sun, qian):
            add((at(2027, month, 20), "ledger_silent_units", contact))
        last = (date(2027, month % 12 + 1, 1) if month < 12 else date(2028, 1, 1)) - timedelta(days=1)
        add((at(2027, month, last.day, 17), "ledger_quarter_end", admin))
    return expected


def test_preview_of_a_full_sample_year(storage):
    ids = sample_year(storage)
    messages, skipped = preview(storage, rules_for(storage), date(2027, 1, 1), date(2027, 12, 31), admin_ids=ADMINS)
    reminders = [r for m in messages for r in m.reminders] + skipped
    assert {(r.when, r.rule_id, r.recipient.key) for r in reminders} == expected_year(ids)
    assert len(reminders) == len(expected_year(ids))  # nothing twice
    assert {r.recipient.key for r in skipped} == {key_of("王五")}
    assert all(time(8) <= m.when.timetz().replace(tzinfo=None) < time(21) for m in messages)
    assert all("依据" in r.text and ("下一步" in r.text or "请发送" in r.text) for r in reminders)
    assert [m.when for m in messages] == sorted(m.when for m in messages)
    merged = {(m.when, m.telegram_id): [r.rule_id for r in m.reminders] for m in messages}
    assert merged[(at(2027, 6, 30, 17), ADMIN_ID)] == ["consultation_quarter_end", "ledger_quarter_end"]
    assert merged[(at(2027, 10, 15), 6003)] == ["organisational_life"]
    assert all(len(set(rules_)) == len(rules_) for rules_ in merged.values())


def test_preview_command_prints_the_same_year(storage, tmp_path, monkeypatch, capsys):
    sample_year(storage)
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    monkeypatch.setenv("CPPCC_ADMIN_IDS", str(ADMIN_ID))
    assert cli.main(["reminders", "preview", "--from", "2027-01-01", "--to", "2027-12-31", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = preview_json(
        *preview(storage, rules_for(storage), date(2027, 1, 1), date(2027, 12, 31), admin_ids=ADMINS)
    )
    assert printed == expected
    assert len(printed["messages"]) > 50 and printed["messages"][0]["when"] == CREATED.isoformat()
    assert cli.main(["reminders", "preview", "--from", "2027-03-01", "--to", "2027-03-31"]) == 0
    text = capsys.readouterr().out
    assert "2027-03-07 09:00 → 张三 · chat 5001 [event_days_before]" in text and "未绑定 Telegram" in text
    assert cli.main(["reminders", "preview", "--from", "2027-03-31", "--to", "2027-03-01"]) == 1


def test_merged_reminders_that_do_not_fit_one_message_are_packed_into_several(storage):
    for i in range(20):
        event(
            storage,
            title=f"第{i}场<座谈>",
            date="2027-03-10",
            audience="常委",
            notes="请准备发言材料 & 书面意见。" * 12,
        )
    found = due(storage, rules("event_days_before"), at(2027, 3, 7, 0), at(2027, 3, 7, 12))
    messages = merge(found)
    assert len(messages) > 1 and all(m.telegram_id == 5001 for m in messages)
    assert sorted(r.key for m in messages for r in m.reminders) == sorted(r.key for r in found)
    assert all(utf16_len(html.escape(m.text, quote=False)) <= 4096 for m in messages)
    assert len({m.outbox_id for m in messages}) == len(messages)


def test_the_skip_digest_always_fits_one_message():
    skips = [
        SimpleNamespace(reason="unbound", recipient_name=f"委员{i}", summary="📋 年度履职提醒（截至 2027-09-01）")
        for i in range(400)
    ] + [SimpleNamespace(reason="late", recipient_name="张三", summary="📅 活动提醒：3天后")]
    text = skip_digest_text(skips)
    assert utf16_len(html.escape(text, quote=False)) <= 4096
    assert text.startswith("以下 401 条提醒未能发出：") and "条未列出" in text and "cppcc-bot reminders skipped" in text
