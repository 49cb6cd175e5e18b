"""Telegram handlers for notices: /notice, /notices, preview and receipt buttons, and the
outbox sender that delivers every queued message (thin: updates → bot/ calls → messages).

The sender runs as a background task from start-up to shut-down. It sends through a second
``Bot`` object (same token, own connection pool, no PTB rate limiter): the sender paces
itself below Telegram's limits and must see a 429 itself to reschedule exactly that row
after ``retry_after``, instead of PTB's limiter pausing every reply of the bot.

Conversation state (guided /notice, 定时发送 time) lives in ``user_data`` under
one key; a message filter routes a user's next private message here only while such a
state is open, so ordinary questions keep going to the question handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from datetime import datetime
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot import notices
from bot.notices.audience import split_audience
from bot.notices.outbox import (
    Attachment,
    OutboxRow,
    Permanent,
    RateLimited,
    Sender,
    Transient,
    Uncertain,
    Unreachable,
)
from bot.numbers import read_number
from bot.people.roles import Caller, PermissionDenied
from bot.reply import Button, Reply
from bot.services import Services
from handlers import meetings
from handlers.common import SERVICES_KEY, AwaitingStep, caller, is_private, permitted, services
from handlers.privacy import acknowledge, send_file
from handlers.ratelimit import BROADCAST_ARGS, retry_after_seconds
from handlers.render import edit_text, escape, inline_markup, send_reply

log = logging.getLogger(__name__)

COMMANDS: list[BotCommand] = []  # secretaries' commands go into their own chats' menus only
SECRETARY_COMMANDS = [
    BotCommand("notice", "发送通知，例如 /notice 常委 明天九点开会"),
    BotCommand("notices", "最近的通知：送达和回执情况"),
]

SENDER_KEY = "notices.sender"
CONFIG_KEY = "notices.config"
_TASK_KEY = "notices.sender_task"
AWAIT_KEY = "notices.awaiting"  # in user_data: {"what": "compose" | "schedule", ...}
STATE_TTL = 30 * 60  # seconds an open step waits for the user's next message


# ---- the outbox sender ---------------------------------------------------------------------


def outbox_sender(app: Application) -> Sender:
    """The running sender (wake it after enqueueing: ``outbox_sender(app).wake()``)."""
    return app.bot_data[SENDER_KEY]


def _config(context_or_app: Any) -> notices.NoticeConfig:
    data = context_or_app.bot_data
    return data.get(CONFIG_KEY) or notices.default_config()


def _wake(context: ContextTypes.DEFAULT_TYPE) -> None:
    sender = context.bot_data.get(SENDER_KEY)
    if sender is not None:
        sender.wake()


class OutboxTransport:
    """Sends one outbox row through the application's bot, as a broadcast in the shared send
    budget (handlers/ratelimit.py); maps Telegram errors to bot.notices.outbox's."""

    def __init__(self, bot: ExtBot):
        self.bot = bot

    async def __call__(self, row: OutboxRow) -> int:
        markup = inline_markup(row.buttons)
        try:
            if row.attachment is None:
                sent = await self.bot.send_message(
                    row.chat_id,
                    escape(row.text),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    rate_limit_args=BROADCAST_ARGS,
                )
            else:
                method = self.bot.send_photo if row.attachment.kind == "photo" else self.bot.send_document
                sent = await method(
                    row.chat_id,
                    row.attachment.file_id,
                    caption=escape(row.text) or None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    rate_limit_args=BROADCAST_ARGS,
                )
        except RetryAfter as exc:
            raise RateLimited(retry_after_seconds(exc), exc.message) from exc
        except Forbidden as exc:
            raise Unreachable(exc.message) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower() or "deactivated" in exc.message.lower():
                raise Unreachable(exc.message) from exc
            raise Permanent(exc.message) from exc
        except TimedOut as exc:  # no answer in time: the message may have arrived
            raise Uncertain(f"TimedOut: {exc.message}") from exc
        except NetworkError as exc:  # 5xx answers, connection errors
            raise Transient(f"{type(exc).__name__}: {exc.message}") from exc
        except TelegramError as exc:
            raise Transient(f"{type(exc).__name__}: {exc.message}") from exc
        return sent.message_id


async def startup(app: Application) -> None:
    """Validate the notices file, finish notices completed before a stop, start the sender.

    The sender first puts rows left 'sending' by a crash back to 'pending'; due rows,
    including scheduled notices whose time passed while the bot was down, go out at once.
    """
    svc: Services = app.bot_data[SERVICES_KEY]
    config = notices.load_config()
    storage = svc.storage
    notices.finish_completed(storage, now=storage.now(), config=config)
    sender = Sender(storage, OutboxTransport(app.bot), config.delivery)
    sender.subscribe(notices.SOURCE, lambda row: notices.on_settled(storage, row, now=storage.now(), config=config))
    app.bot_data.update({CONFIG_KEY: config, SENDER_KEY: sender})
    app.bot_data[_TASK_KEY] = asyncio.create_task(sender.run(), name="outbox-sender")


