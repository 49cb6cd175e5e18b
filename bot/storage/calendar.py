"""Events, reminder deliveries and skips, rule overrides and the reminder clock (issue: scheduled reminders).

Tables:

* ``events``: the consultation calendar. ``scheduled_at`` is when the current date/time was
  set (creation or the last reschedule): reminders nominally due before it are never sent.
  ``sequence`` counts changes (iCalendar SEQUENCE).
* ``reminder_deliveries``: one row per (rule, occurrence, recipient), UNIQUE: the exactly-once
  key. ``outcome`` is ``sent`` (handed to the outbox in the same transaction) or ``skipped``
  (with a reason: unbound, late, superseded); skips are reported to the secretaries once
  (``reported``).
* ``reminder_overrides``: secretaries' overrides of knowledge/reminders.json, one JSON value per
  (rule, key).
* ``reminder_state``: small key/value state, e.g. the end of the last reminder pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from bot.storage.core import Migration, Record, stamp

EVENT_STATUSES = ("scheduled", "cancelled")
DELIVERY_OUTCOMES = ("sent", "skipped")

CALENDAR_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "events, reminder deliveries, overrides and state",
        (
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                title TEXT NOT NULL,
                start_date TEXT NOT NULL,
                start_time TEXT,
                end_date TEXT,
                end_time TEXT,
                place TEXT NOT NULL DEFAULT '',
                audience TEXT NOT NULL,
                quarter TEXT,
                notes TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
                sequence INTEGER NOT NULL DEFAULT 0,
                scheduled_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX events_by_date ON events (start_date)",
            """CREATE TABLE reminder_deliveries (
                id INTEGER PRIMARY KEY,
                rule_id TEXT NOT NULL,
                occurrence TEXT NOT NULL,
                recipient TEXT NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'skipped')),
                reason TEXT,
                due_at TEXT NOT NULL,
                decided_at TEXT NOT NULL,
                telegram_id INTEGER,
                recipient_name TEXT NOT NULL DEFAULT '',
                summary TEXT NOT NULL DEFAULT '',
                outbox_key TEXT,
                reported INTEGER NOT NULL DEFAULT 0 CHECK (reported IN (0, 1)),
                UNIQUE (rule_id, occurrence, recipient)
            )""",
            "CREATE INDEX reminder_deliveries_unreported ON reminder_deliveries (outcome, reported)",
            """CREATE TABLE reminder_overrides (
                rule_id TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                set_by TEXT NOT NULL,
                set_at TEXT NOT NULL,
                PRIMARY KEY (rule_id, key)
            )""",
            """CREATE TABLE reminder_state (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
        ),
    ),
)


@dataclass(frozen=True)
class EventRow:
    """An event as stored; :mod:`bot.calendar.events` wraps it with meaning."""

    id: int
    kind: str
    title: str
    start_date: date
    start_time: str | None  # HH:MM, None for an all-day event
    end_date: date | None
    end_time: str | None
    place: str
    audience: str
    quarter: str | None
    notes: str
    status: str
    sequence: int
    scheduled_at: datetime
    created_by: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    rule_id: str
    occurrence: str
    recipient: str
    outcome: str
    reason: str | None
    due_at: datetime
    decided_at: datetime
    telegram_id: int | None
    recipient_name: str
    summary: str
    outbox_key: str | None
    reported: bool


@dataclass(frozen=True)
class OverrideRow:
    rule_id: str
    key: str
    value: Any
    set_by: str
    set_at: str


def _event(row: dict) -> EventRow:
    return EventRow(
        **dict(
            row,
            start_date=date.fromisoformat(row["start_date"]),
            end_date=date.fromisoformat(row["end_date"]) if row["end_date"] else None,
            scheduled_at=datetime.fromisoformat(row["scheduled_at"]),
        )
    )


def _event_columns(fields: dict[str, Any]) -> dict[str, Any]:
    columns = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            value = stamp(value)
        elif isinstance(value, date):
            value = value.isoformat()
        columns[key] = value
    return columns


def _delivery(row: dict) -> DeliveryRow:
    return DeliveryRow(
        **dict(
            row,
            due_at=datetime.fromisoformat(row["due_at"]),
            decided_at=datetime.fromisoformat(row["decided_at"]),
            reported=bool(row["reported"]),
        )
    )


