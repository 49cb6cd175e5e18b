"""Importing the members roster and the unit contacts list from CSV exports.

All or nothing: every problem in the file is reported with its line number and nothing changes;
otherwise the whole roster is applied in one transaction. People are matched by phone number,
stored as E.164 (a number without a country code is Chinese: bot.phone).
People missing from a new roster are marked inactive, never deleted, so their records stay.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.csvfile import CsvRow, Problems, read_table
from bot.people.roles import Caller, authorize
from bot.phone import ROSTER, PhoneError, display_phone, to_e164
from bot.plan.model import Plan, default_plan
from bot.storage import Storage

# Optional member columns → storage fields. A column absent from the file leaves that field as it is.
MEMBER_OPTIONAL = {"界别": "sector", "专委会": "committee", "乡镇街道": "township", "党派": "party"}
STANDING_VALUES = {
    "是": True,
    "y": True,
    "yes": True,
    "1": True,
    "true": True,
    "否": False,
    "n": False,
    "no": False,
    "0": False,
    "false": False,
    "": False,
}
_SPACE_IN_CJK = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


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


def clean_name(text: str) -> str:
    """Trim a name; drop spaces Excel users put inside Chinese names for alignment (张  三)."""
    return _SPACE_IN_CJK.sub("", text.replace("\u3000", " ").strip())


def _name_and_phone(row: CsvRow, problems: Problems, seen: dict[str, int]) -> tuple[str, str | None]:
    name = clean_name(row.get("姓名"))
    if not name:
        problems.add(row.line, "姓名为空")
    raw = row.get("手机号")
    if not raw:
        problems.add(row.line, "手机号为空")
        return name, None
    try:
        phone = to_e164(raw, ROSTER)
    except PhoneError as exc:
        problems.add(row.line, f"手机号“{raw}”无效（{exc.message}）")
        return name, None
    if phone in seen:
        problems.add(row.line, f"手机号 {display_phone(phone)} 与第{seen[phone]}行重复")
    else:
        seen[phone] = row.line
    return name, phone


def parse_members(data: bytes) -> dict[str, dict[str, Any]]:
    """phone → member fields; raise ImportProblems listing every problem."""
    rows, problems = read_table(data, ("姓名", "手机号"))
    seen: dict[str, int] = {}
    members: dict[str, dict[str, Any]] = {}
    for row in rows:
        name, phone = _name_and_phone(row, problems, seen)
        fields: dict[str, Any] = {"name": name, "phone": phone}
        for column, field in MEMBER_OPTIONAL.items():
            if column in row.values:
                fields[field] = row.get(column) or None
        if "是否常委" in row.values:
            answer = row.get("是否常委")
            if answer.lower() in STANDING_VALUES:
                fields["is_standing"] = STANDING_VALUES[answer.lower()]
            else:
                problems.add(row.line, f"是否常委“{answer}”无法识别（应填 是/否）")
        if phone:
            members[phone] = fields
    problems.raise_if_any()
    return members


def parse_unit_contacts(data: bytes, plan: Plan | None = None) -> dict[str, dict[str, Any]]:
    """phone → unit contact fields; unit names must match the plan's catalogue (aliases allowed)."""
    plan = plan or default_plan()
    rows, problems = read_table(data, ("单位", "姓名", "手机号"))
    seen: dict[str, int] = {}
    contacts: dict[str, dict[str, Any]] = {}
    for row in rows:
        name, phone = _name_and_phone(row, problems, seen)
        unit_name = row.get("单位")
        unit = plan.resolve_unit(unit_name) if unit_name else None
        if not unit_name:
            problems.add(row.line, "单位为空")
        elif unit is None:
            problems.add(row.line, f"未知单位“{unit_name}”（请使用方案中的单位名称或常用简称）")
        if phone and unit:
            contacts[phone] = {"unit_id": unit.id, "name": name, "phone": phone}
    problems.raise_if_any()
    return contacts


def _sync(
    storage: Storage, kind: str, incoming: dict[str, dict[str, Any]], actor: int | None, now: datetime
) -> ImportSummary:
    """Apply a parsed roster in one transaction, written in bulk so that it holds the database's
    write lock briefly (about a second for 100,000 people) while the bot keeps running."""
    counts = dict.fromkeys(("added", "updated", "unchanged", "deactivated", "reactivated"), 0)
    added: list[dict[str, Any]] = []
    changed: list[tuple[int, dict[str, Any]]] = []
    with storage.atomic():
        existing = {person.phone: person for person in storage.people(kind)}
        for phone, fields in incoming.items():
            person = existing.get(phone)
            if person is None:
                added.append(fields)
                counts["added"] += 1
                continue
            changes = {key: value for key, value in fields.items() if getattr(person, key) != value}
            if not person.active:
                changes["active"] = True
                counts["reactivated"] += 1
            else:
                counts["updated" if changes else "unchanged"] += 1
            if changes:
                changed.append((person.id, changes))
        for phone, person in existing.items():
            if phone not in incoming and person.active:
                changed.append((person.id, {"active": False}))
                counts["deactivated"] += 1
        storage.insert_people(kind, added, now)
        storage.update_people(kind, changed, now)
        summary = ImportSummary(**counts)
        storage.audit(actor, f"import_{kind}s", asdict(summary), now)
    return summary


def import_members(storage: Storage, caller: Caller, data: bytes, *, now: datetime | None = None) -> ImportSummary:
    """Apply a members roster CSV (columns 姓名,手机号[,界别,专委会,乡镇街道,党派,是否常委])."""
    authorize(storage, caller, "manage_people")
    return _sync(storage, "member", parse_members(data), caller.telegram_id, now or storage.now())


def import_unit_contacts(
    storage: Storage,
    caller: Caller,
    data: bytes,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> ImportSummary:
    """Apply a unit contacts CSV (columns 单位,姓名,手机号)."""
    authorize(storage, caller, "manage_people")
    contacts = parse_unit_contacts(data, plan)
    return _sync(storage, "unit_contact", contacts, caller.telegram_id, now or storage.now())
