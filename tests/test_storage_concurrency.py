"""Two processes on one database: busy timeout, BEGIN IMMEDIATE, bulk roster writes, busy replies,
and a damaged database file (bot/storage/connection.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils
from people_support import NOW, TZ, open_storage

import bot.storage.connection as connection
from bot.people.roles import CLI_CALLER
from bot.people.roster import import_members
from bot.storage import DatabaseDamaged, Storage, StorageError, database_failure, is_busy
from handlers.app import build_application
from handlers.errors import BUSY
from tests.conftest import make_settings, running


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Another connection (as the command line would be) holds the write lock for ``seconds``;
    the event is set once it has the lock."""
    taken = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO audit_log (at, actor, action) VALUES ('2024-01-01', 'cli', 'hold')")
            taken.set()
            time.sleep(seconds)
            other.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    try:
        yield taken
    finally:
        thread.join()


def test_every_connection_waits_for_the_lock_and_uses_wal(tmp_path):
    storage = open_storage(tmp_path)
    assert storage.db.execute("PRAGMA busy_timeout").fetchone()[0] == connection.BUSY_TIMEOUT_MS >= 5000
    assert storage.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path):
    storage = open_storage(tmp_path)
    path = tmp_path / "data" / "cppcc.db"
    with write_lock_held(path, 0.8):
        started = time.monotonic()
        with storage.atomic():
            storage.people("member")  # a read first: a deferred BEGIN would now fail at once
            storage.audit(None, "after_wait", {}, NOW)
        waited = time.monotonic() - started
    assert [e.action for e in storage.audit_entries()] == ["hold", "after_wait"]
    assert waited > 0.3  # it waited for the other writer rather than failing


def test_a_deferred_transaction_would_fail_at_once_which_is_why_storage_begins_immediate(tmp_path):
    """What the module docstring claims about SQLite: the busy timeout does not cover upgrading
    a read transaction. If this ever stops failing, BEGIN IMMEDIATE is no longer needed."""
    open_storage(tmp_path).close()
    path = tmp_path / "data" / "cppcc.db"
    plain = sqlite_utils.Database(sqlite3.connect(path, timeout=5))
    with write_lock_held(path, 0.8):
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError) as caught:
            plain.conn.execute("BEGIN")
            plain.conn.execute("SELECT count(*) FROM members").fetchone()
            plain.conn.execute("INSERT INTO audit_log (at, actor, action) VALUES ('x', 'cli', 'deferred')")
        plain.conn.rollback()
        assert time.monotonic() - started < 0.5
    assert is_busy(caught.value)


def test_busy_past_the_timeout_is_recognised_and_reported_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 100)
    storage = open_storage(tmp_path)
    with write_lock_held(tmp_path / "data" / "cppcc.db", 1.0), pytest.raises(sqlite3.OperationalError) as caught:
        storage.audit(None, "too_late", {}, NOW)
    assert is_busy(caught.value)
    failure = database_failure(caught.value, "x.db")
    assert isinstance(failure, StorageError) and "正忙" in str(failure) and "\n" not in str(failure)
    assert not is_busy(ValueError("database is locked"))
    assert [e.action for e in storage.audit_entries()] == ["hold"]


def test_bulk_people_writes_and_unknown_columns(tmp_path):
    storage = open_storage(tmp_path)
    storage.insert_people("member", [{"name": f"委员{i}", "phone": f"+8613800000{i:03d}"} for i in range(300)], NOW)
    people = storage.people("member")
    assert len(people) == 300 and all(p.active and p.created_at == p.updated_at for p in people)
    storage.update_people("member", [(people[0].id, {"sector": "经济界"}), (people[1].id, {"active": False})], NOW)
    assert storage.person("member", people[0].id).sector == "经济界"
    assert not storage.person("member", people[1].id).active
    with pytest.raises(ValueError, match="unknown columns"):
        storage.update_people("member", [(people[0].id, {"name; DROP TABLE members": "x"})], NOW)
    with pytest.raises(sqlite3.IntegrityError):  # the same phone twice: nothing of the batch stays
        storage.insert_people("member", [{"name": "甲", "phone": "+8613900000001"}] * 2, NOW)
    assert len(storage.people("member")) == 300


