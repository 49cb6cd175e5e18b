"""Telegram handlers for meetings (part of the calendar feature): 参加 / 请假 / 撤回请假 / 签到 buttons,
leave approval, the secretaries' attendance view and corrections (prefix ``m:``), and the
periodic pass that closes ended events and sends [签到] (scheduler/meetings.py).

A meeting notice's own 参加 / 请假 buttons (``n:a`` / ``n:l``) come here too (handlers/notices.py
hands them over), so a leave from a notice and from an event take the same path.

Open steps (a leave reason, a 签到码, a refusal's reason, names to mark) are kept in the database
(``meeting_steps``, one per person, 30 minutes), so a restart does not forget them; a message
filter routes the user's next private text here only while one is open; a command ends it. A
leave reason that reads like a question is answered as a question, not stored.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.calendar import attendance, invitations, replies, signin
from bot.calendar.meetings import MeetingError
from bot.calendar.replies import ReplyOutcome
from bot.calendar.signin import CodeNeeded
from bot.inbox.typed import classify
from bot.numbers import read_number
from bot.people.roles import PermissionDenied
from bot.reply import Button, Reply
from handlers.common import SERVICES_KEY, caller, is_private, services
from handlers.privacy import acknowledge
from handlers.render import edit_text, send_reply

log = logging.getLogger(__name__)

PENDING_REASON = "meetings.typed_reason"  # a typed leave's reason while the member picks the meeting
STEP_TTL = 30 * 60
STEP_GROUP = -4  # before every other handler group (proposals -3, privacy -2, guards -1)
SKIP_REASON = [[Button("不填写原因", "m:q")]]
QUESTION_MARKS = ("?", "？", "吗", "么", "什么", "怎么", "如何", "谁", "哪", "多少", "几", "是否", "能否", "可以不")


def wake_outbox(context_or_app: Any) -> None:
    """Tell the outbox sender (handlers/notices.py) to look now."""
    from handlers import notices

    sender = context_or_app.bot_data.get(notices.SENDER_KEY)
    if sender is not None:
        sender.wake()


def _await(update: Update, context: ContextTypes.DEFAULT_TYPE, what: str, **values: Any) -> None:
    services(context).storage.set_meeting_step(update.effective_user.id, what, values, time.time() + STEP_TTL)


def _state(update: Update, context: ContextTypes.DEFAULT_TYPE) -> dict:
    return services(context).storage.meeting_step(update.effective_user.id, time.time()) or {}


def _done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services(context).storage.clear_meeting_step(update.effective_user.id)


class _Awaiting(filters.MessageFilter):
    """A private message from someone with an open meeting step (kept in the database)."""

    def __init__(self, app: Application):
        super().__init__(name="meetings.awaiting")
        self.app = app

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None or not is_private(message):
            return False
        return self.app.bot_data[SERVICES_KEY].storage.meeting_step(user.id, time.time()) is not None


def _admins(context: ContextTypes.DEFAULT_TYPE) -> frozenset[int]:
    return services(context).settings.admin_ids


async def _say(message: Message, text: str, buttons: list[list[Button]] | None = None) -> None:
    """Meetings are about people (who replies, leave reasons, attendance): personal."""
    await send_reply(message, Reply(text, buttons or [], personal=True))


async def _refuse(message: Message, text: str) -> None:
    await send_reply(message, Reply(text, refusal=True))


async def edit_invitation(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int, outcome) -> None:
    """The invitee's meeting message now shows their answer and the buttons still useful."""
    await edit_text(context.bot, chat_id, message_id, outcome.message, outcome.buttons)