async def shutdown(app: Application) -> None:
    """Let requests in flight finish (bounded), then stop the sender."""
    sender: Sender | None = app.bot_data.pop(SENDER_KEY, None)
    task: asyncio.Task | None = app.bot_data.pop(_TASK_KEY, None)
    if sender is not None:
        await sender.stop()
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---- conversation state ----------------------------------------------------------------------


def _await(context: ContextTypes.DEFAULT_TYPE, what: str, *, ttl: float = STATE_TTL, **values: Any) -> None:
    context.user_data[AWAIT_KEY] = {"what": what, "until": time.monotonic() + ttl, **values}


def _done(context: ContextTypes.DEFAULT_TYPE) -> None:
    context.user_data.pop(AWAIT_KEY, None)


def _attachment(message: Message) -> Attachment | None:
    if message.document:
        return Attachment("document", message.document.file_id, message.document.file_name or "文件")
    if message.photo:
        return Attachment("photo", message.photo[-1].file_id, "图片")
    return None


_QUIT = [[Button("取消", "n:q")]]
_AUDIENCE_PROMPT = (
    "请发送通知对象，例如：全体委员、常委、经济委、习岗镇、财政局、秘书、所有人；"
    "多个对象用“+”连接，例如“常委+经济委”。\n也可以一步完成：/notice 常委 明天上午九点在三楼会议室开会"
)


async def _reply(message: Message, text: str, buttons: list[list[Button]] | None = None, *, personal=True) -> None:
    """Notices are about people (recipients, receipts, leave reasons): personal unless said otherwise."""
    await send_reply(message, Reply(text, buttons or [], personal=personal))


async def _refuse(message: Message, text: str) -> None:
    """A short "no" about the asker's own request (not permitted, stale button)."""
    await send_reply(message, Reply(text, refusal=True))


# ---- /notice ------------------------------------------------------------------------------------


def _command_argument(message: Message, context: ContextTypes.DEFAULT_TYPE) -> tuple[str, str]:
    """``/notice <audience> <text>``: the audience (“常委”, “全体委员：” before the text, “常委，经济委”)
    and the rest (line breaks kept)."""
    parts = (message.text or "").split(None, 1)
    svc = services(context)
    return split_audience(parts[1] if len(parts) > 1 else "", svc.storage, plan=svc.plan)


async def notice_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    who = caller(update, context)
    if not await permitted(message, context, who, "send_notice"):
        return
    if not is_private(message):
        await _reply(message, "请在与我的私聊中编写和发送通知。", personal=False)
        return
    audience, text = _command_argument(message, context)
    if not audience:
        _await(context, "compose", step="audience")
        await _reply(message, _AUDIENCE_PROMPT, _QUIT)
    elif not text:
        await _compose_audience(message, context, who, audience)
    else:
        await _compose(message, context, who, audience, text, None)


async def _compose_audience(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, spec: str) -> None:
    svc = services(context)
    try:
        described = notices.check_audience(
            svc.storage, who, spec, admin_ids=svc.settings.admin_ids, plan=svc.plan, config=_config(context)
        )
    except (notices.NoticeError, PermissionDenied) as exc:
        _await(context, "compose", step="audience")
        await _reply(message, exc.message, _QUIT)
        return
    _await(context, "compose", step="text", audience=spec)
    await _reply(message, f"{described}\n请发送通知正文（也可以直接转发一条消息给我）。", _QUIT)


async def _compose(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    audience: str,
    text: str,
    attachment: Attachment | None,
) -> None:
    """Store a draft and show its preview, or say why not (the open step stays open)."""
    svc = services(context)
    config = _config(context)
    try:
        preview = notices.compose(
            svc.storage,
            who,
            audience,
            text,
            now=svc.storage.now(),
            attachment=attachment,
            admin_ids=svc.settings.admin_ids,
            plan=svc.plan,
            config=config,
        )
    except (notices.NoticeError, PermissionDenied) as exc:
        await _reply(message, exc.message)
        return
    _done(context)
    await _reply(message, notices.render_preview(preview, config), notices.preview_buttons(preview))


