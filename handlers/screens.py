"""Deep-link screens: ``/start <payload>`` in a private chat opens what a group could not show.

handlers/privacy.py points a group to ``https://t.me/<bot>?start=<payload>`` when a reply is
personal; Telegram then opens the private chat and sends ``/start <payload>``, and this module
shows the same screen there (the core checks permissions as usual).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from handlers import calendar, inbox, ledger, notices, people, proposals
from handlers.common import caller, services
from handlers.render import send_reply

Screen = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[object]]


async def duties(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What members must do this year, with the caller's own progress (“我今年还差什么”)."""
    svc = services(context)
    who = caller(update, context)
    await send_reply(update.effective_message, svc.dialogue.duties(lambda: svc.personal_progress(who)))


SCREENS: dict[str, Screen] = {
    "duties": duties,
    "mine": people.mine,
    "whoami": people.whoami_command,
    "progress": people.progress,
    "notices": notices.notices_command,
    "events": calendar.events_command,
    "calendar": calendar.calendar_command,
    "mytasks": ledger.mytasks,
    "ledger": ledger.ledger_command,
    "myproposals": proposals.myproposals,
    "proposals": proposals.unit_proposals,
    "review": proposals.review_command,
    "inbox": inbox.inbox_command,
}
NOTICE = re.compile(r"notice-(\d{1,18})")  # one notice's 详情


def is_screen(payload: str) -> bool:
    return payload in SCREENS or NOTICE.fullmatch(payload) is not None


async def open_screen(payload: str, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Show the screen named by a deep-link payload; False when there is no such screen."""
    notice = NOTICE.fullmatch(payload)
    if notice:
        await notices.show_report(update.effective_message, context, caller(update, context), int(notice.group(1)))
        return True
    screen = SCREENS.get(payload)
    if screen is None:
        return False
    context.args = []  # the screen's own arguments: none (the payload is not one)
    await screen(update, context)
    return True
