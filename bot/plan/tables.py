"""Plans published as a task table (序号 / 重点任务 / 具体措施 / 牵头单位 / 配合单位 / 完成时限).

Header names are data (knowledge/plan_tables.json). Rows become the same items a text plan
gives (see ``layout``): an area column (merged cells carry it down) or a row spanning the table
(“一、加强……”) is a heading; a task cell holding several numbered measures gives one task
each; unit cells may hold several units (、，；or one per line); notes rows (注：…) and rows
without a task are skipped. Messages name the table row (“表格第7行”).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.config import knowledge_dir
from bot.plan.layout import Item, after_marker, match_marker, norm
from bot.plan.responsibility import FIRST_IS_LEAD_RE, Units, read_units
from bot.plan.structure import PlanParseError

COLUMNS = ("number", "area", "task", "lead", "support", "responsible", "deadline")
_BRACKETED = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
HEADER_ROWS = 10


@dataclass(frozen=True)
class TableWords:
    """Header synonyms per column (earlier = preferred) and the openings of notes rows."""

    columns: dict[str, tuple[str, ...]]
    notes: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: object, where: str) -> TableWords:
        if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("columns"), dict):
            raise ValueError(f"{where}: 应为对象，含 version 1 和 columns")
        columns = {}
        for name in COLUMNS:
            values = data["columns"].get(name)
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"{where}: columns.{name} 应为非空字符串列表")
            columns[name] = tuple(key(v) for v in values)
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(v, str) and v for v in notes):
            raise ValueError(f"{where}: notes 应为字符串列表")
        return cls(columns, tuple(unicodedata.normalize("NFKC", v) for v in notes))


def key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", "", _BRACKETED.sub("", text)).rstrip(":：*")


@cache
def _words_at(path: str) -> TableWords:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: 无法读取（{exc}）") from exc
    return TableWords.from_dict(data, path)


def default_words() -> TableWords:
    return _words_at(str(knowledge_dir() / "plan_tables.json"))


@dataclass
class Header:
    line: int
    columns: dict[str, int]  # column → cell index


def find_header(rows: list[tuple[int, list[str]]], words: TableWords) -> Header | None:
    """The first row (among the first few) naming a task column and a unit column."""
    for line, cells in rows[:HEADER_ROWS]:
        found: dict[str, tuple[int, int]] = {}  # column → (preference, index)
        for column in ("task", *(c for c in COLUMNS if c != "task")):
            taken = found["task"][1] if column == "area" and "task" in found else None  # 工作类别 beside 重点任务
            for index, cell in enumerate(cells):
                name = key(cell)
                if index != taken and name in words.columns[column]:
                    preference = words.columns[column].index(name)
                    if column not in found or preference < found[column][0]:
                        found[column] = (preference, index)
        columns = {column: index for column, (_, index) in found.items()}
        if "task" in columns and any(c in columns for c in ("lead", "support", "responsible")):
            return Header(line, {**columns, **_sub_header(rows, line, words)})
    return None


def _sub_header(rows: list[tuple[int, list[str]]], line: int, words: TableWords) -> dict[str, int]:
    """A second header row under a merged 责任单位: its 牵头单位 / 配合单位 columns."""
    below = next((cells for number, cells in rows if number > line), [])
    found = {}
    for index, cell in enumerate(below):
        for column in ("lead", "support"):
            if key(cell) in words.columns[column]:
                found[column] = index
    return found


def rows_to_items(
    rows: list[tuple[int, list[str]]], words: TableWords, headings: set[int] | None = None
) -> tuple[list[Item], Header]:
    """Items (areas and tasks) of the rows below the header; PlanParseError when no header."""
    header = find_header(rows, words)
    if header is None:
        found = "、".join(c for c in (rows[0][1] if rows else []) if c)[:60]
        raise PlanParseError(
            0,
            f"表格前{HEADER_ROWS}行中找不到表头：需要任务列（如“具体措施”“重点任务”）和单位列"
            f"（如“牵头单位”“责任单位”）" + (f"，第一行是“{found}”" if found else ""),
        )
    columns = header.columns
    items: list[Item] = []
    area_value = None
    count = 0
    lead_note = False  # 注：列第一位的为牵头单位
    for line, cells in rows:
        if line <= header.line:
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        filled = [c for c in cells if c.strip()]
        first = filled[0] if filled else ""
        if not filled or any(unicodedata.normalize("NFKC", first).startswith(n) for n in words.notes):
            lead_note = lead_note or bool(FIRST_IS_LEAD_RE.search(norm(first)))
            continue
        if key(cell("task")) in words.columns["task"]:
            continue  # the header repeated on a new page
        if _spanning(line, filled, headings or set()):
            area_value = None
            items.append(_area(first, line))
            continue
        area = cell("area")
        if area and area != area_value:
            area_value = area
            items.append(_area(area, line))
        text = cell("task")
        if not text:
            continue
        units = Units()
        for column in ("lead", "responsible", "support"):
            units.extend(read_units(cell(column), column)[0])
        for measure in split_measures(text):
            count += 1
            item = Item("row", count, measure, f"表格第{line}行", line=line)
            item.units.extend(units)
            item.has_unit_line = bool(units)
            item.deadline = cell("deadline") or None
            items.append(item)
    for item in items:
        item.first_is_lead = lead_note
    return items, header


def _spanning(line: int, filled: list[str], headings: set[int]) -> bool:
    """A heading row: merged across the table, or one “一、…”/“（一）…” cell alone."""
    if line in headings or (len(filled) >= 2 and len(set(filled)) == 1):
        return True
    marker = match_marker(norm(filled[0])) if len(filled) == 1 else None
    return bool(marker and marker[0] in ("section", "paren_cn"))


def _area(text: str, line: int) -> Item:
    return Item("table_area", 0, after_marker(text.splitlines()[0]), f"表格第{line}行", line=line)


def split_measures(text: str) -> list[str]:
    """A cell with '1.甲\\n2.乙' (or （1）/① on each line) holds two tasks; otherwise one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if match_marker(norm(line))]
    if len(starts) < 2 or starts[0] != 0:
        return [" ".join(lines) if _latin(lines) else "".join(lines)]
    measures = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        measures.append(after_marker("".join(lines[start:end])))
    return measures


def _latin(lines: list[str]) -> bool:
    return all(line.isascii() for line in lines)
