"""The privacy rule, in one place: personal replies go only to private chats.

The core classifies every reply (``Reply.personal``, ``Reply.refusal`` in bot/reply.py) and
files are always personal. Here that becomes where a reply goes:

* In a private chat: there, whatever it is.
* In a group, after a message (a command, a mention, a reply to the bot): a public reply goes
  to the group. A personal one goes to the asker's private chat (when they have one: Telegram
  answers 403 to a user who never started the bot) and the group gets one short public line
  with a deep link ``https://t.me/<bot>?start=<screen>`` that opens the same screen in private
  (handlers/screens.py).
* In a group, after a button press: a public reply goes to the group; a refusal is shown to
  the presser alone as an alert; a personal reply goes to the presser's private chat and the
  alert says so, or, without a private chat, the button opens the deep link.

Who caused the update being handled is remembered in a context variable by :func:`remember`
(registered before every other handler): a button handler replies to the bot's message, whose
sender is the bot, so only the update knows the presser. PTB processes each update in its own
asyncio task, so the variable never carries over to another update. Button handlers call
:func:`acknowledge` instead of ``query.answer()``: in a group the answer waits until the reply
is known (a query can be answered only once), and :func:`settle` (registered after every other
handler) answers what is still open.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import CallbackQuery, InputFile, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.reply import Reply
from handlers.render import send_to_chat

log = logging.getLogger(__name__)

ALERT_LIMIT = 200  # characters of an answerCallbackQuery text
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")

# The screen a deep link opens (/start <payload> in private; handlers/screens.py opens them).
COMMAND_SCREENS = {
    "mine": "mine",
    "whoami": "whoami",
    "unbind": "whoami",
    "progress": "progress",
    "notices": "notices",
    "events": "events",
    "calendar": "calendar",
    "mytasks": "mytasks",
    "ledger": "ledger",
    "propose": "myproposals",
    "opinion": "myproposals",
    "myproposals": "myproposals",
    "proposals": "proposals",
    "review": "review",
    "inbox": "inbox",
    "ask": "duties",  # the only personal answer to a question: one's own duty progress
}
BUTTON_SCREENS = {
    "q": "duties",
    "n": "notices",
    "lg": "mytasks",
    "e": "events",
    "r": "mine",
    "m": "events",
    "i": "inbox",
}
BUTTON_SCREENS["pp"] = "myproposals"  # proposals and 社情民意 (handlers/proposals.py)
TEXT_SCREEN = "duties"

PRIVATE_ONLY = "个人信息请私聊我查看：{link}"  # the one public line in a group
SENT_ALERT = "个人信息已私聊发给您，请在与我的私聊中查看。"
OPEN_ALERT = "个人信息请私聊我查看：请先打开与我的私聊，再点一次按钮。"


@dataclass
class Origin:
    """The update being handled, as far as the privacy rule needs it."""

    user_id: int | None
    private: bool
    message_id: int | None  # the user's own message (None for a button press)
    query: CallbackQuery | None
    screen: str  # deep-link payload for this update ("" = the plain chat)
    answered: bool = False  # the button press has its answer
    redirected: bool = False  # the group already has its "请私聊" line


_current: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("privacy_origin", default=None)


def screen_for(update: Update) -> str:
    """The deep-link payload that reopens, in private, what ``update`` asked for."""
    query = update.callback_query
    if query is not None:
        data = query.data or ""
        notice = re.fullmatch(r"n:v:(\d{1,18})", data)
        if notice:
            return f"notice-{notice.group(1)}"
        return BUTTON_SCREENS.get(data.partition(":")[0], "")
    message = update.effective_message
    text = (message.text or "") if message else ""
    if text.startswith("/"):
        words = text[1:].split(maxsplit=1)
        return COMMAND_SCREENS.get(words[0].partition("@")[0].lower() if words else "", "")
    return TEXT_SCREEN if text else ""


async def remember(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """First handler group: note who caused this update (see the module docstring)."""
    if not isinstance(update, Update):
        return
    chat, user = update.effective_chat, update.effective_user
    query = update.callback_query
    _current.set(
        Origin(
            user_id=user.id if user else None,
            private=chat is None or chat.type == ChatType.PRIVATE,
            message_id=None if query or update.effective_message is None else update.effective_message.message_id,
            query=query,
            screen=screen_for(update),
        )
    )


async def settle(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last handler group: a button press in a group nobody answered gets a plain answer."""
    origin = _current.get()
    if origin is not None and origin.query is not None and not origin.answered:
        await _answer(origin)


