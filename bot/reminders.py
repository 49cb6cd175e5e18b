"""Reminder rules as data, and the deterministic engine that turns them into reminders.

Rules come from knowledge/reminders.json, validated at load (a clear error names the file and
the rule), with the secretaries' overrides from the database applied on top. The engine is
pure: :func:`due_reminders` computes, for a time window, every reminder the rules produce —
when, to whom, under which rule and occurrence, the text and the buttons — from the database
as it is; nothing is sent. :func:`deliver_due` (run by the scheduler every minute and at
start-up) records each decision under its unique (rule, occurrence, recipient) key and hands
the messages to the outbox in the same transaction. See docs/reminders.md.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.calendar import EVENT_KINDS, QUARTER_KIND, audience_people, ends_at, one_line, starts_at, when_text
from bot.config import ConfigError, knowledge_dir
from bot.dates import add_months
from bot.errors import UserError
from bot.ledger import Quarter, reporting_contacts, silent_units, silent_units_text, unit_reminder_text
from bot.notices.outbox import Outgoing, enqueue
from bot.people.progress import PHRASES, member_obligations
from bot.people.records import unit_names
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan, default_plan
from bot.plan.term import TermSettings, default_term_settings
from bot.reply import Button
from bot.storage import RECORD_KINDS, Member, Person, Record, Storage, UnitContact, actor_label
from bot.storage.calendar import EventRow
from bot.textsplit import TELEGRAM_LIMIT, utf16_len

log = logging.getLogger(__name__)

RULES_FILE = "reminders.json"
SOURCE_KIND = "reminder"  # outbox source kind of every reminder message
QUIET_RULE = "quiet_hours"  # pseudo rule id for overriding the quiet hours
MAX_LOOKBACK = timedelta(days=62)  # a catch-up pass never looks further back than this
MAX_BUTTON_ROWS = 8
MESSAGE_LIMIT = TELEGRAM_LIMIT  # measured on the HTML-escaped text, as the transport sends it

# kind → (required fields, optional fields) besides the common ones
COMMON_FIELDS = {"id", "kind", "description", "enabled", "task", "obligations", "why", "at", "grace", "recipients"}
KIND_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "event": ({"offsets", "event_kinds"}, set()),
    "training_announced": (set(), set()),
    "quarterly_consultation": ({"check", "quarter_day"}, set()),
    "member_minimums": ({"dates", "record_kinds"}, set()),
    "proposal_deadline": ({"days_before", "record_kinds"}, set()),
    "proposal_reply": ({"days_before"}, set()),
    "proposal_overdue": ({"days_after"}, {"repeat_days"}),
    "organisational_life": ({"dates"}, set()),
    "ledger_units": ({"quarter_day"}, set()),
    "ledger_summary": ({"quarter_day"}, set()),
}
RULE_KINDS = tuple(KIND_FIELDS)
DEFAULT_GRACE = timedelta(days=1)
RECIPIENT_WORDS = ("secretaries", "undertaking_units")
DURATION_UNITS = ("days", "hours", "minutes", "seconds")
ORG_LIFE_KIND = "组织生活会"


class ReminderError(UserError, ValueError):
    """A secretary's change to the rules was refused; ``message`` is Simplified Chinese."""


