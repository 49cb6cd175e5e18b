"""Files a secretary sends the bot: recognised, previewed (a dry run), then imported or cancelled.

A document in a private chat from a secretary is checked (size, then the name's suffix) before
anything is downloaded; anyone else is refused first, and a secretary sending a spreadsheet in a
group is asked to send it privately. The file is read by bot/tables.py and recognised from its
headers by the registered kinds; when more than one kind fits (a roster with a 单位 column),
the bot asks with buttons. The preview lists what would change, with buttons for the kind's
actions and [取消]. One preview is pending per secretary: a second file cancels the first and
says so; a stale or doubled button press changes nothing and says why.

Extending it (issue 18, plan files): register a :class:`FileKind` from the feature's handler
module, before the application starts::

    files.register_kind(FileKind(
        name="plan", label="实施方案", suffixes=(".docx", ".txt", ".xlsx"),
        recognise=lambda upload: upload.suffix in (".docx", ".txt") or …,   # upload: Upload
        preview=preview_plan,   # (svc, caller, upload) -> Step: text, actions [("启用", "on")], state
        act=act_on_plan,        # (svc, caller, state, action) -> Step; a Step without actions ends it
    ))

``upload.table`` is the opened spreadsheet for .xlsx/.xls/.csv (None for other suffixes);
``upload.data`` the bytes (.docx: check them with bot.tables.check_zip first). A kind's
``preview``/``act`` may raise UserError (its message is shown, the pending preview stays);
callback data is ``fi:<token>:<action>`` (action up to 16 ASCII characters).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.calendar.events import audience_label, import_events, read_event_rows
from bot.csvfile import ImportProblems
from bot.errors import UserError
from bot.people.records import import_records, preview_records
from bot.people.roles import Caller, PermissionDenied, authorize
from bot.people.roster import SHOWN_SKIPPED, RosterPreview, apply_roster, preview_roster, skipped_lines
from bot.plan.model import Plan, default_plan
from bot.reply import Button, Reply
from bot.services import Services
from bot.tables import SPREADSHEET_HINT, Table, check_size, open_table
from handlers.common import caller, is_private, services
from handlers.privacy import acknowledge
from handlers.render import send_reply

COMMANDS: list = []
SECRETARY_COMMANDS: list = []

PENDING_KEY = "file_import"  # in user_data: {"token", "kind", "state", "filename", "until"}
PENDING_SECONDS = 30 * 60
SPREADSHEETS = (".xlsx", ".xls", ".csv")
ASK_PRIVATELY = "为保护个人信息，请在与我的私聊中发送名册等文件。"
STALE = "这个预览已失效（已导入、已取消或已被新文件取代），请重新发送文件。"


@dataclass(frozen=True)
class Upload:
    filename: str
    suffix: str
    data: bytes
    table: Table | None  # the opened spreadsheet, None for other files
    plan: Plan | None = None  # the plan in force (its unit catalogue tells a contacts list)


@dataclass
class Step:
    """What a kind answers: the text, its buttons as (label, action), and state kept for the next
    press; no actions ends the import (the pending preview is forgotten)."""

    text: str
    actions: list[tuple[str, str]] = field(default_factory=list)
    state: Any = None


@dataclass(frozen=True)
class FileKind:
    name: str
    label: str
    suffixes: tuple[str, ...]
    recognise: Callable[[Upload], bool]
    preview: Callable[[Services, Caller, Upload], Step]
    act: Callable[[Services, Caller, Any, str], Step]


KINDS: dict[str, FileKind] = {}


def register_kind(kind: FileKind) -> None:
    KINDS[kind.name] = kind


# ---- the roster kinds --------------------------------------------------------------------------

MEMBER_ONLY = {"界别", "专委会", "乡镇街道", "党派", "是否常委"}


def _columns(upload: Upload) -> set[str]:
    return upload.table.columns() if upload.table is not None else set()


def _is_member_roster(upload: Upload) -> bool:
    """姓名 + 手机号, with member columns or no 单位 column, or a 单位 column of workplaces."""
    columns = _columns(upload)
    if not _is_person_list(columns):
        return False
    return "单位" not in columns or bool(MEMBER_ONLY & columns) or not _units_known(upload)


def _is_contact_list(upload: Upload) -> bool:
    columns = _columns(upload)
    return _is_person_list(columns) and "单位" in columns and not MEMBER_ONLY & columns


def _units_known(upload: Upload) -> bool:
    """At least half of the 单位 cells name a unit of the catalogue (else they may be workplaces
    on a members roster, and the secretary is asked)."""
    try:
        rows, _ = upload.table.records(("单位", "姓名", "手机号"))
    except ImportProblems:
        return False
    plan = upload.plan or default_plan()
    names = [row.get("单位") for row in rows if row.get("单位")]
    return bool(names) and sum(plan.resolve_unit(name) is not None for name in names) * 2 >= len(names)


def _is_person_list(columns: set[str]) -> bool:
    return {"姓名", "手机号"} <= columns and not {"类型", "标题"} & columns and not {"类型", "对象"} <= columns


def _roster_step(preview: RosterPreview, upload: Upload) -> Step:
    actions: list[tuple[str, str]] = []
    text = preview.describe()
    if preview.skipped:
        actions.append(("跳过问题行后导入", "skip"))
        text += "\n\n有问题的行可以修正后重新发送文件（新文件会取代这个预览）。"
    elif preview.incoming:
        actions.append(("确认导入", "ok"))
    if preview.incoming and not preview.full and preview.absent:
        actions.append((f"作为完整名册（停用 {preview.absent} 人）", "full"))
    elif preview.full:
        actions.append(("改为部分更新（不停用）", "part"))
    if not preview.incoming:
        text += "\n\n文件中没有可以导入的行。"
    return Step(text, actions, (preview, upload))


def _roster_kind(kind: str, label: str, recognise: Callable[[Upload], bool]) -> FileKind:
    def preview(svc: Services, who: Caller, upload: Upload, full: bool = False) -> Step:
        found = preview_roster(
            svc.storage, who, kind, upload.data, upload.filename, full=full, plan=svc.plan, table=upload.table
        )
        return _roster_step(found, upload)

    def act(svc: Services, who: Caller, state: tuple[RosterPreview, Upload], action: str) -> Step:
        found, upload = state
        if action in ("full", "part"):
            return preview(svc, who, upload, full=action == "full")
        summary = apply_roster(svc.storage, who, found, skip_bad=action == "skip")
        return Step(f"{found.label}已导入：{summary.describe()}。")

    return FileKind(kind, label, SPREADSHEETS, recognise, preview, act)


register_kind(_roster_kind("member", "委员名册", _is_member_roster))
register_kind(_roster_kind("unit_contact", "单位联络员名单", _is_contact_list))


# ---- records and events ------------------------------------------------------------------------


def _rows_step(text: list[str], rows: list, problems: list[tuple[int, str]], state: Any) -> Step:
    text += skipped_lines(problems)
    if not rows:
        return Step("\n".join([*text, "文件中没有可以导入的行。"]))
    action = ("跳过问题行后导入", "skip") if problems else ("确认导入", "ok")
    return Step("\n".join(text), [action], state)


def _preview_records(svc: Services, who: Caller, upload: Upload) -> Step:
    found = preview_records(svc.storage, who, upload.table, svc.storage.today(), svc.plan)
    if not found.rows:
        return Step(found.describe())
    action = ("跳过问题行后导入", "skip") if found.skipped else ("确认导入", "ok")
    return Step(found.describe(), [action], (found.rows, _digest(upload)))


def _act_records(svc: Services, who: Caller, state: tuple[list, str], action: str) -> Step:
    rows, digest = state
    summary = import_records(svc.storage, who, b"", rows=rows, file_hash=digest)
    return Step(f"履职记录已导入：{summary.describe()}。")


def _preview_events(svc: Services, who: Caller, upload: Upload) -> Step:
    authorize(svc.storage, who, "manage_events")
    rows, problems = read_event_rows(svc.storage, upload.table, svc.storage.now())
    text = [f"活动预览：可导入 {len(rows)} 项（与已有活动完全相同的不会重复添加）"]
    text += [
        f"  {e.start_date} {e.start_time or ''} {e.kind}《{e.title}》 {audience_label(e.audience)}"
        for e in rows[:SHOWN_SKIPPED]
    ]
    return _rows_step(text, rows, problems.by_line(), (rows, _digest(upload)))


def _act_events(svc: Services, who: Caller, state: tuple[list, str], action: str) -> Step:
    rows, digest = state
    summary = import_events(svc.storage, who, b"", rows=rows, file_hash=digest)
    return Step(f"活动已导入：{summary.describe()}。")


def _digest(upload: Upload) -> str:
    return hashlib.sha256(upload.data).hexdigest()


def _is_records(upload: Upload) -> bool:
    columns = _columns(upload)
    return {"类型", "标题", "日期"} <= columns and bool({"姓名", "手机号"} & columns)


def _is_events(upload: Upload) -> bool:
    return {"类型", "日期", "对象"} <= _columns(upload)


register_kind(FileKind("records", "履职记录", SPREADSHEETS, _is_records, _preview_records, _act_records))
register_kind(FileKind("events", "活动安排", SPREADSHEETS, _is_events, _preview_events, _act_events))


# ---- the router --------------------------------------------------------------------------------


async def _say(message: Message, text: str, actions: list[tuple[str, str]] = (), token: str = "") -> None:
    buttons = [[Button(label, f"fi:{token}:{action}")] for label, action in actions]
    await send_reply(message, Reply(text, buttons, personal=True))


def _refusal(message: Message, text: str):
    return send_reply(message, Reply(text, refusal=True))


def _pending(context: ContextTypes.DEFAULT_TYPE) -> dict | None:
    pending = context.user_data.get(PENDING_KEY) if context.user_data is not None else None
    if pending and time.monotonic() < pending["until"]:
        return pending
    return None


def _keep(context: ContextTypes.DEFAULT_TYPE, kind: str, state: Any, filename: str) -> str:
    token = secrets.token_hex(4)
    context.user_data[PENDING_KEY] = {
        "token": token,
        "kind": kind,
        "state": state,
        "filename": filename,
        "until": time.monotonic() + PENDING_SECONDS,
    }
    return token


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document outside any guided flow: the secretaries' file imports."""
    message = update.effective_message
    doc = message.document
    who = caller(update, context)
    suffix = Path(doc.file_name or "").suffix.lower()
    if not is_private(message):
        if "admin" in who.capacities and suffix in _suffixes():
            await _refusal(message, ASK_PRIVATELY)
        return
    svc = services(context)
    if "admin" not in who.capacities and suffix not in _suffixes():
        await send_reply(message, Reply(svc.engine.messages["non_text"]))  # a file for nobody's flow
        return
    try:
        authorize(svc.storage, who, "import_files")
        check_size(doc.file_size)
    except (PermissionDenied, ImportProblems) as exc:
        await _refusal(message, exc.message if isinstance(exc, PermissionDenied) else exc.problems[0])
        return
    if suffix not in _suffixes():
        known = "、".join(_suffixes())
        await _refusal(message, f"暂不能读取 {suffix or '这种'} 文件。可以发送的文件：{known}。{SPREADSHEET_HINT}。")
        return
    previous = _pending(context)
    context.user_data.pop(PENDING_KEY, None)
    if previous:
        await _say(message, f"已取消上一个文件《{previous['filename']}》的导入预览，改为处理这个文件。")
    filename = doc.file_name or "文件"
    try:
        data = bytes(await (await doc.get_file()).download_as_bytearray())
        table = open_table(data, filename) if suffix in SPREADSHEETS else None
    except ImportProblems as exc:
        await _say(message, f"无法导入《{filename}》：\n" + "\n".join(exc.problems))
        return
    upload = Upload(filename, suffix, data, table, svc.plan)
    kinds = [kind for kind in KINDS.values() if suffix in kind.suffixes and kind.recognise(upload)]
    if not kinds:
        await _say(message, _unrecognised(filename))
        return
    if len(kinds) > 1:
        token = _keep(context, "?", upload, filename)
        await _say(
            message, f"《{filename}》是哪一种文件？", [(k.label, f"k:{k.name}") for k in kinds] + [("取消", "x")], token
        )
        return
    await _preview(message, context, who, kinds[0], upload)


