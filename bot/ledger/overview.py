"""What the office sees: ledger slots, silent units, the quarterly overview, a task's history,
public progress answers and the export rows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.answers.normalize import extract_task_number, normalize
from bot.ledger.quarters import CN_NUMERALS, LedgerError, Quarter, as_quarter, current_quarter, local_date, when
from bot.ledger.reports import REPORT_EXAMPLE, brief, members_of, task_of, unit_names
from bot.people.roles import Caller, PermissionDenied, authorize, check
from bot.plan.model import Heading, Plan, Task, default_plan
from bot.plan.units import Unit
from bot.storage import Storage, UnitContact
from bot.storage.ledger import LedgerReport


@dataclass(frozen=True)
class Slot:
    """One row of the ledger: a task, one of its responsible units, and that unit's latest reports.

    ``reports`` holds the latest report of the unit itself and of each unit that is one of it,
    the unit's own first.
    """

    task: Task
    unit: Unit
    reports: tuple[LedgerReport, ...]

    @property
    def updated(self) -> datetime | None:
        return max((r.updated_at for r in self.reports), default=None)


def slots(
    storage: Storage, quarter: Quarter | str | None = None, *, task: int | None = None, plan: Plan | None = None
) -> list[Slot]:
    """Every (task, unit) row in plan order with the latest reports (filed in ``quarter``, or ever)."""
    plan = plan or default_plan()
    code = as_quarter(quarter).code if quarter is not None else None
    latest = {(r.task, r.unit_id): r for r in storage.latest_ledger_reports(code, task)}
    rows = []
    for item in plan.tasks if task is None else [task_of(plan, task)]:
        for unit_id in item.unit_ids:
            contributors = [unit_id, *(unit.id for unit in members_of(plan, unit_id))]
            found = tuple(latest[(item.number, c)] for c in contributors if (item.number, c) in latest)
            rows.append(Slot(item, plan.unit(unit_id), found))
    return rows


def report_line(report: LedgerReport, slot_unit: Unit, plan: Plan) -> str:
    """A report's text as it appears in a slot: marked with the reporting unit when it is a member unit."""
    body = report.text + (f"（附件：{report.attachment.name}）" if report.attachment else "")
    if report.unit_id != slot_unit.id:
        body = f"【{plan.unit(report.unit_id).short}】{body}"
    return body


def silent_units(storage: Storage, quarter: Quarter | str, plan: Plan | None = None) -> list[tuple[str, list[int]]]:
    """Units with at least one task on which nobody reported in ``quarter``: (unit id, those task numbers).

    In catalogue order. A task of a collective unit counts as reported when the unit or any unit that is
    one of it reported. Units without any contact on the roster are included (they cannot be reminded;
    see :func:`reporting_contacts`).
    """
    plan = plan or default_plan()
    silent: dict[str, list[int]] = {}
    for slot in slots(storage, quarter, plan=plan):
        if not slot.reports:
            silent.setdefault(slot.unit.id, []).append(slot.task.number)
    return [(unit_id, silent[unit_id]) for unit_id in plan.catalogue.units if unit_id in silent]


def reporting_contacts(storage: Storage, unit_id: str, plan: Plan | None = None) -> list[UnitContact]:
    """Active unit contacts who can report for ``unit_id``: its own and those of the units that are one of it."""
    plan = plan or default_plan()
    units = {unit_id, *(unit.id for unit in members_of(plan, unit_id))}
    return [person for person in storage.people("unit_contact", active=True) if person.unit_id in units]


def task_numbers(numbers: list[int]) -> str:
    return "".join(f"（{n}）" for n in numbers)


def unit_reminder_text(unit_id: str, numbers: list[int], quarter: Quarter | str, plan: Plan | None = None) -> str:
    """The quarterly reminder a silent unit's contacts receive."""
    plan = plan or default_plan()
    quarter = as_quarter(quarter)
    return (
        f"【任务台账提醒】{quarter.label}将于 {quarter.last_day.month}月{quarter.last_day.day}日结束，"
        f"{plan.unit(unit_id).short}以下任务本季度尚未填报进展：{task_numbers(numbers)}。\n"
        f"请发送 /mytasks 选择任务填报，或直接发送：{REPORT_EXAMPLE}"
    )


