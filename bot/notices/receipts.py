"""After sending: delivery bookkeeping, receipts (收到) and nudges to those who have not confirmed.

参加 / 请假 on a meeting notice are meeting replies (bot/calendar/replies.py, with leave approval):
they keep the notice's receipt in step, which is shown here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.notices.config import (
    DONE_SOURCE,
    NUDGE_SOURCE,
    SOURCE,
    NoticeConfig,
    NoticeError,
    calendar_buttons,
    default_config,
    format_time,
    linked_event_id,
    local_time,
    notice_message,
    receipt_buttons,
)
from bot.notices.outbox import OutboxRow, Outgoing, enqueue
from bot.notices.reports import build_report, notice_report, report_counts
from bot.people.roles import Caller, authorize
from bot.reply import Button
from bot.storage import Storage, stamp
from bot.storage.outbox import NoticeRecord

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
            if counts["uncertain"]:
                text += config.templates["done_uncertain"].format(uncertain=counts["uncertain"])
            summary = Outgoing(f"secretary:{chat}", chat, text, buttons=[[Button("查看回执", f"n:v:{notice_id}")]])
            enqueue(storage, source_kind=DONE_SOURCE, source_id=str(notice_id), messages=[summary], now=now)
    return True


# ---- receipts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptOutcome:
    toast: str  # short answer to the button press
    message: str | None  # the recipient's message as it should now read (None: unchanged)
    buttons: list[list[Button]]


def _status_line(receipt, config: NoticeConfig, tz) -> str:
    def when(text: str) -> str:
        moment = local_time(text, tz)
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
    return message, ([buttons] if buttons else []) + calendar_buttons(linked_event_id(storage, notice), config)


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
    """A 收到 press (``response`` "received"), recorded once per person; 参加 / 请假 are meeting
    replies (bot/calendar/replies.py)."""
    config = config or default_config()
    notice, key = _recipient(storage, notice_id, telegram_id)
    if response != "received":
        raise NoticeError("这个按钮已失效。")
    new = storage.receipt_confirm(notice_id, key, stamp(now))
    message, buttons = _after_receipt(storage, notice, key, config)
    return ReceiptOutcome("已确认收到，谢谢。" if new else "您已经确认过了。", message, buttons)


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
                f"上次提醒在 {format_time(local_time(notice.last_nudge_at, storage.tz), now)}，"
                f"请在 {format_time(ready.astimezone(storage.tz), now)} 之后再试。"
            )
    targets = report.unconfirmed
    if not targets:
        raise NoticeError("已送达的接收人都已确认，无需提醒。")
    chats = {r.recipient_key: r.chat_id for r in storage.notice_recipients(notice_id)}
    message = config.templates["nudge"].format(message=notice_message(notice.text, notice.kind, config))
    buttons = receipt_buttons(notice_id, notice.kind, config, linked_event_id(storage, notice))
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
