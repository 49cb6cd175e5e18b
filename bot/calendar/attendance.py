"""When an event ends, attendance becomes duty records; the secretaries' view of a meeting.

Closing is one transaction and happens once (``events.closed_at``): each signed-in member gets
one record of the kind knowledge/attendance.json maps the event kind to, linked to the event
(``ref`` "event:<id>", so it never counts twice), and every invited member gets an outcome
(attended / on approved leave / absent) for the duty statistics. The secretaries get the list
of those absent without approved leave. A secretary reverses one person's record by correcting
their sign-in (bot/calendar/signin.py :func:`mark`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.calendar.events import ends_at
from bot.calendar.meeting_config import MeetingConfig, default_config
from bot.calendar.meetings import LEAVE_LABELS, Meeting, invitees, meeting_of, tell_secretaries
from bot.calendar.signin import record_fields
from bot.notices.audience import Recipient
from bot.people.duties import LABELS
from bot.people.roles import Caller, authorize
from bot.reply import Button
from bot.storage import Storage, stamp
from bot.storage.calendar import AttendanceRow, EventRow, MeetingReplyRow

CLOSE_SOURCE = "attendance"  # outbox: the summary to the secretaries when an event closes
MARKING_BUTTONS = 90  # names listed as buttons (Telegram allows about 100); others are typed


@dataclass(frozen=True)
class Roll:
    """Who is where for one meeting."""

    meeting: Meeting
    invited: list[Recipient]
    replies: dict[str, MeetingReplyRow]
    signed: dict[str, AttendanceRow]

    def replied(self, response: str) -> list[Recipient]:
        return [r for r in self.invited if r.key in self.replies and self.replies[r.key].response == response]

    @property
    def unreplied(self) -> list[Recipient]:
        return [r for r in self.invited if r.key not in self.replies]

    def on_approved_leave(self, recipient: Recipient) -> bool:
        reply = self.replies.get(recipient.key)
        return reply is not None and reply.response == "leave" and reply.leave_status == "approved"

    @property
    def absent(self) -> list[Recipient]:
        """Invited, not signed in, without approved leave."""
        return [r for r in self.invited if r.key not in self.signed and not self.on_approved_leave(r)]


def roll(storage: Storage, meeting: Meeting, admin_ids: frozenset[int] = frozenset()) -> Roll:
    signed = storage.attendance(meeting.event.id) if meeting.event else {}
    replies = {r.recipient_key: r for r in storage.meeting_replies(meeting.ref)}
    return Roll(meeting, invitees(storage, meeting, admin_ids), replies, signed)


@dataclass(frozen=True)
class Closed:
    event: EventRow
    records: int  # duty records added
    attended: list[str]
    on_leave: list[str]
    absent: list[str]


def _names(people: list[Recipient], limit: int = 60) -> str:
    names = "、".join(p.name for p in people[:limit])
    return names + (f" 等 {len(people)} 人" if len(people) > limit else "")


def close_event(
    storage: Storage,
    event: EventRow,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> Closed | None:
    """Turn an ended meeting's attendance into duty records once; None if already closed."""
    config = config or default_config()
    with storage.atomic():
        if not storage.mark_event_closed(event.id, stamp(now)):
            return None
        if not config.is_meeting(event.kind):
            return Closed(event, 0, [], [], [])
        meeting = meeting_of(storage, f"e{event.id}", config)
        present = roll(storage, meeting, admin_ids)
        record_kind = config.record_kinds[event.kind]
        added = 0
        outcomes: dict[int, str] = {}
        for person in present.invited:
            if person.kind != "member":
                continue
            if person.key in present.signed:
                outcomes[person.person_id] = "attended"
                if record_kind and storage.link_record(record_fields(event, person.person_id, record_kind, now)):
                    added += 1
            else:
                outcomes[person.person_id] = "leave" if present.on_approved_leave(person) else "absent"
        storage.save_outcomes(event.id, event.start_date, outcomes)
        attended = [r for r in present.invited if r.key in present.signed]
        leave = [r for r in present.invited if r.key not in present.signed and present.on_approved_leave(r)]
        absent = present.absent
        lines = [f"{meeting.label}已结束：签到 {len(attended)} 人，请假 {len(leave)} 人，未请假缺席 {len(absent)} 人。"]
        if record_kind:
            lines.append(f"已为签到的委员各登记 1 次“{LABELS[record_kind]}”履职记录。")
        if absent:
            lines.append(f"未请假缺席：{_names(absent)}")
        buttons = [[Button("查看出勤", f"m:v:e{event.id}")]]
        tell_secretaries(storage, admin_ids, CLOSE_SOURCE, str(event.id), "\n".join(lines), now, buttons)
        storage.audit(None, "event_closed", {"event_id": event.id, "records": added, "absent": len(absent)}, now)
    return Closed(event, added, [r.name for r in attended], [r.name for r in leave], [r.name for r in absent])


