"""Reminder rules as data, and the deterministic engine that turns them into reminders.

Rules come from knowledge/reminders.json, validated at load (a clear error names the file and
the rule), with the secretaries' overrides from the database applied on top. The engine is
pure: :func:`due_reminders` computes, for a time window, every reminder the rules produce —
when, to whom, under which rule and occurrence, the text and the buttons — from the database
as it is; nothing is sent. :func:`deliver_due` (run by the scheduler every minute and at
start-up) records each decision under its unique (rule, occurrence, recipient) key and hands
the messages to the outbox in the same transaction. See docs/reminders.md.

Owns: the rules file and overrides (`rules`), what a pass works with (`context`), the occurrences
of each kind of rule (`occurrences`), merging into messages (`messages`) and the pass itself
(`delivery`). This module re-exports the reminders API for callers.
"""

from bot.calendar.reminders.delivery import (
    SKIP_REASONS,
    PassResult,
    deliver_due,
    next_due,
    preview,
    preview_json,
    preview_text,
    skip_digest_text,
)
from bot.calendar.reminders.messages import merge
from bot.calendar.reminders.occurrences import due_reminders
from bot.calendar.reminders.rules import (
    QuietHours,
    ReminderError,
    RuleSet,
    load_rules,
    parse_assignment,
    parse_rules,
    reset_override,
    rules_for,
    set_override,
)

__all__ = [
    "SKIP_REASONS",
    "PassResult",
    "QuietHours",
    "ReminderError",
    "RuleSet",
    "deliver_due",
    "due_reminders",
    "load_rules",
    "merge",
    "next_due",
    "parse_assignment",
    "parse_rules",
    "preview",
    "preview_json",
    "preview_text",
    "reset_override",
    "rules_for",
    "set_override",
    "skip_digest_text",
]
