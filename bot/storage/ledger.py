"""The task ledger (台账): units' progress reports on plan tasks, their edit history, unit visibility.

Tables (domain "ledger"):

* ``ledger_reports`` — one row per report: task number, the reporting unit, the unit contact
  who wrote it (and from which Telegram account), the text, an optional attachment (a Telegram
  file id, never downloaded), the quarter it was filed in, when it was written and last edited.
* ``ledger_report_versions`` — every text a report had before an edit (edits keep history).
* ``ledger_visibility`` — per unit, whether secretaries made its reports visible to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from bot.storage.core import Migration, actor_label, stamp

LEDGER_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "progress reports, their versions and unit visibility",
        (
            """CREATE TABLE ledger_reports (
                id INTEGER PRIMARY KEY,
                task INTEGER NOT NULL,
                unit_id TEXT NOT NULL,
                contact_id INTEGER NOT NULL REFERENCES unit_contacts (id),
                telegram_id INTEGER,
                text TEXT NOT NULL,
                attachment_kind TEXT CHECK (attachment_kind IN ('document', 'photo')),
                attachment_file_id TEXT,
                attachment_name TEXT,
                quarter TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                edits INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX ledger_reports_by_task ON ledger_reports (task, unit_id, created_at)",
            "CREATE INDEX ledger_reports_by_quarter ON ledger_reports (quarter, task, unit_id)",
            "CREATE INDEX ledger_reports_by_contact ON ledger_reports (contact_id, created_at)",
            """CREATE TABLE ledger_report_versions (
                id INTEGER PRIMARY KEY,
                report_id INTEGER NOT NULL REFERENCES ledger_reports (id),
                text TEXT NOT NULL,
                attachment_kind TEXT,
                attachment_file_id TEXT,
                attachment_name TEXT,
                written_at TEXT NOT NULL,
                replaced_at TEXT NOT NULL,
                replaced_by TEXT NOT NULL
            )""",
            "CREATE INDEX ledger_versions_by_report ON ledger_report_versions (report_id, id)",
            """CREATE TABLE ledger_visibility (
                unit_id TEXT PRIMARY KEY,
                public INTEGER NOT NULL CHECK (public IN (0, 1)),
                set_by TEXT NOT NULL,
                set_at TEXT NOT NULL
            )""",
        ),
    ),
)


@dataclass(frozen=True)
class Attachment:
    kind: str  # "document" | "photo"
    file_id: str  # Telegram file id; the file stays on Telegram's servers
    name: str


@dataclass(frozen=True)
class LedgerReport:
    id: int
    task: int
    unit_id: str
    contact_id: int
    contact_name: str
    telegram_id: int | None
    text: str
    attachment: Attachment | None
    quarter: str  # e.g. "2027Q1": the quarter the report was filed in
    created_at: datetime
    updated_at: datetime
    edits: int


@dataclass(frozen=True)
class LedgerVersion:
    """A text a report had before an edit, valid from ``written_at`` until ``replaced_at``."""

    report_id: int
    text: str
    attachment: Attachment | None
    written_at: datetime
    replaced_at: datetime
    replaced_by: str


def _attachment(row: dict) -> Attachment | None:
    if not row["attachment_kind"]:
        return None
    return Attachment(row["attachment_kind"], row["attachment_file_id"], row["attachment_name"] or "")


def _attachment_columns(attachment: Attachment | None) -> dict:
    return {
        "attachment_kind": attachment.kind if attachment else None,
        "attachment_file_id": attachment.file_id if attachment else None,
        "attachment_name": attachment.name if attachment else None,
    }


