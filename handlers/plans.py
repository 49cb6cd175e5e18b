"""Plan files a secretary sends the bot: the import preview with [启用] / [取消].

A kind of the file router (handlers/files.py): a .docx or .txt file, or a spreadsheet whose
header names a task column and a unit column (knowledge/plan_tables.json), is read by
bot/plan/importer.py; the preview is the one `cppcc-bot plan build` prints. [启用] puts the plan
in force through Services.activate_plan (the plan in force changes only then; the previous one
is kept for `cppcc-bot plan restore`); [取消] and a second file change nothing.
"""

from __future__ import annotations

from telegram.ext import Application

from bot.config import knowledge_dir
from bot.people.roles import Caller, authorize
from bot.plan import tables as plan_tables
from bot.plan.importer import Knowledge, import_plan
from bot.plan.store import PlanStore
from bot.services import Services
from handlers import files

COMMANDS: list = []
SECRETARY_COMMANDS: list = []
TEXT_SUFFIXES = (".docx", ".txt")


def _is_plan(upload: files.Upload) -> bool:
    if upload.suffix in TEXT_SUFFIXES:
        return True
    if upload.table is None:
        return False
    words = plan_tables.default_words()
    return any(plan_tables.find_header(sheet.rows, words) for sheet in upload.table.sheets)


def _preview(svc: Services, who: Caller, upload: files.Upload) -> files.Step:
    authorize(svc.storage, who, "import_plan")
    result = import_plan(upload.data, upload.filename, Knowledge.load(knowledge_dir()))
    text = result.preview.text()
    if result.plan is None:
        return files.Step(text)
    token = PlanStore.at(svc.settings.db_path).save_pending(result.plan, upload.filename)
    return files.Step(text, [("启用", "on")], token)


def _act(svc: Services, who: Caller, token: str, action: str) -> files.Step:
    authorize(svc.storage, who, "import_plan")
    return files.Step(svc.activate_plan(token))


PLAN_KIND = files.FileKind("plan", "实施方案", (*TEXT_SUFFIXES, *files.SPREADSHEETS), _is_plan, _preview, _act)


def register(app: Application) -> None:
    files.register_kind(PLAN_KIND)


async def startup(app: Application) -> None:
    """Nothing to start."""


async def shutdown(app: Application) -> None:
    """Nothing to stop."""
