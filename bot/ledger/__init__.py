"""The task ledger (台账): responsible units report progress on their plan tasks; the office sees the picture.

Owns: quarters and the ledger error (`quarters`), units' reports (`reports`), the office's overview,
silent units and public progress (`overview`) and the printed export (`export`). This module
re-exports the ledger API for callers.
May import: `plan`, `people`, `answers` (reading task numbers in questions) and the shared modules.

Transport-free: every function takes the storage, the :class:`~bot.people.roles.Caller` and an explicit
``now`` where time matters, and returns data or Simplified Chinese text. Refusals are
:class:`LedgerError` (or :class:`~bot.people.roles.PermissionDenied`) with a message for the user.

Judgement calls (see docs/ledger.md):

* A report belongs to the reporting unit. A unit that is "one of" a collective unit (政协提案和委员联络委
  is one of 政协各专门委员会) may also report on the collective's tasks; such a report fills the
  collective's row in the ledger, marked with the reporting unit's name.
* Ledger rows ("slots") are the plan's (task, responsible unit) pairs. A slot is silent in a quarter when
  neither its unit nor any of its member units filed a report on that task in that quarter.
* A report counts for the quarter in which it was filed (its creation date in the local time zone);
  edits do not move it.
* Reports are visible to everyone only for units a secretary has published; by default no unit is
  public. Secretaries always see everything, and a unit contact always sees their own unit's reports.
"""

from bot.ledger.overview import (
    attachment_report,
    format_overview,
    overview,
    parse_progress_question,
    progress_answer,
    report_line,
    reporting_contacts,
    reports_with_attachments,
    set_public,
    silent_units,
    silent_units_text,
    slots,
    task_detail,
    unit_reminder_text,
)
from bot.ledger.quarters import LedgerError, Quarter, current_quarter, parse_quarter
from bot.ledger.reports import (
    MAX_REPORT_CHARS,
    REPORT_EXAMPLE,
    ReportCommand,
    brief,
    clean_report_text,
    edit_report,
    editable_report,
    format_my_tasks,
    format_receipt,
    latest_own_report,
    ledger_task_argument,
    my_tasks,
    parse_report_command,
    reportable_tasks,
    start_report,
    submit_report,
)
from bot.storage.ledger import Attachment

__all__ = [
    "MAX_REPORT_CHARS",
    "REPORT_EXAMPLE",
    "Attachment",
    "LedgerError",
    "Quarter",
    "ReportCommand",
    "attachment_report",
    "brief",
    "clean_report_text",
    "current_quarter",
    "edit_report",
    "editable_report",
    "format_my_tasks",
    "format_overview",
    "format_receipt",
    "latest_own_report",
    "ledger_task_argument",
    "my_tasks",
    "overview",
    "parse_progress_question",
    "parse_quarter",
    "parse_report_command",
    "progress_answer",
    "report_line",
    "reportable_tasks",
    "reporting_contacts",
    "reports_with_attachments",
    "set_public",
    "silent_units",
    "silent_units_text",
    "slots",
    "start_report",
    "submit_report",
    "task_detail",
    "unit_reminder_text",
]
