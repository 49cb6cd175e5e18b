"""The calendar: events, their `.ics` export, and the reminders the plan's rhythms call for.

Owns: events (`events`: add, change, cancel, import, audiences), the phone-calendar file (`ics`)
and the reminder rules and engine (`reminders/`).
May import: `plan`, `people`, `notices` (audiences and the outbox), `ledger` (quarters and
silent units for the ledger reminders) and the shared modules.
"""
