"""Turning due reminders into messages: merging those due to one person at once, superseding, fitting one message."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.calendar.reminders.context import Reminder
from bot.calendar.reminders.rules import MAX_BUTTON_ROWS, MESSAGE_LIMIT
from bot.reply import Button
from bot.textsplit import utf16_len

# ---- merging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What one person receives at one moment: one or several merged reminders."""

    when: datetime
    telegram_id: int
    reminders: tuple[Reminder, ...]

    @property
    def text(self) -> str:
        if len(self.reminders) == 1:
            return self.reminders[0].text
        parts = [f"您有 {len(self.reminders)} 条提醒："]
        parts += [f"{i}. {r.text}" for i, r in enumerate(self.reminders, start=1)]
        return "\n\n".join(parts)

    @property
    def buttons(self) -> list[list[Button]]:
        seen: dict[str, Button] = {}
        for reminder in self.reminders:
            for button in reminder.buttons:
                seen.setdefault(button.data, button)
        return [[button] for button in list(seen.values())[:MAX_BUTTON_ROWS]]

    @property
    def outbox_id(self) -> str:
        """Stable id of the message: a digest of its reminders' keys."""
        keys = sorted("|".join(r.key) for r in self.reminders)
        return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]


def fits(text: str) -> bool:
    """Whether a text goes out as one Telegram message (the transport HTML-escapes it)."""
    return utf16_len(html.escape(text, quote=False)) <= MESSAGE_LIMIT


def clip(text: str) -> str:
    """A text cut to fit one message, marked as cut."""
    if fits(text):
        return text
    marker = "\n……（内容过长，已截断）"
    lines = text.split("\n")
    while lines and not fits("\n".join(lines) + marker):
        lines.pop()
    return "\n".join(lines) + marker if lines else text[: MESSAGE_LIMIT // 4] + marker


def merge(reminders: Iterable[Reminder]) -> list[Message]:
    """Reminders for the same account at the same moment become one message (status "due" only);
    when they would not fit in one Telegram message they are packed into as few as fit."""
    groups: dict[tuple[datetime, int], list[Reminder]] = {}
    for reminder in reminders:
        if reminder.status == "due":
            groups.setdefault((reminder.when, reminder.recipient.telegram_id), []).append(reminder)
    messages = []
    for (when, chat), items in sorted(groups.items()):
        pack: list[Reminder] = []
        for reminder in items:
            reminder = replace(reminder, text=clip(reminder.text))
            if pack and not fits(Message(when, chat, (*pack, reminder)).text):
                messages.append(Message(when, chat, tuple(pack)))
                pack = []
            pack.append(reminder)
        messages.append(Message(when, chat, tuple(pack)))
    return messages


def supersede(reminders: list[Reminder]) -> tuple[list[Reminder], list[Reminder]]:
    """Within one pass, keep only the newest reminder per (person, topic): after downtime the
    "3 days before" and "1 day before" of one event must not both arrive at start-up."""
    newest: dict[tuple[str, str], Reminder] = {}
    for reminder in reminders:
        slot = (reminder.recipient.key, reminder.topic)
        if reminder.status == "due" and (slot not in newest or reminder.due > newest[slot].due):
            newest[slot] = reminder
    kept = set(map(id, newest.values()))
    keep = [r for r in reminders if r.status != "due" or id(r) in kept]
    dropped = [replace(r, status="superseded") for r in reminders if r.status == "due" and id(r) not in kept]
    return keep, dropped
