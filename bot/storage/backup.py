"""Backups of the database file: SQLite's online backup API, integrity checks, a dated folder.

:func:`backup_database` copies a consistent snapshot of the database while the bot keeps
running: the copy is one read transaction, and in WAL mode readers never block writers. The
copy is written to a temporary file next to the target, checked with ``PRAGMA quick_check``,
switched to a single-file journal (no -wal/-shm to carry around) and only then renamed over
the target, so a crash or a full disk never leaves a half-written backup under a backup's name.

The daily backups live in one folder, named by local time (``cppcc-20270115-030000.db``); after
each one, the oldest beyond the retention count are deleted. Only files with that exact name
pattern are ever deleted.

Imported plans live in files, not in the database (bot/plan/store.py): when the plans folder
names a plan in force, a backup also copies its ``state.json`` and kept plan files (not the
pending previews) into a folder beside the backup file (``cppcc-20270115-030000.plans``),
state.json first, so every plan the copied state names is in the copy. It goes and comes with
its backup.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.storage.connection import BUSY_TIMEOUT_MS, DatabaseDamaged, StorageError, database_failure

NAME_FORMAT = "cppcc-%Y%m%d-%H%M%S.db"
_NAME = re.compile(r"cppcc-\d{8}-\d{6}\.db")
CHECK_LIMIT = 20  # problems integrity_check reports at most
SUMMARY_TABLES = {"members": "委员", "unit_contacts": "单位联络员", "bindings": "已绑定账号", "records": "履职记录"}


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    seconds: float
    removed: tuple[Path, ...] = field(default=())  # old backups deleted by the retention count
    plans: Path | None = None  # the copy of the plans folder beside the backup, if any


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    """An existing database file (never created by accident), with the busy timeout."""
    if not path.is_file():
        raise StorageError(f"{path} 不是文件" if path.exists() else f"找不到数据库文件 {path}")
    uri = f"{path.resolve().as_uri()}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise database_failure(exc, path) from exc
    with closing(conn):
        yield conn


def check_database(path: Path, *, quick: bool = False) -> list[str]:
    """SQLite's integrity check of a database file: [] when it passes, else its problems
    (at most :data:`CHECK_LIMIT`). A file that is not a database is a problem, not an error."""
    pragma = "quick_check" if quick else "integrity_check"
    with _connect(path) as conn:
        try:
            rows = conn.execute(f"PRAGMA {pragma}({CHECK_LIMIT})").fetchall()
        except sqlite3.DatabaseError as exc:
            failure = database_failure(exc, path)
            if isinstance(failure, DatabaseDamaged):
                return [str(exc)]
            raise failure from exc
    # One row per problem, or one multi-line row headed "*** in database main ***": one line each.
    problems = [line.strip() for row in rows for line in str(row[0]).splitlines()]
    problems = [line for line in problems if line and not line.startswith("***")]
    return [] if problems == ["ok"] else problems[:CHECK_LIMIT]


def summary(path: Path) -> dict[str, int]:
    """Row counts of the main tables (those present), labelled in Chinese, to recognise a backup."""
    with _connect(path) as conn:
        try:
            present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return {
                label: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                for table, label in SUMMARY_TABLES.items()
                if table in present
            }
        except sqlite3.Error as exc:
            raise database_failure(exc, path) from exc


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. a platform without directory handles; the rename itself is atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def plans_copy_of(backup: Path) -> Path:
    """The folder beside ``backup`` that holds the plans folder's copy (``….plans``)."""
    return backup.with_suffix(".plans")


def copy_plans(plans: Path | None, backup: Path) -> Path | None:
    """Copy the plans folder's state.json and kept plans beside ``backup`` (replacing an older
    copy only once the new one is complete); None when no imported plan was ever put in force."""
    if plans is None or not (plans / "state.json").is_file():
        return None
    target = plans_copy_of(backup)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        shutil.copy2(plans / "state.json", temporary / "state.json")  # first: what it names exists
        for path in sorted(plans.glob("*.json")):
            if path.name != "state.json" and path.is_file():
                shutil.copy2(path, temporary / path.name)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def backup_database(source: Path, target: Path, plans: Path | None = None) -> BackupResult:
    """Copy the live database ``source`` to ``target`` atomically (see the module docstring), and
    the plans folder ``plans`` beside it when it holds imported plans."""
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # left by a crash: start from an empty file
    try:
        with _connect(source) as src, closing(sqlite3.connect(temporary, isolation_level=None)) as dst:
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
                dst.execute("PRAGMA journal_mode = DELETE")
                problems = [row[0] for row in dst.execute("PRAGMA quick_check").fetchall()]
            except sqlite3.Error as exc:
                raise database_failure(exc, source) from exc
        if problems != ["ok"]:
            raise DatabaseDamaged(source, problems[0])
        with open(temporary, "rb") as copy:
            os.fsync(copy.fileno())
        os.replace(temporary, target)
        _fsync_dir(target.parent)
    finally:
        temporary.unlink(missing_ok=True)
    copied = copy_plans(plans, target)
    return BackupResult(target, target.stat().st_size, time.monotonic() - started, plans=copied)


def backup_name(moment: datetime) -> str:
    return moment.strftime(NAME_FORMAT)


def backups_in(folder: Path) -> list[Path]:
    """The dated backups in a folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if _NAME.fullmatch(path.name) and path.is_file())


def backup_time(path: Path, tz: ZoneInfo) -> datetime:
    """When a dated backup was taken (local time, from its name)."""
    return datetime.strptime(path.name, NAME_FORMAT).replace(tzinfo=tz)


def prune(folder: Path, keep: int) -> tuple[Path, ...]:
    """Delete the oldest dated backups beyond ``keep`` (with their plans copies); return what was deleted."""
    old = backups_in(folder)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
        shutil.rmtree(plans_copy_of(path), ignore_errors=True)
    return tuple(old)


def dated_backup(source: Path, folder: Path, keep: int, now: datetime, plans: Path | None = None) -> BackupResult:
    """One backup into ``folder`` named by ``now`` (local time), then the retention count applied."""
    result = backup_database(source, folder / backup_name(now), plans)
    return BackupResult(result.path, result.size, result.seconds, prune(folder, keep), result.plans)
