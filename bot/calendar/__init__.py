"""The calendar: events, their `.ics` export, and the reminders the plan's rhythms call for.

Owns: events (`events`: add, change, cancel, import, audiences), the phone-calendar file (`ics`),
the reminder rules and engine (`reminders/`) and meetings that count: replies and leave approval
(`meetings`, `replies`), sign-in (`signin`), attendance into duty records (`attendance`), the
messages that invite replies (`invitations`) and knowledge/attendance.json (`meeting_config`).
May import: `plan`, `people`, `notices` (audiences and the outbox), `ledger` (quarters and
silent units for the ledger reminders) and the shared modules.
"""