# ---- rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offset:
    """How long before an event a reminder goes out. With ``at``, a whole number of days
    before, at that time of day; otherwise exactly ``delta`` before the start."""

    delta: timedelta
    at: time | None = None

    @property
    def label(self) -> str:
        if self.at is not None:
            return f"{self.delta.days}d"
        seconds = int(self.delta.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"

    def due(self, start: datetime) -> datetime:
        if self.at is not None:
            return datetime.combine(start.date() - timedelta(days=self.delta.days), self.at, start.tzinfo)
        return start - self.delta

    def describe(self) -> str:
        if self.at is not None:
            return f"{self.delta.days}天前 {self.at:%H:%M}"
        return f"{_span(self.delta)}前"


@dataclass(frozen=True)
class Citation:
    """Why a reminder is sent: the plan task and, optionally, the obligations' wording."""

    task: int | None
    text: str  # e.g. 依据实施方案（33）：每位委员每年至少参加1次……


@dataclass(frozen=True)
class QuietHours:
    """Reminders falling in [start, end) (wrapping midnight when start > end) wait for ``end``."""

    start: time
    end: time

    @property
    def active(self) -> bool:
        return self.start != self.end

    def contains(self, moment: datetime) -> bool:
        if not self.active:
            return False
        clock = moment.timetz().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def shift(self, moment: datetime) -> datetime:
        """The first moment at or after ``moment`` outside the quiet hours."""
        if not self.contains(moment):
            return moment
        morning = datetime.combine(moment.date(), self.end, moment.tzinfo)
        return morning if morning > moment else morning + timedelta(days=1)

    def describe(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}" if self.active else "无"


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    description: str
    enabled: bool
    citation: Citation | None  # None for event rules: each event kind has its own
    at: time
    grace: timedelta
    recipients: tuple[str, ...] = ()
    offsets: tuple[Offset, ...] = ()
    event_kinds: dict[str, Citation] = field(default_factory=dict)
    check: str | None = None
    quarter_day: tuple[int, int | None] | None = None  # (month of quarter 1–3, day or None = last day)
    dates: tuple[tuple[int, int], ...] = ()  # (month, day) every year
    days_before: tuple[int, ...] = ()
    days_after: int = 0
    repeat_days: int = 0
    record_kinds: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for `reminders rules` and for secretaries."""
        when = {
            "event": "、".join(o.describe() for o in self.offsets) + "（" + "、".join(self.event_kinds) + "）",
            "training_announced": "安排培训时",
            "quarterly_consultation": f"每季度{_quarter_day_text(self.quarter_day)} {self.at:%H:%M}",
            "member_minimums": "每年" + "、".join(f"{m}月{d}日" for m, d in self.dates) + f" {self.at:%H:%M}",
            "proposal_deadline": "提案截止前" + "、".join(f"{n}天" for n in self.days_before),
            "proposal_reply": "答复期限前" + "、".join(f"{n}天" for n in self.days_before),
            "proposal_overdue": f"超期第{self.days_after}天"
            + (f"，此后每{self.repeat_days}天" if self.repeat_days else ""),
            "organisational_life": "每年" + "、".join(f"{m}月{d}日" for m, d in self.dates),
            "ledger_units": f"每季度{_quarter_day_text(self.quarter_day)} {self.at:%H:%M}",
            "ledger_summary": f"每季度{_quarter_day_text(self.quarter_day)} {self.at:%H:%M}",
        }[self.kind]
        state = "" if self.enabled else "（已停用）"
        return f"{self.id}{state}：{self.description or self.kind}。时间：{when}；补发时限 {_span(self.grace)}"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    quiet: QuietHours
    source: str  # file the rules came from (for messages)

    def enabled(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]

    def rule(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("天", 86400), ("小时", 3600), ("分钟", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}秒"


def _quarter_day_text(value: tuple[int, int | None] | None) -> str:
    if value is None:
        return ""
    month, day = value
    return f"第{month}个月{'最后一天' if day is None else f'{day}日'}"


# ---- loading and validating --------------------------------------------------------------


class _Where:
    """Builds error messages naming the file, the rule and the field."""

    def __init__(self, source: str, rule: str = ""):
        self.source = source
        self.rule = rule

    def error(self, field_name: str, message: str) -> ConfigError:
        where = f"{self.source}: {self.rule}" if self.rule else self.source
        return ConfigError(f"{where}.{field_name}: {message}" if field_name else f"{where}: {message}")


def _clock(value: Any, where: _Where, name: str) -> time:
    try:
        if isinstance(value, str) and len(value) == 5:
            return time.fromisoformat(value)
    except ValueError:
        pass
    raise where.error(name, f"应为 HH:MM 形式的时间，实际为 {value!r}")


def _int(value: Any, where: _Where, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(name, f"应为整数，实际为 {value!r}")
    if value < minimum:
        raise where.error(name, f"不能为负数（实际为 {value}）" if minimum == 0 else f"至少为 {minimum}")
    return value


def _int_list(value: Any, where: _Where, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise where.error(name, "应为非空的整数列表")
    return tuple(_int(item, where, f"{name}[{i}]") for i, item in enumerate(value))


def _duration(value: Any, where: _Where, name: str, *, allow_at: bool = False) -> Offset:
    if not isinstance(value, dict) or not value:
        raise where.error(name, '应为对象，例如 {"days": 3}')
    unknown = set(value) - set(DURATION_UNITS) - ({"at"} if allow_at else set())
    if unknown:
        raise where.error(name, f"未知的字段 {', '.join(sorted(unknown))}")
    amounts = {unit: _int(value[unit], where, f"{name}.{unit}") for unit in DURATION_UNITS if unit in value}
    if not amounts:
        raise where.error(name, "至少要写 days、hours、minutes 或 seconds 之一")
    at = None
    if "at" in value:
        if set(amounts) != {"days"}:
            raise where.error(f"{name}.at", "只能与 days 一起使用（某天的几点）")
        at = _clock(value["at"], where, f"{name}.at")
    return Offset(timedelta(**amounts), at)


def _month_day(value: Any, where: _Where, name: str) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(value).split("-"))
        date(2000, month, day)  # a leap year: 02-29 is allowed (it falls on 02-28 in other years)
    except ValueError:
        raise where.error(name, f"应为 MM-DD 形式的日期，实际为 {value!r}") from None
    return month, day


def _parse_quarter_day(value: Any, where: _Where, name: str) -> tuple[int, int | None]:
    if not isinstance(value, dict) or set(value) != {"month", "day"}:
        raise where.error(name, '应为 {"month": 1–3, "day": 1–31 或 "last"}')
    month = _int(value["month"], where, f"{name}.month", 1)
    if month > 3:
        raise where.error(f"{name}.month", "应为季度中的第 1–3 个月")
    if value["day"] == "last":
        return month, None
    day = _int(value["day"], where, f"{name}.day", 1)
    if day > 28:
        raise where.error(f"{name}.day", '应为 1–28 或 "last"（并非每个月都有29–31日）')
    return month, day


def _citation(raw: dict, where: _Where, plan: Plan, prefix: str = "") -> Citation | None:
    task = raw.get("task")
    if task is not None:
        _int(task, where, f"{prefix}task", 1)
        if plan.task(task) is None:
            raise where.error(f"{prefix}task", f"方案中没有第（{task}）项任务")
    obligations = raw.get("obligations", [])
    if not isinstance(obligations, list):
        raise where.error(f"{prefix}obligations", "应为列表")
    known = {o.id: o for o in plan.obligations}
    quotes = []
    for i, obligation_id in enumerate(obligations):
        if obligation_id not in known:
            raise where.error(f"{prefix}obligations[{i}]", f"方案中没有量化要求 {obligation_id!r}")
        quotes.append(known[obligation_id].quote)
    why = raw.get("why")
    if why is not None and (not isinstance(why, str) or not why.strip()):
        raise where.error(f"{prefix}why", "应为非空字符串")
    if why:
        return Citation(task, why.strip())
    if task is None:
        return None
    text = f"依据实施方案（{task}）" + (f"：{'；'.join(quotes)}。" if quotes else "。")
    return Citation(task, text)


def _recipients(value: Any, where: _Where, plan: Plan) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise where.error("recipients", "应为列表")
    for i, item in enumerate(value):
        if item in RECIPIENT_WORDS:
            continue
        if isinstance(item, str) and item.startswith("unit:") and item[5:] in plan.catalogue.units:
            continue
        raise where.error(
            f"recipients[{i}]", f"未知的接收对象 {item!r}（可用：secretaries、undertaking_units、unit:单位id）"
        )
    return tuple(value)


def _rule(raw: Any, index: int, source: str, plan: Plan) -> Rule:
    where = _Where(source, f"rules[{index}]")
    if not isinstance(raw, dict):
        raise where.error("", "应为对象")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise where.error("id", "缺少规则 id")
    where = _Where(source, f"rules[{index}]（{rule_id}）")
    kind = raw.get("kind")
    if kind not in KIND_FIELDS:
        raise where.error("kind", f"未知的规则类型 {kind!r}（可用：{'、'.join(RULE_KINDS)}）")
    required, optional = KIND_FIELDS[kind]
    missing = required - set(raw)
    if missing:
        raise where.error("", f"{kind} 类规则缺少字段 {', '.join(sorted(missing))}")
    unknown = set(raw) - COMMON_FIELDS - required - optional
    if unknown:
        raise where.error("", f"{kind} 类规则不认识字段 {', '.join(sorted(unknown))}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise where.error("enabled", "应为 true 或 false")
    citation = _citation(raw, where, plan)
    if kind != "event" and citation is None:
        raise where.error("task", "请写明依据的任务编号（task）或依据说明（why）")
    values: dict[str, Any] = {
        "id": rule_id,
        "kind": kind,
        "description": str(raw.get("description", "")),
        "enabled": enabled,
        "citation": citation,
        "at": _clock(raw.get("at", "09:00"), where, "at"),
        "grace": _duration(raw["grace"], where, "grace").delta if "grace" in raw else DEFAULT_GRACE,
        "recipients": _recipients(raw.get("recipients", []), where, plan),
    }
    if kind == "event":
        offsets = raw["offsets"]
        if not isinstance(offsets, list) or not offsets:
            raise where.error("offsets", "应为非空列表")
        values["offsets"] = tuple(
            _duration(item, where, f"offsets[{i}]", allow_at=True) for i, item in enumerate(offsets)
        )
        kinds = raw["event_kinds"]
        if not isinstance(kinds, dict) or not kinds:
            raise where.error("event_kinds", "应为非空对象：活动类型 → {task, obligations}")
        event_kinds = {}
        for name, spec in kinds.items():
            if name not in EVENT_KINDS:
                raise where.error(f"event_kinds.{name}", f"未知的活动类型（可用：{'、'.join(EVENT_KINDS)}）")
            if not isinstance(spec, dict):
                raise where.error(f"event_kinds.{name}", "应为对象")
            event_kinds[name] = _citation(spec, where, plan, f"event_kinds.{name}.") or Citation(None, "")
        values["event_kinds"] = event_kinds
    if "check" in raw:
        if raw["check"] not in ("scheduled", "held"):
            raise where.error("check", "应为 scheduled（是否已安排）或 held（是否已举行）")
        values["check"] = raw["check"]
    if "quarter_day" in raw:
        values["quarter_day"] = _parse_quarter_day(raw["quarter_day"], where, "quarter_day")
    if "dates" in raw:
        if not isinstance(raw["dates"], list) or not raw["dates"]:
            raise where.error("dates", "应为非空的 MM-DD 日期列表")
        values["dates"] = tuple(_month_day(item, where, f"dates[{i}]") for i, item in enumerate(raw["dates"]))
    if "days_before" in raw:
        values["days_before"] = _int_list(raw["days_before"], where, "days_before")
    if "days_after" in raw:
        values["days_after"] = _int(raw["days_after"], where, "days_after", 1)
    if "repeat_days" in raw:
        values["repeat_days"] = _int(raw["repeat_days"], where, "repeat_days")
    if "record_kinds" in raw:
        kinds = raw["record_kinds"]
        if not isinstance(kinds, list) or not kinds or any(k not in RECORD_KINDS for k in kinds):
            raise where.error("record_kinds", f"应为非空列表，取值为 {'、'.join(RECORD_KINDS)}")
        values["record_kinds"] = tuple(kinds)
    return Rule(**values)


def _quiet(raw: Any, where: _Where) -> QuietHours:
    if not isinstance(raw, dict) or set(raw) != {"start", "end"}:
        raise where.error("quiet_hours", '应为 {"start": "21:00", "end": "08:00"}（两者相同表示不设免打扰）')
    return QuietHours(_clock(raw["start"], where, "quiet_hours.start"), _clock(raw["end"], where, "quiet_hours.end"))


def parse_rules(data: Any, source: str, plan: Plan | None = None) -> RuleSet:
    """Validate the JSON form of the rules; ConfigError names ``source``, the rule and the field."""
    plan = plan or default_plan()
    where = _Where(source)
    if not isinstance(data, dict) or data.get("version") != 1:
        raise where.error("version", "不支持的版本（应为 1）")
    if not isinstance(data.get("rules"), list):
        raise where.error("rules", "应为列表")
    rules = tuple(_rule(raw, i, source, plan) for i, raw in enumerate(data["rules"]))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen or rule.id == QUIET_RULE:
            raise where.error("rules", f"规则 id {rule.id!r} 重复或为保留字")
        seen.add(rule.id)
    return RuleSet(rules, _quiet(data.get("quiet_hours", {"start": "21:00", "end": "08:00"}), where), source)


def read_rules_file(path: Path | str | None = None) -> tuple[dict, str]:
    path = Path(path) if path else knowledge_dir() / RULES_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到提醒规则文件 {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"提醒规则文件 {path} 已损坏：{exc}") from exc


def apply_overrides(data: dict, overrides: Iterable[tuple[str, str, Any]], source: str) -> dict:
    """The rules' JSON with (rule id, field, value) overrides applied; unknown rule → ConfigError."""
    data = json.loads(json.dumps(data))
    by_id = {raw.get("id"): raw for raw in data.get("rules", []) if isinstance(raw, dict)}
    for rule_id, key, value in overrides:
        if rule_id == QUIET_RULE:
            data.setdefault("quiet_hours", {"start": "21:00", "end": "08:00"})[key] = value
        elif rule_id in by_id:
            by_id[rule_id][key] = value
        else:
            raise ConfigError(f"{source}: 覆盖设置指向不存在的规则 {rule_id!r}")
    return data


def load_rules(
    path: Path | str | None = None, overrides: Iterable[tuple[str, str, Any]] = (), plan: Plan | None = None
) -> RuleSet:
    """The rules file (default knowledge/reminders.json) with overrides applied, validated."""
    data, source = read_rules_file(path)
    rules = parse_rules(data, source, plan)  # problems in the file itself name only the file
    overrides = list(overrides)
    if not overrides:
        return rules
    label = f"{source}（含数据库中的覆盖设置，见 cppcc-bot reminders rules）"
    return replace(parse_rules(apply_overrides(data, overrides, label), label, plan), source=source)


def rules_for(storage: Storage, path: Path | str | None = None, plan: Plan | None = None) -> RuleSet:
    """The rules in force: the file plus the overrides stored in ``storage``."""
    return load_rules(path, [(o.rule_id, o.key, o.value) for o in storage.reminder_overrides()], plan)


def parse_assignment(text: str) -> tuple[str, Any]:
    """'key=value' → (key, value); the value is JSON if it parses as JSON, else the text itself."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ReminderError(f"“{text}”应写成 字段=值，例如 enabled=false")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value.strip()
    return key.strip(), parsed


def set_override(
    storage: Storage,
    caller: Caller,
    rule_id: str,
    values: dict[str, Any],
    *,
    path: Path | str | None = None,
    plan: Plan | None = None,
    now: datetime | None = None,
) -> RuleSet:
    """Store overrides of one rule's fields (secretaries), after checking the result is valid."""
    authorize(storage, caller, "manage_reminders")
    now = now or storage.now()
    if "id" in values or "kind" in values:
        raise ReminderError("不能修改规则的 id 或类型")
    current = [(o.rule_id, o.key, o.value) for o in storage.reminder_overrides()]
    proposed = [item for item in current if not (item[0] == rule_id and item[1] in values)]
    proposed += [(rule_id, key, value) for key, value in values.items()]
    try:
        rules = load_rules(path, proposed, plan)
    except ConfigError as exc:
        raise ReminderError(f"设置未保存：{exc}") from exc
    with storage.atomic():
        for key, value in values.items():
            storage.set_reminder_override(rule_id, key, value, actor_label(caller.telegram_id), now)
        storage.audit(caller.telegram_id, "set_reminder_rule", {"rule": rule_id, "values": values}, now)
    return rules


def reset_override(
    storage: Storage, caller: Caller, rule_id: str, key: str | None = None, *, now: datetime | None = None
) -> int:
    """Drop overrides of a rule (or one field of it); return how many were removed."""
    authorize(storage, caller, "manage_reminders")
    with storage.atomic():
        removed = storage.clear_reminder_overrides(rule_id, key)
        storage.audit(caller.telegram_id, "reset_reminder_rule", {"rule": rule_id, "key": key}, now)
    return removed


# ---- reminders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    key: str  # member:12 | unit_contact:3 | secretary:<telegram id> | unit:<unit id> (nobody to reach there)
    name: str
    telegram_id: int | None
    secretary: bool = False


@dataclass(frozen=True)
class Reminder:
    when: datetime  # delivery time: the rule's time moved out of the quiet hours
    due: datetime  # the rule's own time
    expires: datetime  # after this it is no longer useful (catch-up grace)
    recipient: Recipient
    rule_id: str
    occurrence: str
    topic: str  # what it is about (an event, a proposal …): newer reminders supersede older ones
    text: str
    buttons: tuple[Button, ...] = ()
    status: str = "due"  # "due" | "unbound" (no Telegram account) | "late" (past its grace at ``now``)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule_id, self.occurrence, self.recipient.key)

    @property
    def summary(self) -> str:
        return self.text.split("\n", 1)[0]


@dataclass(frozen=True)
class _Occurrence:
    occurrence: str
    due: datetime
    expires: datetime
    topic: str
    build: Callable[[], list[tuple[Recipient, str, tuple[Button, ...]]]]


class _Context:
    """What one computation needs, with lookups cached for its duration."""

    def __init__(
        self,
        storage: Storage,
        admin_ids: frozenset[int],
        plan: Plan,
        term_settings: TermSettings,
    ):
        self.storage = storage
        self.tz: ZoneInfo = storage.tz
        self.admin_ids = admin_ids
        self.plan = plan
        self.term_settings = term_settings
        self._counts: dict[tuple[date, date], dict[int, dict[str, int]]] = {}

    @cached_property
    def telegram_of(self) -> dict[tuple[str, int], int]:
        found = {}
        for kind in ("member", "unit_contact"):
            for person in self.storage.people(kind, active=True):
                binding = self.storage.binding_of_person(kind, person.id)
                if binding:
                    found[(kind, person.id)] = binding.telegram_id
        return found

    def person(self, person: Person) -> Recipient:
        return Recipient(f"{person.kind}:{person.id}", person.name, self.telegram_of.get((person.kind, person.id)))

    @cached_property
    def members(self) -> list[Member]:
        return self.storage.people("member", active=True)

    @cached_property
    def contacts(self) -> list[UnitContact]:
        return self.storage.people("unit_contact", active=True)

    @cached_property
    def secretaries(self) -> list[Recipient]:
        ids = sorted(self.admin_ids | {admin.telegram_id for admin in self.storage.admins()})
        names = {telegram_id: (kind, pid) for (kind, pid), telegram_id in self.telegram_of.items()}
        found = []
        for telegram_id in ids:
            person = self.storage.person(*names[telegram_id]) if telegram_id in names else None
            name = person.name if person else f"秘书（{telegram_id}）"
            found.append(Recipient(f"secretary:{telegram_id}", name, telegram_id, True))
        return found

    def unit_contacts(self, unit_id: str) -> list[Recipient]:
        """Contacts of a unit (and of units that are one of it); a unit nobody can be reached at."""
        people = reporting_contacts(self.storage, unit_id, self.plan) if unit_id in self.plan.catalogue.units else []
        if people:
            return [self.person(p) for p in people]
        name = self.plan.unit(unit_id).short if unit_id in self.plan.catalogue.units else unit_id
        return [Recipient(f"unit:{unit_id}", f"{name}（名单中无联络员）", None)]

    def named(self, words: tuple[str, ...], units: tuple[str, ...] = ()) -> list[Recipient]:
        """Recipients for a rule's recipient words, without duplicates."""
        found: dict[str, Recipient] = {}
        for word in words:
            if word == "secretaries":
                group = self.secretaries
            elif word == "undertaking_units":
                group = [r for unit in units for r in self.unit_contacts(unit)]
            else:
                group = self.unit_contacts(word.removeprefix("unit:"))
            for recipient in group:
                found.setdefault(recipient.key, recipient)
        return list(found.values())

    def audience(self, spec: str) -> list[Recipient]:
        """An event's audience (bot.notices.audience), secretaries included when it names them."""
        return [
            Recipient(r.key, r.name, r.chat_id, r.kind == "secretary")
            for r in audience_people(self.storage, spec, self.admin_ids)
        ]

    def counts(self, start: date, end: date) -> dict[int, dict[str, int]]:
        if (start, end) not in self._counts:
            self._counts[(start, end)] = self.storage.record_counts(start, end)
        return self._counts[(start, end)]

    def missing(self, member: Member, year: int, kinds: tuple[str, ...]) -> list[tuple[str, int]]:
        """(record kind, how many more) of the yearly requirements not yet met."""
        done = self.counts(date(year, 1, 1), date(year + 1, 1, 1)).get(member.id, {})
        return [
            (kind, obligation.count - done.get(kind, 0))
            for obligation, kind in member_obligations(self.plan)
            if obligation.period == "year" and kind in kinds and done.get(kind, 0) < obligation.count
        ]

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, self.tz)


