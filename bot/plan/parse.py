"""Read a published plan's text into numbered items, then into the structured plan data.

Lines are read on an NFKC-normalised copy (full-width and half-width punctuation, digits and
brackets all work); the text kept is the printed text. Each numbered item (see ``layout``)
takes the lines that follow it: continuation text, unit lines (also on the item's own line),
a deadline line; ``structure`` then decides tasks and headings.

Helan's plan (贺党办〔2023〕70号) reads as before:

    一、总体要求 · (一)重要意义。……   二、工作任务 · (一)加强… · 1.明确协商内容 ·
    (1)…… · 责任单位:县委办、政府办 · 完成时限:长期坚持   三、工作要求 · (一)……

Anything before the plan's title (web navigation, metadata) and after the footer markers
(扫一扫) is ignored. Failures are a :class:`PlanParseError` naming the line and what was
expected there.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date

from bot.plan import responsibility
from bot.plan.deadlines import parse_time_limit
from bot.plan.layout import (
    CN_DIGITS,
    KIND_NAMES,
    LIMIT_LINE_RE,
    PERSON_LINE_RE,
    Item,
    after_marker,
    cn_to_int,
    match_marker,
    norm,
)
from bot.plan.structure import ParsedPlan, PlanParseError, build_structure

__all__ = ["CN_DIGITS", "ParsedPlan", "PlanParseError", "cn_to_int", "parse_plan", "parse_time_limit", "read_plan"]

TITLE_RE = re.compile(r"^(?!.*印发).{2,80}(方案|意见|办法|措施|任务清单|任务分工|分工表|工作要点|责任清单)$")
ISSUE_DATE_RE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
PAGE_NUMBER_RE = re.compile(r"^[-—–－‐\s]*\d{1,3}[-—–－‐\s]*$")
FOOTER_MARKERS = ("扫一扫", "附件下载", "打印本页", "关闭窗口", "【打印】", "【关闭】")


@dataclass
class _Line:
    number: int
    raw: str
    norm: str


def _metadata(lines: list[_Line]) -> dict:
    header = "\n".join(line.norm for line in lines)

    def find(pattern: str) -> str | None:
        match = re.search(pattern, header)
        return match.group(1).strip() if match else None

    issued = None
    for line in lines:
        match = ISSUE_DATE_RE.match(line.norm)
        if match:
            with contextlib.suppress(ValueError):
                issued = date(*(int(g) for g in match.groups())).isoformat()
    notice_title = None
    for line in lines:
        if "印发" in line.norm and "通知" in line.norm and "《" in line.norm:
            notice_title = re.sub(r"\s+", " ", line.raw.strip())
            break
    keywords = find(r"关\s*键\s*词\s*(\S+)")
    return {
        "notice_title": notice_title,
        "doc_number": find(r"文\s*号\s*(\S+号)")
        or next((line.norm for line in lines if DOC_NUMBER_RE.fullmatch(line.norm)), None),
        "index_number": find(r"索引号\s*(\S+)"),
        "issuer": find(r"发布机构\s*(\S+)"),
        "issued_date": issued,
        "published_date": find(r"发布日期\s*(\d{4}-\d{2}-\d{2})"),
        "approved_by": find(r"已经(.+?)审议通过"),
        "keywords": [k for k in re.split(r"[;；,，]", keywords) if k] if keywords else [],
    }


DOC_NUMBER_RE = re.compile(r"\S{1,12}[〔\[［(（]\d{4}[〕\]］)）]\d{1,4}号")  # 某党办发〔2024〕12号 on its own line


def _find_body_start(lines: list[_Line]) -> int:
    """Index of the plan's own title line (the last title-like line before the first numbered
    item), or of the first numbered item when there is no title."""
    first = next((i for i, line in enumerate(lines) if match_marker(line.norm)), None)
    if first is None:
        raise PlanParseError(
            0,
            f"全文 {len(lines)} 行里没有一个编号条目（“一、”“（一）”“1.”“（1）”或“一是”）：这不是一份实施方案文本",
        )
    for i in range(first - 1, -1, -1):
        if TITLE_RE.match(lines[i].norm):
            return i
    return first


def read_items(text: str) -> tuple[dict, list[str], list[Item]]:
    """(document fields, preamble lines, items in print order) of a plan's text."""
    if "\x00" in text:
        raise PlanParseError(0, "文件包含二进制内容（NUL 字节），不是文本")
    lines = [_Line(i + 1, raw, norm(raw)) for i, raw in enumerate(text.splitlines())]
    lines = [line for line in lines if line.norm]
    if not lines:
        raise PlanParseError(0, "文件为空")
    start = _find_body_start(lines)
    has_title = bool(TITLE_RE.match(lines[start].norm))
    document = {"title": lines[start].raw.strip() if has_title else None, **_metadata(lines[:start])}
    preamble: list[str] = []
    items: list[Item] = []
    unit_line: list[str] = []  # the unit line just read, for one wrapped onto the next line
    for line in lines[start + 1 if has_title else start :]:
        wrapped, unit_line = unit_line, []
        if any(line.norm.startswith(marker) for marker in FOOTER_MARKERS):
            break
        if PAGE_NUMBER_RE.match(line.norm):
            continue  # “— 3 —” of a printed page, inside a task's text
        current = items[-1] if items else None
        if responsibility.LINE_RE.match(line.norm):
            if current is None:
                raise PlanParseError(line.number, f"“{line.norm[:6]}”行前面没有任务")
            raw = line.raw.strip()
            note = responsibility.LEAD_NOTE_RE.search(raw)
            if note:  # 责任单位：县委组织部、县委统战部（列第一位的为牵头单位）
                raw = (raw[: note.start()] + raw[note.end() :]).strip()
                current.first_is_lead = True
                document["first_is_lead"] = document.get("first_is_lead", False) or "下同" in note.group(0)
            units = responsibility.from_line(raw)
            if not units:
                raise PlanParseError(line.number, f"{_name(current)}的“{line.norm[:4]}”为空")
            current.units.extend(units)
            current.has_unit_line = True
            current.unit_lines.append(line.raw.strip())
            unit_line = [line.raw.strip()]
            continue
        if wrapped and _wraps_units(wrapped[0], line.norm):
            # “责任单位：县委办、县\n政协办公室”: the unit line goes on; read it again whole.
            unit_line = [wrapped[0] + line.raw.strip()]
            current.units = responsibility.Units()
            for text in (*current.unit_lines[:-1], unit_line[0]):
                current.units.extend(responsibility.from_line(text))
            current.unit_lines[-1] = unit_line[0]
            continue
        if current is not None and PERSON_LINE_RE.match(line.norm):
            continue
        limit = LIMIT_LINE_RE.match(line.norm)
        if limit:
            if current is None:
                raise PlanParseError(line.number, "“完成时限”行前面没有任务")
            current.deadline = _after_colon(line.raw)
            continue
        marker = match_marker(line.norm)
        if marker:
            kind, number, _ = marker
            item = Item(kind, number, after_marker(line.raw), f"第{line.number}行", line=line.number)
            fields = responsibility.split_inline_fields(item.head)
            if fields:
                item.head, units, item.deadline = fields[0], responsibility.from_line(fields[1]), fields[2]
                item.units.extend(units)
                item.has_unit_line = bool(units)
                item.unit_lines.append(fields[1])
                unit_line = [fields[1]] if not item.deadline else []
            items.append(item)
            continue
        if responsibility.FIRST_IS_LEAD_RE.search(line.norm):
            document["first_is_lead"] = True  # “注：列第一位者为牵头单位” said once for the plan
        if current is None:
            preamble.append(line.raw.strip())
        elif not current.has_unit_line:
            current.more.append(line.raw.strip())
    return document, preamble, items