async def awaited_input(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next private message of a user with an open step (see AwaitingStep)."""
    message = update.effective_message
    state = dict(context.user_data.get(AWAIT_KEY) or {})
    who = caller(update, context)
    if state.get("what") == "compose":
        await _compose_step(message, context, who, state)
    elif state.get("what") == "schedule":
        await _schedule_time(message, context, who, state)


_NO_ATTACHMENT = [[Button("不加附件，预览", "n:np")], [Button("取消", "n:q")]]


async def _compose_step(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, state: dict) -> None:
    step = state.get("step")
    text = (message.text or message.caption or "").strip()
    attachment = _attachment(message)
    if step == "audience":
        if message.text:
            await _compose_audience(message, context, who, message.text)
        else:
            await _reply(message, "请用文字写通知对象。" + _AUDIENCE_PROMPT, _QUIT)
    elif step == "text":
        earlier = Attachment.from_json(state.get("attachment"))
        if text and (attachment or earlier):
            await _compose(message, context, who, state["audience"], text, attachment or earlier)
        elif attachment:
            _await(context, "compose", step="text", audience=state["audience"], attachment=attachment.to_json())
            await _reply(message, f"已收到附件“{attachment.name}”。请再发送通知正文（文字）。", _QUIT)
        elif text:
            _await(context, "compose", step="attachment", audience=state["audience"], text=text)
            await _reply(
                message, "已收到正文。如需附件，请现在发送文件或图片；不需要附件请点“不加附件，预览”。", _NO_ATTACHMENT
            )
        else:
            await _reply(message, "请发送通知正文（文字），或转发一条带文字的消息。", _QUIT)
    elif step == "attachment":
        if attachment:
            await _compose(message, context, who, state["audience"], state["text"], attachment)
        else:
            await _reply(message, "请发送文件或图片作为附件，或点“不加附件，预览”。", _NO_ATTACHMENT)


async def _schedule_time(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, state: dict) -> None:
    svc = services(context)
    now = svc.storage.now()
    config = _config(context)
    try:
        send_at, guessed = notices.read_send_time(message.text or "", now, config)
        if guessed:  # “3点” read as 下午3:00, “3.5” as 3月5日: confirm first
            when = f"{send_at.year}年{send_at.month}月{send_at.day}日 {send_at:%H:%M}"
            sure = Button("确认定时", f"n:sa:{state['notice_id']}:{int(send_at.timestamp())}")
            await _reply(
                message, f"{guessed}：{when} 发送，对吗？不对请重新发送时间。", [[sure], [Button("取消定时", "n:q")]]
            )
            return
        confirmation = notices.confirm(svc.storage, who, state["notice_id"], now=now, send_at=send_at, config=config)
    except (notices.NoticeError, PermissionDenied) as exc:
        await _reply(message, exc.message, [[Button("取消定时", "n:q")]])
        return
    _done(context)
    await _reply(message, confirmation.describe(now))
    _wake(context)


async def _confirm_guessed_time(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, value: str) -> None:
    svc = services(context)
    notice_text, _, seconds_text = value.partition(":")
    notice_id, seconds = read_number(notice_text), read_number(seconds_text)
    if notice_id is None or seconds is None:
        await _refuse(message, "这个按钮已失效。发送 /notices 查看最近的通知。")
        return
    send_at = datetime.fromtimestamp(seconds, svc.storage.tz)
    now = svc.storage.now()
    confirmation = notices.confirm(svc.storage, who, notice_id, now=now, send_at=send_at, config=_config(context))
    _done(context)
    await _drop_buttons(message)
    await _reply(message, confirmation.describe(now))
    _wake(context)


async def _edit(bot: Bot, chat_id: int, message_id: int, outcome: notices.ReceiptOutcome) -> None:
    if outcome.message is not None:
        await edit_text(bot, chat_id, message_id, outcome.message, outcome.buttons)


# ---- /notices ------------------------------------------------------------------------------------


async def notices_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _show_list(update.effective_message, context, caller(update, context))


async def _show_list(message: Message, context: ContextTypes.DEFAULT_TYPE, who) -> None:
    svc = services(context)
    try:
        reports = notices.recent_notices(svc.storage, who, config=_config(context))
    except PermissionDenied as exc:
        await _refuse(message, exc.message)
        return
    now = svc.storage.now()
    await _reply(message, notices.render_list(reports, tz=svc.storage.tz, now=now), notices.list_buttons(reports))


# ---- buttons ---------------------------------------------------------------------------------------

_RECEIPTS = {"r": "received", "a": "attend", "l": "leave"}


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    action, _, value = (query.data or "").removeprefix(notices.CALLBACK_PREFIX).partition(":")
    message = query.message if isinstance(query.message, Message) else None
    number = read_number(value)  # a notice id; None when forged or garbled
    if action in ("a", "l") and number is not None:  # 参加 / 请假: the meetings path (leave approval)
        await meetings.press_notice(update, context, number, _RECEIPTS[action])
        return
    if action in _RECEIPTS and number is not None:
        await _receipt(update, context, number, _RECEIPTS[action])
        return
    await acknowledge(query)
    if message is None:
        return
    who = caller(update, context)
    svc = services(context)
    now = svc.storage.now()
    config = _config(context)
    try:
        if action == "q":
            _done(context)
            await _reply(message, "已取消。")
        elif action == "np":
            await _preview_without_attachment(message, context, who)
        elif action == "ls":
            await _show_list(message, context, who)
        elif action == "sa":  # a guessed send time, confirmed: "sa:<notice>:<epoch seconds>"
            await _confirm_guessed_time(message, context, who, value)
        elif number is None:
            await _refuse(message, "这个按钮已失效。发送 /notices 查看最近的通知。")
        elif action == "go":
            confirmation = notices.confirm(svc.storage, who, number, now=now, config=config)
            await _reply(message, confirmation.describe(now))
            _wake(context)
            await _drop_buttons(message)
        elif action == "at":
            notices.preview_of(svc.storage, who, number, now=now, config=config)
            _await(context, "schedule", notice_id=number)
            await _reply(
                message,
                "请发送发送时间，例如：明天 9:00、今天下午3点半、6月20日 15:30、2024-06-20 15:30。",
                [[Button("取消定时", "n:q")]],
            )
        elif action == "k":
            preview = notices.toggle_kind(svc.storage, who, number, now=now, config=config)
            await _drop_buttons(message)
            await _reply(message, notices.render_preview(preview, config), notices.preview_buttons(preview))
        elif action == "x":
            notices.discard(svc.storage, who, number, now=now)
            _done(context)
            await _drop_buttons(message)
            await _reply(message, "已取消，这条通知不会发送。")
        elif action == "v":
            await show_report(message, context, who, number)
        elif action == "e":
            report = notices.notice_report(svc.storage, who, number)
            data = notices.report_csv(report, tz=svc.storage.tz).encode("utf-8-sig")
            file = InputFile(io.BytesIO(data), filename=f"notice-{number}.csv")
            await send_file(message, file, caption=f"通知 #{number} 的送达和回执（CSV，可用 Excel 打开）")
        elif action == "u":
            result = notices.nudge(svc.storage, who, number, now=now, config=config)
            _wake(context)
            await _reply(message, f"已向 {result.queued} 位已送达但未确认的人再次发送提醒（通知 #{number}）。")
        elif action == "c":
            result = notices.cancel_notice(svc.storage, who, number, now=now)
            text = f"通知 #{number} 已取消：{result.cancelled} 人的消息不再发送"
            await _reply(message, text + (f"，已有 {result.already_sent} 人收到。" if result.already_sent else "。"))
        else:
            await _refuse(message, "这个按钮已失效。发送 /notices 查看最近的通知。")
    except (notices.NoticeError, PermissionDenied) as exc:
        await _refuse(message, exc.message)


async def show_report(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, notice_id: int) -> None:
    """One notice's 详情: deliveries, receipts, names and leave reasons (deep link "notice-<id>")."""
    svc, config = services(context), _config(context)
    try:
        report = notices.notice_report(svc.storage, who, notice_id)
    except (notices.NoticeError, PermissionDenied) as exc:
        await _refuse(message, exc.message)
        return
    text = notices.render_report(report, tz=svc.storage.tz, now=svc.storage.now(), name_limit=config.report_names)
    await _reply(message, text, notices.report_buttons(report))


async def _preview_without_attachment(message: Message, context: ContextTypes.DEFAULT_TYPE, who) -> None:
    state = context.user_data.get(AWAIT_KEY) or {}
    if state.get("what") != "compose" or state.get("step") != "attachment":
        await _refuse(message, "这个按钮已失效，请重新发送 /notice。")
        return
    await _compose(message, context, who, state["audience"], state["text"], None)


async def _drop_buttons(message: Message) -> None:
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(reply_markup=None)


async def _receipt(update: Update, context: ContextTypes.DEFAULT_TYPE, notice_id: int, response: str) -> None:
    query = update.callback_query
    svc = services(context)
    message = query.message if isinstance(query.message, Message) else None
    if message is None or not is_private(message):  # notices are delivered to private chats only
        await acknowledge(query, "这个按钮已失效。", show_alert=True)
        return
    try:
        outcome = notices.record_receipt(
            svc.storage, notice_id, update.effective_user.id, response, now=svc.storage.now(), config=_config(context)
        )
    except notices.NoticeError as exc:
        await acknowledge(query, exc.message, show_alert=True)
        return
    await acknowledge(query, outcome.toast)
    await _edit(context.bot, message.chat_id, message.message_id, outcome)


# ---- registration ------------------------------------------------------------------------------------


def register(app: Application) -> None:
    """Add this feature's handlers to the application."""
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("notice", notice_command, filters=new_messages))
    app.add_handler(CommandHandler("notices", notices_command, filters=new_messages))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^n:"))
    app.add_handler(MessageHandler(new_messages & ~filters.COMMAND & AwaitingStep(app, AWAIT_KEY), awaited_input))
