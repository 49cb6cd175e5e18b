"""签到: invitees sign in from ``signin_opens`` before the start until the end (optionally with the
签到码 the secretary shows in the room); secretaries mark or correct attendance, audited.

A sign-in is one row per (event, person): a second sign-in changes nothing. When a secretary
corrects attendance after the event has closed, the duty record follows in the same
transaction (added, or removed with ``storage.unlink_records``); a year that has ended is
closed to corrections.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.calendar.events import ends_at, starts_at
from bot.calendar.meeting_config import MeetingConfig, default_config
from bot.calendar.meetings import Meeting, MeetingError, invitee, invitees, meeting_of
from bot.notices.audience import Recipient
from bot.notices.config import format_time
from bot.people.roles import Caller, authorize
from bot.storage import Storage, actor_label, stamp
from bot.storage.calendar import EventRow

SIGNIN_SOURCE = "signin"  # outbox: the [签到] message when the window opens (source id: "<event id>@<start>")


class CodeNeeded(MeetingError):
    """The event has a 签到码 and none (or a wrong one) was given."""


@dataclass(frozen=True)
class SignIn:
    meeting: Meeting
    name: str
    new: bool
    text: str


def window(event: EventRow, tz, config: MeetingConfig) -> tuple[datetime, datetime]:
    """When sign-in is open: [start − signin_opens, end]."""
    return starts_at(event, tz) - config.signin_opens, ends_at(event, tz)


def _check_window(meeting: Meeting, now: datetime, tz, config: MeetingConfig) -> None:
    opens, closes = window(meeting.event, tz, config)
    if now < opens:
        raise MeetingError(f"{meeting.label}的签到尚未开始，{format_time(opens, now)} 起可以签到。")
    if now > closes:
        raise MeetingError(f"{meeting.label}已经结束，不能再签到。如确实参加了，请联系政协办秘书补登。")


def _event_meeting(storage: Storage, event_id: int, config: MeetingConfig) -> Meeting:
    return meeting_of(storage, f"e{event_id}", config)


def member_id_of(recipient: Recipient) -> int | None:
    return recipient.person_id if recipient.kind == "member" else None


def record_fields(event: EventRow, member_id: int, record_kind: str, now: datetime) -> dict:
    """The duty record an attended event becomes (linked to the event, so it counts once)."""
    return {
        "member_id": member_id,
        "kind": record_kind,
        "title": event.title,
        "date": event.start_date,
        "created_by": "system",
        "created_at": stamp(now),
        "source": "event",
        "ref": f"event:{event.id}",
    }


def sign_in(
    storage: Storage,
    event_id: int,
    telegram_id: int,
    *,
    now: datetime,
    method: str = "button",
    code: str | None = None,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> SignIn:
    """An invitee signs in (button, typed 签到, or with the code)."""
    config = config or default_config()
    meeting = _event_meeting(storage, event_id, config)
    event = meeting.event
    person = invitee(storage, meeting, telegram_id, admin_ids)
    if person is None:
        raise MeetingError(f"您不在{meeting.label}的参会范围内，无需签到。")
    _check_window(meeting, now, storage.tz, config)
    earlier = storage.attendance_of(event_id, person.key)
    if earlier is not None:
        when = format_time(datetime.fromisoformat(earlier.signed_at).astimezone(storage.tz), now)
        return SignIn(meeting, person.name, False, f"您已经签到过了（{when}）。")
    if event.signin_code:
        if code is None:
            raise CodeNeeded(f"{meeting.label}需要签到码，请输入会场公布的签到码：")
        if code.strip() != event.signin_code:
            raise CodeNeeded("签到码不正确，请核对会场公布的签到码后重新输入：")
        method = "code"
    with storage.atomic():
        new = storage.sign_in(
            {
                "event_id": event_id,
                "recipient_key": person.key,
                "name": person.name,
                "member_id": member_id_of(person),
                "signed_at": stamp(now),
                "method": method,
                "marked_by": actor_label(telegram_id),
            }
        )
        _follow_closed(storage, event, person, True, now, config)
    return SignIn(meeting, person.name, new, f"签到成功：{meeting.label}。谢谢！" if new else "您已经签到过了。")


def _follow_closed(
    storage: Storage, event: EventRow, person: Recipient, present: bool, now: datetime, config: MeetingConfig
) -> None:
    """After the event closed, a correction moves the duty record and the outcome with it."""
    member = member_id_of(person)
    if not event.closed_at or member is None:
        return
    ref = f"event:{event.id}"
    record_kind = config.record_kinds.get(event.kind)
    if present:
        if record_kind:
            storage.link_record(record_fields(event, member, record_kind, now))
        storage.set_outcome(event.id, member, "attended")
    else:
        storage.unlink_records(ref, member)
        on_leave = storage.meeting_reply(ref, person.key)
        approved = on_leave is not None and on_leave.response == "leave" and on_leave.leave_status == "approved"
        storage.set_outcome(event.id, member, "leave" if approved else "absent")


def mark(
    storage: Storage,
    caller: Caller,
    event_id: int,
    recipient_key: str,
    present: bool,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> str:
    """A secretary marks someone present (no phone) or corrects a sign-in; audited."""
    authorize(storage, caller, "manage_events")
    config = config or default_config()
    meeting = _event_meeting(storage, event_id, config)
    event = meeting.event
    if event.start_date.year < now.year:
        raise MeetingError(f"{event.start_date.year}年度已经结束，不能再更正该年的出勤。")
    opens, _ = window(event, storage.tz, config)
    if now < opens:
        raise MeetingError(f"{meeting.label}的签到尚未开始，不能标记出勤。")
    person = next((r for r in invitees(storage, meeting, admin_ids) if r.key == recipient_key), None)
    if person is None:
        raise MeetingError("此人不在这次会议的参会范围内。")
    with storage.atomic():
        if present:
            changed = storage.sign_in(
                {
                    "event_id": event_id,
                    "recipient_key": person.key,
                    "name": person.name,
                    "member_id": member_id_of(person),
                    "signed_at": stamp(now),
                    "method": "secretary",
                    "marked_by": actor_label(caller.telegram_id),
                }
            )
        else:
            changed = storage.unsign(event_id, person.key)
        if not changed:
            return f"{person.name} {'已经签到' if present else '本来就没有签到'}，无需更改。"
        _follow_closed(storage, event, person, present, now, config)
        storage.audit(
            caller.telegram_id,
            "attendance_mark" if present else "attendance_unmark",
            {"event_id": event_id, "person": person.key, "name": person.name},
            now,
        )
    return f"已{'补登' if present else '撤销'} {person.name} 的签到：{meeting.label}。"


_NAME_SEPARATORS = re.compile(r"[、,，;；/\s]+")


def mark_names(
    storage: Storage,
    caller: Caller,
    event_id: int,
    text: str,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> list[str]:
    """Names typed by a secretary (“张三、李四”; “撤销 张三” to undo a sign-in): each one marked
    as :func:`mark` does; one line per name (also for a name that is not invited or not unique)."""
    authorize(storage, caller, "manage_events")
    config = config or default_config()
    present = not text.strip().startswith("撤销")
    names = [n for n in _NAME_SEPARATORS.split(text.strip().removeprefix("撤销")) if n]
    if not names:
        raise MeetingError("请发送姓名，多个姓名用“、”分隔；撤销签到请写“撤销 姓名”。")
    people = invitees(storage, _event_meeting(storage, event_id, config), admin_ids)
    lines = []
    for name in dict.fromkeys(names):
        found = [r for r in people if r.name == name]
        if len(found) != 1:
            problem = "不在这次会议的参会范围内" if not found else "参会人员中有重名，请在名单中点选"
            lines.append(f"{name}：{problem}。")
            continue
        lines.append(
            mark(storage, caller, event_id, found[0].key, present, now=now, admin_ids=admin_ids, config=config)
        )
    return lines


def set_code(
    storage: Storage, caller: Caller, event_id: int, *, now: datetime, on: bool, config: MeetingConfig | None = None
) -> str | None:
    """Turn the 签到码 of an event on (a new random code) or off; the code, or None."""
    authorize(storage, caller, "manage_events")
    config = config or default_config()
    _event_meeting(storage, event_id, config)
    code = "".join(secrets.choice("0123456789") for _ in range(config.signin_code_length)) if on else None
    with storage.atomic():
        storage.update_event(event_id, {"signin_code": code})
        storage.audit(caller.telegram_id, "signin_code", {"event_id": event_id, "on": on}, now)
    return code
