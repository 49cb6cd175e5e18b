"""Units' progress reports on their tasks: submit, edit within the window, a unit's own
tasks; the /report and /ledger argument parsers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.ledger.quarters import LedgerError, Quarter, current_quarter, parse_quarter, when
from bot.numbers import NumberError
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan, Task, default_plan
from bot.plan.tasknumber import looks_like_task_number, parse_task_number, split_task_number
from bot.plan.units import Unit
from bot.storage import Storage
from bot.storage.ledger import Attachment, LedgerReport

MAX_REPORT_CHARS = 1000
EDIT_WINDOW = timedelta(hours=24)
REPORT_EXAMPLE = "/report 33 本季度组织委员集中培训1次，参训42人"


# ---- quarters -------------------------------------------------------------------------------


def members_of(plan: Plan, unit_id: str) -> list[Unit]:
    """Units that are "one of" ``unit_id`` (e.g. 政协提案和委员联络委 for 政协各专门委员会)."""
    return [unit for unit in plan.catalogue.units.values() if unit_id in unit.member_of]


def reportable_tasks(plan: Plan, unit_id: str) -> list[int]:
    """Task numbers a unit may report on: its own and those of the collective units it is one of."""
    if unit_id not in plan.catalogue.units:
        return []
    return plan.tasks_of_unit(unit_id).all_numbers


def unit_names(units: list[Unit]) -> str:
    return "、".join(unit.short for unit in units)


def task_of(plan: Plan, number: int) -> Task:
    task = plan.task(number)
    if task is None:
        raise LedgerError(f"方案共有 {len(plan.tasks)} 项任务，没有第（{number}）项，请核对任务编号。")
    return task


def check_responsible(plan: Plan, unit_id: str | None, number: int) -> Task:
    """The task, if ``unit_id`` may report on it; otherwise a refusal naming the task's units."""
    task = task_of(plan, number)
    if unit_id not in plan.catalogue.units:
        raise LedgerError("您所在的单位不在实施方案的责任单位中，无法填报任务进展。请联系政协办核对名单。")
    allowed = reportable_tasks(plan, unit_id)
    if number not in allowed:
        own = "".join(f"（{n}）" for n in allowed)
        raise LedgerError(
            f"第（{number}）项的责任单位是{unit_names(plan.units_of_task(number))}，"
            f"{plan.unit(unit_id).short}不在其中，不能填报这项任务。" + (f"贵单位可以填报：{own}。" if own else "")
        )
    return task


