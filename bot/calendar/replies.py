"""参加 / 请假 and leave approval: an invitee replies, secretaries approve or refuse, the invitee may withdraw.

Every change is one transaction: the reply, the linked notice's receipt, the audit entry and
the messages to the secretaries or the member (through the outbox, so none is lost at a
restart and none is sent twice). A leave request goes to every secretary at once with
[同意] [不同意]; the first decision counts, a later press is told who decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.calendar.meeting_config import MeetingConfig, default_config
from bot.calendar.meetings import (
    LEAVE_LABELS,
    LEAVE_SOURCE,
    Meeting,
    MeetingError,
    invitation,
    invitee,
    meeting_of,
    tell_person,
    tell_secretaries,
)
from bot.notices.config import clean_text
from bot.people.roles import Caller, authorize
from bot.reply import Button
from bot.storage import Storage, actor_label, stamp
from bot.storage.calendar import MeetingReplyRow


@dataclass(frozen=True)
class ReplyOutcome:
    meeting: Meeting
    reply: MeetingReplyRow
    toast: str  # short answer ("已登记：参加。")
    message: str  # the invitee's meeting message as it should now read
    buttons: list[list[Button]]
    changed: bool
    ask_reason: bool = False  # a leave without a reason: ask for one (with a skip button)


def _outcome(storage: Storage, meeting: Meeting, key: str, toast: str, now: datetime, **flags) -> ReplyOutcome:
    reply = storage.meeting_reply(meeting.ref, key)
    text, buttons = invitation(meeting, reply, storage.tz, now)
    return ReplyOutcome(meeting, reply, toast, text, buttons, **flags)


def clean_reason(text: str | None, config: MeetingConfig) -> str | None:
    reason = clean_text(text or "").replace("\n", " ").strip(" ，,。；;：:")
    if reason and len(reason) > config.max_reason_chars:
        raise MeetingError(f"请假原因请控制在 {config.max_reason_chars} 字以内（现在 {len(reason)} 字）。")
    return reason or None


def _not_started(meeting: Meeting, now: datetime, storage: Storage, what: str) -> None:
    starts = meeting.starts(storage.tz)
    if starts is not None and now >= starts:
        raise MeetingError(f"{meeting.label}已经开始或结束，不能再{what}。如有特殊情况请直接联系政协办。")


def _leave_request_text(meeting: Meeting, reply: MeetingReplyRow) -> str:
    return f"请假申请：{reply.name} 申请不参加{meeting.label}。\n原因：{reply.reason or '（未填写）'}\n请审批："


def _leave_buttons(reply_id: int) -> list[list[Button]]:
    return [[Button("同意", f"m:y:{reply_id}"), Button("不同意", f"m:n:{reply_id}")]]


def reply(
    storage: Storage,
    token: str,
    telegram_id: int,
    response: str,
    *,
    now: datetime,
    reason: str | None = None,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> ReplyOutcome:
    """参加 or 请假 (``response`` "attend" | "leave"), from a button or typed. The latest answer
    counts; the same answer again changes nothing. A leave goes to the secretaries at once."""
    config = config or default_config()
    if response not in ("attend", "leave"):
        raise MeetingError("这个按钮已失效。")
    meeting = meeting_of(storage, token, config)
    person = invitee(storage, meeting, telegram_id, admin_ids)
    if person is None:
        raise MeetingError(f"您不在{meeting.label}的参会范围内，无需回复。")
    _not_started(meeting, now, storage, "回复参加或请假")
    reason = clean_reason(reason, config) if response == "leave" else None
    previous = storage.meeting_reply(meeting.ref, person.key)
    if previous is not None and previous.response == response and (response == "attend" or not reason):
        return _outcome(storage, meeting, person.key, "您已经回复过了。", now, changed=False)
    if previous is not None and previous.response == "leave" and response == "leave":  # a reason for the request
        return set_reason(storage, previous.id, telegram_id, reason, now=now, admin_ids=admin_ids, config=config)
    at = stamp(now)
    with storage.atomic():
        reply_id = storage.save_meeting_reply(
            {
                "meeting": meeting.ref,
                "recipient_key": person.key,
                "name": person.name,
                "chat_id": telegram_id,
                "response": response,
                "answered_at": at,
                "reason": reason,
                "leave_status": "pending" if response == "leave" else None,
            }
        )
        if meeting.notice is not None:
            storage.receipt_answer(meeting.notice.id, person.key, response, at)
            if reason:
                storage.receipt_reason(meeting.notice.id, person.key, reason)
        saved = storage.meeting_reply_by_id(reply_id)
        if response == "leave":
            text = _leave_request_text(meeting, saved)
            tell_secretaries(
                storage, admin_ids, LEAVE_SOURCE, f"ask:{reply_id}@{at}", text, now, _leave_buttons(reply_id)
            )
        elif previous is not None and previous.response == "leave" and previous.leave_status != "rejected":
            text = f"{person.name} 撤回了对{meeting.label}的请假，将参加。"
            tell_secretaries(storage, admin_ids, LEAVE_SOURCE, f"back:{reply_id}@{at}", text, now)
        storage.audit(telegram_id, f"meeting_{response}", {"meeting": meeting.ref, "reason": reason}, now)
    if response == "attend":
        return _outcome(storage, meeting, person.key, "已登记：参加。", now, changed=True)
    toast = "已登记请假，已报政协办审批。"
    return _outcome(storage, meeting, person.key, toast, now, changed=True, ask_reason=not reason)


def set_reason(
    storage: Storage,
    reply_id: int,
    telegram_id: int,
    reason: str | None,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> ReplyOutcome:
    """The reason after 请假 (asked for separately): kept with the request, and the secretaries told."""
    config = config or default_config()
    saved = storage.meeting_reply_by_id(reply_id)
    if saved is None or saved.response != "leave" or saved.chat_id != telegram_id:
        raise MeetingError("您目前没有请假登记，无需填写原因。")
    meeting = meeting_of(storage, _token_of_ref(saved.meeting), config)
    reason = clean_reason(reason, config)
    if not reason:
        raise MeetingError("请假原因是空的，请用一句话说明，或点“不填写原因”。")
    at = stamp(now)
    with storage.atomic():
        storage.set_reply_reason(reply_id, reason)
        if meeting.notice is not None:
            storage.receipt_reason(meeting.notice.id, saved.recipient_key, reason)
        text = f"{saved.name} 补充了对{meeting.label}的请假原因：{reason}"
        buttons = _leave_buttons(reply_id) if saved.leave_status == "pending" else []
        tell_secretaries(storage, admin_ids, LEAVE_SOURCE, f"why:{reply_id}@{at}", text, now, buttons)
    return _outcome(storage, meeting, saved.recipient_key, f"已记录请假原因：{reason}", now, changed=True)


def _token_of_ref(ref: str) -> str:
    kind, _, number = ref.partition(":")
    return ("e" if kind == "event" else "n") + number


def withdraw(
    storage: Storage,
    token: str,
    telegram_id: int,
    *,
    now: datetime,
    admin_ids: frozenset[int] = frozenset(),
    config: MeetingConfig | None = None,
) -> ReplyOutcome:
    """撤回请假 before the meeting starts: the member will attend after all."""
    config = config or default_config()
    meeting = meeting_of(storage, token, config)
    person = invitee(storage, meeting, telegram_id, admin_ids)
    saved = storage.meeting_reply(meeting.ref, person.key) if person else None
    if saved is None or saved.response != "leave":
        raise MeetingError(f"您没有对{meeting.label}请假，无需撤回。")
    _not_started(meeting, now, storage, "撤回请假")
    at = stamp(now)
    with storage.atomic():
        if not storage.withdraw_leave(saved.id, at):
            raise MeetingError("这次请假已经撤回了。")
        if meeting.notice is not None:
            storage.receipt_answer(meeting.notice.id, person.key, "attend", at)
        text = f"{saved.name} 撤回了对{meeting.label}的请假，将参加。"
        tell_secretaries(storage, admin_ids, LEAVE_SOURCE, f"back:{saved.id}@{at}", text, now)
        storage.audit(telegram_id, "meeting_leave_withdrawn", {"meeting": meeting.ref}, now)
    return _outcome(storage, meeting, person.key, "已撤回请假，登记为参加。", now, changed=True)


def check_pending(storage: Storage, caller: Caller, reply_id: int) -> MeetingReplyRow:
    """The leave request behind [不同意], refused now if it is no longer pending."""
    authorize(storage, caller, "approve_leave")
    saved = storage.meeting_reply_by_id(reply_id)
    if saved is None:
        raise MeetingError("找不到这条请假申请。")
    if saved.leave_status == "withdrawn" or saved.response != "leave":
        raise MeetingError(f"{saved.name} 已撤回这次请假，无需审批。")
    if saved.leave_status in ("approved", "rejected"):
        raise MeetingError(f"这条请假已经处理过了（{LEAVE_LABELS[saved.leave_status]}），不会重复处理。")
    return saved


@dataclass(frozen=True)
class Decision:
    reply: MeetingReplyRow
    text: str  # for the secretary who decided


def decide(
    storage: Storage,
    caller: Caller,
    reply_id: int,
    approve: bool,
    *,
    now: datetime,
    note: str | None = None,
    config: MeetingConfig | None = None,
) -> Decision:
    """[同意] / [不同意] on a leave request; the member is told. A second press changes nothing."""
    config = config or default_config()
    saved = check_pending(storage, caller, reply_id)
    meeting = meeting_of(storage, _token_of_ref(saved.meeting), config)
    note = clean_reason(note, config)
    status = "approved" if approve else "rejected"
    with storage.atomic():
        if not storage.decide_leave(reply_id, status, actor_label(caller.telegram_id), stamp(now), note):
            raise MeetingError("这条请假已经处理过了，不会重复处理。")
        if approve:
            text = f"您对{meeting.label}的请假已获同意。"
        else:
            text = f"您对{meeting.label}的请假未获同意" + (f"：{note}" if note else "") + "。请按时参加。"
        tell_person(storage, saved, f"{reply_id}:decision@{stamp(now)}", text, now)
        storage.audit(caller.telegram_id, f"leave_{status}", {"meeting": meeting.ref, "reply": reply_id}, now)
    done = storage.meeting_reply_by_id(reply_id)
    verdict = "已同意" if approve else "已不同意"
    return Decision(done, f"{verdict} {saved.name} 对{meeting.label}的请假，已通知本人。")