def looks_like_question(context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """A message the question engine should answer rather than store as a reason."""
    if any(mark in text for mark in QUESTION_MARKS):
        return True
    return services(context).engine.answer(text).intent in ("task", "unit", "numbers", "duties")


# ---- replies ----------------------------------------------------------------------------------------


async def answer_meeting(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    token: str,
    response: str,
    *,
    reason: str | None = None,
    edit: Message | None = None,
) -> ReplyOutcome | None:
    """参加 / 请假 from a button (``edit``: the pressed message) or typed; says the outcome."""
    svc = services(context)
    message = update.effective_message
    try:
        outcome = replies.reply(
            svc.storage,
            token,
            update.effective_user.id,
            response,
            now=svc.storage.now(),
            reason=reason,
            admin_ids=_admins(context),
        )
    except MeetingError as exc:
        if update.callback_query:
            await acknowledge(update.callback_query, exc.message, show_alert=True)
        else:
            await _refuse(message, exc.message)
        return None
    wake_outbox(context)
    if update.callback_query:
        await acknowledge(update.callback_query, outcome.toast)
    if edit is not None:
        await edit_invitation(context, edit.chat_id, edit.message_id, outcome)
    if update.callback_query is None:
        await _say(message, f"已为您回复{outcome.meeting.label}：{_answer_word(outcome)}\n{outcome.toast}")
    if outcome.ask_reason:
        where = {"chat_id": edit.chat_id, "message_id": edit.message_id} if edit is not None else {}
        _await(update, context, "reason", reply_id=outcome.reply.id, **where)
        await _say(
            message,
            "如需说明请假原因，请直接回复一句话（200字以内）；不需要请点“不填写原因”。",
            SKIP_REASON,
        )
    return outcome


def _answer_word(outcome: ReplyOutcome) -> str:
    if outcome.reply.response == "attend":
        return "参加"
    return "请假" + (f"（{outcome.reply.reason}）" if outcome.reply.reason else "")


async def press_notice(update: Update, context: ContextTypes.DEFAULT_TYPE, notice_id: int, response: str) -> None:
    """参加 / 请假 on a meeting notice (handed over by handlers/notices.py)."""
    query = update.callback_query
    message = query.message if isinstance(query.message, Message) else None
    if message is None or not is_private(message):
        await acknowledge(query, "这个按钮已失效。", show_alert=True)
        return
    await answer_meeting(update, context, f"n{notice_id}", response, edit=message)


async def sign_in(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    event_id: int,
    *,
    method: str = "button",
    code: str | None = None,
) -> None:
    svc = services(context)
    message = update.effective_message
    try:
        result = signin.sign_in(
            svc.storage,
            event_id,
            update.effective_user.id,
            now=svc.storage.now(),
            method=method,
            code=code,
            admin_ids=_admins(context),
        )
    except CodeNeeded as exc:
        _await(update, context, "code", event_id=event_id)
        await _say(message, exc.message, [[Button("取消", "m:q")]])
        return
    except MeetingError as exc:
        await _refuse(message, exc.message)
        return
    if _state(update, context).get("what") == "code":
        _done(update, context)
    await _say(message, result.text)


async def withdraw(
    update: Update, context: ContextTypes.DEFAULT_TYPE, token: str, *, edit: Message | None = None
) -> None:
    """撤回请假 (button or typed)."""
    svc = services(context)
    message = update.effective_message
    try:
        outcome = replies.withdraw(
            svc.storage, token, update.effective_user.id, now=svc.storage.now(), admin_ids=_admins(context)
        )
    except MeetingError as exc:
        await _refuse(message, exc.message)
        return
    wake_outbox(context)
    if edit is not None:
        await edit_invitation(context, edit.chat_id, edit.message_id, outcome)
    await _say(message, f"{outcome.toast}（{outcome.meeting.label}）")


# ---- the secretaries' side -------------------------------------------------------------------------


async def show_detail(message: Message, context: ContextTypes.DEFAULT_TYPE, update: Update, token: str) -> None:
    text, buttons = attendance.detail(
        services(context).storage, caller(update, context), token, admin_ids=_admins(context)
    )
    await _say(message, text, buttons)


async def _decide(update: Update, context: ContextTypes.DEFAULT_TYPE, reply_id: int, approve: bool, note=None) -> None:
    svc = services(context)
    decision = replies.decide(svc.storage, caller(update, context), reply_id, approve, now=svc.storage.now(), note=note)
    wake_outbox(context)
    await _say(update.effective_message, decision.text)


async def _drop_buttons(message: Message) -> None:
    """A decided leave request keeps its text but loses [同意] [不同意]."""
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(reply_markup=None)


async def _mark(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str, present: bool) -> None:
    svc = services(context)
    token, _, key = rest.partition(":")
    number = read_number(token[1:]) if token.startswith("e") else None
    if number is None or ":" not in key:
        await _refuse(update.effective_message, "这个按钮已失效。")
        return
    who = caller(update, context)
    text = signin.mark(svc.storage, who, number, key, present, now=svc.storage.now(), admin_ids=_admins(context))
    await _say(update.effective_message, text)


async def _code(update: Update, context: ContextTypes.DEFAULT_TYPE, token: str, on: bool) -> None:
    svc = services(context)
    number = read_number(token[1:]) if token.startswith("e") else None
    if number is None:
        await _refuse(update.effective_message, "签到码只能为活动设置。")
        return
    code = signin.set_code(svc.storage, caller(update, context), number, now=svc.storage.now(), on=on)
    text = f"已设置签到码：{code}（请在会场公布；签到时需输入）。" if code else "已关闭签到码，点“签到”即可签到。"
    await _say(update.effective_message, text)


# ---- routing ----------------------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every ``m:`` button."""
    query = update.callback_query
    message = query.message if isinstance(query.message, Message) else None
    parts = (query.data or "").split(":", 2)
    verb, rest = parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""
    if message is None:
        await acknowledge(query)
        return
    if not is_private(message):  # meetings are about people: answered in the private chat only
        await acknowledge(query, "请在与我的私聊中操作。", show_alert=True)
        return
    if verb in ("a", "l"):
        pending = context.user_data.pop(PENDING_REASON, None) if verb == "l" else None
        reason = pending["reason"] if pending and time.monotonic() < pending["until"] else None
        await answer_meeting(update, context, rest, "attend" if verb == "a" else "leave", reason=reason, edit=message)
        return
    await acknowledge(query)
    svc = services(context)
    now = svc.storage.now()
    number = read_number(rest)
    try:
        if verb == "q":
            state = _state(update, context)
            _done(update, context)
            await _say(message, "好的，不填写原因。" if state.get("what") == "reason" else "已取消。")
        elif verb == "w":
            await withdraw(update, context, rest, edit=message)
        elif verb == "s":
            event_id = read_number(rest[1:]) if rest.startswith("e") else None
            if event_id is None:
                await _refuse(message, "这个按钮已失效。")
            else:
                await sign_in(update, context, event_id)
        elif verb == "y" and number is not None:
            await _decide(update, context, number, True)
            await _drop_buttons(message)
        elif verb == "n" and number is not None:
            replies.check_pending(svc.storage, caller(update, context), number)
            _await(update, context, "refuse", reply_id=number)
            await _say(
                message, "请发送不同意的理由（会转告本人），或点“不写理由”。", [[Button("不写理由", f"m:nx:{number}")]]
            )
        elif verb == "nx" and number is not None:
            _done(update, context)
            await _decide(update, context, number, False)
        elif verb == "v":
            await show_detail(message, context, update, rest)
        elif verb == "u":
            queued = invitations.remind_unreplied(
                svc.storage, caller(update, context), rest, now=now, admin_ids=_admins(context)
            )
            wake_outbox(context)
            await _say(message, f"已再次提醒 {queued} 位未回复的人员。")
        elif verb == "k":
            rows = attendance.marking_buttons(svc.storage, caller(update, context), rest, _admins(context))
            _await(update, context, "mark", token=rest)
            shown = f"（只列出前 {len(rows)} 人）" if len(rows) >= attendance.MARKING_BUTTONS else ""
            text = (
                f"点姓名补登签到（没有手机的人员），或撤销误签{shown}；也可以直接发送姓名，"
                "多个用“、”分隔，撤销写“撤销 姓名”："
            )
            await _say(message, text, rows)
        elif verb in ("p", "r"):
            await _mark(update, context, rest, verb == "p")
        elif verb in ("c0", "c1"):
            await _code(update, context, rest, verb == "c1")
        else:
            await _refuse(message, "这个按钮已失效。")
    except (MeetingError, PermissionDenied) as exc:
        await _refuse(message, exc.message)


async def awaited_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next private text of a user with an open step (see _Awaiting)."""
    message = update.effective_message
    state = _state(update, context)
    text = (message.text or "").strip()
    svc = services(context)
    now = svc.storage.now()
    if text == "取消":
        _done(update, context)
        await _say(message, "已取消。")
        return
    try:
        if state.get("what") == "reason":
            typed = classify(text)
            if typed is not None and typed.intent != "leave":  # 收到 / 参加 / 签到 / 撤回请假: not a reason
                from handlers import inbox  # late: handlers/inbox builds on this module

                _done(update, context)
                if not await inbox.typed_reply(update, context):  # nothing open: an ordinary message
                    await send_reply(message, svc.dialogue.ask(text))
                return
            if looks_like_question(context, text):
                reply = svc.dialogue.ask(text)
                await send_reply(message, reply)
                await _say(message, "（如需补充请假原因，请直接发送原因；不需要请点“不填写原因”。）", SKIP_REASON)
                return
            outcome = replies.set_reason(
                svc.storage, state["reply_id"], update.effective_user.id, text, now=now, admin_ids=_admins(context)
            )
            _done(update, context)
            wake_outbox(context)
            if "message_id" in state:
                await edit_invitation(context, state["chat_id"], state["message_id"], outcome)
            await _say(message, outcome.toast)
        elif state.get("what") == "code":
            await sign_in(update, context, state["event_id"], code=text)
        elif state.get("what") == "mark":
            _done(update, context)
            token = state["token"]
            number = read_number(token[1:]) if token.startswith("e") else None
            if number is None:
                raise MeetingError("签到只能为活动标记。")
            who = caller(update, context)
            lines = signin.mark_names(svc.storage, who, number, text, now=now, admin_ids=_admins(context))
            await _say(message, "\n".join(lines), [[Button("继续标记", f"m:k:{token}")]])
        elif state.get("what") == "refuse":
            _done(update, context)
            await _decide(update, context, state["reply_id"], False, note=text)
    except (MeetingError, PermissionDenied) as exc:
        await _refuse(message, exc.message)


async def command_ends_step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command while a step is open ends the step (the command then runs as usual), so text
    typed after another flow is never taken as a forgotten leave reason."""
    _done(update, context)


def register(app: Application) -> None:
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(CallbackQueryHandler(button, pattern=r"^m:"))
    app.add_handler(MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND & _Awaiting(app), awaited_text))
    app.add_handler(
        MessageHandler(new_messages & filters.COMMAND & _Awaiting(app), command_ends_step), group=STEP_GROUP
    )
