"""Notices from the CPPCC office: compose, preview, confirm, schedule, cancel, receipts,
reports and nudges. Transport-free: the Telegram handlers and the CLI call these functions
and show what they return; delivery goes through the outbox (bot/outbox.py).

Life of a notice (``notices.status``)::

    draft ──confirm──▶ sending ──all rows final──▶ done
      │     └─(at)──▶ scheduled ──(time passes)──▶ (delivered like sending) ──▶ done
      └──discard──▶ discarded          scheduled / sending ──cancel──▶ cancelled

A draft stores the recipients as resolved for the preview; confirming enqueues exactly
those (one outbox row each, plus one before it for an attachment), so what the secretary
saw is what is sent. Confirming is a conditional update of the draft, so a second press
sends nothing.

Texts longer than one Telegram message are refused (not split): a notice is one message
carrying its receipt buttons, and its edits and nudges must fit too. The limit is worked
out from the templates (see :func:`max_text_length`).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from bot.audience import (
    Audience,
    AudienceError,
    Recipient,
    Vocabulary,
    parse_audience,
    resolve,
)
from bot.config import ConfigError, knowledge_dir
from bot.errors import UserError
from bot.outbox import Attachment, DeliverySettings, OutboxRow, Outgoing, enqueue
from bot.outbox import cancel as cancel_rows
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan
from bot.reply import Button
from bot.storage import Storage, actor_label, stamp
from bot.storage.outbox import NoticeRecord, OutboxRecord
from bot.textsplit import TELEGRAM_LIMIT, utf16_len

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
    "ask_reason": {"minutes", "limit"},
    "reason_saved": {"reason"},
    "done": {"id", "total", "sent", "unreachable", "failed", "unbound"},
}
BUTTONS = ("received", "attend", "leave")


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
    reason_wait: timedelta
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
        reason_wait=timedelta(minutes=positive("reason_wait_minutes")),
        max_reason_chars=positive("max_reason_chars"),
        max_schedule_days=positive("max_schedule_days"),
        meeting_keywords=tuple(keywords),
        buttons=dict(buttons),
        templates={key: templates[key] for key in TEMPLATE_FIELDS},
    )


def load_config(path: Path | str | None = None) -> NoticeConfig:
    path = Path(path) if path else knowledge_dir() / "notices.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NoticeConfigError(f"找不到通知配置文件 {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NoticeConfigError(f"{path}: 无法读取：{exc}") from exc
    return config_from_dict(data, str(path))


@cache
def _config_at(path: str) -> NoticeConfig:
    return load_config(path)


def default_config() -> NoticeConfig:
    """knowledge/notices.json (CPPCC_KNOWLEDGE honoured), loaded once per directory."""
    return _config_at(str(knowledge_dir() / "notices.json"))


# ---- rendering what recipients see ---------------------------------------------------------


def _escaped_length(text: str) -> int:
    return utf16_len(html.escape(text, quote=False))


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
    return max(lines, key=_escaped_length)


def max_text_length(kind: str, config: NoticeConfig) -> int:
    """How long (in escaped UTF-16 units) the text part may be so that every form of the
    message — with a receipt line added, or wrapped in a nudge — fits one Telegram message."""
    empty = notice_message("", kind, config)
    wrapped = config.templates["nudge"].format(message=empty)
    overhead = max(_escaped_length(empty) + _escaped_length("\n\n" + _longest_status(config)), _escaped_length(wrapped))
    return TELEGRAM_LIMIT - overhead


def receipt_buttons(notice_id: int, kind: str, config: NoticeConfig) -> list[list[Button]]:
    labels = config.buttons
    row = [Button(labels["received"], f"n:r:{notice_id}")]
    if kind == "meeting":
        row += [Button(labels["attend"], f"n:a:{notice_id}"), Button(labels["leave"], f"n:l:{notice_id}")]
    return [row]


def clean_text(text: str) -> str:
    """Trim, normalise line ends, drop control characters other than newlines and tabs."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.strip()


def guess_kind(text: str, config: NoticeConfig) -> str:
    return "meeting" if any(word in text for word in config.meeting_keywords) else "notice"


# ---- composing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    notice: NoticeRecord
    message: str  # exactly what each recipient gets
    recipients: list[Recipient]

    @property
    def reachable(self) -> list[Recipient]:
        return [r for r in self.recipients if r.chat_id is not None]

    @property
    def unbound(self) -> list[Recipient]:
        return [r for r in self.recipients if r.chat_id is None]


def _names(people: list[Any], limit: int) -> str:
    names = [p.name for p in people[:limit]]
    more = f"等 {len(people)} 人" if len(people) > limit else ""
    return "、".join(names) + more


