"""Meetings people reply to: an event of a meeting kind, or a meeting notice without an event.

A meeting is named by a short token, ``e5`` (event 5) or ``n7`` (meeting notice 7), which
button data carry; an event sent "同时发送会议通知" is one meeting whatever button is pressed
(its notice's token leads to the event). Replies (参加 / 请假) live in ``meeting_replies``;
for a meeting with a notice the notice's receipt is kept in step in the same transaction, so
the notice report and the event's detail view agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.calendar.events import EventError, describe, ends_at, starts_at, when_text
from bot.calendar.meeting_config import MeetingConfig, default_config
from bot.notices import default_config as notice_config
from bot.notices import notice_message
from bot.notices.audience import Audience, Recipient, includes, resolve
from bot.notices.config import format_time
from bot.notices.outbox import Outgoing, enqueue
from bot.numbers import read_number
from bot.reply import Button
from bot.storage import Storage
from bot.storage.calendar import EventRow, MeetingReplyRow
from bot.storage.outbox import NoticeRecord

LEAVE_SOURCE = "leave"  # outbox source kind of messages about leave requests
LEAVE_LABELS = {"pending": "待审批", "approved": "已同意", "rejected": "未同意", "withdrawn": "已撤回"}


class MeetingError(EventError):
    """A reply, leave or sign-in was refused; ``message`` is Simplified Chinese for the user."""


@dataclass(frozen=True)
class Meeting:
    token: str  # "e5" | "n7"
    title: str
    event: EventRow | None
    notice: NoticeRecord | None

    @property
    def ref(self) -> str:
        """The key of replies: "event:5" or "notice:7"."""
        return f"event:{self.event.id}" if self.event else f"notice:{self.notice.id}"

    def starts(self, tz: ZoneInfo) -> datetime | None:
        return starts_at(self.event, tz) if self.event else None

    def ends(self, tz: ZoneInfo) -> datetime | None:
        return ends_at(self.event, tz) if self.event else None

    @property
    def label(self) -> str:
        """《优化营商环境专题协商会》（2027-03-10（周三）14:30）"""
        when = f"（{when_text(self.event)}）" if self.event else ""
        return f"《{self.title}》{when}"


def _notice_title(notice: NoticeRecord) -> str:
    first = notice.text.strip().split("\n")[0]
    return first if len(first) <= 30 else first[:30] + "…"


def meeting_of(storage: Storage, token: str, config: MeetingConfig | None = None) -> Meeting:
    """The meeting a token names; MeetingError when it is gone, cancelled or not a meeting."""
    config = config or default_config()
    number = read_number(token[1:]) if token[:1] in ("e", "n") else None
    if number is None:
        raise MeetingError("这个按钮已失效。")
    if token[0] == "n":
        notice = storage.notice(number)
        if notice is None or notice.kind != "meeting" or notice.status in ("draft", "discarded"):
            raise MeetingError("这个按钮已失效。")
        event = storage.event_of_notice(number)
        if event is None:
            if notice.status == "cancelled":
                raise MeetingError("这条会议通知已取消。")
            return Meeting(token, _notice_title(notice), None, notice)
    else:
        event = storage.event(number)
        if event is None:
            raise MeetingError(f"没有编号为 {number} 的活动。")
    if event.status == "cancelled":
        raise MeetingError(f"活动《{event.title}》已取消，无需回复或签到。")
    if not config.is_meeting(event.kind):
        raise MeetingError(f"“{event.kind}”不是会议，无需回复或签到。")
    notice = storage.notice(event.notice_id) if event.notice_id else None
    return Meeting(f"e{event.id}", event.title, event, notice)


def person_key(storage: Storage, telegram_id: int) -> str:
    """The key a Telegram account has in audiences: "member:3", "unit_contact:4", "secretary:<id>"."""
    binding = storage.binding(telegram_id)
    if binding is None:
        return f"secretary:{telegram_id}"
    return f"{binding.person_kind}:{binding.person_id}"


def invitees(storage: Storage, meeting: Meeting, admin_ids: frozenset[int] = frozenset()) -> list[Recipient]:
    """Everyone the meeting is for (bound or not)."""
    if meeting.notice is not None:
        return [
            Recipient(r.person_kind, r.person_id, r.name, r.chat_id)
            for r in storage.notice_recipients(meeting.notice.id)
        ]
    return resolve(storage, Audience.from_json(meeting.event.audience), admin_ids=admin_ids)


def invitee(
    storage: Storage, meeting: Meeting, telegram_id: int, admin_ids: frozenset[int] = frozenset()
) -> Recipient | None:
    """The caller as an invitee of the meeting (with their current chat), or None."""
    key = person_key(storage, telegram_id)
    if meeting.notice is not None:
        found = storage.notice_recipient_by_key(meeting.notice.id, key)
        if found is None and key.startswith("secretary:"):
            found = storage.notice_recipient_by_chat(meeting.notice.id, telegram_id)
        if found is None:
            return None
        return Recipient(found.person_kind, found.person_id, found.name, telegram_id)
    found = includes(storage, Audience.from_json(meeting.event.audience), key, admin_ids=admin_ids)
    return Recipient(found.kind, found.person_id, found.name, telegram_id) if found else None


def secretaries(storage: Storage, admin_ids: frozenset[int]) -> list[int]:
    return sorted(set(admin_ids) | {admin.telegram_id for admin in storage.admins()})


def tell_secretaries(
    storage: Storage,
    admin_ids: frozenset[int],
    source_kind: str,
    source_id: str,
    text: str,
    now: datetime,
    buttons: list[list[Button]] | None = None,
) -> int:
    """Queue one message to every secretary's private chat (once per source)."""
    messages = [Outgoing(f"secretary:{chat}", chat, text, buttons or []) for chat in secretaries(storage, admin_ids)]
    return enqueue(storage, source_kind=source_kind, source_id=source_id, messages=messages, now=now)


