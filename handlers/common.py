"""Small helpers every handler module uses: the shared services and who is talking."""

from __future__ import annotations

import time

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes, filters

from bot.people.roles import Caller, PermissionDenied, authorize, resolve_caller
from bot.reply import Reply
from bot.services import Services

SERVICES_KEY = "services"


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[SERVICES_KEY]


def caller(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Caller:
    svc = services(context)
    user = update.effective_user
    return resolve_caller(svc.storage, user.id if user else None, svc.settings.admin_ids)


async def permitted(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, action: str) -> bool:
    """bot.people.roles.authorize (audited); on a refusal, tell the user why and return False."""
    from handlers.render import send_reply  # late: render is a leaf module, common is imported first

    try:
        authorize(services(context).storage, who, action)
    except PermissionDenied as exc:
        await send_reply(message, Reply(exc.message, refusal=True))
        return False
    return True


def is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def addressed_text(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The text meant for the bot, or None when a group message is not addressed to it.

    In private chats every text counts. In groups only a message that mentions
    the bot (the mention is removed) or replies to one of its messages.
    """
    text = message.text or ""
    if is_private(message):
        return text
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".lower()
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if value.lower() == mention or (entity.user and entity.user.id == bot_id):
            return text.replace(value, " ").strip()
    return None


class AwaitingStep(filters.MessageFilter):
    """True for a private message from a user with an open step stored under ``key`` in their
    user_data as ``{"until": <time.monotonic() deadline>, …}``: a guided flow waiting for input."""

    def __init__(self, app: Application, key: str):
        super().__init__(name=f"awaiting[{key}]")
        self.app = app
        self.key = key

    def filter(self, message: Message) -> bool:
        user = message.from_user
        if user is None or not is_private(message):
            return False
        state = self.app.user_data.get(user.id, {}).get(self.key)
        return bool(state) and time.monotonic() < state["until"]
