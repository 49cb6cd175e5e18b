"""Composing a notice: audience and text into a draft with a preview,
then confirm, schedule or cancel it; send times typed in Chinese."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.dates import DateError, parse_when
from bot.notices.audience import (
    Audience,
    AudienceError,
    Recipient,
    parse_audience,
    resolve,
)
from bot.notices.config import (
    KIND_LABELS,
    SOURCE,
    NoticeConfig,
    NoticeError,
    clean_text,
    default_config,
    escaped_length,
    format_time,
    guess_kind,
    linked_event_id,
    max_text_length,
    notice_message,
    receipt_buttons,
)
from bot.notices.outbox import Attachment, Outgoing, enqueue
from bot.notices.outbox import cancel as cancel_rows
from bot.numbers import shown
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan
from bot.reply import Button
from bot.storage import Storage, actor_label, stamp
from bot.storage.outbox import NoticeRecord
from bot.textsplit import utf16_len

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
    """Parse and resolve an audience (typed words, or the stored JSON form an event keeps); refuse
    one that reaches nobody."""
    try:
        if spec.strip().startswith("["):
            audience = Audience.from_json(spec)
        else:
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
    if escaped_length(text) > limit:
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
    if escaped_length(notice.text) > max_text_length(kind, config):
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


def _outgoing(
    notice: NoticeRecord,
    recipients: list[Recipient],
    config: NoticeConfig,
    when: datetime | None,
    event_id: int | None,
):
    attachment = Attachment.from_json(notice.attachment)
    message = notice_message(notice.text, notice.kind, config)
    buttons = receipt_buttons(notice.id, notice.kind, config, event_id)
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
            messages=list(_outgoing(notice, recipients, config, send_at, linked_event_id(storage, notice))),
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


# ---- send times -------------------------------------------------------------------------------------


def parse_send_time(text: str, now: datetime, config: NoticeConfig | None = None) -> datetime:
    """明天 9:00, 下午3点半, 下周三 上午9点, 6月20日 15:30, 2024-06-20 15:30 … (bot/dates.py) → an aware
    datetime after ``now``."""
    return read_send_time(text, now, config)[0]


def read_send_time(text: str, now: datetime, config: NoticeConfig | None = None) -> tuple[datetime, str]:
    """:func:`parse_send_time` and the guesses made reading it (“3点”按下午3:00理解), to be
    confirmed before the notice is scheduled; an empty string when nothing was guessed."""
    config = config or default_config()
    example = "例如：明天 9:00、今天下午3点半、下周三 上午9点、6月20日 15:30、2024-06-20 15:30"
    source = unicodedata.normalize("NFKC", text or "").strip()
    if not source:
        raise NoticeError(f"请写发送时间，{example}。")
    try:
        when = parse_when(text, now.date(), future=True)
    except DateError as exc:
        if exc.reason == "foreign":
            raise NoticeError(f"没有看懂发送时间“{shown(text)}”，请用数字 0–9 书写，{example}。") from exc
        if exc.reason == "no_such_date":
            raise NoticeError(f"“{source}”中的日期不存在，{example}。") from exc
        if exc.reason == "bad_time":
            raise NoticeError(f"“{source}”不是有效的时刻，{example}。") from exc
        raise NoticeError(f"没有看懂发送时间“{source}”，{example}。") from exc
    if when.clock is None:
        raise NoticeError(f"没有看懂发送时间“{source}”，请写明日期和时刻，{example}。")
    moment = datetime.combine(when.day or now.date(), when.clock, now.tzinfo)
    check_send_time(moment, now, config)
    return moment, when.note()


def check_send_time(moment: datetime, now: datetime, config: NoticeConfig | None = None) -> None:
    config = config or default_config()
    if moment.tzinfo is None:
        raise ValueError("send time must be timezone-aware")
    if moment <= now:
        raise NoticeError(f"发送时间 {format_time(moment, now)} 已经过去，请写一个将来的时间。")
    if moment > now + timedelta(days=config.max_schedule_days):
        raise NoticeError(f"定时发送最多只能安排在 {config.max_schedule_days} 天以内。")
