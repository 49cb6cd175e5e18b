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
* ``meeting_replies``: one row per (meeting, person): 参加 or 请假 with the leave's reason and
  approval (pending → approved | rejected, or withdrawn). A meeting is ``event:<id>`` or, for a
  meeting notice without an event, ``notice:<id>``.
* ``event_attendance``: who signed in (button, typed, code) or was marked by a secretary.
* ``meeting_steps``: the one value the assistant waits for from a person (a leave reason, a
  签到码, a refusal's reason) until ``until`` (epoch seconds), so a restart does not forget it.
* ``event_outcomes``: written once when an event ends (``events.closed_at``): each invited
  member attended, was on approved leave or was absent; the duty statistics count these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from bot.storage.core import Migration, Record, stamp
from bot.storage.outbox import NoticeRecipientRecord

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
    Migration(
        "meeting replies, leave approval, sign-in and attendance outcomes",
        (
            "ALTER TABLE events ADD COLUMN notice_id INTEGER",
            "ALTER TABLE events ADD COLUMN signin_code TEXT",
            "ALTER TABLE events ADD COLUMN closed_at TEXT",
            "CREATE INDEX events_by_notice ON events (notice_id) WHERE notice_id IS NOT NULL",
            """CREATE TABLE meeting_replies (
                id INTEGER PRIMARY KEY,
                meeting TEXT NOT NULL,
                recipient_key TEXT NOT NULL,
                name TEXT NOT NULL,
                chat_id INTEGER,
                response TEXT NOT NULL CHECK (response IN ('attend', 'leave')),
                answered_at TEXT NOT NULL,
                reason TEXT,
                leave_status TEXT CHECK (leave_status IN ('pending', 'approved', 'rejected', 'withdrawn')),
                decided_by TEXT,
                decided_at TEXT,
                decision_note TEXT,
                UNIQUE (meeting, recipient_key)
            )""",
            "CREATE INDEX meeting_replies_by_person ON meeting_replies (recipient_key)",
            """CREATE TABLE event_attendance (
                event_id INTEGER NOT NULL,
                recipient_key TEXT NOT NULL,
                name TEXT NOT NULL,
                member_id INTEGER,
                signed_at TEXT NOT NULL,
                method TEXT NOT NULL CHECK (method IN ('button', 'typed', 'code', 'secretary')),
                marked_by TEXT NOT NULL,
                PRIMARY KEY (event_id, recipient_key)
            )""",
            """CREATE TABLE event_outcomes (
                event_id INTEGER NOT NULL,
                member_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome IN ('attended', 'leave', 'absent')),
                PRIMARY KEY (event_id, member_id)
            )""",
            "CREATE INDEX event_outcomes_by_day ON event_outcomes (day)",
        ),
    ),
    Migration(
        # Events that took place before replies and sign-ins existed are history: closing them
        # now would mark every invited member absent and send the secretaries a list for each.
        "events held before sign-in existed are closed without outcomes",
        (
            "UPDATE events SET closed_at = local_now()"  # CPPCC_TZ (bot/storage/core.py)
            " WHERE closed_at IS NULL AND start_date < local_today()"
            " AND NOT EXISTS (SELECT 1 FROM event_attendance AS a WHERE a.event_id = events.id)",
        ),
    ),
    Migration(
        "the meeting step a person is asked for (a leave reason, a 签到码, a refusal's reason)",
        (
            """CREATE TABLE meeting_steps (
                telegram_id INTEGER PRIMARY KEY,
                what TEXT NOT NULL,
                data TEXT NOT NULL DEFAULT '{}',
                until REAL NOT NULL
            )""",
        ),
    ),
)

MEETING_RESPONSES = ("attend", "leave")
LEAVE_STATUSES = ("pending", "approved", "rejected", "withdrawn")
OUTCOMES = ("attended", "leave", "absent")


