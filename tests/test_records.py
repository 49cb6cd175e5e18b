"""bot/people/records.py and bot/people/progress.py: records, proposal lifecycle, imports and progress."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date, timedelta

import openpyxl
import pytest
from people_support import ADMIN, GUEST, NOW, dump, member_caller, member_id, run_cli, seeded

from bot.config import ConfigError
from bot.csvfile import ImportProblems
from bot.dates import add_months, parse_date
from bot.people.progress import format_progress, general_rule_text, member_progress
from bot.people.records import (
    RecordError,
    accept_proposal,
    add_record,
    assign_proposal,
    correct_record,
    import_records,
    list_records,
    remove_record,
    reply_limit_months,
    reply_proposal,
)
from bot.people.roles import CLI_CALLER, PermissionDenied
from bot.people.statistics import duty_statistics, statistics_csv, statistics_xlsx
from bot.plan.model import default_plan
from bot.plan.term import TermSettings, load_term_settings

TODAY = NOW.date()
TERM = TermSettings(date(2022, 1, 1), 5)

# ---- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2022, 11, 30), 3, date(2023, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 8, 31), 1, date(2024, 9, 30)),
        (date(2024, 10, 15), 3, date(2025, 1, 15)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 1, 15), -12, date(2023, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024.03.05", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("２０２４年３月５日", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("2024-02-30", None),
        ("3月5日", None),
        ("昨天", None),
        ("", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


# ---- adding records ------------------------------------------------------------------------------


def test_member_adds_own_record_dated_today_by_default(tmp_path):
    storage = seeded(tmp_path)
    zhang = member_caller(storage, "张三")
    record = add_record(storage, zhang, "社情民意信息", "  关于路灯的建议  ", now=NOW)
    assert (record.kind, record.title, record.date, record.year) == ("社情民意", "关于路灯的建议", TODAY, 2024)
    assert (record.member_id, record.source, record.created_by, record.status) == (
        zhang.member_id,
        "self",
        "1001",
        None,
    )
    assert record.created_at == "2024-06-15T10:00:00+08:00"
    assert storage.audit_entries("add_record")[0].detail == {"record_id": record.id, "member_id": zhang.member_id}


@pytest.mark.parametrize(
    ("typed", "kind"),
    [("提案", "提案"), ("会议", "活动"), ("视察", "活动"), ("调研", "活动"), ("协商", "活动"), ("轮训", "培训")],
)
def test_kind_synonyms(tmp_path, typed, kind):
    storage = seeded(tmp_path)
    assert add_record(storage, member_caller(storage, "张三"), typed, "标题", "2024-01-02", now=NOW).kind == kind


@pytest.mark.parametrize(
    ("kind", "title", "day", "message"),
    [
        ("建议", "标题", None, "无法识别的记录类型“建议”"),
        ("提案", "   ", None, "标题不能为空"),
        ("提案", "长" * 201, None, "标题过长"),
        ("提案", "标题", "2024-06-16", "晚于今天"),
        ("提案", "标题", "六月的某天", "无法识别，请写成 2024-03-05 或 3月5日 的形式"),
        ("提案", "标题", "2024-13-01", "无法识别"),
    ],
)
def test_invalid_records_are_refused_with_a_reason(tmp_path, kind, title, day, message):
    storage = seeded(tmp_path)
    before = dump(tmp_path / "data" / "cppcc.db")
    with pytest.raises(RecordError, match=message):
        add_record(storage, member_caller(storage, "张三"), kind, title, day, now=NOW)
    assert dump(tmp_path / "data" / "cppcc.db") == before


def test_sql_looking_title_is_stored_literally(tmp_path):
    storage = seeded(tmp_path)
    title = "x'); DROP TABLE records; --"
    record = add_record(storage, member_caller(storage, "张三"), "提案", title, now=NOW)
    assert storage.record(record.id).title == title
    assert "records" in storage.db.table_names()
    assert [r.title for r in storage.records_of(record.member_id)] == [title]


def test_members_record_only_for_themselves_secretaries_for_anyone(tmp_path):
    storage = seeded(tmp_path)
    zhang, li_id = member_caller(storage, "张三"), member_id(storage, "李四")
    with pytest.raises(PermissionDenied, match="只能登记本人"):
        add_record(storage, zhang, "提案", "代别人登记", member_id=li_id, now=NOW)
    with pytest.raises(PermissionDenied, match="/bind"):
        add_record(storage, GUEST, "提案", "标题", now=NOW)
    with pytest.raises(RecordError, match="请指定委员"):
        add_record(storage, ADMIN, "提案", "标题", now=NOW)
    record = add_record(storage, ADMIN, "活动", "视察", "2024-05-01", member_id=li_id, now=NOW)
    assert (record.member_id, record.source, record.created_by) == (li_id, "admin", "9001")
    with pytest.raises(RecordError, match="没有编号为 999 的委员"):
        add_record(storage, ADMIN, "活动", "视察", member_id=999, now=NOW)


def test_a_member_cannot_view_others_records(tmp_path):
    storage = seeded(tmp_path)
    zhang, li = member_caller(storage, "张三"), member_caller(storage, "李四", 1002)
    add_record(storage, li, "提案", "李四的提案", "2023-05-01", now=NOW)
    add_record(storage, li, "活动", "李四的视察", "2024-05-01", now=NOW)
    with pytest.raises(PermissionDenied, match="只能查看本人"):
        list_records(storage, zhang, li.member_id)
    assert list_records(storage, zhang) == []
    assert [r.title for r in list_records(storage, li)] == ["李四的提案", "李四的视察"]
    assert [r.title for r in list_records(storage, ADMIN, li.member_id, year=2024)] == ["李四的视察"]


def test_secretaries_correct_and_remove_records(tmp_path):
    storage = seeded(tmp_path)
    zhang = member_caller(storage, "张三")
    record = add_record(storage, zhang, "活动", "视察", "2024-05-01", now=NOW)
    with pytest.raises(PermissionDenied):
        correct_record(storage, zhang, record.id, title="改", now=NOW)
    with pytest.raises(PermissionDenied):
        remove_record(storage, zhang, record.id, now=NOW)
    fixed = correct_record(storage, ADMIN, record.id, kind="提案", title="关于修路的提案", date="2024/5/2", now=NOW)
    assert (fixed.kind, fixed.title, fixed.date, fixed.year, fixed.status) == (
        "提案",
        "关于修路的提案",
        date(2024, 5, 2),
        2024,
        "submitted",
    )
    assert storage.audit_entries("correct_record")[0].detail["before"]["title"] == "视察"
    removed = remove_record(storage, ADMIN, record.id, now=NOW)
    assert storage.record(record.id) is None
    assert storage.audit_entries("remove_record")[0].detail["record"]["title"] == removed.title == "关于修路的提案"
    with pytest.raises(RecordError, match="没有编号为"):
        remove_record(storage, ADMIN, record.id, now=NOW)


# ---- proposal lifecycle ---------------------------------------------------------------------------


def test_proposal_lifecycle_and_reply_due(tmp_path):
    storage = seeded(tmp_path)
    zhang = member_caller(storage, "张三")
    proposal = add_record(storage, zhang, "提案", "关于修路的提案", "2023-11-20", now=NOW)
    assert proposal.status == "submitted"
    assert reply_limit_months() == default_plan().setting("proposal_reply_limit").months == 3
    with pytest.raises(PermissionDenied):
        accept_proposal(storage, zhang, proposal.id, now=NOW)
    assert accept_proposal(storage, ADMIN, proposal.id, now=NOW).status == "accepted"
    with pytest.raises(RecordError, match="不能改为“已立案”"):
        accept_proposal(storage, ADMIN, proposal.id, now=NOW)
    with pytest.raises(RecordError, match="不能改为“已答复”"):
        reply_proposal(storage, ADMIN, proposal.id, now=NOW)
    with pytest.raises(RecordError, match="请填写承办单位"):
        assign_proposal(storage, ADMIN, proposal.id, [], "2023-11-30", now=NOW)
    with pytest.raises(RecordError, match="早于提案日期"):
        assign_proposal(storage, ADMIN, proposal.id, ["县委办"], "2023-11-01", now=NOW)
    assigned = assign_proposal(storage, ADMIN, proposal.id, ["县委办公室", "县供销合作社"], "2023-11-30", now=NOW)
    assert assigned.status == "assigned"
    assert assigned.units == ("party_office", "县供销合作社")
    assert (assigned.assigned_on, assigned.reply_due) == (date(2023, 11, 30), date(2024, 2, 29))
    with pytest.raises(RecordError, match="早于交办日期"):
        reply_proposal(storage, ADMIN, proposal.id, "2023-11-29", now=NOW)
    replied = reply_proposal(storage, ADMIN, proposal.id, "2024-02-01", now=NOW)
    assert (replied.status, replied.replied_on) == ("replied", date(2024, 2, 1))
    assert [e.detail["status"] for e in storage.audit_entries("proposal_status")] == ["accepted", "assigned", "replied"]


def test_only_proposals_have_a_lifecycle(tmp_path):
    storage = seeded(tmp_path)
    record = add_record(storage, member_caller(storage, "张三"), "活动", "视察", now=NOW)
    with pytest.raises(RecordError, match="只有提案"):
        accept_proposal(storage, ADMIN, record.id, now=NOW)


# ---- import from the proposal system ----------------------------------------------------------------

EXPORT = (
    "手机号,姓名,类型,标题,日期,状态,承办单位,交办日期,答复日期,备注\n"
    "13812345678,张三,提案,关于修路的提案,2024-01-10,已交办,县委办、县供销合作社,2024-01-20,,\n"
    ",李四,社情民意信息,关于路灯的信息,2024/2/1,,,,,\n"
    "137 0000 2222,,提案,关于教育的提案,2024年3月1日,已答复,县委办,2024-03-10,2024-05-01,\n"
    ",王五,调研,乡村调研,2024-04-01,,,,,\n"
)


def test_import_records_from_the_proposal_system(tmp_path):
    storage = seeded(tmp_path)
    summary = import_records(storage, CLI_CALLER, EXPORT.encode("gbk"), now=NOW)
    assert (summary.added, summary.updated, summary.unchanged) == (4, 0, 0)
    zhang = storage.records_of(member_id(storage, "张三"))
    assert [(r.kind, r.status, r.units, r.reply_due, r.source) for r in zhang] == [
        ("提案", "assigned", ("party_office", "县供销合作社"), date(2024, 4, 20), "import")
    ]
    (wang_proposal, wang_research) = storage.records_of(member_id(storage, "王五"))
    assert (wang_proposal.status, wang_proposal.replied_on) == ("replied", date(2024, 5, 1))
    assert (wang_research.kind, wang_research.status) == ("活动", None)

    again = import_records(storage, CLI_CALLER, EXPORT.encode(), now=NOW)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    progressed = EXPORT.replace(
        "已交办,县委办、县供销合作社,2024-01-20,", "已答复,县委办、县供销合作社,2024-01-20,2024-03-01"
    )
    later = import_records(storage, CLI_CALLER, progressed.encode(), now=NOW)
    assert (later.added, later.updated, later.unchanged) == (0, 1, 3)
    assert storage.records_of(member_id(storage, "张三"))[0].status == "replied"


def test_record_import_reports_every_problem_and_changes_nothing(tmp_path):
    storage = seeded(tmp_path)
    import_records(storage, CLI_CALLER, "姓名,类型,标题,日期\n张三,提案,已有的提案,2024-01-01\n".encode(), now=NOW)
    storage.insert_person("member", {"name": "李四", "phone": "13311110000"}, NOW)  # a second 李四
    before = dump(tmp_path / "data" / "cppcc.db")
    export = (
        "姓名,手机号,类型,标题,日期,状态,承办单位,交办日期,答复日期\n"  # 1
        "赵钱孙,,提案,甲,2024-01-01,,,,\n"  # 2 unknown member
        "李四,,提案,乙,2024-01-01,,,,\n"  # 3 ambiguous name
        "王五,13812345678,提案,丙,2024-01-01,,,,\n"  # 4 phone belongs to 张三
        "张三,,建议,丁,2024-01-01,,,,\n"  # 5 unknown kind
        "张三,,提案,戊,2024-07-01,,,,\n"  # 6 future date
        "张三,,提案,己,2024-01-01,已交办,,2024-01-05,\n"  # 7 assigned without units
        "张三,,活动,庚,2024-01-01,已交办,县委办,2024-01-05,\n"  # 8 status on an activity
        "张三,,提案,辛,2024-01-01,已答复,县委办,2024-01-05,\n"  # 9 replied without date
        "张三,,提案,壬,2024-01-01,在办,,,\n"  # 10 unknown status
        "张三,,提案,,2024-01-01,,,,\n"  # 11 empty title
        "张三,,提案,癸,,,,,\n"  # 12 empty date
        "张三,,提案,子,2024-01-01,,,,\n"  # 13 fine
        "张三,,提案,子,2024-01-01,,,,\n"  # 14 duplicate of 13
        "张三,,提案,丑,2024-01-01\n"  # 15 wrong field count
    )
    with pytest.raises(ImportProblems) as caught:
        import_records(storage, CLI_CALLER, export.encode(), now=NOW)
    assert caught.value.problems == [
        "第2行：名册中没有名为“赵钱孙”的委员",
        "第3行：名册中有 2 位委员名为“李四”，请填写手机号",
        "第4行：手机号 13812345678 属于 张三，与姓名“王五”不符",
        "第5行：无法识别的记录类型“建议”，可用：提案、社情民意、活动、培训",
        "第6行：日期 2024-07-01 晚于今天，不能登记尚未发生的事",
        "第7行：状态为“已交办”时需要填写承办单位",
        "第8行：只有提案可以填写状态、承办单位、交办日期、答复日期",
        "第9行：状态为“已答复”时需要填写答复日期",
        "第10行：状态“在办”无法识别，可用：已提交、已立案、已交办、已答复",
        "第11行：标题不能为空",
        "第12行：日期为空",
        "第14行：与第13行重复",
        "第15行：有 5 个字段，表头有 9 列（可能有多余的逗号或不成对的引号）",
    ]
    assert dump(tmp_path / "data" / "cppcc.db") == before


def test_record_import_needs_a_way_to_identify_members(tmp_path):
    storage = seeded(tmp_path)
    with pytest.raises(ImportProblems, match="需要“姓名”或“手机号”列"):
        import_records(storage, CLI_CALLER, "类型,标题,日期\n提案,甲,2024-01-01\n".encode(), now=NOW)
    with pytest.raises(PermissionDenied):
        import_records(storage, member_caller(storage, "张三"), EXPORT.encode(), now=NOW)


# ---- progress -------------------------------------------------------------------------------------------


def _history(storage):
    zhang = member_caller(storage, "张三")
    for kind, title, day in [
        ("提案", "关于修路的提案", "2024-01-10"),
        ("活动", "协商会议", "2024-03-01"),
        ("活动", "视察", "2024-04-01"),
        ("社情民意", "去年的信息", "2023-12-31"),
        ("培训", "2022年轮训", "2022-05-01"),
        ("培训", "上届培训", "2021-05-01"),
    ]:
        add_record(storage, zhang, kind, title, day, now=NOW)
    (proposal,) = [r for r in storage.records_of(zhang.member_id) if r.kind == "提案"]
    assign_proposal(storage, ADMIN, proposal.id, ["县委办"], "2024-01-20", now=NOW)
    return zhang


def test_member_progress_counts_the_year_and_training_within_the_term(tmp_path):
    storage = seeded(tmp_path)
    zhang = _history(storage)
    progress = member_progress(storage, zhang.member_id, 2024, TODAY, term_settings=TERM)
    assert [(r.record_kind, r.period, r.required, r.done, r.met) for r in progress.requirements] == [
        ("提案", "year", 1, 1, True),
        ("社情民意", "year", 1, 0, False),
        ("活动", "year", 1, 2, True),
        ("培训", "term", 1, 1, True),
    ]
    assert (progress.term.start, progress.term.end) == (date(2022, 1, 1), date(2027, 1, 1))
    (line,) = progress.proposals
    assert (line.status, line.units, line.reply_due, line.overdue) == ("assigned", ("县委办",), date(2024, 4, 20), True)
    in_2023 = member_progress(storage, zhang.member_id, 2023, TODAY, term_settings=TERM)
    assert [r.done for r in in_2023.requirements] == [0, 1, 0, 1]
    next_term = member_progress(storage, zhang.member_id, 2027, date(2027, 2, 1), term_settings=TERM)
    assert next_term.requirements[-1].done == 0


def test_format_progress_for_a_phone_screen(tmp_path):
    storage = seeded(tmp_path)
    zhang = _history(storage)
    text = format_progress(member_progress(storage, zhang.member_id, 2024, TODAY, term_settings=TERM))
    assert text.splitlines() == [
        "张三 · 2024年履职情况",
        "提案 1/1 ✅",
        "社情民意 0/1 ❗",
        "会议或视察调研 2/1 ✅",
        "培训（本届） 1/1 ✅",
        "提案办理：",
        "·《关于修路的提案》已交办：县委办，答复期限 2024-04-20，已超期",
        "下一步：今年还需反映 1 条社情民意信息。",
    ]
    li = member_progress(storage, member_id(storage, "李四"), 2023, TODAY, term_settings=TERM)
    assert format_progress(li).splitlines()[-1] == (
        "下一步：2023年还需提交 1 份提案；2023年还需反映 1 条社情民意信息；"
        "2023年还需参加 1 次协商议政会议或视察考察调研活动；本届还需参加 1 次委员培训（轮训）。"
    )
    add_record(storage, zhang, "社情民意", "补上", "2024-06-01", now=NOW)
    done = format_progress(member_progress(storage, zhang.member_id, 2024, TODAY, term_settings=TERM))
    assert done.splitlines()[-1] == "2024年各项履职要求均已完成，谢谢您的付出！"


def test_general_rule_text_explains_33_and_binding():
    text = general_rule_text()
    assert "（33）" in text and "（32）" in text
    assert "提交 1 份提案" in text and "反映 1 条社情民意信息" in text
    assert "/start" in text and "/bind" in text


def test_duty_statistics_filter_and_export_the_same_columns_as_csv_and_xlsx(tmp_path):
    storage = seeded(tmp_path)
    _history(storage)
    add_record(storage, member_caller(storage, "王五"), "提案", "王五的提案", "2024-02-01", now=NOW)
    stats = duty_statistics(storage, 2024, today=TODAY, term_settings=TERM)
    assert [row.member.name for row in stats.rows] == ["张三", "李四", "王五"]
    committee = duty_statistics(storage, 2024, committee="提案委", today=TODAY, term_settings=TERM)
    assert [row.member.name for row in committee.rows] == ["张三", "王五"]
    assert [r.member.name for r in duty_statistics(storage, 2024, township="立岗镇", today=TODAY).rows] == ["李四"]
    assert duty_statistics(storage, 2024, sector="无此界别", today=TODAY).rows == []
    table = list(csv.reader(io.StringIO(statistics_csv(stats))))
    book = openpyxl.load_workbook(io.BytesIO(statistics_xlsx(stats)))
    sheet = [[c.value for c in row] for row in book["履职统计"].iter_rows()]
    assert table[0] == sheet[0]  # one definition of the columns for both formats
    assert table[0] == [
        "姓名", "界别", "专委会", "乡镇街道", "提案", "社情民意", "会议或视察调研", "培训",
        "联名提案", "应出席", "出席", "请假", "未请假缺席", "出勤率", "全部达标", "一项未完成", "未完成项",
    ]  # fmt: skip
    assert table[1] == ["张三", "经济界", "提案委", "习岗镇", "1", "0", "2", "0"] + ["0"] * 5 + ["", "", "", "社情民意"]
    assert table[2][-3:] == ["", "是", "提案、社情民意、会议或视察调研、培训（本届）"]
    assert [len(row) for row in table] == [len(row) for row in sheet] == [17] * 4
    # attendance: 1 of 2 meetings, one absence without leave → 50% in both formats
    met = replace(stats.rows[0], attended=1, absent=1)
    one = replace(stats, rows=[met])
    assert list(csv.reader(io.StringIO(statistics_csv(one))))[1][9:14] == ["2", "1", "0", "1", "50%"]
    cells = next(openpyxl.load_workbook(io.BytesIO(statistics_xlsx(one)))["履职统计"].iter_rows(min_row=2))
    assert [c.value for c in cells][9:14] == [2, 1, 0, 1, 0.5] and cells[13].number_format == "0%"


def test_term_settings_file_is_validated(tmp_path):
    assert load_term_settings().term_years >= 1
    bad = tmp_path / "settings.json"
    for data, message in [
        ({"version": 1, "term_start": "2022-13-01", "term_years": 5}, "term_start"),
        ({"version": 1, "term_start": "2022-01-01", "term_years": 0}, "term_years"),
        ({"version": 1, "term_start": "2022-01-01", "term_years": "5"}, "term_years"),
        ({"version": 2, "term_start": "2022-01-01", "term_years": 5}, "version"),
    ]:
        bad.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_term_settings(bad)
    with pytest.raises(ConfigError, match="找不到"):
        load_term_settings(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (date(2022, 1, 1), date(2022, 1, 1)),
        (date(2026, 12, 31), date(2022, 1, 1)),
        (date(2027, 1, 1), date(2027, 1, 1)),
        (date(2021, 12, 31), date(2017, 1, 1)),
    ],
)
def test_term_containing_a_day(day, start):
    term = TERM.term_on(day)
    assert term.start == start and term.end == add_months(start, 60)
    assert term.start <= day < term.end
    assert TermSettings(date(2022, 1, 15), 5).term_on(date(2027, 1, 10)).start == date(2022, 1, 15)


def test_cli_records_import_and_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "data" / "cppcc.db"))
    seeded(tmp_path).close()
    export = tmp_path / "export.csv"
    export.write_bytes(EXPORT.encode("utf-8-sig"))
    assert run_cli(["records", "import", str(export), "--yes"]) == 0
    assert "新增 4 条" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes("姓名,类型,标题,日期\n无名氏,提案,甲,2024-01-01\n".encode())
    assert run_cli(["records", "import", str(bad), "--yes"]) == 1
    assert "第2行：名册中没有名为“无名氏”的委员" in capsys.readouterr().err
    assert run_cli(["progress", "--year", "2024", "--committee", "提案委"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2024年委员履职统计（2 人）") and "李四" not in out
    assert "一项也未完成，建议谈话提醒" in out
    assert run_cli(["progress", "--year", "2024", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and rows[0][0] == "姓名"


def test_progress_of_unknown_member_is_an_error(tmp_path):
    storage = seeded(tmp_path)
    with pytest.raises(ValueError, match="999"):
        member_progress(storage, 999, 2024, TODAY + timedelta(days=1))