def clean_report_text(text: str | None) -> str:
    """The report text, trimmed; refused when empty or longer than MAX_REPORT_CHARS."""
    cleaned = "".join(ch for ch in (text or "") if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
    if not cleaned:
        raise LedgerError("进展内容不能为空。请写明这一阶段做了什么，例如：本季度组织委员集中培训1次，参训42人。")
    if len(cleaned) > MAX_REPORT_CHARS:
        raise LedgerError(
            f"进展内容最多 {MAX_REPORT_CHARS} 字，您发送了 {len(cleaned)} 字。"
            "请精简后重新发送（详细材料可以作为附件上传）。"
        )
    return cleaned


def _unit_of(caller: Caller) -> str:
    if caller.unit_id is None or caller.unit_contact_id is None:
        raise LedgerError("您没有绑定为单位联络员，无法填报任务进展。")
    return caller.unit_id


# ---- reporting -------------------------------------------------------------------------------


def start_report(storage: Storage, caller: Caller, number: int, *, plan: Plan | None = None) -> Task:
    """Check that the caller may report on task ``number`` (before asking for the text)."""
    authorize(storage, caller, "report_task_progress")
    return check_responsible(plan or default_plan(), _unit_of(caller), number)


def submit_report(
    storage: Storage,
    caller: Caller,
    number: int,
    text: str,
    *,
    attachment: Attachment | None = None,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> LedgerReport:
    """File a progress report on task ``number`` for the caller's unit."""
    plan = plan or default_plan()
    authorize(storage, caller, "report_task_progress")
    unit_id = _unit_of(caller)
    check_responsible(plan, unit_id, number)
    cleaned = clean_report_text(text)
    now = now or storage.now()
    with storage.atomic():
        report_id = storage.insert_ledger_report(
            task=number,
            unit_id=unit_id,
            contact_id=caller.unit_contact_id,
            telegram_id=caller.telegram_id,
            text=cleaned,
            attachment=attachment,
            quarter=current_quarter(storage, now).code,
            now=now,
        )
    return storage.ledger_report(report_id)


def edit_deadline(report: LedgerReport) -> datetime:
    return report.created_at + EDIT_WINDOW


def editable_report(storage: Storage, caller: Caller, report_id: int, *, now: datetime | None = None) -> LedgerReport:
    """The report, if the caller wrote it less than 24 hours ago; otherwise the reason why not."""
    authorize(storage, caller, "report_task_progress")
    report = storage.ledger_report(report_id)
    if report is None:
        raise LedgerError(f"没有编号为 #{report_id} 的进展记录。")
    if report.contact_id != caller.unit_contact_id:
        raise LedgerError("只能修改本人填报的进展。")
    if (now or storage.now()) >= edit_deadline(report):
        raise LedgerError(
            f"这条进展填报于 {when(report.created_at, storage.tz)}，已超过 24 小时，不能再修改。"
            "如有新的情况，请另行填报一条进展。"
        )
    return report


def edit_report(
    storage: Storage, caller: Caller, report_id: int, text: str, *, now: datetime | None = None
) -> LedgerReport:
    """Replace the text of the caller's own report within 24 hours; the old text is kept as a version."""
    now = now or storage.now()
    report = editable_report(storage, caller, report_id, now=now)
    cleaned = clean_report_text(text)
    storage.update_ledger_report(report.id, cleaned, report.attachment, caller.telegram_id, now)
    return storage.ledger_report(report.id)


def latest_own_report(storage: Storage, caller: Caller) -> LedgerReport:
    """The caller's most recent report (the one `/report edit` changes)."""
    authorize(storage, caller, "report_task_progress")
    _unit_of(caller)
    reports = storage.ledger_reports(contact_id=caller.unit_contact_id)
    if not reports:
        raise LedgerError("您还没有填报过任务进展。")
    return reports[0]


def brief(text: str, limit: int = 30) -> str:
    """The start of a task's text, e.g. for a button or a list line."""
    first = re.split(r"[。；;]", text, maxsplit=1)[0]
    return first if len(first) <= limit else first[: limit - 1] + "…"


def format_receipt(report: LedgerReport, plan: Plan, tz: ZoneInfo) -> str:
    """What the reporter sees after filing or editing."""
    edited = f"（已修改 {report.edits} 次）" if report.edits else ""
    lines = [
        f"已登记第（{report.task}）项的进展{edited}，编号 #{report.id}。",
        f"单位：{plan.unit(report.unit_id).short}　填报人：{report.contact_name}",
        f"时间：{when(report.created_at, tz)}（计入{parse_quarter(report.quarter).label}）",
        f"内容：{report.text}",
    ]
    if report.attachment:
        lines.append(f"附件：{report.attachment.name}")
    lines.append(f"如需修改，请在 {when(edit_deadline(report), tz)} 前进行。")
    return "\n".join(lines)


# ---- a unit's own tasks ----------------------------------------------------------------------


@dataclass(frozen=True)
class MyTask:
    task: Task
    via: Unit | None  # the collective unit this task comes from, None for the unit's own tasks
    reported: bool  # the caller's unit filed a report on it this quarter


@dataclass(frozen=True)
class MyTasks:
    unit: Unit
    quarter: Quarter
    tasks: tuple[MyTask, ...]

    @property
    def numbers(self) -> list[int]:
        return [item.task.number for item in self.tasks]


def my_tasks(storage: Storage, caller: Caller, *, now: datetime | None = None, plan: Plan | None = None) -> MyTasks:
    """The caller's unit's tasks, with whether the unit reported on each this quarter."""
    plan = plan or default_plan()
    authorize(storage, caller, "report_task_progress")
    unit_id = _unit_of(caller)
    if unit_id not in plan.catalogue.units:
        raise LedgerError("您所在的单位不在实施方案的责任单位中。请联系政协办核对名单。")
    quarter = current_quarter(storage, now)
    done = {r.task for r in storage.latest_ledger_reports(quarter.code) if r.unit_id == unit_id}
    tasks = plan.tasks_of_unit(unit_id)
    items = [MyTask(task, None, task.number in done) for task in tasks.direct]
    for parent, inherited in tasks.inherited:
        items += [MyTask(task, parent, task.number in done) for task in inherited]
    return MyTasks(plan.unit(unit_id), quarter, tuple(items))


def format_my_tasks(mine: MyTasks) -> str:
    lines = [f"{mine.unit.short}的任务（{mine.quarter.label}填报情况，✅ 已填报，⬜ 未填报）："]
    via = "start"
    for item in mine.tasks:
        if item.via != via:
            via = item.via
            lines.append("本单位负责：" if via is None else f"作为{via.short}之一，也可以填报：")
        lines.append(f"{'✅' if item.reported else '⬜'}（{item.task.number}）{brief(item.task.text)}")
    done = sum(item.reported for item in mine.tasks)
    lines.append(f"本季度已填报 {done}/{len(mine.tasks)} 项。")
    return "\n".join(lines)


# ---- slots: the plan's (task, unit) rows and their latest reports ---------------------------------


@dataclass(frozen=True)
class ReportCommand:
    kind: str  # "choose" (no arguments) | "start" (task only) | "submit" (task and text) | "edit"
    number: int | None = None
    text: str = ""


_EDIT_WORDS = ("edit", "修改", "更正")
REPORT_USAGE = f"用法：/report 任务编号 进展，例如 {REPORT_EXAMPLE}"


def parse_report_command(arguments: str, plan: Plan | None = None) -> ReportCommand:
    """What follows /report: nothing, a task number, a task number and the text, or "edit" and a new text."""
    text = (arguments or "").strip()
    if not text:
        return ReportCommand("choose")
    head = text.split(maxsplit=1)
    if head[0].lower() in _EDIT_WORDS:
        return ReportCommand("edit", text=head[1] if len(head) > 1 else "")
    try:
        found = split_task_number(text, plan or default_plan(), REPORT_USAGE)
    except NumberError as exc:
        raise LedgerError(exc.message) from exc
    if found is None:
        raise LedgerError(f"请在 /report 后写任务编号和进展，例如：{REPORT_EXAMPLE}")
    return ReportCommand("submit" if found.rest else "start", found.number, found.rest)


LEDGER_USAGE = "用法：/ledger（本季度概览）、/ledger 2027Q1（其他季度）、/ledger 33（某项任务各单位的进展和历史）"


def ledger_task_argument(word: str, plan: Plan | None = None) -> int | None:
    """The task number of `/ledger 33`; None when ``word`` is not written as a task number (a quarter, say)."""
    plan = plan or default_plan()
    if not looks_like_task_number(word):
        return None
    try:
        return parse_task_number(word, plan, LEDGER_USAGE)
    except NumberError as exc:
        raise LedgerError(exc.message) from exc
