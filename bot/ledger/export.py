"""The ledger as a file in the layout offices use: 序号, 任务内容, 责任单位, 完成时限, 进展情况, 更新日期.

One row per task and responsible unit, in plan order. ``xlsx`` is ready to print (A4 landscape,
fit to one page wide, header row repeated on every page, wrapped text, bold frozen header, the
cells of one task merged over its units' rows, row heights set so nothing is cut off). ``csv``
is UTF-8 with a byte-order mark so that Excel in China opens it with the right encoding.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from datetime import date

from bot.ledger.overview import LedgerRow, ledger_rows
from bot.ledger.quarters import Quarter, as_quarter
from bot.people.roles import Caller
from bot.plan.model import Plan, default_plan
from bot.storage import Storage

HEADER = ("序号", "任务内容", "责任单位", "完成时限", "进展情况", "更新日期")
WIDTHS = (6, 46, 16, 10, 62, 12)  # Excel column widths (characters of the default font)
FORMATS = ("xlsx", "csv")
MERGED_COLUMNS = (1, 2, 4)  # 序号, 任务内容, 完成时限: the same for every unit of a task
LINE_HEIGHT = 14.0  # points per line of 10.5 pt 宋体
MAX_ROW_HEIGHT = 409.0  # Excel's limit
FONT = "宋体"


def title(plan: Plan, quarter: Quarter | None, today: date) -> str:
    when = quarter.label if quarter else f"截至{today.year}年{today.month}月{today.day}日"
    return f"《{plan.document.get('title', '实施方案')}》任务落实台账（{when}）"


def _cells(row: LedgerRow) -> list:
    return [row.number, row.task, row.unit, row.time_limit, row.progress, row.updated]


def to_csv(rows: list[LedgerRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([cell.isoformat() if isinstance(cell, date) else cell for cell in _cells(row)])
    return out.getvalue().encode("utf-8-sig")


def display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def line_count(text: str, width: float) -> int:
    """Lines a wrapped cell of this column width needs (at least one)."""
    usable = max(width - 1.5, 1)
    return max(1, sum(max(1, math.ceil(display_width(part) / usable)) for part in str(text).split("\n")))


def task_runs(rows: list[LedgerRow]) -> list[tuple[int, int]]:
    """(first, last) row indexes of each task's consecutive rows."""
    runs: list[tuple[int, int]] = []
    for index, row in enumerate(rows):
        if runs and rows[runs[-1][0]].number == row.number:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _heights(rows: list[LedgerRow]) -> list[float]:
    """Row heights such that each cell's wrapped text, and each task's merged text, fits."""
    heights = [
        max(line_count(value, WIDTHS[i]) for i, value in enumerate(_cells(row)) if i + 1 not in MERGED_COLUMNS)
        * LINE_HEIGHT
        + 4
        for row in rows
    ]
    for start, end in task_runs(rows):
        needed = max(line_count(_cells(rows[start])[i - 1], WIDTHS[i - 1]) for i in MERGED_COLUMNS) * LINE_HEIGHT + 4
        missing = needed - sum(heights[start : end + 1])
        if missing > 0:
            for index in range(start, end + 1):
                heights[index] += missing / (end - start + 1)
    return [min(round(h, 1), MAX_ROW_HEIGHT) for h in heights]


def to_xlsx(rows: list[LedgerRow], heading: str) -> bytes:
    from openpyxl import Workbook  # deferred: only the export needs it
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "任务台账"
    book.properties.title = heading
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    body_font = Font(name=FONT, size=10.5)
    centered = {1, 3, 4, 6}

    sheet.append(list(HEADER))
    for column, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
        cell = sheet.cell(row=1, column=column)
        cell.font = Font(name=FONT, size=11, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
        cell.border = border
    sheet.row_dimensions[1].height = 22

    for index, (row, height) in enumerate(zip(rows, _heights(rows), strict=True), start=2):
        for column, value in enumerate(_cells(row), start=1):
            cell = sheet.cell(row=index, column=column, value=value)
            cell.font = body_font
            cell.border = border
            cell.alignment = Alignment(
                horizontal="center" if column in centered else "left",
                vertical="center" if column in centered else "top",
                wrap_text=True,
            )
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
        sheet.row_dimensions[index].height = height

    _merge_tasks(sheet, rows)
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddHeader.center.text = heading
    sheet.oddHeader.center.size = 12
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _merge_tasks(sheet, rows: list[LedgerRow]) -> None:
    """Merge 序号, 任务内容 and 完成时限 over the rows of one task (the value stays in the first row)."""
    for start, end in task_runs(rows):
        if end > start:
            for column in MERGED_COLUMNS:
                sheet.merge_cells(start_row=start + 2, start_column=column, end_row=end + 2, end_column=column)


def export_ledger(
    storage: Storage,
    caller: Caller,
    fmt: str,
    quarter: Quarter | str | None = None,
    *,
    plan: Plan | None = None,
) -> tuple[bytes, int]:
    """The ledger file's bytes and its number of data rows (authorised: view_ledger)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    plan = plan or default_plan()
    quarter = as_quarter(quarter) if quarter is not None else None
    rows = ledger_rows(storage, caller, quarter, plan=plan)
    if fmt == "csv":
        return to_csv(rows), len(rows)
    return to_xlsx(rows, title(plan, quarter, storage.today())), len(rows)
