"""The notices configuration (knowledge/notices.json) and what recipients see: message texts and receipt buttons."""

from __future__ import annotations

import html
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, knowledge_dir, read_json
from bot.errors import UserError
from bot.notices.audience import (
    AudienceError,
    Vocabulary,
)
from bot.notices.outbox import DeliverySettings
from bot.reply import Button
from bot.textsplit import TELEGRAM_LIMIT, utf16_len

if TYPE_CHECKING:
    from bot.storage import Storage
    from bot.storage.outbox import NoticeRecord

SOURCE = "notice"  # outbox source kind of a notice's messages (source id: the notice id)
NUDGE_SOURCE = "notice_nudge"  # source id "<notice id>.<nudge number>"
DONE_SOURCE = "notice_done"  # the summary sent to the secretary when delivery ends
CALLBACK_PREFIX = "n:"

TEMPLATE_FIELDS = {
    "notice": {"text"},
    "meeting": {"text"},
    "attachment_caption": {"name"},
    "nudge": {"message"},
    "confirmed": {"time"},
    "attending": {"time"},
    "on_leave": {"time", "reason"},
    "done": {"id", "total", "sent", "unreachable", "failed", "unbound"},
    "done_uncertain": {"uncertain"},
}
BUTTONS = ("received", "attend", "leave", "calendar")
KIND_LABELS = {"notice": "普通通知", "meeting": "会议通知"}


class NoticeError(UserError):
    """A refusal or bad input; ``message`` is Simplified Chinese for the user."""


class NoticeConfigError(ConfigError):
    """knowledge/notices.json is malformed; the message names the file and field."""


# ---- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeConfig:
    delivery: DeliverySettings
    vocabulary: Vocabulary
    nudge_interval: timedelta
    preview_ttl: timedelta
    preview_sample: int
    report_names: int
    recent_notices: int
    max_reason_chars: int
    max_schedule_days: int
    meeting_keywords: tuple[str, ...]
    buttons: dict[str, str]
    templates: dict[str, str]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def config_from_dict(data: Any, where: str = "notices.json") -> NoticeConfig:
    """Validate the notices knowledge file; NoticeConfigError names the bad field."""

    def fail(field_name: str, problem: str) -> NoticeConfigError:
        return NoticeConfigError(f"{where} {field_name}: {problem}")

    if not isinstance(data, dict):
        raise NoticeConfigError(f"{where}: 顶层应为对象")
    if data.get("version") != 1:
        raise fail("version", f"不支持的版本 {data.get('version')!r}")
    try:
        delivery = DeliverySettings.from_dict(data.get("delivery") or {})
    except (TypeError, ValueError) as exc:
        raise fail("delivery", str(exc)) from exc
    try:
        vocabulary = Vocabulary.from_dict(data.get("audience"), f"{where} audience")
    except AudienceError as exc:
        raise NoticeConfigError(exc.message) from exc

    def positive(name: str) -> int:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise fail(name, f"应为正整数，实际为 {value!r}")
        return value

    keywords = data.get("meeting_keywords")
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise fail("meeting_keywords", "应为字符串列表")
    buttons = data.get("buttons")
    if not isinstance(buttons, dict) or set(buttons) != set(BUTTONS):
        raise fail("buttons", f"应为对象，且恰好包含 {', '.join(BUTTONS)}")
    for key, label in buttons.items():
        if not isinstance(label, str) or not label.strip():
            raise fail(f"buttons.{key}", "应为非空字符串")
    templates = data.get("templates")
    if not isinstance(templates, dict):
        raise fail("templates", "应为对象")
    for key, expected in TEMPLATE_FIELDS.items():
        template = templates.get(key)
        if not isinstance(template, str) or not template.strip():
            raise fail(f"templates.{key}", "缺少或不是非空字符串")
        try:
            found = _placeholders(template)
        except ValueError as exc:
            raise fail(f"templates.{key}", f"花括号不配对：{exc}") from exc
        if found != expected:
            raise fail(
                f"templates.{key}",
                f"占位符应为 {{{'}、{'.join(sorted(expected))}}}，实际为 {sorted(found) or '无'}",
            )
    return NoticeConfig(
        delivery=delivery,
        vocabulary=vocabulary,
        nudge_interval=timedelta(minutes=positive("nudge_interval_minutes")),
        preview_ttl=timedelta(minutes=positive("preview_ttl_minutes")),
        preview_sample=positive("preview_sample"),
        report_names=positive("report_names"),
        recent_notices=positive("recent_notices"),
        max_reason_chars=positive("max_reason_chars"),
        max_schedule_days=positive("max_schedule_days"),
        meeting_keywords=tuple(keywords),
        buttons=dict(buttons),
        templates={key: templates[key] for key in TEMPLATE_FIELDS},
    )