def tell_person(storage: Storage, reply: MeetingReplyRow, source_id: str, text: str, now: datetime) -> int:
    """Queue one message to the person who replied (their chat now, or at the time of the reply)."""
    chat = chat_of(storage, reply.recipient_key) or reply.chat_id
    if chat is None:
        return 0
    return enqueue(
        storage,
        source_kind=LEAVE_SOURCE,
        source_id=source_id,
        messages=[Outgoing(reply.recipient_key, chat, text)],
        now=now,
    )


def chat_of(storage: Storage, key: str) -> int | None:
    """The person's Telegram chat now (None: not bound)."""
    kind, _, number = key.partition(":")
    if kind == "secretary":
        return int(number)
    binding = storage.binding_of_person(kind, int(number))
    return binding.telegram_id if binding else None


# ---- what the invitee sees ----------------------------------------------------------------------


def status_line(reply: MeetingReplyRow | None, tz: ZoneInfo, now: datetime) -> str:
    if reply is None:
        return ""
    when = format_time(datetime.fromisoformat(reply.answered_at).astimezone(tz), now)
    if reply.response == "attend":
        return f"✅ 已回复：参加（{when}）"
    reason = f"，原因：{reply.reason}" if reply.reason else ""
    return f"📝 已回复：请假（{when}{reason}）· {LEAVE_LABELS[reply.leave_status or 'pending']}"


def meeting_text(meeting: Meeting) -> str:
    """The meeting as its invitees see it (the notice's text, or the event's lines)."""
    event = meeting.event
    if meeting.notice is not None:  # an event's notice reads as the event is now (it may have changed)
        text = describe(event, with_id=False) if event is not None else meeting.notice.text
        return notice_message(text, meeting.notice.kind, notice_config())
    lines = [f"📅【{event.kind}】{event.title}", f"时间：{when_text(event)}"]
    if event.place:
        lines.append(f"地点：{event.place}")
    if event.notes:
        lines.append(f"备注：{event.notes}")
    lines.append("请点击“参加”或“请假”回复。")
    return "\n".join(lines)


def reply_buttons(meeting: Meeting, reply: MeetingReplyRow | None) -> list[list[Button]]:
    """参加 / 请假 (whichever is not the current answer), 撤回请假, 加入手机日历."""
    row = []
    if reply is None or reply.response != "attend":
        row.append(Button("参加", f"m:a:{meeting.token}"))
    if reply is None or reply.response != "leave":
        row.append(Button("请假", f"m:l:{meeting.token}"))
    if reply is not None and reply.response == "leave":
        row.append(Button("撤回请假", f"m:w:{meeting.token}"))
    rows = [row]
    if meeting.event is not None:
        rows.append([Button("加入手机日历", f"e:i:{meeting.event.id}")])
    return rows


def invitation(meeting: Meeting, reply: MeetingReplyRow | None, tz: ZoneInfo, now: datetime) -> tuple[str, list]:
    """The invitee's message as it should now read, and its buttons."""
    status = status_line(reply, tz, now)
    text = meeting_text(meeting) + (f"\n\n{status}" if status else "")
    return text, reply_buttons(meeting, reply)
