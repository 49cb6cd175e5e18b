"""Telegram handlers for proposals and 社情民意 (thin: update → bot.proposals → Reply → send).

* /propose (写提案), /opinion (反映社情民意), /myproposals (我的提案) for members;
  /proposals (本单位提案) for unit contacts; /review (提案审查, 导出) for secretaries.
* Button data start with "pp:" (bot/proposals/flow.py); "pp:ex:<year>" exports the registers,
  "pp:fa:<id>" / "pp:fr:<id>" send the proposal's attachment / the 答复函.
* A typed message or a document answers the step the assistant waits for (stored in the
  database, so it survives restarts); these handlers are registered before the generic text
  and file handlers and their filters only take messages from someone with an open step.
* Everything the core decides for other people goes through the outbox; after a change the
  sender is woken so it goes out at once.
* The latest guided step wins: when an update opens or moves another feature's typed step (a
  leave reason, a notice being composed, an /event draft) while a proposals step is open, the
  proposals step ends (the draft stays; 继续编辑 resumes it), so the next text goes where the
  person was last asked — the proposals handlers come first and would otherwise take it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from datetime import datetime

from telegram import BotCommand, InputFile, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.numbers import read_number
from bot.people.roles import Caller, PermissionDenied
from bot.proposals import drafts, flow, views
from bot.proposals.config import default_config
from bot.proposals.desk import STALE, Desk, ProposalError
from bot.proposals.drafts import FileInfo
from bot.proposals.export import export
from bot.proposals.sweep import sweep
from bot.reply import Reply
from handlers.common import SERVICES_KEY, caller, is_private
from handlers.notices import SENDER_KEY
from handlers.privacy import acknowledge, send_file
from handlers.render import send_reply

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("propose", "写提案"),
    BotCommand("opinion", "反映社情民意"),
    BotCommand("myproposals", "我的提案和社情民意"),
    BotCommand("proposals", "本单位提案（承办单位联络员）"),
]
SECRETARY_COMMANDS = [BotCommand("review", "提案审查、统计和导出（政协办秘书）")]
SWEEP_JOB = "proposals.sweep"
# buttons that take a decision: after one succeeds the message loses its buttons (a second
# press would change nothing anyway)
DONE_VERBS = {"sb", "ya", "yn", "la", "cv", "oa", "or", "as", "rq", "rv"}
# the buttons and typed steps that end a review: then every secretary's card loses its buttons
REVIEW_DECISIONS = {"la", "cv", "rc", "oa", "or", "reject", "return", "not_adopt"}
SWEEP_SECONDS = 60
BEFORE_GROUP, AFTER_GROUP = -3, 2  # around every other handler (privacy -2, guards -1, settle 1)
_other_steps: contextvars.ContextVar[dict | None] = contextvars.ContextVar("proposals_other_steps", default=None)


def desk_of(bot_data: dict) -> Desk:
    svc = bot_data[SERVICES_KEY]
    return Desk(svc.storage, svc.plan, default_config(), frozenset(svc.settings.admin_ids))


def _desk(context: ContextTypes.DEFAULT_TYPE) -> Desk:
    return desk_of(context.bot_data)


def _wake(bot_data: dict) -> None:
    sender = bot_data.get(SENDER_KEY)
    if sender is not None:
        sender.wake()


async def _show(message: Message, context: ContextTypes.DEFAULT_TYPE, make) -> Reply:
    """Run a core call, send its reply (or its refusal), wake the outbox."""
    try:
        reply = make()
    except (ProposalError, PermissionDenied) as exc:
        reply = Reply(exc.message, refusal=True)
    await send_reply(message, reply)
    _wake(context.bot_data)
    return reply


# ---- commands ------------------------------------------------------------------------------


async def propose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = caller(update, context)
    await _show(update.effective_message, context, lambda: drafts.start(_desk(context), who, "proposal"))


async def opinion(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = caller(update, context)
    await _show(update.effective_message, context, lambda: drafts.start(_desk(context), who, "opinion"))


async def myproposals(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = caller(update, context)
    await _show(update.effective_message, context, lambda: views.mine(_desk(context), who))


async def unit_proposals(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = caller(update, context)
    await _show(update.effective_message, context, lambda: views.unit_list(_desk(context), who))


async def review_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    who = caller(update, context)
    await _show(update.effective_message, context, lambda: views.review_list(_desk(context), who))


# ---- typed answers and documents -------------------------------------------------------------


class _Awaiting(filters.MessageFilter):
    """A private message from someone the assistant waits for (documents: only for the steps
    that take one: 正文, 答复, 协办意见)."""

    def __init__(self, app: Application, *, document: bool):
        super().__init__(name=f"proposals.awaiting[{'document' if document else 'text'}]")
        self.app = app
        self.document = document

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None or not is_private(message):
            return False
        return flow.awaiting(desk_of(self.app.bot_data), user.id, document=self.document) is not None


async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    who = caller(update, context)
    desk = _desk(context)
    step = flow.awaiting(desk, who.telegram_id)
    reply = flow.on_text(desk, who, message.text or "")
    if reply is None:  # the step closed meanwhile: nothing to answer here
        return
    await send_reply(message, reply)
    _wake(context.bot_data)
    if step is not None and step.what in REVIEW_DECISIONS and not reply.refusal:
        await _close_cards(context, step.proposal_id)


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file for 正文, 答复 or 协办意见; a photo is refused with a word on how to send it as a file."""
    message = update.effective_message
    doc = message.document or message.photo[-1]
    name = getattr(doc, "file_name", None) or ("照片.jpg" if message.photo else "文件")
    who = caller(update, context)
    info = FileInfo(doc.file_id, name, doc.file_size, photo=not message.document)
    reply = flow.on_document(_desk(context), who, info)
    if reply is not None:
        await send_reply(message, reply)
        _wake(context.bot_data)


