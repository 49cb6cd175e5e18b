"""Notices from the CPPCC office: compose, preview, confirm, schedule, cancel, receipts,
reports and nudges. Transport-free: the Telegram handlers and the CLI call these functions
and show what they return; delivery goes through the outbox (`outbox`).

Life of a notice (``notices.status``)::

    draft ──confirm──▶ sending ──all rows final──▶ done
      │     └─(at)──▶ scheduled ──(time passes)──▶ (delivered like sending) ──▶ done
      └──discard──▶ discarded          scheduled / sending ──cancel──▶ cancelled

A draft stores the recipients as resolved for the preview; confirming enqueues exactly
those (one outbox row each, plus one before it for an attachment), so what the secretary
saw is what is sent. Confirming is a conditional update of the draft, so a second press
sends nothing.

Texts longer than one Telegram message are refused (not split): a notice is one message
carrying its receipt buttons, and its edits and nudges must fit too. The limit is worked
out from the templates (see :func:`max_text_length`).

Owns: audiences (`audience`), the configuration and message texts (`config`), drafts and
sending (`drafts`), receipts and nudges (`receipts`), reports (`reports`) and the outbox every
feature delivers through (`outbox`). This module re-exports the notices API for callers.
May import: `plan`, `people` and the shared modules.
"""

from bot.notices.config import (
    CALLBACK_PREFIX,
    DONE_SOURCE,
    NUDGE_SOURCE,
    SOURCE,
    NoticeConfig,
    NoticeError,
    default_config,
    load_config,
    max_text_length,
    notice_message,
)
from bot.notices.drafts import (
    cancel_notice,
    check_audience,
    compose,
    confirm,
    discard,
    parse_send_time,
    preview_buttons,
    preview_of,
    read_send_time,
    render_preview,
    toggle_kind,
)
from bot.notices.receipts import (
    ReceiptOutcome,
    finish_completed,
    nudge,
    on_settled,
    record_receipt,
)
from bot.notices.reports import (
    CSV_HEADER,
    build_report,
    list_buttons,
    notice_report,
    recent_notices,
    render_list,
    render_report,
    report_buttons,
    report_counts,
    report_csv,
)

__all__ = [
    "CALLBACK_PREFIX",
    "CSV_HEADER",
    "DONE_SOURCE",
    "NUDGE_SOURCE",
    "SOURCE",
    "NoticeConfig",
    "NoticeError",
    "ReceiptOutcome",
    "build_report",
    "cancel_notice",
    "check_audience",
    "compose",
    "confirm",
    "default_config",
    "discard",
    "finish_completed",
    "list_buttons",
    "load_config",
    "max_text_length",
    "notice_message",
    "notice_report",
    "nudge",
    "on_settled",
    "parse_send_time",
    "preview_buttons",
    "preview_of",
    "read_send_time",
    "recent_notices",
    "record_receipt",
    "render_list",
    "render_preview",
    "render_report",
    "report_buttons",
    "report_counts",
    "report_csv",
    "toggle_kind",
]