def _audience(
    storage: Storage, spec: str, admin_ids: frozenset[int], plan: Plan | None, config: NoticeConfig
) -> tuple[Audience, list[Recipient]]:
    """Parse and resolve an audience; refuse one that reaches nobody."""
    try:
        audience = parse_audience(spec, storage, plan=plan, vocabulary=config.vocabulary)
    except AudienceError as exc:
        raise NoticeError(exc.message) from exc
    recipients = resolve(storage, audience, admin_ids=admin_ids, plan=plan)
    label = audience.label(plan)
    if not recipients:
        raise NoticeError(f"通知对象“{label}”目前没有任何人（名册中没有对应人员），没有可发送的对象。")
    if all(r.chat_id is None for r in recipients):
        raise NoticeError(
            f"通知对象“{label}”共 {len(recipients)} 人，但都还没有绑定 Telegram，无法送达："
            f"{_names(recipients, config.report_names)}。请先请他们验证身份。"
        )
    return audience, recipients


def check_audience(
    storage: Storage,
    caller: Caller,
    spec: str,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    config: NoticeConfig | None = None,
) -> str:
    """The first step of the guided flow: who the words name, or NoticeError."""
    authorize(storage, caller, "send_notice")
    config = config or default_config()
    audience, recipients = _audience(storage, spec, admin_ids, plan, config)
    reachable = [r for r in recipients if r.chat_id is not None]
    text = f"对象：{audience.label(plan)}，共 {len(recipients)} 人，{len(reachable)} 人可送达"
    if len(reachable) < len(recipients):
        text += f"（{len(recipients) - len(reachable)} 人未绑定 Telegram）"
    return text + "。"


def compose(
    storage: Storage,
    caller: Caller,
    audience_spec: str,
    text: str,
    *,
    now: datetime,
    attachment: Attachment | None = None,
    kind: str | None = None,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    config: NoticeConfig | None = None,
) -> Preview:
    """Check a notice and store it as a draft; return the preview. Nothing is sent."""
    authorize(storage, caller, "send_notice")
    config = config or default_config()
    text = clean_text(text)
    if not text:
        raise NoticeError("通知内容不能为空。请写上通知正文，例如：/notice 全体委员 明天上午九点在三楼会议室开会")
    kind = kind or guess_kind(text, config)
    limit = max_text_length(kind, config)
    if _escaped_length(text) > limit:
        raise NoticeError(
            f"通知正文太长：共 {utf16_len(text)} 字，一条 Telegram 消息加上回执按钮最多能放约 {limit} 字。"
            "通知不会被拆成多条发送（回执要对应整条通知）。请精简正文，或把全文做成文件作为附件，正文只写摘要。"
        )
    audience, recipients = _audience(storage, audience_spec, admin_ids, plan, config)
    label = audience.label(plan)
    fields = {
        "created_by": actor_label(caller.telegram_id),
        "created_at": stamp(now),
        "audience": audience.to_json(),
        "audience_label": label,
        "text": text,
        "attachment": attachment.to_json() if attachment else None,
        "kind": kind,
        "status": "draft",
    }
    people = [
        {"recipient_key": r.key, "person_kind": r.kind, "person_id": r.person_id, "name": r.name, "chat_id": r.chat_id}
        for r in recipients
    ]
    with storage.atomic():
        notice_id = storage.notice_insert(fields, people)
        storage.audit(
            caller.telegram_id,
            "notice_draft",
            {"notice_id": notice_id, "audience": label, "recipients": len(recipients), "text": text},
            now,
        )
    return Preview(storage.notice(notice_id), notice_message(text, kind, config), recipients)


def _recipients_of(storage: Storage, notice_id: int) -> list[Recipient]:
    return [Recipient(r.person_kind, r.person_id, r.name, r.chat_id) for r in storage.notice_recipients(notice_id)]


def _draft(storage: Storage, notice_id: int, now: datetime, config: NoticeConfig) -> NoticeRecord:
    notice = storage.notice(notice_id)
    if notice is None:
        raise NoticeError("这个预览已失效，请重新发送 /notice。")
    if notice.status != "draft":
        raise NoticeError(f"通知 #{notice.id} {_settled_phrase(notice)}，这个预览已失效，不会重复发送。")
    if now - datetime.fromisoformat(notice.created_at) > config.preview_ttl:
        raise NoticeError("这个预览已过期，请重新发送 /notice 生成新的预览。")
    return notice


def _settled_phrase(notice: NoticeRecord) -> str:
    return {
        "scheduled": "已安排定时发送",
        "sending": "已经发出",
        "done": "已经发出",
        "cancelled": "已被取消",
        "discarded": "已放弃发送",
    }.get(notice.status, "已处理")


def preview_of(
    storage: Storage, caller: Caller, notice_id: int, *, now: datetime, config: NoticeConfig | None = None
) -> Preview:
    """The preview of a draft again (e.g. after a failed schedule time)."""
    authorize(storage, caller, "send_notice")
    config = config or default_config()
    notice = _draft(storage, notice_id, now, config)
    return Preview(notice, notice_message(notice.text, notice.kind, config), _recipients_of(storage, notice_id))