# ---- occurrences per rule kind -------------------------------------------------------------


def _event_buttons(event: EventRow) -> tuple[Button, ...]:
    return (Button("查看活动详情", f"e:v:{event.id}"), Button("加入手机日历", f"e:i:{event.id}"))


def _days_text(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        return f"{round(delta / timedelta(days=1))}天后"
    if delta >= timedelta(hours=1):
        return f"{round(delta / timedelta(hours=1))}小时后"
    if delta >= timedelta(minutes=1):
        return f"{round(delta / timedelta(minutes=1))}分钟后"
    return "即将开始"


def _event_text(event: EventRow, citation: Citation, lead: str) -> str:
    lines = [f"📅 活动提醒：{lead}", f"【{event.kind}】{event.title}", f"时间：{when_text(event)}"]
    if event.place:
        lines.append(f"地点：{event.place}")
    if event.notes:
        lines.append(f"备注：{event.notes}")
    if citation.text:
        lines.append(citation.text)
    action = "请按时提交。" if event.kind == "提案截止" else "请准时参加；如不能参加，请向政协办请假。"
    lines.append(f"下一步：{action}")
    return "\n".join(lines)


def _events_near(ctx: _Context, lo: datetime, hi: datetime, lead: timedelta, kinds: Iterable[str]) -> list[EventRow]:
    """Scheduled events of ``kinds`` starting between lo and hi + lead (by date, generously)."""
    return ctx.storage.events_between(
        lo.date() - timedelta(days=1), hi.date() + lead + timedelta(days=2), kinds=tuple(kinds)
    )


def _event_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    longest = max(o.delta for o in rule.offsets)
    for event in _events_near(ctx, lo, hi, longest, rule.event_kinds):
        start = starts_at(event, ctx.tz)
        for offset in rule.offsets:
            if offset.at is None and event.start_time is None:
                continue  # hour offsets make sense only for events with a time
            due = offset.due(start)
            if not lo < due <= hi or due < event.scheduled_at:
                continue

            def build(
                event=event, start=start, due=due, offset=offset
            ) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                lead = _day_lead(start.date(), due.date()) if offset.at else _days_text(start - due)
                text = _event_text(event, rule.event_kinds[event.kind], f"{lead}（{when_text(event)}）")
                return [(r, text, _event_buttons(event)) for r in ctx.audience(event.audience)]

            occurrence = f"{event.id}@{event.start_date}T{event.start_time or ''}:{offset.label}"
            yield _Occurrence(occurrence, due, min(start, due + rule.grace), f"event:{event.id}", build)


def _day_lead(day: date, today: date) -> str:
    days = (day - today).days
    return {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{days}天后")


def _training_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for event in ctx.storage.events_between(lo.date() - timedelta(days=1), None, kinds=("培训",)):
        announced = event.scheduled_at  # when it was announced (or last moved; the key is per event)
        start = starts_at(event, ctx.tz)
        if not lo < announced <= hi or announced >= start:
            continue

        def build(event=event, start=start) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            term = ctx.term_settings.term_on(event.start_date)
            trained = ctx.counts(term.start, term.end)
            wanted = {r.key for r in ctx.audience(event.audience)}
            text = "\n".join(
                [
                    "🎓 培训提醒：新的委员培训已安排",
                    one_line(event),
                    f"{rule.citation.text}您本届（{term.label()}）还没有培训记录。",
                    "下一步：请安排时间参加；参加后点下面的按钮登记。",
                ]
            )
            buttons = (Button("查看活动详情", f"e:v:{event.id}"), Button("登记培训", "r:k:培训"))
            return [
                (ctx.person(m), text, buttons)
                for m in ctx.members
                if f"member:{m.id}" in wanted and not trained.get(m.id, {}).get("培训")
            ]

        yield _Occurrence(str(event.id), announced, start, f"training:{event.id}", build)


def _quarters(lo: datetime, hi: datetime) -> Iterator[Quarter]:
    quarter = Quarter.of(lo.date() - timedelta(days=1))
    while quarter.start <= hi.date():
        yield quarter
        quarter = quarter.next()


def _quarter_day(quarter: Quarter, spec: tuple[int, int | None]) -> date:
    month, day = spec
    first = add_months(quarter.start, month - 1)
    return add_months(first, 1) - timedelta(days=1) if day is None else first.replace(day=day)


def _quarter_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[tuple[Quarter, datetime]]:
    for quarter in _quarters(lo, hi):
        due = ctx.at(_quarter_day(quarter, rule.quarter_day), rule.at)
        if lo < due <= hi:
            yield quarter, due


def _consultation_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for quarter, due in _quarter_occurrences(ctx, rule, lo, hi):

        def build(quarter=quarter, due=due) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            events = ctx.storage.events_in_quarter(quarter.code, QUARTER_KIND)
            if rule.check == "held":
                if any(e.start_date <= due.date() for e in events):
                    return []
                text = (
                    f"❗ {quarter.label}没有举行重要协商活动\n{rule.citation.text}\n"
                    f"本季度日程中没有已举行的{QUARTER_KIND}，未达到方案要求。\n"
                    f"下一步：请在下季度尽早安排，并在日程中登记（/event）。"
                )
            else:
                if events:
                    return []
                day_number = (due.date() - quarter.start).days + 1
                text = (
                    f"⚠️ {quarter.label}尚未安排重要协商活动\n{rule.citation.text}\n"
                    f"今天是本季度第{day_number}天，日程中还没有本季度的{QUARTER_KIND}。\n"
                    f"下一步：请确定时间和议题，由政协办秘书在日程中登记（/event）。"
                )
            recipients = ctx.named(rule.recipients)
            return [(r, text, (Button("安排协商活动", "e:new"),) if r.secretary else ()) for r in recipients]

        yield _Occurrence(quarter.code, due, due + rule.grace, f"consultation:{quarter.code}", build)


def _yearly_days(rule: Rule, lo: datetime, hi: datetime) -> Iterator[date]:
    for year in range(lo.year, hi.year + 1):
        for month, day in rule.dates:
            if month == 2 and day == 29 and not _leap(year):
                day = 28
            yield date(year, month, day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _missing_text(missing: list[tuple[str, int]]) -> str:
    return "；".join(PHRASES[kind].format(n=n) for kind, n in missing)


def _record_buttons(missing: list[tuple[str, int]]) -> tuple[Button, ...]:
    labels = {"提案": "登记提案", "社情民意": "登记社情民意", "活动": "登记活动", "培训": "登记培训"}
    return tuple(Button(labels[kind], f"r:k:{kind}") for kind, _ in missing)


def _minimum_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for day in _yearly_days(rule, lo, hi):
        due = ctx.at(day, rule.at)
        if not lo < due <= hi:
            continue

        def build(day=day) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            found = []
            for member in ctx.members:
                missing = ctx.missing(member, day.year, rule.record_kinds)
                if missing:
                    text = (
                        f"📋 年度履职提醒（截至 {day.isoformat()}）\n{rule.citation.text}\n"
                        f"您{day.year}年还需：{_missing_text(missing)}。\n"
                        "下一步：完成后请点下面的按钮登记（也可发送 /record）。"
                    )
                    found.append((ctx.person(member), text, _record_buttons(missing)))
            return found

        yield _Occurrence(day.isoformat(), due, due + rule.grace, f"minimums:{day.year}", build)


def _deadline_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    lead = timedelta(days=max(rule.days_before))
    for event in _events_near(ctx, lo, hi, lead, ("提案截止",)):
        for days in rule.days_before:
            due = ctx.at(event.start_date - timedelta(days=days), rule.at)
            if not lo < due <= hi or due < event.scheduled_at:
                continue

            def build(event=event, days=days) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                found = []
                for member in ctx.members:
                    missing = ctx.missing(member, event.start_date.year, rule.record_kinds)
                    if missing:
                        text = (
                            f"📋 提案截止提醒：{event.start_date.isoformat()} 截止，还有 {days} 天\n"
                            f"{rule.citation.text}\n"
                            f"您{event.start_date.year}年还需：{_missing_text(missing)}。\n"
                            "下一步：请在截止前提交；提交后点下面的按钮登记。"
                        )
                        found.append((ctx.person(member), text, _record_buttons(missing)))
                return found

            occurrence = f"{event.id}@{event.start_date}:{days}d"
            expires = min(due + rule.grace, ends_at(event, ctx.tz))
            yield _Occurrence(occurrence, due, expires, f"deadline:{event.id}", build)


def _proposal_line(record: Record, ctx: _Context) -> str:
    author = ctx.storage.person("member", record.member_id)
    by = f"（{author.name}委员提出）" if author else ""
    return f"《{record.title}》{by}"


def _reply_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for record in ctx.storage.open_proposals():
        for days in rule.days_before:
            due = ctx.at(record.reply_due - timedelta(days=days), rule.at)
            if not lo < due <= hi:
                continue

            def build(record=record, days=days) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                text = (
                    f"📨 提案答复提醒：答复期限还有 {days} 天\n"
                    f"提案{_proposal_line(record, ctx)}由贵单位承办，交办日期 {record.assigned_on.isoformat()}，"
                    f"答复期限 {record.reply_due.isoformat()}。\n{rule.citation.text}\n"
                    "下一步：请在期限前答复提案人，并将答复情况告知政协办。"
                )
                return [
                    (r, text, (Button("查看方案第（18）项", "t:18"),)) for r in ctx.named(rule.recipients, record.units)
                ]

            occurrence = f"{record.id}@{record.reply_due}:{days}d"
            expires = min(due + rule.grace, ctx.at(record.reply_due + timedelta(days=1), time(0)))
            yield _Occurrence(occurrence, due, expires, f"reply:{record.id}", build)


def _overdue_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for record in ctx.storage.open_proposals():
        first = record.reply_due + timedelta(days=rule.days_after)
        step = rule.repeat_days
        skip = max(0, ((lo.date() - first).days // step) - 1) if step else 0
        number = skip
        while True:
            day = first + timedelta(days=number * step)
            due = ctx.at(day, rule.at)
            if due > hi:
                break
            if due > lo:

                def build(record=record, day=day) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                    late = (day - record.reply_due).days
                    text = (
                        f"❗ 提案答复已超期 {late} 天\n提案{_proposal_line(record, ctx)}，"
                        f"承办单位：{'、'.join(unit_names(record, ctx.plan))}，"
                        f"答复期限 {record.reply_due.isoformat()}，"
                        f"至今未登记答复。\n{rule.citation.text}\n"
                    )
                    found = []
                    for r in ctx.named(rule.recipients, record.units):
                        if r.secretary:
                            action = "下一步：请督促承办单位答复；收到答复后点下面的按钮登记。"
                            found.append((r, text + action, (Button("登记已答复", f"r:rp:{record.id}"),)))
                        else:
                            action = "下一步：请尽快答复提案人，并将答复情况告知政协办。"
                            found.append((r, text + action, (Button("查看方案第（18）项", "t:18"),)))
                    return found

                occurrence = f"{record.id}@{record.reply_due}:overdue{number}"
                yield _Occurrence(occurrence, due, due + rule.grace, f"overdue:{record.id}", build)
            if not step:
                break
            number += 1


def _org_life_recorded(ctx: _Context, year: int) -> bool:
    """A 组织生活会 event in the year (scheduled, not cancelled), or a ledger report on the task."""
    if ctx.storage.events_between(date(year, 1, 1), date(year + 1, 1, 1), kinds=(ORG_LIFE_KIND,)):
        return True
    task = ctx.plan.setting("branch_organisational_life").task
    return any(report.quarter.startswith(str(year)) for report in ctx.storage.ledger_reports(task=task))


def _org_life_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for day in _yearly_days(rule, lo, hi):
        due = ctx.at(day, rule.at)
        if not lo < due <= hi:
            continue

        def build(day=day) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            if _org_life_recorded(ctx, day.year):
                return []
            task = ctx.plan.setting("branch_organisational_life").task
            text = (
                f"🏛 组织生活会提醒\n{rule.citation.text}\n{day.year}年尚未登记功能型党支部组织生活会。\n"
                f"下一步：请安排召开；召开后发送 /report {task} 填报情况，"
                f"或请政协办在日程中登记（类型“{ORG_LIFE_KIND}”）。"
            )
            return [(r, text, (Button(f"查看方案第（{task}）项", f"t:{task}"),)) for r in ctx.named(rule.recipients)]

        yield _Occurrence(day.isoformat(), due, due + rule.grace, f"orglife:{day.year}", build)


def _ledger_unit_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for quarter, due in _quarter_occurrences(ctx, rule, lo, hi):

        def build(quarter=quarter) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            found = []
            for unit_id, numbers in silent_units(ctx.storage, quarter, ctx.plan):
                text = f"{unit_reminder_text(unit_id, numbers, quarter, ctx.plan)}\n{rule.citation.text}"
                for person in reporting_contacts(ctx.storage, unit_id, ctx.plan):
                    found.append((ctx.person(person), text, ()))
            return _first_per_recipient(found)

        yield _Occurrence(quarter.code, due, due + rule.grace, f"ledger:{quarter.code}", build)


def _first_per_recipient(
    items: list[tuple[Recipient, str, tuple[Button, ...]]],
) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
    """One reminder per person under one occurrence (a contact may report for several units)."""
    found: dict[str, tuple[Recipient, str, tuple[Button, ...]]] = {}
    for recipient, text, buttons in items:
        if recipient.key in found:
            previous = found[recipient.key]
            found[recipient.key] = (recipient, f"{previous[1]}\n\n{text}", previous[2])
        else:
            found[recipient.key] = (recipient, text, buttons)
    return list(found.values())


def _ledger_summary_occurrences(ctx: _Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[_Occurrence]:
    for quarter, due in _quarter_occurrences(ctx, rule, lo, hi):

        def build(quarter=quarter) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            if not silent_units(ctx.storage, quarter, ctx.plan):
                return []
            text = (
                f"🗂 任务台账季度小结\n{silent_units_text(ctx.storage, quarter, ctx.plan)}\n{rule.citation.text}\n"
                "下一步：发送 /ledger 查看全貌，并督促以上单位填报。"
            )
            return [(r, text, ()) for r in ctx.named(rule.recipients)]

        yield _Occurrence(quarter.code, due, due + rule.grace, f"ledger-summary:{quarter.code}", build)


GENERATORS: dict[str, Callable[[_Context, Rule, datetime, datetime], Iterator[_Occurrence]]] = {
    "event": _event_occurrences,
    "training_announced": _training_occurrences,
    "quarterly_consultation": _consultation_occurrences,
    "member_minimums": _minimum_occurrences,
    "proposal_deadline": _deadline_occurrences,
    "proposal_reply": _reply_occurrences,
    "proposal_overdue": _overdue_occurrences,
    "organisational_life": _org_life_occurrences,
    "ledger_units": _ledger_unit_occurrences,
    "ledger_summary": _ledger_summary_occurrences,
}


def due_reminders(
    storage: Storage,
    rules: RuleSet,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> list[Reminder]:
    """Every reminder the rules produce with a delivery time in (start, end], in time order.

    Deterministic: depends only on the database, the rules and the arguments. ``now`` decides
    which are already past their grace (status "late"); people without a Telegram account get
    status "unbound". Conditions (who still lacks a proposal, whether a consultation is
    scheduled …) are evaluated on the database as it is now.
    """
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    ctx = _Context(storage, frozenset(admin_ids), plan or default_plan(), term_settings or default_term_settings())
    # A reminder due up to a day before the window can be moved into it by the quiet hours.
    lo = start - timedelta(days=1) if rules.quiet.active else start
    found: list[Reminder] = []
    for rule in rules.enabled():
        for occ in GENERATORS[rule.kind](ctx, rule, lo, end):
            when = rules.quiet.shift(occ.due.astimezone(ctx.tz))
            if not start < when <= end:
                continue
            for recipient, text, buttons in occ.build():
                if when > occ.expires:
                    status = "expired"  # the quiet hours pushed it past its use
                elif now > occ.expires:
                    status = "late"
                else:
                    status = "due" if recipient.telegram_id is not None else "unbound"
                found.append(
                    Reminder(
                        when, occ.due, occ.expires, recipient, rule.id, occ.occurrence, occ.topic, text, buttons, status
                    )
                )
    found.sort(key=lambda r: (r.when, r.recipient.key, r.rule_id, r.occurrence))
    return found


# ---- merging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What one person receives at one moment: one or several merged reminders."""

    when: datetime
    telegram_id: int
    reminders: tuple[Reminder, ...]

    @property
    def text(self) -> str:
        if len(self.reminders) == 1:
            return self.reminders[0].text
        parts = [f"您有 {len(self.reminders)} 条提醒："]
        parts += [f"{i}. {r.text}" for i, r in enumerate(self.reminders, start=1)]
        return "\n\n".join(parts)

    @property
    def buttons(self) -> list[list[Button]]:
        seen: dict[str, Button] = {}
        for reminder in self.reminders:
            for button in reminder.buttons:
                seen.setdefault(button.data, button)
        return [[button] for button in list(seen.values())[:MAX_BUTTON_ROWS]]

    @property
    def outbox_id(self) -> str:
        """Stable id of the message: a digest of its reminders' keys."""
        keys = sorted("|".join(r.key) for r in self.reminders)
        return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]


def fits(text: str) -> bool:
    """Whether a text goes out as one Telegram message (the transport HTML-escapes it)."""
    return utf16_len(html.escape(text, quote=False)) <= MESSAGE_LIMIT


def clip(text: str) -> str:
    """A text cut to fit one message, marked as cut."""
    if fits(text):
        return text
    marker = "\n……（内容过长，已截断）"
    lines = text.split("\n")
    while lines and not fits("\n".join(lines) + marker):
        lines.pop()
    return "\n".join(lines) + marker if lines else text[: MESSAGE_LIMIT // 4] + marker


def merge(reminders: Iterable[Reminder]) -> list[Message]:
    """Reminders for the same account at the same moment become one message (status "due" only);
    when they would not fit in one Telegram message they are packed into as few as fit."""
    groups: dict[tuple[datetime, int], list[Reminder]] = {}
    for reminder in reminders:
        if reminder.status == "due":
            groups.setdefault((reminder.when, reminder.recipient.telegram_id), []).append(reminder)
    messages = []
    for (when, chat), items in sorted(groups.items()):
        pack: list[Reminder] = []
        for reminder in items:
            reminder = replace(reminder, text=clip(reminder.text))
            if pack and not fits(Message(when, chat, (*pack, reminder)).text):
                messages.append(Message(when, chat, tuple(pack)))
                pack = []
            pack.append(reminder)
        messages.append(Message(when, chat, tuple(pack)))
    return messages


def supersede(reminders: list[Reminder]) -> tuple[list[Reminder], list[Reminder]]:
    """Within one pass, keep only the newest reminder per (person, topic): after downtime the
    "3 days before" and "1 day before" of one event must not both arrive at start-up."""
    newest: dict[tuple[str, str], Reminder] = {}
    for reminder in reminders:
        slot = (reminder.recipient.key, reminder.topic)
        if reminder.status == "due" and (slot not in newest or reminder.due > newest[slot].due):
            newest[slot] = reminder
    kept = set(map(id, newest.values()))
    keep = [r for r in reminders if r.status != "due" or id(r) in kept]
    dropped = [replace(r, status="superseded") for r in reminders if r.status == "due" and id(r) not in kept]
    return keep, dropped


# ---- delivery ------------------------------------------------------------------------------

LAST_PASS = "last_pass"
SKIP_REASONS = {
    "unbound": "未绑定 Telegram",
    "expired": "免打扰时段顺延后已失去意义（例如活动已开始）",
    "late": "机器人停机期间到期，已超过补发时限",
    "superseded": "停机期间到期，已被同一事项较新的提醒取代",
}


@dataclass(frozen=True)
class PassResult:
    start: datetime
    end: datetime
    sent: list[Message]
    skipped: list[Reminder]
    digest_to: list[int]


def deliver_due(
    storage: Storage,
    rules: RuleSet,
    now: datetime,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> PassResult:
    """One reminder pass: everything due in (last pass, now] is decided exactly once.

    In one transaction: each reminder's (rule, occurrence, recipient) key is recorded as sent or
    skipped (unbound, late, superseded), the messages go into the outbox, the skips not yet
    reported go to the secretaries as one digest, and the pass's end is stored. A key already
    recorded is never sent again, so passes may overlap or repeat after a crash.
    """
    last = storage.reminder_state(LAST_PASS)
    start = datetime.fromisoformat(last) if last else now
    start = max(min(start, now), now - MAX_LOOKBACK)
    found = due_reminders(storage, rules, start, now, now, admin_ids=admin_ids, plan=plan, term_settings=term_settings)
    decided = storage.delivery_keys([r.key for r in found])
    fresh = [r for r in found if r.key not in decided]
    fresh, superseded = supersede(fresh)
    messages = merge(fresh)
    skipped = [r for r in fresh if r.status != "due"] + superseded
    with storage.atomic():
        for message in messages:
            for reminder in message.reminders:
                storage.record_delivery(
                    reminder.key,
                    outcome="sent",
                    due_at=reminder.due,
                    decided_at=now,
                    telegram_id=message.telegram_id,
                    recipient_name=reminder.recipient.name,
                    summary=reminder.summary,
                    outbox_key=message.outbox_id,
                )
            enqueue(
                storage,
                source_kind=SOURCE_KIND,
                source_id=message.outbox_id,
                messages=[Outgoing(f"tg:{message.telegram_id}", message.telegram_id, message.text, message.buttons)],
                now=now,
            )
        for reminder in skipped:
            storage.record_delivery(
                reminder.key,
                outcome="skipped",
                reason=reminder.status,
                due_at=reminder.due,
                decided_at=now,
                telegram_id=reminder.recipient.telegram_id,
                recipient_name=reminder.recipient.name,
                summary=reminder.summary,
            )
        digest_to = _enqueue_digest(storage, now, admin_ids)
        storage.set_reminder_state(LAST_PASS, now.isoformat())
    for reminder in skipped:
        log.info(
            "reminder skipped (%s): %s %s → %s",
            reminder.status,
            reminder.rule_id,
            reminder.occurrence,
            reminder.recipient.key,
        )
    return PassResult(start, now, messages, skipped, digest_to)


def skip_digest_text(skips: list) -> str:
    """The secretaries' list of reminders that could not be delivered, grouped by reason (one message)."""
    head = f"以下 {len(skips)} 条提醒未能发出："
    tail = "下一步：请提醒未绑定的人员发送 /start 验证身份；全部明细见 cppcc-bot reminders skipped。"
    lines = [head]
    shown = 0
    for reason, label in SKIP_REASONS.items():
        group = [f"· {s.recipient_name}：{s.summary}" for s in skips if s.reason == reason]
        for index, line in enumerate(group):
            added = [f"【{label}】", line] if index == 0 else [line]
            if not fits("\n".join([*lines, *added, "……另有 99999 条未列出", tail])):
                break
            lines += added
            shown += 1
    if shown < len(skips):
        lines.append(f"……另有 {len(skips) - shown} 条未列出")
    return "\n".join([*lines, tail])


def _enqueue_digest(storage: Storage, now: datetime, admin_ids: frozenset[int]) -> list[int]:
    """One message to every secretary listing the skips not yet reported; returns their ids."""
    skips = storage.unreported_skips()
    secretaries = sorted(set(admin_ids) | {admin.telegram_id for admin in storage.admins()})
    if not skips or not secretaries:
        return []
    text = skip_digest_text(skips)
    digest_id = f"skips-{skips[-1].id}"
    enqueue(
        storage,
        source_kind=SOURCE_KIND,
        source_id=digest_id,
        messages=[Outgoing(f"secretary:{telegram_id}", telegram_id, text) for telegram_id in secretaries],
        now=now,
    )
    storage.mark_skips_reported([s.id for s in skips])
    return secretaries


def next_due(
    storage: Storage,
    rules: RuleSet,
    now: datetime,
    horizon: timedelta = timedelta(days=2),
    **kwargs: Any,
) -> datetime | None:
    """The delivery time of the next reminder after ``now`` within ``horizon`` (for precise wake-ups)."""
    upcoming = due_reminders(storage, rules, now, now + horizon, now, **kwargs)
    return min((r.when for r in upcoming), default=None)


# ---- preview ------------------------------------------------------------------------------


def preview(
    storage: Storage,
    rules: RuleSet,
    first: date,
    last: date,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> tuple[list[Message], list[Reminder]]:
    """Messages that would go out on the days first..last, and reminders that could not be delivered."""
    start = datetime.combine(first, time(0), storage.tz) - timedelta(microseconds=1)
    end = datetime.combine(last + timedelta(days=1), time(0), storage.tz) - timedelta(microseconds=1)
    found = due_reminders(
        storage, rules, start, end, start, admin_ids=admin_ids, plan=plan, term_settings=term_settings
    )
    return merge(found), [r for r in found if r.status != "due"]


def preview_json(messages: list[Message], skipped: list[Reminder]) -> dict[str, Any]:
    return {
        "messages": [
            {
                "when": m.when.isoformat(),
                "telegram_id": m.telegram_id,
                "recipients": sorted({r.recipient.key for r in m.reminders}),
                "names": sorted({r.recipient.name for r in m.reminders}),
                "rules": [r.rule_id for r in m.reminders],
                "occurrences": [r.occurrence for r in m.reminders],
                "text": m.text,
                "buttons": [b.text for row in m.buttons for b in row],
            }
            for m in messages
        ],
        "skipped": [
            {
                "when": r.when.isoformat(),
                "recipient": r.recipient.key,
                "name": r.recipient.name,
                "rule": r.rule_id,
                "occurrence": r.occurrence,
                "reason": r.status,
                "summary": r.summary,
            }
            for r in skipped
        ],
    }


def preview_text(messages: list[Message], skipped: list[Reminder]) -> str:
    lines = []
    for m in messages:
        names = "、".join(sorted({r.recipient.name for r in m.reminders}))
        rules = "、".join(r.rule_id for r in m.reminders)
        lines.append(f"{m.when:%Y-%m-%d %H:%M} → {names} · chat {m.telegram_id} [{rules}]")
        lines += [f"    {line}" for line in m.text.splitlines()]
    if skipped:
        lines.append(f"无法送达的提醒（{len(skipped)} 条）：")
        for r in skipped:
            reason = SKIP_REASONS.get(r.status, r.status)
            lines.append(f"{r.when:%Y-%m-%d %H:%M} ✗ {r.recipient.name} [{r.rule_id}] {reason}：{r.summary}")
    lines.append(f"共 {len(messages)} 条消息，{sum(len(m.reminders) for m in messages)} 条提醒。")
    return "\n".join(lines)
