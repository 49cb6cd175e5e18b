"""The task ledger (台账): responsible units report progress on their plan tasks; the office sees the picture.

Transport-free: every function takes the storage, the :class:`~bot.people.roles.Caller` and an explicit
``now`` where time matters, and returns data or Simplified Chinese text. Refusals are
:class:`LedgerError` (or :class:`~bot.people.roles.PermissionDenied`) with a message for the user.

Judgement calls (see docs/ledger.md):

* A report belongs to the reporting unit. A unit that is "one of" a collective unit (政协提案和委员联络委
  is one of 政协各专门委员会) may also report on the collective's tasks; such a report fills the
  collective's row in the ledger, marked with the reporting unit's name.
* Ledger rows ("slots") are the plan's (task, responsible unit) pairs. A slot is silent in a quarter when
  neither its unit nor any of its member units filed a report on that task in that quarter.
* A report counts for the quarter in which it was filed (its creation date in the local time zone);
  edits do not move it.
* Reports are visible to everyone only for units a secretary has published; by default no unit is
  public. Secretaries always see everything, and a unit contact always sees their own unit's reports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.answers.normalize import extract_task_number, normalize
from bot.errors import UserError
from bot.people.roles import Caller, PermissionDenied, authorize, check
from bot.plan.model import Heading, Plan, Task, default_plan
from bot.plan.units import Unit
from bot.storage import Storage, UnitContact
from bot.storage.ledger import Attachment, LedgerReport

MAX_REPORT_CHARS = 1000
EDIT_WINDOW = timedelta(hours=24)
CN_NUMERALS = "〇一二三四五六七八九十"
REPORT_EXAMPLE = "/report 33 本季度组织委员集中培训1次，参训42人"


class LedgerError(UserError, ValueError):
    """A ledger request was refused; ``message`` is Simplified Chinese for the user."""


# ---- quarters -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1–4

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def code(self) -> str:
        """e.g. 2027Q1 (how the quarter is stored and typed on the command line)."""
        return f"{self.year}Q{self.number}"

    @property
    def label(self) -> str:
        """e.g. 2027年第一季度"""
        return f"{self.year}年第{CN_NUMERALS[self.number]}季度"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The first day after the quarter."""
        return self.next().start

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def day_of_last_month(self, day: int) -> date:
        """e.g. day_of_last_month(20) → the 20th of March for Q1 (the reminder day)."""
        return date(self.year, 3 * self.number, day)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    def __str__(self) -> str:
        return self.code


_QUARTER_RE = re.compile(r"(\d{4})\s*(?:年)?\s*[-/.]?\s*(?:q|第)?\s*([1-4一二三四])\s*(?:季度?)?", re.IGNORECASE)


def parse_quarter(text: str) -> Quarter:
    """2027Q1, 2027q1, 2027-Q1, 2027年第一季度, 2027年1季度 → Quarter; LedgerError otherwise."""
    match = _QUARTER_RE.fullmatch(unicodedata.normalize("NFKC", text or "").strip())
    year = int(match.group(1)) if match else 0
    if not match or not 2000 <= year <= 2100:
        raise LedgerError(f"无法识别的季度“{text}”：请写成 2027Q1 这样的形式（年份加 Q1–Q4）。")
    number = match.group(2)
    return Quarter(year, int(number) if number.isdigit() else CN_NUMERALS.index(number))


def as_quarter(value: Quarter | str) -> Quarter:
    return value if isinstance(value, Quarter) else parse_quarter(value)


def current_quarter(storage: Storage, now: datetime | None = None) -> Quarter:
    return Quarter.of(local_date(now or storage.now(), storage.tz))


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def when(moment: datetime, tz: ZoneInfo) -> str:
    """e.g. 2027-03-10 14:05 in the local time zone."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# ---- the plan's responsibilities -----------------------------------------------------------


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


@dataclass(frozen=True)
class ReportCommand:
    kind: str  # "choose" (no arguments) | "start" (task only) | "submit" (task and text) | "edit"
    number: int | None = None
    text: str = ""


_EDIT_WORDS = ("edit", "修改", "更正")
_TASK_PREFIX = re.compile(r"(?:第\s*)?[（(]?\s*(\d{1,4})\s*[)）]?\s*(?:项|条)?\s*[:：,，、.．]?\s*(.*)", re.DOTALL)


def parse_report_command(arguments: str) -> ReportCommand:
    """What follows /report: nothing, a task number, a task number and the text, or "edit" and a new text."""
    text = (arguments or "").strip()
    if not text:
        return ReportCommand("choose")
    head = text.split(maxsplit=1)
    if head[0].lower() in _EDIT_WORDS:
        return ReportCommand("edit", text=head[1] if len(head) > 1 else "")
    match = _TASK_PREFIX.fullmatch(text)
    if not match:
        raise LedgerError(f"请在 /report 后写任务编号和进展，例如：{REPORT_EXAMPLE}")
    rest = match.group(2).strip()
    return ReportCommand("submit" if rest else "start", int(match.group(1)), rest)
