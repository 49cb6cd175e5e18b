"""Acting on the inbox: confirming a notice by the person's roster key (also for people who bound
after it went out), a notice shown again with the buttons that still apply, and what the person
already answered to a notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.calendar.meetings import LEAVE_LABELS, MeetingError, invitation, meeting_of, person_key
from bot.notices import default_config as notice_config
from bot.notices import notice_message
from bot.reply import Button
from bot.storage import Storage, stamp


@dataclass(frozen=True)
class NoticeView:
    notice_id: int
    title: str
    text: str
    buttons: list[list[Button]]


def _title(text: str) -> str:
    first = text.strip().split("\n")[0]
    return first if len(first) <= 30 else first[:30] + "…"


def _notice_title(storage: Storage, notice) -> str:
    """The event's title for a notice sent with an event, else the notice's first line."""
    event = storage.event_of_notice(notice.id) if notice.kind == "meeting" else None
    return event.title if event is not None else _title(notice.text)


def _addressed(storage: Storage, notice_id: int, key: str):
    """The notice when it has gone out to the person (their recipient key), else None."""
    notice = storage.notice(notice_id)
    if notice is None or notice.status not in ("sending", "done"):
        return None
    return notice if storage.notice_recipient_by_key(notice_id, key) is not None else None


def notice_view(storage: Storage, telegram_id: int, notice_id: int, *, now: datetime) -> NoticeView:
    """A notice addressed to the person, as they should see it now."""
    key = person_key(storage, telegram_id)
    notice = _addressed(storage, notice_id, key)
    if notice is None:
        raise MeetingError("没有找到这条通知。发送 /inbox 查看您的通知。")
    receipt = storage.receipt(notice_id, key)
    buttons: list[list[Button]] = []
    if receipt is None:
        buttons.append([Button("收到", f"i:r:{notice_id}")])
    if notice.kind == "meeting":
        try:
            meeting = meeting_of(storage, f"n{notice_id}")
        except MeetingError:
            meeting = None
        if meeting is not None:
            starts = meeting.starts(storage.tz)
            reply = storage.meeting_reply(meeting.ref, key)
            text, rows = invitation(meeting, reply, storage.tz, now)
            if starts is None or now < starts:
                buttons += rows
            return NoticeView(notice_id, _title(notice.text), text, buttons)
    text = notice_message(notice.text, notice.kind, notice_config())
    if receipt is not None:
        text += "\n\n✅ 已确认收到"
    return NoticeView(notice_id, _title(notice.text), text, buttons)


def confirm_notice(storage: Storage, telegram_id: int, notice_id: int, *, now: datetime) -> tuple[str, bool]:
    """收到 for a notice addressed to the person; (title, whether it was new)."""
    key = person_key(storage, telegram_id)
    notice = _addressed(storage, notice_id, key)
    if notice is None:
        raise MeetingError("您不是这条通知的接收人，无需确认。")
    with storage.atomic():
        new = storage.receipt_confirm(notice_id, key, stamp(now))
        if new:
            storage.audit(telegram_id, "notice_confirmed", {"notice_id": notice_id, "typed_or_inbox": True}, now)
    return _notice_title(storage, notice), new


def answered(storage: Storage, telegram_id: int, notice_id: int) -> str:
    """“您已回复《…》：参加” for a notice the person already answered (a typed 收到 again)."""
    key = person_key(storage, telegram_id)
    notice = storage.notice(notice_id)
    word = "收到"
    try:
        meeting = meeting_of(storage, f"n{notice_id}") if notice.kind == "meeting" else None
    except MeetingError:
        meeting = None
    reply = storage.meeting_reply(meeting.ref, key) if meeting is not None else None
    if reply is not None and reply.response == "attend":
        word = "参加"
    elif reply is not None:
        word = f"请假（{LEAVE_LABELS[reply.leave_status or 'pending']}）"
    return f"您已回复《{_notice_title(storage, notice)}》：{word}，无需再回复。"
