"""What is addressed to one person: notices and meetings, newest first, and which are still open.

* :func:`open_meetings`: meetings (events of a meeting kind, meeting notices without an event)
  the person is invited to that have not started, latest invitation first; typed 参加 / 请假 go
  to these. :func:`signing_meetings`: those whose sign-in window is open now.
* :func:`inbox`: the person's notices and meetings for ``/inbox`` (unread = a notice not yet
  confirmed, a meeting not yet answered).
* :func:`unread_after_binding`: one "您有 N 条未读通知" message to people who bound after
  notices went out to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.calendar.events import ends_at, starts_at
from bot.calendar.meeting_config import MeetingConfig, default_config
from bot.calendar.meetings import Meeting, invitee, meeting_of, person_key
from bot.calendar.signin import window
from bot.notices.outbox import Outgoing, enqueue
from bot.reply import Button
from bot.storage import Storage, stamp

RECENT = timedelta(days=30)  # meeting notices without an event stay open this long
AHEAD_DAYS = 90
UNREAD_SOURCE = "inbox_unread"
BINDINGS_SEEN = "inbox.bindings_seen"  # reminder_state key: the last binding time looked at


@dataclass(frozen=True)
class OpenMeeting:
    meeting: Meeting
    invited_at: str  # when the invitation went out (notice) or the event was created
    answered: str | None  # attend | leave | None


def _candidate_meetings(storage: Storage, now: datetime, config: MeetingConfig) -> list[Meeting]:
    found = []
    for event in storage.events_between(now.date() - timedelta(days=1), now.date() + timedelta(days=AHEAD_DAYS)):
        if config.is_meeting(event.kind) and not event.closed_at and ends_at(event, storage.tz) > now:
            found.append(meeting_of(storage, f"e{event.id}", config))
    return found


def _notice_meetings(storage: Storage, key: str, now: datetime, config: MeetingConfig) -> list[Meeting]:
    found = []
    for notice_id, _ in storage.notices_for(key, since=stamp(now - RECENT)):
        notice = storage.notice(notice_id)
        if notice.kind == "meeting" and storage.event_of_notice(notice_id) is None:
            found.append(meeting_of(storage, f"n{notice_id}", config))
    return found


def _invited(
    storage: Storage, telegram_id: int, now: datetime, admin_ids: frozenset[int], config: MeetingConfig
) -> list[OpenMeeting]:
    key = person_key(storage, telegram_id)
    replies = storage.replies_of(key)
    found = []
    for meeting in _candidate_meetings(storage, now, config) + _notice_meetings(storage, key, now, config):
        if invitee(storage, meeting, telegram_id, admin_ids) is None:
            continue
        invited_at = meeting.notice.send_at or meeting.notice.created_at if meeting.notice else meeting.event.created_at
        reply = replies.get(meeting.ref)
        found.append(OpenMeeting(meeting, invited_at, reply.response if reply else None))
    found.sort(key=lambda m: m.invited_at, reverse=True)
    return found


def open_meetings(
    storage: Storage,
    telegram_id: int,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> list[OpenMeeting]:
    """Meetings the person may still answer (not started), latest invitation first."""
    config = config or default_config()
    found = _invited(storage, telegram_id, now, admin_ids, config)
    return [m for m in found if m.meeting.event is None or starts_at(m.meeting.event, storage.tz) > now]


def signing_meetings(
    storage: Storage,
    telegram_id: int,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> list[OpenMeeting]:
    """Events the person is invited to whose sign-in window is open now."""
    config = config or default_config()
    found = []
    for item in _invited(storage, telegram_id, now, admin_ids, config):
        if item.meeting.event is None:
            continue
        opens, closes = window(item.meeting.event, storage.tz, config)
        if opens <= now <= closes:
            found.append(item)
    return found


def matching(items: list[OpenMeeting], *, day: int | None, relative_day: int | None, kind: str | None, now) -> list:
    """Narrow meetings by what the member named (18号, 明天, 协商会); unchanged when nothing was named."""
    chosen = items
    if kind:
        chosen = [m for m in chosen if m.meeting.event is not None and m.meeting.event.kind == kind]
    if day is not None:
        chosen = [m for m in chosen if m.meeting.event is not None and m.meeting.event.start_date.day == day]
    if relative_day is not None:
        target = now.date() + timedelta(days=relative_day)
        chosen = [m for m in chosen if m.meeting.event is not None and m.meeting.event.start_date == target]
    return chosen


def latest_notice(storage: Storage, telegram_id: int, *, now: datetime, within: timedelta) -> tuple[int, bool] | None:
    """(id, confirmed) of the newest notice sent to the person within ``within``, or None."""
    key = person_key(storage, telegram_id)
    for notice_id, confirmed in storage.notices_for(key, since=stamp(now - within), limit=1):
        return notice_id, confirmed
    return None


# ---- /inbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxLine:
    text: str
    unread: bool
    button: Button


def inbox(
    storage: Storage,
    telegram_id: int,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    limit: int = 15,
    config: MeetingConfig | None = None,
) -> list[InboxLine]:
    """The person's notices (and meetings announced without a notice), newest first."""
    config = config or default_config()
    key = person_key(storage, telegram_id)
    lines: list[tuple[str, InboxLine]] = []
    for notice_id, confirmed in storage.notices_for(key, limit=limit):
        notice = storage.notice(notice_id)
        title = notice.text.strip().split("\n")[0][:30]
        sent = notice.send_at or notice.created_at
        shown = datetime.fromisoformat(sent).astimezone(storage.tz)
        mark = "" if confirmed else "🔵 "
        text = f"{mark}{shown:%m-%d} 通知 #{notice_id}：{title}"
        lines.append((sent, InboxLine(text, not confirmed, Button(f"查看通知 #{notice_id}", f"i:n:{notice_id}"))))
    for item in _invited(storage, telegram_id, now, admin_ids, config):
        event = item.meeting.event
        if event is None or event.notice_id:
            continue  # a notice already stands for it
        mark = "" if item.answered else "🔵 "
        text = f"{mark}{event.start_date:%m-%d} 活动：{event.title}（{'已回复' if item.answered else '未回复'}）"
        lines.append(
            (
                event.created_at,
                InboxLine(text, not item.answered, Button(f"查看：{event.title[:16]}", f"e:v:{event.id}")),
            )
        )
    lines.sort(key=lambda pair: pair[0], reverse=True)
    return [line for _, line in lines[:limit]]


def unread_after_binding(storage: Storage, *, now: datetime) -> int:
    """People who bound since the last look and have notices they never received: one message
    each, “您有 N 条未读通知” (keyed by the binding, so a second look adds nothing). Returns how
    many were queued."""
    seen = storage.reminder_state(BINDINGS_SEEN)
    if seen is None:  # first run: only bindings from now on
        storage.set_reminder_state(BINDINGS_SEEN, stamp(now))
        return 0
    queued = 0
    latest = seen
    with storage.atomic():
        for telegram_id, kind, person_id, bound_at in storage.bindings_since(seen):
            latest = max(latest, bound_at)
            count = storage.unsent_notices_for(f"{kind}:{person_id}")
            if count:
                text = f"您有 {count} 条未读通知（在您验证身份之前发出）。发送 /inbox 查看。"
                message = Outgoing(f"{kind}:{person_id}", telegram_id, text, [[Button("我的通知", "i:ls")]])
                queued += enqueue(
                    storage,
                    source_kind=UNREAD_SOURCE,
                    source_id=f"{kind}:{person_id}@{bound_at}",
                    messages=[message],
                    now=now,
                )
        storage.set_reminder_state(BINDINGS_SEEN, latest)
    return queued