def load_config(path: Path | str | None = None) -> NoticeConfig:
    path = Path(path) if path else knowledge_dir() / "notices.json"
    data = read_json(path, NoticeConfigError, "通知配置文件")
    return config_from_dict(data, str(path))


@cache
def _config_at(path: str) -> NoticeConfig:
    return load_config(path)


def default_config() -> NoticeConfig:
    """knowledge/notices.json (CPPCC_KNOWLEDGE honoured), loaded once per directory."""
    return _config_at(str(knowledge_dir() / "notices.json"))


# ---- rendering what recipients see ---------------------------------------------------------


def escaped_length(text: str) -> int:
    return utf16_len(html.escape(text, quote=False))


def local_time(text: str, tz) -> datetime:
    """A stored ISO time in the local time zone."""
    return datetime.fromisoformat(text).astimezone(tz)


def format_time(moment: datetime, now: datetime | None = None) -> str:
    """6月20日 15:30 (with the year when it is not the current one)."""
    year = "" if now is not None and moment.year == now.year else f"{moment.year}年"
    return f"{year}{moment.month}月{moment.day}日 {moment:%H:%M}"


def notice_message(text: str, kind: str, config: NoticeConfig) -> str:
    """The message recipients get (plain text; the transport escapes it)."""
    return config.templates[kind].format(text=text)


def _longest_status(config: NoticeConfig) -> str:
    reason = "（原因：" + "字" * config.max_reason_chars + "）"
    time = "2099年12月31日 23:59"
    lines = [
        config.templates["confirmed"].format(time=time),
        config.templates["attending"].format(time=time),
        config.templates["on_leave"].format(time=time, reason=reason),
    ]
    return max(lines, key=escaped_length)


def max_text_length(kind: str, config: NoticeConfig) -> int:
    """How long (in escaped UTF-16 units) the text part may be so that every form of the
    message — with a receipt line added, or wrapped in a nudge — fits one Telegram message."""
    empty = notice_message("", kind, config)
    wrapped = config.templates["nudge"].format(message=empty)
    overhead = max(escaped_length(empty) + escaped_length("\n\n" + _longest_status(config)), escaped_length(wrapped))
    return TELEGRAM_LIMIT - overhead


def receipt_buttons(notice_id: int, kind: str, config: NoticeConfig, event_id: int | None = None) -> list[list[Button]]:
    """收到 (and 参加 / 请假 for a meeting notice), plus 加入手机日历 when it was sent with an event."""
    labels = config.buttons
    row = [Button(labels["received"], f"n:r:{notice_id}")]
    if kind == "meeting":
        row += [Button(labels["attend"], f"n:a:{notice_id}"), Button(labels["leave"], f"n:l:{notice_id}")]
    return [row, *calendar_buttons(event_id, config)]


def linked_event_id(storage: Storage, notice: NoticeRecord) -> int | None:
    """The event a meeting notice was sent with (同时发送会议通知), if any."""
    event = storage.event_of_notice(notice.id) if notice.kind == "meeting" else None
    return event.id if event is not None else None


def calendar_buttons(event_id: int | None, config: NoticeConfig) -> list[list[Button]]:
    """加入手机日历 for a notice sent with an event (the calendar feature answers ``e:i:<id>``)."""
    return [[Button(config.buttons["calendar"], f"e:i:{event_id}")]] if event_id else []


def clean_text(text: str) -> str:
    """Trim, normalise line ends, drop control characters other than newlines and tabs."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.strip()


def guess_kind(text: str, config: NoticeConfig) -> str:
    return "meeting" if any(word in text for word in config.meeting_keywords) else "notice"