def _roster(rows: int, sector: str) -> bytes:
    lines = ["姓名,手机号,界别"] + [f"委员{i},139{i:08d},{sector}" for i in range(rows)]
    return "\n".join(lines).encode()


def test_a_large_import_is_one_short_transaction_and_a_concurrent_writer_just_waits(tmp_path):
    storage = open_storage(tmp_path)
    import_members(storage, CLI_CALLER, _roster(20_000, "经济界"), now=NOW)
    importing, waits, failures = threading.Event(), [], []

    def bot_writes() -> None:  # the bot: small read-then-write transactions all along
        bot = open_storage(tmp_path)
        try:
            while importing.is_set():
                started = time.monotonic()
                try:
                    with bot.atomic():
                        bot.people("unit_contact")
                        bot.audit(1, "bot_write", {}, NOW)
                except sqlite3.Error as exc:
                    failures.append(exc)
                waits.append(time.monotonic() - started)
                time.sleep(0.01)
        finally:
            bot.close()

    importing.set()
    thread = threading.Thread(target=bot_writes)
    thread.start()
    time.sleep(0.1)
    summary = import_members(storage, CLI_CALLER, _roster(20_000, "农业界"), now=NOW)
    importing.clear()
    thread.join()
    assert summary.updated == 20_000
    assert failures == [] and waits
    assert {p.sector for p in storage.people("member")} == {"农业界"}
    assert [e.action for e in storage.audit_entries()].count("bot_write") == len(waits)


async def test_the_user_is_told_the_system_is_busy_not_the_generic_error(tg, tmp_path, monkeypatch):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 200)
    db = tmp_path / "cppcc.db"
    app = build_application(make_settings(tg, db))
    async with running(app):
        with write_lock_held(db, 3.0):
            tg.inject_message(7001, "/bind ABCDEFGH")  # a wrong code is recorded: a write
            reply = await tg.wait_for_reply(7001)
        assert reply.plain_text == BUSY
        tg.inject_message(7001, "/bind ABCDEFGH")
        (_, again) = await tg.wait_for_messages(7001, 2)
        assert "绑定码不正确" in again.plain_text


def _damage(path: Path) -> None:
    """Overwrite a page in the middle of the file, as a failing disk might."""
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(size // 2 // 4096 * 4096)
        file.write(b"\xff" * 4096)


def _malformed_database(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.db"
    storage = Storage(path, TZ)
    storage.insert_people("member", [{"name": f"委员{i}", "phone": f"+86137{i:08d}"} for i in range(3000)], NOW)
    storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    storage.close()
    _damage(path)
    return path


def test_opening_a_file_that_is_not_a_database_names_it(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("这不是数据库\n" * 100, encoding="utf-8")
    with pytest.raises(DatabaseDamaged) as caught:
        Storage(path, TZ)
    assert str(path) in str(caught.value) and "备份" in str(caught.value)


@pytest.mark.parametrize("kind", ["text", "malformed"])
@pytest.mark.parametrize("command", [["run"], ["progress"], ["db", "check"]])
def test_a_damaged_database_is_one_line_and_exit_1(tmp_path, kind, command):
    if kind == "text":
        path = tmp_path / "cppcc.db"
        path.write_text("hello, not sqlite\n", encoding="utf-8")
    else:
        path = _malformed_database(tmp_path)
    env = {
        "CPPCC_DB": str(path),
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # never reached: the database is checked first
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    result = subprocess.run([sys.executable, "-m", "bot.cli", *command], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and "备份" in lines[0] and "Traceback" not in result.stderr