def _wraps_units(unit_line: str, normalised: str) -> bool:
    """The end of a unit line cut off mid-name (“…、县” then “政协办公室”): a short line without a
    sentence end after a unit line whose last label is no unit name yet."""
    labels = responsibility.split_labels(unit_line.split("：")[-1].split(":")[-1])
    unfinished = unit_line.rstrip()[-1:] in "、，," or not (labels and responsibility.looks_like_unit(labels[-1]))
    return (
        unfinished
        and len(normalised) <= 20
        and not any(ch in normalised for ch in "。:：")
        and not match_marker(normalised)
        and not LIMIT_LINE_RE.match(normalised)
    )


def _after_colon(raw: str) -> str:
    stripped = raw.strip()
    for index, ch in enumerate(stripped):
        if ch in ":：":
            return stripped[index + 1 :].strip()
    return ""


def _name(item: Item) -> str:
    if item.kind == "row":
        return item.where
    return f"条目{KIND_NAMES.get(item.kind, '')}{item.number}"


def read_plan(text: str) -> ParsedPlan:
    """Parse plan text into a :class:`ParsedPlan` (tasks without units listed as problems)."""
    document, preamble, items = read_items(text)
    return build_structure(document, preamble, items)


def parse_plan(text: str) -> dict:
    """Parse plan text; return the structure without unit ids (see build.py).

    Raises PlanParseError naming the line on any structural problem or task without units;
    never returns a partial plan.
    """
    return read_plan(text).require_complete()