def close_ended(
    storage: Storage, *, now: datetime, admin_ids: frozenset[int] = frozenset(), config: MeetingConfig | None = None
) -> list[Closed]:
    """Close every event that has ended (the periodic pass, and the catch-up at start-up)."""
    config = config or default_config()
    closed = []
    for event in storage.events_to_close(now.date()):
        if ends_at(event, storage.tz) <= now:
            result = close_event(storage, event, now=now, admin_ids=admin_ids, config=config)
            if result is not None:
                closed.append(result)
    return closed


# ---- the secretaries' view ---------------------------------------------------------------------


def detail(
    storage: Storage, caller: Caller, token: str, *, admin_ids: frozenset[int] = frozenset()
) -> tuple[str, list[list[Button]]]:
    """参加 / 请假 (reasons, approval) / 未回复 / 已签到 / 缺席, by name, with the secretaries' buttons."""
    authorize(storage, caller, "manage_events")
    meeting = meeting_of(storage, token)
    present = roll(storage, meeting, admin_ids)

    def section(title: str, people: list[Recipient], note=None) -> str:
        shown = "、".join(p.name + (note(p) if note else "") for p in people) or "无"
        return f"{title}（{len(people)}）：{shown}"

    def leave_note(person: Recipient) -> str:
        reply = present.replies[person.key]
        reason = f"{reply.reason}，" if reply.reason else ""
        return f"（{reason}{LEAVE_LABELS[reply.leave_status or 'pending']}）"

    lines = [f"{meeting.label} 回复情况（共 {len(present.invited)} 人）"]
    lines.append(section("参加", present.replied("attend")))
    lines.append(section("请假", present.replied("leave"), leave_note))
    lines.append(section("未回复", present.unreplied))
    buttons: list[list[Button]] = []
    if present.unreplied:
        buttons.append([Button(f"提醒未回复（{len(present.unreplied)}）", f"m:u:{meeting.token}")])
    event = meeting.event
    if event is not None:
        lines.append(section("已签到", [r for r in present.invited if r.key in present.signed]))
        if event.closed_at:
            lines.append(section("未请假缺席", present.absent))
        if event.signin_code:
            lines.append(f"签到码：{event.signin_code}")
        buttons.append([Button("标记签到 / 更正", f"m:k:{meeting.token}")])
        code = ("关闭签到码", f"m:c0:{meeting.token}") if event.signin_code else ("设置签到码", f"m:c1:{meeting.token}")
        buttons.append([Button(*code)])
    buttons.append([Button("刷新", f"m:v:{meeting.token}")])
    return "\n".join(lines), buttons


def marking_buttons(storage: Storage, caller: Caller, token: str, admin_ids: frozenset[int]) -> list[list[Button]]:
    """One button per invited person: 签到：name for those not signed in, 撤销：name for those who are."""
    authorize(storage, caller, "manage_events")
    meeting = meeting_of(storage, token)
    present = roll(storage, meeting, admin_ids)
    rows = []
    for person in present.invited[:MARKING_BUTTONS]:
        signed = person.key in present.signed
        verb, label = ("r", "撤销") if signed else ("p", "签到")
        rows.append([Button(f"{label}：{person.name}", f"m:{verb}:{meeting.token}:{person.key}")])
    return rows
