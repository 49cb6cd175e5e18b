"""Telegram handlers for the inbox: ``/inbox`` (我的通知), its ``i:`` buttons, and typed replies.

:func:`typed_reply` is called first by handlers/answers.text_message: “收到 / 好的 / 准时参加 /
我请假，孩子生病 / 签到 / 撤回请假” in a private chat becomes the reply to the latest open notice
or meeting (said back: “已为您回复《…》：收到”; a 收到 after the newest notice was already answered:
“您已回复《…》：参加”); it returns False for anything else, which the question engine then
answers (also “收到” when no notice came in the last 3 days).
"""

from __future__ import annotations

import time
from datetime import timedelta

from telegram import BotCommand, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.calendar.meetings import MeetingError
from bot.inbox.actions import answered, confirm_notice, notice_view
from bot.inbox.items import inbox, latest_notice, matching, open_meetings, signing_meetings
from bot.inbox.typed import Typed, classify
from bot.numbers import read_number
from bot.reply import Button, Reply
from handlers import meetings
from handlers.common import caller, is_private, permitted, services
from handlers.privacy import acknowledge
from handlers.render import send_reply

COMMANDS = [BotCommand("inbox", "我的通知：收到的通知和会议")]
SECRETARY_COMMANDS: list[BotCommand] = []
RECEIVED_WITHIN = timedelta(days=3)  # a typed 收到 answers a notice this recent
PENDING_REASON = meetings.PENDING_REASON


async def _say(message: Message, text: str, buttons: list[list[Button]] | None = None) -> None:
    await send_reply(message, Reply(text, buttons or [], personal=True))


# ---- /inbox -------------------------------------------------------------------------------------------


