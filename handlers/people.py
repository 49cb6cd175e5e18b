"""People and records in chat: identity binding, /whoami, /unbind, /mine, /record, /progress.

Thin adapters over bot.people.identity, bot.people.records and bot.people.progress; every permission
check goes through bot.people.roles.authorize.
"""

from __future__ import annotations

import io
import time
import warnings
from datetime import date

from telegram import BotCommand, InputFile, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.dates import DateError, parse_when
from bot.numbers import NumberError, parse_number
from bot.people.identity import BindingTaken, PeopleError, bind_by_code, bind_by_contact, unbind, whoami
from bot.people.progress import general_rule_text
from bot.people.records import RECORD_KIND_CHOICES, RecordError, add_record, valid_date
from bot.people.roles import Caller, PermissionDenied, authorize
from bot.people.statistics import duty_statistics, format_statistics, statistics_csv, statistics_xlsx
from bot.reply import Button, Reply
from handlers.common import caller, is_private, permitted, services
from handlers.privacy import acknowledge, send_file
from handlers.render import send_reply

COMMANDS = [
    BotCommand("mine", "我的履职情况"),
    BotCommand("record", "登记提案、社情民意、活动或培训"),
    BotCommand("whoami", "我的身份"),
    BotCommand("bind", "用绑定码验证身份"),
]
SECRETARY_COMMANDS = [BotCommand("progress", "全体委员履职统计（政协办秘书）")]

UNBIND_USAGE = "用法：/unbind（解除本人绑定），秘书可用 /unbind Telegram用户id"
KIND, TITLE, DATE, CONFIRM = range(4)
PRIVATE = filters.ChatType.PRIVATE
FLOW_KEY = "record_draft"  # in user_data: {"kind", "title", "date", "until": time.monotonic() deadline}
RECORD_TIMEOUT = 600  # seconds the guided /record waits for the next step


def _text(context: ContextTypes.DEFAULT_TYPE, key: str, **values) -> str:
    return services(context).engine.messages[key].format(**values)


async def _say(update: Update, reply: Reply) -> None:
    await send_reply(update.effective_message, reply)


async def _refuse(update: Update, message: str) -> None:
    """A short "no" about the asker's own request (handlers/privacy.py: an alert after a button)."""
    await _say(update, Reply(message, refusal=True))


def _bound_person(who: Caller) -> bool:
    return who.member_id is not None or who.unit_contact_id is not None


