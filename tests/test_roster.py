"""bot/people/roster.py and bot/csvfile.py: members and unit contacts import, all or nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from people_support import ADMIN, MEMBERS_CSV, NOW, UNITS_CSV, dump, member_caller, open_storage, run_cli, seeded

from bot.csvfile import ImportProblems
from bot.people.records import add_record
from bot.people.roles import CLI_CALLER, PermissionDenied
from bot.people.roster import ImportSummary, import_members, import_unit_contacts


def test_import_members_stores_normalised_fields(tmp_path):
    storage = open_storage(tmp_path)
    summary = import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=NOW)
    assert summary == ImportSummary(added=3)
    zhang, li, wang = storage.people("member")
    assert (zhang.name, zhang.phone, zhang.sector, zhang.committee, zhang.township, zhang.party) == (
        "张三",
        "+8613812345678",
        "经济界",
        "提案委",
        "习岗镇",
        "民盟",
    )
    assert zhang.is_standing and not li.is_standing and not wang.is_standing
    assert (li.phone, li.party, wang.phone) == ("+8613900001111", None, "+8613700002222")
    assert all(m.active for m in (zhang, li, wang))
    assert storage.audit_entries("import_members")[0].detail["added"] == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_import_accepts_utf8_bom_and_gbk(tmp_path, encoding):
    storage = open_storage(tmp_path)
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(encoding), now=NOW)
    assert [m.name for m in storage.people("member")] == ["张三", "李四", "王五"]
    assert storage.people("member")[0].sector == "经济界"


def test_column_order_is_free_extra_columns_ignored_and_names_tidied(tmp_path):
    storage = open_storage(tmp_path)
    csv = "备注,手机号,姓名,序号\n老委员,13812345678,张  三,1\n,13900001111, 阿依古丽·买买提 ,2\n"
    import_members(storage, CLI_CALLER, csv.encode(), now=NOW)
    assert [m.name for m in storage.people("member")] == ["张三", "阿依古丽·买买提"]
    assert storage.people("member")[0].sector is None


def test_unrecognised_encoding_is_refused(tmp_path):
    storage = open_storage(tmp_path)
    with pytest.raises(ImportProblems) as caught:
        import_members(storage, CLI_CALLER, MEMBERS_CSV.encode("utf-16"), now=NOW)
    assert caught.value.problems == ["无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "文件为空"),
        (b"\r\n  \r\n", "文件为空"),
        ("姓名,手机号\n".encode(), "文件中没有数据行"),
        ("姓名,界别\n张三,经济界\n".encode(), "第1行（表头）：缺少“手机号”列"),
        ("手机号,手机号,姓名\n13812345678,13812345678,张三\n".encode(), "第1行（表头）：“手机号”列出现了不止一次"),
    ],
)
def test_empty_or_headless_files_are_refused(tmp_path, content, problem):
    storage = open_storage(tmp_path)
    with pytest.raises(ImportProblems) as caught:
        import_members(storage, CLI_CALLER, content, now=NOW)
    assert problem in caught.value.problems


def test_every_problem_is_reported_with_its_line_and_nothing_changes(tmp_path):
    storage = seeded(tmp_path)
    before = dump(tmp_path / "data" / "cppcc.db")
    csv = (
        "姓名,手机号,是否常委\n"  # 1
        "张三,13812345678,是\n"  # 2
        ",13900001111,否\n"  # 3 empty name
        "王五,1380000,否\n"  # 4 malformed phone
        "赵六,138-1234-5678,否\n"  # 5 duplicate of line 2
        "孙七,13700009999,也许\n"  # 6 bad 是否常委
        "周八,13600008888\n"  # 7 too few fields
        "吴九,,否\n"  # 8 empty phone
        '"郑十,13500007777,否\n'  # 9 stray quote swallows the rest
        "冯十一,13400006666,否\n"
    )
    with pytest.raises(ImportProblems) as caught:
        import_members(storage, CLI_CALLER, csv.encode(), now=NOW)
    problems = caught.value.problems
    assert problems == [
        "第3行：姓名为空",
        "第4行：手机号“1380000”无效（应为11位大陆手机号）",
        "第5行：手机号 13812345678 与第2行重复",
        "第6行：是否常委“也许”无法识别（应填 是/否 或 √）",
        "第7行：有 2 个字段，表头有 3 列（可能有多余的逗号或不成对的引号）",
        "第8行：手机号为空",
        "第9行：引号不成对或位置不正确",
    ]
    assert dump(tmp_path / "data" / "cppcc.db") == before


def test_stray_quote_in_the_middle_of_a_field_is_reported(tmp_path):
    storage = open_storage(tmp_path)
    csv = '姓名,手机号\n张三,"13812345678"x\n李四,13900001111\n'
    with pytest.raises(ImportProblems) as caught:
        import_members(storage, CLI_CALLER, csv.encode(), now=NOW)
    assert caught.value.problems == ["第2行：引号不成对或位置不正确"]
    assert storage.people("member") == []


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    storage = seeded(tmp_path)
    first = [(m.id, m.updated_at) for m in storage.people("member")]
    summary = import_members(storage, CLI_CALLER, MEMBERS_CSV.encode("gbk"), now=NOW.replace(hour=12))
    assert summary == ImportSummary(unchanged=3)
    assert [(m.id, m.updated_at) for m in storage.people("member")] == first


def test_changed_rows_update_absent_members_become_inactive_and_keep_records(tmp_path):
    storage = seeded(tmp_path)
    zhang = member_caller(storage, "张三")
    add_record(storage, zhang, "提案", "关于修路的提案", "2024-03-01", now=NOW)
    csv = "姓名,手机号,界别\n张三,13812345678,经济界\n李四,13900001111,科技界\n"
    summary = import_members(storage, CLI_CALLER, csv.encode(), now=NOW)
    assert summary == ImportSummary(updated=1, unchanged=1, deactivated=1)
    li = storage.person_by_phone("member", "+8613900001111")
    assert li.sector == "科技界" and li.committee == "经济委"  # absent column left as it was
    assert not storage.person_by_phone("member", "+8613700002222").active

    summary = import_members(storage, CLI_CALLER, "姓名,手机号\n李四,13900001111\n".encode(), now=NOW)
    assert summary == ImportSummary(unchanged=1, deactivated=1)
    assert not storage.person("member", zhang.member_id).active
    assert [r.title for r in storage.records_of(zhang.member_id)] == ["关于修路的提案"]

    summary = import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=NOW)
    assert summary == ImportSummary(updated=1, reactivated=2)
    assert all(m.active for m in storage.people("member"))
    assert storage.person("member", zhang.member_id).id == zhang.member_id  # same row, not a new one


def test_only_secretaries_import(tmp_path):
    storage = seeded(tmp_path)
    with pytest.raises(PermissionDenied):
        import_members(storage, member_caller(storage, "张三"), MEMBERS_CSV.encode(), now=NOW)
    assert storage.audit_entries("denied")[0].detail == {"action": "manage_people", "role": "member"}


def test_unit_contacts_resolve_aliases(tmp_path):
    storage = open_storage(tmp_path)
    csv = "姓名,单位,手机号\n赵六,县委办公室,13600003333\n钱七,中共贺兰县委办公室,13500004444\n"
    summary = import_unit_contacts(storage, ADMIN, csv.encode("gbk"), now=NOW)
    assert summary == ImportSummary(added=2)
    assert [(c.name, c.unit_id) for c in storage.people("unit_contact")] == [
        ("赵六", "party_office"),
        ("钱七", "party_office"),
    ]
    assert import_unit_contacts(storage, ADMIN, csv.encode(), now=NOW) == ImportSummary(unchanged=2)


def test_unit_contact_problems_name_row_and_unit(tmp_path):
    storage = seeded(tmp_path)
    before = dump(tmp_path / "data" / "cppcc.db")
    csv = (
        "单位,姓名,手机号\n"
        "县委办,赵六,13600003333\n"
        "火星办,钱七,13500004444\n"
        ",孙八,13400005555\n"
        "县委办,李九,13600003333\n"
    )
    with pytest.raises(ImportProblems) as caught:
        import_unit_contacts(storage, CLI_CALLER, csv.encode(), now=NOW)
    assert caught.value.problems == [
        "第3行：未知单位“火星办”（请使用方案中的单位名称或常用简称）",
        "第4行：单位为空",
        "第5行：手机号 13600003333 与第2行重复",
    ]
    assert dump(tmp_path / "data" / "cppcc.db") == before


def test_unit_contacts_absent_from_new_list_become_inactive(tmp_path):
    storage = seeded(tmp_path)
    summary = import_unit_contacts(storage, CLI_CALLER, "单位,姓名,手机号\n县委办,赵六,13600003333\n".encode(), now=NOW)
    assert summary == ImportSummary(unchanged=1, deactivated=1)
    assert [c.name for c in storage.people("unit_contact", active=True)] == ["赵六"]


def test_cli_members_import_reports_every_problem_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cli" / "cppcc.db"))
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(MEMBERS_CSV.encode("gbk"))
    bad.write_bytes("姓名,手机号\n张三,123\n李四,\n".encode())
    assert run_cli(["members", "import", str(good), "--yes"]) == 0
    assert "新增 3 人" in capsys.readouterr().out
    before = dump(tmp_path / "cli" / "cppcc.db")
    assert run_cli(["members", "import", str(bad), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "2 处问题" in err and "第2行：手机号“123”无效" in err and "第3行：手机号为空" in err
    assert dump(tmp_path / "cli" / "cppcc.db") == before
    assert run_cli(["members", "import", str(tmp_path / "missing.csv")]) == 1
    assert "无法读取文件" in capsys.readouterr().err


def test_cli_units_import(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    path = tmp_path / "units.csv"
    path.write_bytes(UNITS_CSV.encode("utf-8-sig"))
    assert run_cli(["units", "import", str(path), "--yes"]) == 0
    assert "新增 2 人" in capsys.readouterr().out


# ---- office files, dry run, partial and full rosters ------------------------------------------


def _xlsx_roster(tmp_path, rows, name="名册.xlsx"):
    from office_files import xlsx

    path = tmp_path / name
    path.write_bytes(xlsx(rows))
    return path


def test_cli_without_yes_prints_the_dry_run_and_changes_nothing(tmp_path, monkeypatch, capsys):
    from office_files import roster_rows

    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cli" / "cppcc.db"))
    rows = roster_rows(4)
    rows[2][5] = "0951-1234567"  # a landline: that row is skipped, not the file
    rows[3][5] = 13800000000  # the same phone as the first row
    path = _xlsx_roster(tmp_path, rows)
    assert run_cli(["members", "import", str(path)]) == 0
    captured = capsys.readouterr()
    assert "委员名册预览（部分更新；第2行为表头，2 人可导入）" in captured.out
    assert "新增 2 人：委员0000、委员0003" in captured.out
    assert "跳过 2 行" in captured.out and "第4行：手机号“0951-1234567”无效" in captured.out
    assert "第5行：手机号 13800000000 与第3行重复" in captured.out
    assert "--yes" in captured.err and "--skip-bad" in captured.err
    assert run_cli(["progress", "--format", "csv"]) == 0
    assert capsys.readouterr().out.count("\n") == 1  # nothing imported
    assert run_cli(["members", "import", str(path), "--yes"]) == 1  # problems refuse the whole file
    assert "2 处问题" in capsys.readouterr().err
    assert run_cli(["members", "import", str(path), "--yes", "--skip-bad"]) == 0
    assert "新增 2 人" in capsys.readouterr().out


def test_a_partial_list_deactivates_nobody_unless_full_is_chosen(tmp_path):
    from office_files import roster_rows, xlsx

    from bot.people.roster import apply_roster, preview_roster

    storage = open_storage(tmp_path)
    import_members(storage, CLI_CALLER, xlsx(roster_rows(8)), now=NOW)
    partial = roster_rows(8)[:1] + [row for row in roster_rows(8)[1:] if row[7] == "文史委"]
    partial[1][6] = "科技界"
    preview = preview_roster(storage, CLI_CALLER, "member", xlsx(partial), "文史委.xlsx")
    text = preview.describe()
    assert "更新 1 人：委员0000（界别）" in text and "未变 1 人" in text
    assert "停用 0 人（这份名单只含专委会：文史委，名册中另有 6 人不在文件中，部分更新不停用任何人）" in text
    assert apply_roster(storage, CLI_CALLER, preview, now=NOW) == ImportSummary(updated=1, unchanged=1)
    assert len(storage.people("member", active=True)) == 8
    audit = storage.audit_entries("import_members")[-1].detail
    assert audit["full"] is False and len(audit["file_sha256"]) == 64 and audit["file"] == "文史委.xlsx"

    full = preview_roster(storage, CLI_CALLER, "member", xlsx(partial), full=True)
    assert "停用 6 人：委员0001、委员0002" in full.describe()
    assert apply_roster(storage, CLI_CALLER, full, now=NOW).deactivated == 6


def test_applying_recomputes_against_the_database(tmp_path):
    from bot.people.roster import apply_roster, preview_roster

    storage = open_storage(tmp_path)
    preview = preview_roster(storage, CLI_CALLER, "member", MEMBERS_CSV.encode())
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=NOW)  # someone else imported meanwhile
    assert apply_roster(storage, CLI_CALLER, preview, now=NOW) == ImportSummary(unchanged=3)


def test_standing_marks_and_two_numbers_in_one_cell(tmp_path):
    storage = open_storage(tmp_path)
    rows = [["姓名", "手机号码", "常委"], ["张三", "13812345678 / 0951-5012345", "√"], ["李四", "13900001111", ""]]
    import_members(storage, CLI_CALLER, _xlsx_roster(tmp_path, rows).read_bytes(), now=NOW)
    zhang, li = storage.people("member")
    assert zhang.phone == "+8613812345678" and zhang.is_standing and not li.is_standing


def test_unit_contacts_of_county_departments_the_plan_does_not_name(tmp_path):
    storage = open_storage(tmp_path)
    csv = "单位名称,联络员,联系电话\n教育体育局,赵六,13600003333\n住建局,钱七,13500004444\n"
    assert import_unit_contacts(storage, CLI_CALLER, csv.encode("gbk"), now=NOW) == ImportSummary(added=2)


def test_a_workbook_with_one_sheet_per_committee_says_which_sheets_were_not_read(tmp_path):
    import io

    import openpyxl

    from bot.people.roster import preview_roster

    book = openpyxl.Workbook()
    for index, committee in enumerate(("文史委", "提案委")):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = committee
        sheet.append(["姓名", "手机号码"])
        sheet.append([f"委员{index}", 13800000000 + index])
    out = io.BytesIO()
    book.save(out)
    preview = preview_roster(open_storage(tmp_path), CLI_CALLER, "member", out.getvalue(), "名册.xlsx")
    assert len(preview.incoming) == 1 and preview.unread_sheets == ("提案委",)
    assert "工作表“提案委”未读取" in preview.describe()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6),
            st.one_of(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(max_size=14)),
            st.sampled_from(["", "√", "是", "否", "常委", "也许"]),
        ),
        max_size=12,
    )
)
def test_any_roster_gives_a_dry_run_or_a_refusal_and_changes_nothing(tmp_path, rows):
    from bot.people.roster import preview_roster

    def cell(text: str) -> str:
        return '"' + text.replace('"', "") + '"'

    csv_rows = ["姓名,手机号码,是否常委", *(",".join(map(cell, row)) for row in rows)]
    storage = open_storage(tmp_path)
    try:
        preview = preview_roster(storage, CLI_CALLER, "member", "\n".join(csv_rows).encode(), "名册.csv")
    except ImportProblems as refused:
        assert refused.problems
    else:
        assert len(preview.incoming) + len({line for line, _ in preview.skipped}) <= len(rows)
        assert preview.describe()
    assert storage.people("member") == []
    storage.close()