# ---- buttons ---------------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await acknowledge(query)
    who = caller(update, context)
    data = query.data or ""
    verb, _, rest = data.removeprefix("pp:").partition(":")
    if verb == "ex":
        await _export(query.message, context, who, rest)
        return
    if verb in ("fa", "fr"):
        await _files(query.message, context, who, verb, rest)
        return
    reply = await _show(query.message, context, lambda: flow.on_button(_desk(context), who, data))
    if verb in DONE_VERBS and not reply.refusal and is_private(query.message):
        with contextlib.suppress(BadRequest):  # the decision is taken: its buttons go
            await query.message.edit_reply_markup(reply_markup=None)
    proposal_id = read_number(rest.partition(":")[0], low=1)
    if verb in REVIEW_DECISIONS and proposal_id is not None and not reply.refusal:
        await _close_cards(context, proposal_id)


async def _close_cards(context: ContextTypes.DEFAULT_TYPE, proposal_id: int) -> None:
    """Once a secretary has decided, every secretary's review card loses its buttons."""
    for chat_id, message_id in views.decided_cards(_desk(context), proposal_id):
        with contextlib.suppress(TelegramError):  # already edited, or too old to edit
            await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def _export(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, rest: str) -> None:
    year = read_number(rest, low=2000, high=2100)
    if year is None:
        await send_reply(message, Reply(STALE, refusal=True))
        return
    try:
        name, content = export(_desk(context), who, year, "xlsx")
    except (ProposalError, PermissionDenied) as exc:
        await send_reply(message, Reply(exc.message, refusal=True))
        return
    await send_file(
        message, InputFile(content, filename=name), caption=f"{year}年提案办理情况汇总表和社情民意采用情况表"
    )