async def verify_prompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After /start in a private chat: offer the contact button to people not yet identified
    (not to a secretary, who may verify as a member with /bind or by sharing a contact)."""
    who = caller(update, context)
    if is_private(update.effective_message) and not _bound_person(who) and who.role != "admin":
        text = _text(context, "verify_prompt")
        await _say(update, Reply(text, contact_request=services(context).engine.messages["verify_button"]))


def _bound_reply(context: ContextTypes.DEFAULT_TYPE, identity) -> Reply:
    key = "bound" if identity.kind == "member" else "bound_contact"
    return Reply(_text(context, key, identity=identity.describe()), remove_keyboard=True, personal=True)


def _wake_outbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """A refused takeover queued a message to the secretaries: have the outbox sender look now."""
    from handlers import notices

    sender = context.bot_data.get(notices.SENDER_KEY)
    if sender is not None:
        sender.wake()


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    from handlers import office  # a secretary sharing someone else's card adds a secretary

    if await office.offer_contact(update, context):
        return
    shared = update.effective_message.contact
    svc = services(context)
    try:
        identity = bind_by_contact(
            svc.storage, update.effective_user.id, shared.user_id, shared.phone_number, alert=svc.alert_secretaries
        )
    except PeopleError as exc:
        if isinstance(exc, BindingTaken):
            _wake_outbox(context)
        await _say(update, Reply(exc.message, remove_keyboard=True))
        return
    await _say(update, _bound_reply(context, identity))


async def bind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_private(update.effective_message):
        await _refuse(update, "为保护个人信息，请在与我的私聊中发送 /bind。")
        return
    code = " ".join(context.args or [])
    if not code:
        await _refuse(update, _text(context, "bind_usage"))
        return
    svc = services(context)
    try:
        identity = bind_by_code(svc.storage, update.effective_user.id, code, alert=svc.alert_secretaries)
    except PeopleError as exc:
        if isinstance(exc, BindingTaken):
            _wake_outbox(context)
        await _refuse(update, exc.message)
        return
    await _say(update, _bound_reply(context, identity))


async def whoami_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    who = caller(update, context)
    identity = whoami(svc.storage, update.effective_user.id)
    lines = [_text(context, "whoami", identity=identity.describe())] if identity else []
    if who.role == "admin":
        lines.append(_text(context, "whoami_admin", telegram_id=update.effective_user.id))
    await _say(update, Reply("\n".join(lines) or _text(context, "whoami_none"), personal=True))


async def unbind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    who = caller(update, context)
    target = update.effective_user.id
    if context.args:
        try:
            target = parse_number(context.args[0], usage=UNBIND_USAGE, what="Telegram用户id")
        except NumberError as exc:
            await _refuse(update, exc.message)
            return
    try:
        identity = unbind(svc.storage, who, target)
    except (PeopleError, PermissionDenied) as exc:
        await _say(update, Reply(exc.message, personal=True))  # whether someone is bound is personal
        return
    await _say(update, Reply(_text(context, "unbound", identity=identity.describe()), personal=True))


async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    who = caller(update, context)
    if who.member_id is None:
        await _say(update, Reply(general_rule_text(svc.plan)))
        return
    await _say(update, Reply(svc.personal_progress(who), personal=True))


async def progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Secretaries: everyone's counts; `/progress csv` sends a file; other words filter."""
    svc = services(context)
    if not await permitted(update.effective_message, context, caller(update, context), "view_all_progress"):
        return
    args = list(context.args or [])
    as_csv = "csv" in (a.lower() for a in args)
    words = [a for a in args if a.lower() != "csv"]
    years = [int(w) for w in words if len(w) == 4 and w.isascii() and w.isdigit() and 2000 <= int(w) <= 2100]
    words = [w for w in words if not (years and w == str(years[0]))]
    year = years[0] if years else svc.storage.today().year  # /progress 2026
    filters_given = _progress_filters(svc, words)
    stats = duty_statistics(svc.storage, year, **filters_given, plan=svc.plan)
    if as_csv:  # the same columns as the xlsx
        data = statistics_csv(stats).encode("utf-8-sig")
        await send_file(
            update.effective_message,
            InputFile(io.BytesIO(data), filename=f"progress-{year}.csv"),
            caption=_text(context, "progress_csv_caption", year=year),
        )
        return
    if "xlsx" in (a.lower() for a in args):  # the duty statistics of (34) as a workbook
        await send_file(
            update.effective_message,
            InputFile(io.BytesIO(statistics_xlsx(stats)), filename=f"duties-{year}.xlsx"),
            caption=f"{year}年委员履职统计：各项次数、出勤率、未请假缺席，以及全部达标和一项未完成的名单。",
        )
        return
    await _say(update, Reply(format_statistics(stats), personal=True))


def _progress_filters(svc, words: list[str]) -> dict[str, str]:
    """Match filter words against the roster's 专委会 / 界别 / 乡镇街道 values."""
    chosen: dict[str, str] = {}
    members = svc.storage.people("member", active=True)
    for word in words:
        for field in ("committee", "sector", "township"):
            if any(getattr(m, field) == word for m in members):
                chosen[field] = word
                break
    return chosen


# ---- /record ------------------------------------------------------------------


def _member_or_refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Caller | None:
    who = caller(update, context)
    try:
        authorize(services(context).storage, who, "record_own")
    except PermissionDenied as exc:
        context.chat_data["refusal"] = exc.message
        return None
    return who


async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """`/record 提案 标题 [日期]` records at once; bare `/record` starts the guided flow."""
    who = _member_or_refuse(update, context)
    if who is None:
        await _refuse(update, context.chat_data.pop("refusal"))
        return ConversationHandler.END
    args = list(context.args or [])
    if not args:
        buttons = [[Button(label, f"p:k:{kind}")] for kind, label in RECORD_KIND_CHOICES]
        buttons.append([Button("取消", "p:x")])
        await _say(update, Reply(_text(context, "record_pick_kind"), buttons))
        return KIND
    if len(args) < 2:
        await _refuse(update, _text(context, "record_usage"))
        return ConversationHandler.END
    kind, words = args[0], args[1:]
    day = None
    if len(words) > 1 and _looks_like_date(words[-1]):
        day, words = words[-1], words[:-1]
    await _save(update, context, who, kind, " ".join(words), day)
    return ConversationHandler.END


