"""The delivery outbox, notices, their recipients and receipts (issue: notices).

Outbox rows are written before anything is sent and move through
``pending → sending → sent | failed | unreachable | uncertain`` (or ``cancelled`` while pending); see
bot/notices/outbox.py for the state machine. ``due_at`` is a POSIX timestamp (seconds, float) so
that rows compare correctly whatever the time zone and sub-second retry delays work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.storage.core import Migration

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "unreachable", "uncertain", "cancelled")
FINAL_STATUSES = ("sent", "failed", "unreachable", "uncertain", "cancelled")
_OUTBOX_COLUMNS = (
    "id, source_kind, source_id, recipient_key, chat_id, text, buttons, attachment, due_at, status, attempts,"
    " last_error, message_id, created_at, finished_at"
)

NOTICE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "outbox",
        (
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                source_kind TEXT NOT NULL,
                source_id TEXT NOT NULL,
                recipient_key TEXT NOT NULL,
                chat_id INTEGER NOT NULL,
                text TEXT NOT NULL,
                buttons TEXT,
                attachment TEXT,
                due_at REAL NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unreachable', 'cancelled')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                message_id INTEGER,
                created_at TEXT NOT NULL,
                finished_at TEXT,
                UNIQUE (source_kind, source_id, recipient_key)
            )""",
            "CREATE INDEX outbox_due ON outbox (status, due_at)",
            "CREATE INDEX outbox_by_source_chat ON outbox (source_kind, source_id, chat_id, id)",
        ),
    ),
    Migration(
        "notices, recipients and receipts",
        (
            """CREATE TABLE notices (
                id INTEGER PRIMARY KEY,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                audience TEXT NOT NULL,
                audience_label TEXT NOT NULL,
                text TEXT NOT NULL,
                attachment TEXT,
                kind TEXT NOT NULL DEFAULT 'notice' CHECK (kind IN ('notice', 'meeting')),
                status TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled', 'discarded')),
                send_at TEXT,
                confirmed_at TEXT,
                confirmed_by TEXT,
                cancelled_at TEXT,
                completed_at TEXT,
                last_nudge_at TEXT,
                nudges INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX notices_by_status ON notices (status)",
            """CREATE TABLE notice_recipients (
                notice_id INTEGER NOT NULL REFERENCES notices (id),
                recipient_key TEXT NOT NULL,
                person_kind TEXT NOT NULL,
                person_id INTEGER NOT NULL,
                name TEXT NOT NULL,
                chat_id INTEGER,
                PRIMARY KEY (notice_id, recipient_key)
            )""",
            "CREATE INDEX notice_recipients_by_chat ON notice_recipients (chat_id)",
            """CREATE TABLE notice_receipts (
                notice_id INTEGER NOT NULL REFERENCES notices (id),
                recipient_key TEXT NOT NULL,
                confirmed_at TEXT NOT NULL,
                attendance TEXT CHECK (attendance IN ('attend', 'leave')),
                reason TEXT,
                answered_at TEXT,
                PRIMARY KEY (notice_id, recipient_key)
            )""",
        ),
    ),
    Migration(
        "outbox: timed-out sends (uncertain) and outages (failing_since)",
        (
            # SQLite cannot change a CHECK constraint: rebuild the table with the new status.
            """CREATE TABLE outbox_new (
                id INTEGER PRIMARY KEY,
                source_kind TEXT NOT NULL,
                source_id TEXT NOT NULL,
                recipient_key TEXT NOT NULL,
                chat_id INTEGER NOT NULL,
                text TEXT NOT NULL,
                buttons TEXT,
                attachment TEXT,
                due_at REAL NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                    ('pending', 'sending', 'sent', 'failed', 'unreachable', 'uncertain', 'cancelled')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                message_id INTEGER,
                created_at TEXT NOT NULL,
                finished_at TEXT,
                uncertain INTEGER NOT NULL DEFAULT 0,
                failing_since REAL,
                UNIQUE (source_kind, source_id, recipient_key)
            )""",
            f"INSERT INTO outbox_new ({_OUTBOX_COLUMNS}) SELECT {_OUTBOX_COLUMNS} FROM outbox",
            "DROP TABLE outbox",
            "ALTER TABLE outbox_new RENAME TO outbox",
            "CREATE INDEX outbox_due ON outbox (status, due_at)",
            "CREATE INDEX outbox_by_source_chat ON outbox (source_kind, source_id, chat_id, id)",
        ),
    ),
)


@dataclass(frozen=True)
class OutboxRecord:
    """One outbox row as stored (buttons and attachment still JSON-decoded dicts)."""

    id: int
    source_kind: str
    source_id: str
    recipient_key: str
    chat_id: int
    text: str
    buttons: list[list[dict[str, str]]]
    attachment: dict[str, str] | None
    due_at: float
    status: str
    attempts: int
    last_error: str | None
    message_id: int | None
    created_at: str
    finished_at: str | None
    uncertain: int = 0  # attempts that timed out (each may have been delivered)
    failing_since: float | None = None  # POSIX time of the first failure of the current outage


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    created_by: str
    created_at: str
    audience: str  # JSON of bot.notices.audience.Audience
    audience_label: str
    text: str
    attachment: dict[str, str] | None
    kind: str  # "notice" | "meeting"
    status: str  # draft | scheduled | sending | done | cancelled | discarded
    send_at: str | None
    confirmed_at: str | None
    confirmed_by: str | None
    cancelled_at: str | None
    completed_at: str | None
    last_nudge_at: str | None
    nudges: int


@dataclass(frozen=True)
class NoticeRecipientRecord:
    notice_id: int
    recipient_key: str
    person_kind: str
    person_id: int
    name: str
    chat_id: int | None


@dataclass(frozen=True)
class ReceiptRecord:
    notice_id: int
    recipient_key: str
    confirmed_at: str
    attendance: str | None
    reason: str | None
    answered_at: str | None


def _outbox(row: dict) -> OutboxRecord:
    return OutboxRecord(
        **dict(
            row,
            buttons=json.loads(row["buttons"]) if row["buttons"] else [],
            attachment=json.loads(row["attachment"]) if row["attachment"] else None,
        )
    )


def _notice(row: dict) -> NoticeRecord:
    return NoticeRecord(**dict(row, attachment=json.loads(row["attachment"]) if row["attachment"] else None))


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


class OutboxStore:
    """Mixin for :class:`bot.storage.Storage`; methods use ``self.db`` (sqlite-utils)."""

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {"notices": NOTICE_MIGRATIONS}

    # ---- recipients ----------------------------------------------------------

    def chat_ids_of(self, person_kind: str) -> dict[int, int]:
        """Person id → bound Telegram id, for every bound person of a kind."""
        rows = self._rows("SELECT person_id, telegram_id FROM bindings WHERE person_kind = ?", (person_kind,))
        return {row["person_id"]: row["telegram_id"] for row in rows}

    # ---- outbox --------------------------------------------------------------

    def outbox_insert(self, rows: list[dict[str, Any]]) -> int:
        """Insert rows (keys as the columns; buttons/attachment as Python values), skipping any
        whose (source_kind, source_id, recipient_key) exists; return how many were new."""
        inserted = 0
        with self.atomic():
            for row in rows:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO outbox (source_kind, source_id, recipient_key, chat_id, text, buttons,"
                    " attachment, due_at, created_at) VALUES (:source_kind, :source_id, :recipient_key, :chat_id,"
                    " :text, :buttons, :attachment, :due_at, :created_at)",
                    dict(row, buttons=_json(row.get("buttons")), attachment=_json(row.get("attachment"))),
                )
                inserted += cursor.rowcount
        return inserted

    def outbox_due(self, now: float, limit: int) -> list[OutboxRecord]:
        """Pending rows due at ``now``, oldest due first. A row waits while an earlier row of the
        same source to the same chat is still pending or sending (parts arrive in order)."""
        rows = self._rows(
            "SELECT * FROM outbox AS o WHERE status = 'pending' AND due_at <= :now AND NOT EXISTS ("
            " SELECT 1 FROM outbox AS p WHERE p.source_kind = o.source_kind AND p.source_id = o.source_id"
            " AND p.chat_id = o.chat_id AND p.id < o.id AND p.status IN ('pending', 'sending'))"
            " ORDER BY due_at, id LIMIT :limit",
            {"now": now, "limit": limit},
        )
        return [_outbox(row) for row in rows]

    def outbox_timed_out_pending(self) -> OutboxRecord | None:
        """The oldest pending row whose last attempt timed out, whatever its due time: the probe
        to use in an outage, since retrying it cannot add a copy that was not already possible."""
        rows = self._rows("SELECT * FROM outbox WHERE status = 'pending' AND uncertain > 0 ORDER BY id LIMIT 1")
        return _outbox(rows[0]) if rows else None

    def outbox_next_due(self) -> float | None:
        row = self.db.execute("SELECT min(due_at) FROM outbox WHERE status = 'pending'").fetchone()
        return row[0]

    def outbox_claim(self, row_id: int) -> bool:
        """pending → sending; False if the row is no longer pending (e.g. cancelled)."""
        cursor = self.db.execute("UPDATE outbox SET status = 'sending' WHERE id = ? AND status = 'pending'", (row_id,))
        return cursor.rowcount == 1

    def outbox_postpone(self, row_id: int, due_at: float) -> None:
        self.db.execute("UPDATE outbox SET due_at = ? WHERE id = ? AND status = 'pending'", (due_at, row_id))

    def outbox_retry(self, row_id: int, due_at: float, attempts: int, error: str) -> None:
        """sending → pending again, not before ``due_at``."""
        self.db.execute(
            "UPDATE outbox SET status = 'pending', due_at = ?, attempts = ?, last_error = ?"
            " WHERE id = ? AND status = 'sending'",
            (due_at, attempts, error, row_id),
        )

    def outbox_hold(self, row_id: int, due_at: float, error: str, failing_since: float) -> None:
        """sending → pending during an outage, without spending an attempt; the first failure's
        time is kept so that the row fails only after a long outage."""
        self.db.execute(
            "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?,"
            " failing_since = coalesce(failing_since, ?) WHERE id = ? AND status = 'sending'",
            (due_at, error, failing_since, row_id),
        )

    def outbox_uncertain(self, row_id: int, due_at: float, error: str) -> None:
        """sending → pending after a timeout: the one retry a possibly delivered row gets."""
        self.db.execute(
            "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?, uncertain = uncertain + 1"
            " WHERE id = ? AND status = 'sending'",
            (due_at, error, row_id),
        )

    def outbox_finish(
        self,
        row_id: int,
        status: str,
        finished_at: str,
        *,
        attempts: int,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        """sending → sent | failed | unreachable | uncertain."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status}")
        self.db.execute(
            "UPDATE outbox SET status = ?, finished_at = ?, attempts = ?, message_id = ?, last_error = ?,"
            " failing_since = NULL WHERE id = ? AND status = 'sending'",
            (status, finished_at, attempts, message_id, error, row_id),
        )

    def outbox_recover(self) -> int:
        """After a crash: rows left 'sending' go back to 'pending' (they may have been delivered)."""
        return self.db.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'").rowcount

    def outbox_cancel(self, source_kind: str, source_id: str, finished_at: str) -> int:
        return self.db.execute(
            "UPDATE outbox SET status = 'cancelled', finished_at = ?"
            " WHERE source_kind = ? AND source_id = ? AND status = 'pending'",
            (finished_at, source_kind, source_id),
        ).rowcount

    def outbox_rows(self, source_kind: str, source_id: str | None = None) -> list[OutboxRecord]:
        rows = self._rows(
            "SELECT * FROM outbox WHERE source_kind = :kind AND (:id IS NULL OR source_id = :id) ORDER BY id",
            {"kind": source_kind, "id": source_id},
        )
        return [_outbox(row) for row in rows]

    def outbox_row(self, row_id: int) -> OutboxRecord | None:
        rows = self._rows("SELECT * FROM outbox WHERE id = ?", (row_id,))
        return _outbox(rows[0]) if rows else None

    def outbox_counts(self, source_kind: str, source_id: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT status, count(*) AS n FROM outbox WHERE source_kind = ? AND source_id = ? GROUP BY status",
            (source_kind, source_id),
        )
        return {row["status"]: row["n"] for row in rows}

    def outbox_open_count(self, source_kind: str, source_id: str) -> int:
        """Rows of a source still pending or sending."""
        return self.db.execute(
            "SELECT count(*) FROM outbox WHERE source_kind = ? AND source_id = ? AND status IN ('pending', 'sending')",
            (source_kind, source_id),
        ).fetchone()[0]

    # ---- notices -------------------------------------------------------------

    def notice_insert(self, fields: dict[str, Any], recipients: list[dict[str, Any]]) -> int:
        """A notice (attachment as a dict) and its recipients, in one transaction."""
        with self.atomic():
            notice_id = self.db["notices"].insert(dict(fields, attachment=_json(fields.get("attachment")))).last_pk
            for recipient in recipients:
                self.db.execute(
                    "INSERT INTO notice_recipients (notice_id, recipient_key, person_kind, person_id, name, chat_id)"
                    " VALUES (:notice_id, :recipient_key, :person_kind, :person_id, :name, :chat_id)",
                    dict(recipient, notice_id=notice_id),
                )
        return notice_id

    def notice(self, notice_id: int) -> NoticeRecord | None:
        rows = self._rows("SELECT * FROM notices WHERE id = ?", (notice_id,))
        return _notice(rows[0]) if rows else None

    def notice_transition(self, notice_id: int, from_statuses: tuple[str, ...], fields: dict[str, Any]) -> bool:
        """Update a notice only if its status is one of ``from_statuses``; False otherwise."""
        assignments = ", ".join(f"{key} = :{key}" for key in fields)
        marks = ", ".join(f":from{i}" for i in range(len(from_statuses)))
        params = dict(fields, notice_id=notice_id, **{f"from{i}": s for i, s in enumerate(from_statuses)})
        cursor = self.db.execute(
            f"UPDATE notices SET {assignments} WHERE id = :notice_id AND status IN ({marks})",  # keys are ours
            params,
        )
        return cursor.rowcount == 1

    def notice_count_nudge(self, notice_id: int, previous: int, at: str) -> bool:
        """Record a nudge unless another one was recorded meanwhile."""
        cursor = self.db.execute(
            "UPDATE notices SET nudges = nudges + 1, last_nudge_at = ? WHERE id = ? AND nudges = ?",
            (at, notice_id, previous),
        )
        return cursor.rowcount == 1

    def notices_recent(self, limit: int) -> list[NoticeRecord]:
        rows = self._rows(
            "SELECT * FROM notices WHERE status NOT IN ('draft', 'discarded') ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_notice(row) for row in rows]

    def notices_with_status(self, *statuses: str) -> list[NoticeRecord]:
        marks = ", ".join("?" for _ in statuses)
        rows = self._rows(f"SELECT * FROM notices WHERE status IN ({marks}) ORDER BY id", statuses)
        return [_notice(row) for row in rows]

    def notice_recipients(self, notice_id: int) -> list[NoticeRecipientRecord]:
        rows = self._rows("SELECT * FROM notice_recipients WHERE notice_id = ? ORDER BY rowid", (notice_id,))
        return [NoticeRecipientRecord(**row) for row in rows]

    def notice_recipient_by_chat(self, notice_id: int, chat_id: int) -> NoticeRecipientRecord | None:
        rows = self._rows("SELECT * FROM notice_recipients WHERE notice_id = ? AND chat_id = ?", (notice_id, chat_id))
        return NoticeRecipientRecord(**rows[0]) if rows else None

    def receipts(self, notice_id: int) -> dict[str, ReceiptRecord]:
        rows = self._rows("SELECT * FROM notice_receipts WHERE notice_id = ?", (notice_id,))
        return {row["recipient_key"]: ReceiptRecord(**row) for row in rows}

    def receipt(self, notice_id: int, recipient_key: str) -> ReceiptRecord | None:
        rows = self._rows(
            "SELECT * FROM notice_receipts WHERE notice_id = ? AND recipient_key = ?", (notice_id, recipient_key)
        )
        return ReceiptRecord(**rows[0]) if rows else None

    def receipt_confirm(self, notice_id: int, recipient_key: str, at: str) -> bool:
        """Record that a recipient confirmed; False if they already had."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO notice_receipts (notice_id, recipient_key, confirmed_at) VALUES (?, ?, ?)",
            (notice_id, recipient_key, at),
        )
        return cursor.rowcount == 1

    def receipt_answer(self, notice_id: int, recipient_key: str, attendance: str, at: str) -> None:
        """Set attending / on leave (a changed answer clears an earlier leave reason)."""
        with self.atomic():
            self.receipt_confirm(notice_id, recipient_key, at)
            self.db.execute(
                "UPDATE notice_receipts SET attendance = ?, answered_at = ?,"
                " reason = CASE WHEN attendance = ? THEN reason ELSE NULL END"
                " WHERE notice_id = ? AND recipient_key = ?",
                (attendance, at, attendance, notice_id, recipient_key),
            )

    def receipt_reason(self, notice_id: int, recipient_key: str, reason: str) -> None:
        self.db.execute(
            "UPDATE notice_receipts SET reason = ? WHERE notice_id = ? AND recipient_key = ?",
            (reason, notice_id, recipient_key),
        )

    def notice_delivery(self, notice_id: int) -> dict[str, OutboxRecord]:
        """Recipient key → the outbox row of the notice's main message (the one with buttons)."""
        return {row.recipient_key: row for row in self.outbox_rows("notice", str(notice_id))}
