"""Telegram handlers for the task ledger (thin: updates → bot.ledger calls → messages).

* /mytasks — a unit contact's tasks with buttons to report on one.
* /report 33 本季度… (one line), /report 33 or a task button (guided: text → optional attachment →
  confirm), /report edit 新内容 or the 修改 button (within 24 hours of filing).
* /ledger, /ledger 2027Q1, /ledger 33, /ledger publish|hide 单位 — for secretaries (in a group the
  answer goes to the private chat: handlers/privacy.py).
* "（33）落实得怎么样" / "33条进展" from anyone: the latest progress they may see. This handler runs
  before the general question handler because feature handlers are registered first; its filter
  only accepts messages that name a task and ask about progress.

The guided flow keeps one in-memory draft per user (lost on restart, expiring after 30 minutes);
a draft's handlers only see messages from users who have one, so they never take other features'
messages. Callback data use the "lg:" prefix.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import BotCommand, InputFile, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.ledger import (
    MAX_REPORT_CHARS,
    REPORT_EXAMPLE,
    Attachment,
    LedgerError,
    attachment_report,
    brief,
    clean_report_text,
    edit_report,
    editable_report,
    format_my_tasks,
    format_overview,
    format_receipt,
    latest_own_report,
    ledger_task_argument,
    my_tasks,
    overview,
    parse_progress_question,
    parse_quarter,
    parse_report_command,
    progress_answer,
    reports_with_attachments,
    set_public,
    start_report,
    submit_report,
    task_detail,
)
from bot.ledger.export import export_ledger
from bot.numbers import read_number
from bot.people.roles import Caller, PermissionDenied
from bot.reply import Button, Reply
from handlers.common import addressed_text, caller, is_private, services
from handlers.privacy import acknowledge, send_file
from handlers.render import send_reply

COMMANDS = [
    BotCommand("mytasks", "本单位的任务和进展填报（单位联络员）"),
    BotCommand("report", "填报任务进展，例如 /report 33 本季度…"),
]
SECRETARY_COMMANDS = [BotCommand("ledger", "全县任务台账（政协办秘书）")]

DRAFTS_KEY = "ledger_drafts"
DRAFT_SECONDS = 30 * 60
HISTORY_IN_CHAT = 10
BUTTONS_PER_ROW = 5
CANCEL_WORDS = {"取消", "算了", "不填了"}
PUBLISH_WORDS = {"publish": True, "公开": True, "hide": False, "隐藏": False, "取消公开": False}
STALE = "这个按钮已失效，请重新发送 /mytasks 或 /report。"
Refusal = (LedgerError, PermissionDenied)


@dataclass
class Draft:
    """A report being written in the guided flow."""

    task: int
    step: str = "text"  # "text" → "attach" (new reports only) → "confirm"
    text: str = ""
    attachment: Attachment | None = None
    edit_id: int | None = None  # set when editing an existing report
    original: str = ""
    started: float = 0.0  # on the Drafts' clock, set by Drafts.put


class Drafts:
    """One live draft per Telegram user; expired drafts are forgotten as new ones come."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._drafts: dict[int, Draft] = {}
        self._clock = clock

    def __len__(self) -> int:
        return len(self._drafts)

    def _expired(self, draft: Draft, now: float) -> bool:
        return now - draft.started > DRAFT_SECONDS

    def get(self, user_id: int) -> Draft | None:
        draft = self._drafts.get(user_id)
        if draft and self._expired(draft, self._clock()):
            del self._drafts[user_id]
            return None
        return draft

    def put(self, user_id: int, draft: Draft) -> None:
        now = self._clock()
        self._drafts = {user: kept for user, kept in self._drafts.items() if not self._expired(kept, now)}
        draft.started = now
        self._drafts[user_id] = draft

    def pop(self, user_id: int) -> Draft | None:
        draft = self.get(user_id)
        self._drafts.pop(user_id, None)
        return draft


class _HasDraft(filters.MessageFilter):
    """Messages from users whose draft is at one of ``steps``."""

    def __init__(self, drafts: Drafts, steps: frozenset[str]):
        super().__init__(name=f"ledger_draft{sorted(steps)}")
        self.drafts, self.steps = drafts, steps

    def filter(self, message: Message) -> bool:
        draft = self.drafts.get(message.from_user.id) if message.from_user else None
        return draft is not None and draft.step in self.steps