@dataclass(frozen=True)
class MeetingReplyRow:
    id: int
    meeting: str  # "event:5" | "notice:7"
    recipient_key: str  # "member:3" …
    name: str
    chat_id: int | None
    response: str  # attend | leave
    answered_at: str
    reason: str | None
    leave_status: str | None  # pending | approved | rejected | withdrawn (leave only)
    decided_by: str | None
    decided_at: str | None
    decision_note: str | None


@dataclass(frozen=True)
class AttendanceRow:
    event_id: int
    recipient_key: str
    name: str
    member_id: int | None
    signed_at: str
    method: str  # button | typed | code | secretary
    marked_by: str


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
    notice_id: int | None = None  # the meeting notice sent with the event (同时发送会议通知)
    signin_code: str | None = None  # 签到码 shown in the room, when the secretary set one
    closed_at: str | None = None  # when attendance became duty records (the event ended)


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

    def event_of_notice(self, notice_id: int) -> EventRow | None:
        rows = list(self.db.query("SELECT * FROM events WHERE notice_id = ?", (notice_id,)))
        return _event(rows[0]) if rows else None

    def events_to_close(self, until: date) -> list[EventRow]:
        """Scheduled events starting on or before ``until`` whose attendance is not yet closed."""
        rows = self.db.query(
            "SELECT * FROM events WHERE closed_at IS NULL AND status = 'scheduled' AND start_date <= ?"
            " ORDER BY start_date, id",
            (until.isoformat(),),
        )
        return [_event(row) for row in rows]

    def mark_event_closed(self, event_id: int, at: str | None) -> bool:
        """Set (or with None clear) ``closed_at``; False when it already had that state."""
        if at is None:
            sql, params = "UPDATE events SET closed_at = NULL WHERE id = ? AND closed_at IS NOT NULL", (event_id,)
        else:
            sql, params = "UPDATE events SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (at, event_id)
        return self.db.execute(sql, params).rowcount == 1

    def notice_recipient_by_key(self, notice_id: int, recipient_key: str) -> NoticeRecipientRecord | None:
        rows = list(
            self.db.query(
                "SELECT * FROM notice_recipients WHERE notice_id = ? AND recipient_key = ?", (notice_id, recipient_key)
            )
        )
        return NoticeRecipientRecord(**rows[0]) if rows else None

    # ---- inbox queries ---------------------------------------------------------

    def notices_for(self, recipient_key: str, since: str | None = None, limit: int = 50) -> list[tuple[int, bool]]:
        """(notice id, confirmed) of the sent notices addressed to a person, newest first."""
        rows = self.db.query(
            "SELECT n.id, r.confirmed_at IS NOT NULL AS confirmed FROM notice_recipients AS p"
            " JOIN notices AS n ON n.id = p.notice_id"
            " LEFT JOIN notice_receipts AS r ON r.notice_id = p.notice_id AND r.recipient_key = p.recipient_key"
            " WHERE p.recipient_key = :key AND n.status IN ('sending', 'done')"
            " AND (:since IS NULL OR coalesce(n.send_at, n.created_at) >= :since)"
            " ORDER BY coalesce(n.send_at, n.created_at) DESC, n.id DESC LIMIT :limit",
            {"key": recipient_key, "since": since, "limit": limit},
        )
        return [(row["id"], bool(row["confirmed"])) for row in rows]

    def bindings_since(self, at: str) -> list[tuple[int, str, int, str]]:
        """(telegram id, person kind, person id, bound at) of bindings made at or after ``at`` (stamps
        have whole seconds: one made in the same second as the last look is seen again)."""
        rows = self.db.query(
            "SELECT telegram_id, person_kind, person_id, bound_at FROM bindings WHERE bound_at >= ? ORDER BY bound_at",
            (at,),
        )
        return [(r["telegram_id"], r["person_kind"], r["person_id"], r["bound_at"]) for r in rows]

    def unsent_notices_for(self, recipient_key: str) -> int:
        """Sent notices addressed to a person who had no Telegram then, not yet confirmed."""
        return self.db.execute(
            "SELECT count(*) FROM notice_recipients AS p JOIN notices AS n ON n.id = p.notice_id"
            " LEFT JOIN notice_receipts AS r ON r.notice_id = p.notice_id AND r.recipient_key = p.recipient_key"
            " WHERE p.recipient_key = ? AND p.chat_id IS NULL AND n.status IN ('sending', 'done')"
            " AND r.confirmed_at IS NULL",
            (recipient_key,),
        ).fetchone()[0]

    # ---- meeting replies and leave ---------------------------------------------

    def set_meeting_step(self, telegram_id: int, what: str, data: dict[str, Any], until: float) -> None:
        self.db.execute(
            "INSERT INTO meeting_steps (telegram_id, what, data, until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE"
            " SET what = excluded.what, data = excluded.data, until = excluded.until",
            (telegram_id, what, json.dumps(data, ensure_ascii=False), until),
        )

    def meeting_step(self, telegram_id: int, now: float) -> dict[str, Any] | None:
        """{"what": …, **data} of the person's open step, or None (none, or past ``until``)."""
        rows = self._rows(
            "SELECT what, data FROM meeting_steps WHERE telegram_id = ? AND until > ?", (telegram_id, now)
        )
        return {"what": rows[0]["what"], **json.loads(rows[0]["data"])} if rows else None

    def clear_meeting_step(self, telegram_id: int) -> None:
        self.db.execute("DELETE FROM meeting_steps WHERE telegram_id = ?", (telegram_id,))

    def meeting_reply(self, meeting: str, recipient_key: str) -> MeetingReplyRow | None:
        rows = list(
            self.db.query(
                "SELECT * FROM meeting_replies WHERE meeting = ? AND recipient_key = ?", (meeting, recipient_key)
            )
        )
        return MeetingReplyRow(**rows[0]) if rows else None

    def meeting_reply_by_id(self, reply_id: int) -> MeetingReplyRow | None:
        rows = list(self.db.query("SELECT * FROM meeting_replies WHERE id = ?", (reply_id,)))
        return MeetingReplyRow(**rows[0]) if rows else None

    def meeting_replies(self, meeting: str) -> list[MeetingReplyRow]:
        rows = self.db.query("SELECT * FROM meeting_replies WHERE meeting = ? ORDER BY id", (meeting,))
        return [MeetingReplyRow(**row) for row in rows]

    def replies_of(self, recipient_key: str) -> dict[str, MeetingReplyRow]:
        """Meeting → this person's reply."""
        rows = self.db.query("SELECT * FROM meeting_replies WHERE recipient_key = ?", (recipient_key,))
        return {row["meeting"]: MeetingReplyRow(**row) for row in rows}

    def save_meeting_reply(self, fields: dict[str, Any]) -> int:
        """Insert or replace a person's reply to a meeting (decision fields cleared); its id."""
        if fields["response"] not in MEETING_RESPONSES:
            raise ValueError(f"unknown response {fields['response']!r}")
        self.db.execute(
            "INSERT INTO meeting_replies (meeting, recipient_key, name, chat_id, response, answered_at, reason,"
            " leave_status) VALUES (:meeting, :recipient_key, :name, :chat_id, :response, :answered_at, :reason,"
            " :leave_status) ON CONFLICT (meeting, recipient_key) DO UPDATE SET response = excluded.response,"
            " answered_at = excluded.answered_at, reason = excluded.reason, leave_status = excluded.leave_status,"
            " chat_id = excluded.chat_id, decided_by = NULL, decided_at = NULL, decision_note = NULL",
            {"reason": None, "leave_status": None, **fields},
        )
        return self.meeting_reply(fields["meeting"], fields["recipient_key"]).id

    def set_reply_reason(self, reply_id: int, reason: str) -> None:
        self.db.execute("UPDATE meeting_replies SET reason = ? WHERE id = ?", (reason, reply_id))

    def decide_leave(self, reply_id: int, status: str, by: str, at: str, note: str | None) -> bool:
        """pending → approved | rejected; False when the request is no longer pending."""
        if status not in ("approved", "rejected"):
            raise ValueError(f"not a decision: {status!r}")
        cursor = self.db.execute(
            "UPDATE meeting_replies SET leave_status = ?, decided_by = ?, decided_at = ?, decision_note = ?"
            " WHERE id = ? AND response = 'leave' AND leave_status = 'pending'",
            (status, by, at, note, reply_id),
        )
        return cursor.rowcount == 1

    def withdraw_leave(self, reply_id: int, at: str) -> bool:
        """A leave (pending or decided) becomes 参加 again; False when it was not a leave."""
        cursor = self.db.execute(
            "UPDATE meeting_replies SET response = 'attend', leave_status = 'withdrawn', answered_at = ?"
            " WHERE id = ? AND response = 'leave'",
            (at, reply_id),
        )
        return cursor.rowcount == 1

    # ---- sign-in and outcomes --------------------------------------------------

    def sign_in(self, fields: dict[str, Any]) -> bool:
        """Record a sign-in; False (nothing written) when the person had already signed in."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO event_attendance (event_id, recipient_key, name, member_id, signed_at, method,"
            " marked_by) VALUES (:event_id, :recipient_key, :name, :member_id, :signed_at, :method, :marked_by)",
            fields,
        )
        return cursor.rowcount == 1

    def unsign(self, event_id: int, recipient_key: str) -> bool:
        cursor = self.db.execute(
            "DELETE FROM event_attendance WHERE event_id = ? AND recipient_key = ?", (event_id, recipient_key)
        )
        return cursor.rowcount == 1

    def attendance(self, event_id: int) -> dict[str, AttendanceRow]:
        rows = self.db.query("SELECT * FROM event_attendance WHERE event_id = ? ORDER BY signed_at", (event_id,))
        return {row["recipient_key"]: AttendanceRow(**row) for row in rows}

    def attendance_of(self, event_id: int, recipient_key: str) -> AttendanceRow | None:
        rows = list(
            self.db.query(
                "SELECT * FROM event_attendance WHERE event_id = ? AND recipient_key = ?", (event_id, recipient_key)
            )
        )
        return AttendanceRow(**rows[0]) if rows else None

    def save_outcomes(self, event_id: int, day: date, outcomes: dict[int, str]) -> None:
        """Replace an event's outcomes: member id → attended | leave | absent."""
        self.db.execute("DELETE FROM event_outcomes WHERE event_id = ?", (event_id,))
        self.db.conn.executemany(
            "INSERT INTO event_outcomes (event_id, member_id, day, outcome) VALUES (?, ?, ?, ?)",
            [(event_id, member, day.isoformat(), outcome) for member, outcome in outcomes.items()],
        )

    def set_outcome(self, event_id: int, member_id: int, outcome: str) -> None:
        self.db.execute(
            "UPDATE event_outcomes SET outcome = ? WHERE event_id = ? AND member_id = ?", (outcome, event_id, member_id)
        )

    def event_outcomes(self, event_id: int) -> dict[int, str]:
        rows = self.db.query("SELECT member_id, outcome FROM event_outcomes WHERE event_id = ?", (event_id,))
        return {row["member_id"]: row["outcome"] for row in rows}

    def outcome_counts(self, start: date, end: date) -> dict[int, dict[str, int]]:
        """member id → outcome → number of closed events dated in [start, end)."""
        rows = self.db.query(
            "SELECT member_id, outcome, count(*) AS n FROM event_outcomes WHERE day >= ? AND day < ?"
            " GROUP BY member_id, outcome",
            (start.isoformat(), end.isoformat()),
        )
        counts: dict[int, dict[str, int]] = {}
        for row in rows:
            counts.setdefault(row["member_id"], {})[row["outcome"]] = row["n"]
        return counts

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
