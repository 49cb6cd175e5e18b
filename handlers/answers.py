"""Questions about the plan: /start, /help, /ask, /item, /unit, free text, buttons, non-text."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.reply import Reply
from handlers import inbox, people, screens
from handlers.common import addressed_text, caller, is_private, services
from handlers.privacy import acknowledge
from handlers.render import send_reply


def _personal(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """The caller's own progress, for member-duty questions (None for non-members)."""
    svc = services(context)
    who = caller(update, context)
    return lambda: svc.personal_progress(who)


async def _route(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """A question about the asker (我的履职情况, 我的提案办得怎么样了, 验证身份) opens their own screen
    instead of plan text; True when it was one. In a group the privacy rule applies to the screen."""
    svc = services(context)
    route = svc.dialogue.route(text)
    if route is None:
        return False
    message = update.effective_message
    who = caller(update, context)
    bound = who.member_id is not None or who.unit_contact_id is not None
    if route == "binding" and bound:
        await people.whoami_command(update, context)  # already verified: who they are
        return True
    if route == "binding" or not bound:
        key = "personal_binding" if route == "binding" else "duties_bind_hint"
        await send_reply(message, Reply(svc.engine.messages[key]), quote=not is_private(message))
        await people.verify_prompt(update, context)  # the contact button, in private chats
        return True
    screen = "myproposals" if route == "proposals" and "myproposals" in screens.SCREENS else "mine"
    context.args = []
    await screens.SCREENS[screen](update, context)
    return True


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome; ``/start <payload>`` in private (a deep link from a group) opens that screen."""
    message = update.effective_message
    if context.args and is_private(message) and await screens.open_screen(context.args[0], update, context):
        return
    held = caller(update, context).capacities if is_private(message) else ()
    await send_reply(message, services(context).dialogue.start(held))
    await people.verify_prompt(update, context)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What this person can do, by role, in a private chat; the general help in a group."""
    message = update.effective_message
    held = caller(update, context).capacities if is_private(message) else None
    await send_reply(message, services(context).dialogue.help(held))


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = " ".join(context.args or [])
    if not text:
        reply = Reply("请在 /ask 后面写上问题，例如：/ask 委员活动的经费谁出")
    elif await _route(update, context, text):
        return
    else:
        reply = services(context).dialogue.ask(text, _personal(update, context))
    await send_reply(update.effective_message, reply, quote=not is_private(update.effective_message))


async def item(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    reply = services(context).dialogue.item(" ".join(context.args or []))
    await send_reply(update.effective_message, reply, quote=not is_private(update.effective_message))


async def unit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    reply = services(context).dialogue.unit(" ".join(context.args or []))
    await send_reply(update.effective_message, reply, quote=not is_private(update.effective_message))


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await inbox.typed_reply(update, context):  # 收到 / 参加 / 我请假… to an open notice or meeting
        return
    message = update.effective_message
    text = addressed_text(message, context.bot.id, context.bot.username)
    if text is None or await _route(update, context, text):
        return
    reply = services(context).dialogue.ask(text, _personal(update, context))
    await send_reply(message, reply, quote=not is_private(message))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await acknowledge(query)
    if query.message is None or not hasattr(query.message, "chat"):
        return
    reply = services(context).dialogue.callback(query.data or "", _personal(update, context))
    await send_reply(query.message, reply)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if is_private(message):
        await send_reply(message, Reply(services(context).engine.messages["non_text"]))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commands nobody handles: answer in private chats, unless addressed to another bot."""
    message = update.effective_message
    command = (message.text or "").split()[0]
    target = command.partition("@")[2]
    if target and target.lower() != (context.bot.username or "").lower():
        return
    if is_private(message) or target:
        await send_reply(message, Reply("未知命令。发送 /help 查看可用命令。"))
