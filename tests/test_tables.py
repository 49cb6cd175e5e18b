"""bot/tables.py: office spreadsheets read tolerantly, unsafe files refused before reading."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from office_files import declared_huge, many_entries, renamed_zip, roster_rows, xlsx, zip_bomb

from bot.config import ConfigError
from bot.csvfile import ImportProblems
from bot.tables import MAX_BYTES, Headers, default_headers, open_table, read_rows


def refused(data: bytes, filename: str = "名册.xlsx") -> str:
    with pytest.raises(ImportProblems) as caught:
        open_table(data, filename).records(("姓名", "手机号"))
    return "\n".join(caught.value.problems)


def test_title_row_header_synonyms_and_excel_numbers():
    rows, problems = read_rows(xlsx(roster_rows(3)), ("姓名", "手机号"), filename="名册.xlsx")
    assert not problems
    assert [row.line for row in rows] == [3, 4, 5]  # row 1 the title, row 2 the header
    first = rows[0].values
    assert first["姓名"] == "委员0000" and first["手机号"] == "13800000000"  # a number, not 1.38e10
    assert first["专委会"] == "文史委" and first["是否常委"] == "√"
    assert "工作单位及职务" in first and "单位" not in first  # a workplace is not a unit column


def test_merged_cells_fill_down_and_section_rows_are_skipped():
    rows = [
        ["姓名", "手机号", "专委会"],
        ["张三", "13812345678", "文史委"],
        ["李四", "13900001111", None],
        ["二、提案委", None, None],
        ["王五", "13700002222", "提案委"],
    ]
    data = xlsx(rows, merges=("C3:C4", "A5:C5"))
    found, problems = read_rows(data, ("姓名", "手机号"))
    assert not problems
    assert [(r.line, r.get("姓名"), r.get("专委会")) for r in found] == [
        (3, "张三", "文史委"),
        (4, "李四", "文史委"),
        (6, "王五", "提案委"),
    ]


def test_a_blank_row_inside_a_merged_cell_stays_blank():
    rows = [
        ["姓名", "手机号", "界别"],
        ["张三", "13812345678", "教育界"],
        [None, None, None],
        ["王五", "13700002222", None],
    ]
    found, problems = read_rows(xlsx(rows, merges=("C3:C5",)), ("姓名", "手机号"))
    assert not problems
    assert [(r.line, r.get("姓名"), r.get("界别")) for r in found] == [(3, "张三", "教育界"), (5, "王五", "教育界")]


def test_blank_rows_notes_repeated_headers_full_width_and_spaces():
    rows = [
        ["说明：请按表填写", None],
        [None, None],
        ["姓  名：", "手机号码（必填）"],
        ["  张三 ", "１３８１２３４５６７８"],
        [None, None],
        ["姓  名：", "手机号码（必填）"],
        ["ＬＩ　Ｓｉ", "13900001111"],
    ]
    found, problems = read_rows(xlsx(rows, title=None), ("姓名", "手机号"))
    assert not problems
    assert [(r.line, r.get("姓名"), r.get("手机号")) for r in found] == [
        (4, "张三", "13812345678"),
        (7, "LI Si", "13900001111"),
    ]


def test_excel_dates_are_written_as_dates():
    rows = [
        ["类型", "标题", "日期", "姓名"],
        ["提案", "修路", datetime(2027, 3, 5), "张三"],
        ["提案", "x", date(2027, 1, 2), "李四"],
    ]
    found, _ = read_rows(xlsx(rows, title=None), ("类型", "标题", "日期"))
    assert [r.get("日期") for r in found] == ["2027-03-05", "2027-01-02"]


def test_the_first_of_two_columns_meaning_the_same_wins():
    data = "姓名,联系电话,手机号码\n张三,0951-1234567,13812345678\n".encode()
    (row,), _ = read_rows(data, ("姓名", "手机号"))
    assert row.get("手机号") == "13812345678"


def test_gbk_csv_with_a_title_line():
    data = "政协委员名册\n序号,姓名,手机\n1,张三,13812345678\n".encode("gbk")
    (row,), problems = read_rows(data, ("姓名", "手机号"), filename="名册.csv")
    assert not problems and (row.line, row.get("姓名")) == (3, "张三")


def test_header_not_found_names_the_closest_row():
    data = xlsx([["姓名", "界别"], ["张三", "经济界"]])
    assert refused(data) == "第2行（表头）：缺少“手机号”列"
    assert "找不到表头" in refused(xlsx([["a", "b"], ["c", "d"]]))


def test_a_header_below_row_10_is_not_searched():
    rows = [[f"说明{i}"] for i in range(10)] + [["姓名", "手机号"], ["张三", "13812345678"]]
    assert "找不到表头" in refused(xlsx(rows, title=None))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (renamed_zip(), "改了扩展名的压缩包"),
        (zip_bomb(), "解压后过大"),
        (many_entries(600), "601 个部件"),
        (declared_huge(), "解压后过大（270 MB）"),
        (b"PK\x03\x04 broken", "文件已损坏"),
        (b"%PDF-1.4 ...", "文件内容不是表格"),
    ],
    ids=["renamed-zip", "zip-bomb", "600-entries", "270-MB-declared", "broken-zip", "pdf"],
)
def test_unsafe_or_foreign_files_are_refused_before_reading(data, message):
    started = time.perf_counter()
    assert message in refused(data)
    assert time.perf_counter() - started < 1  # nothing was unpacked


def test_a_file_over_the_limit_is_refused():
    assert "文件太大" in refused(b"0" * (MAX_BYTES + 1), "名册.csv")


def test_a_broken_xls_asks_for_xlsx():
    assert "另存为 .xlsx" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "名册.xls")


def test_yes_and_no_words():
    headers = default_headers()
    assert [headers.yes_no(v) for v in ("√", "是", "常委", "Y", "✓", "", "否", "×", "也许")] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        None,
    ]


def test_the_vocabulary_is_validated_with_one_line():
    with pytest.raises(ConfigError, match="已是“姓名”的写法"):
        Headers.from_dict({"columns": {"姓名": ["名字"], "单位": ["名字"]}, "yes": ["是"], "no": ["否"]})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: t.encode("utf-8")))
def test_any_bytes_are_read_or_refused_with_a_message(data):
    try:
        open_table(data, "名册.csv").records(("姓名", "手机号"))
    except ImportProblems as refused:
        assert refused.problems and all(isinstance(p, str) and p for p in refused.problems)


CELL_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)  # what Excel can hold


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(-(10**12), 10**12), CELL_TEXT), max_size=5), max_size=8))
def test_any_small_workbook_is_read_or_refused_with_a_message(rows):
    rows = [["姓名", "手机号"], *rows]
    try:
        found, _ = open_table(xlsx(rows, title=None), "名册.xlsx").records(("姓名", "手机号"))
    except ImportProblems as refused:
        assert refused.problems
    else:
        assert all(row.line >= 2 for row in found)


def test_an_xls_workbook_is_read_like_an_xlsx():
    # tests/data/roster.xls: written by xlwt (not a dependency): a merged title row, 手机号码 as
    # numbers and as text, √ and 是, a row with empty trailing cells.
    data = (Path(__file__).parent / "data" / "roster.xls").read_bytes()
    found, problems = read_rows(data, ("姓名", "手机号"), filename="名册.xls")
    assert not problems
    assert [(r.line, r.get("姓名"), r.get("手机号"), r.get("是否常委")) for r in found] == [
        (3, "张三", "13809510001", "√"),
        (4, "李四", "13809510002", ""),
        (5, "王五", "13809510003", "是"),
        (6, "赵六", "13809510004", ""),
    ]
