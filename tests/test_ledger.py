"""The task ledger core (bot/ledger.py) and its storage: reporting, edits, slots, overview, visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from people_support import MEMBERS_CSV, TZ, open_storage

from bot import ledger
from bot.ledger import LedgerError, Quarter, parse_quarter
from bot.people.identity import bind_by_contact
from bot.people.roles import CLI_CALLER, Caller, PermissionDenied, resolve_caller
from bot.people.roster import import_members, import_unit_contacts
from bot.plan.model import default_plan
from bot.storage import Storage, schema_version
from bot.storage.ledger import Attachment

NOW = datetime(2027, 3, 10, 14, 5, tzinfo=TZ)
PLAN = default_plan()
CONTACTS_CSV = (
    "单位,姓名,手机号\n"
    "政协提案和委员联络委,孙八,13600001111\n"
    "统战部,钱七,13500004444\n"
    "统战部,周九,13500005555\n"
    "政协办,吴十,13700006666\n"
)
PROPOSAL, UNITED, UNITED2, OFFICE, MEMBER = 11, 12, 13, 14, 21


@pytest.fixture
def storage(tmp_path) -> Storage:
    storage = open_storage(tmp_path)
    import_unit_contacts(storage, CLI_CALLER, CONTACTS_CSV.encode(), now=NOW)
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=NOW)
    for telegram_id, phone in (
        (PROPOSAL, "13600001111"),
        (UNITED, "13500004444"),
        (UNITED2, "13500005555"),
        (OFFICE, "13700006666"),
        (MEMBER, "13812345678"),
    ):
        bind_by_contact(storage, telegram_id, telegram_id, "86" + phone, now=NOW)  # as Telegram sends it
    return storage


def who(storage: Storage, telegram_id: int) -> Caller:
    return resolve_caller(storage, telegram_id, ())


def report(storage, telegram_id, number, text="本季度组织委员集中培训1次，参训42人", now=NOW, **kwargs):
    return ledger.submit_report(storage, who(storage, telegram_id), number, text, now=now, **kwargs)


# ---- quarters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027Q1", Quarter(2027, 1)),
        ("2027q4", Quarter(2027, 4)),
        ("2027-Q2", Quarter(2027, 2)),
        (" 2027 Q3 ", Quarter(2027, 3)),
        ("２０２７Ｑ２", Quarter(2027, 2)),
        ("2027年第三季度", Quarter(2027, 3)),
        ("2027年1季度", Quarter(2027, 1)),
    ],
)
def test_quarters_are_parsed(text, expected):
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("text", ["", "2027", "2027Q0", "2027Q5", "1999Q1", "Q1", "27Q1", "2027Q1x", "二〇二七Q1"])
def test_bad_quarters_are_refused_with_the_expected_form(text):
    with pytest.raises(LedgerError, match="2027Q1"):
        parse_quarter(text)


def test_quarter_arithmetic():
    q1 = Quarter(2027, 1)
    assert (q1.code, q1.label, str(q1)) == ("2027Q1", "2027年第一季度", "2027Q1")
    assert (q1.start, q1.end, q1.last_day) == (date(2027, 1, 1), date(2027, 4, 1), date(2027, 3, 31))
    assert q1.day_of_last_month(20) == date(2027, 3, 20)
    assert q1.previous() == Quarter(2026, 4) and Quarter(2026, 4).next() == q1
    assert Quarter(2027, 4).end == date(2028, 1, 1)
    assert date(2027, 3, 31) in q1 and date(2027, 4, 1) not in q1


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_is_in_exactly_its_quarter(day):
    quarter = Quarter.of(day)
    assert day in quarter and day not in quarter.next() and day not in quarter.previous()
    assert parse_quarter(quarter.code) == quarter


# ---- storage -------------------------------------------------------------------------------------------


def test_ledger_tables_are_created_and_versioned(tmp_path):
    storage = open_storage(tmp_path)
    assert {"ledger_reports", "ledger_report_versions", "ledger_visibility"} <= set(storage.db.table_names())
    assert schema_version(storage.db, "ledger") == 1
    storage.close()
    assert schema_version(open_storage(tmp_path).db, "ledger") == 1


# ---- reporting -------------------------------------------------------------------------------------------


def test_a_report_is_dated_attributed_and_counted_in_its_quarter(storage):
    filed = report(storage, PROPOSAL, 33)
    stored = storage.ledger_report(filed.id)
    assert (stored.task, stored.unit_id, stored.contact_name, stored.telegram_id) == (
        33,
        "proposal_committee",
        "孙八",
        PROPOSAL,
    )
    assert stored.quarter == "2027Q1" and stored.created_at == NOW and stored.edits == 0
    receipt = ledger.format_receipt(stored, PLAN, TZ)
    assert "第（33）项" in receipt and "孙八" in receipt and "2027年第一季度" in receipt
    assert "2027-03-11 14:05 前" in receipt


def test_the_quarter_follows_the_local_date(storage):
    late_evening_utc = datetime(2027, 3, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 April in Shanghai
    assert report(storage, UNITED, 19, now=late_evening_utc).quarter == "2027Q2"


def test_text_is_trimmed_and_kept_with_line_breaks(storage):
    filed = report(storage, UNITED, 19, "  第一条\n第二条\x00  ")
    assert filed.text == "第一条\n第二条"


def test_attachment_is_kept(storage):
    filed = report(storage, UNITED, 19, attachment=Attachment("document", "FILE1", "总结.pdf"))
    assert storage.ledger_report(filed.id).attachment == Attachment("document", "FILE1", "总结.pdf")


def test_report_on_another_units_task_is_refused_naming_its_units(storage):
    with pytest.raises(LedgerError) as refused:
        report(storage, UNITED, 45)
    assert "财政局" in refused.value.message and "统战部不在其中" in refused.value.message
    assert "（19）（30）（37）" in refused.value.message  # what 统战部 may report on instead
    with pytest.raises(LedgerError, match="政协办、政协提案和委员联络委"):
        report(storage, UNITED, 33)
    assert storage.ledger_reports() == []


@pytest.mark.parametrize("text", ["", "   ", "\u3000\n\t", "\x00\x01"])
def test_empty_reports_are_refused(storage, text):
    with pytest.raises(LedgerError, match="不能为空"):
        report(storage, PROPOSAL, 33, text)


def test_long_reports_are_refused_with_the_limit_and_the_length(storage):
    with pytest.raises(LedgerError) as refused:
        report(storage, PROPOSAL, 33, "进" * 4000)
    assert "1000" in refused.value.message and "4000" in refused.value.message
    with pytest.raises(LedgerError, match="1001"):
        report(storage, PROPOSAL, 33, "进" * 1001)
    assert len(report(storage, PROPOSAL, 33, "进" * 1000).text) == 1000


@pytest.mark.parametrize("number", [0, 46, 99, 2027])
def test_nonexistent_task_numbers_are_refused(storage, number):
    with pytest.raises(LedgerError, match=f"没有第（{number}）项"):
        report(storage, PROPOSAL, number)


def test_only_unit_contacts_report(storage):
    with pytest.raises(PermissionDenied):
        report(storage, MEMBER, 33)
    with pytest.raises(PermissionDenied, match="验证身份"):
        ledger.submit_report(storage, Caller(999, None, "guest"), 33, "x", now=NOW)
    with pytest.raises(PermissionDenied):
        ledger.submit_report(storage, CLI_CALLER, 33, "x", now=NOW)
    assert [e.detail["action"] for e in storage.audit_entries("denied")] == ["report_task_progress"] * 3


def test_a_member_unit_may_report_on_its_collective_units_tasks(storage):
    # 政协提案和委员联络委 is one of 政协各专门委员会, which is responsible for (3) with 政协办.
    assert 3 in ledger.reportable_tasks(PLAN, "proposal_committee")
    filed = report(storage, PROPOSAL, 3, "专委会开展协商1次")
    rows = {row.unit.id: row for row in ledger.slots(storage, "2027Q1", task=3, plan=PLAN)}
    assert rows["cppcc_committees"].reports == (filed,)
    assert rows["cppcc_office"].reports == ()
    assert ledger.report_line(filed, rows["cppcc_committees"].unit, PLAN) == "【政协提案和委员联络委】专委会开展协商1次"


# ---- edits -------------------------------------------------------------------------------------------------


def test_the_author_edits_within_24_hours_and_history_is_kept(storage):
    filed = report(storage, UNITED, 19, "初稿")
    first = ledger.edit_report(storage, who(storage, UNITED), filed.id, "第二稿", now=NOW + timedelta(hours=1))
    second = ledger.edit_report(storage, who(storage, UNITED), filed.id, "定稿", now=NOW + timedelta(hours=23))
    assert (first.edits, second.edits, second.text) == (1, 2, "定稿")
    assert second.created_at == NOW and second.updated_at == NOW + timedelta(hours=23)
    versions = storage.ledger_versions(filed.id)
    assert [v.text for v in versions] == ["初稿", "第二稿"]
    assert [v.written_at for v in versions] == [NOW, NOW + timedelta(hours=1)]
    assert versions[1].replaced_at == NOW + timedelta(hours=23) and versions[1].replaced_by == str(UNITED)


def test_edits_after_24_hours_are_refused_with_the_filing_time(storage):
    filed = report(storage, UNITED, 19, "初稿")
    with pytest.raises(LedgerError) as refused:
        ledger.edit_report(storage, who(storage, UNITED), filed.id, "晚了", now=NOW + timedelta(hours=24))
    assert "2027-03-10 14:05" in refused.value.message and "24 小时" in refused.value.message
    assert storage.ledger_report(filed.id).text == "初稿" and storage.ledger_versions(filed.id) == []


def test_only_the_author_edits(storage):
    filed = report(storage, UNITED, 19, "初稿")
    with pytest.raises(LedgerError, match="只能修改本人"):
        ledger.edit_report(storage, who(storage, UNITED2), filed.id, "同单位的另一位联络员", now=NOW)
    with pytest.raises(PermissionDenied):
        ledger.edit_report(storage, who(storage, MEMBER), filed.id, "委员", now=NOW)
    with pytest.raises(LedgerError, match="#999"):
        ledger.edit_report(storage, who(storage, UNITED), 999, "不存在", now=NOW)


def test_edit_text_is_validated_like_a_new_report(storage):
    filed = report(storage, UNITED, 19, "初稿")
    with pytest.raises(LedgerError, match="不能为空"):
        ledger.edit_report(storage, who(storage, UNITED), filed.id, " ", now=NOW)
    with pytest.raises(LedgerError, match="1000"):
        ledger.edit_report(storage, who(storage, UNITED), filed.id, "长" * 4000, now=NOW)


def test_latest_own_report(storage):
    with pytest.raises(LedgerError, match="还没有填报"):
        ledger.latest_own_report(storage, who(storage, UNITED))
    report(storage, UNITED, 19, "旧", now=NOW)
    newest = report(storage, UNITED, 30, "新", now=NOW + timedelta(minutes=1))
    report(storage, UNITED2, 37, "别人的", now=NOW + timedelta(minutes=2))
    assert ledger.latest_own_report(storage, who(storage, UNITED)).id == newest.id


# ---- slots, a unit's tasks, the overview ----------------------------------------------------------------


def test_every_task_and_unit_is_a_slot_in_plan_order():
    rows = ledger.slots(Storage(":memory:", TZ), plan=PLAN)
    assert [(r.task.number, r.unit.id) for r in rows] == [(t.number, u) for t in PLAN.tasks for u in t.unit_ids]
    assert {r.task.number for r in rows} == set(range(1, 46))


def test_latest_report_per_unit_side_by_side(storage):
    report(storage, PROPOSAL, 33, "提案委第一次", now=NOW)
    newer = report(storage, PROPOSAL, 33, "提案委第二次", now=NOW + timedelta(days=1))
    office = report(storage, OFFICE, 33, "政协办", now=NOW)
    rows = ledger.slots(storage, task=33, plan=PLAN)
    assert [(r.unit.id, r.reports) for r in rows] == [("cppcc_office", (office,)), ("proposal_committee", (newer,))]


def test_quarter_filter_uses_the_filing_quarter(storage):
    old = report(storage, UNITED, 19, "上季度", now=NOW - timedelta(days=75))
    (row,) = [r for r in ledger.slots(storage, "2027Q1", task=19, plan=PLAN) if r.unit.id == "united_front_dept"]
    assert row.reports == ()
    (row,) = [r for r in ledger.slots(storage, "2026Q4", task=19, plan=PLAN) if r.unit.id == "united_front_dept"]
    assert row.reports == (old,)
    (row,) = [r for r in ledger.slots(storage, task=19, plan=PLAN) if r.unit.id == "united_front_dept"]
    assert row.reports == (old,)


def test_my_tasks_lists_own_and_collective_tasks_with_this_quarters_state(storage):
    report(storage, PROPOSAL, 33, now=NOW)
    report(storage, PROPOSAL, 5, now=NOW - timedelta(days=75))  # last quarter: not this one
    mine = ledger.my_tasks(storage, who(storage, PROPOSAL), now=NOW, plan=PLAN)
    assert mine.numbers[0] == 33 and set(mine.numbers) == set(ledger.reportable_tasks(PLAN, "proposal_committee"))
    assert [item.task.number for item in mine.tasks if item.reported] == [33]
    assert all(item.via.id == "cppcc_committees" for item in mine.tasks[1:])
    text = ledger.format_my_tasks(mine)
    assert "✅（33）" in text and "⬜（5）" in text and "作为政协各专门委员会之一" in text
    assert f"本季度已填报 1/{len(mine.tasks)} 项" in text
    with pytest.raises(PermissionDenied):
        ledger.my_tasks(storage, who(storage, MEMBER), now=NOW)


def test_overview_counts_tasks_per_area_and_names_silent_units(storage):
    report(storage, UNITED, 19, now=NOW)  # area 2
    report(storage, PROPOSAL, 3, now=NOW)  # area 1, fills 政协各专门委员会
    report(storage, OFFICE, 3, now=NOW)
    view = ledger.overview(storage, CLI_CALLER, "2027Q1", plan=PLAN)
    areas = {a.area.number: a for a in view.areas}
    assert (view.tasks, view.reported) == (45, 2)
    assert (areas[1].tasks, areas[1].reported, areas[2].reported, areas[3].reported) == (18, 1, 1, 0)
    silent_in_2 = {unit.id: numbers for unit, numbers in areas[2].silent}
    assert "united_front_dept" not in silent_in_2 and 19 in silent_in_2["organization_dept"]
    silent_in_1 = {unit.id: numbers for unit, numbers in areas[1].silent}
    assert 3 not in silent_in_1["cppcc_committees"] and 3 not in silent_in_1["cppcc_office"]
    text = ledger.format_overview(view)
    assert "2027年第一季度" in text and "有进展的 2 项" in text and "财政局（45）〔无联络员〕" in text
    assert "统战部（30）" in text and "政协各专门委员会（5）" in text
    with pytest.raises(PermissionDenied):
        ledger.overview(storage, who(storage, UNITED), "2027Q1")


def test_silent_units_for_the_reminders(storage):
    before = dict(ledger.silent_units(storage, "2027Q1", PLAN))
    assert before["united_front_dept"] == [19, 30, 37]
    assert before["finance_bureau"] == [45]
    assert set(before) == {u for t in PLAN.tasks for u in t.unit_ids}
    for number in (19, 30):
        report(storage, UNITED, number, now=NOW)
    report(storage, UNITED2, 37, now=NOW)
    report(storage, PROPOSAL, 5, now=NOW)
    after = dict(ledger.silent_units(storage, Quarter(2027, 1), PLAN))
    assert "united_front_dept" not in after
    assert 5 not in after["cppcc_committees"] and 6 in after["cppcc_committees"]
    assert dict(ledger.silent_units(storage, "2027Q2", PLAN)) == before  # nothing filed next quarter yet
    ids = [unit_id for unit_id, _ in ledger.silent_units(storage, "2027Q1", PLAN)]
    assert ids == [u for u in PLAN.catalogue.units if u in ids]  # catalogue order


def test_reporting_contacts_include_member_units(storage):
    assert [c.name for c in ledger.reporting_contacts(storage, "united_front_dept", PLAN)] == ["钱七", "周九"]
    assert [c.name for c in ledger.reporting_contacts(storage, "cppcc_committees", PLAN)] == ["孙八"]
    assert ledger.reporting_contacts(storage, "finance_bureau", PLAN) == []


def test_reminder_and_silent_list_texts(storage):
    text = ledger.unit_reminder_text("united_front_dept", [19, 30], "2027Q1", PLAN)
    assert "2027年第一季度将于 3月31日结束" in text and "统战部" in text and "（19）（30）" in text
    assert "/report" in text
    report(storage, UNITED, 19, now=NOW)
    listing = ledger.silent_units_text(storage, "2027Q1", PLAN)
    assert "· 统战部：（30）（37）\n" in listing and "· 财政局：（45）〔名单中无联络员〕" in listing


def test_task_detail_shows_units_side_by_side_and_history_with_versions(storage):
    filed = report(storage, PROPOSAL, 33, "初稿", now=NOW)
    ledger.edit_report(storage, who(storage, PROPOSAL), filed.id, "定稿", now=NOW + timedelta(hours=2))
    report(
        storage, OFFICE, 33, "政协办的进展", now=NOW + timedelta(days=1), attachment=Attachment("photo", "P", "照片")
    )
    text = ledger.task_detail(storage, CLI_CALLER, 33, plan=PLAN)
    assert "· 政协办（2027-03-11）：政协办的进展（附件：照片）〔未公开〕" in text
    assert "· 政协提案和委员联络委（2027-03-10）：定稿〔未公开〕" in text
    assert (
        "历史记录（共 2 条" in text and "（已修改 1 次）：定稿" in text and "修改前（2027-03-10 14:05）：初稿" in text
    )
    assert text.index("政协办的进展（附件") < text.index("#1 ")  # newest first in the history
    limited = ledger.task_detail(storage, CLI_CALLER, 33, history_limit=1, plan=PLAN)
    assert "另有 1 条更早的记录" in limited
    assert "历史记录：暂无" in ledger.task_detail(storage, CLI_CALLER, 33, "2026Q4", plan=PLAN)
    with pytest.raises(PermissionDenied):
        ledger.task_detail(storage, who(storage, PROPOSAL), 33)
    with pytest.raises(LedgerError, match="没有第（46）项"):
        ledger.task_detail(storage, CLI_CALLER, 46)


# ---- visibility and "（33）落实得怎么样" -----------------------------------------------------------------


def test_progress_answer_shows_only_what_the_caller_may_see(storage):
    report(storage, PROPOSAL, 33, "提案委的进展", now=NOW)
    report(storage, OFFICE, 33, "政协办的进展", now=NOW)
    member = who(storage, MEMBER)
    hidden = ledger.progress_answer(storage, member, 33, plan=PLAN)
    assert "暂未公开" in hidden and "进展：" not in hidden and "提案委的进展" not in hidden

    ledger.set_public(storage, CLI_CALLER, "提案委", True, now=NOW)
    shown = ledger.progress_answer(storage, member, 33, plan=PLAN)
    assert "· 政协提案和委员联络委（2027-03-10）：提案委的进展" in shown
    assert "政协办的进展" not in shown and "· 政协办：暂无公开的进展" in shown and "未公开" not in shown

    secretary = ledger.progress_answer(storage, CLI_CALLER, 33, plan=PLAN)
    assert "政协办的进展〔未公开〕" in secretary and "提案委的进展" in secretary
    own = ledger.progress_answer(storage, who(storage, OFFICE), 33, plan=PLAN)
    assert "政协办的进展〔未公开〕" in own
    in_group = ledger.progress_answer(storage, CLI_CALLER, 33, public_only=True, plan=PLAN)
    assert "政协办的进展" not in in_group and "提案委的进展" in in_group

    ledger.set_public(storage, CLI_CALLER, "政协提案和委员联络委", False, now=NOW)
    assert "提案委的进展" not in ledger.progress_answer(storage, member, 33, plan=PLAN)
    assert "没有第（50）项" in ledger.progress_answer(storage, member, 50, plan=PLAN)


def test_publishing_is_for_secretaries_audited_and_checks_the_unit(storage):
    unit = ledger.set_public(storage, CLI_CALLER, "统战部", True, now=NOW)
    assert unit.id == "united_front_dept" and storage.public_units() == {"united_front_dept"}
    assert storage.audit_entries("ledger_publish")[0].detail == {"unit_id": "united_front_dept"}
    ledger.set_public(storage, CLI_CALLER, "united_front_dept", False, now=NOW)
    assert storage.public_units() == set() and len(storage.audit_entries("ledger_hide")) == 1
    with pytest.raises(LedgerError, match="没有找到单位“不存在局”"):
        ledger.set_public(storage, CLI_CALLER, "不存在局", True, now=NOW)
    with pytest.raises(PermissionDenied):
        ledger.set_public(storage, who(storage, UNITED), "统战部", True, now=NOW)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("（33）落实得怎么样", 33),
        ("(33)落实得怎么样？", 33),
        ("33条进展", 33),
        ("第33项进展如何", 33),
        ("第三十三条落实情况", 33),
        ("任务33进度", 33),
        ("（45）完成得怎么样了", 45),
        ("第四十五項進展", 45),
        ("99条进展", 99),
    ],
)
def test_progress_questions_are_recognised(text, number):
    assert ledger.parse_progress_question(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "委员培训进展",
        "第3季度进展",
        "33",
        "（33）谁负责",
        "提案办理进度怎么样",
        "八项规定落实得怎么样",
        "",
        None,
        "进展" * 200,
    ],
)
def test_other_texts_are_not_progress_questions(text):
    assert ledger.parse_progress_question(text) is None


# ---- the /report command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", ledger.ReportCommand("choose")),
        ("33", ledger.ReportCommand("start", 33)),
        ("（33）", ledger.ReportCommand("start", 33)),
        ("33 本季度培训1次", ledger.ReportCommand("submit", 33, "本季度培训1次")),
        ("第33项：本季度\n第二行", ledger.ReportCommand("submit", 33, "本季度\n第二行")),
        ("３３　全角", ledger.ReportCommand("submit", 33, "全角")),
        ("edit 新内容", ledger.ReportCommand("edit", text="新内容")),
        ("修改", ledger.ReportCommand("edit")),
    ],
)
def test_report_command_forms(arguments, expected):
    assert ledger.parse_report_command(arguments) == expected


def test_report_command_without_a_task_number_explains_the_form():
    with pytest.raises(LedgerError, match="/report 33"):
        ledger.parse_report_command("本季度培训1次")
