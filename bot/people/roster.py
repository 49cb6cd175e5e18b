"""Importing the members roster and the unit contacts list from office spreadsheets, with a dry run.

    preview = preview_roster(storage, caller, "member", data, "名册.xlsx")   # nothing changes
    preview.describe()         # 新增 / 更新（字段）/ 未变 / 停用（完整名册才有）/ 跳过（行号和原因）
    apply_roster(storage, caller, preview, skip_bad=True)                   # one transaction

Files are read by bot/tables.py (.xlsx, .xls, .csv; title rows, header synonyms, merged cells).
People are matched by phone number, stored as E.164 (a number without a country code is
Chinese: bot.phone). Rows that cannot be used (a landline, a duplicate phone, a missing name,
an unknown unit) are listed with their row numbers; applying refuses them unless the secretary
chose to skip them. A file is a partial update by default — nobody is deactivated; only an
explicit full-roster import marks people missing from the file inactive (never deleted, so
their records stay). Applying recomputes the changes against the database inside the
transaction and audits the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.csvfile import CsvRow, ImportProblems, Problems
from bot.people.roles import Caller, authorize
from bot.phone import ROSTER, PhoneError, display_phone, to_e164
from bot.plan.model import Plan, default_plan
from bot.storage import Person, Storage
from bot.tables import Table, default_headers, open_table

KINDS = {"member": "委员名册", "unit_contact": "单位联络员名单"}
MEMBER_REQUIRED = ("姓名", "手机号")
CONTACT_REQUIRED = ("单位", "姓名", "手机号")
# Optional member columns → storage fields. A column absent from the file leaves that field as it is.
MEMBER_OPTIONAL = {"界别": "sector", "专委会": "committee", "乡镇街道": "township", "党派": "party"}
FIELD_LABELS = {
    "name": "姓名",
    "sector": "界别",
    "committee": "专委会",
    "township": "乡镇街道",
    "party": "党派",
    "is_standing": "是否常委",
    "unit_id": "单位",
    "active": "恢复在册",
}
SHOWN_SKIPPED = 20  # rows listed in a dry run
SHOWN_NAMES = 20  # names listed per line of a dry run
_SPACE_IN_CJK = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_PHONE_SEPARATORS = re.compile(r"[/、,，;；\s]+")


@dataclass(frozen=True)
class ImportSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0

    def describe(self) -> str:
        return (
            f"新增 {self.added} 人，更新 {self.updated} 人，未变 {self.unchanged} 人，"
            f"停用 {self.deactivated} 人，恢复 {self.reactivated} 人"
        )


@dataclass(frozen=True)
class Update:
    name: str
    fields: tuple[str, ...]  # Chinese labels of the changed fields


@dataclass(frozen=True)
class Changes:
    """What applying a roster would change (names for the dry run, rows for the writer)."""

    added: list[dict[str, Any]]
    updated: list[tuple[Person, dict[str, Any]]]
    unchanged: int
    deactivated: list[Person]  # only for a full roster

    def summary(self) -> ImportSummary:
        reactivated = sum(1 for person, _ in self.updated if not person.active)
        return ImportSummary(
            added=len(self.added),
            updated=len(self.updated) - reactivated,
            unchanged=self.unchanged,
            deactivated=len(self.deactivated),
            reactivated=reactivated,
        )


@dataclass(frozen=True)
class RosterPreview:
    """A dry run: the usable rows, the skipped ones, and what applying would change now."""

    kind: str  # "member" | "unit_contact"
    filename: str
    file_hash: str  # SHA-256 of the file, audited when applied
    header_line: int
    incoming: dict[str, dict[str, Any]]  # phone → fields, usable rows only
    skipped: list[tuple[int, str]]  # (row, reason), every skipped row
    full: bool
    changes: Changes
    absent: int  # active people not in the file (deactivated only by a full roster)
    scope: str  # "" or what a partial file covers (专委会：文史委、提案委)
    unread_sheets: tuple[str, ...] = ()  # other worksheets with a roster header, not read

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    def describe(self) -> str:
        """The dry run as the bot and the CLI show it."""
        changes = self.changes
        summary = changes.summary()
        mode = "完整名册" if self.full else "部分更新"
        lines = [f"{self.label}预览（{mode}；第{self.header_line}行为表头，{len(self.incoming)} 人可导入）："]
        lines.append(f"新增 {summary.added} 人" + _names(p["name"] for p in changes.added))
        updates = [Update(fields.get("name", person.name), _labels(fields)) for person, fields in changes.updated]
        lines.append(f"更新 {len(updates)} 人" + _names(f"{u.name}（{'、'.join(u.fields)}）" for u in updates))
        lines.append(f"未变 {summary.unchanged} 人")
        if self.full:
            lines.append(f"停用 {summary.deactivated} 人" + _names(p.name for p in changes.deactivated))
        elif self.absent:
            scope = f"这份名单只含{self.scope}，" if self.scope else ""
            lines.append(f"停用 0 人（{scope}名册中另有 {self.absent} 人不在文件中，部分更新不停用任何人）")
        if self.unread_sheets:
            names = "、".join(f"“{name}”" for name in self.unread_sheets)
            lines.append(f"注意：只读取了第一个名单工作表，工作表{names}未读取；请合并到一个工作表或分别导出后发送。")
        return "\n".join(lines + skipped_lines(self.skipped))

    def problems(self) -> ImportProblems:
        return ImportProblems([f"第{line}行：{reason}" for line, reason in self.skipped], total=len(self.skipped))


def skipped_lines(skipped: list[tuple[int, str]]) -> list[str]:
    """跳过 N 行 and the first SHOWN_SKIPPED rows with their reasons (every dry run shows them)."""
    if not skipped:
        return []
    lines = [f"跳过 {len(skipped)} 行："]
    lines += [f"  第{line}行：{reason}" for line, reason in skipped[:SHOWN_SKIPPED]]
    if len(skipped) > SHOWN_SKIPPED:
        lines.append(f"  （只列出前 {SHOWN_SKIPPED} 行，另有 {len(skipped) - SHOWN_SKIPPED} 行）")
    return lines


def _names(names) -> str:
    listed = list(names)
    if not listed:
        return ""
    more = f" 等 {len(listed)} 人" if len(listed) > SHOWN_NAMES else ""
    return "：" + "、".join(listed[:SHOWN_NAMES]) + more


def _labels(fields: dict[str, Any]) -> tuple[str, ...]:
    return tuple(FIELD_LABELS.get(key, key) for key in fields)


def clean_name(text: str) -> str:
    """Trim a name; drop spaces Excel users put inside Chinese names for alignment (张  三)."""
    return _SPACE_IN_CJK.sub("", text.replace("\u3000", " ").strip())


def roster_phone(raw: str) -> str:
    """A roster cell as E.164; a cell with two numbers (手机 / 座机) gives its mobile number."""
    try:
        return to_e164(raw, ROSTER)
    except PhoneError as exc:
        for part in _PHONE_SEPARATORS.split(raw):
            try:
                return to_e164(part, ROSTER)
            except PhoneError:
                continue
        raise exc


def _name_and_phone(row: CsvRow, problems: Problems, seen: dict[str, int]) -> tuple[str, str | None]:
    name = clean_name(row.get("姓名"))
    if not name:
        problems.add(row.line, "姓名为空")
    raw = row.get("手机号")
    if not raw:
        problems.add(row.line, "手机号为空")
        return name, None
    try:
        phone = roster_phone(raw)
    except PhoneError as exc:
        problems.add(row.line, f"手机号“{raw}”无效（{exc.message}）")
        return name, None
    if phone in seen:
        problems.add(row.line, f"手机号 {display_phone(phone)} 与第{seen[phone]}行重复")
        return name, None
    seen[phone] = row.line
    return name, phone if name else None


def parse_members(table: Table) -> tuple[dict[str, dict[str, Any]], Problems]:
    """phone → member fields for the usable rows, and the problems of the others."""
    rows, problems = table.records(MEMBER_REQUIRED)
    headers = default_headers()
    seen: dict[str, int] = {}
    members: dict[str, dict[str, Any]] = {}
    for row in rows:
        name, phone = _name_and_phone(row, problems, seen)
        fields: dict[str, Any] = {"name": name, "phone": phone}
        for column, field in MEMBER_OPTIONAL.items():
            if column in row.values:
                fields[field] = row.get(column) or None
        if "是否常委" in row.values:
            answer = headers.yes_no(row.get("是否常委"))
            if answer is None:
                problems.add(row.line, f"是否常委“{row.get('是否常委')}”无法识别（应填 是/否 或 √）")
                phone = None
            fields["is_standing"] = answer
        if phone:
            members[phone] = fields
    return members, problems


def parse_unit_contacts(table: Table, plan: Plan | None = None) -> tuple[dict[str, dict[str, Any]], Problems]:
    """phone → unit contact fields; unit names must match the plan's catalogue (aliases allowed)."""
    plan = plan or default_plan()
    rows, problems = table.records(CONTACT_REQUIRED)
    seen: dict[str, int] = {}
    contacts: dict[str, dict[str, Any]] = {}
    for row in rows:
        unit_name = row.get("单位")
        unit = plan.resolve_unit(unit_name) if unit_name else None
        if not unit_name:
            problems.add(row.line, "单位为空")
        elif unit is None:
            problems.add(row.line, f"未知单位“{unit_name}”（请使用方案中的单位名称或常用简称）")
        name, phone = _name_and_phone(row, problems, seen)
        if phone and unit:
            contacts[phone] = {"unit_id": unit.id, "name": name, "phone": phone}
    return contacts, problems


