"""From numbered items to the plan's structure: which items are tasks, which are headings.

An item is a task when units are attached to it (a 责任单位/牵头单位/配合单位 line or a closing
parenthesis naming units), and the items of the task's marker kind around it are tasks too (a
task without units is listed as a problem, never guessed); an item of another kind with units
of its own that holds no task is one too. Items above the tasks are headings: two heading levels
become areas and groups, one level both, none a single area; a top-level “二、工作任务” holding
every task is the task section, with the sections before and after it kept as general and work
requirements. Text plans (``parse``) and task tables (``tables``) both end here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.plan import responsibility
from bot.plan.deadlines import deadline_start, inline_deadline, is_deadline_phrase, parse_time_limit
from bot.plan.layout import KIND_NAMES, Item, after_marker, split_inline_shi

TASK_SECTION_WORDS = ("任务", "措施", "举措", "分工")


class PlanParseError(ValueError):
    """The text is not a complete plan; ``line`` is 1-based (0 when not tied to a line)."""

    def __init__(self, line: int, message: str, where: str | None = None):
        self.line = line
        self.message = message
        prefix = where or (f"第{line}行" if line else "")
        super().__init__(f"{prefix}：{message}" if prefix else message)


@dataclass
class Problem:
    """What keeps the plan from being used (a task without units, a cut-off text), named by its place."""

    where: str
    line: int
    message: str
    no_units: bool = False


@dataclass
class ParsedPlan:
    """The parsed structure (``data``, the plan.json form without unit ids) and what keeps it
    from being used (tasks without units, named by line or table row)."""

    data: dict
    problems: list[Problem] = field(default_factory=list)

    def require_complete(self) -> dict:
        """The data, or PlanParseError for the first task without units (all are listed in it)."""
        if self.problems:
            first = self.problems[0]
            more = f"（另有 {len(self.problems) - 1} 个问题）" if len(self.problems) > 1 else ""
            raise PlanParseError(first.line, first.message + more, where=first.where)
        return self.data


def _split_title(text: str) -> tuple[str, str]:
    """Split '重要意义。正文……' into ('重要意义', '正文……')."""
    head, sep, rest = text.partition("。")
    if sep and len(head) <= 30:
        return head, rest.strip()
    return text, ""


def _expand_inline(items: list[Item]) -> list[Item]:
    """Cut '一是……（A牵头）。二是……' paragraphs into one item per 一是 segment."""
    result: list[Item] = []
    for item in items:
        result.append(item)
        if item.kind == "shi" or item.has_unit_line:
            continue
        found = split_inline_shi(item.task_text)
        if not found:
            continue
        head, segments = found
        own = sum(bool(_closing_units(segment)) for _, segment in segments)
        if own < 2:
            continue  # one parenthesis for the whole paragraph: 一是/二是 are parts of one task
        expected, kept = 1, []
        for number, segment in segments:
            if number != expected:
                kept[-1] = (kept[-1][0], kept[-1][1] + segment)
                continue
            kept.append((number, segment))
            expected += 1
        item.head, item.more = head, []
        for number, segment in kept:
            result.append(Item("shi", number, after_marker(segment), item.where, line=item.line, split_from=item))
    return result


def _closing_units(text: str) -> tuple[str, responsibility.Units, bool] | None:
    """(text without it, units, first-is-lead) of a parenthesis naming units at the end of text,
    also when a deadline clause follows it (“建立制度（县委办牵头），2024年底前完成。”)."""
    found = responsibility.split_closing_parenthesis(text)
    parsed = responsibility.from_parenthesis(found[1]) if found else None
    if found and parsed:
        return (found[0], *parsed)
    start = deadline_start(text)
    if not start:
        return None
    found = responsibility.split_closing_parenthesis(text[:start])
    parsed = responsibility.from_parenthesis(found[1]) if found else None
    return (found[0] + text[start:], *parsed) if found and parsed else None


def _read_inline_units(item: Item) -> None:
    if not item.units:
        item.inline = _closing_units(item.task_text)


def _nest(items: list[Item]) -> Item:
    root = Item("root", 0, "", "")
    stack: list[Item] = [root]
    for item in items:
        if item.split_from is not None:
            host = item.split_from
            item.parent = host
            host.children.append(item)
            continue
        while len(stack) > 1 and stack[-1].rank >= item.rank:
            stack.pop()
        item.parent = stack[-1]
        stack[-1].children.append(item)
        stack.append(item)
    return root


def _ancestors(item: Item) -> list[Item]:
    found = []
    node = item.parent
    while node is not None and node.kind != "root":
        found.append(node)
        node = node.parent
    return found


def _task_kind(items: list[Item]) -> str:
    votes: dict[str, int] = {}
    for item in items:
        if item.has_units:
            votes[item.kind] = votes.get(item.kind, 0) + 1
    if not votes:
        kinds = "、".join(sorted({KIND_NAMES.get(i.kind, i.kind) for i in items}))
        raise PlanParseError(
            0,
            f"找到 {len(items)} 个编号条目（{kinds}），但没有一条写明责任单位"
            "（“责任单位：”“牵头单位：”行，或末尾括号里的“××牵头”）：这不是一份实施方案文本",
        )
    return max(votes, key=lambda kind: (votes[kind], -items.index(next(i for i in items if i.kind == kind))))


def _select_tasks(items: list[Item], kind: str) -> list[Item]:
    holders: set[int] = set()
    for item in items:
        if item.kind == kind and item.has_units:
            holders.update(id(a) for a in _ancestors(item))
    tasks: list[Item] = []
    last_root_number = 0
    for item in items:
        if item.kind != kind or any(a.kind == kind for a in _ancestors(item)):
            continue
        if (
            item.has_units
            or any(id(a) in holders for a in _ancestors(item))
            or (item.parent is not None and item.parent.kind == "root" and item.number == last_root_number + 1)
        ):
            tasks.append(item)
        if item.parent is not None and item.parent.kind == "root" and item in tasks:
            last_root_number = item.number
    return tasks


def _other_tasks(items: list[Item], tasks: list[Item]) -> list[Item]:
    """Items of another marker kind with units of their own that hold no task and sit in none
    (a paragraph whose 一是/二是 share one parenthesis, among 一是 tasks)."""
    chosen = {id(t) for t in tasks}
    above = {id(a) for t in tasks for a in _ancestors(t)}
    return [
        item
        for item in items
        if item.has_units
        and id(item) not in chosen
        and id(item) not in above
        and not any(id(a) in chosen for a in _ancestors(item))
    ]


def _check_numbers(tasks: list[Item]) -> None:
    previous: Item | None = None
    seen: dict[int, Item] = {}
    for task in tasks:
        if previous is None:
            expected = 1
        elif task.number == 1 and task.parent is not previous.parent:
            seen = {}
            expected = 1
        else:
            expected = previous.number + 1
        if task.number != expected:
            if task.number in seen:
                raise PlanParseError(
                    task.line,
                    f"任务({task.number})重复出现（第一次在{seen[task.number].where}）",
                    where=task.where,
                )
            raise PlanParseError(task.line, f"任务编号跳号：应为({expected})，实际为({task.number})", where=task.where)
        seen[task.number] = task
        previous = task


def _heading_title(item: Item) -> str:
    return _split_title(item.task_text)[0].rstrip("。.；;：:")


def build_structure(document: dict, preamble: list[str], items: list[Item], source_kind: str = "text") -> ParsedPlan:
    """Decide tasks and headings among ``items`` and return the plan data (no unit ids)."""
    items = _expand_inline(items)
    for item in items:
        _read_inline_units(item)
    kind = _task_kind(items)
    root = _nest(items)
    tasks = _select_tasks(items, kind)
    _check_numbers(tasks)
    others = _other_tasks(items, tasks)
    if others:
        position = {id(item): index for index, item in enumerate(items)}
        tasks = sorted(tasks + others, key=lambda item: position[id(item)])
    task_ids = {id(t) for t in tasks}

    # Sections: the top-level items; one that alone holds every task is the task section.
    top = [child for child in root.children if child.kind == "section"]
    holding = [s for s in top if any(s in _ancestors(t) for t in tasks)]
    wrapper = None
    titled = bool(holding) and any(word in holding[0].task_text for word in TASK_SECTION_WORDS)
    if len(holding) == 1 and not any(t.parent is root for t in tasks) and (len(top) > 1 or titled):
        wrapper = holding[0]
    heading_ranks = sorted({a.rank for t in tasks for a in _ancestors(t) if a is not wrapper and id(a) not in task_ids})
    area_rank = heading_ranks[0] if heading_ranks else None
    group_rank = heading_ranks[-1] if heading_ranks else None

    areas: list[dict] = []
    groups: list[dict] = []
    area_of: dict[int, int] = {}
    group_of: dict[tuple[int, int], int] = {}
    out_tasks: list[dict] = []
    problems: list[Problem] = []
    default_title = wrapper.task_text if wrapper else (document.get("title") or "工作任务")
    for number, task in enumerate(tasks, start=1):
        chain = _ancestors(task)
        # A task at a heading's level among headings (“（三）加强保障。保障经费（财政局负责）”) heads itself.
        own = [task] if task.rank in (area_rank, group_rank) and _split_title(task.task_text)[1] else []
        area_item = next((a for a in [*chain, *own] if a.rank == area_rank and a is not wrapper), None)
        group_item = next((a for a in [*chain, *own] if a.rank == group_rank and a is not wrapper), None)
        area_key = id(area_item) if area_item else 0
        if area_key not in area_of:
            areas.append({"number": len(areas) + 1, "title": _heading_title(area_item) if area_item else default_title})
            area_of[area_key] = len(areas)
        area_number = area_of[area_key]
        group_key = (area_number, id(group_item) if group_item else 0)
        if group_key not in group_of:
            title = _heading_title(group_item) if group_item else areas[area_number - 1]["title"]
            groups.append({"number": len(groups) + 1, "title": title, "area": area_number})
            group_of[group_key] = len(groups)
        text, units, first_is_lead = _task_content(task)
        lead_rule = first_is_lead or document.get("first_is_lead", False)
        if first_is_lead and "下同" in task.task_text:
            document["first_is_lead"] = True
        units = units.ordered(lead_rule)
        deadline = task.deadline if task.deadline is not None else _inline_deadline(task, text)
        out_tasks.append(
            {
                "number": number,
                "area": area_number,
                "group": group_of[group_key],
                "text": text,
                "units_printed": units.labels,
                "time_limit": parse_time_limit(deadline),
                "unit_roles": dict(zip(units.labels, units.roles, strict=True)),
            }
        )
        if not units:
            problems.append(
                Problem(
                    task.where,
                    task.line,
                    f"任务({task.number})没有“责任单位”行，末尾也没有写明单位的括号"
                    f"（{text[:20]}{'…' if len(text) > 20 else ''}）",
                    no_units=True,
                )
            )

    if not out_tasks:
        raise PlanParseError(0, "没有找到任何编号任务：这不是一份实施方案文本")
    first_line, last_line = tasks[0].line, tasks[-1].line
    if holding:
        first_line, last_line = holding[0].line, holding[-1].line
    before = [s for s in top if s.line < first_line and s not in holding]
    after = [s for s in top if s.line > last_line and s not in holding]
    if wrapper is not None and before and not after and source_kind == "text":
        problems.append(
            Problem(
                items[-1].where, items[-1].line, "文本在任务部分之后就结束了，缺少“工作要求”等结尾部分：文件可能不完整"
            ),
        )
    document.pop("first_is_lead", None)
    data = {
        "document": {**document, "preamble": "\n".join(preamble)},
        "general_requirements": [_section_out(s) for s in before],
        "task_section": {"number": wrapper.number, "title": wrapper.task_text} if wrapper else None,
        "areas": areas,
        "groups": groups,
        "tasks": out_tasks,
        "work_requirements": [_section_out(s) for s in after],
    }
    return ParsedPlan(data, problems)


def _task_content(task: Item) -> tuple[str, responsibility.Units, bool]:
    if task.units:
        return task.task_text, task.units, task.first_is_lead
    if task.inline is not None:
        return task.inline
    return task.task_text, responsibility.Units(), False


def _inline_deadline(task: Item, text: str) -> str | None:
    if task.inline is not None:
        content = responsibility.split_closing_parenthesis(task.task_text)
        if content:
            rest, deadline = responsibility.split_limit(content[1])
            if deadline:
                return deadline
            for clause in re.split(r"[;；，,。]", rest):
                if is_deadline_phrase(clause):
                    return clause.strip()
    return inline_deadline(text)


def _section_out(section: Item) -> dict:
    parts = [{"number": 0, "title": "", "text": "\n".join(section.more)}] if section.more else []
    for child in section.children:
        title, rest = _split_title(child.head)
        text = rest
        for line in child.more:
            text = f"{text}\n{line}".strip()
        parts.append({"number": child.number, "title": title, "text": text})
    return {"number": section.number, "title": section.head, "parts": parts}
