"""Opening the SQLite file so that the bot and the command line can share it, and naming failures.

* WAL journal: readers never wait for a writer, so the bot keeps answering while the command
  line imports; ``synchronous=NORMAL`` keeps every committed transaction across a crash of the
  process.
* ``busy_timeout``: a connection that finds the write lock taken waits up to
  :data:`BUSY_TIMEOUT_MS` for it instead of failing at once.
* Transactions begin with ``BEGIN IMMEDIATE``, which takes the write lock at the start (waiting
  under the busy timeout). SQLite's default ``BEGIN`` (deferred) starts as a reader; when such a
  transaction has read and then writes while another process holds the write lock, SQLite
  returns "database is locked" at once, without waiting: the busy timeout only covers taking the
  lock when the transaction starts, not upgrading it. Every write here goes through
  :meth:`Database.atomic` (``sqlite_utils`` uses it for its own writes too), so none is deferred.

Failures are classified for the people who see them: :func:`is_busy` (the lock stayed taken
past the timeout: "try again later"), :class:`DatabaseDamaged` (not an SQLite file, or
malformed: restore from a backup), other :class:`StorageError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 5000
MEMORY = ":memory:"
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_DAMAGED_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
RESTORE_HINT = "请停止机器人，先用 cppcc-bot db check 检查最近的备份，再按 README“备份与恢复”一节从备份恢复"


class StorageError(RuntimeError):
    """The database cannot be used (e.g. it was written by a newer version of the program)."""


class DatabaseDamaged(StorageError):
    """The file is not an SQLite database, or SQLite found it malformed."""

    def __init__(self, path: Path | str, detail: str):
        super().__init__(f"数据库文件 {path} 不是有效的 SQLite 数据库或已损坏（{detail}）：{RESTORE_HINT}")
        self.path = path
        self.detail = detail


class Database(sqlite_utils.Database):
    """``sqlite_utils.Database`` whose outermost transactions begin with ``BEGIN IMMEDIATE``."""

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:  # nested: a savepoint, as sqlite_utils does
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # primary result code of an extended one


def is_busy(exc: BaseException) -> bool:
    """The error is SQLite's "database is locked" (another process kept the write lock too long)."""
    return isinstance(exc, sqlite3.OperationalError) and _code(exc) in _BUSY_CODES


def is_damaged(exc: BaseException) -> bool:
    """The error says the file is not a database or is malformed."""
    return isinstance(exc, sqlite3.DatabaseError) and _code(exc) in _DAMAGED_CODES


def database_failure(exc: BaseException, path: Path | str) -> StorageError | None:
    """An SQLite error as a one-line StorageError naming the file; None if ``exc`` is not one."""
    if isinstance(exc, StorageError):
        return exc
    if is_damaged(exc):
        return DatabaseDamaged(path, str(exc))
    if is_busy(exc):
        return StorageError(f"数据库 {path} 正忙（另一个程序正在写入），请稍后再试")
    if isinstance(exc, sqlite3.Error):
        return StorageError(f"无法使用数据库 {path}：{exc}")
    return None


def open_database(path: Path | str) -> Database:
    """A connection set up as the module docstring says; a failure is a StorageError naming the file."""
    memory = str(path) == MEMORY
    try:
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as exc:
        raise database_failure(exc, path) or StorageError(f"无法打开数据库 {path}：{exc}") from exc
    try:
        db = Database(conn)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not memory:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        conn.close()
        raise database_failure(exc, path) from exc
    return db
