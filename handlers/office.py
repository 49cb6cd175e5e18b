"""Secretaries' administration in chat: /codes, /admins, adding a secretary from a shared contact
or a forwarded message, removing one. No server shell needed for daily work.

Thin adapters over bot.people.identity (issue_codes, add_admin, remove_admin, list_admins); every
permission check goes through bot.people.roles.authorize ("manage_people"). A new secretary's
command menu is set at once (BotCommandScopeChat), a removed one's is taken away; a periodic
check does the same for secretaries added or removed with the CLI while the bot runs.
"""

from __future__ import annotations

import io
import logging

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InputFile,
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.numbers import read_number
from bot.people.identity import PeopleError, add_admin, issue_codes, list_admins, remove_admin
from bot.people.roles import PermissionDenied, authorize
from bot.phone import mask_phone
from bot.reply import Button, Reply
from handlers.common import SERVICES_KEY, caller, is_private, services
from handlers.privacy import acknowledge, send_file
from handlers.render import send_reply

COMMANDS: list[BotCommand] = []
SECRETARY_COMMANDS = [
    BotCommand("codes", "为未绑定的人生成绑定码（政协办秘书）"),
    BotCommand("admins", "秘书名单，添加或移除秘书（政协办秘书）"),
]
CODE_DAYS = 7
MENUS_KEY = "office.secretary_menus"  # bot_data: telegram ids that have the secretaries' menu
MENU_JOB = "office.menu_sync"
PRIVATE_ONLY = "为保护个人信息，请在与我的私聊中使用这个命令。"
log = logging.getLogger(__name__)


async def _say(message: Message, text: str, buttons: list[list[Button]] | None = None) -> None:
    await send_reply(message, Reply(text, buttons or [], personal=True))


async def _refuse(message: Message, text: str) -> None:
    await send_reply(message, Reply(text, refusal=True))


