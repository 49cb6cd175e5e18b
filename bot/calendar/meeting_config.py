"""knowledge/attendance.json: which events count for what, sign-in timing, typed-reply words (the
``points`` section belongs to bot/people/statistics.py).

Validated at load; every problem is one line naming the file and the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from bot.calendar.events import EVENT_KINDS
from bot.config import ConfigError, knowledge_dir, read_json
from bot.storage import RECORD_KINDS

TYPED_INTENTS = ("received", "attend", "leave", "signin", "withdraw")


class MeetingConfigError(ConfigError):
    """knowledge/attendance.json is malformed; the message names the file and entry."""


@dataclass(frozen=True)
class MeetingConfig:
    record_kinds: dict[str, str | None]  # event kind → duty record kind (None: attendance only)
    signin_opens: timedelta
    signin_code_length: int
    max_reason_chars: int
    typed: dict[str, tuple[str, ...]]

    def is_meeting(self, event_kind: str) -> bool:
        """Whether events of this kind collect replies and sign-ins (提案截止 does not)."""
        return event_kind in self.record_kinds


def config_from_dict(data: Any, where: str = "attendance.json") -> MeetingConfig:
    def fail(entry: str, problem: str) -> MeetingConfigError:
        return MeetingConfigError(f"{where} {entry}: {problem}")

    if not isinstance(data, dict) or data.get("version") != 1:
        raise MeetingConfigError(f"{where}: 顶层应为对象且 version 为 1")
    kinds = data.get("record_kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise fail("record_kinds", "应为非空对象")
    for kind, record in kinds.items():
        if kind not in EVENT_KINDS:
            raise fail(f"record_kinds.{kind}", f"不是活动类型，可用：{'、'.join(EVENT_KINDS)}")
        if record is not None and record not in RECORD_KINDS:
            raise fail(f"record_kinds.{kind}", f"“{record}”不是履职记录类型，可用：{'、'.join(RECORD_KINDS)}")

    def positive(name: str) -> int:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise fail(name, f"应为正整数，实际为 {value!r}")
        return value

    typed = data.get("typed")
    if not isinstance(typed, dict) or set(typed) != set(TYPED_INTENTS):
        raise fail("typed", f"应为对象，且恰好包含 {', '.join(TYPED_INTENTS)}")
    for intent, words in typed.items():
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise fail(f"typed.{intent}", "应为非空字符串列表")
    return MeetingConfig(
        record_kinds=dict(kinds),
        signin_opens=timedelta(minutes=positive("signin_opens_minutes")),
        signin_code_length=positive("signin_code_length"),
        max_reason_chars=positive("max_reason_chars"),
        typed={intent: tuple(w.strip() for w in words) for intent, words in typed.items()},
    )


def load_config(path: Path | str | None = None) -> MeetingConfig:
    path = Path(path) if path else knowledge_dir() / "attendance.json"
    data = read_json(path, MeetingConfigError, "会议出勤配置文件")
    return config_from_dict(data, str(path))


@cache
def _config_at(path: str) -> MeetingConfig:
    return load_config(path)


def default_config() -> MeetingConfig:
    """knowledge/attendance.json (CPPCC_KNOWLEDGE honoured), loaded once per directory."""
    return _config_at(str(knowledge_dir() / "attendance.json"))
