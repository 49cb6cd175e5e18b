"""Storage: the one package that knows table names or writes SQL.

:class:`Storage` combines the core (people, bindings, records, audit log) with one mixin
per domain; each domain module owns its tables, migrations and queries.
"""

from bot.storage.calendar import CalendarStore
from bot.storage.connection import DatabaseDamaged, StorageError, database_failure, is_busy
from bot.storage.core import (
    MIGRATIONS,
    PEOPLE,
    PERSON_TABLES,
    PROPOSAL_STATUSES,
    RECORD_KINDS,
    SCHEMA_VERSION,
    Admin,
    AuditEntry,
    Binding,
    BindingCode,
    CoreStorage,
    Member,
    Migration,
    Person,
    Record,
    UnitContact,
    actor_label,
    migrate,
    schema_version,
    stamp,
)
from bot.storage.ledger import LedgerStore
from bot.storage.outbox import OutboxStore
from bot.storage.proposals import ProposalStore


class Storage(CoreStorage, CalendarStore, OutboxStore, LedgerStore, ProposalStore):
    """One SQLite database with every domain's tables; see :class:`CoreStorage`."""


__all__ = [
    "MIGRATIONS",
    "PEOPLE",
    "PERSON_TABLES",
    "PROPOSAL_STATUSES",
    "RECORD_KINDS",
    "SCHEMA_VERSION",
    "Admin",
    "AuditEntry",
    "Binding",
    "BindingCode",
    "CoreStorage",
    "DatabaseDamaged",
    "Member",
    "Migration",
    "Person",
    "Record",
    "Storage",
    "StorageError",
    "UnitContact",
    "actor_label",
    "database_failure",
    "is_busy",
    "migrate",
    "schema_version",
    "stamp",
]