class _ProgressQuestion(filters.MessageFilter):
    """Texts such as （33）落实得怎么样 or 33条进展."""

    def filter(self, message: Message) -> bool:
        return parse_progress_question(message.text) is not None


def _drafts(context: ContextTypes.DEFAULT_TYPE) -> Drafts:
    return context.bot_data[DRAFTS_KEY]


async def _say(message: Message, text: str, buttons: list[list[Button]] | None = None, *, personal=True) -> None:
    """A unit's tasks and reports are about people: personal unless said otherwise."""
    await send_reply(message, Reply(text, buttons or [], personal=personal))


async def _refuse(message: Message, text: str) -> None:
    """A short "no" about the asker's own request (not permitted, stale button)."""
    await send_reply(message, Reply(text, refusal=True))


def _task_buttons(numbers: list[int]) -> list[list[Button]]:
    buttons = [Button(f"（{n}）", f"lg:r:{n}") for n in numbers]
    return [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def _arguments(message: Message) -> str:
    """Everything after the command word, line breaks kept."""
    match = re.match(r"\S+\s*(.*)", message.text or "", re.DOTALL)
    return match.group(1) if match else ""


# ---- /mytasks and /report --------------------------------------------------------------------------


async def _send_task_list(message: Message, context: ContextTypes.DEFAULT_TYPE, update: Update) -> None:
    svc = services(context)
    try:
        mine = my_tasks(svc.storage, caller(update, context), plan=svc.plan)
    except Refusal as exc:
        await _refuse(message, exc.message)
        return
    hint = f"点击下方任务编号填报进展，或直接发送：{REPORT_EXAMPLE}"
    await _say(message, f"{format_my_tasks(mine)}\n{hint}", _task_buttons(mine.numbers))


async def mytasks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send_task_list(update.effective_message, context, update)


async def _begin(message: Message, context: ContextTypes.DEFAULT_TYPE, update: Update, number: int) -> None:
    """Start the guided flow for task ``number`` (after checking the caller may report on it)."""
    svc = services(context)
    try:
        task = start_report(svc.storage, caller(update, context), number, plan=svc.plan)
    except Refusal as exc:
        await _refuse(message, exc.message)
        return
    _drafts(context).put(update.effective_user.id, Draft(task=number))
    await _say(
        message,
        f"请发送第（{number}）项的进展情况（一条消息，不超过 {MAX_REPORT_CHARS} 字）。\n"
        f"任务：{brief(task.text, 40)}\n发送“取消”或 /cancel 可放弃。",
        [[Button("取消", "lg:x")]],
    )


async def _send_receipt(message: Message, context: ContextTypes.DEFAULT_TYPE, report) -> None:
    svc = services(context)
    text = format_receipt(report, svc.plan, svc.storage.tz)
    await _say(message, text, [[Button("修改这条进展", f"lg:e:{report.id}")]])


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if not is_private(message):
        await _say(message, "请在与我的私聊中填报任务进展。", personal=False)
        return
    svc, who = services(context), caller(update, context)
    try:
        command = parse_report_command(_arguments(message), svc.plan)
        if command.kind == "choose":
            await _send_task_list(message, context, update)
        elif command.kind == "start":
            await _begin(message, context, update, command.number)
        elif command.kind == "submit":
            filed = submit_report(svc.storage, who, command.number, command.text, plan=svc.plan)
            _drafts(context).pop(update.effective_user.id)
            await _send_receipt(message, context, filed)
        elif command.text:
            latest = latest_own_report(svc.storage, who)
            await _send_receipt(message, context, edit_report(svc.storage, who, latest.id, command.text))
        else:
            await _begin_edit(message, context, update, latest_own_report(svc.storage, who).id)
    except Refusal as exc:
        await _say(message, exc.message)


async def _begin_edit(message: Message, context: ContextTypes.DEFAULT_TYPE, update: Update, report_id: int) -> None:
    svc = services(context)
    try:
        current = editable_report(svc.storage, caller(update, context), report_id)
    except Refusal as exc:
        await _refuse(message, exc.message)
        return
    _drafts(context).put(update.effective_user.id, Draft(task=current.task, edit_id=current.id, original=current.text))
    await _say(
        message,
        f"请发送修改后的完整内容（第（{current.task}）项，编号 #{current.id}）。\n原内容：{current.text}\n"
        "发送“取消”或 /cancel 可放弃。",
        [[Button("取消", "lg:x")]],
    )


# ---- the guided flow ----------------------------------------------------------------------------------


def _preview(draft: Draft, context: ContextTypes.DEFAULT_TYPE) -> Reply:
    plan = services(context).plan
    if draft.edit_id is not None:
        head = f"请确认修改（第（{draft.task}）项，编号 #{draft.edit_id}）："
        text = f"{head}\n原内容：{draft.original}\n新内容：{draft.text}"
    else:
        attachment = draft.attachment.name if draft.attachment else "无"
        text = (
            f"请确认填报内容：\n任务：第（{draft.task}）项 {brief(plan.task(draft.task).text)}\n"
            f"进展：{draft.text}\n附件：{attachment}"
        )
    buttons = [[Button("确认提交", "lg:c")], [Button("重新填写", "lg:t"), Button("取消", "lg:x")]]
    return Reply(text, buttons, personal=True)


ATTACH_PROMPT = "如需附上材料，请发送一个文件或一张照片；不需要请点“跳过”。"
ATTACH_BUTTONS = [[Button("跳过（不加附件）", "lg:s")], [Button("取消", "lg:x")]]


async def draft_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    drafts = _drafts(context)
    draft = drafts.get(update.effective_user.id)
    if draft is None:
        return
    if (message.text or "").strip() in CANCEL_WORDS:
        drafts.pop(update.effective_user.id)
        await _say(message, "已取消填报。")
        return
    if draft.step == "attach":
        await _say(message, ATTACH_PROMPT, ATTACH_BUTTONS)
        return
    if draft.step == "confirm":
        await send_reply(message, _preview(draft, context))
        return
    try:
        draft.text = clean_report_text(message.text)
    except LedgerError as exc:
        await _say(message, f"{exc.message}\n请重新发送，或发送“取消”。")
        return
    if draft.edit_id is None:
        draft.step = "attach"
        await _say(message, ATTACH_PROMPT, ATTACH_BUTTONS)
    else:
        draft.step = "confirm"
        await send_reply(message, _preview(draft, context))


async def draft_attachment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    draft = _drafts(context).get(update.effective_user.id)
    if draft is None:
        return
    if message.document:
        draft.attachment = Attachment("document", message.document.file_id, message.document.file_name or "文件")
    else:
        draft.attachment = Attachment("photo", message.photo[-1].file_id, "照片")
    draft.step = "confirm"
    await send_reply(message, _preview(draft, context))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _drafts(context).pop(update.effective_user.id)
    await _say(update.effective_message, "已取消填报。")


async def _confirm(message: Message, context: ContextTypes.DEFAULT_TYPE, update: Update, draft: Draft) -> None:
    svc, who = services(context), caller(update, context)
    if draft.edit_id is not None:
        saved = edit_report(svc.storage, who, draft.edit_id, draft.text)
    else:
        saved = submit_report(svc.storage, who, draft.task, draft.text, attachment=draft.attachment, plan=svc.plan)
    await _send_receipt(message, context, saved)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await acknowledge(query)
    message = query.message
    if message is None or not hasattr(message, "chat"):
        return
    drafts, user_id = _drafts(context), update.effective_user.id
    parts = (query.data or "").split(":")
    op, argument = [*parts, "", ""][1:3]
    number = read_number(argument)  # a task number or report id; None when forged or garbled
    draft = drafts.get(user_id)
    try:
        if op == "r" and number is not None:
            await _begin(message, context, update, number)
        elif op == "e" and number is not None:
            await _begin_edit(message, context, update, number)
        elif op == "f" and number is not None:
            await _send_attachment(message, context, update, number)
        elif op == "x" and draft:
            drafts.pop(user_id)
            await _say(message, "已取消填报。")
        elif op == "s" and draft and draft.step == "attach":
            draft.step = "confirm"
            await send_reply(message, _preview(draft, context))
        elif op == "t" and draft and draft.step == "confirm":
            draft.step, draft.attachment = "text", None
            await _say(message, "请重新发送进展内容。", [[Button("取消", "lg:x")]])
        elif op == "c" and draft and draft.step == "confirm":
            drafts.pop(user_id)
            await message.edit_reply_markup(None)
            await _confirm(message, context, update, draft)
        else:
            await _refuse(message, STALE)
    except Refusal as exc:
        await _refuse(message, exc.message)


async def _send_attachment(message: Message, context: ContextTypes.DEFAULT_TYPE, update: Update, report_id: int):
    report = attachment_report(services(context).storage, caller(update, context), report_id)
    caption = f"第（{report.task}）项进展 #{report.id} 的附件"
    await send_file(message, report.attachment.file_id, caption=caption, photo=report.attachment.kind == "photo")


# ---- secretaries: /ledger -------------------------------------------------------------------------------


async def ledger_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    svc, who = services(context), caller(update, context)
    args = context.args or []
    buttons: list[list[Button]] = []
    try:
        if args and args[0].lower() in EXPORT_WORDS:
            await _send_export(message, svc, who, args[1] if len(args) > 1 else None)
            return
        if args and args[0].lower() in PUBLISH_WORDS:
            if len(args) < 2:
                raise LedgerError("请写单位名称，例如：/ledger publish 统战部")
            public = PUBLISH_WORDS[args[0].lower()]
            unit = set_public(svc.storage, who, " ".join(args[1:]), public, plan=svc.plan)
            state = "所有人（包括委员）都能看到" if public else "只有政协办秘书和本单位能看到"
            text = f"{unit.short}的任务进展现在{state}。"
        elif args and (number := ledger_task_argument(args[0], svc.plan)) is not None:
            quarter = parse_quarter(args[1]) if len(args) > 1 else None
            text = task_detail(svc.storage, who, number, quarter, history_limit=HISTORY_IN_CHAT, plan=svc.plan)
            found = reports_with_attachments(svc.storage, who, number, HISTORY_IN_CHAT)
            buttons = [[Button(f"附件 #{r.id}（{r.attachment.name[:20]}）", f"lg:f:{r.id}")] for r in found]
        else:
            quarter = parse_quarter(args[0]) if args else None
            text = format_overview(overview(svc.storage, who, quarter, plan=svc.plan))
            text += "\n发送 /ledger 33 查看某项任务各单位的进展和历史；/ledger 2027Q1 查看其他季度。"
    except Refusal as exc:
        await _refuse(message, exc.message)
        return
    await _say(message, text, buttons)


EXPORT_WORDS = ("export", "导出", "xlsx")


async def _send_export(message: Message, svc, who: Caller, quarter_text: str | None) -> None:
    """`/ledger export [2027Q1]`: the printable ledger (.xlsx) into the private chat."""
    quarter = parse_quarter(quarter_text) if quarter_text else None
    data, count = export_ledger(svc.storage, who, "xlsx", quarter, plan=svc.plan)
    name = f"ledger-{quarter or svc.storage.today().isoformat()}.xlsx"
    await send_file(message, InputFile(io.BytesIO(data), filename=name), caption=f"任务台账（{count} 行，可直接打印）")


# ---- anyone: "（33）落实得怎么样" -------------------------------------------------------------------------


async def progress_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    text = addressed_text(message, context.bot.id, context.bot.username)
    number = parse_progress_question(text)
    if number is None:
        return
    svc = services(context)
    private = is_private(message)
    answer = progress_answer(svc.storage, caller(update, context), number, public_only=not private, plan=svc.plan)
    await send_reply(message, Reply(answer), quote=not private)


# ---- wiring --------------------------------------------------------------------------------------------------


def register(app: Application) -> None:
    """Add this feature's handlers to the application."""
    drafts = app.bot_data.setdefault(DRAFTS_KEY, Drafts())
    new, private = filters.UpdateType.MESSAGE, filters.ChatType.PRIVATE
    any_step = _HasDraft(drafts, frozenset({"text", "attach", "confirm"}))
    app.add_handler(CommandHandler("mytasks", mytasks, filters=new))
    app.add_handler(CommandHandler("report", report, filters=new))
    app.add_handler(CommandHandler("ledger", ledger_command, filters=new))
    app.add_handler(CommandHandler("cancel", cancel, filters=new & private & any_step))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^lg:"))
    app.add_handler(MessageHandler(new & private & filters.TEXT & ~filters.COMMAND & any_step, draft_text))
    app.add_handler(
        MessageHandler(
            new & private & (filters.Document.ALL | filters.PHOTO) & _HasDraft(drafts, frozenset({"attach"})),
            draft_attachment,
        )
    )
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & _ProgressQuestion(), progress_question))


async def startup(app: Application) -> None:
    """Nothing to rebuild: drafts live only in memory."""


async def shutdown(app: Application) -> None:
    """Nothing to release: the storage is closed by the application."""
