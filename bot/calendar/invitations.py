"""Messages that invite replies: the meeting notice sent with an event, 提醒未回复, [签到] when
the sign-in window opens, and the word to invitees when a meeting is changed or cancelled. All
go through the outbox, keyed so that a repeat adds nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.calendar.attendance import roll
from bot.calendar.events import EventError, cancel_event, change_event, describe, ends_at, starts_at, when_text
from bot.calendar.meeting_config import MeetingConfig, default_config
from bot.calendar.meetings import Meeting, MeetingError, chat_of, invitation, invitees, meeting_of, person_key
from bot.calendar.signin import SIGNIN_SOURCE
from bot.notices import NoticeError, compose, confirm
from bot.notices.outbox import Outgoing, enqueue
from bot.people.roles import Caller, authorize
from bot.plan.model import Plan
from bot.reply import Button
from bot.storage import Storage
from bot.storage.calendar import EventRow

NUDGE_SOURCE = "meeting_nudge"  # source id "<token>@<minute>": one nudge a minute at most
CHANGE_SOURCE = "meeting_change"  # source id "<event id>#<sequence>": once per change
TOLD_FIELDS = {"kind": "类型", "title": "名称", "place": "地点"}  # with the time: what invitees are told of


def send_with_notice(
    storage: Storage,
    caller: Caller,
    event_id: int,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
) -> int:
    """同时发送会议通知: a meeting notice to the event's audience, linked to the event (one
    transaction); its 参加/请假 buttons are the event's. Returns the notice id."""
    authorize(storage, caller, "manage_events")
    event = storage.event(event_id)
    if event is None or event.status != "scheduled":
        raise EventError(f"没有编号为 {event_id} 的活动。")
    if event.notice_id:
        raise EventError(f"活动（编号 {event_id}）已经发送过会议通知（通知 #{event.notice_id}）。")
    text = describe(event, with_id=False)
    try:
        with storage.atomic():
            preview = compose(
                storage, caller, event.audience, text, now=now, kind="meeting", admin_ids=admin_ids, plan=plan
            )
            storage.update_event(event_id, {"notice_id": preview.notice.id})
            confirm(storage, caller, preview.notice.id, now=now)
    except NoticeError as exc:
        raise EventError(exc.message) from exc
    return preview.notice.id


