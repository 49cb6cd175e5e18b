"""Parse a published county plan (web-page copy) into the structured plan data.

The parser is line based. Structural markers are matched on an NFKC-normalised
copy of each line, so full-width and half-width punctuation, digits and
brackets all work; the text stored in the result is the printed text.

Layout understood (the style of 《关于加强和改进新时代县政协工作的实施方案》):

    一、总体要求                      top-level section
    (一)重要意义。……                 part with inline text
    二、工作任务
    (一)加强专门协商机构建设          task area (title only)
    1.明确协商内容                    task group
    (1)……                           numbered task (text may span lines)
    责任单位:县委办、政府办            responsible units
    完成时限:长期坚持                  time limit (optional)
    三、工作要求
    (一)强化组织领导……。……           paragraph

Anything before the notice/plan title and after the last paragraph (web
navigation, "扫一扫" footers) is ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_NUM = "零〇一二三四五六七八九十百两"

SECTION_RE = re.compile(rf"^([{CN_NUM}]+)、\s*(.+)$")
PAREN_CN_RE = re.compile(rf"^\(([{CN_NUM}]+)\)\s*(.+)$")
GROUP_RE = re.compile(r"^(\d{1,2})[.、]\s*(\S.*)$")
TASK_RE = re.compile(r"^\((\d{1,3})\)\s*(.*)$")
UNITS_RE = re.compile(r"^责任单位\s*:\s*(.*)$")
LIMIT_RE = re.compile(r"^完成时限\s*:\s*(.*)$")
UNIT_SPLIT_RE = re.compile(r"[、,，;；/\s]+")
TITLE_RE = re.compile(r"^关于.+(方案|意见|办法|措施)$")
ISSUE_DATE_RE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
DEADLINE_RE = re.compile(r"(\d{4})年(?:(\d{1,2})月)?(?:(\d{1,2})日|底|前|末)?")
FOOTER_MARKERS = ("扫一扫", "附件下载", "打印本页", "关闭窗口", "【打印】", "【关闭】")


class PlanParseError(ValueError):
    """The text is not a complete plan; ``line`` is 1-based (0 when not tied to a line)."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"第{line}行: {message}" if line else message)


@dataclass
class _Line:
    number: int
    raw: str
    norm: str


def cn_to_int(text: str) -> int:
    """Convert a Chinese numeral up to 999 (一, 十二, 二十三, 四十五, 一百零五) or digits to int."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


def _norm(line: str) -> str:
    return unicodedata.normalize("NFKC", line).strip()


def _split_title(text: str) -> tuple[str, str]:
    """Split '重要意义。正文……' into ('重要意义', '正文……')."""
    head, sep, rest = text.partition("。")
    if sep and len(head) <= 30:
        return head, rest.strip()
    return text, ""


def parse_time_limit(printed: str | None) -> dict:
    """Classify a 完成时限 value: ongoing, a deadline (with an ISO date), or free text."""
    if not printed:
        return {"text": None, "kind": "unspecified", "date": None}
    text = printed.strip()
    norm = _norm(text)
    if any(word in norm for word in ("长期", "持续", "常态")):
        return {"text": text, "kind": "ongoing", "date": None}
    match = DEADLINE_RE.search(norm)
    if match:
        year = int(match.group(1))
        month = int(match.group(2) or 12)
        day_text = match.group(3)
        if day_text:
            day = int(day_text)
        else:
            next_month = date(year + (month == 12), month % 12 + 1, 1)
            day = (next_month - date(year, month, 1)).days
        try:
            return {"text": text, "kind": "deadline", "date": date(year, month, day).isoformat()}
        except ValueError:
            pass
    return {"text": text, "kind": "other", "date": None}


def _metadata(lines: list[_Line], body_start: int) -> dict:
    header = "\n".join(line.norm for line in lines[:body_start])

    def find(pattern: str) -> str | None:
        match = re.search(pattern, header)
        return match.group(1).strip() if match else None

    issued = None
    for line in lines[:body_start]:
        match = ISSUE_DATE_RE.match(line.norm)
        if match:
            issued = date(*(int(g) for g in match.groups())).isoformat()
    notice_title = None
    for line in lines[:body_start]:
        if "印发" in line.norm and "通知" in line.norm and "《" in line.norm:
            notice_title = re.sub(r"\s+", " ", line.raw.strip())
            break
    keywords = find(r"关\s*键\s*词\s*(\S+)")
    return {
        "notice_title": notice_title,
        "doc_number": find(r"文\s*号\s*(\S+号)"),
        "index_number": find(r"索引号\s*(\S+)"),
        "issuer": find(r"发布机构\s*(\S+)"),
        "issued_date": issued,
        "published_date": find(r"发布日期\s*(\d{4}-\d{2}-\d{2})"),
        "approved_by": find(r"已经(.+?)审议通过"),
        "keywords": [k for k in re.split(r"[;；,，]", keywords) if k] if keywords else [],
    }


def _find_body_start(lines: list[_Line]) -> int:
    """Index of the plan's own title line (the last 关于…方案 line before 一、)."""
    first_section = next((i for i, line in enumerate(lines) if SECTION_RE.match(line.norm)), None)
    if first_section is None:
        raise PlanParseError(0, "找不到“一、”这样的大标题：这不是一份实施方案文本")
    for i in range(first_section - 1, -1, -1):
        if TITLE_RE.match(lines[i].norm):
            return i
    return first_section


