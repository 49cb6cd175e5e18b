"""The consultation calendar: events secretaries add, change and cancel; who they concern.

An event has a kind (协商活动 …), a start date with an optional time (no time: all day), an
optional end, a place, an audience (a spec understood by :mod:`bot.notices.audience`), notes and, for
协商活动, the quarter it counts for under the plan's (6). Every refusal is an
:class:`EventError` with a Simplified Chinese reason; nothing is saved then.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import DEFAULT_TZ
from bot.csvfile import ImportProblems, Problems
from bot.dates import DateError, parse_clock, parse_date, parse_when
from bot.errors import UserError
from bot.ledger import LedgerError, Quarter
from bot.ledger import parse_quarter as ledger_quarter
from bot.notices.audience import Audience, AudienceError, Recipient, parse_audience, resolve
from bot.numbers import NumberError, has_foreign_digits, parse_number
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan
from bot.storage import Storage, actor_label, stamp
from bot.storage.calendar import EventRow
from bot.tables import Table, open_table

EVENT_KINDS = ("协商活动", "常委会会议", "全体会议", "培训", "提案截止", "视察调研", "组织生活会")
KIND_SYNONYMS = {
    **{kind: kind for kind in EVENT_KINDS},
    "协商": "协商活动",
    "协商会": "协商活动",
    "协商会议": "协商活动",
    "专题协商": "协商活动",
    "常委会": "常委会会议",
    "常务委员会会议": "常委会会议",
    "全会": "全体会议",
    "全体委员会议": "全体会议",
    "轮训": "培训",
    "委员培训": "培训",
    "提案截止日": "提案截止",
    "提案截止日期": "提案截止",
    "视察": "视察调研",
    "调研": "视察调研",
    "考察": "视察调研",
    "视察考察调研": "视察调研",
    "组织生活": "组织生活会",
}
QUARTER_KIND = "协商活动"  # the kind counted per quarter under (6)
MAX_TITLE = 100
MAX_PLACE = 100
MAX_NOTES = 500
WEEKDAYS = "一二三四五六日"

_TIME = re.compile(r"(\d{1,2})\s*[:点时]\s*(\d{1,2})?\s*分?")
_TIME_RANGE = re.compile(r"(.+?)\s*[-–—~～至到]\s*(.+)")
_DATE_LIKE = re.compile(r"\d{4}\D+\d{1,2}\D+\d{1,2}\D*|\d{8}")


class EventError(UserError, ValueError):
    """An event was refused; ``message`` is Simplified Chinese for the user."""


# ---- reading what people write ---------------------------------------------------------


def _nfkc(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def normalize_kind(text: str) -> str:
    kind = KIND_SYNONYMS.get(_nfkc(text))
    if kind is None:
        raise EventError(f"无法识别的活动类型“{text}”，可用：{'、'.join(EVENT_KINDS)}")
    return kind


def parse_day(text: str, what: str = "日期", today: date | None = None) -> date:
    """A calendar date as people write it (bot/dates.py: 2027-03-05, 3月5日, 3.5, 明天, 下周三; a
    month and day that has passed is next year's); an impossible one such as 2027-02-30 is
    refused by name."""
    day = parse_date(text)
    if day is not None:
        return day
    if _DATE_LIKE.fullmatch(_nfkc(text)) and not has_foreign_digits(text):
        raise EventError(f"{what}“{text}”不存在，请核对年月日")
    try:
        when = parse_when(text, today or datetime.now(ZoneInfo(DEFAULT_TZ)).date(), future=True)
    except DateError as exc:
        if exc.reason == "no_such_date":
            raise EventError(f"{what}“{text}”不存在，请核对年月日") from exc
        when = None
    if when is None or when.day is None or when.clock is not None:
        raise EventError(f"{what}“{text}”无法识别，请写成 2027-03-05、3月5日 或 下周三 的形式")
    return when.day


def read_time(text: str, what: str = "时间") -> tuple[time, str | None]:
    """14:30, 14：30, 14点30, 9点, 上午9点, 下午3点半 (bot/dates.py) → a time of day, and the guess
    made reading it (a bare 3点 is 下午3:00: “3点”按下午3:00理解), or None."""
    try:
        parsed = parse_clock(text)
    except DateError:
        parsed = None
    if parsed is not None:
        return parsed
    match = None if has_foreign_digits(text) else _TIME.fullmatch(_nfkc(text))
    hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (99, 99)
    if hour <= 23 and minute <= 59:
        return time(hour, minute), None
    raise EventError(f"{what}“{text}”无法识别，请写成 14:30 或 下午2点半 的形式")


def parse_time(text: str, what: str = "时间") -> time:
    return read_time(text, what)[0]


def time_guesses(text: str) -> list[str]:
    """The guesses made reading a time or a range (“3点-5点”), to echo back for confirmation."""
    match = _TIME_RANGE.fullmatch(_nfkc(text))
    parts = [match.group(1), match.group(2)] if match and _TIME.fullmatch(match.group(1).strip()) else [text]
    return [guess for part in parts if (guess := read_time(part.strip())[1])]


def day_guesses(text: str, today: date) -> list[str]:
    """The guesses made reading a date (“3.5”按3月5日理解), to echo back for confirmation."""
    if parse_date(text) is not None:
        return []
    try:
        return list(parse_when(text, today, future=True).guesses)
    except DateError:
        return []


def parse_time_range(text: str) -> tuple[time, time | None]:
    """'14:30' or '14:30-16:00' → (start, end or None)."""
    cleaned = _nfkc(text)
    match = _TIME_RANGE.fullmatch(cleaned)
    if match and _TIME.fullmatch(match.group(1).strip()):
        return parse_time(match.group(1)), parse_time(match.group(2), "结束时间")
    return parse_time(cleaned), None


def parse_quarter(text: str) -> str:
    """2027Q1 or 2027年第一季度 → '2027Q1'."""
    try:
        return ledger_quarter(text).code
    except LedgerError as exc:
        raise EventError(exc.message) from exc


def quarter_label(code: str) -> str:
    return ledger_quarter(code).label


# ---- audiences (bot.notices.audience: what a secretary types → a stored spec → people) -------------


def audience_spec(storage: Storage, text: str | None) -> str:
    """The stored (JSON) form of an audience typed by a secretary, or kept from an event."""
    text = (text or "").strip()
    if not text:
        raise EventError("请写明活动对象，例如：全体委员、常委、经济委、习岗镇、财政局")
    if text.startswith("["):
        try:
            return Audience.from_json(text).to_json()
        except (ValueError, TypeError) as exc:
            raise EventError(f"活动对象无法识别：{text}") from exc
    try:
        return parse_audience(text, storage).to_json()
    except AudienceError as exc:
        raise EventError(exc.message) from exc


def audience_label(spec: str, plan: Plan | None = None) -> str:
    return Audience.from_json(spec).label(plan)


def audience_people(storage: Storage, spec: str, admin_ids: frozenset[int] = frozenset()) -> list[Recipient]:
    """Everyone an event is for (bound or not; ``chat_id`` None when unbound)."""
    return resolve(storage, Audience.from_json(spec), admin_ids=admin_ids)


# ---- the event as people see it ---------------------------------------------------------


def starts_at(event: EventRow, tz: ZoneInfo) -> datetime:
    """Start as an aware datetime; an all-day event starts at midnight."""
    return datetime.combine(event.start_date, _hhmm(event.start_time) or time(0), tz)


def ends_at(event: EventRow, tz: ZoneInfo) -> datetime:
    """End as an aware datetime: the given end, else the end of the start day (all day) or start + 2 h."""
    if event.end_date or event.end_time:
        day = event.end_date or event.start_date
        end = _hhmm(event.end_time)
        return datetime.combine(day, end, tz) if end else datetime.combine(day + timedelta(days=1), time(0), tz)
    if event.start_time is None:
        return datetime.combine(event.start_date + timedelta(days=1), time(0), tz)
    return starts_at(event, tz) + timedelta(hours=2)


def _hhmm(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


def when_text(event: EventRow) -> str:
    """e.g. 2027-03-10（周三）14:30–16:30, or 2027-03-10（周三）全天."""
    start = f"{event.start_date.isoformat()}（周{WEEKDAYS[event.start_date.weekday()]}）"
    text = f"{start}{event.start_time or '全天'}"
    if event.end_date and event.end_date != event.start_date:
        text += f" 至 {event.end_date.isoformat()}（周{WEEKDAYS[event.end_date.weekday()]}）{event.end_time or ''}"
    elif event.end_time:
        text += f"–{event.end_time}"
    return text


def describe(event: EventRow | EventFields, *, with_id: bool = True) -> str:
    """Several short lines for a phone screen (also for a draft, without id)."""
    lines = [f"【{event.kind}】{event.title}" + (f"（编号 {event.id}）" if with_id else "")]
    if getattr(event, "status", "scheduled") == "cancelled":
        lines[0] = f"【已取消】{lines[0]}"
    lines.append(f"时间：{when_text(event)}")
    if event.place:
        lines.append(f"地点：{event.place}")
    lines.append(f"对象：{audience_label(event.audience)}")
    if event.quarter:
        lines.append(f"计入：{quarter_label(event.quarter)}重要协商活动（方案第（6）项）")
    if event.notes:
        lines.append(f"备注：{event.notes}")
    return "\n".join(lines)


def one_line(event: EventRow) -> str:
    place = f"，{event.place}" if event.place else ""
    return f"{when_text(event)} 【{event.kind}】{event.title}{place}"


# ---- validation -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFields:
    """Validated event content (everything but bookkeeping)."""

    kind: str
    title: str
    start_date: date
    start_time: str | None
    end_date: date | None
    end_time: str | None
    place: str
    audience: str
    quarter: str | None
    notes: str


def _limited(text: str | None, limit: int, what: str) -> str:
    value = (text or "").strip()
    if len(value) > limit:
        raise EventError(f"{what}过长（最多 {limit} 字）")
    return value


def validate(
    storage: Storage,
    *,
    kind: str,
    date: date | str | None,
    audience: str,
    title: str | None = None,
    time: time | str | None = None,
    end_date: date | str | None = None,
    end_time: time | str | None = None,
    place: str | None = None,
    notes: str | None = None,
    quarter: str | None = None,
    now: datetime,
    check_past: bool = True,
) -> EventFields:
    """Check every field and return the event to save; EventError names the first problem."""
    kind = normalize_kind(kind)
    has_time = time not in (None, "")
    if date in (None, ""):
        raise EventError("只写了时间，没有写日期" if has_time else "请写明活动日期")
    start_day = date if not isinstance(date, str) else parse_day(date, today=now.date())
    start_time = end_of_range = None
    if has_time:
        if isinstance(time, str):
            start_time, end_of_range = parse_time_range(time)
        else:
            start_time = time
    end_day = None
    if end_date not in (None, ""):
        end_day = end_date if not isinstance(end_date, str) else parse_day(end_date, "结束日期")
    finish = end_of_range
    if end_time not in (None, ""):
        finish = end_time if not isinstance(end_time, str) else parse_time(end_time, "结束时间")
    if finish is not None and start_time is None:
        raise EventError("只写了结束时间，没有写开始时间")
    tz = storage.tz
    start = datetime.combine(start_day, start_time or datetime.min.time(), tz)
    if check_past and (start_day < now.date() if start_time is None else start < now):
        shown = start_day.isoformat() + (f" {start_time.strftime('%H:%M')}" if start_time else "")
        raise EventError(f"活动时间 {shown} 已经过去，不能安排")
    if end_day is not None and end_day < start_day:
        raise EventError(f"结束日期 {end_day.isoformat()} 早于开始日期 {start_day.isoformat()}")
    if finish is not None and datetime.combine(end_day or start_day, finish, tz) <= start:
        raise EventError(f"结束时间 {finish.strftime('%H:%M')} 早于（或等于）开始时间 {start_time.strftime('%H:%M')}")
    if kind != QUARTER_KIND and quarter:
        raise EventError(f"只有{QUARTER_KIND}需要填写季度")
    counted = parse_quarter(quarter) if quarter else Quarter.of(start_day).code
    return EventFields(
        kind=kind,
        title=_limited(title, MAX_TITLE, "活动名称") or kind,
        start_date=start_day,
        start_time=start_time.strftime("%H:%M") if start_time else None,
        end_date=end_day if end_day and end_day != start_day else None,
        end_time=finish.strftime("%H:%M") if finish else None,
        place=_limited(place, MAX_PLACE, "地点"),
        audience=audience_spec(storage, audience),
        quarter=counted if kind == QUARTER_KIND else None,
        notes=_limited(notes, MAX_NOTES, "备注"),
    )


# ---- changes -----------------------------------------------------------------------------


def _existing(storage: Storage, event_id: int) -> EventRow:
    event = storage.event(event_id)
    if event is None:
        raise EventError(f"没有编号为 {event_id} 的活动")
    return event


def add_event(storage: Storage, caller: Caller, *, now: datetime | None = None, **fields: Any) -> EventRow:
    """Validate and save a new event (secretaries). Keyword fields as in :func:`validate`."""
    authorize(storage, caller, "manage_events")
    now = now or storage.now()
    checked = validate(storage, now=now, **fields)
    with storage.atomic():
        event_id = storage.insert_event(_new_row(checked, caller, now))
        storage.audit(caller.telegram_id, "add_event", {"event_id": event_id, **asdict(checked)}, now)
    return storage.event(event_id)


def _new_row(checked: EventFields, caller: Caller, now: datetime) -> dict[str, Any]:
    return {
        **asdict(checked),
        "status": "scheduled",
        "sequence": 0,
        "scheduled_at": now.isoformat(),  # full precision: compared with reminder passes
        "created_by": actor_label(caller.telegram_id),
        "created_at": stamp(now),
        "updated_at": stamp(now),
    }


CHANGEABLE = ("kind", "title", "date", "time", "end_date", "end_time", "place", "audience", "notes", "quarter")


def _as_input(event: EventRow) -> dict[str, Any]:
    """The stored event in :func:`validate`'s keyword form."""
    return {
        "kind": event.kind,
        "title": event.title,
        "date": event.start_date,
        "time": _hhmm(event.start_time),
        "end_date": event.end_date,
        "end_time": _hhmm(event.end_time),
        "place": event.place,
        "audience": event.audience,
        "notes": event.notes,
        "quarter": event.quarter,
    }


def preview_change(storage: Storage, event_id: int, *, now: datetime, **changes: Any) -> EventFields:
    """The event as it would be after the changes (validated, nothing saved)."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"unknown event fields {sorted(unknown)}")
    event = _existing(storage, event_id)
    if event.status == "cancelled":
        raise EventError(f"活动（编号 {event_id}）已取消，不能修改")
    if event.closed_at and any(key in changes for key in ("kind", "date", "time", "end_date", "end_time")):
        raise EventError(f"活动（编号 {event_id}）已经结束，出勤已登记，不能再改期或改类型；如需再次安排请新建活动")
    merged = {**_as_input(event), **changes}
    if "time" in changes and "end_time" not in changes:
        merged["end_time"] = None  # a new time brings its own end ("14:30-16:30") or none
    if changes.get("date") and "end_date" not in changes and event.end_date:
        new_day = parse_day(changes["date"]) if isinstance(changes["date"], str) else changes["date"]
        merged["end_date"] = event.end_date + (new_day - event.start_date)  # a multi-day event keeps its length
    if changes.get("kind") and normalize_kind(changes["kind"]) != QUARTER_KIND:
        merged["quarter"] = None
    elif "date" in changes and "quarter" not in changes:
        merged["quarter"] = None  # recomputed from the new date
    moved = any(key in changes for key in ("date", "time"))
    return validate(storage, now=now, check_past=moved, **merged)


def change_event(
    storage: Storage, caller: Caller, event_id: int, *, now: datetime | None = None, **changes: Any
) -> EventRow:
    """Change some fields of a scheduled event; a new date or time must not be in the past.

    Moving an event restarts its reminders (their keys include the start), and reminders
    that would have been due before the change are not sent.
    """
    authorize(storage, caller, "manage_events")
    now = now or storage.now()
    checked = preview_change(storage, event_id, now=now, **changes)
    event = _existing(storage, event_id)
    before = asdict(event)
    fields: dict[str, Any] = {**asdict(checked), "sequence": event.sequence + 1, "updated_at": stamp(now)}
    if (checked.start_date, checked.start_time) != (event.start_date, event.start_time):
        fields["scheduled_at"] = now.isoformat()
    with storage.atomic():
        storage.update_event(event_id, fields)
        storage.audit(caller.telegram_id, "change_event", {"event_id": event_id, "before": before}, now)
    return storage.event(event_id)


def cancel_event(storage: Storage, caller: Caller, event_id: int, *, now: datetime | None = None) -> EventRow:
    authorize(storage, caller, "manage_events")
    now = now or storage.now()
    event = _existing(storage, event_id)
    if event.status == "cancelled":
        raise EventError(f"活动（编号 {event_id}）已经取消")
    with storage.atomic():
        storage.update_event(
            event_id, {"status": "cancelled", "sequence": event.sequence + 1, "updated_at": stamp(now)}
        )
        storage.audit(caller.telegram_id, "cancel_event", {"event_id": event_id, "title": event.title}, now)
    return storage.event(event_id)


# ---- reading -----------------------------------------------------------------------------


EVENT_USAGE = "用法：/event（安排新活动），或 /event 活动编号（查看、修改或取消这项活动）"


def event_argument(text: str) -> int | None:
    """The event id of `/event 12`; None for a bare /event; EventError with the usage for anything else."""
    if not text.strip():
        return None
    try:
        return parse_number(text, usage=EVENT_USAGE, what="活动编号")
    except NumberError as exc:
        raise EventError(exc.message) from exc


def get_event(storage: Storage, caller: Caller, event_id: int) -> EventRow:
    """One event, if it concerns the caller (secretaries see all)."""
    authorize(storage, caller, "view_events")
    event = _existing(storage, event_id)
    if not concerns(storage, event, caller):
        raise EventError(f"没有编号为 {event_id} 的活动")
    return event


def concerns(storage: Storage, event: EventRow, caller: Caller) -> bool:
    """Whether the event is for the caller: secretaries see every event."""
    if "admin" in caller.capacities:
        return True
    mine = {f"member:{caller.member_id}", f"unit_contact:{caller.unit_contact_id}"}
    return any(r.key in mine for r in audience_people(storage, event.audience))


def list_events(
    storage: Storage,
    caller: Caller,
    start: date | None = None,
    end: date | None = None,
    *,
    include_cancelled: bool = False,
) -> list[EventRow]:
    """Events starting in [start, end) that concern the caller."""
    authorize(storage, caller, "view_events")
    events = storage.events_between(start, end, include_cancelled=include_cancelled)
    return [event for event in events if concerns(storage, event, caller)]


def upcoming_for(storage: Storage, caller: Caller, now: datetime, days: int = 90) -> list[EventRow]:
    """Scheduled events concerning the caller that have not ended and start within ``days``."""
    events = list_events(storage, caller, now.date() - timedelta(days=31), now.date() + timedelta(days=days + 1))
    return [event for event in events if ends_at(event, storage.tz) > now]


# ---- CSV import ----------------------------------------------------------------------------

CSV_COLUMNS = {
    "类型": "kind",
    "名称": "title",
    "日期": "date",
    "时间": "time",
    "结束日期": "end_date",
    "结束时间": "end_time",
    "地点": "place",
    "对象": "audience",
    "备注": "notes",
    "季度": "quarter",
}


@dataclass(frozen=True)
class EventImportSummary:
    added: int = 0
    unchanged: int = 0

    def describe(self) -> str:
        return f"新增 {self.added} 项活动，已存在 {self.unchanged} 项"


def _same(event: EventRow, checked: EventFields) -> bool:
    stored = EventFields(**{key: getattr(event, key) for key in asdict(checked)})
    return stored == checked


EVENT_COLUMNS = ("类型", "日期", "对象")


def read_event_rows(storage: Storage, table: Table, now: datetime) -> tuple[list[EventFields], Problems]:
    """The checked events of an office file's usable rows, and the problems of the others."""
    rows, problems = table.records(EVENT_COLUMNS)
    accepted: list[EventFields] = []
    seen: dict[EventFields, int] = {}
    for row in rows:
        try:
            checked = validate(storage, now=now, **{field: row.get(column) for column, field in CSV_COLUMNS.items()})
        except EventError as exc:
            problems.add(row.line, exc.message)
            continue
        if checked in seen:
            problems.add(row.line, f"与第{seen[checked]}行重复")
            continue
        seen[checked] = row.line
        accepted.append(checked)
    return accepted, problems


def import_events(
    storage: Storage,
    caller: Caller,
    data: bytes,
    *,
    now: datetime | None = None,
    rows: list[EventFields] | None = None,
    file_hash: str | None = None,
) -> EventImportSummary:
    """Import events from .xlsx, .xls or .csv (类型, 日期, 对象 required; 名称, 时间, 结束日期,
    结束时间, 地点, 备注, 季度 optional). All or nothing: ImportProblems lists every problem with
    its line. A row identical to a scheduled event is counted as already there, not added twice.
    ``rows`` are events already read (read_event_rows, after a dry run)."""
    authorize(storage, caller, "manage_events")
    now = now or storage.now()
    if rows is None:
        rows, problems = read_event_rows(storage, open_table(data), now)
        problems.raise_if_any()
    if not rows:
        raise ImportProblems(["文件中没有可以导入的行"])
    accepted = rows
    existing = storage.events_between(min(c.start_date for c in accepted), None)
    added = unchanged = 0
    with storage.atomic():
        for checked in accepted:
            if any(_same(event, checked) for event in existing):
                unchanged += 1
                continue
            storage.insert_event(_new_row(checked, caller, now))
            added += 1
        summary = EventImportSummary(added, unchanged)
        detail = asdict(summary) | ({"file_sha256": file_hash} if file_hash else {})
        storage.audit(caller.telegram_id, "import_events", detail, now)
    return summary