def toggle_kind(
    storage: Storage, caller: Caller, notice_id: int, *, now: datetime, config: NoticeConfig | None = None
) -> Preview:
    """Switch a draft between an ordinary notice (收到) and a meeting notice (参加/请假)."""
    authorize(storage, caller, "send_notice")
    config = config or default_config()
    notice = _draft(storage, notice_id, now, config)
    kind = "notice" if notice.kind == "meeting" else "meeting"
    if _escaped_length(notice.text) > max_text_length(kind, config):
        raise NoticeError("改为该类型后通知会超过一条消息的长度，请精简正文后重新 /notice。")
    if not storage.notice_transition(notice_id, ("draft",), {"kind": kind}):
        raise NoticeError("这个预览已失效，请重新发送 /notice。")
    return preview_of(storage, caller, notice_id, now=now, config=config)


def discard(storage: Storage, caller: Caller, notice_id: int, *, now: datetime) -> NoticeRecord:
    """取消 on a preview: the draft will never be sent."""
    authorize(storage, caller, "send_notice")
    notice = storage.notice(notice_id)
    with storage.atomic():
        if notice is None or not storage.notice_transition(notice_id, ("draft",), {"status": "discarded"}):
            raise NoticeError(f"这个预览已失效（{_settled_phrase(notice) if notice else '找不到该通知'}）。")
        storage.audit(caller.telegram_id, "notice_discard", {"notice_id": notice_id}, now)
    return storage.notice(notice_id)


def render_preview(preview: Preview, config: NoticeConfig | None = None) -> str:
    config = config or default_config()
    notice = preview.notice
    reachable, unbound = preview.reachable, preview.unbound
    lines = [
        f"通知预览（#{notice.id}）",
        f"对象：{notice.audience_label}",
        f"收件人：{len(reachable)} 人将收到（{_names(reachable, config.preview_sample)}）",
    ]
    if unbound:
        lines.append(f"未绑定 Telegram、无法送达：{len(unbound)} 人（{_names(unbound, config.preview_sample)}）")
    buttons = "收到／参加／请假" if notice.kind == "meeting" else "收到"
    lines.append(f"类型：{KIND_LABELS[notice.kind]}（{buttons}）")
    if notice.attachment:
        lines.append(f"附件：{notice.attachment.get('name') or notice.attachment['kind']}（先于正文发送）")
    lines += ["", "—— 以下是每位接收人将看到的消息 ——", preview.message]
    return "\n".join(lines)


def preview_buttons(preview: Preview) -> list[list[Button]]:
    notice = preview.notice
    toggle = "改为普通通知" if notice.kind == "meeting" else "改为会议通知（参加/请假）"
    return [
        [Button("发送", f"n:go:{notice.id}"), Button("定时发送", f"n:at:{notice.id}")],
        [Button(toggle, f"n:k:{notice.id}")],
        [Button("取消", f"n:x:{notice.id}")],
    ]


# ---- confirming, scheduling, cancelling ---------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    notice: NoticeRecord
    queued: int  # recipients whose message is in the outbox
    unbound: int
    send_at: datetime | None

    def describe(
        self,
        now: datetime | None = None,
        *,
        report_hint: str = "发送 /notices 查看送达和回执情况。",
        cancel_hint: str = "发出前可以在 /notices 中取消。",
    ) -> str:
        when = f"将于 {format_time(self.send_at, now)} 发送给" if self.send_at else "正在发送给"
        text = f"通知 #{self.notice.id} {when} {self.queued} 人。"
        if self.unbound:
            text += f"另有 {self.unbound} 人未绑定 Telegram，无法送达。"
        text += report_hint
        if self.send_at:
            text += cancel_hint
        return text


def _outgoing(notice: NoticeRecord, recipients: list[Recipient], config: NoticeConfig, when: datetime | None):
    attachment = Attachment.from_json(notice.attachment)
    message = notice_message(notice.text, notice.kind, config)
    buttons = receipt_buttons(notice.id, notice.kind, config)
    for r in recipients:
        if r.chat_id is None:
            continue
        if attachment:
            caption = config.templates["attachment_caption"].format(name=attachment.name)
            yield Outgoing(f"{r.key}/file", r.chat_id, caption, attachment=attachment, not_before=when)
        yield Outgoing(r.key, r.chat_id, message, buttons=buttons, not_before=when)