class CalendarStore:
    """Mixin for :class:`bot.storage.Storage`; methods use ``self.db`` (sqlite-utils)."""

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {"calendar": CALENDAR_MIGRATIONS}

    # ---- events --------------------------------------------------------------

    def insert_event(self, fields: dict[str, Any]) -> int:
        return self.db["events"].insert(_event_columns(fields)).last_pk

    def update_event(self, event_id: int, fields: dict[str, Any]) -> None:
        self.db["events"].update(event_id, _event_columns(fields))

    def event(self, event_id: int) -> EventRow | None:
        rows = list(self.db.query("SELECT * FROM events WHERE id = ?", (event_id,)))
        return _event(rows[0]) if rows else None

    def events_between(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        kinds: tuple[str, ...] | None = None,
        include_cancelled: bool = False,
    ) -> list[EventRow]:
        """Events starting on a day in [start, end) (either bound optional), by start."""
        rows = self.db.query(
            "SELECT * FROM events WHERE (:start IS NULL OR start_date >= :start)"
            " AND (:end IS NULL OR start_date < :end) AND (:all OR status = 'scheduled')"
            " ORDER BY start_date, coalesce(start_time, ''), id",
            {"start": start and start.isoformat(), "end": end and end.isoformat(), "all": int(include_cancelled)},
        )
        events = [_event(row) for row in rows]
        return [e for e in events if kinds is None or e.kind in kinds]

    def events_in_quarter(self, quarter: str, kind: str) -> list[EventRow]:
        """Scheduled (not cancelled) events of ``kind`` counted for ``quarter`` (e.g. 2027Q1)."""
        rows = self.db.query(
            "SELECT * FROM events WHERE quarter = ? AND kind = ? AND status = 'scheduled' ORDER BY start_date, id",
            (quarter, kind),
        )
        return [_event(row) for row in rows]

    def open_proposals(self) -> list[Record]:
        """Proposals assigned to undertaking units and not yet replied, with a reply due date."""
        rows = self.db.query(
            "SELECT id FROM records WHERE kind = '提案' AND status = 'assigned' AND reply_due IS NOT NULL"
            " ORDER BY reply_due, id"
        )
        return [self.record(row["id"]) for row in rows]

    # ---- deliveries and skips ------------------------------------------------

    def delivery_keys(self, keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """The subset of (rule, occurrence, recipient) keys already decided (sent or skipped)."""
        wanted = list(dict.fromkeys(keys))
        found: set[tuple[str, str, str]] = set()
        for begin in range(0, len(wanted), 300):
            chunk = wanted[begin : begin + 300]
            rows = self.db.query(
                "SELECT rule_id, occurrence, recipient FROM reminder_deliveries"
                " WHERE (rule_id, occurrence, recipient) IN (VALUES " + ", ".join(["(?, ?, ?)"] * len(chunk)) + ")",
                [part for key in chunk for part in key],
            )
            found.update((row["rule_id"], row["occurrence"], row["recipient"]) for row in rows)
        return found

    def record_delivery(
        self,
        key: tuple[str, str, str],
        *,
        outcome: str,
        due_at: datetime,
        decided_at: datetime,
        telegram_id: int | None,
        recipient_name: str,
        summary: str,
        reason: str | None = None,
        outbox_key: str | None = None,
    ) -> bool:
        """Record a decision under its unique key; False (and nothing written) if already decided."""
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO reminder_deliveries (rule_id, occurrence, recipient, outcome, reason, due_at,"
            " decided_at, telegram_id, recipient_name, summary, outbox_key, reported)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *key,
                outcome,
                reason,
                stamp(due_at),
                stamp(decided_at),
                telegram_id,
                recipient_name,
                summary,
                outbox_key,
                int(outcome == "sent"),
            ),
        )
        return cursor.rowcount == 1

    def deliveries(
        self, *, outcome: str | None = None, rule_id: str | None = None, since: datetime | None = None
    ) -> list[DeliveryRow]:
        rows = self.db.query(
            "SELECT * FROM reminder_deliveries WHERE (:outcome IS NULL OR outcome = :outcome)"
            " AND (:rule IS NULL OR rule_id = :rule) ORDER BY id",
            {"outcome": outcome, "rule": rule_id},
        )
        found = [_delivery(row) for row in rows]
        return [d for d in found if since is None or d.decided_at >= since]

    def unreported_skips(self) -> list[DeliveryRow]:
        rows = self.db.query("SELECT * FROM reminder_deliveries WHERE outcome = 'skipped' AND reported = 0 ORDER BY id")
        return [_delivery(row) for row in rows]

    def mark_skips_reported(self, ids: list[int]) -> None:
        for delivery_id in ids:
            self.db["reminder_deliveries"].update(delivery_id, {"reported": 1})

    # ---- overrides -----------------------------------------------------------

    def reminder_overrides(self) -> list[OverrideRow]:
        rows = self.db.query("SELECT * FROM reminder_overrides ORDER BY rule_id, key")
        return [OverrideRow(**dict(row, value=json.loads(row["value"]))) for row in rows]

    def set_reminder_override(self, rule_id: str, key: str, value: Any, set_by: str, now: datetime) -> None:
        self.db["reminder_overrides"].upsert(
            {
                "rule_id": rule_id,
                "key": key,
                "value": json.dumps(value, ensure_ascii=False),
                "set_by": set_by,
                "set_at": stamp(now),
            },
            pk=("rule_id", "key"),
        )

    def clear_reminder_overrides(self, rule_id: str, key: str | None = None) -> int:
        cursor = self.db.execute(
            "DELETE FROM reminder_overrides WHERE rule_id = ? AND (? IS NULL OR key = ?)", (rule_id, key, key)
        )
        return cursor.rowcount

    # ---- state ---------------------------------------------------------------

    def reminder_state(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM reminder_state WHERE key = ?", (key,)))
        return rows[0]["value"] if rows else None

    def set_reminder_state(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO reminder_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