def _suffixes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(suffix for kind in KINDS.values() for suffix in kind.suffixes))


def _unrecognised(filename: str) -> str:
    return (
        f"无法识别《{filename}》是哪种文件：前10行中没有找到下列任一种表头。\n"
        "· 委员名册：姓名、手机号（可加 界别、专委会、乡镇街道、党派、是否常委）\n"
        "· 单位联络员名单：单位、姓名、手机号\n"
        "· 履职记录：姓名或手机号、类型、标题、日期\n"
        "· 活动：类型、日期、对象"
    )


async def _preview(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, kind: FileKind, upload: Upload):
    svc = services(context)
    try:
        step = kind.preview(svc, who, upload)
    except (UserError, ImportProblems) as exc:
        await _say(message, f"无法导入《{upload.filename}》：\n{_message(exc)}")
        return
    token = _keep(context, kind.name, step.state, upload.filename) if step.actions else ""
    await _say(message, step.text, [*step.actions, ("取消", "x")] if step.actions else [], token)


def _message(exc: Exception) -> str:
    if isinstance(exc, ImportProblems):
        return "\n".join(exc.report())
    return exc.message


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await acknowledge(query)
    token, _, action = (query.data or "").removeprefix("fi:").partition(":")
    message = query.message
    pending = _pending(context)
    chosen = KINDS.get(action[2:]) if action.startswith("k:") else KINDS.get(pending["kind"]) if pending else None
    if pending is None or pending["token"] != token or (chosen is None and action != "x"):
        await _refusal(message, STALE)
        return
    who = caller(update, context)
    svc = services(context)
    context.user_data.pop(PENDING_KEY, None)  # a second press of the same button finds nothing
    if action == "x":
        await _say(message, f"已取消《{pending['filename']}》的导入，没有做任何更改。")
        return
    try:
        authorize(svc.storage, who, "import_files")
        if action.startswith("k:"):
            await _preview(message, context, who, chosen, pending["state"])
            return
        step = chosen.act(svc, who, pending["state"], action)
    except (UserError, ImportProblems) as exc:
        context.user_data[PENDING_KEY] = pending  # nothing changed: the preview stays usable
        await _say(message, _message(exc), [("取消", "x")], token)
        return
    new_token = _keep(context, pending["kind"], step.state, pending["filename"]) if step.actions else ""
    await _say(message, step.text, [*step.actions, ("取消", "x")] if step.actions else [], new_token)


def register(app: Application) -> None:
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, document))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^fi:"))


async def startup(app: Application) -> None:
    """Nothing to start."""


async def shutdown(app: Application) -> None:
    """Nothing to stop."""