def confirm(
    storage: Storage,
    caller: Caller,
    notice_id: int,
    *,
    now: datetime,
    send_at: datetime | None = None,
    config: NoticeConfig | None = None,
) -> Confirmation:
    """发送 / 定时发送: enqueue the draft's messages once; a second press is refused."""
    authorize(storage, caller, "send_notice")
    config = config or default_config()
    notice = _draft(storage, notice_id, now, config)
    if send_at is not None:
        check_send_time(send_at, now, config)
    recipients = _recipients_of(storage, notice_id)
    status = "scheduled" if send_at else "sending"
    with storage.atomic():
        moved = storage.notice_transition(
            notice_id,
            ("draft",),
            {
                "status": status,
                "send_at": stamp(send_at or now),
                "confirmed_at": stamp(now),
                "confirmed_by": actor_label(caller.telegram_id),
            },
        )
        if not moved:
            raise NoticeError(f"通知 #{notice_id} 已经处理过，不会重复发送。")
        queued = enqueue(
            storage,
            source_kind=SOURCE,
            source_id=str(notice_id),
            messages=list(_outgoing(notice, recipients, config, send_at)),
            now=now,
        )
        reachable = [r for r in recipients if r.chat_id is not None]
        storage.audit(
            caller.telegram_id,
            "notice_schedule" if send_at else "notice_send",
            {
                "notice_id": notice_id,
                "audience": notice.audience_label,
                "kind": notice.kind,
                "text": notice.text,
                "attachment": notice.attachment,
                "recipients": [r.key for r in reachable],
                "unbound": [r.key for r in recipients if r.chat_id is None],
                "send_at": stamp(send_at) if send_at else None,
                "outbox_rows": queued,
            },
            now,
        )
    return Confirmation(storage.notice(notice_id), len(reachable), len(recipients) - len(reachable), send_at)


@dataclass(frozen=True)
class Cancellation:
    notice: NoticeRecord
    cancelled: int  # recipients whose message will not be sent
    already_sent: int


def cancel_notice(storage: Storage, caller: Caller, notice_id: int, *, now: datetime) -> Cancellation:
    """Stop a scheduled notice (or the rest of one being sent)."""
    authorize(storage, caller, "send_notice")
    notice = storage.notice(notice_id)
    if notice is None or notice.status in ("draft", "discarded"):
        raise NoticeError(f"没有编号为 {notice_id} 的已发送或定时通知。")
    if notice.status == "cancelled":
        raise NoticeError(f"通知 #{notice_id} 已经取消过了。")
    if notice.status == "done":
        raise NoticeError(f"通知 #{notice_id} 已全部发出，无法取消。")
    with storage.atomic():
        rows = cancel_rows(storage, SOURCE, str(notice_id), now)
        if not rows and notice.status == "sending":
            raise NoticeError(f"通知 #{notice_id} 已全部发出，无法取消。")
        storage.notice_transition(
            notice_id, ("scheduled", "sending"), {"status": "cancelled", "cancelled_at": stamp(now)}
        )
        sent = sum(1 for row in storage.outbox_rows(SOURCE, str(notice_id)) if row.status == "sent")
        cancelled_keys = {
            row.recipient_key.split("/")[0]
            for row in storage.outbox_rows(SOURCE, str(notice_id))
            if row.status == "cancelled"
        }
        storage.audit(
            caller.telegram_id,
            "notice_cancel",
            {"notice_id": notice_id, "cancelled": len(cancelled_keys), "already_sent": sent},
            now,
        )
    return Cancellation(storage.notice(notice_id), len(cancelled_keys), sent)


# ---- delivery bookkeeping ------------------------------------------------------------------------


def on_settled(storage: Storage, row: OutboxRow, *, now: datetime, config: NoticeConfig | None = None) -> bool:
    """Outbox listener for notice rows: when a notice has nothing left to send, mark it done
    and queue a summary for the secretary who confirmed it. True if the notice was closed."""
    if row.source_kind != SOURCE:
        return False
    return _finish_if_complete(storage, int(row.source_id), now, config or default_config())


def finish_completed(storage: Storage, *, now: datetime, config: NoticeConfig | None = None) -> list[int]:
    """At start-up: close notices whose last row settled just before a stop; their ids."""
    config = config or default_config()
    return [
        n.id
        for n in storage.notices_with_status("sending", "scheduled")
        if _finish_if_complete(storage, n.id, now, config)
    ]


def _finish_if_complete(storage: Storage, notice_id: int, now: datetime, config: NoticeConfig) -> bool:
    if storage.outbox_open_count(SOURCE, str(notice_id)):
        return False
    with storage.atomic():
        done = {"status": "done", "completed_at": stamp(now)}
        if not storage.notice_transition(notice_id, ("sending", "scheduled"), done):
            return False
        notice = storage.notice(notice_id)
        if (notice.confirmed_by or "").lstrip("-").isdigit():  # a secretary in Telegram, not the CLI
            chat = int(notice.confirmed_by)
            counts = report_counts(build_report(storage, notice))
            text = config.templates["done"].format(
                id=notice_id,
                total=counts["total"],
                sent=counts["sent"],
                unreachable=counts["unreachable"],
                failed=counts["failed"],
                unbound=counts["unbound"],
            )
            summary = Outgoing(f"secretary:{chat}", chat, text, buttons=[[Button("查看回执", f"n:v:{notice_id}")]])
            enqueue(storage, source_kind=DONE_SOURCE, source_id=str(notice_id), messages=[summary], now=now)
    return True


