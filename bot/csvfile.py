"""Reading spreadsheet exports (CSV) with line numbers, collecting every problem."""

from __future__ import annotations

import csv
import heapq
import io
import unicodedata
from dataclasses import dataclass

SHOWN_PROBLEMS = 50  # an import report lists this many problems, then the total


class ImportProblems(ValueError):
    """An import was refused. ``problems`` holds the first :data:`SHOWN_PROBLEMS` problems (by
    line), ``total`` how many were found: a file with 100,000 bad rows gives a short report."""

    def __init__(self, problems: list[str], total: int | None = None):
        self.problems = problems[:SHOWN_PROBLEMS]
        self.total = max(total or 0, len(problems))
        super().__init__("\n".join(self.report()))

    def report(self) -> list[str]:
        """The lines to show: a heading with the total, the listed problems, and a note on the rest."""
        lines = [f"导入未执行，文件中有 {self.total} 处问题：", *self.problems]
        if self.total > len(self.problems):
            rest = self.total - len(self.problems)
            lines.append(f"（只列出前 {len(self.problems)} 处，另有 {rest} 处未列出；请修正后重新导入）")
        return lines


class Problems:
    """Problems found in a file, each tied to a line; reported sorted by line."""

    def __init__(self) -> None:
        self._items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self._items.append((line, message))

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def by_line(self) -> list[tuple[int, str]]:
        """Every problem as (line, message), sorted by line."""
        return sorted(self._items, key=lambda item: item[0])

    def raise_if_any(self) -> None:
        if self._items:
            first = heapq.nsmallest(SHOWN_PROBLEMS, self._items, key=lambda item: item[0])
            raise ImportProblems([f"第{line}行：{message}" for line, message in first], total=len(self._items))


@dataclass(frozen=True)
class CsvRow:
    line: int  # physical line of the file where the row starts (1-based)
    values: dict[str, str]  # column name → stripped cell text

    def get(self, column: str) -> str:
        return self.values.get(column, "")


def decode(data: bytes) -> str:
    """Text of an export: UTF-8 (with or without BOM), else GB18030 (which covers GBK)."""
    if b"\x00" not in data:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise ImportProblems(["无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件"])


def _header_name(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lstrip("\ufeff")


def read_table(
    data: bytes, required: tuple[str, ...], *, one_of: tuple[str, ...] = ()
) -> tuple[list[CsvRow], Problems]:
    """Well-formed rows of a CSV export keyed by header name, and the malformed rows' problems.

    Columns may come in any order and unknown columns are ignored. ``one_of`` names columns of
    which at least one must be present. Completely empty rows are skipped. An undecodable or
    empty file, a bad header or a file without data rows raises ImportProblems at once (a roster
    without rows would look like "everyone left").
    """
    text = decode(data)
    if not text.strip():
        raise ImportProblems(["文件为空"])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems = Problems()
    rows: list[CsvRow] = []
    header: list[str] | None = None
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.add(start, "引号不成对或位置不正确")
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [_header_name(cell) for cell in cells]
            header_problems = _header_problems(line, header, required, one_of)
            if header_problems:
                raise ImportProblems(header_problems)
            continue
        if any("\n" in cell or "\r" in cell for cell in cells):
            problems.add(line, "单元格内有换行，可能是引号不成对")
        elif len(cells) != len(header):
            problems.add(line, f"有 {len(cells)} 个字段，表头有 {len(header)} 列（可能有多余的逗号或不成对的引号）")
        else:
            rows.append(CsvRow(line, {name: cell.strip() for name, cell in zip(header, cells, strict=True) if name}))
    if header is not None and not rows and not problems:
        raise ImportProblems(["文件中没有数据行"])
    if header is None:
        problems.raise_if_any()
        raise ImportProblems(["文件为空"])
    return rows, problems


def _header_problems(line: int, header: list[str], required: tuple[str, ...], one_of: tuple[str, ...]) -> list[str]:
    where = f"第{line}行（表头）"
    problems = [f"{where}：缺少“{name}”列" for name in required if name not in header]
    if one_of and not any(name in header for name in one_of):
        problems.append(f"{where}：需要“{'”或“'.join(one_of)}”列")
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    problems.extend(f"{where}：“{name}”列出现了不止一次" for name in duplicates)
    return problems
