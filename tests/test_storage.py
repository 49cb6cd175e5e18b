"""bot/storage.py: schema creation, migrations, transactions and timestamps."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import pytest
import sqlite_utils
from people_support import NOW, TZ, open_storage

from bot.storage import MIGRATIONS, SCHEMA_VERSION, Migration, Storage, StorageError, migrate, schema_version, stamp

TABLES = {
    "members",
    "unit_contacts",
    "admins",
    "bindings",
    "binding_codes",
    "code_attempts",
    "records",
    "audit_log",
}


def test_new_database_gets_every_table_and_the_latest_version(tmp_path):
    storage = open_storage(tmp_path)
    assert (tmp_path / "data" / "cppcc.db").exists()
    assert set(storage.db.table_names()) >= TABLES
    assert schema_version(storage.db) == SCHEMA_VERSION == len(MIGRATIONS)
    assert {"status", "units", "assigned_on", "reply_due", "replied_on"} <= set(storage.db["records"].columns_dict)


def test_reopening_an_up_to_date_database_changes_nothing(tmp_path):
    storage = open_storage(tmp_path)
    storage.insert_person("member", {"name": "张三", "phone": "13812345678"}, NOW)
    storage.close()
    again = open_storage(tmp_path)
    assert [m.name for m in again.people("member")] == ["张三"]
    assert schema_version(again.db) == SCHEMA_VERSION


def test_upgrade_from_version_1_keeps_data_and_backfills_proposal_status(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrate(old, MIGRATIONS[:1])
    assert schema_version(old) == 1
    assert "status" not in old["records"].columns_dict
    at = stamp(NOW)
    old["members"].insert({"id": 1, "name": "张三", "phone": "13812345678", "created_at": at, "updated_at": at})
    common = {"member_id": 1, "year": 2023, "created_by": "cli", "created_at": at, "source": "import"}
    old["records"].insert({"id": 1, "kind": "提案", "title": "关于修路的提案", "date": "2023-03-01", **common})
    old["records"].insert({"id": 2, "kind": "活动", "title": "视察", "date": "2023-04-01", **common})
    old.close()

    storage = Storage(path, TZ)
    assert schema_version(storage.db) == SCHEMA_VERSION
    proposal, activity = storage.record(1), storage.record(2)
    assert (proposal.title, proposal.date, proposal.status) == ("关于修路的提案", date(2023, 3, 1), "submitted")
    assert (activity.kind, activity.status) == ("活动", None)
    assert storage.person("member", 1).phone == "+8613812345678"  # migration 3: E.164


def test_a_failing_migration_is_rolled_back_entirely(tmp_path):
    storage = open_storage(tmp_path)
    broken = (*MIGRATIONS, Migration("broken", ("ALTER TABLE records ADD COLUMN extra TEXT", "SELECT * FROM nowhere")))
    with pytest.raises(sqlite3.OperationalError):
        migrate(storage.db, broken)
    assert schema_version(storage.db) == SCHEMA_VERSION
    assert "extra" not in storage.db["records"].columns_dict


def test_database_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "new.db"
    Storage(path, TZ).close()
    db = sqlite_utils.Database(path)
    db.execute("UPDATE schema_versions SET version = ? WHERE domain = 'people'", (SCHEMA_VERSION + 1,))
    db.conn.commit()
    with pytest.raises(StorageError, match="高于本程序支持"):
        Storage(path, TZ)


def test_atomic_block_rolls_back_every_write_on_error(tmp_path):
    storage = open_storage(tmp_path)
    with pytest.raises(RuntimeError), storage.atomic():
        storage.insert_person("member", {"name": "张三", "phone": "13812345678"}, NOW)
        storage.audit(None, "test", {}, NOW)
        raise RuntimeError("boom")
    assert storage.people("member") == []
    assert storage.audit_entries() == []


def test_timestamps_are_iso_with_offset_and_must_be_aware(tmp_path):
    storage = open_storage(tmp_path)
    storage.audit(42, "test", {"x": "中文"}, NOW)
    (entry,) = storage.audit_entries("test")
    assert entry.at == "2024-06-15T10:00:00+08:00"
    assert (entry.actor, entry.detail) == ("42", {"x": "中文"})
    assert storage.now().utcoffset() is not None
    with pytest.raises(ValueError):
        stamp(datetime(2024, 1, 1))


def test_binding_replaces_old_binding_of_account_and_of_person(tmp_path):
    storage = open_storage(tmp_path)
    a = storage.insert_person("member", {"name": "张三", "phone": "13812345678"}, NOW)
    b = storage.insert_person("member", {"name": "李四", "phone": "13900001111"}, NOW)
    storage.bind(1, "member", a, "contact", NOW)
    storage.bind(2, "member", a, "code", NOW)  # person moves to account 2
    assert storage.binding(1) is None and storage.binding(2).person_id == a
    storage.bind(2, "member", b, "contact", NOW)  # account 2 now someone else
    assert storage.binding_of_person("member", a) is None
    assert storage.binding(2).person_id == b


def test_record_counts_use_half_open_date_ranges(tmp_path):
    storage = open_storage(tmp_path)
    mid = storage.insert_person("member", {"name": "张三", "phone": "13812345678"}, NOW)
    base = {"member_id": mid, "title": "t", "created_by": "cli", "created_at": stamp(NOW), "source": "admin"}
    for day, kind in [(date(2023, 12, 31), "提案"), (date(2024, 1, 1), "提案"), (date(2024, 12, 31), "活动")]:
        storage.insert_record({**base, "kind": kind, "date": day})
    assert storage.record_counts(date(2024, 1, 1), date(2025, 1, 1)) == {mid: {"提案": 1, "活动": 1}}
    assert storage.record(1).year == 2023