# ---- receipts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptOutcome:
    toast: str  # short answer to the button press
    message: str | None  # the recipient's message as it should now read (None: unchanged)
    buttons: list[list[Button]]
    ask_reason: bool = False


def _status_line(receipt, config: NoticeConfig, tz) -> str:
    def when(text: str) -> str:
        moment = _local(text, tz)
        return format_time(moment, moment)

    if receipt.attendance == "attend":
        return config.templates["attending"].format(time=when(receipt.answered_at))
    if receipt.attendance == "leave":
        reason = f"（原因：{receipt.reason}）" if receipt.reason else ""
        return config.templates["on_leave"].format(time=when(receipt.answered_at), reason=reason)
    return config.templates["confirmed"].format(time=when(receipt.confirmed_at))


def _after_receipt(storage: Storage, notice: NoticeRecord, key: str, config: NoticeConfig) -> tuple[str, list]:
    receipt = storage.receipt(notice.id, key)
    message = notice_message(notice.text, notice.kind, config) + "\n\n" + _status_line(receipt, config, storage.tz)
    buttons: list[list[Button]] = []
    if notice.kind == "meeting":
        labels = config.buttons
        if receipt.attendance != "attend":
            buttons.append(Button(labels["attend"], f"n:a:{notice.id}"))
        if receipt.attendance != "leave":
            buttons.append(Button(labels["leave"], f"n:l:{notice.id}"))
    return message, [buttons] if buttons else []


def _recipient(storage: Storage, notice_id: int, telegram_id: int) -> tuple[NoticeRecord, str]:
    notice = storage.notice(notice_id)
    recipient = storage.notice_recipient_by_chat(notice_id, telegram_id) if notice else None
    if notice is None or notice.status in ("draft", "discarded") or recipient is None:
        raise NoticeError("您不是这条通知的接收人，无需确认。")
    return notice, recipient.recipient_key


def record_receipt(
    storage: Storage,
    notice_id: int,
    telegram_id: int,
    response: str,
    *,
    now: datetime,
    config: NoticeConfig | None = None,
) -> ReceiptOutcome:
    """A 收到 / 参加 / 请假 press (``response`` "received" | "attend" | "leave"). Recorded once
    per person; a meeting answer can be changed (参加 ↔ 请假), the latest counts."""
    config = config or default_config()
    notice, key = _recipient(storage, notice_id, telegram_id)
    if response == "received":
        new = storage.receipt_confirm(notice_id, key, stamp(now))
        message, buttons = _after_receipt(storage, notice, key, config)
        return ReceiptOutcome("已确认收到，谢谢。" if new else "您已经确认过了。", message, buttons)
    if response not in ("attend", "leave") or notice.kind != "meeting":
        raise NoticeError("这个按钮已失效。")
    previous = storage.receipt(notice_id, key)
    if previous is not None and previous.attendance == response:
        message, buttons = _after_receipt(storage, notice, key, config)
        return ReceiptOutcome("您已经回复过了。", message, buttons)
    storage.receipt_answer(notice_id, key, response, stamp(now))
    message, buttons = _after_receipt(storage, notice, key, config)
    if response == "attend":
        return ReceiptOutcome("已登记：参加。", message, buttons)
    return ReceiptOutcome("已登记：请假。", message, buttons, ask_reason=True)