def compute_changes(existing: list[Person], incoming: dict[str, dict[str, Any]], full: bool) -> Changes:
    by_phone = {person.phone: person for person in existing}
    added: list[dict[str, Any]] = []
    updated: list[tuple[Person, dict[str, Any]]] = []
    unchanged = 0
    for phone, fields in incoming.items():
        person = by_phone.get(phone)
        if person is None:
            added.append(fields)
            continue
        changes = {key: value for key, value in fields.items() if getattr(person, key) != value}
        if not person.active:
            changes["active"] = True
        if changes:
            updated.append((person, changes))
        else:
            unchanged += 1
    deactivated = [p for phone, p in by_phone.items() if full and p.active and phone not in incoming]
    return Changes(added, updated, unchanged, deactivated)


def _scope(existing: list[Person], incoming: dict[str, dict[str, Any]]) -> str:
    """What a file covers when it names only some of the roster's committees or townships."""
    for field, label in (("committee", "专委会"), ("township", "乡镇街道"), ("sector", "界别"), ("unit_id", "单位")):
        named = {fields.get(field) for fields in incoming.values()} - {None}
        present = {getattr(p, field, None) for p in existing if p.active} - {None}
        if named and present - named:
            return f"{label}：{'、'.join(sorted(named)[:5])}{'等' if len(named) > 5 else ''}"
    return ""


