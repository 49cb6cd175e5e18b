"""CLI commands for the database file: `db backup FILE|FOLDER`, `db check [FILE]`.

Both are safe while the bot runs: the backup is SQLite's online backup (one read transaction,
which in WAL mode never blocks the bot's writes), and the check only reads. Neither opens the
database through Storage, so neither creates nor upgrades anything. Errors are one line on
stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from bot.cli.support import error


def _settings():
    from bot.config import Settings

    return Settings.from_env()


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.config import ConfigError
    from bot.plan.store import plans_dir
    from bot.storage import StorageError
    from bot.storage.backup import backup_database, backup_name

    try:
        settings = _settings()
        target = Path(args.file)
        if target.is_dir() or args.file.endswith(("/", os.sep)):
            target = target / backup_name(datetime.now(settings.tz))
        if target.exists():
            return error(f"{target} 已存在：请换一个文件名，或指定一个文件夹（按时间命名）")
        result = backup_database(settings.db_path, target, plans_dir(settings.db_path))
    except (ConfigError, StorageError) as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"无法写入备份 {args.file}：{exc.strerror or exc}")
    print(f"已备份到 {result.path}（{result.size / 1e6:.1f} MB，用时 {result.seconds:.1f} 秒）")
    if result.plans:
        print(f"导入的方案（plans/）已复制到 {result.plans}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.config import ConfigError
    from bot.storage import StorageError
    from bot.storage.backup import CHECK_LIMIT, check_database, summary
    from bot.storage.connection import RESTORE_HINT

    try:
        path = Path(args.file) if args.file else _settings().db_path
        problems = check_database(path, quick=args.quick)
        if problems:
            more = f"等 {len(problems)} 处{'以上' if len(problems) >= CHECK_LIMIT else ''}" if len(problems) > 1 else ""
            advice = "不能用它恢复，请检查另一个备份" if args.file else RESTORE_HINT
            return error(f"数据库文件 {path} 未通过完整性检查（{problems[0]}{more}）：{advice}")
        counts = summary(path)
    except (ConfigError, StorageError) as exc:
        return error(str(exc))
    print(f"数据库完好：{path}")
    if counts:
        print("  " + "，".join(f"{label} {count}" for label, count in counts.items()))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
    db = subparsers.add_parser("db", help="数据库文件：备份与完整性检查").add_subparsers(
        dest="db_command", required=True
    )
    backup = db.add_parser("backup", help="备份数据库（机器人运行时也可以执行）")
    backup.add_argument("file", help="备份文件；若为文件夹，则在其中按当前时间命名")
    backup.set_defaults(func=cmd_backup)
    check = db.add_parser("check", help="检查数据库文件的完整性（默认检查 CPPCC_DB）")
    check.add_argument("file", nargs="?", help="要检查的文件，例如恢复前的备份")
    check.add_argument("--quick", action="store_true", help="快速检查（不核对索引内容）")
    check.set_defaults(func=cmd_check)
