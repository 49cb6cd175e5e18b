"""What every import shares: rows with their line numbers, problems collected by line, the
refusal that lists them, and the text of a CSV export (bot/tables.py reads the files)."""

from __future__ import annotations

import heapq
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