async def inbox_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    who = caller(update, context)
    if not await permitted(message, context, who, "view_events"):
        return
    svc = services(context)
    lines = inbox(svc.storage, who.telegram_id, now=svc.storage.now(), admin_ids=svc.settings.admin_ids)
    if not lines:
        await _say(message, "您还没有收到通知或会议安排。")
        return
    unread = sum(1 for line in lines if line.unread)
    head = f"我的通知（最近 {len(lines)} 条" + (f"，🔵 未读或未回复 {unread} 条）：" if unread else "）：")
    await _say(message, "\n".join([head, *(line.text for line in lines)]), [[line.button] for line in lines[:10]])


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``i:ls`` the inbox, ``i:n:<id>`` a notice again with its buttons, ``i:r:<id>`` 收到."""
    query = update.callback_query
    await acknowledge(query)
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    svc = services(context)
    verb, _, value = (query.data or "").removeprefix("i:").partition(":")
    number = read_number(value)
    try:
        if verb == "ls":
            await inbox_command(update, context)
        elif verb == "n" and number is not None:
            view = notice_view(svc.storage, update.effective_user.id, number, now=svc.storage.now())
            await _say(message, view.text, view.buttons)
        elif verb == "r" and number is not None:
            title, new = confirm_notice(svc.storage, update.effective_user.id, number, now=svc.storage.now())
            await _say(message, f"已确认收到《{title}》。" if new else "您已经确认过了。")
        else:
            await send_reply(message, Reply("这个按钮已失效。发送 /inbox 查看您的通知。", refusal=True))
    except MeetingError as exc:
        await send_reply(message, Reply(exc.message, refusal=True))


# ---- typed replies ------------------------------------------------------------------------------------


async def typed_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Handle a typed reply to a notice or meeting; False when the text is something else."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not is_private(message) or not message.text:
        return False
    typed = classify(message.text)
    if typed is None:
        return False
    svc = services(context)
    if caller(update, context).role == "guest":
        return False
    now = svc.storage.now()
    if typed.intent == "received":
        latest = latest_notice(svc.storage, user.id, now=now, within=RECEIVED_WITHIN)
        if latest is None:
            return False
        notice_id, confirmed = latest
        if confirmed:  # already answered (收到, or 参加 / 请假 on a meeting notice): say so
            await _say(message, answered(svc.storage, user.id, notice_id))
            return True
        title, _ = confirm_notice(svc.storage, user.id, notice_id, now=now)
        await _say(message, f"已为您回复《{title}》：收到")
        return True
    if typed.intent in ("attend", "leave"):
        return await _attend_or_leave(update, context, typed)
    if typed.intent == "signin":
        return await _sign_in(update, context, typed)
    return await _withdraw(update, context)


async def _attend_or_leave(update: Update, context: ContextTypes.DEFAULT_TYPE, typed: Typed) -> bool:
    svc = services(context)
    message = update.effective_message
    now = svc.storage.now()
    items = open_meetings(svc.storage, update.effective_user.id, now=now, admin_ids=svc.settings.admin_ids)
    if not items:
        if typed.intent == "attend":
            return False
        await _say(message, "您目前没有可以请假的会议（已开始或已结束的会议不能请假；如有特殊情况请直接联系政协办）。")
        return True
    named = typed.day is not None or typed.relative_day is not None or typed.kind is not None
    chosen = matching(items, day=typed.day, relative_day=typed.relative_day, kind=typed.kind, now=now)
    if named and not chosen:
        await _say(message, "没有找到您说的那次会议。您可以请假的会议：", _choices(items, typed.intent))
        return True
    if typed.intent == "leave":  # a meeting already on leave only when nothing else is left (a reason for it)
        chosen = [item for item in chosen if item.answered != "leave"] or chosen
    if typed.intent == "attend" or len(chosen) == 1:
        await meetings.answer_meeting(update, context, chosen[0].meeting.token, typed.intent, reason=typed.reason)
        return True
    if typed.reason:
        context.user_data[PENDING_REASON] = {"reason": typed.reason, "until": time.monotonic() + meetings.STEP_TTL}
    await _say(message, "您有几次会议可以请假，请选择要请假的那一次：", _choices(chosen, "leave"))
    return True


def _choices(items, intent: str) -> list[list[Button]]:
    verb = "l" if intent == "leave" else "a"
    word = "请假" if intent == "leave" else "参加"
    return [[Button(f"{word}：{item.meeting.title[:20]}", f"m:{verb}:{item.meeting.token}")] for item in items[:8]]


async def _sign_in(update: Update, context: ContextTypes.DEFAULT_TYPE, typed: Typed) -> bool:
    svc = services(context)
    message = update.effective_message
    items = signing_meetings(
        svc.storage, update.effective_user.id, now=svc.storage.now(), admin_ids=svc.settings.admin_ids
    )
    if not items:
        await _say(message, "目前没有正在签到的会议（会议开始前 30 分钟至结束之间可以签到）。")
        return True
    if len(items) > 1:
        rows = [[Button(f"签到：{i.meeting.title[:20]}", f"m:s:{i.meeting.token}")] for i in items[:8]]
        await _say(message, "请选择要签到的会议：", rows)
        return True
    await meetings.sign_in(update, context, items[0].meeting.event.id, method="typed", code=typed.code)
    return True


async def _withdraw(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    svc = services(context)
    message = update.effective_message
    items = open_meetings(
        svc.storage, update.effective_user.id, now=svc.storage.now(), admin_ids=svc.settings.admin_ids
    )
    leaves = [item for item in items if item.answered == "leave"]
    if not leaves:
        await _say(message, "您没有可以撤回的请假。")
        return True
    await meetings.withdraw(update, context, leaves[0].meeting.token)
    return True


# ---- start-up and registration ------------------------------------------------------------------------


async def startup(app: Application) -> None:
    """Nothing to start: the unread-after-binding message is part of the meetings pass."""


async def shutdown(app: Application) -> None:
    """Nothing to stop."""


def register(app: Application) -> None:
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("inbox", inbox_command, filters=new_messages))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^i:"))
