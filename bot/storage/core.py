"""SQLite storage core: connection, versioned migrations, people, bindings, records, audit log.

The ``bot.storage`` package is the only place that knows table names or writes SQL. Each
domain (people, calendar, notices, ledger) keeps its tables, migrations and queries in its
own module; :class:`bot.storage.Storage` combines them. Schema versions are kept per domain
in the ``schema_versions`` table; opening a Storage applies every pending migration, each in
its own transaction. Callers group multi-step writes with ``with storage.atomic():`` (nested
blocks become savepoints).

Times are timezone-aware and stored as ISO-8601 with offset; record dates are ``YYYY-MM-DD``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.config import DEFAULT_TZ, Settings
from bot.storage.connection import StorageError, database_failure, open_database

PERSON_TABLES = {"member": "members", "unit_contact": "unit_contacts"}
RECORD_KINDS = ("提案", "社情民意", "活动", "培训")
PROPOSAL_STATUSES = ("submitted", "accepted", "assigned", "replied")


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "people, bindings, records and audit log",
        (
            """CREATE TABLE members (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                phone TEXT NOT NULL UNIQUE,
                sector TEXT,
                committee TEXT,
                township TEXT,
                party TEXT,
                is_standing INTEGER NOT NULL DEFAULT 0 CHECK (is_standing IN (0, 1)),
                active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE unit_contacts (
                id INTEGER PRIMARY KEY,
                unit_id TEXT NOT NULL,
                name TEXT NOT NULL,
                phone TEXT NOT NULL UNIQUE,
                active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE admins (
                telegram_id INTEGER PRIMARY KEY,
                added_by TEXT NOT NULL,
                added_at TEXT NOT NULL
            )""",
            """CREATE TABLE bindings (
                telegram_id INTEGER PRIMARY KEY,
                person_kind TEXT NOT NULL CHECK (person_kind IN ('member', 'unit_contact')),
                person_id INTEGER NOT NULL,
                bound_at TEXT NOT NULL,
                method TEXT NOT NULL CHECK (method IN ('contact', 'code')),
                UNIQUE (person_kind, person_id)
            )""",
            """CREATE TABLE binding_codes (
                code_hash TEXT PRIMARY KEY,
                person_kind TEXT NOT NULL CHECK (person_kind IN ('member', 'unit_contact')),
                person_id INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                used_at TEXT,
                used_by INTEGER
            )""",
            """CREATE TABLE code_attempts (
                id INTEGER PRIMARY KEY,
                telegram_id INTEGER NOT NULL,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX code_attempts_by_user ON code_attempts (telegram_id)",
            """CREATE TABLE records (
                id INTEGER PRIMARY KEY,
                member_id INTEGER NOT NULL REFERENCES members (id),
                kind TEXT NOT NULL CHECK (kind IN ('提案', '社情民意', '活动', '培训')),
                title TEXT NOT NULL,
                date TEXT NOT NULL,
                year INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('self', 'import', 'admin'))
            )""",
            "CREATE INDEX records_by_member ON records (member_id, date)",
            "CREATE INDEX records_by_date ON records (date)",
            """CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT '{}'
            )""",
        ),
    ),
    Migration(
        "proposal lifecycle on records",
        (
            "ALTER TABLE records ADD COLUMN status TEXT"
            " CHECK (status IN ('submitted', 'accepted', 'assigned', 'replied'))",
            "ALTER TABLE records ADD COLUMN units TEXT",
            "ALTER TABLE records ADD COLUMN assigned_on TEXT",
            "ALTER TABLE records ADD COLUMN reply_due TEXT",
            "ALTER TABLE records ADD COLUMN replied_on TEXT",
            "UPDATE records SET status = 'submitted' WHERE kind = '提案'",
        ),
    ),
    Migration(
        # Rosters used to be stored as the 11 digits of a Chinese mobile; bot.phone now stores
        # every number as E.164, the form Telegram contacts are compared in.
        "phone numbers as E.164",
        tuple(
            f"UPDATE {table} SET phone = '+86' || phone WHERE phone GLOB '1[3-9]{'[0-9]' * 9}'"
            for table in ("members", "unit_contacts")
        ),
    ),
    Migration(
        # Records the assistant makes itself (a proposal submitted in chat, attendance at an
        # event) name their origin in ``ref`` ("proposal:12", "event:5"); one per member, kind
        # and origin, so a repeated conversion never counts twice. SQLite cannot widen a CHECK
        # in place, hence the rebuild.
        "records linked to their origin",
        (
            """CREATE TABLE records_new (
                id INTEGER PRIMARY KEY,
                member_id INTEGER NOT NULL REFERENCES members (id),
                kind TEXT NOT NULL CHECK (kind IN ('提案', '社情民意', '活动', '培训')),
                title TEXT NOT NULL,
                date TEXT NOT NULL,
                year INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('self', 'import', 'admin', 'proposal', 'event')),
                status TEXT CHECK (status IN ('submitted', 'accepted', 'assigned', 'replied')),
                units TEXT,
                assigned_on TEXT,
                reply_due TEXT,
                replied_on TEXT,
                ref TEXT
            )""",
            "INSERT INTO records_new (id, member_id, kind, title, date, year, created_by, created_at, source,"
            " status, units, assigned_on, reply_due, replied_on)"
            " SELECT id, member_id, kind, title, date, year, created_by, created_at, source,"
            " status, units, assigned_on, reply_due, replied_on FROM records",
            "DROP TABLE records",
            "ALTER TABLE records_new RENAME TO records",
            "CREATE INDEX records_by_member ON records (member_id, date)",
            "CREATE INDEX records_by_date ON records (date)",
            "CREATE UNIQUE INDEX records_by_origin ON records (member_id, kind, ref) WHERE ref IS NOT NULL",
            "CREATE INDEX records_by_ref ON records (ref) WHERE ref IS NOT NULL",
        ),
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
PEOPLE = "people"


def schema_version(db: sqlite_utils.Database, domain: str = PEOPLE) -> int:
    if "schema_versions" not in db.table_names():
        return 0
    row = db.execute("SELECT version FROM schema_versions WHERE domain = ?", (domain,)).fetchone()
    return row[0] if row else 0


def migrate(db: sqlite_utils.Database, migrations: tuple[Migration, ...] = MIGRATIONS, domain: str = PEOPLE) -> None:
    """Bring ``domain``'s schema up to ``len(migrations)``, one transaction per migration."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_versions (domain TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    version = schema_version(db, domain)
    if version > len(migrations):
        raise StorageError(
            f"数据库中“{domain}”部分的结构版本为 {version}，高于本程序支持的 {len(migrations)}，请升级程序后再打开"
        )
    for number, migration in enumerate(migrations[version:], start=version + 1):
        with db.atomic():
            for statement in migration.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_versions (domain, version) VALUES (?, ?)"
                " ON CONFLICT (domain) DO UPDATE SET version = excluded.version",
                (domain, number),
            )


# ---- row shapes -------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    phone: str
    sector: str | None  # 界别
    committee: str | None  # 专委会
    township: str | None  # 乡镇街道
    party: str | None  # 党派
    is_standing: bool  # 常委
    active: bool
    created_at: str
    updated_at: str

    kind = "member"


@dataclass(frozen=True)
class UnitContact:
    id: int
    unit_id: str
    name: str
    phone: str
    active: bool
    created_at: str
    updated_at: str

    kind = "unit_contact"


Person = Member | UnitContact


@dataclass(frozen=True)
class Admin:
    telegram_id: int
    added_by: str
    added_at: str


@dataclass(frozen=True)
class Binding:
    telegram_id: int
    person_kind: str
    person_id: int
    bound_at: str
    method: str


@dataclass(frozen=True)
class BindingCode:
    code_hash: str
    person_kind: str
    person_id: int
    created_at: str
    expires_at: datetime
    used_at: str | None
    used_by: int | None


@dataclass(frozen=True)
class Record:
    id: int
    member_id: int
    kind: str
    title: str
    date: date
    year: int
    created_by: str
    created_at: str
    source: str
    status: str | None = None
    units: tuple[str, ...] = ()
    assigned_on: date | None = None
    reply_due: date | None = None
    replied_on: date | None = None
    ref: str | None = None  # origin of a record the assistant made: "proposal:12", "event:5"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    detail: dict


def _person(kind: str, row: dict) -> Person:
    row = dict(row, active=bool(row["active"]))
    if kind == "member":
        return Member(**dict(row, is_standing=bool(row["is_standing"])))
    return UnitContact(**row)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _record(row: dict) -> Record:
    return Record(
        **{key: row[key] for key in ("id", "member_id", "kind", "title", "year", "created_by", "created_at")},
        date=date.fromisoformat(row["date"]),
        source=row["source"],
        status=row["status"],
        units=tuple(json.loads(row["units"])) if row["units"] else (),
        assigned_on=_day(row["assigned_on"]),
        reply_due=_day(row["reply_due"]),
        replied_on=_day(row["replied_on"]),
        ref=row.get("ref"),
    )


def _record_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Python values → column values for the records table."""
    columns = {}
    for key, value in fields.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif key == "units":
            value = json.dumps(list(value), ensure_ascii=False) if value else None
        columns[key] = value
    if "date" in columns:
        columns["year"] = int(columns["date"][:4])
    return columns


def actor_label(telegram_id: int | None) -> str:
    """How an actor is written in created_by / audit_log: the Telegram id, or 'cli'."""
    return "cli" if telegram_id is None else str(telegram_id)


def stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.isoformat(timespec="seconds")


class CoreStorage:
    """One SQLite database file; open it, use it, close it (or use ``with``).

    Domain modules add their tables through ``DOMAIN_MIGRATIONS`` on their mixin class.
    """

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {}

    def __init__(self, path: Path | str, tz: ZoneInfo | None = None):
        self.tz = tz or ZoneInfo(DEFAULT_TZ)
        # WAL, busy timeout and BEGIN IMMEDIATE: see bot/storage/connection.py
        self.db = open_database(path)
        # The configured zone for SQL (migrations that compare with "now"), not SQLite's localtime.
        self.db.conn.create_function("local_now", 0, lambda: stamp(datetime.now(self.tz)))
        self.db.conn.create_function("local_today", 0, lambda: datetime.now(self.tz).date().isoformat())
        try:
            migrate(self.db)
            for klass in type(self).__mro__:
                for domain, migrations in vars(klass).get("DOMAIN_MIGRATIONS", {}).items():
                    migrate(self.db, migrations, domain)
        except BaseException as exc:
            self.db.close()
            failure = database_failure(exc, path)
            if failure is None or failure is exc:
                raise
            raise failure from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> CoreStorage:
        return cls(settings.db_path, settings.tz)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CoreStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around everything inside; nested blocks are savepoints."""
        with self.db.atomic():
            yield

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()

    def _rows(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        return list(self.db.query(sql, params))

    # ---- audit ---------------------------------------------------------------

    def audit(self, actor: int | None, action: str, detail: dict | None = None, now: datetime | None = None) -> None:
        self.db["audit_log"].insert(
            {
                "at": stamp(now or self.now()),
                "actor": actor_label(actor),
                "action": action,
                "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
            }
        )

    def audit_entries(self, action: str | None = None) -> list[AuditEntry]:
        rows = self._rows(
            "SELECT * FROM audit_log WHERE :action IS NULL OR action = :action ORDER BY id", {"action": action}
        )
        return [AuditEntry(**dict(row, detail=json.loads(row["detail"]))) for row in rows]

    # ---- members and unit contacts ------------------------------------------

    def people(self, kind: str, *, active: bool | None = None) -> list[Person]:
        table = PERSON_TABLES[kind]
        rows = self._rows(
            f"SELECT * FROM {table} WHERE :active IS NULL OR active = :active ORDER BY id",
            {"active": None if active is None else int(active)},
        )
        return [_person(kind, row) for row in rows]

    def person(self, kind: str, person_id: int) -> Person | None:
        rows = self._rows(f"SELECT * FROM {PERSON_TABLES[kind]} WHERE id = ?", (person_id,))
        return _person(kind, rows[0]) if rows else None

    def person_by_phone(self, kind: str, phone: str) -> Person | None:
        rows = self._rows(f"SELECT * FROM {PERSON_TABLES[kind]} WHERE phone = ?", (phone,))
        return _person(kind, rows[0]) if rows else None

    def members_named(self, name: str) -> list[Member]:
        return [_person("member", row) for row in self._rows("SELECT * FROM members WHERE name = ?", (name,))]

    def insert_person(self, kind: str, fields: dict[str, Any], now: datetime) -> int:
        at = stamp(now)
        table = self.db[PERSON_TABLES[kind]]
        return table.insert(dict(fields, active=1, created_at=at, updated_at=at)).last_pk

    def update_person(self, kind: str, person_id: int, fields: dict[str, Any], now: datetime) -> None:
        self.db[PERSON_TABLES[kind]].update(person_id, dict(fields, updated_at=stamp(now)))

    def insert_people(self, kind: str, rows: list[dict[str, Any]], now: datetime) -> None:
        """Insert many people, one ``executemany`` per set of columns.

        Bulk statements keep a whole roster's transaction short (100,000 people in about a
        second rather than a minute row by row), so an import holds the write lock only briefly.
        """
        at = stamp(now)
        self._write_many(
            PERSON_TABLES[kind],
            [(dict(fields, active=1, created_at=at, updated_at=at), None) for fields in rows],
        )

    def update_people(self, kind: str, changes: list[tuple[int, dict[str, Any]]], now: datetime) -> None:
        """Apply (person id, changed fields) pairs in bulk, like :meth:`insert_people`."""
        at = stamp(now)
        rows = [(dict(fields, updated_at=at), person_id) for person_id, fields in changes]
        self._write_many(PERSON_TABLES[kind], rows)

    def _write_many(self, table: str, rows: list[tuple[dict[str, Any], int | None]]) -> None:
        """INSERT (id None) or UPDATE … WHERE id (id given) many rows, grouped by their columns."""
        known = set(self.db[table].columns_dict)
        groups: dict[tuple[tuple[str, ...], bool], list[tuple]] = {}
        for values, row_id in rows:
            columns = tuple(values)
            if not set(columns) <= known:
                raise ValueError(f"unknown columns for {table}: {sorted(set(columns) - known)}")
            key = (columns, row_id is None)
            groups.setdefault(key, []).append(tuple(values.values()) + (() if row_id is None else (row_id,)))
        with self.atomic():
            for (columns, insert), params in groups.items():
                quoted = [f'"{column}"' for column in columns]
                if insert:
                    sql = f'INSERT INTO "{table}" ({", ".join(quoted)}) VALUES ({", ".join("?" * len(quoted))})'
                else:
                    sql = f'UPDATE "{table}" SET {", ".join(f"{name} = ?" for name in quoted)} WHERE id = ?'
                self.db.conn.executemany(sql, params)

    # ---- admins --------------------------------------------------------------

    def admins(self) -> list[Admin]:
        return [Admin(**row) for row in self._rows("SELECT * FROM admins ORDER BY telegram_id")]

    def is_admin(self, telegram_id: int) -> bool:
        return bool(self._rows("SELECT 1 FROM admins WHERE telegram_id = ?", (telegram_id,)))

    def add_admin(self, telegram_id: int, added_by: int | None, now: datetime) -> bool:
        """False if already an admin."""
        if self.is_admin(telegram_id):
            return False
        self.db["admins"].insert(
            {"telegram_id": telegram_id, "added_by": actor_label(added_by), "added_at": stamp(now)}
        )
        return True

    def remove_admin(self, telegram_id: int) -> bool:
        """False if not an admin."""
        if not self.is_admin(telegram_id):
            return False
        self.db["admins"].delete(telegram_id)
        return True

    # ---- bindings ------------------------------------------------------------

    def binding(self, telegram_id: int) -> Binding | None:
        rows = self._rows("SELECT * FROM bindings WHERE telegram_id = ?", (telegram_id,))
        return Binding(**rows[0]) if rows else None

    def binding_of_person(self, kind: str, person_id: int) -> Binding | None:
        rows = self._rows("SELECT * FROM bindings WHERE person_kind = ? AND person_id = ?", (kind, person_id))
        return Binding(**rows[0]) if rows else None

    def bound_person_ids(self, kind: str) -> set[int]:
        return {row["person_id"] for row in self._rows("SELECT person_id FROM bindings WHERE person_kind = ?", (kind,))}

    def bind(self, telegram_id: int, kind: str, person_id: int, method: str, now: datetime) -> None:
        """Bind an account to a person, replacing any binding of either."""
        with self.atomic():
            self.db["bindings"].delete_where(
                "telegram_id = ? OR (person_kind = ? AND person_id = ?)",
                [
                    telegram_id,
                    kind,
                    person_id,
                ],
            )
            self.db["bindings"].insert(
                {
                    "telegram_id": telegram_id,
                    "person_kind": kind,
                    "person_id": person_id,
                    "bound_at": stamp(now),
                    "method": method,
                }
            )

    def unbind(self, telegram_id: int) -> bool:
        """False if the account was not bound."""
        if self.binding(telegram_id) is None:
            return False
        self.db["bindings"].delete(telegram_id)
        return True

    # ---- binding codes and attempts -----------------------------------------

    def replace_codes(self, codes: list[tuple[str, str, int]], expires_at: datetime, now: datetime) -> None:
        """Store (code_hash, person_kind, person_id) codes, revoking those people's unused codes."""
        with self.atomic():
            for code_hash, kind, person_id in codes:
                self.db["binding_codes"].delete_where(
                    "person_kind = ? AND person_id = ? AND used_at IS NULL", [kind, person_id]
                )
                self.db["binding_codes"].insert(
                    {
                        "code_hash": code_hash,
                        "person_kind": kind,
                        "person_id": person_id,
                        "created_at": stamp(now),
                        "expires_at": stamp(expires_at),
                    }
                )

    def binding_code(self, code_hash: str) -> BindingCode | None:
        rows = self._rows("SELECT * FROM binding_codes WHERE code_hash = ?", (code_hash,))
        if not rows:
            return None
        return BindingCode(**dict(rows[0], expires_at=datetime.fromisoformat(rows[0]["expires_at"])))

    def use_code(self, code_hash: str, telegram_id: int, now: datetime) -> None:
        self.db["binding_codes"].update(code_hash, {"used_at": stamp(now), "used_by": telegram_id})

    def add_code_attempt(self, telegram_id: int, now: datetime) -> None:
        self.db["code_attempts"].insert({"telegram_id": telegram_id, "at": stamp(now)})

    def code_attempts_since(self, telegram_id: int, since: datetime) -> int:
        """Wrong-code attempts by this account at or after ``since``."""
        rows = self._rows("SELECT at FROM code_attempts WHERE telegram_id = ?", (telegram_id,))
        return sum(1 for row in rows if datetime.fromisoformat(row["at"]) >= since)

    # ---- records -------------------------------------------------------------

    def insert_record(self, fields: dict[str, Any]) -> int:
        return self.db["records"].insert(_record_columns(fields)).last_pk

    def update_record(self, record_id: int, fields: dict[str, Any]) -> None:
        self.db["records"].update(record_id, _record_columns(fields))

    def delete_record(self, record_id: int) -> None:
        self.db["records"].delete(record_id)

    def link_record(self, fields: dict[str, Any]) -> int | None:
        """Insert a record made from an origin (``fields`` include ``ref`` and ``source``);
        None when this member already has a record of that kind from that origin."""
        columns = _record_columns(fields)
        names = ", ".join(columns)
        marks = ", ".join(f":{name}" for name in columns)
        cursor = self.db.execute(
            f"INSERT INTO records ({names}) VALUES ({marks})"
            " ON CONFLICT (member_id, kind, ref) WHERE ref IS NOT NULL DO NOTHING",
            columns,
        )
        return cursor.lastrowid if cursor.rowcount else None

    def unlink_records(self, ref: str, member_id: int | None = None) -> int:
        """Delete the records made from an origin (one member's, or everyone's); how many."""
        cursor = self.db.execute(
            "DELETE FROM records WHERE ref = :ref AND (:member IS NULL OR member_id = :member)",
            {"ref": ref, "member": member_id},
        )
        return cursor.rowcount

    def records_from(self, ref: str) -> list[Record]:
        """The records made from an origin, by member."""
        return [_record(row) for row in self._rows("SELECT * FROM records WHERE ref = ? ORDER BY member_id", (ref,))]

    def record(self, record_id: int) -> Record | None:
        rows = self._rows("SELECT * FROM records WHERE id = ?", (record_id,))
        return _record(rows[0]) if rows else None

    def find_record(self, member_id: int, kind: str, title: str, day: date) -> Record | None:
        rows = self._rows(
            "SELECT * FROM records WHERE member_id = ? AND kind = ? AND title = ? AND date = ? ORDER BY id LIMIT 1",
            (member_id, kind, title, day.isoformat()),
        )
        return _record(rows[0]) if rows else None

    def records_of(self, member_id: int, start: date | None = None, end: date | None = None) -> list[Record]:
        """A member's records dated in [start, end), oldest first."""
        rows = self._rows(
            "SELECT * FROM records WHERE member_id = :member"
            " AND (:start IS NULL OR date >= :start) AND (:end IS NULL OR date < :end) ORDER BY date, id",
            {"member": member_id, "start": start and start.isoformat(), "end": end and end.isoformat()},
        )
        return [_record(row) for row in rows]

    def record_counts(self, start: date, end: date, member_id: int | None = None) -> dict[int, dict[str, int]]:
        """member id → record kind → number of records dated in [start, end)."""
        rows = self._rows(
            "SELECT member_id, kind, count(*) AS n FROM records WHERE date >= :start AND date < :end"
            " AND (:member IS NULL OR member_id = :member) GROUP BY member_id, kind",
            {"start": start.isoformat(), "end": end.isoformat(), "member": member_id},
        )
        counts: dict[int, dict[str, int]] = {}
        for row in rows:
            counts.setdefault(row["member_id"], {})[row["kind"]] = row["n"]
        return counts
