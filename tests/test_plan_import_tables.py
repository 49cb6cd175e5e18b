"""Plans as task tables (.docx, .xlsx) and as Word text; refusals of files that are no plan."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from bot.config import knowledge_dir
from bot.plan.importer import Knowledge, import_plan, read_plan_file
from bot.plan.parse import PlanParseError
from bot.plan.tables import TableWords, default_words, find_header, split_measures
from bot.plan.wordnumbers import chinese
from tests.plan_tables_support import DOCX_ROWS, XLSX_ROWS, plan_docx, plan_xlsx

KNOWLEDGE = Knowledge.load(knowledge_dir())


def tasks_of(data: bytes, name: str) -> list[dict]:
    parsed, _ = read_plan_file(data, name)
    return parsed.require_complete()["tasks"]


def test_docx_table_merged_areas_several_measures_and_notes_row():
    parsed, kind = read_plan_file(plan_docx(), "分工.docx")
    plan = parsed.require_complete()
    assert kind == "docx"
    assert plan["document"]["title"] == "临川县政协工作重点任务分工方案"
    assert [a["title"] for a in plan["areas"]] == ["完善协商制度", "加强委员管理"]
    tasks = plan["tasks"]
    assert [t["text"] for t in tasks[1:3]] == ["建立协商议题征集制度。", "建立协商成果报送制度。"]
    assert list(tasks[1]["unit_roles"].items()) == [
        ("县政协办公室", "lead"),
        ("县委办公室", "support"),
        ("县政府办公室", "support"),
    ]
    assert [t["area"] for t in tasks] == [1, 1, 1, 1, 2, 2]
    assert tasks[0]["time_limit"]["kind"] == "recurring"
    assert not any("注" in t["text"] for t in tasks)  # the notes row is skipped


def test_xlsx_heading_rows_title_row_and_units_in_one_cell():
    parsed, kind = read_plan_file(plan_xlsx(), "清单.xlsx")
    plan = parsed.require_complete()
    assert kind == "xlsx"
    assert plan["document"]["title"] == "松原县加强政协工作任务清单"
    assert [a["title"] for a in plan["areas"]] == ["加强思想政治引领", "加强履职能力建设"]
    tasks = plan["tasks"]
    assert len(tasks) == 5
    assert tasks[0]["units_printed"] == ["县委宣传部", "县政协办公室"]
    assert [t["text"] for t in tasks[1:3]] == ["开展界别协商活动。", "开展委员读书活动。"]
    assert tasks[4]["time_limit"]["kind"] == "unspecified"


def test_a_table_row_without_units_is_named_by_its_row():
    rows = list(DOCX_ROWS)
    rows[3] = (rows[3][0], rows[3][1], "", "", rows[3][4])
    result = import_plan(plan_docx(rows), "分工.docx", KNOWLEDGE)
    assert result.plan is None
    assert result.preview.without_units == [
        "表格第5行：任务(5)没有“责任单位”行，末尾也没有写明单位的括号（建立委员履职档案，每年通报履职情况。）"
    ]
    assert "这份文件不能启用" in result.preview.text()


def test_a_table_without_a_unit_column_says_what_it_needs():
    rows = [row[:2] for row in XLSX_ROWS]
    with pytest.raises(PlanParseError, match=r"找不到表头.*需要任务列.*单位列"):
        read_plan_file(plan_xlsx_rows([["序号", "工作任务"], *rows]), "清单.xlsx")


def test_word_text_plan_is_read_from_its_paragraphs():
    import docx

    document = docx.Document()
    text = (knowledge_dir().parent / "tests" / "data" / "plans" / "first-listed-lead.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    tasks = tasks_of(buffer.getvalue(), "措施.docx")
    assert len(tasks) == 7 and tasks[0]["units_printed"][0] == "县委办公室"


def test_a_docx_with_only_images_is_refused_naming_it():
    import docx

    document = docx.Document()
    document.add_picture(io.BytesIO(_png()))
    buffer = io.BytesIO()
    document.save(buffer)
    with pytest.raises(PlanParseError, match=r"只有图片（1 张）"):
        read_plan_file(buffer.getvalue(), "扫描件.docx")


def _png() -> bytes:
    """A 1×1 PNG (a scanned page, for the test's purpose)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def test_a_50_mb_file_is_refused_before_reading():
    result = import_plan(b"x" * (50 * 1024 * 1024), "方案.txt", KNOWLEDGE)
    assert result.plan is None
    assert "文件太大（50.0 MB），最大 20 MB" in result.preview.text()


def test_header_synonyms_are_data():
    words = default_words()
    assert find_header([(1, ["编号", "任务内容", "责任部门", "时间节点"])], words).columns == {
        "number": 0,
        "task": 1,
        "responsible": 2,
        "deadline": 3,
    }
    # 重点任务 beside 具体措施 is the area column; alone it is the task column.
    assert find_header([(1, ["重点任务", "具体措施", "牵头单位"])], words).columns["area"] == 0
    assert find_header([(1, ["重点任务", "牵头单位"])], words).columns == {"task": 0, "lead": 1}
    # 工作类别 beside 重点任务: the task column is 重点任务, the area column 工作类别.
    found = find_header([(1, ["序号", "工作类别", "重点任务", "责任领导", "牵头单位"])], words).columns
    assert (found["area"], found["task"], found["lead"]) == (1, 2, 4)
    with pytest.raises(ValueError, match=r"columns\.number"):
        TableWords.from_dict({"version": 1, "columns": {"task": ["任务"]}}, "plan_tables.json")


def test_split_measures():
    assert split_measures("1.甲。\n2.乙。") == ["甲。", "乙。"]
    assert split_measures("①甲\n②乙\n③丙") == ["甲", "乙", "丙"]
    assert split_measures("一段话\n换行续写") == ["一段话换行续写"]


def test_a_table_note_makes_the_first_listed_unit_the_lead():
    rows = [["序号", "工作任务", "责任单位"], ["1", "甲任务", "县委办、政府办"], ["注：列第一位的为牵头单位。"]]
    tasks = tasks_of(plan_xlsx_rows(rows), "清单.xlsx")
    assert list(tasks[0]["unit_roles"].items()) == [("县委办", "lead"), ("政府办", "support")]


def plan_xlsx_rows(rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_two_row_header_under_a_merged_units_heading():
    rows = [
        ["序号", "重点任务", "具体措施", "责任单位", "", "完成时限"],
        ["", "", "", "牵头单位", "配合单位", ""],
        ["1", "协商", "甲任务", "县委办（牵头）", "政府办", "2025年底前"],
        ["2", "协商", "乙任务", "政协办", "县委办、各乡镇", "长期坚持"],
    ]
    tasks = tasks_of(plan_xlsx_rows(rows), "清单.xlsx")
    assert [list(t["unit_roles"].items()) for t in tasks] == [
        [("县委办", "lead"), ("政府办", "support")],
        [("政协办", "lead"), ("县委办", "support"), ("各乡镇", "support")],
    ]


def test_a_task_table_pasted_as_text_or_saved_as_csv():
    text = "某县政协工作任务表\n序号\t重点任务\t具体措施\t牵头单位\t配合单位\t完成时限\n"
    text += "1\t协商\t甲任务\t县委办\t政府办\t2024年底前\n2\t协商\t乙任务\t政协办\t\t长期坚持\n"
    for name, data in (("表.txt", text.encode()), ("表.csv", text.replace("\t", ",").encode("gbk"))):
        parsed, kind = read_plan_file(data, name)
        tasks = parsed.require_complete()["tasks"]
        assert kind == "table" and [t["text"] for t in tasks] == ["甲任务", "乙任务"], name
        assert list(tasks[0]["unit_roles"].items()) == [("县委办", "lead"), ("政府办", "support")]
        assert tasks[1]["time_limit"]["kind"] == "ongoing"


def _numbered_docx(paragraphs: list[tuple[int | None, str]]) -> bytes:
    """A .docx whose list levels Word numbers itself: 一、 / （一） / 1. (chineseCounting, decimal)."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    numbering = document.part.numbering_part.element
    levels = [("chineseCounting", "%1、"), ("chineseCounting", "（%2）"), ("decimal", "%3.")]
    lvl_xml = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate(levels)
    )
    numbering.append(parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">{lvl_xml}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for level, text in paragraphs:
        paragraph = document.add_paragraph(text)
        if level is not None:
            ppr = paragraph._p.get_or_add_pPr()
            ppr.append(parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_automatic_numbering_is_read_as_the_markers_word_shows():
    data = _numbered_docx(
        [
            (None, "某县关于加强政协工作的实施方案"),
            (0, "重点任务"),
            (1, "加强协商"),
            (2, "制定年度协商计划。（县委办牵头）"),
            (2, "建立协商成果反馈机制。（政府办牵头）"),
            (1, "加强监督"),
            (2, "开展民主监督。（政协办牵头）"),
            (0, "保障措施"),
            (None, "各单位要抓好落实。"),
        ]
    )
    plan = read_plan_file(data, "方案.docx")[0].require_complete()
    assert [a["title"] for a in plan["areas"]] == ["加强协商", "加强监督"]
    assert [t["text"] for t in plan["tasks"]] == ["制定年度协商计划。", "建立协商成果反馈机制。", "开展民主监督。"]
    assert plan["task_section"]["title"] == "重点任务"
    assert [s["title"] for s in plan["work_requirements"]] == ["保障措施"]


@pytest.mark.parametrize(("number", "text"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (45, "四十五")])
def test_chinese_counting(number, text):
    assert chinese(number) == text


def test_lead_and_support_written_in_one_unit_cell():
    rows = [["序号", "工作任务", "责任单位"], ["1", "甲任务", "牵头：县委办\n配合：县政府办、县财政局"]]
    tasks = tasks_of(plan_xlsx_rows(rows), "清单.xlsx")
    expected = [("县委办", "lead"), ("县政府办", "support"), ("县财政局", "support")]
    assert list(tasks[0]["unit_roles"].items()) == expected


def test_an_area_column_beside_a_task_column_named_like_an_area():
    rows = [
        ["序号", "工作类别", "重点任务", "牵头单位", "配合单位"],
        ["1", "一、加强党的领导", "听取县政协党组汇报", "县委办", "政协办"],
        ["2", "", "纳入督查计划", "县委办", ""],
        ["3", "二、推进协商民主", "开展协商活动", "政协办", "各乡镇"],
    ]
    result = import_plan(plan_xlsx_rows(rows), "清单.xlsx", Knowledge.load(knowledge_dir()))
    assert [a["title"] for a in result.plan["areas"]] == ["加强党的领导", "推进协商民主"]
    assert [t["area"] for t in result.plan["tasks"]] == [1, 1, 2]