async def _files(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, verb: str, rest: str) -> None:
    desk = _desk(context)
    proposal_id = read_number(rest, low=1)
    p = desk.storage.proposal(proposal_id) if proposal_id else None
    try:
        if p is None:
            raise ProposalError(STALE)
        views.check_view(desk, who, p)
    except (ProposalError, PermissionDenied) as exc:
        await send_reply(message, Reply(exc.message, refusal=True))
        return
    files = [p.attachment] if verb == "fa" else [r.attachment for r in desk.storage.proposal_answers(p.id)]
    for file in [f for f in files if f]:
        await send_file(message, file["file_id"], caption=file.get("name", "附件"))


# ---- the latest step wins --------------------------------------------------------------------


def _steps_elsewhere(app: Application, telegram_id: int) -> dict:
    """Other features' open typed steps: user_data entries with an "until" (handlers/common.py
    AwaitingStep) and the meeting step kept in the database."""
    found = {
        key: value.get("until")
        for key, value in app.user_data.get(telegram_id, {}).items()
        if isinstance(value, dict) and "until" in value
    }
    found["meeting"] = app.bot_data[SERVICES_KEY].storage.meeting_step(telegram_id, time.time())
    return found


async def _note_steps(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before the update: if a proposals step is open, what other steps are open."""
    _other_steps.set(None)
    user = update.effective_user if isinstance(update, Update) else None
    if user is None:
        return
    try:  # a bookkeeping hook: a failure here must not turn into an error reply
        if flow.awaiting(_desk(context), user.id) is not None:
            _other_steps.set(_steps_elsewhere(context.application, user.id))
    except Exception:
        log.exception("proposals: could not look at the open steps")


async def _yield_step(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After the update: another feature opened or moved a step, so the proposals step ends."""
    before = _other_steps.get()
    if before is None or not isinstance(update, Update) or update.effective_user is None:
        return
    _other_steps.set(None)
    user_id = update.effective_user.id
    try:
        after = _steps_elsewhere(context.application, user_id)
        if any(value is not None and before.get(key) != value for key, value in after.items()):
            _desk(context).storage.proposal_input_clear(user_id)
    except Exception:
        log.exception("proposals: could not end the open step")


# ---- the periodic pass -----------------------------------------------------------------------


async def _sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
    desk = _desk(context)
    try:
        result = sweep(desk)
    except Exception:  # a bad pass must not stop the next one
        log.exception("proposals sweep failed")
        return
    if any(result.__dict__.values()):
        log.info("proposals sweep at %s: %s", datetime.now(desk.storage.tz).isoformat(timespec="seconds"), result)
        _wake(context.bot_data)


def register(app: Application) -> None:
    new = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("propose", propose, filters=new))
    app.add_handler(CommandHandler("opinion", opinion, filters=new))
    app.add_handler(CommandHandler("myproposals", myproposals, filters=new))
    app.add_handler(CommandHandler("proposals", unit_proposals, filters=new))
    app.add_handler(CommandHandler("review", review_command, filters=new))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^pp:"))
    app.add_handler(
        MessageHandler(new & private & filters.TEXT & ~filters.COMMAND & _Awaiting(app, document=False), typed)
    )
    files = filters.Document.ALL | filters.PHOTO
    app.add_handler(MessageHandler(new & private & files & _Awaiting(app, document=True), document))
    app.add_handler(TypeHandler(Update, _note_steps), group=BEFORE_GROUP)
    app.add_handler(TypeHandler(Update, _yield_step), group=AFTER_GROUP)


async def startup(app: Application) -> None:
    default_config()  # a malformed knowledge/proposals.json stops the start with its message
    app.job_queue.run_repeating(
        _sweep,
        SWEEP_SECONDS,
        first=1,
        name=SWEEP_JOB,
        job_kwargs={"id": SWEEP_JOB, "replace_existing": True, "misfire_grace_time": SWEEP_SECONDS},
    )


async def shutdown(app: Application) -> None:
    for job in app.job_queue.get_jobs_by_name(SWEEP_JOB):
        job.schedule_removal()