def _report(row: dict) -> LedgerReport:
    return LedgerReport(
        id=row["id"],
        task=row["task"],
        unit_id=row["unit_id"],
        contact_id=row["contact_id"],
        contact_name=row["contact_name"] or "",
        telegram_id=row["telegram_id"],
        text=row["text"],
        attachment=_attachment(row),
        quarter=row["quarter"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        edits=row["edits"],
    )


_SELECT = "SELECT r.*, c.name AS contact_name FROM ledger_reports r LEFT JOIN unit_contacts c ON c.id = r.contact_id"


class LedgerStore:
    """Mixin for :class:`bot.storage.Storage`; methods use ``self.db`` (sqlite-utils)."""

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {"ledger": LEDGER_MIGRATIONS}

    # ---- reports -------------------------------------------------------------

    def insert_ledger_report(
        self,
        *,
        task: int,
        unit_id: str,
        contact_id: int,
        telegram_id: int | None,
        text: str,
        attachment: Attachment | None,
        quarter: str,
        now: datetime,
    ) -> int:
        at = stamp(now)
        row = {
            "task": task,
            "unit_id": unit_id,
            "contact_id": contact_id,
            "telegram_id": telegram_id,
            "text": text,
            **_attachment_columns(attachment),
            "quarter": quarter,
            "created_at": at,
            "updated_at": at,
            "edits": 0,
        }
        return self.db["ledger_reports"].insert(row).last_pk

    def update_ledger_report(
        self, report_id: int, text: str, attachment: Attachment | None, by: int | None, now: datetime
    ) -> None:
        """Replace a report's text (and attachment), keeping the previous version."""
        with self.atomic():
            old = self.ledger_report(report_id)
            if old is None:
                raise KeyError(report_id)
            self.db["ledger_report_versions"].insert(
                {
                    "report_id": report_id,
                    "text": old.text,
                    **_attachment_columns(old.attachment),
                    "written_at": stamp(old.updated_at),
                    "replaced_at": stamp(now),
                    "replaced_by": actor_label(by),
                }
            )
            self.db["ledger_reports"].update(
                report_id,
                {"text": text, **_attachment_columns(attachment), "updated_at": stamp(now), "edits": old.edits + 1},
            )

    def ledger_report(self, report_id: int) -> LedgerReport | None:
        rows = self._rows(f"{_SELECT} WHERE r.id = ?", (report_id,))
        return _report(rows[0]) if rows else None

    def ledger_reports(
        self, *, task: int | None = None, quarter: str | None = None, contact_id: int | None = None
    ) -> list[LedgerReport]:
        """Reports matching every given filter, newest first."""
        rows = self._rows(
            f"{_SELECT} WHERE (:task IS NULL OR r.task = :task) AND (:quarter IS NULL OR r.quarter = :quarter)"
            " AND (:contact IS NULL OR r.contact_id = :contact) ORDER BY r.created_at DESC, r.id DESC",
            {"task": task, "quarter": quarter, "contact": contact_id},
        )
        return [_report(row) for row in rows]

    def latest_ledger_reports(self, quarter: str | None = None, task: int | None = None) -> list[LedgerReport]:
        """The newest report of each (task, unit), optionally only among those filed in ``quarter``."""
        rows = self._rows(
            "SELECT * FROM (SELECT r.*, c.name AS contact_name, row_number() OVER"
            " (PARTITION BY r.task, r.unit_id ORDER BY r.created_at DESC, r.id DESC) AS rank"
            " FROM ledger_reports r LEFT JOIN unit_contacts c ON c.id = r.contact_id"
            " WHERE (:quarter IS NULL OR r.quarter = :quarter) AND (:task IS NULL OR r.task = :task))"
            " WHERE rank = 1 ORDER BY task, unit_id",
            {"quarter": quarter, "task": task},
        )
        return [_report(row) for row in rows]

    def ledger_versions(self, report_id: int) -> list[LedgerVersion]:
        """Earlier texts of a report, oldest first."""
        rows = self._rows("SELECT * FROM ledger_report_versions WHERE report_id = ? ORDER BY id", (report_id,))
        return [
            LedgerVersion(
                report_id=row["report_id"],
                text=row["text"],
                attachment=_attachment(row),
                written_at=datetime.fromisoformat(row["written_at"]),
                replaced_at=datetime.fromisoformat(row["replaced_at"]),
                replaced_by=row["replaced_by"],
            )
            for row in rows
        ]

    # ---- visibility ------------------------------------------------------------

    def public_units(self) -> set[str]:
        """Units whose reports secretaries made visible to everyone (default: none)."""
        return {row["unit_id"] for row in self._rows("SELECT unit_id FROM ledger_visibility WHERE public = 1")}

    def set_unit_public(self, unit_id: str, public: bool, by: int | None, now: datetime) -> None:
        self.db["ledger_visibility"].upsert(
            {"unit_id": unit_id, "public": int(public), "set_by": actor_label(by), "set_at": stamp(now)},
            pk="unit_id",
        )
