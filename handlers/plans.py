"""Plan files a secretary sends the bot: the import preview with [启用] / [取消].

A kind of the file router (handlers/files.py): a .docx or .txt file, or a spreadsheet whose
header names a task column and a unit column (knowledge/plan_tables.json), is read by
bot/plan/importer.py; the preview is the one `cppcc-bot plan build` prints, with a button to
merge each new unit into the known unit it may be (like `plan build --same`). [启用] puts the plan
in force through Services.activate_plan (the plan in force changes only then; the previous one
is kept for `cppcc-bot plan restore`); [取消] and a second file change nothing.

A switch made on the command line while the bot runs (`cppcc-bot plan use|restore`) is picked
up within FOLLOW_SECONDS: a job looks at plans/state.json (one stat call) and puts the plan it
names in force (Services.follow_plan_in_force), telling the secretaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application, ContextTypes

from bot.config import knowledge_dir
from bot.people.roles import Caller, authorize
from bot.plan import tables as plan_tables
from bot.plan.importer import Knowledge, import_plan
from bot.plan.store import PlanStore
from bot.services import Services
from handlers import files
from handlers.common import services

COMMANDS: list = []
SECRETARY_COMMANDS: list = []
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


def register(app: Application) -> None:
    files.register_kind(PLAN_KIND)


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
