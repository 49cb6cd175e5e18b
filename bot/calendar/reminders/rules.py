"""Reminder rules as data: knowledge/reminders.json parsed and validated, with the secretaries' overrides."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.calendar.events import EVENT_KINDS
from bot.config import ConfigError, knowledge_dir, read_json
from bot.errors import UserError
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan, default_plan
from bot.storage import RECORD_KINDS, Storage, actor_label
from bot.textsplit import TELEGRAM_LIMIT

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
    if not plan.obligations and (task is not None or raw.get("obligations")) and not raw.get("why"):
        return None  # an imported plan: the task numbers here belong to the plan they were written for
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
    # A plan imported without quantified requirements (another county's) has none of the tasks
    # and obligations these rules cite: those rules do not apply to it; the others still do
    # (event reminders without the task citation).
    rules = tuple(
        _rule(raw, i, source, plan)
        for i, raw in enumerate(data["rules"])
        if plan.obligations or not (isinstance(raw, dict) and raw.get("obligations"))
    )
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen or rule.id == QUIET_RULE:
            raise where.error("rules", f"规则 id {rule.id!r} 重复或为保留字")
        seen.add(rule.id)
    return RuleSet(rules, _quiet(data.get("quiet_hours", {"start": "21:00", "end": "08:00"}), where), source)


def read_rules_file(path: Path | str | None = None) -> tuple[dict, str]:
    path = Path(path) if path else knowledge_dir() / RULES_FILE
    return read_json(path, ConfigError, "提醒规则文件"), str(path)


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
