"""Plan files a secretary sends the bot: the import preview with [启用] / [取消].

A kind of the file router (handlers/files.py): a .docx or .txt file, or a spreadsheet whose
header names a task column and a unit column (knowledge/plan_tables.json), is read by
bot/plan/importer.py; the preview is the one `cppcc-bot plan build` prints, with a button to
merge each new unit into the known unit it may be (like `plan build --same`). [启用] puts the plan
in force through Services.activate_plan (the plan in force changes only then; the previous one
is kept); [取消] and a second file change nothing. `/plan` shows the plan in force and the
previous one with [恢复上一版] (Services.restore_plan, like `cppcc-bot plan restore`).

A switch made on the command line while the bot runs (`cppcc-bot plan use|restore`) is picked
up within FOLLOW_SECONDS: a job looks at plans/state.json (one stat call) and puts the plan it
names in force (Services.follow_plan_in_force), telling the secretaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.config import knowledge_dir
from bot.errors import UserError
from bot.people.roles import Caller, PermissionDenied, authorize
from bot.plan import tables as plan_tables
from bot.plan.importer import Knowledge, import_plan
from bot.plan.store import PlanStore
from bot.reply import Button, Reply
from bot.services import Services
from handlers import files
from handlers.common import caller, is_private, services
from handlers.privacy import acknowledge
from handlers.render import send_reply

COMMANDS: list = []
SECRETARY_COMMANDS = [BotCommand("plan", "现行实施方案，恢复上一版（政协办秘书）")]
PRIVATE_ONLY = "请在与我的私聊中发送 /plan。"
STALE = "这个按钮已失效（方案已经切换过），请重新发送 /plan 查看。"
TEXT_SUFFIXES = (".docx", ".txt")
MAX_MERGES = 5  # 并入 buttons offered at once
FOLLOW_SECONDS = 10
FOLLOW_JOB = "plan-in-force"


def _is_plan(upload: files.Upload) -> bool:
    if upload.suffix in TEXT_SUFFIXES:
        return True
    if upload.table is None:
        return False
    words = plan_tables.default_words()
    return any(plan_tables.find_header(sheet.rows, words) for sheet in upload.table.sheets)


@dataclass(frozen=True)
class Pending:
    """What the buttons act on: the file, the merges chosen so far and the previewed import."""

    upload: files.Upload
    same: dict[str, str]
    token: str | None  # the pending import in the plans folder; None when it cannot be used
    merges: tuple[tuple[str, str], ...]  # (new unit, known unit) offered as 并入 buttons


def _preview(svc: Services, who: Caller, upload: files.Upload, same: dict[str, str] | None = None) -> files.Step:
    authorize(svc.storage, who, "import_plan")
    same = same or {}
    result = import_plan(upload.data, upload.filename, Knowledge.load(knowledge_dir()), same=same)
    store = PlanStore.at(svc.settings.db_path)
    token = store.save_pending(result.plan, upload.filename) if result.plan is not None else None
    merges = tuple((u.label, u.maybe) for u in result.preview.new_units if u.maybe and token)[:MAX_MERGES]
    actions = [("启用", "on")] if token else []
    actions += [(f"把“{label}”并入“{known}”", f"m{i}") for i, (label, known) in enumerate(merges)]
    return files.Step(result.preview.text(), actions, Pending(upload, same, token, merges))


def _act(svc: Services, who: Caller, state: Pending, action: str) -> files.Step:
    authorize(svc.storage, who, "import_plan")
    if action.startswith("m") and action[1:].isdigit() and int(action[1:]) < len(state.merges):
        label, known = state.merges[int(action[1:])]
        if state.token:
            PlanStore.at(svc.settings.db_path).cancel(state.token)
        return _preview(svc, who, state.upload, {**state.same, label: known})
    return files.Step(svc.activate_plan(state.token or "", who.telegram_id))


PLAN_KIND = files.FileKind("plan", "实施方案", (*TEXT_SUFFIXES, *files.SPREADSHEETS), _is_plan, _preview, _act)


def _status(store: PlanStore) -> Reply:
    previous = store.previous()
    text = f"现行方案：{store.describe(store.in_force())}"
    if previous is None:
        text += "\n还没有启用过导入的方案，没有可恢复的上一份。在私聊中发送方案文件（.docx、.txt、.xlsx）即可导入。"
        return Reply(text, personal=True)
    text += f"\n上一份：{store.describe(previous)}\n点[恢复上一版]换回上一份方案（再次恢复可换回来）。"
    return Reply(text, [[Button("恢复上一版", f"pl:back:{store.version()}")]], personal=True)


async def plan_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/plan`: the plan in force and the previous one, with [恢复上一版] (secretaries)."""
    message = update.effective_message
    if not is_private(message):
        await send_reply(message, Reply(PRIVATE_ONLY, refusal=True))
        return
    svc = services(context)
    try:
        authorize(svc.storage, caller(update, context), "import_plan")
        reply = _status(PlanStore.at(svc.settings.db_path))
    except (PermissionDenied, ValueError) as exc:  # PlanStoreError: a damaged state.json
        await send_reply(message, Reply(getattr(exc, "message", str(exc)), refusal=True))
        return
    await send_reply(message, reply)


async def plan_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await acknowledge(query)
    svc = services(context)
    who = caller(update, context)
    try:
        authorize(svc.storage, who, "import_plan")
        if (query.data or "").split(":")[-1] != PlanStore.at(svc.settings.db_path).version():
            raise UserError(STALE)
        text = svc.restore_plan(who.telegram_id)
    except (PermissionDenied, UserError) as exc:
        await send_reply(query.message, Reply(exc.message, refusal=True))
        return
    await send_reply(query.message, Reply(text, personal=True))


def register(app: Application) -> None:
    files.register_kind(PLAN_KIND)
    app.add_handler(CommandHandler("plan", plan_command))
    app.add_handler(CallbackQueryHandler(plan_button, pattern=r"^pl:back:"))


async def _follow(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    said = svc.follow_plan_in_force()
    if said:
        svc.alert_secretaries(f"plan-follow:{svc.plan_stamp}", said)


async def startup(app: Application) -> None:
    """Follow the plan in force when the command line switches it."""
    app.job_queue.run_repeating(_follow, interval=FOLLOW_SECONDS, first=FOLLOW_SECONDS, name=FOLLOW_JOB)


async def shutdown(app: Application) -> None:
    """Nothing to stop."""
