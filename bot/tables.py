"""Office spreadsheets read tolerantly: .xlsx, .xls and .csv as rows with their original row numbers.

    table = open_table(data, "名册.xlsx")           # refuses what is not safe to read, see below
    rows, problems = table.records(("姓名", "手机号"))  # header row found, synonyms mapped

What is refused before anything is parsed (:class:`~bot.csvfile.ImportProblems`, one line):
a file over :data:`MAX_BYTES`; a zip (.xlsx) with more than :data:`MAX_ZIP_ENTRIES` entries, more
than :data:`MAX_UNPACKED` bytes when unpacked or an entry compressed more than
:data:`MAX_RATIO` times (a zip bomb) — the sizes come from the zip's directory, and Python's
zipfile never unpacks more than an entry declares; a zip without a workbook (a renamed archive,
a Word document). :func:`check_zip` is public for other zipped formats (.docx).

What is tolerated: a title row, notes or blank rows above the header (the header is the first of
the first :data:`HEADER_ROWS` rows holding every required column); header names written another
way (knowledge/headers.json: 手机号码 → 手机号, 所属专委会 → 专委会 …, with spaces, a trailing
colon or * and a bracketed note ignored); blank rows, rows that repeat the header, headings
merged across the table and rows with nothing in any known column (skipped); cells merged down
a column (every row of the merge gets the value); full-width letters and digits and stray
spaces (every value is NFKC-normalised and trimmed); numbers Excel stores for phone numbers
(13812345678, not 1.38e10) and dates (2027-03-05).

CSV files are UTF-8 (with or without BOM) or GBK/GB18030; a malformed CSV row (a stray quote,
a wrong number of fields) is a problem of that row, as before (bot/csvfile.py).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from bot.config import ConfigError, knowledge_dir, read_json
from bot.csvfile import CsvRow, ImportProblems, Problems, decode

MAX_BYTES = 20 * 1024 * 1024  # also what a bot may download from Telegram
MAX_ZIP_ENTRIES = 500
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 200  # unpacked/packed size of one entry; a real worksheet is about 5–20
HEADER_ROWS = 10
MAX_ROWS = 200_000

SPREADSHEET_HINT = "请发送 Excel 表格（.xlsx）或 CSV 文件"
_BRACKETED = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\"")
_SPACES = re.compile(r"\s+")


# ---- vocabulary (knowledge/headers.json) --------------------------------------------------


@dataclass(frozen=True)
class Headers:
    """Header synonyms and yes/no answers, from knowledge/headers.json."""

    names: dict[str, tuple[str, int]]  # normalised header → (column name, priority; 0 = the name itself)
    yes: frozenset[str]
    no: frozenset[str]

    @classmethod
    def from_dict(cls, data: Any, where: str = "headers.json") -> Headers:
        """Validate knowledge/headers.json; ConfigError naming the file and the entry."""

        def fail(problem: str) -> ConfigError:
            return ConfigError(f"{where}: {problem}")

        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise fail("应为对象，含 columns")
        names: dict[str, tuple[str, int]] = {}
        for column, synonyms in data["columns"].items():
            if not isinstance(synonyms, list) or not all(isinstance(s, str) and s.strip() for s in synonyms):
                raise fail(f"columns.{column}: 应为字符串列表")
            for priority, text in enumerate([column, *synonyms]):
                key = header_key(text)
                if key in names and names[key][0] != column:
                    raise fail(f"columns.{column}: “{text}”已是“{names[key][0]}”的写法")
                names.setdefault(key, (column, priority))
        answers = []
        for kind in ("yes", "no"):
            values = data.get(kind)
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise fail(f"{kind}: 应为非空字符串列表")
            answers.append(frozenset(clean(v).lower() for v in values))
        if answers[0] & answers[1]:
            raise fail(f"yes 与 no 重复：{'、'.join(sorted(answers[0] & answers[1]))}")
        return cls(names, answers[0], answers[1])

    def column(self, header: str) -> tuple[str, int] | None:
        """The column a header names, with its priority, or None."""
        key = header_key(header)
        return self.names.get(key) or self.names.get(_BRACKETED.sub("", key))

    def yes_no(self, value: str) -> bool | None:
        """True for 是/√/常委/Y…, False for 否/×/N… or an empty cell, None when not understood."""
        answer = clean(value).lower()
        if not answer or answer in self.no:
            return False
        return True if answer in self.yes else None


def header_key(text: str) -> str:
    return _SPACES.sub("", clean(text)).rstrip(":：*＊").lstrip("*＊")


@cache
def default_headers() -> Headers:
    path = Path(knowledge_dir()) / "headers.json"
    data = read_json(path, ConfigError, "表头配置文件")
    return Headers.from_dict(data, str(path))


def clean(value: Any) -> str:
    """A cell as text: NFKC, trimmed; Excel's numbers and dates as people wrote them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, time):
        value = value.strftime("%H:%M")
    return unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "").strip()