async def acknowledge(query: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    """Answer a button press (instead of ``query.answer()``).

    In a private chat, or with a text (a toast about the presser's own action), at once. In a
    group without a text the answer waits: the reply decides whether it becomes an alert.
    """
    origin = _origin_of(query)
    if origin is None:
        await query.answer(text, show_alert=show_alert)
        return
    if origin.private or text:
        await _answer(origin, text, show_alert=show_alert)


def _origin_of(query: CallbackQuery) -> Origin | None:
    origin = _current.get()
    return origin if origin is not None and origin.query is not None and origin.query.id == query.id else None


async def _answer(origin: Origin, text: str | None = None, *, show_alert: bool = False, url: str | None = None) -> None:
    if origin.answered or origin.query is None:
        return
    origin.answered = True
    try:
        await origin.query.answer(text[:ALERT_LIMIT] if text else None, show_alert=show_alert, url=url)
    except BadRequest as exc:  # too old, or answered elsewhere
        log.info("callback answer skipped: %s", exc.message)


def _current_for(message: Message) -> Origin:
    """The update being handled; outside one, what the message itself tells."""
    origin = _current.get()
    if origin is not None:
        return origin
    user = message.from_user
    private = message.chat.type == ChatType.PRIVATE
    return Origin(user.id if user else None, private, message.message_id, query=None, screen="")


def deep_link(bot_username: str | None, screen: str) -> str:
    """``https://t.me/<bot>?start=<screen>``; the plain chat link for an empty or invalid screen."""
    base = f"https://t.me/{bot_username or ''}"
    return f"{base}?start={screen}" if PAYLOAD.fullmatch(screen) else base


async def deliver(message: Message, reply: Reply, *, quote: bool = False) -> list[Message]:
    """Send ``reply`` in answer to ``message`` where the rule lets it go; the messages sent."""
    origin = _current_for(message)
    bot = message.get_bot()
    in_private = message.chat.type == ChatType.PRIVATE
    if in_private or not (reply.personal or (origin.query is not None and reply.refusal)):
        reply_to = message.message_id if quote else None
        return await send_to_chat(bot, message.chat_id, reply, reply_to=reply_to)
    if origin.query is not None and reply.refusal and not origin.answered and len(reply.text) <= ALERT_LIMIT:
        await _answer(origin, reply.text, show_alert=True)
        return []
    sent = await _to_private(origin, lambda chat_id: send_to_chat(bot, chat_id, reply))
    await _point_to_private(origin, message, delivered=bool(sent))
    return sent


async def send_file(message: Message, file: InputFile | str, *, caption: str, photo: bool = False) -> None:
    """Send a document (or photo): files are personal, so only ever into a private chat."""
    bot = message.get_bot()

    async def send(chat_id: int) -> list[Message]:
        method = bot.send_photo if photo else bot.send_document
        return [await method(chat_id, file, caption=caption)]

    if message.chat.type == ChatType.PRIVATE:
        await send(message.chat_id)
        return
    origin = _current_for(message)
    sent = await _to_private(origin, send)
    await _point_to_private(origin, message, delivered=bool(sent))


async def _to_private(origin: Origin, send: Callable[[int], Awaitable[list[Message]]]) -> list[Message]:
    """Send into the user's private chat; [] when they have none (403) or are unknown."""
    if origin.user_id is None:
        return []
    try:
        return await send(origin.user_id)
    except Forbidden:
        return []
    except BadRequest as exc:
        if "chat not found" in exc.message.lower():
            return []
        raise


async def _point_to_private(origin: Origin, message: Message, *, delivered: bool) -> None:
    """In the group: the alert (button press) or the one public line with the deep link."""
    link = deep_link(message.get_bot().username, origin.screen)
    if origin.query is not None:
        if delivered:
            await _answer(origin, SENT_ALERT, show_alert=True)
        else:
            await _answer(origin, OPEN_ALERT, url=link)
        return
    if origin.redirected:
        return
    origin.redirected = True
    line = Reply(PRIVATE_ONLY.format(link=link))
    await send_to_chat(message.get_bot(), message.chat_id, line, reply_to=origin.message_id)
