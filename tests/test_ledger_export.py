"""The ledger export (bot/ledger/export.py) and the `cppcc-bot ledger` commands."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from openpyxl.cell.cell import MergedCell
from people_support import TZ

from bot import ledger
from bot.cli.main import main
from bot.ledger.export import HEADER, WIDTHS, export_ledger, line_count
from bot.people.identity import bind_by_contact
from bot.people.roles import CLI_CALLER, PermissionDenied, resolve_caller
from bot.people.roster import import_unit_contacts
from bot.plan.model import default_plan
from bot.storage import Storage

NOW = datetime(2027, 3, 10, 14, 5, tzinfo=TZ)
PLAN = default_plan()
SLOTS = [(task.number, unit_id) for task in PLAN.tasks for unit_id in task.unit_ids]
CONTACTS_CSV = "单位,姓名,手机号\n政协提案和委员联络委,孙八,13600001111\n统战部,钱七,13500004444\n"
LONG = "本季度组织委员集中培训1次，参训42人；" * 20


def open_xlsx(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


@pytest.fixture
def storage(tmp_path) -> Storage:
    storage = Storage(tmp_path / "cppcc.db", TZ)
    import_unit_contacts(storage, CLI_CALLER, CONTACTS_CSV.encode(), now=NOW)
    bind_by_contact(storage, 11, 11, "8613600001111", now=NOW)
    bind_by_contact(storage, 12, 12, "8613500004444", now=NOW)
    return storage


def filed(storage: Storage) -> None:
    proposal, united = resolve_caller(storage, 11, ()), resolve_caller(storage, 12, ())
    ledger.submit_report(storage, proposal, 33, "培训1次，参训42人\n视察1次", now=NOW)
    ledger.submit_report(storage, proposal, 3, "专委会协商1次", now=NOW + timedelta(days=1))
    ledger.submit_report(storage, united, 19, LONG[:900], now=NOW - timedelta(days=90))  # 2026Q4


def test_empty_quarter_xlsx_has_the_header_and_every_task_and_unit(storage):
    data, count = export_ledger(storage, CLI_CALLER, "xlsx", "2027Q1")
    sheet = open_xlsx(data)
    assert count == len(SLOTS) == sheet.max_row - 1
    assert [cell.value for cell in sheet[1]] == list(HEADER)
    assert all(cell.font.bold for cell in sheet[1])
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] is not None} == set(range(1, 46))
    units = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert units == [PLAN.unit(unit_id).short for _, unit_id in SLOTS]
    assert all(row[4] is None and row[5] is None for row in sheet.iter_rows(min_row=2, values_only=True))


def test_xlsx_is_ready_to_print(storage):
    sheet = open_xlsx(export_ledger(storage, CLI_CALLER, "xlsx", "2027Q1")[0])
    assert [sheet.column_dimensions[letter].width for letter in "ABCDEF"] == list(WIDTHS)
    assert sheet.freeze_panes == "A2" and sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0  # as many pages tall as needed
    assert "2027年第一季度" in sheet.oddHeader.center.text and "&P" in sheet.oddFooter.center.text
    body = [cell for row in sheet.iter_rows(min_row=2) for cell in row if not isinstance(cell, MergedCell)]
    assert len(body) > 3 * len(SLOTS) and all(cell.alignment.wrap_text for cell in body)
    assert all(cell.border.left.style == "thin" for cell in body)
    # The task's number, text and time limit are merged over its units' rows: (1) has two units.
    assert {"A2:A3", "B2:B3", "D2:D3"} <= {str(r) for r in sheet.merged_cells.ranges}
    merged_a = [r for r in sheet.merged_cells.ranges if r.min_col == 1]
    assert len(merged_a) == sum(len(task.unit_ids) > 1 for task in PLAN.tasks)


def test_xlsx_rows_carry_progress_dates_and_member_unit_marks(storage):
    filed(storage)
    rows = list(open_xlsx(export_ledger(storage, CLI_CALLER, "xlsx", "2027Q1")[0]).iter_rows(min_row=2))
    by_slot = dict(zip(SLOTS, rows, strict=True))
    proposal = by_slot[(33, "proposal_committee")]
    assert proposal[4].value == "培训1次，参训42人\n视察1次"
    assert proposal[5].value.date() == date(2027, 3, 10) and proposal[5].number_format == "yyyy-mm-dd"
    assert by_slot[(33, "cppcc_office")][4].value is None
    assert by_slot[(3, "cppcc_committees")][4].value == "【政协提案和委员联络委】专委会协商1次"
    assert by_slot[(19, "united_front_dept")][4].value is None  # filed last quarter
    latest = open_xlsx(export_ledger(storage, CLI_CALLER, "xlsx")[0]).iter_rows(min_row=2)
    everything = dict(zip(SLOTS, latest, strict=True))
    assert everything[(19, "united_front_dept")][4].value == LONG[:900]


def test_row_heights_fit_the_wrapped_text(storage):
    filed(storage)
    sheet = open_xlsx(export_ledger(storage, CLI_CALLER, "xlsx")[0])
    index = {slot: row for row, slot in enumerate(SLOTS, start=2)}
    long_row = sheet.row_dimensions[index[(19, "united_front_dept")]].height
    assert long_row >= line_count(LONG[:900], WIDTHS[4]) * 14 > 14 * 10
    for task in PLAN.tasks:  # the merged task text fits in the rows of its units together
        rows = [index[(task.number, unit_id)] for unit_id in task.unit_ids]
        assert sum(sheet.row_dimensions[r].height for r in rows) >= line_count(task.text, WIDTHS[1]) * 14


def test_line_count_counts_wide_characters_twice():
    assert line_count("", 10) == 1
    assert line_count("a" * 8, 10) == 1
    assert line_count("汉" * 8, 10) == 2
    assert line_count("一\n二\n三", 10) == 3


def test_csv_is_utf8_with_bom_and_one_row_per_task_and_unit(storage):
    filed(storage)
    data, count = export_ledger(storage, CLI_CALLER, "csv", "2027Q1")
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(HEADER) and len(rows) - 1 == count == len(SLOTS)
    by_slot = dict(zip(SLOTS, rows[1:], strict=True))
    assert by_slot[(33, "proposal_committee")][4:] == ["培训1次，参训42人\n视察1次", "2027-03-10"]
    assert by_slot[(45, "finance_bureau")] == ["45", PLAN.task(45).text, "财政局", "长期坚持", "", ""]


def test_export_is_for_secretaries(storage):
    with pytest.raises(PermissionDenied):
        export_ledger(storage, resolve_caller(storage, 11, ()), "csv")


# ---- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path, monkeypatch, storage):
    filed(storage)
    storage.close()
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_export_writes_both_formats(cli_db, capsys):
    assert main(["ledger", "export", "--quarter", "2027Q1", "--format", "xlsx", "-o", "q1.xlsx"]) == 0
    assert f"{len(SLOTS)} 行" in capsys.readouterr().out
    assert open_xlsx((cli_db / "q1.xlsx").read_bytes())["A1"].value == "序号"
    assert main(["ledger", "export", "--format", "csv"]) == 0
    (written,) = cli_db.glob("ledger-*.csv")
    assert written.read_bytes().startswith(b"\xef\xbb\xbf\xe5\xba\x8f\xe5\x8f\xb7")  # BOM + 序号


def test_cli_export_to_stdout(cli_db, capsysbinary):
    assert main(["ledger", "export", "--format", "csv", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out.decode("utf-8-sig").startswith("序号,任务内容")


def test_cli_refuses_a_bad_quarter(cli_db, capsys):
    assert main(["ledger", "export", "--quarter", "2027Q5"]) == 1
    assert "2027Q1" in capsys.readouterr().err
    assert not list(cli_db.glob("ledger-*"))


def test_cli_show_silent_publish_hide(cli_db, capsys):
    assert main(["ledger", "show", "--quarter", "2027Q1"]) == 0
    assert "有进展的 2 项" in capsys.readouterr().out
    assert main(["ledger", "show", "33"]) == 0
    assert "培训1次" in capsys.readouterr().out
    assert main(["ledger", "silent", "--quarter", "2027Q1"]) == 0
    assert "· 统战部：（19）（30）（37）" in capsys.readouterr().out
    assert main(["ledger", "publish", "提案委"]) == 0
    assert "政协提案和委员联络委" in capsys.readouterr().out
    with Storage(cli_db / "cppcc.db", TZ) as storage:
        assert storage.public_units() == {"proposal_committee"}
    assert main(["ledger", "hide", "提案委"]) == 0
    assert main(["ledger", "publish", "不存在局"]) == 1
    assert "没有找到单位" in capsys.readouterr().err
    with Storage(cli_db / "cppcc.db", TZ) as storage:
        assert storage.public_units() == set()