# ---- the table ------------------------------------------------------------------------------


@dataclass
class Sheet:
    name: str
    rows: list[tuple[int, list[str]]]  # (row number in the file, cells), blank rows left out
    headings: set[int] = field(default_factory=set)  # rows merged across the table (titles, sections)
    problems: list[tuple[int, str]] = field(default_factory=list)  # rows a CSV reader could not read
    strict_width: bool = False  # CSV: a data row must have as many fields as the header


@dataclass(frozen=True)
class HeaderRow:
    sheet: Sheet
    line: int
    columns: dict[str, int]  # column name (canonical, or the header as written) → cell index
    raw: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    kind: str  # "xlsx" | "xls" | "csv"
    sheets: tuple[Sheet, ...]

    def find_header(self, required: tuple[str, ...], one_of: tuple[str, ...] = ()) -> HeaderRow:
        """The first row, within the first HEADER_ROWS of a sheet, holding every required column
        (and one of ``one_of``); ImportProblems naming the closest row's missing columns otherwise."""
        best: tuple[int, HeaderRow] | None = None
        for sheet in self.sheets:
            for row in self._header_candidates(sheet):
                wanted = sum(name in row.columns for name in (*required, *one_of))
                if _complete(row, required, one_of):
                    duplicates = _duplicates(row.raw)
                    if duplicates:
                        where = f"第{row.line}行（表头）"
                        raise ImportProblems([f"{where}：“{name}”列出现了不止一次" for name in duplicates])
                    return row
                if wanted and (best is None or wanted > best[0]):
                    best = (wanted, row)
        if best is None:
            if not any(sheet.rows for sheet in self.sheets):
                raise ImportProblems(["文件为空"])
            needed = "”“".join(required + one_of)
            raise ImportProblems([f"前{HEADER_ROWS}行中找不到表头（需要“{needed}”列）"])
        row = best[1]
        where = f"第{row.line}行（表头）"
        problems = [f"{where}：缺少“{name}”列" for name in required if name not in row.columns]
        if one_of and not any(name in row.columns for name in one_of):
            problems.append(f"{where}：需要“{'”或“'.join(one_of)}”列")
        raise ImportProblems(problems)

    def unread_sheets(self, required: tuple[str, ...], one_of: tuple[str, ...] = ()) -> list[str]:
        """Sheets after the one read that also hold such a header (one list per committee, say):
        only the first is read, and the dry run says so."""
        found = [sheet.name for sheet in self.sheets if self._header_in(sheet, required, one_of)]
        return found[1:]

    def _header_in(self, sheet: Sheet, required: tuple[str, ...], one_of: tuple[str, ...]) -> HeaderRow | None:
        return next((row for row in self._header_candidates(sheet) if _complete(row, required, one_of)), None)

    def columns(self) -> set[str]:
        """Every known column name in any header candidate (to recognise what a file is)."""
        names = {column for column, _ in default_headers().names.values()}
        return {name for sheet in self.sheets for row in self._header_candidates(sheet) for name in row.columns} & names

    def records(self, required: tuple[str, ...], one_of: tuple[str, ...] = ()) -> tuple[list[CsvRow], Problems]:
        """The data rows below the header, keyed by column name, and the problems of rows that could
        not be read; a file without a header or without data rows raises ImportProblems."""
        header = self.find_header(required, one_of)
        sheet = header.sheet
        problems = Problems()
        for line, message in sheet.problems:
            if line > header.line:
                problems.add(line, message)
        known = set(header.columns) - {name for name in header.columns if default_headers().column(name) is None}
        rows: list[CsvRow] = []
        width = len(header.raw)
        for line, cells in sheet.rows:
            if line <= header.line or line in sheet.headings or tuple(cells[:width]) == header.raw:
                continue
            if sheet.strict_width and len(cells) != width:
                problems.add(line, f"有 {len(cells)} 个字段，表头有 {width} 列（可能有多余的逗号或不成对的引号）")
                continue
            values = {name: (cells[index] if index < len(cells) else "") for name, index in header.columns.items()}
            if not any(values[name] for name in known):
                continue  # a note below the table, a number in 序号 only …
            rows.append(CsvRow(line, values))
        if not rows and not problems:
            raise ImportProblems(["文件中没有数据行"])
        return rows, problems

    def _header_candidates(self, sheet: Sheet) -> Iterator[HeaderRow]:
        headers = default_headers()
        for line, cells in sheet.rows[:HEADER_ROWS]:
            if line in sheet.headings:
                continue
            chosen: dict[str, tuple[int, int]] = {}  # column → (priority, index)
            raw = tuple(cells)
            for index, cell in enumerate(cells):
                found = headers.column(cell) if cell else None
                name, priority = found if found else (header_key(cell), 99)
                if name and (name not in chosen or priority < chosen[name][0]):
                    chosen[name] = (priority, index)
            yield HeaderRow(sheet, line, {name: index for name, (_, index) in chosen.items()}, raw)