def _secretary(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """The caller if a secretary (audited refusal otherwise: PermissionDenied)."""
    who = caller(update, context)
    authorize(services(context).storage, who, "manage_people")
    return who


# ---- /codes ----------------------------------------------------------------------------------


async def codes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/codes` lists fresh binding codes for everyone not yet bound; `/codes xlsx` sends a table."""
    message = update.effective_message
    if not is_private(message):
        await _refuse(message, PRIVATE_ONLY)
        return
    try:
        who = _secretary(update, context)
    except PermissionDenied as exc:
        await _refuse(message, exc.message)
        return
    svc = services(context)
    issued = issue_codes(svc.storage, who, CODE_DAYS, plan=svc.plan)
    if not issued:
        await _say(message, "名册中的委员和联络员都已绑定，不需要绑定码。")
        return
    note = (
        f"共 {len(issued)} 个绑定码，{CODE_DAYS} 天内有效（这些人此前未使用的绑定码已作废）。"
        "请逐一发给本人：在私聊中发送 /bind 绑定码。"
    )
    if any(arg.lower() in ("xlsx", "excel", "表格") for arg in context.args or []):
        await send_file(message, InputFile(io.BytesIO(_codes_xlsx(issued)), filename="绑定码.xlsx"), caption=note)
        return
    lines = [f"{c.identity.role_label} {c.identity.name}（{c.identity.detail or '—'}）：{c.code}" for c in issued]
    await _say(message, "\n".join([note, *lines]))


def _codes_xlsx(issued) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "绑定码"
    sheet.append(["身份", "姓名", "单位或界别", "手机号", "绑定码", "有效期至"])
    for c in issued:
        who = c.identity
        sheet.append(
            [
                who.role_label,
                who.name,
                who.detail,
                mask_phone(who.phone),
                c.code,
                c.expires_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    for column, width in zip("ABCDEF", (10, 12, 24, 18, 14, 18), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---- /admins ---------------------------------------------------------------------------------


async def admins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if not is_private(message):
        await _refuse(message, PRIVATE_ONLY)
        return
    try:
        _secretary(update, context)
    except PermissionDenied as exc:
        await _refuse(message, exc.message)
        return
    await _show_admins(message, context)


async def _show_admins(message: Message, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    lines = ["政协办秘书："]
    buttons = []
    for entry in list_admins(svc.storage, svc.settings.admin_ids):
        name = _name_of(context, entry.telegram_id)
        if entry.source == "env":
            lines.append(f"· {name}（{entry.telegram_id}，启动设置 CPPCC_ADMIN_IDS，不能在聊天中移除）")
        else:
            lines.append(f"· {name}（{entry.telegram_id}，{entry.added_at or ''} 添加）")
            buttons.append([Button(f"移除 {name}"[:30], f"ad:rm:{entry.telegram_id}")])
    lines.append("添加秘书：把他的联系人名片分享给我，或转发一条他发的消息给我。")
    await _say(message, "\n".join(lines), buttons)


def _name_of(context: ContextTypes.DEFAULT_TYPE, telegram_id: int) -> str:
    from bot.people.identity import whoami

    identity = whoami(services(context).storage, telegram_id)
    return identity.name if identity else str(telegram_id)


# ---- adding from a contact card or a forwarded message ---------------------------------------


async def offer_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A secretary shared someone else's contact: offer to add them as a secretary. True when
    handled (handlers/people.py calls this first; a person's own card still binds them)."""
    message = update.effective_message
    shared = message.contact
    who = caller(update, context)
    if "admin" not in who.capacities or shared is None or shared.user_id == update.effective_user.id:
        return False
    name = " ".join(part for part in (shared.first_name, shared.last_name) if part) or "此人"
    if shared.user_id is None:
        await _say(message, f"{name}的名片里没有 Telegram 账号（可能他还没用 Telegram），无法添加为秘书。")
        return True
    await _offer(message, context, shared.user_id, name)
    return True


async def forwarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A secretary forwarded someone's message: offer to add its sender as a secretary."""
    message = update.effective_message
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser) and not origin.sender_user.is_bot:
        user = origin.sender_user
        await _offer(message, context, user.id, user.full_name)
    elif isinstance(origin, MessageOriginHiddenUser):
        hidden = "看不到这条转发消息的发送者（对方的隐私设置隐藏了账号）。请让他把联系人名片发给您，再分享给我。"
        await _say(message, hidden)
    else:
        other = "这条转发消息来自频道、群或机器人。要添加秘书，请转发他本人发的消息，或分享他的联系人名片。"
        await _say(message, other)


async def _offer(message: Message, context: ContextTypes.DEFAULT_TYPE, telegram_id: int, name: str) -> None:
    svc = services(context)
    if telegram_id in svc.settings.admin_ids or svc.storage.is_admin(telegram_id):
        await _say(message, f"{name}（{telegram_id}）已经是秘书。")
        return
    buttons = [[Button("添加为秘书", f"ad:add:{telegram_id}")], [Button("取消", "ad:x")]]
    await _say(message, f"要把 {name}（Telegram 用户 id {telegram_id}）添加为政协办秘书吗？", buttons)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await acknowledge(query)
    message = query.message
    parts = (query.data or "").split(":")
    if parts[1:] == ["x"]:
        await _say(message, "已取消。")
        return
    target = read_number(parts[2]) if len(parts) == 3 else None
    if target is None:
        await _refuse(message, "这个按钮已失效。")
        return
    svc = services(context)
    try:
        who = _secretary(update, context)
        if parts[1] == "add":
            added = add_admin(svc.storage, who, target)
            if added:
                await _menu(context.application, target, secretary=True)
            await _say(message, f"已添加秘书 {target}，他的命令菜单已更新。" if added else f"{target} 已经是秘书。")
        else:
            if target == update.effective_user.id:
                raise PeopleError("不能移除自己。请由其他秘书操作。")
            remove_admin(svc.storage, who, target, svc.settings.admin_ids)
            await _menu(context.application, target, secretary=False)
            await _say(message, f"已移除秘书 {target}。")
    except (PermissionDenied, PeopleError) as exc:
        await _refuse(message, exc.message)


async def _menu(app: Application, telegram_id: int, *, secretary: bool) -> bool:
    """Set (or take away) one secretary's menu — at once from /admins, or from sync_menus — and
    remember it in MENUS_KEY; False if Telegram
    refused (no private chat with the bot yet: the next sync tries again)."""
    from handlers.app import menus  # late: app imports this module

    menus_set: set[int] = app.bot_data.setdefault(MENUS_KEY, set())
    try:
        if secretary:
            await app.bot.set_my_commands(menus()[1], scope=BotCommandScopeChat(telegram_id))
            menus_set.add(telegram_id)
        else:
            await app.bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
            menus_set.discard(telegram_id)
    except TelegramError as exc:
        log.info("command menu for %s not changed: %s", telegram_id, type(exc).__name__)
        return False
    return True


async def sync_menus(app: Application) -> None:
    """Every secretary has the secretaries' menu and nobody else keeps it, also after
    `cppcc-bot admins add/remove` while the bot runs (checked every settings.menu_sync seconds)."""
    svc = app.bot_data[SERVICES_KEY]
    secretaries = set(svc.settings.admin_ids) | {a.telegram_id for a in svc.storage.admins()}
    menus_set: set[int] = app.bot_data.setdefault(MENUS_KEY, set())
    for telegram_id in sorted(secretaries - menus_set):
        await _menu(app, telegram_id, secretary=True)
    for telegram_id in sorted(menus_set - secretaries):
        await _menu(app, telegram_id, secretary=False)


async def _sync_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await sync_menus(context.application)


class _FromSecretary(filters.MessageFilter):
    """A private message from a secretary (the forwarded-message hook must not catch others')."""

    def __init__(self, app: Application):
        super().__init__(name="from_secretary")
        self.app = app

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None or not is_private(message):
            return False
        svc = self.app.bot_data[SERVICES_KEY]
        return user.id in svc.settings.admin_ids or svc.storage.is_admin(user.id)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("codes", codes))
    app.add_handler(CommandHandler("admins", admins))
    forwarded_filter = filters.UpdateType.MESSAGE & filters.FORWARDED & ~filters.COMMAND & _FromSecretary(app)
    app.add_handler(MessageHandler(forwarded_filter, forwarded))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^ad:"))


async def startup(app: Application) -> None:
    """The secretaries' command menus now, and a check every settings.menu_sync seconds."""
    await sync_menus(app)
    every = app.bot_data[SERVICES_KEY].settings.menu_sync
    app.job_queue.run_repeating(
        _sync_job, every, first=every, name=MENU_JOB, job_kwargs={"id": MENU_JOB, "replace_existing": True}
    )


async def shutdown(app: Application) -> None:
    for job in app.job_queue.get_jobs_by_name(MENU_JOB):
        job.schedule_removal()