def _looks_like_date(word: str) -> bool:
    """The last word of `/record 提案 标题 3月5日` is a date (bot/dates.py: 2024-03-05, 3月5日, 昨天 …)."""
    if any(ch.isdigit() for ch in word) and any(sep in word for sep in "-/.年月"):
        return True  # date-like, so a wrong one is refused rather than kept in the title
    try:
        when = parse_when(word, date.today(), future=False)
    except DateError:
        return False
    return when.day is not None and when.clock is None


async def _save(update: Update, context, who: Caller, kind: str, title: str, day) -> None:
    try:
        saved = add_record(services(context).storage, who, kind, title, day)
    except (RecordError, PermissionDenied) as exc:
        await _refuse(update, exc.message)
        return
    text = _text(context, "record_saved", kind=saved.kind, title=saved.title, date=saved.date.isoformat())
    await _say(update, Reply(text, personal=True))


async def picked_kind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await acknowledge(query)
    kind = query.data.removeprefix("p:k:")
    context.user_data.pop(FLOW_KEY, None)
    _draft(context)["kind"] = kind
    await _say(update, Reply(_text(context, "record_ask_title", kind=kind)))
    return TITLE


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict:
    """The /record draft; it expires with the conversation (handlers/guards.py forgets it after "until")."""
    draft = context.user_data.setdefault(FLOW_KEY, {})
    draft["until"] = time.monotonic() + RECORD_TIMEOUT
    return draft


async def got_title(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    draft = _draft(context)
    draft["title"] = update.effective_message.text
    buttons = [[Button("今天", "p:d:today")], [Button("取消", "p:x")]]
    await _say(update, Reply(_text(context, "record_ask_date"), buttons))
    return DATE


async def got_date(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    svc = services(context)
    draft = _draft(context)
    if update.callback_query:
        await acknowledge(update.callback_query)
        raw = None
    else:
        raw = update.effective_message.text
    try:
        day = valid_date(raw, svc.storage.today())
    except RecordError as exc:
        await _refuse(update, exc.message)
        return DATE
    draft["date"] = day.isoformat()
    text = _text(context, "record_confirm", kind=draft.get("kind"), title=draft.get("title"), date=draft["date"])
    await _say(update, Reply(text, [[Button("确认登记", "p:ok"), Button("取消", "p:x")]], personal=True))
    return CONFIRM


async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await acknowledge(update.callback_query)
    draft = context.user_data.pop(FLOW_KEY, None)
    who = _member_or_refuse(update, context)
    if who is None:
        await _refuse(update, context.chat_data.pop("refusal"))
    elif draft:
        await _save(update, context, who, draft["kind"], draft["title"], draft["date"])
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    if update.callback_query:
        await acknowledge(update.callback_query)
    context.user_data.pop(FLOW_KEY, None)
    await _say(update, Reply(_text(context, "cancelled")))
    return ConversationHandler.END


def register(app: Application) -> None:
    text = filters.TEXT & ~filters.COMMAND & PRIVATE
    # Mixing message and button steps needs per_message=False; PTB warns about it by design.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        flow = ConversationHandler(
            entry_points=[CommandHandler("record", record, filters=PRIVATE)],
            states={
                KIND: [CallbackQueryHandler(picked_kind, pattern=r"^p:k:")],
                TITLE: [MessageHandler(text, got_title)],
                DATE: [CallbackQueryHandler(got_date, pattern=r"^p:d:"), MessageHandler(text, got_date)],
                CONFIRM: [CallbackQueryHandler(confirmed, pattern=r"^p:ok$")],
            },
            fallbacks=[CommandHandler("cancel", cancel), CallbackQueryHandler(cancel, pattern=r"^p:x$")],
            conversation_timeout=RECORD_TIMEOUT,
        )
    app.add_handler(flow)
    app.add_handler(MessageHandler(filters.CONTACT & filters.ChatType.PRIVATE, contact))
    app.add_handler(CommandHandler("bind", bind))
    app.add_handler(CommandHandler("whoami", whoami_command))
    app.add_handler(CommandHandler("unbind", unbind_command))
    app.add_handler(CommandHandler("mine", mine))
    app.add_handler(CommandHandler("progress", progress))
    app.add_handler(CommandHandler("record", _record_in_group, filters=~PRIVATE))


async def _record_in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat and update.effective_chat.type != ChatType.PRIVATE:
        await _refuse(update, "为保护个人信息，请在与我的私聊中登记履职记录。")


async def startup(app: Application) -> None:
    """Nothing to start."""


async def shutdown(app: Application) -> None:
    """Nothing to stop."""
