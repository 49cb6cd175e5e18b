"""Backups: the online copy, integrity checks, the dated folder, the daily job, and a restore
through the real command line (bot/storage/backup.py, bot/cli/db.py, scheduler/backup.py)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from people_support import NOW, TZ, open_storage

from bot.config import ConfigError, Settings
from bot.storage import DatabaseDamaged, Storage, StorageError
from bot.storage.backup import backup_database, backup_name, backups_in, check_database, dated_backup, prune, summary
from handlers.app import BACKUP_KEY, build_application
from scheduler.backup import CATCH_UP_JOB, DAILY_JOB, BackupScheduler
from tests.conftest import make_settings, running


def _people(storage: Storage, count: int, start: int = 0) -> None:
    rows = [{"name": f"委员{i}", "phone": f"+86138{i:08d}"} for i in range(start, start + count)]
    storage.insert_people("member", rows, NOW)


def test_backup_of_a_live_database_is_a_consistent_single_file(tmp_path):
    storage = open_storage(tmp_path)
    _people(storage, 500)
    target = tmp_path / "copies" / "one.db"
    result = backup_database(tmp_path / "data" / "cppcc.db", target)
    _people(storage, 10, start=500)  # later writes are not in the copy
    assert result.path == target and result.size == target.stat().st_size > 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["one.db"]  # no temp file, no -wal/-shm
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("SELECT count(*) FROM members").fetchone()[0] == 500
    copy.close()
    assert check_database(target) == []
    assert summary(target)["委员"] == 500


def test_backup_while_another_process_writes_is_not_blocked_and_not_torn(tmp_path):
    storage = open_storage(tmp_path)
    _people(storage, 2000)
    stop, written = threading.Event(), []

    def writer() -> None:
        other = open_storage(tmp_path)
        try:
            n = 0
            while not stop.is_set():
                with other.atomic():
                    other.audit(None, "write", {"n": n}, NOW)
                written.append(n)
                n += 1
        finally:
            other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(3):
            copy = tmp_path / f"copy{i}.db"
            backup_database(tmp_path / "data" / "cppcc.db", copy)
            assert check_database(copy) == []
            with sqlite3.connect(copy) as conn:
                ids = [row[0] for row in conn.execute("SELECT json_extract(detail, '$.n') FROM audit_log ORDER BY id")]
            assert ids == list(range(len(ids)))  # a prefix of the writes: one snapshot
    finally:
        stop.set()
        thread.join()
    assert written  # the writer kept going meanwhile


def test_a_missing_or_damaged_source_leaves_no_backup_behind(tmp_path):
    with pytest.raises(StorageError, match="找不到数据库文件"):
        backup_database(tmp_path / "nowhere.db", tmp_path / "out" / "copy.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 200)
    with pytest.raises(DatabaseDamaged):
        backup_database(junk, tmp_path / "out" / "copy.db")
    assert list((tmp_path / "out").iterdir()) == []
    assert check_database(junk) == ["file is not a database"]


def test_dated_backups_keep_the_newest_and_touch_nothing_else(tmp_path):
    storage = open_storage(tmp_path)
    _people(storage, 3)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    (folder / "cppcc-manual.db").write_text("keep me too")
    source = tmp_path / "data" / "cppcc.db"
    days = [NOW + timedelta(days=d) for d in range(9)]
    for day in days:
        result = dated_backup(source, folder, 7, day)
        assert result.path.name == backup_name(day)
    assert [p.name for p in backups_in(folder)] == [backup_name(day) for day in days[2:]]
    assert backup_name(NOW) == "cppcc-20240615-100000.db"  # local time, sortable
    assert (folder / "notes.txt").exists() and (folder / "cppcc-manual.db").exists()
    assert prune(folder, 2) == tuple(folder / backup_name(day) for day in days[2:7])


def test_backup_settings(tmp_path):
    settings = Settings.from_env({"CPPCC_DB": str(tmp_path / "x" / "c.db")})
    assert settings.backup_folder() == tmp_path / "x" / "backups"
    assert (settings.backup_keep, settings.backup_time) == (7, time(3, 0))
    custom = Settings.from_env(
        {"CPPCC_BACKUP_DIR": "/srv/b", "CPPCC_BACKUP_KEEP": "30", "CPPCC_BACKUP_TIME": "2:30"},
    )
    assert (custom.backup_folder(), custom.backup_keep, custom.backup_time) == (Path("/srv/b"), 30, time(2, 30))
    assert Settings.from_env({"CPPCC_BACKUP_DIR": "off"}).backup_folder() is None
    for name, value in (("CPPCC_BACKUP_TIME", "25:00"), ("CPPCC_BACKUP_TIME", "三点"), ("CPPCC_BACKUP_KEEP", "0")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


async def test_the_running_bot_plans_the_daily_backup_and_a_catch_up(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    app = build_application(make_settings(tg, db, backup_time=time(2, 15)))
    async with running(app):
        backups: BackupScheduler = app.bot_data[BACKUP_KEY]
        (daily,) = app.job_queue.get_jobs_by_name(DAILY_JOB)
        first = daily.next_t.astimezone(TZ)
        assert (first.hour, first.minute) == (2, 15) and first - datetime.now(TZ) <= timedelta(days=1)
        assert app.job_queue.get_jobs_by_name(CATCH_UP_JOB)  # no backup yet
        await daily.callback(None)  # what the job does at 02:15
        (made,) = backups_in(tmp_path / "backups")
        assert check_database(made) == [] and backups.last.path == made
        assert not backups.overdue()


async def test_no_backup_jobs_when_backups_are_off(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db", backups=False))
    async with running(app):
        assert BACKUP_KEY not in app.bot_data
        assert not app.job_queue.get_jobs_by_name(DAILY_JOB)


async def test_a_failed_backup_is_logged_in_one_line_and_the_bot_goes_on(tmp_path, caplog):
    folder = tmp_path / "not-a-folder"
    folder.write_text("a file where the folder should be")
    open_storage(tmp_path).close()
    backups = BackupScheduler(tmp_path / "data" / "cppcc.db", folder, 7, time(3), TZ, clock=lambda: NOW)
    await backups._run(None)
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "backup into" in record.getMessage() and record.exc_info is None


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {"CPPCC_DB": str(db), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(db.parent)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True)


def test_backup_then_restore_through_the_command_line_brings_the_data_back(tmp_path):
    db = tmp_path / "live" / "cppcc.db"
    roster = tmp_path / "roster.csv"
    roster.write_text("姓名,手机号,界别\n张三,13812345678,经济界\n李四,13900001111,农业界\n", encoding="utf-8")
    assert _cli("members", "import", str(roster), "--yes", db=db).returncode == 0
    assert _cli("admins", "add", "424242", db=db).returncode == 0

    made = _cli("db", "backup", str(tmp_path / "safe") + "/", db=db)
    assert made.returncode == 0, made.stderr
    (backup,) = (tmp_path / "safe").iterdir()
    assert str(backup) in made.stdout
    refused = _cli("db", "backup", str(backup), db=db)
    assert refused.returncode == 1 and "已存在" in refused.stderr

    # Disaster: the roster is replaced by a wrong one and the admin removed.
    roster.write_text("姓名,手机号\n王五,13700002222\n", encoding="utf-8")
    assert _cli("members", "import", str(roster), "--yes", "--full", db=db).returncode == 0
    assert _cli("admins", "remove", "424242", db=db).returncode == 0

    # The README's restore steps: check the backup, copy it over CPPCC_DB, remove -wal/-shm, start.
    checked = _cli("db", "check", str(backup), db=db)
    assert checked.returncode == 0 and "数据库完好" in checked.stdout and "委员 2" in checked.stdout
    shutil.copyfile(backup, db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert _cli("db", "check", db=db).returncode == 0
    admins = _cli("admins", "list", db=db)
    assert "424242" in admins.stdout
    progress = _cli("progress", "--format", "csv", db=db)
    assert "张三" in progress.stdout and "李四" in progress.stdout and "王五" not in progress.stdout


def test_db_check_fails_in_one_line_on_a_damaged_file(tmp_path):
    db = tmp_path / "cppcc.db"
    storage = Storage(db, TZ)
    _people(storage, 3000)
    storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    storage.close()
    size = db.stat().st_size
    with db.open("r+b") as file:
        file.seek(size // 2 // 4096 * 4096)
        file.write(b"\xff" * 4096)
    result = _cli("db", "check", db=db)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"错误：数据库文件 {db} 未通过完整性检查") and "备份" in line
    missing = _cli("db", "check", str(tmp_path / "nothing.db"), db=db)
    assert missing.returncode == 1 and "找不到数据库文件" in missing.stderr


def test_a_backup_carries_the_plans_folder_and_pruning_takes_it_along(tmp_path):
    source = tmp_path / "data" / "cppcc.db"
    open_storage(tmp_path).close()
    plans = tmp_path / "data" / "plans"
    (plans / "pending").mkdir(parents=True)
    (plans / "20270101-090000-ab12.json").write_text('{"tasks": []}', encoding="utf-8")
    (plans / "state.json").write_text('{"active": "20270101-090000-ab12.json"}', encoding="utf-8")
    (plans / "pending" / "cd34.json").write_text("{}", encoding="utf-8")
    folder = tmp_path / "backups"
    days = [NOW + timedelta(days=i) for i in range(3)]
    results = [dated_backup(source, folder, 2, day, plans) for day in days]
    copy = results[-1].plans
    assert copy == folder / backup_name(days[-1]).replace(".db", ".plans")
    assert sorted(p.name for p in copy.iterdir()) == ["20270101-090000-ab12.json", "state.json"]  # no pending
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        name for day in days[1:] for name in (backup_name(day), backup_name(day).replace(".db", ".plans"))
    )  # the oldest backup went with its plans copy
    assert dated_backup(source, folder, 2, days[-1] + timedelta(days=1), tmp_path / "no-plans").plans is None


def test_the_cli_backup_holds_the_plan_in_force_and_the_restore_brings_it_back(tmp_path):
    from tests.plan_import_support import FIXTURES

    db = tmp_path / "live" / "cppcc.db"
    assert _cli("admins", "add", "424242", db=db).returncode == 0
    fixture = FIXTURES["flat-lines"]
    source = tmp_path / fixture.filename
    source.write_bytes(fixture.data())
    built = tmp_path / "plan.json"
    assert _cli("plan", "build", str(source), "-o", str(built), "--no-obligations", db=db).returncode == 0
    assert _cli("plan", "use", str(built), db=db).returncode == 0
    made = _cli("db", "backup", str(tmp_path / "safe") + "/", db=db)
    assert made.returncode == 0 and "plans" in made.stdout
    (copy,) = (tmp_path / "safe").glob("*.plans")

    # Disaster: the plans folder is lost. The README's step: copy the backup's plans folder back.
    shutil.rmtree(db.parent / "plans")
    assert "任务 45 ·" in _cli("plan", "check", db=db).stdout  # back to Helan's plan
    shutil.copytree(copy, db.parent / "plans")
    checked = _cli("plan", "check", db=db)
    assert checked.returncode == 0 and f"任务 {fixture.tasks} ·" in checked.stdout