def _complete(row: HeaderRow, required: tuple[str, ...], one_of: tuple[str, ...]) -> bool:
    """The row holds every required column and, when given, one of ``one_of``."""
    has = row.columns
    return all(name in has for name in required) and (not one_of or any(name in has for name in one_of))


def _duplicates(raw: tuple[str, ...]) -> list[str]:
    """Known columns written twice the same way (two 备注 columns are harmless)."""
    headers = default_headers()
    keys = [header_key(cell) for cell in raw if cell and headers.column(cell)]
    return sorted({key for key in keys if keys.count(key) > 1})


# ---- opening files ------------------------------------------------------------------------


def check_size(size: int | None) -> None:
    """Refuse a file over MAX_BYTES (call it with the size Telegram reports, before downloading)."""
    if size is not None and size > MAX_BYTES:
        raise ImportProblems([f"文件太大（{size / 1024 / 1024:.1f} MB），最大 {MAX_BYTES // 1024 // 1024} MB"])


def check_zip(data: bytes, must_contain: str, what: str) -> zipfile.ZipFile:
    """Open a zipped office file after checking, from its directory alone, that it is safe to
    unpack and holds ``must_contain`` (xl/workbook.xml, word/document.xml)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ImportProblems([f"文件已损坏，无法作为{what}打开"]) from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ImportProblems([f"文件内含 {len(entries)} 个部件，不像是{what}，已拒绝读取"])
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED or any(
        entry.file_size > 1024 * 1024 and entry.file_size > MAX_RATIO * max(entry.compress_size, 1) for entry in entries
    ):
        raise ImportProblems([f"文件解压后过大（{unpacked / 1024 / 1024:.0f} MB），不像是{what}，已拒绝读取"])
    names = {entry.filename for entry in entries}
    if must_contain not in names:
        if "word/document.xml" in names:
            raise ImportProblems([f"这是 Word 文档，不是{what}"])
        if "xl/workbook.xml" in names:
            raise ImportProblems([f"这是 Excel 表格，不是{what}"])
        raise ImportProblems([f"这不是{what}（可能是改了扩展名的压缩包）"])
    return archive


def open_table(data: bytes, filename: str = "") -> Table:
    """Read a spreadsheet file: .xlsx and .xls by their content (whatever the name says), anything
    else as CSV; ImportProblems with one clear line when it cannot or must not be read."""
    check_size(len(data))
    suffix = Path(filename).suffix.lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _read_xls(data)
    if suffix in (".xlsx", ".xlsm", ".xls", ".et", ".docx", ".doc", ".pdf", ".zip", ".rar", ".wps"):
        raise ImportProblems([f"文件内容不是表格（扩展名为 {suffix}），{SPREADSHEET_HINT}"])
    return _read_csv(data)


def read_rows(
    data: bytes, required: tuple[str, ...], *, one_of: tuple[str, ...] = (), filename: str = ""
) -> tuple[list[CsvRow], Problems]:
    """:func:`open_table` then :meth:`Table.records`."""
    return open_table(data, filename).records(required, one_of)


def _read_csv(data: bytes) -> Table:
    text = decode(data)
    if not text.strip():
        raise ImportProblems(["文件为空"])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    sheet = Sheet("CSV", [], strict_width=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            sheet.problems.append((start, "引号不成对或位置不正确"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if any("\n" in cell or "\r" in cell for cell in cells):
            sheet.problems.append((line, "单元格内有换行，可能是引号不成对"))
            continue
        sheet.rows.append((line, [clean(cell) for cell in cells]))
        if len(sheet.rows) > MAX_ROWS:
            raise ImportProblems([f"文件超过 {MAX_ROWS} 行，请分成几个文件导入"])
    if not sheet.rows:
        problems = Problems()
        for line, message in sheet.problems:
            problems.add(line, message)
        problems.raise_if_any()
    return Table("csv", (sheet,))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number - 1


def _merges_xlsx(archive: zipfile.ZipFile, path: str) -> list[tuple[int, int, int, int]]:
    """(first row, last row, first column, last column) of the merged ranges of a worksheet part,
    read from its XML (openpyxl's read-only mode does not read them)."""
    try:
        content = archive.read(path.lstrip("/"))
    except KeyError:
        return []
    return [
        (int(r1), int(r2), _column_number(c1), _column_number(c2)) for c1, r1, c2, r2 in _MERGE_REF.findall(content)
    ]


def _read_xlsx(data: bytes) -> Table:
    import openpyxl

    archive = check_zip(data, "xl/workbook.xml", "Excel 表格")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise ImportProblems(["Excel 文件已损坏，无法读取；请用 Excel 打开后另存为 .xlsx 再发送"]) from exc
    sheets = []
    try:
        for worksheet in book.worksheets:
            if getattr(worksheet, "sheet_state", "visible") != "visible":
                continue
            merges = _merges_xlsx(archive, getattr(worksheet, "_worksheet_path", ""))
            rows = []
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                cells = [clean(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()
                rows.append((number, cells))
                if len(rows) > MAX_ROWS:
                    raise ImportProblems([f"工作表“{worksheet.title}”超过 {MAX_ROWS} 行，请分成几个文件导入"])
            sheets.append(_sheet(worksheet.title, rows, merges))
    finally:
        book.close()
    return Table("xlsx", tuple(sheets))


def _read_xls(data: bytes) -> Table:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises many kinds on a file it cannot read
        raise ImportProblems(["无法读取这个 .xls 文件，请用 Excel 或 WPS 打开后另存为 .xlsx 再发送"]) from exc
    sheets = []
    try:
        for index in range(book.nsheets):
            worksheet = book.sheet_by_index(index)
            if worksheet.visibility:
                continue
            if worksheet.nrows > MAX_ROWS:
                raise ImportProblems([f"工作表“{worksheet.name}”超过 {MAX_ROWS} 行，请分成几个文件导入"])
            rows = []
            for number in range(worksheet.nrows):
                cells = [_xls_value(cell, book.datemode) for cell in worksheet.row(number)]
                while cells and not cells[-1]:
                    cells.pop()
                rows.append((number + 1, cells))
            merges = [(r1 + 1, r2, c1, c2 - 1) for r1, r2, c1, c2 in worksheet.merged_cells]
            sheets.append(_sheet(worksheet.name, rows, merges))
    finally:
        book.release_resources()
    return Table("xls", tuple(sheets))


def _xls_value(cell: Any, datemode: int) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return clean(xlrd.xldate_as_datetime(cell.value, datemode))
        except (ValueError, OverflowError):
            return clean(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return clean(bool(cell.value))
    if cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    return clean(cell.value)


def _sheet(name: str, rows: list[tuple[int, list[str]]], merges: list[tuple[int, int, int, int]]) -> Sheet:
    """Fill cells merged down a column with the merge's value, mark rows merged across most of the
    table as headings, and leave out blank rows."""
    by_number = dict(rows)
    blank = {number for number, cells in rows if not any(cells)}  # stay blank inside a merge too
    width = max((len(cells) for cells in by_number.values()), default=0)
    headings: set[int] = set()
    for first_row, last_row, first_col, last_col in merges:
        top = by_number.get(first_row, [])
        value = top[first_col] if first_col < len(top) else ""
        if first_row == last_row and last_col > first_col and (last_col - first_col + 1) * 2 > width:
            headings.add(first_row)
            continue
        if not value:
            continue
        for number in range(first_row + 1, last_row + 1):
            cells = by_number.get(number)
            if cells is None or number in blank:
                continue
            while len(cells) <= first_col:
                cells.append("")
            if not cells[first_col]:
                cells[first_col] = value
    return Sheet(name, [(number, cells) for number, cells in rows if any(cells)], headings)