def parse_plan(text: str) -> dict:
    """Parse plan text; return the structure without unit ids (see build.py).

    Raises PlanParseError naming the line on any structural problem; never
    returns a partial plan.
    """
    if "\x00" in text:
        raise PlanParseError(0, "文件包含二进制内容（NUL 字节），不是文本")
    all_lines = [_Line(i + 1, raw, _norm(raw)) for i, raw in enumerate(text.splitlines())]
    lines = [line for line in all_lines if line.norm]
    if not lines:
        raise PlanParseError(0, "文件为空")
    start = _find_body_start(lines)
    title_line = lines[start] if TITLE_RE.match(lines[start].norm) else None
    document = {"title": title_line.raw.strip() if title_line else None, **_metadata(lines, start)}

    preamble: list[str] = []
    sections: list[dict] = []
    areas: list[dict] = []
    groups: list[dict] = []
    tasks: list[dict] = []
    task_lines: dict[int, int] = {}
    current_section: dict | None = None
    current_task: dict | None = None
    current_paragraph: dict | None = None

    def close_task(at: _Line) -> None:
        nonlocal current_task
        if current_task is not None and not current_task["units_printed"]:
            raise PlanParseError(
                task_lines[current_task["number"]],
                f"任务({current_task['number']})没有“责任单位”行（在第{at.number}行之前）",
            )
        current_task = None

    body = lines[start + 1 if title_line else start :]
    for line in body:
        norm = line.norm
        if any(norm.startswith(marker) for marker in FOOTER_MARKERS):
            break
        section = SECTION_RE.match(norm)
        if section:
            close_task(line)
            current_section = {
                "number": cn_to_int(section.group(1)),
                "title": section.group(2).strip(),
                "parts": [],
                "line": line.number,
            }
            sections.append(current_section)
            current_paragraph = None
            continue
        if current_section is None:
            preamble.append(line.raw.strip())
            continue
        task = TASK_RE.match(norm)
        if task:
            close_task(line)
            number = int(task.group(1))
            expected = tasks[-1]["number"] + 1 if tasks else 1
            if number in task_lines:
                raise PlanParseError(line.number, f"任务({number})重复出现（第一次在第{task_lines[number]}行）")
            if number != expected:
                raise PlanParseError(line.number, f"任务编号跳号：应为({expected})，实际为({number})")
            if not groups or not areas:
                raise PlanParseError(line.number, f"任务({number})之前缺少任务大类“(一)”或分组“1.”标题")
            task_lines[number] = line.number
            current_task = {
                "number": number,
                "area": areas[-1]["number"],
                "group": groups[-1]["number"],
                "text": _after_marker(line.raw),
                "units_printed": [],
                "time_limit": parse_time_limit(None),
            }
            tasks.append(current_task)
            current_section["has_tasks"] = True
            continue
        units = UNITS_RE.match(norm)
        if units:
            if current_task is None:
                raise PlanParseError(line.number, "“责任单位”行前面没有任务")
            printed = _after_colon(line.raw)
            labels = [label for label in UNIT_SPLIT_RE.split(printed) if label]
            if not labels:
                raise PlanParseError(line.number, f"任务({current_task['number']})的“责任单位”为空")
            current_task["units_printed"] = labels
            continue
        limit = LIMIT_RE.match(norm)
        if limit:
            if current_task is None:
                raise PlanParseError(line.number, "“完成时限”行前面没有任务")
            current_task["time_limit"] = parse_time_limit(_after_colon(line.raw))
            continue
        area = PAREN_CN_RE.match(norm)
        if area:
            close_task(line)
            number = cn_to_int(area.group(1))
            title, rest = _split_title(_after_marker(line.raw))
            if rest or not _is_task_section(current_section):
                current_paragraph = {"number": number, "title": title, "text": rest}
                current_section["parts"].append(current_paragraph)
            else:
                areas.append({"number": number, "title": title})
                current_paragraph = None
            continue
        group = GROUP_RE.match(norm)
        if group and (current_task is None or current_task["units_printed"]):
            close_task(line)
            groups.append(
                {
                    "number": int(group.group(1)),
                    "title": group.group(2).strip(),
                    "area": areas[-1]["number"] if areas else None,
                }
            )
            continue
        if current_task is not None and not current_task["units_printed"]:
            # A wrapped line continues the sentence: Chinese text joins without a space.
            current_task["text"] += line.raw.strip()
        elif current_paragraph is not None:
            current_paragraph["text"] = f"{current_paragraph['text']}\n{line.raw.strip()}".strip()
    close_task(body[-1])

    if not tasks:
        raise PlanParseError(0, "没有找到任何编号任务“(1)”“(2)”……：这不是一份实施方案文本")
    task_section = next((s for s in sections if s.get("has_tasks")), None)
    later = [s for s in sections if task_section and s["number"] > task_section["number"]]
    if not later:
        raise PlanParseError(body[-1].number, "文本在任务部分之后就结束了，缺少“工作要求”等结尾部分：文件可能不完整")
    for group in groups:
        if group["area"] is None:
            raise PlanParseError(0, f"分组“{group['number']}.{group['title']}”之前没有任务大类")
    _check_sequence([g["number"] for g in groups], "分组")
    _check_sequence([a["number"] for a in areas], "任务大类")

    earlier = [s for s in sections if task_section and s["number"] < task_section["number"]]
    return {
        "document": {**document, "preamble": "\n".join(preamble)},
        "general_requirements": [_section_out(s) for s in earlier],
        "task_section": {"number": task_section["number"], "title": task_section["title"]},
        "areas": areas,
        "groups": groups,
        "tasks": tasks,
        "work_requirements": [_section_out(s) for s in later],
    }


def _is_task_section(section: dict) -> bool:
    """An '(一)' line with no inline text is a task-area heading only inside the task section."""
    return "任务" in section["title"] or section.get("has_tasks", False)


def _section_out(section: dict) -> dict:
    return {"number": section["number"], "title": section["title"], "parts": section["parts"]}


def _check_sequence(numbers: list[int], what: str) -> None:
    for index, number in enumerate(numbers, start=1):
        if number != index:
            raise PlanParseError(0, f"{what}编号不连续：第{index}个编号为{number}")


def _after_marker(raw: str) -> str:
    """Printed text after a leading '(1)', '（一）' or '1.' marker."""
    stripped = raw.strip()
    match = re.match(r"^[(（][^)）]{1,4}[)）]\s*", stripped)
    return stripped[match.end() :].strip() if match else stripped


def _after_colon(raw: str) -> str:
    stripped = raw.strip()
    for index, ch in enumerate(stripped):
        if ch in ":：":
            return stripped[index + 1 :].strip()
    return ""
