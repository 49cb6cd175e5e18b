"""What an imported plan holds, before it is used: data for the bot and the command line, and text.

Tasks per heading, tasks without a unit (with their line or table row), the units and which are
new to the catalogue (with the aliases they get and the known unit they may be), lead units
named, deadlines read or not, and what keeps the plan from being used.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.plan.newunits import Match
from bot.plan.structure import Problem
from bot.plan.units import UnitCatalogue

KIND_NAMES = {"deadline": "期限", "ongoing": "长期", "recurring": "周期", "other": "其他"}
CN = "一二三四五六七八九十"


@dataclass(frozen=True)
class HeadingCount:
    area: str
    group: str | None  # None when the plan has one heading level (group = area)
    first: int
    last: int
    count: int


@dataclass(frozen=True)
class NewUnit:
    label: str
    aliases: tuple[str, ...]
    group: bool
    maybe: str | None  # the known unit it may be, by name


@dataclass
class Preview:
    """The preview of one import; ``ok`` when the plan can be put in force."""

    source: str
    title: str | None = None
    kind: str = "text"  # text | docx | xlsx | table
    tasks: int = 0
    headings: list[HeadingCount] = field(default_factory=list)
    known_units: list[tuple[str, str]] = field(default_factory=list)  # (printed, catalogue name)
    new_units: list[NewUnit] = field(default_factory=list)
    with_lead: int = 0
    deadlines: dict[str, int] = field(default_factory=dict)  # kind → count
    without_deadline: int = 0
    without_units: list[str] = field(default_factory=list)  # “第12行 任务(4)…”
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tasks > 0 and not self.problems and not self.without_units

    def text(self) -> str:
        kind = {"docx": "Word 文档", "xlsx": "Excel 表格", "xls": "Excel 表格", "table": "表格"}.get(self.kind, "文字")
        lines = [f"方案预览：{f'《{self.title}》' if self.title else '（未找到标题）'}（{self.source}，{kind}）"]
        if not self.tasks:
            lines.append("没有读出任务。")
        else:
            lines.append(f"共 {self.tasks} 项任务：")
            for index, heading in enumerate(self.headings):
                span = f"（{heading.first}）" if heading.count == 1 else f"（{heading.first}）–（{heading.last}）"
                name = heading.area if heading.group is None else f"{heading.area} · {heading.group}"
                prefix = f"{CN[index]}、" if heading.group is None and index < len(CN) else "· "
                lines.append(f"  {prefix}{name}：{span} {heading.count} 项")
            units = len(self.known_units) + len(self.new_units)
            lines.append(f"责任单位 {units} 个，{self.with_lead} 项任务写明了牵头单位。")
            if self.new_units:
                lines.append("单位目录中没有的单位（将按下列名称新建，请确认；如是已有单位，请合并）：")
                for unit in self.new_units:
                    extra = "集合单位" if unit.group else (f"别名：{'、'.join(unit.aliases)}" if unit.aliases else "")
                    maybe = f"——可能就是“{unit.maybe}”？" if unit.maybe else ""
                    lines.append(f"  · {unit.label}{f'（{extra}）' if extra else ''}{maybe}")
            read = sum(self.deadlines.values())
            kinds = "、".join(f"{KIND_NAMES.get(k, k)} {n}" for k, n in self.deadlines.items())
            lines.append(
                f"完成时限：读出 {read} 项{f'（{kinds}）' if kinds else ''}，未写明 {self.without_deadline} 项。"
            )
        if self.without_units:
            lines.append(f"没有责任单位的任务（{len(self.without_units)} 项，不会猜测，请在原文中补上）：")
            lines += [f"  · {entry}" for entry in self.without_units[:20]]
            if len(self.without_units) > 20:
                lines.append(f"  …另有 {len(self.without_units) - 20} 项")
        for problem in self.problems:
            lines.append(f"问题：{problem}")
        lines += self.notes
        if self.ok:
            lines.append("确认无误后启用；启用前，现行方案不变。")
        else:
            lines.append("这份文件不能启用，现行方案不变。")
        return "\n".join(lines)


def failed(source: str, message: str, kind: str = "text") -> Preview:
    return Preview(source=source, kind=kind, problems=[message])


def describe(
    source: str,
    kind: str,
    plan: dict,
    problems: list[Problem],
    matches: dict[str, Match],
    catalogue: UnitCatalogue | None,
) -> Preview:
    """The preview of a parsed (and, when complete, built) plan."""
    preview = Preview(source=source, title=plan["document"].get("title"), kind=kind, tasks=len(plan["tasks"]))
    areas = {a["number"]: a["title"] for a in plan["areas"]}
    groups = {g["number"]: g for g in plan["groups"]}
    one_level = all(g["title"] == areas[g["area"]] for g in plan["groups"])
    by_group: dict[int, list[int]] = {}
    for task in plan["tasks"]:
        by_group.setdefault(task["group"], []).append(task["number"])
    for number, tasks in by_group.items():
        group = groups[number]
        preview.headings.append(
            HeadingCount(areas[group["area"]], None if one_level else group["title"], tasks[0], tasks[-1], len(tasks))
        )
    deadlines: Counter[str] = Counter()
    for task in plan["tasks"]:
        kind_ = task["time_limit"]["kind"]
        if kind_ == "unspecified":
            preview.without_deadline += 1
        else:
            deadlines[kind_] += 1
        if "lead" in task["unit_roles"].values():
            preview.with_lead += 1
    preview.deadlines = dict(deadlines)
    for problem in problems:
        text = f"{problem.where}：{problem.message}" if problem.where else problem.message
        (preview.without_units if problem.no_units else preview.problems).append(text)
    for label, match in matches.items():
        if match.new is not None:
            maybe = catalogue.units[match.suggestion].short if catalogue and match.suggestion else None
            preview.new_units.append(NewUnit(label, tuple(match.new["aliases"]), match.group, maybe))
        elif catalogue is not None:
            names = "、".join(catalogue.units[i].short for i in match.ids if i in catalogue.units)
            preview.known_units.append((label, names))
    return preview