def preview_roster(
    storage: Storage,
    caller: Caller,
    kind: str,
    data: bytes,
    filename: str = "",
    *,
    full: bool = False,
    plan: Plan | None = None,
    table: Table | None = None,
) -> RosterPreview:
    """The dry run of importing a members roster (kind "member") or a unit contacts list
    ("unit_contact"); changes nothing. ImportProblems when the file cannot be read at all."""
    authorize(storage, caller, "manage_people")
    table = table or open_table(data, filename)
    required = MEMBER_REQUIRED if kind == "member" else CONTACT_REQUIRED
    if kind == "member":
        incoming, problems = parse_members(table)
    else:
        incoming, problems = parse_unit_contacts(table, plan)
    header = table.find_header(required)
    existing = storage.people(kind)
    absent = sum(1 for p in existing if p.active and p.phone not in incoming)
    return RosterPreview(
        kind=kind,
        filename=filename,
        file_hash=hashlib.sha256(data).hexdigest(),
        header_line=header.line,
        incoming=incoming,
        skipped=problems.by_line(),
        full=full,
        changes=compute_changes(existing, incoming, full),
        absent=absent,
        scope=_scope(existing, incoming) if not full else "",
        unread_sheets=tuple(table.unread_sheets(required)),
    )


def apply_roster(
    storage: Storage, caller: Caller, preview: RosterPreview, *, skip_bad: bool = False, now: datetime | None = None
) -> ImportSummary:
    """Apply a previewed roster in one transaction, written in bulk so that it holds the database's
    write lock briefly (about a second for 100,000 people) while the bot keeps running. Rows
    with problems refuse the whole import unless ``skip_bad``; a file without a usable row
    changes nothing."""
    authorize(storage, caller, "manage_people")
    if preview.skipped and not skip_bad:
        raise preview.problems()
    if not preview.incoming:
        raise ImportProblems(["文件中没有可以导入的行"])
    now = now or storage.now()
    with storage.atomic():
        changes = compute_changes(storage.people(preview.kind), preview.incoming, preview.full)
        storage.insert_people(preview.kind, changes.added, now)
        writes = [(person.id, fields) for person, fields in changes.updated]
        writes += [(person.id, {"active": False}) for person in changes.deactivated]
        storage.update_people(preview.kind, writes, now)
        summary = changes.summary()
        detail = dict(
            asdict(summary),
            file_sha256=preview.file_hash,
            file=preview.filename,
            full=preview.full,
            skipped=len(preview.skipped),
        )
        storage.audit(caller.telegram_id, f"import_{preview.kind}s", detail, now)
    return summary


def import_members(
    storage: Storage, caller: Caller, data: bytes, *, now: datetime | None = None, full: bool = True
) -> ImportSummary:
    """Apply a members roster at once, all or nothing (every problem refuses the file); by
    default as the full roster. The bot and the CLI preview first."""
    preview = preview_roster(storage, caller, "member", data, full=full)
    return apply_roster(storage, caller, preview, now=now)


def import_unit_contacts(
    storage: Storage,
    caller: Caller,
    data: bytes,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
    full: bool = True,
) -> ImportSummary:
    """Apply a unit contacts list (columns 单位,姓名,手机号) at once, all or nothing."""
    preview = preview_roster(storage, caller, "unit_contact", data, full=full, plan=plan)
    return apply_roster(storage, caller, preview, now=now)