def ask_reason_text(config: NoticeConfig | None = None) -> str:
    config = config or default_config()
    minutes = int(config.reason_wait.total_seconds() // 60)
    return config.templates["ask_reason"].format(minutes=minutes, limit=config.max_reason_chars)


def record_leave_reason(
    storage: Storage,
    notice_id: int,
    telegram_id: int,
    reason: str,
    *,
    now: datetime,
    config: NoticeConfig | None = None,
) -> ReceiptOutcome:
    """The optional reason after 请假; ``message`` is the recipient's message with the reason."""
    config = config or default_config()
    notice, key = _recipient(storage, notice_id, telegram_id)
    receipt = storage.receipt(notice_id, key)
    if receipt is None or receipt.attendance != "leave":
        raise NoticeError("您目前没有请假登记，无需填写原因。")
    reason = clean_text(reason).replace("\n", " ")
    if not reason:
        raise NoticeError("请假原因是空的，请用一句话说明，或忽略此步。")
    if len(reason) > config.max_reason_chars:
        raise NoticeError(f"请假原因请控制在 {config.max_reason_chars} 字以内（现在 {len(reason)} 字）。")
    storage.receipt_reason(notice_id, key, reason)
    message, buttons = _after_receipt(storage, notice, key, config)
    return ReceiptOutcome(config.templates["reason_saved"].format(reason=reason), message, buttons)


# ---- reports ---------------------------------------------------------------------------------------


DELIVERY_LABELS = {
    "sent": "已送达",
    "pending": "待发送",
    "failed": "发送失败",
    "unreachable": "无法送达（已屏蔽机器人或账号停用）",
    "unbound": "未绑定 Telegram",
    "cancelled": "已取消",
}
NOTICE_STATUS_LABELS = {
    "scheduled": "定时发送",
    "sending": "发送中",
    "done": "已发送完毕",
    "cancelled": "已取消",
    "draft": "草稿",
    "discarded": "已放弃",
}
KIND_LABELS = {"notice": "普通通知", "meeting": "会议通知"}


@dataclass(frozen=True)
class RecipientStatus:
    key: str
    name: str
    person_kind: str
    delivery: str  # a DELIVERY_LABELS key
    delivered_at: str | None
    error: str | None
    confirmed_at: str | None
    attendance: str | None
    reason: str | None


@dataclass(frozen=True)
class Report:
    notice: NoticeRecord
    rows: list[RecipientStatus]
    attachment_problems: int = 0
    nudge_rows: dict[str, int] = field(default_factory=dict)

    def with_delivery(self, *deliveries: str) -> list[RecipientStatus]:
        return [r for r in self.rows if r.delivery in deliveries]

    @property
    def unconfirmed(self) -> list[RecipientStatus]:
        """Delivered but not confirmed: the people a nudge goes to."""
        return [r for r in self.rows if r.delivery == "sent" and r.confirmed_at is None]


def _delivery(row: OutboxRecord | None) -> str:
    if row is None:
        return "unbound"
    return "pending" if row.status in ("pending", "sending") else row.status


def build_report(storage: Storage, notice: NoticeRecord) -> Report:
    rows = storage.notice_delivery(notice.id)
    receipts = storage.receipts(notice.id)
    statuses = []
    for recipient in storage.notice_recipients(notice.id):
        row = rows.get(recipient.recipient_key) if recipient.chat_id is not None else None
        if recipient.chat_id is not None and row is None:
            delivery = "cancelled" if notice.status == "cancelled" else "pending"
        else:
            delivery = _delivery(row)
        receipt = receipts.get(recipient.recipient_key)
        statuses.append(
            RecipientStatus(
                key=recipient.recipient_key,
                name=recipient.name,
                person_kind=recipient.person_kind,
                delivery=delivery,
                delivered_at=row.finished_at if row is not None and row.status == "sent" else None,
                error=row.last_error if row is not None and row.status in ("failed", "unreachable") else None,
                confirmed_at=receipt.confirmed_at if receipt else None,
                attendance=receipt.attendance if receipt else None,
                reason=receipt.reason if receipt else None,
            )
        )
    problems = sum(1 for key, row in rows.items() if key.endswith("/file") and row.status in ("failed", "unreachable"))
    return Report(notice, statuses, problems)


def notice_report(storage: Storage, caller: Caller, notice_id: int) -> Report:
    authorize(storage, caller, "view_notices")
    notice = storage.notice(notice_id)
    if notice is None or notice.status in ("draft", "discarded"):
        raise NoticeError(f"没有编号为 {notice_id} 的通知。发送 /notices 查看最近的通知。")
    return build_report(storage, notice)


def report_counts(report: Report) -> Counter:
    counts: Counter = Counter({key: 0 for key in (*DELIVERY_LABELS, "confirmed", "attend", "leave")})
    counts["total"] = len(report.rows)
    for row in report.rows:
        counts[row.delivery] += 1
        if row.confirmed_at:
            counts["confirmed"] += 1
        if row.attendance:
            counts[row.attendance] += 1
    return counts


def _status_text(notice: NoticeRecord, tz, now: datetime | None) -> str:
    label = NOTICE_STATUS_LABELS[notice.status]
    if notice.status == "scheduled" and notice.send_at:
        send_at = datetime.fromisoformat(notice.send_at).astimezone(tz)
        if now is None or send_at > now:
            return f"{label}（{format_time(send_at, now)}）"
        return "发送中"
    return label


def _local(text: str, tz) -> datetime:
    return datetime.fromisoformat(text).astimezone(tz)


def render_report(report: Report, *, tz, now: datetime | None = None, name_limit: int | None = None) -> str:
    """The status view: counts, then the names that need attention."""
    notice = report.notice
    c = report_counts(report)
    limit = name_limit or max(len(report.rows), 1)
    sent_at = _local(notice.send_at or notice.created_at, tz)
    text = " ".join(notice.text.split("\n"))
    text = text if len(text) <= 60 else text[:60] + "…"
    lines = [
        f"通知 #{notice.id}（{KIND_LABELS[notice.kind]}）· {_status_text(notice, tz, now)}",
        f"发送时间：{format_time(sent_at, now)} · 对象：{notice.audience_label}",
        f"内容：{text}",
        "",
        f"收件人 {c['total']} · 已送达 {c['sent']} · 已确认 {c['confirmed']}"
        + (f" · 参加 {c['attend']} · 请假 {c['leave']}" if notice.kind == "meeting" else "")
        + f" · 无法送达 {c['unreachable']} · 未绑定 {c['unbound']} · 发送失败 {c['failed']} · 待发送 {c['pending']}"
        + (f" · 已取消 {c['cancelled']}" if c["cancelled"] else ""),
    ]
    if notice.nudges:
        lines.append(
            f"已提醒未确认者 {notice.nudges} 次，最近一次 {format_time(_local(notice.last_nudge_at, tz), now)}"
        )

    def section(title: str, rows: list[RecipientStatus], detail=None) -> None:
        if not rows:
            return
        shown = [f"{r.name}{detail(r) if detail else ''}" for r in rows[:limit]]
        more = f" 等 {len(rows)} 人" if len(rows) > limit else ""
        lines.append(f"{title}（{len(rows)}）：" + "、".join(shown) + more)

    lines.append("")
    section("未确认", report.unconfirmed)
    if notice.kind == "meeting":
        section(
            "请假", [r for r in report.rows if r.attendance == "leave"], lambda r: f"（{r.reason}）" if r.reason else ""
        )
    section("无法送达（已屏蔽机器人或账号停用）", report.with_delivery("unreachable"))
    section("发送失败", report.with_delivery("failed"), lambda r: f"（{r.error}）" if r.error else "")
    section("未绑定 Telegram", report.with_delivery("unbound"))
    section("待发送", report.with_delivery("pending"))
    if report.attachment_problems:
        lines.append(f"另有 {report.attachment_problems} 人的附件未能送达。")
    return "\n".join(line for line in lines).rstrip()


def report_buttons(report: Report) -> list[list[Button]]:
    notice = report.notice
    rows: list[list[Button]] = []
    if report.unconfirmed and notice.status in ("sending", "done", "scheduled"):
        rows.append([Button(f"提醒未确认（{len(report.unconfirmed)}）", f"n:u:{notice.id}")])
    if notice.status in ("scheduled", "sending") and report.with_delivery("pending"):
        rows.append([Button("取消发送", f"n:c:{notice.id}")])
    rows.append([Button("刷新", f"n:v:{notice.id}"), Button("全部通知", "n:ls")])
    return rows


CSV_HEADER = ["通知编号", "姓名", "身份", "送达状态", "送达时间", "确认收到时间", "参加情况", "请假原因", "说明"]
_PERSON_LABELS = {"member": "委员", "unit_contact": "单位联络员", "secretary": "秘书"}
_ATTENDANCE_LABELS = {"attend": "参加", "leave": "请假"}


def report_csv(report: Report, *, tz) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in report.rows:
        writer.writerow(
            [
                report.notice.id,
                r.name,
                _PERSON_LABELS.get(r.person_kind, r.person_kind),
                DELIVERY_LABELS[r.delivery],
                _local(r.delivered_at, tz).strftime("%Y-%m-%d %H:%M:%S") if r.delivered_at else "",
                _local(r.confirmed_at, tz).strftime("%Y-%m-%d %H:%M:%S") if r.confirmed_at else "",
                _ATTENDANCE_LABELS.get(r.attendance or "", ""),
                r.reason or "",
                r.error or "",
            ]
        )
    return out.getvalue()


# ---- listing ---------------------------------------------------------------------------------------


def recent_notices(
    storage: Storage, caller: Caller, *, limit: int | None = None, config: NoticeConfig | None = None
) -> list[Report]:
    authorize(storage, caller, "view_notices")
    config = config or default_config()
    return [build_report(storage, n) for n in storage.notices_recent(limit or config.recent_notices)]


def render_list(reports: list[Report], *, tz, now: datetime | None = None) -> str:
    if not reports:
        return "还没有发送过通知。发送 /notice 开始编写一条通知。"
    lines = ["最近的通知："]
    for report in reports:
        n = report.notice
        c = report_counts(report)
        text = n.text.replace("\n", " ")
        text = text if len(text) <= 20 else text[:20] + "…"
        when = format_time(_local(n.send_at or n.created_at, tz), now)
        lines.append(
            f"#{n.id} {when} · {n.audience_label} · {_status_text(n, tz, now)} · "
            f"已送达 {c['sent']}/{c['total']} · 已确认 {c['confirmed']} · {text}"
        )
    return "\n".join(lines)


def list_buttons(reports: list[Report]) -> list[list[Button]]:
    return [[Button(f"#{r.notice.id} 详情", f"n:v:{r.notice.id}")] for r in reports]


# ---- nudging ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nudge:
    notice: NoticeRecord
    queued: int


def nudge(
    storage: Storage, caller: Caller, notice_id: int, *, now: datetime, config: NoticeConfig | None = None
) -> Nudge:
    """提醒未确认: send the notice again, wrapped in a reminder, only to those who got it and
    have not confirmed; at most once per ``nudge_interval``."""
    authorize(storage, caller, "send_notice")
    config = config or default_config()
    report = notice_report(storage, caller, notice_id)
    notice = report.notice
    if notice.status == "cancelled":
        raise NoticeError(f"通知 #{notice_id} 已取消，不能提醒。")
    if notice.last_nudge_at:
        ready = datetime.fromisoformat(notice.last_nudge_at) + config.nudge_interval
        if now < ready:
            minutes = int(config.nudge_interval.total_seconds() // 60)
            raise NoticeError(
                f"每 {minutes} 分钟最多提醒一次，"
                f"上次提醒在 {format_time(_local(notice.last_nudge_at, storage.tz), now)}，"
                f"请在 {format_time(ready.astimezone(storage.tz), now)} 之后再试。"
            )
    targets = report.unconfirmed
    if not targets:
        raise NoticeError("已送达的接收人都已确认，无需提醒。")
    chats = {r.recipient_key: r.chat_id for r in storage.notice_recipients(notice_id)}
    message = config.templates["nudge"].format(message=notice_message(notice.text, notice.kind, config))
    buttons = receipt_buttons(notice_id, notice.kind, config)
    number = notice.nudges + 1
    with storage.atomic():
        if not storage.notice_count_nudge(notice_id, notice.nudges, stamp(now)):
            raise NoticeError("刚刚已经提醒过了，请稍后再试。")
        queued = enqueue(
            storage,
            source_kind=NUDGE_SOURCE,
            source_id=f"{notice_id}.{number}",
            messages=[Outgoing(t.key, chats[t.key], message, buttons=buttons) for t in targets],
            now=now,
        )
        storage.audit(
            caller.telegram_id,
            "notice_nudge",
            {"notice_id": notice_id, "nudge": number, "recipients": [t.key for t in targets]},
            now,
        )
    return Nudge(storage.notice(notice_id), queued)


# ---- send times -------------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUM = r"\d{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_DATE_FORMS = (
    re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"),
    re.compile(rf"(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*[日号]"),
    re.compile(r"(?P<m>\d{1,2})\s*[-/]\s*(?P<d>\d{1,2})(?=\s|$)"),
    re.compile(r"(?P<rel>今天|今日|明天|明日|后天)"),
)
_TIME_FORM = re.compile(
    rf"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?\s*(?P<h>{_NUM})\s*(?:[:：]|点|时)\s*"
    rf"(?:(?P<half>半)|(?P<min>{_NUM})\s*分?)?"
)
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_DIGITS.get(tens, 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + _CN_DIGITS[ch]
    return value


def parse_send_time(text: str, now: datetime, config: NoticeConfig | None = None) -> datetime:
    """明天 9:00, 下午3点半, 6月20日 15:30, 2024-06-20 15:30 … → an aware datetime after ``now``."""
    config = config or default_config()
    source = unicodedata.normalize("NFKC", text or "").strip()
    example = "例如：明天 9:00、今天下午3点半、6月20日 15:30、2024-06-20 15:30"
    if not source:
        raise NoticeError(f"请写发送时间，{example}。")
    day: date | None = None
    rest = source
    rolls_over = False  # a month and day without a year that has passed means next year
    for form in _DATE_FORMS:
        match = form.match(source)
        if not match:
            continue
        rest = source[match.end() :].strip()
        groups = match.groupdict()
        try:
            if groups.get("rel"):
                day = now.date() + timedelta(days=_RELATIVE_DAYS[groups["rel"]])
            else:
                rolls_over = not groups.get("y")
                year = int(groups["y"]) if groups.get("y") else now.year
                day = date(year, _number(groups["m"]), _number(groups["d"]))
        except (ValueError, KeyError) as exc:
            raise NoticeError(f"“{source}”中的日期不存在，{example}。") from exc
        break
    match = _TIME_FORM.fullmatch(rest)
    if not match:
        raise NoticeError(f"没有看懂发送时间“{source}”，请写明日期和时刻，{example}。")
    try:
        hour = _number(match["h"])
        minute = 30 if match["half"] else _number(match["min"]) if match["min"] else 0
    except KeyError as exc:
        raise NoticeError(f"没有看懂发送时间“{source}”，{example}。") from exc
    part = match["part"]
    if (part in ("下午", "傍晚", "晚上") and hour < 12) or (part == "中午" and hour < 3):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise NoticeError(f"“{source}”不是有效的时刻，{example}。")
    moment = datetime.combine(day or now.date(), datetime.min.time(), now.tzinfo).replace(hour=hour, minute=minute)
    if rolls_over and moment <= now:
        try:
            moment = moment.replace(year=moment.year + 1)
        except ValueError as exc:  # 2月29日
            raise NoticeError(f"“{source}”中的日期明年不存在，请写上年份。") from exc
    check_send_time(moment, now, config)
    return moment


def check_send_time(moment: datetime, now: datetime, config: NoticeConfig | None = None) -> None:
    config = config or default_config()
    if moment.tzinfo is None:
        raise ValueError("send time must be timezone-aware")
    if moment <= now:
        raise NoticeError(f"发送时间 {format_time(moment, now)} 已经过去，请写一个将来的时间。")
    if moment > now + timedelta(days=config.max_schedule_days):
        raise NoticeError(f"定时发送最多只能安排在 {config.max_schedule_days} 天以内。")
