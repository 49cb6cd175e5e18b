"""Import error reports list the first 50 problems and the total (bot/csvfile.py)."""

from __future__ import annotations

import pytest

from bot.cli.main import main
from bot.csvfile import SHOWN_PROBLEMS, ImportProblems, Problems


def test_the_report_lists_the_first_problems_by_line_and_the_total():
    problems = Problems()
    for line in range(500, 1, -1):  # added out of order
        problems.add(line, f"问题{line}")
    with pytest.raises(ImportProblems) as caught:
        problems.raise_if_any()
    refused = caught.value
    assert refused.total == 499
    assert refused.problems == [f"第{line}行：问题{line}" for line in range(2, 2 + SHOWN_PROBLEMS)]
    heading, *listed, note = refused.report()
    assert heading == "导入未执行，文件中有 499 处问题："
    assert len(listed) == SHOWN_PROBLEMS == 50
    assert "只列出前 50 处" in note and "另有 449 处" in note


def test_a_short_report_has_no_note():
    refused = ImportProblems(["第2行：姓名为空", "第3行：手机号为空"])
    assert refused.total == 2
    assert refused.report() == ["导入未执行，文件中有 2 处问题：", "第2行：姓名为空", "第3行：手机号为空"]
    assert str(refused) == "\n".join(refused.report())


def test_an_import_of_100000_bad_rows_prints_a_short_report_and_changes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    roster = tmp_path / "bad.csv"
    rows = [f"委员{i},电话{i},经济界" for i in range(100_000)]
    roster.write_text("姓名,手机号,界别\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["members", "import", str(roster), "--yes"]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "错误：导入未执行，文件中有 100000 处问题："
    assert lines[1].startswith("  第2行：手机号“电话0”无效") and lines[50].startswith("  第51行：")
    assert "另有 99950 处未列出" in lines[51] and len(lines) == 52
    assert len(err.encode()) < 10_000  # was 3.5 MB
    assert main(["progress", "--format", "csv"]) == 0
    assert capsys.readouterr().out.count("\n") == 1  # the header only: nothing was imported