def remind_unreplied(
    storage: Storage,
    caller: Caller,
    token: str,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> int:
    """提醒未回复: the meeting message again, to invitees with a chat who have not replied."""
    authorize(storage, caller, "manage_events")
    meeting = meeting_of(storage, token, config)
    starts = meeting.starts(storage.tz)
    if starts is not None and now >= starts:
        raise MeetingError(f"{meeting.label}已经开始，不再提醒回复。")
    targets = [r for r in roll(storage, meeting, admin_ids).unreplied if r.chat_id is not None]
    if not targets:
        raise MeetingError("能送达的参会人员都已回复，无需提醒。")
    text, buttons = invitation(meeting, None, storage.tz, now)
    text = f"【提醒】您还没有回复下面这次会议，请点击“参加”或“请假”：\n\n{text}"
    queued = enqueue(
        storage,
        source_kind=NUDGE_SOURCE,
        source_id=f"{token}@{now:%Y%m%d%H%M}",
        messages=[Outgoing(r.key, r.chat_id, text, buttons) for r in targets],
        now=now,
    )
    if not queued:
        raise MeetingError("刚刚已经提醒过了，请稍后再试。")
    storage.audit(caller.telegram_id, "meeting_nudge", {"meeting": meeting.ref, "recipients": queued}, now)
    return queued


def push_signin(
    storage: Storage, *, now: datetime, admin_ids: frozenset[int] = frozenset(), config: MeetingConfig | None = None
) -> int:
    """When an event's sign-in window opens, those who replied 参加 get one message with [签到]."""
    config = config or default_config()
    queued = 0
    horizon = now + config.signin_opens
    for event in storage.events_between(now.date() - timedelta(days=1), horizon.date() + timedelta(days=1)):
        if not config.is_meeting(event.kind) or event.closed_at:
            continue
        start, end = starts_at(event, storage.tz), ends_at(event, storage.tz)
        if not (start - config.signin_opens <= now < end):
            continue
        meeting = meeting_of(storage, f"e{event.id}", config)
        signed = storage.attendance(event.id)
        messages = []
        for reply in storage.meeting_replies(meeting.ref):
            if reply.response != "attend" or reply.recipient_key in signed or reply.chat_id is None:
                continue
            if person_key(storage, reply.chat_id) != reply.recipient_key:
                continue  # the account was unbound or moved since
            text = f"{meeting.label}即将开始（或正在进行），请到场后点击“签到”。"
            if event.signin_code:
                text += "本次会议需要签到码，请留意会场公布的签到码。"
            messages.append(Outgoing(reply.recipient_key, reply.chat_id, text, [[Button("签到", f"m:s:e{event.id}")]]))
        if messages:
            source = f"{event.id}@{start.isoformat()}"  # a meeting moved after its prompt gets a new one
            queued += enqueue(storage, source_kind=SIGNIN_SOURCE, source_id=source, messages=messages, now=now)
    return queued


# ---- a meeting changed or cancelled -------------------------------------------------------------


def _changes(before: EventRow, after: EventRow) -> list[str]:
    """“时间：… → …” lines for what invitees need to know (notes and audience are not told)."""
    lines = []
    if when_text(before) != when_text(after):
        lines.append(f"时间：{when_text(before)} → {when_text(after)}")
    for field, label in TOLD_FIELDS.items():
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            lines.append(f"{label}：{old or '（无）'} → {new or '（无）'}")
    return lines


def tell_change(
    storage: Storage,
    before: EventRow,
    after: EventRow,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> int:
    """Tell everyone invited to a meeting (who can be reached) that it moved, was renamed or
    relocated, or was cancelled: once per change (keyed by the event's sequence), the meeting as
    it now reads with their reply and the buttons still useful. Returns how many were queued."""
    config = config or default_config()
    if not config.is_meeting(before.kind) or before.status == "cancelled":
        return 0
    cancelled = after.status == "cancelled"
    lines = [] if cancelled else _changes(before, after)
    if not cancelled and not lines:
        return 0
    notice = storage.notice(before.notice_id) if before.notice_id else None
    people = invitees(storage, Meeting(f"e{before.id}", before.title, before, notice), admin_ids)
    if cancelled:
        head = f"【活动取消】《{before.title}》（{when_text(before)}）已取消，无需参加。"
    else:
        head = "\n".join([f"【活动变更】《{before.title}》有变动：", *lines])
    meeting = meeting_of(storage, f"e{after.id}", config) if not cancelled and config.is_meeting(after.kind) else None
    messages = []
    for person in people:
        chat = chat_of(storage, person.key) or person.chat_id
        if chat is None:
            continue
        text, buttons = head, []
        if meeting is None and not cancelled:  # no longer a meeting: nothing to reply to
            text = f"{head}\n\n{describe(after, with_id=False)}"
        elif meeting is not None:
            body, buttons = invitation(meeting, storage.meeting_reply(meeting.ref, person.key), storage.tz, now)
            text = f"{head}\n\n{body}"
        messages.append(Outgoing(person.key, chat, text, buttons))
    return enqueue(
        storage, source_kind=CHANGE_SOURCE, source_id=f"{after.id}#{after.sequence}", messages=messages, now=now
    )


def change_and_tell(
    storage: Storage,
    caller: Caller,
    event_id: int,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    **changes,
) -> tuple[EventRow, int]:
    """Change an event and, for a meeting, tell its invitees (one transaction); (event, told).
    The meeting notice sent with the event is rewritten to match, so every later view of it
    (收到, a 提醒, the report) shows the event as it now is."""
    with storage.atomic():
        before = storage.event(event_id)
        after = change_event(storage, caller, event_id, now=now, **changes)
        if after.notice_id:
            storage.notice_transition(after.notice_id, ("sending", "done"), {"text": describe(after, with_id=False)})
        told = tell_change(storage, before, after, now=now, admin_ids=admin_ids)
    return after, told


def cancel_and_tell(
    storage: Storage, caller: Caller, event_id: int, *, now: datetime, admin_ids: frozenset[int] = frozenset()
) -> tuple[EventRow, int]:
    """Cancel an event and, for a meeting, tell its invitees (one transaction); (event, told)."""
    with storage.atomic():
        before = storage.event(event_id)
        after = cancel_event(storage, caller, event_id, now=now)
        told = tell_change(storage, before, after, now=now, admin_ids=admin_ids)
    return after, told