def silent_units_text(storage: Storage, quarter: Quarter | str, plan: Plan | None = None) -> str:
    """The list of silent units for the secretaries (sent at the quarter's end)."""
    plan = plan or default_plan()
    quarter = as_quarter(quarter)
    silent = silent_units(storage, quarter, plan)
    if not silent:
        return f"{quarter.label}：各责任单位均已填报任务进展。"
    staffed = {person.unit_id for person in storage.people("unit_contact", active=True)}
    lines = [f"{quarter.label}未填报进展的单位（{len(silent)} 个）："]
    for unit_id, numbers in silent:
        note = "〔名单中无联络员〕" if _unstaffed(plan, unit_id, staffed) else ""
        lines.append(f"· {plan.unit(unit_id).short}：{task_numbers(numbers)}{note}")
    return "\n".join(lines)


def _unstaffed(plan: Plan, unit_id: str, staffed: set[str]) -> bool:
    """No contact on the roster can report for this unit (so nobody can be reminded)."""
    return not {unit_id, *(unit.id for unit in members_of(plan, unit_id))} & staffed


# ---- the secretaries' overview -----------------------------------------------------------------


@dataclass(frozen=True)
class AreaSummary:
    area: Heading
    tasks: int
    reported: int  # tasks with at least one report this quarter
    silent: tuple[tuple[Unit, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Overview:
    quarter: Quarter
    areas: tuple[AreaSummary, ...]
    public: tuple[Unit, ...]
    unstaffed: frozenset[str]  # units with no contact who could report for them

    @property
    def tasks(self) -> int:
        return sum(a.tasks for a in self.areas)

    @property
    def reported(self) -> int:
        return sum(a.reported for a in self.areas)


def overview(
    storage: Storage,
    caller: Caller,
    quarter: Quarter | str | None = None,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> Overview:
    """Per task area: how many tasks have a report in the quarter, and which units are silent on which tasks."""
    plan = plan or default_plan()
    authorize(storage, caller, "view_ledger")
    quarter = as_quarter(quarter) if quarter is not None else current_quarter(storage, now)
    rows = slots(storage, quarter, plan=plan)
    staffed = {person.unit_id for person in storage.people("unit_contact", active=True)}
    areas = []
    for area in plan.areas:
        in_area = [row for row in rows if row.task.area == area.number]
        numbers = {row.task.number for row in in_area}
        reported = {row.task.number for row in in_area if row.reports}
        silent: dict[str, list[int]] = {}
        for row in in_area:
            if not row.reports:
                silent.setdefault(row.unit.id, []).append(row.task.number)
        ordered = [
            (plan.unit(unit_id), tuple(silent[unit_id])) for unit_id in plan.catalogue.units if unit_id in silent
        ]
        areas.append(AreaSummary(area, len(numbers), len(reported), tuple(ordered)))
    public = storage.public_units()
    return Overview(
        quarter,
        tuple(areas),
        tuple(unit for unit in plan.catalogue.units.values() if unit.id in public),
        frozenset(uid for uid in plan.catalogue.units if _unstaffed(plan, uid, staffed)),
    )


def _cn(number: int) -> str:
    return CN_NUMERALS[number] if 0 < number <= 10 else str(number)


def format_overview(view: Overview) -> str:
    lines = [
        f"任务台账 · {view.quarter.label}",
        f"共 {view.tasks} 项任务，本季度有进展的 {view.reported} 项。",
    ]
    for area in view.areas:
        lines.append(f"（{_cn(area.area.number)}）{area.area.title}：{area.tasks} 项，有进展 {area.reported} 项")
        if area.silent:
            parts = [
                f"{unit.short}{task_numbers(list(numbers))}{'〔无联络员〕' if unit.id in view.unstaffed else ''}"
                for unit, numbers in area.silent
            ]
            lines.append("  未填报：" + "；".join(parts))
        else:
            lines.append("  各责任单位均已填报。")
    public = unit_names(list(view.public)) if view.public else "暂无"
    lines.append(f"向所有人公开进展的单位：{public}（其余单位的进展仅政协办可见）。")
    return "\n".join(lines)


# ---- one task ---------------------------------------------------------------------------------------


def _slot_lines(
    rows: list[Slot], plan: Plan, tz: ZoneInfo, visible: Callable[[LedgerReport], bool], public: set[str], empty: str
) -> list[str]:
    """Each unit's latest visible report, one line each; unpublished ones marked."""
    lines = []
    for row in rows:
        shown = [r for r in row.reports if visible(r)]
        if not shown:
            lines.append(f"· {row.unit.short}：{empty}")
        for report in shown:
            mark = "" if report.unit_id in public else "〔未公开〕"
            day = local_date(report.updated_at, tz)
            lines.append(f"· {row.unit.short}（{day}）：{report_line(report, row.unit, plan)}{mark}")
    return lines


def task_detail(
    storage: Storage,
    caller: Caller,
    number: int,
    quarter: Quarter | str | None = None,
    *,
    history_limit: int | None = None,
    plan: Plan | None = None,
) -> str:
    """For secretaries: each unit's latest report side by side, then the task's whole history (newest first)."""
    plan = plan or default_plan()
    authorize(storage, caller, "view_ledger")
    task = task_of(plan, number)
    tz = storage.tz
    quarter = as_quarter(quarter) if quarter is not None else None
    scope = f"{quarter.label}" if quarter else ""
    lines = [
        f"（{task.number}）{task.text}",
        f"责任单位：{unit_names(plan.units_of_task(number))}　完成时限：{task.time_limit.text or '未注明'}",
        f"各单位{scope}最新进展：",
        *_slot_lines(
            slots(storage, quarter, task=number, plan=plan), plan, tz, lambda _: True, storage.public_units(), "暂无"
        ),
    ]
    reports = storage.ledger_reports(task=number, quarter=quarter.code if quarter else None)
    if not reports:
        lines.append(f"{scope}历史记录：暂无。")
        return "\n".join(lines)
    shown = reports if history_limit is None else reports[:history_limit]
    lines.append(f"{scope}历史记录（共 {len(reports)} 条，新的在前）：")
    for report in shown:
        edited = f"（已修改 {report.edits} 次）" if report.edits else ""
        attachment = f"（附件：{report.attachment.name}）" if report.attachment else ""
        lines.append(
            f"#{report.id} {when(report.created_at, tz)} {plan.unit(report.unit_id).short} {report.contact_name}"
            f"{edited}：{report.text}{attachment}"
        )
        for version in storage.ledger_versions(report.id):
            lines.append(f"    修改前（{when(version.written_at, tz)}）：{version.text}")
    if len(shown) < len(reports):
        lines.append(
            f"……另有 {len(reports) - len(shown)} 条更早的记录，可在服务器上运行 cppcc-bot ledger show {number} 查看。"
        )
    return "\n".join(lines)


def reports_with_attachments(storage: Storage, caller: Caller, number: int, limit: int) -> list[LedgerReport]:
    """The task's newest reports that carry an attachment (for secretaries to open them)."""
    authorize(storage, caller, "view_ledger")
    return [r for r in storage.ledger_reports(task=number) if r.attachment][:limit]


def attachment_report(storage: Storage, caller: Caller, report_id: int) -> LedgerReport:
    """A report whose attachment the caller may fetch: secretaries any, contacts their own unit's."""
    report = storage.ledger_report(report_id)
    if report is None or report.attachment is None:
        raise LedgerError("没有找到这个附件。")
    if report.unit_id != caller.unit_id:
        authorize(storage, caller, "view_ledger")
    return report


# ---- "（33）落实得怎么样" -----------------------------------------------------------------------------

_PROGRESS_WORDS = re.compile(
    r"落实得?(?:怎么样|咋样|如何|情况|了吗|了没|进度)|进展|进度|完成(?:得?怎么样|得?如何|情况|了吗|了没)"
)
_NUMBER_BEFORE_WORD = re.compile(r"(?<![0-9.])([0-9]{1,3})\s*(?:条|项|号)?\s*(?:的)?\s*(?=落实|进展|进度|完成)")


def parse_progress_question(text: str | None) -> int | None:
    """The task number of a progress question such as （33）落实得怎么样 / 33条进展 / 第三十三项进度; else None."""
    if not text or len(text) > 200:
        return None
    norm = normalize(text)
    if not _PROGRESS_WORDS.search(norm):
        return None
    number = extract_task_number(norm)
    if number is None:
        match = _NUMBER_BEFORE_WORD.search(norm)
        number = int(match.group(1)) if match else None
    return number


def _may(caller: Caller, action: str) -> bool:
    try:
        check(caller, action)
    except PermissionDenied:
        return False
    return True


def progress_answer(
    storage: Storage, caller: Caller, number: int, *, public_only: bool = False, plan: Plan | None = None
) -> str:
    """The latest progress of each unit on a task, as far as the caller may see it.

    Everyone sees published units; secretaries see every unit (unpublished ones marked);
    a unit contact also sees their own unit's reports. ``public_only`` (e.g. for an answer in a
    group chat, which everyone there reads) shows published units only, whoever asks.
    """
    plan = plan or default_plan()
    try:
        task = task_of(plan, number)
    except LedgerError as exc:
        return exc.message
    public = storage.public_units()
    sees_all = not public_only and _may(caller, "view_ledger")
    own_unit = None if public_only else caller.unit_id

    def visible(report: LedgerReport) -> bool:
        return sees_all or report.unit_id in public or report.unit_id == own_unit

    rows = slots(storage, task=number, plan=plan)
    head = f"方案第（{task.number}）项：{brief(task.text, 40)}\n责任单位：{unit_names(plan.units_of_task(number))}"
    if not any(visible(r) for row in rows for r in row.reports):
        return f"{head}\n各责任单位暂未公开这项任务的落实进展。如需了解，请咨询政协办。"
    empty = "暂无进展" if sees_all else "暂无公开的进展"
    return "\n".join([head, "最新落实进展：", *_slot_lines(rows, plan, storage.tz, visible, public, empty)])


# ---- visibility -----------------------------------------------------------------------------------


def resolve_unit(plan: Plan, name: str) -> Unit:
    text = unicodedata.normalize("NFKC", name or "").strip()
    unit = plan.catalogue.units.get(text) or plan.resolve_unit(text)
    if unit is None:
        names = unit_names(list(plan.catalogue.units.values()))
        raise LedgerError(f"没有找到单位“{name}”。方案中的责任单位：{names}")
    return unit


def set_public(
    storage: Storage,
    caller: Caller,
    unit_name: str,
    public: bool,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> Unit:
    """Make a unit's reports visible to everyone (or only to the office again)."""
    plan = plan or default_plan()
    authorize(storage, caller, "manage_ledger")
    unit = resolve_unit(plan, unit_name)
    now = now or storage.now()
    with storage.atomic():
        storage.set_unit_public(unit.id, public, caller.telegram_id, now)
        storage.audit(caller.telegram_id, "ledger_publish" if public else "ledger_hide", {"unit_id": unit.id}, now)
    return unit


# ---- the ledger table (for the export) -------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    number: int  # 序号: the task's number in the plan
    task: str  # 任务内容
    unit: str  # 责任单位
    time_limit: str  # 完成时限
    progress: str  # 进展情况
    updated: date | None  # 更新日期


def ledger_rows(
    storage: Storage, caller: Caller, quarter: Quarter | str | None = None, *, plan: Plan | None = None
) -> list[LedgerRow]:
    """One row per task and responsible unit, in plan order; progress filed in ``quarter`` (or the latest ever)."""
    plan = plan or default_plan()
    authorize(storage, caller, "view_ledger")
    return [
        LedgerRow(
            number=row.task.number,
            task=row.task.text,
            unit=row.unit.short,
            time_limit=row.task.time_limit.text or "",
            progress="\n".join(report_line(r, row.unit, plan) for r in row.reports),
            updated=local_date(row.updated, storage.tz) if row.updated else None,
        )
        for row in slots(storage, quarter, plan=plan)
    ]


# ---- the /report command line ---------------------------------------------------------------------------
