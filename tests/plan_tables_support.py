"""Task-table plans written for the tests: a .docx with a merged area column and a .xlsx with
heading rows merged across, a title row, several measures in one cell and a notes row."""

from __future__ import annotations

import io

DOCX_HEADER = ["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"]
# (area, measures, lead, support, deadline); consecutive equal areas are merged vertically.
DOCX_ROWS = [
    ("完善协商制度", "制定年度协商计划，报县委审定。", "县委办公室", "县政协办公室", "每年1月底前"),
    (
        "完善协商制度",
        "1.建立协商议题征集制度。\n2.建立协商成果报送制度。",
        "县政协办公室",
        "县委办公室、县政府办公室",
        "2024年6月底前",
    ),
    ("完善协商制度", "健全协商成果办理反馈机制。", "县政府办公室", "各有关部门", "长期坚持"),
    ("加强委员管理", "建立委员履职档案，每年通报履职情况。", "县政协办公室", "", "每年12月底前"),
    ("加强委员管理", "组织委员参加履职培训。", "县委党校", "县政协办公室", "2024年12月底前"),
]
DOCX_TITLE = "临川县政协工作重点任务分工方案"


def plan_docx(rows: list[tuple[str, str, str, str, str]] | None = None, notes: bool = True) -> bytes:
    import docx

    rows = DOCX_ROWS if rows is None else rows
    document = docx.Document()
    document.add_paragraph(DOCX_TITLE)
    table = document.add_table(rows=1 + len(rows) + (1 if notes else 0), cols=len(DOCX_HEADER))
    for index, name in enumerate(DOCX_HEADER):
        table.cell(0, index).text = name
    start = 1
    for number, (area, measures, lead, support, deadline) in enumerate(rows, start=1):
        values = [str(number), area, measures, lead, support, deadline]
        for index, value in enumerate(values):
            if index == 1 and number > 1 and rows[number - 2][0] == area:
                continue
            table.cell(number, index).text = value
    # Merge the area column down over equal consecutive areas (Word's vertical merge).
    for number in range(1, len(rows) + 1):
        if number == len(rows) or rows[number][0] != rows[number - 1][0]:
            if number > start:
                table.cell(start, 1).merge(table.cell(number, 1))
                table.cell(start, 1).text = rows[start - 1][0]
            start = number + 1
    if notes:
        last = len(rows) + 1
        merged = table.cell(last, 0).merge(table.cell(last, len(DOCX_HEADER) - 1))
        merged.text = "注：列第一位的为牵头单位。"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


XLSX_TITLE = "松原县加强政协工作任务清单"
XLSX_HEADER = ["序号", "工作任务", "责任单位", "完成时间"]
XLSX_ROWS: list[tuple[str, ...]] = [
    ("一、加强思想政治引领",),
    ("1", "组织委员学习党的创新理论。", "县委宣传部、县政协办公室", "长期坚持"),
    ("2", "（1）开展界别协商活动。\n（2）开展委员读书活动。", "县委统战部", "2024年12月底前"),
    ("二、加强履职能力建设",),
    ("3", "建立委员联系群众工作站。", "各乡镇、县政协办公室", "2025年6月底前"),
    ("4", "将政协工作经费列入财政预算。", "县财政局", ""),
    ("备注：时限为2024年起。",),
]


def plan_xlsx(rows: list[tuple[str, ...]] | None = None) -> bytes:
    import openpyxl

    rows = XLSX_ROWS if rows is None else rows
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([XLSX_TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(XLSX_HEADER))
    sheet.append(XLSX_HEADER)
    for row in rows:
        sheet.append(list(row))
        if len(row) == 1:
            line = sheet.max_row
            sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=len(XLSX_HEADER))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
