"""Members' performance records (提案, 社情民意, 活动, 培训) and the proposal lifecycle.

Members record their own; secretaries record for anyone, correct, remove and import.
Every refusal is a :class:`RecordError` (or PermissionDenied) with a Simplified Chinese message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from bot.csvfile import CsvRow, Problems
from bot.dates import DateError, add_months, parse_date, parse_when
from bot.errors import UserError
from bot.people.roles import Caller, authorize
from bot.people.roster import skipped_lines
from bot.phone import ROSTER, PhoneError, display_phone, to_e164
from bot.plan.model import Plan, default_plan
from bot.storage import RECORD_KINDS, Member, Record, Storage, actor_label, stamp
from bot.tables import Table, open_table

KIND_SYNONYMS = {
    **{kind: kind for kind in RECORD_KINDS},
    "社情民意信息": "社情民意",
    "会议": "活动",
    "协商": "活动",
    "协商会议": "活动",
    "协商议政会议": "活动",
    "视察": "活动",
    "考察": "活动",
    "调研": "活动",
    "视察考察调研": "活动",
    "轮训": "培训",
}
# The kinds offered as buttons, with the words shown on them.
RECORD_KIND_CHOICES = (
    ("提案", "提案"),
    ("社情民意", "社情民意信息"),
    ("活动", "协商会议或视察调研活动"),
    ("培训", "培训"),
)
STATUS_LABELS = {"submitted": "已提交", "accepted": "已立案", "assigned": "已交办", "replied": "已答复"}
STATUS_INPUT = {
    **{status: status for status in STATUS_LABELS},
    **{label: status for status, label in STATUS_LABELS.items()},
    "提交": "submitted",
    "立案": "accepted",
    "交办": "assigned",
    "答复": "replied",
    "办结": "replied",
    "已办结": "replied",
}
MAX_TITLE = 200
_UNIT_SEPARATORS = re.compile(r"[、,，;；/\s]+")


class RecordError(UserError, ValueError):
    """A record was refused; ``message`` is Simplified Chinese for the user."""


# ---- validation ---------------------------------------------------------------------


def normalize_kind(text: str) -> str:
    kind = KIND_SYNONYMS.get(unicodedata.normalize("NFKC", text or "").strip())
    if kind is None:
        raise RecordError(f"无法识别的记录类型“{text}”，可用：{'、'.join(RECORD_KINDS)}")
    return kind


def clean_title(text: str) -> str:
    title = (text or "").strip()
    if not title:
        raise RecordError("标题不能为空")
    if len(title) > MAX_TITLE:
        raise RecordError(f"标题过长（最多 {MAX_TITLE} 字）")
    return title


def valid_date(value: date | str | None, today: date, what: str = "日期") -> date:
    """A date given as a date or as text (2024-03-05, 3月5日, 昨天, 上周三 …: bot/dates.py; a month
    and day still to come this year is last year's); not after today."""
    if value is None:
        return today
    day = value if isinstance(value, date) else parse_date(value) or _written_day(value, today)
    if day is None:
        raise RecordError(f"{what}“{value}”无法识别，请写成 2024-03-05 或 3月5日 的形式")
    if day > today:
        raise RecordError(f"{what} {day.isoformat()} 晚于今天，不能登记尚未发生的事")
    return day


def _written_day(text: str, today: date) -> date | None:
    try:
        when = parse_when(text, today, future=False)
    except DateError:
        return None
    return when.day if when.clock is None else None


def reply_limit_months(plan: Plan | None = None) -> int:
    """Months an undertaking unit has to reply, from the plan's proposal_reply_limit setting
    (3, the usual rule, for an imported plan that sets none)."""
    found = (plan or default_plan()).obligations_for(task=None)
    return next((o.months for o in found if o.id == "proposal_reply_limit" and o.months), 3)


def resolve_units(names: list[str], plan: Plan | None = None) -> tuple[str, ...]:
    """Unit ids for names the plan's catalogue knows; other names are kept as written."""
    plan = plan or default_plan()
    resolved = []
    for name in names:
        unit = plan.resolve_unit(name)
        resolved.append(unit.id if unit else name)
    return tuple(dict.fromkeys(resolved))


def unit_names(record: Record, plan: Plan | None = None) -> list[str]:
    """The record's undertaking units as people call them."""
    units = (plan or default_plan()).catalogue.units
    return [units[u].short if u in units else u for u in record.units]


def split_units(text: str) -> list[str]:
    return [part for part in _UNIT_SEPARATORS.split(text or "") if part]


# ---- members' own records and secretaries' edits --------------------------------------


def _target_member(storage: Storage, caller: Caller, member_id: int | None) -> tuple[Member, str]:
    """The member a caller records for, and the record source that implies."""
    if member_id is None or member_id == caller.member_id:
        if caller.member_id is None and "admin" in caller.capacities:
            raise RecordError("请指定委员")
        authorize(storage, caller, "record_own")
        member_id, source = caller.member_id, "self"
    else:
        authorize(storage, caller, "record_for_others")
        source = "admin"
    member = storage.person("member", member_id)
    if member is None:
        raise RecordError(f"没有编号为 {member_id} 的委员")
    return member, source


def add_record(
    storage: Storage,
    caller: Caller,
    kind: str,
    title: str,
    date: date | str | None = None,
    member_id: int | None = None,
    *,
    now: datetime | None = None,
) -> Record:
    """Record an activity for the caller (or, for a secretary, for ``member_id``); date defaults to today."""
    now = now or storage.now()
    member, source = _target_member(storage, caller, member_id)
    kind = normalize_kind(kind)
    fields = {
        "member_id": member.id,
        "kind": kind,
        "title": clean_title(title),
        "date": valid_date(date, now.date()),
        "created_by": actor_label(caller.telegram_id),
        "created_at": stamp(now),
        "source": source,
        "status": "submitted" if kind == "提案" else None,
    }
    with storage.atomic():
        record_id = storage.insert_record(fields)
        storage.audit(caller.telegram_id, "add_record", {"record_id": record_id, "member_id": member.id}, now)
    return storage.record(record_id)


def list_records(
    storage: Storage, caller: Caller, member_id: int | None = None, year: int | None = None
) -> list[Record]:
    """The caller's own records, or (secretaries only) another member's."""
    if member_id is None or member_id == caller.member_id:
        authorize(storage, caller, "view_own_records")
        member_id = caller.member_id
    else:
        authorize(storage, caller, "view_others_records")
    if year is None:
        return storage.records_of(member_id)
    return storage.records_of(member_id, date(year, 1, 1), date(year + 1, 1, 1))


def _existing(storage: Storage, record_id: int) -> Record:
    record = storage.record(record_id)
    if record is None:
        raise RecordError(f"没有编号为 {record_id} 的记录")
    return record


def _lifecycle_cleared() -> dict[str, Any]:
    return {"status": None, "units": (), "assigned_on": None, "reply_due": None, "replied_on": None}


def correct_record(
    storage: Storage,
    caller: Caller,
    record_id: int,
    *,
    kind: str | None = None,
    title: str | None = None,
    date: date | str | None = None,
    now: datetime | None = None,
) -> Record:
    """Change a record's kind, title or date (secretaries). A kind change resets the proposal lifecycle."""
    authorize(storage, caller, "manage_records")
    now = now or storage.now()
    record = _existing(storage, record_id)
    changes: dict[str, Any] = {}
    if kind is not None and normalize_kind(kind) != record.kind:
        changes["kind"] = normalize_kind(kind)
        changes.update(_lifecycle_cleared())
        if changes["kind"] == "提案":
            changes["status"] = "submitted"
    if title is not None:
        changes["title"] = clean_title(title)
    if date is not None:
        changes["date"] = valid_date(date, now.date())
    with storage.atomic():
        storage.update_record(record_id, changes)
        storage.audit(caller.telegram_id, "correct_record", {"record_id": record_id, "before": asdict(record)}, now)
    return storage.record(record_id)


def remove_record(storage: Storage, caller: Caller, record_id: int, *, now: datetime | None = None) -> Record:
    """Delete a record entered by mistake (secretaries); the audit log keeps a copy."""
    authorize(storage, caller, "manage_records")
    record = _existing(storage, record_id)
    with storage.atomic():
        storage.delete_record(record_id)
        storage.audit(caller.telegram_id, "remove_record", {"record": asdict(record)}, now)
    return record


# ---- proposal lifecycle: submitted → accepted (立案) → assigned (交办) → replied (答复) ---------


def _proposal(storage: Storage, caller: Caller, record_id: int, allowed_from: tuple[str, ...], to: str) -> Record:
    authorize(storage, caller, "manage_records")
    record = _existing(storage, record_id)
    if record.kind != "提案":
        raise RecordError("只有提案有立案、交办、答复流程")
    if record.source == "proposal":
        raise RecordError("这件提案通过助手办理，状态随审查、交办和答复自动更新（cppcc-bot proposals show 查看）")
    if record.status not in allowed_from:
        raise RecordError(f"该提案当前为“{STATUS_LABELS[record.status]}”，不能改为“{STATUS_LABELS[to]}”")
    return record


def _advance(storage: Storage, caller: Caller, record: Record, changes: dict[str, Any], now: datetime) -> Record:
    with storage.atomic():
        storage.update_record(record.id, changes)
        storage.audit(
            caller.telegram_id, "proposal_status", {"record_id": record.id, "from": record.status, **changes}, now
        )
    return storage.record(record.id)


def accept_proposal(storage: Storage, caller: Caller, record_id: int, *, now: datetime | None = None) -> Record:
    record = _proposal(storage, caller, record_id, ("submitted",), "accepted")
    return _advance(storage, caller, record, {"status": "accepted"}, now or storage.now())


def assign_proposal(
    storage: Storage,
    caller: Caller,
    record_id: int,
    units: list[str],
    on: date | str | None = None,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> Record:
    """交办 to undertaking units on ``on`` (default today); the reply is due N months later."""
    now = now or storage.now()
    record = _proposal(storage, caller, record_id, ("submitted", "accepted"), "assigned")
    if not units:
        raise RecordError("请填写承办单位")
    assigned_on = valid_date(on, now.date(), "交办日期")
    if assigned_on < record.date:
        raise RecordError("交办日期早于提案日期")
    changes = {
        "status": "assigned",
        "units": resolve_units(units, plan),
        "assigned_on": assigned_on,
        "reply_due": add_months(assigned_on, reply_limit_months(plan)),
    }
    return _advance(storage, caller, record, changes, now)


def reply_proposal(
    storage: Storage, caller: Caller, record_id: int, on: date | str | None = None, *, now: datetime | None = None
) -> Record:
    now = now or storage.now()
    record = _proposal(storage, caller, record_id, ("assigned",), "replied")
    replied_on = valid_date(on, now.date(), "答复日期")
    if replied_on < record.assigned_on:
        raise RecordError("答复日期早于交办日期")
    return _advance(storage, caller, record, {"status": "replied", "replied_on": replied_on}, now)


# ---- import from the proposal system ---------------------------------------------------


@dataclass(frozen=True)
class RecordImportSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def describe(self) -> str:
        return f"新增 {self.added} 条，更新 {self.updated} 条，未变 {self.unchanged} 条"


def _import_member(storage: Storage, row: CsvRow) -> Member:
    name, raw_phone = row.get("姓名"), row.get("手机号")
    if raw_phone:
        try:
            phone = to_e164(raw_phone, ROSTER)
        except PhoneError as exc:
            raise RecordError(f"手机号“{raw_phone}”无效（{exc.message}）") from exc
        member = storage.person_by_phone("member", phone)
        if member is None:
            raise RecordError(f"名册中没有手机号为 {display_phone(phone)} 的委员")
        if name and name != member.name:
            raise RecordError(f"手机号 {display_phone(phone)} 属于 {member.name}，与姓名“{name}”不符")
        return member
    if not name:
        raise RecordError("姓名和手机号都为空")
    members = storage.members_named(name)
    if not members:
        raise RecordError(f"名册中没有名为“{name}”的委员")
    if len(members) > 1:
        raise RecordError(f"名册中有 {len(members)} 位委员名为“{name}”，请填写手机号")
    return members[0]


def _import_lifecycle(row: CsvRow, kind: str, day: date, today: date, plan: Plan) -> dict[str, Any]:
    status_text, units_text = row.get("状态"), row.get("承办单位")
    assigned_text, replied_text = row.get("交办日期"), row.get("答复日期")
    if kind != "提案":
        if status_text or units_text or assigned_text or replied_text:
            raise RecordError("只有提案可以填写状态、承办单位、交办日期、答复日期")
        return _lifecycle_cleared()
    if status_text:
        status = STATUS_INPUT.get(status_text.strip().lower())
        if status is None:
            raise RecordError(f"状态“{status_text}”无法识别，可用：{'、'.join(STATUS_LABELS.values())}")
    else:
        status = "replied" if replied_text else "assigned" if assigned_text else "submitted"
    fields = dict(_lifecycle_cleared(), status=status)
    if status in ("assigned", "replied"):
        units = split_units(units_text)
        if not units:
            raise RecordError(f"状态为“{STATUS_LABELS[status]}”时需要填写承办单位")
        if not assigned_text:
            raise RecordError(f"状态为“{STATUS_LABELS[status]}”时需要填写交办日期")
        assigned_on = valid_date(assigned_text, today, "交办日期")
        if assigned_on < day:
            raise RecordError("交办日期早于提案日期")
        fields.update(
            units=resolve_units(units, plan),
            assigned_on=assigned_on,
            reply_due=add_months(assigned_on, reply_limit_months(plan)),
        )
    if status == "replied":
        if not replied_text:
            raise RecordError("状态为“已答复”时需要填写答复日期")
        fields["replied_on"] = valid_date(replied_text, today, "答复日期")
        if fields["replied_on"] < fields["assigned_on"]:
            raise RecordError("答复日期早于交办日期")
    elif replied_text:
        raise RecordError(f"状态为“{STATUS_LABELS[status]}”时不应填写答复日期")
    return fields


RECORD_COLUMNS = ("类型", "标题", "日期")
RECORD_PERSON = ("姓名", "手机号")


def read_record_rows(storage: Storage, table: Table, today: date, plan: Plan) -> tuple[list[dict[str, Any]], Problems]:
    """Record fields for the usable rows of an office file, and the problems of the others."""
    rows, problems = table.records(RECORD_COLUMNS, one_of=RECORD_PERSON)
    parsed: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    for row in rows:
        try:
            member = _import_member(storage, row)
            kind = normalize_kind(row.get("类型"))
            if not row.get("日期"):
                raise RecordError("日期为空")
            day = valid_date(row.get("日期"), today)
            fields = {
                "member_id": member.id,
                "kind": kind,
                "title": clean_title(row.get("标题")),
                "date": day,
                **_import_lifecycle(row, kind, day, today, plan),
            }
        except RecordError as exc:
            problems.add(row.line, exc.message)
            continue
        key = (fields["member_id"], kind, fields["title"], day)
        if key in seen:
            problems.add(row.line, f"与第{seen[key]}行重复")
            continue
        seen[key] = row.line
        parsed.append(fields)
    return parsed, problems


@dataclass(frozen=True)
class RecordsPreview:
    """A dry run of a records file: the usable rows, how many are already stored, the skipped rows."""

    rows: list[dict[str, Any]]
    known: int
    skipped: list[tuple[int, str]]

    def describe(self) -> str:
        new = len(self.rows) - self.known
        lines = [f"履职记录预览：可导入 {len(self.rows)} 条（新增 {new} 条，已有 {self.known} 条将按文件更新办理状态）"]
        lines += skipped_lines(self.skipped)
        if not self.rows:
            lines.append("文件中没有可以导入的行。")
        return "\n".join(lines)


def preview_records(storage: Storage, caller: Caller, table: Table, today: date, plan: Plan) -> RecordsPreview:
    """What importing ``table`` would do, changing nothing (the bot's and the CLI's dry run)."""
    authorize(storage, caller, "manage_records")
    rows, problems = read_record_rows(storage, table, today, plan)
    known = sum(1 for r in rows if storage.find_record(r["member_id"], r["kind"], r["title"], r["date"]) is not None)
    return RecordsPreview(rows, known, problems.by_line())


def parse_record_rows(storage: Storage, data: bytes, today: date, plan: Plan) -> list[dict[str, Any]]:
    """Record fields for every row; raise ImportProblems listing every problem with its line."""
    parsed, problems = read_record_rows(storage, open_table(data), today, plan)
    problems.raise_if_any()
    return parsed


def import_records(
    storage: Storage,
    caller: Caller,
    data: bytes,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
    rows: list[dict[str, Any]] | None = None,
    file_hash: str | None = None,
) -> RecordImportSummary:
    """Import a proposal-system export (姓名 or 手机号, 类型, 标题, 日期, optional 状态, 承办单位,
    交办日期, 答复日期; .xlsx, .xls or .csv). All or nothing. A row matching an existing record
    (same member, kind, title and date) updates its proposal status instead of adding a
    duplicate. ``rows`` are rows already read (read_record_rows, after a dry run)."""
    authorize(storage, caller, "manage_records")
    now = now or storage.now()
    if rows is None:
        rows = parse_record_rows(storage, data, now.date(), plan or default_plan())
    counts = dict.fromkeys(("added", "updated", "unchanged"), 0)
    lifecycle = tuple(_lifecycle_cleared())
    with storage.atomic():
        for fields in rows:
            existing = storage.find_record(fields["member_id"], fields["kind"], fields["title"], fields["date"])
            if existing is None:
                storage.insert_record(
                    dict(
                        fields,
                        created_by=actor_label(caller.telegram_id),
                        created_at=stamp(now),
                        source="import",
                    )
                )
                counts["added"] += 1
                continue
            changes = {key: fields[key] for key in lifecycle if getattr(existing, key) != fields[key]}
            if changes:
                storage.update_record(existing.id, changes)
            counts["updated" if changes else "unchanged"] += 1
        summary = RecordImportSummary(**counts)
        detail = asdict(summary) | ({"file_sha256": file_hash} if file_hash else {})
        storage.audit(caller.telegram_id, "import_records", detail, now)
    return summary
